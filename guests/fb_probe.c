/* The runner of fb_bitops and fb_simd (see fb_probe.h): command line "from=N" and "probe". */
#include "fb_probe.h"

#define BOOT_CMDLINE 0x9000ul /* base/bootstate.h: where dhyve writes the command line */

static const char *find(const char *s, const char *word)
{
	for (; *s; s++) {
		const char *a = s, *b = word;
		while (*b && *a == *b)
			a++, b++;
		if (!*b)
			return a;
	}
	return 0;
}

void fb_probe_run(const struct fb_probe_test *tests, unsigned n)
{
	const char *cmd = (const char *)BOOT_CMDLINE;
	const char *f = find(cmd, "from=");
	unsigned from = 0;
	for (; f && *f >= '0' && *f <= '9'; f++)
		from = from * 10 + (unsigned)(*f - '0');
	bool probe = find(cmd, "probe") != 0;
	for (unsigned i = from; i < n; i++) {
		if (tests[i].probe_only && !probe)
			continue;
		if (probe) {
			serial_puts(fb_test_name);
			serial_puts(": try ");
			serial_putu(i);
			serial_putc(' ');
			serial_puts(tests[i].name);
			serial_putc('\n');
		}
		tests[i].run();
	}
	/* "hold": stay up for dhyvectl (a CPL0 pause loop: KVM's emulated-instruction counter moves,
	 * so the watchdog sees progress). */
	if (find(cmd, "hold")) {
		serial_puts(fb_test_name);
		serial_puts(": holding\n");
		for (;;)
			__asm__ volatile("pause");
	}
	fb_finish();
}

#define CR0_EM (1ull << 2)
#define CR0_MP (1ull << 1)
#define CR0_TS (1ull << 3)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE (1ull << 18)

uint64_t fb_probe_enable_simd(void)
{
	uint64_t cr0, cr4;
	uint32_t a, b, c, d;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" : : "r"((cr0 | CR0_MP) & ~(CR0_EM | CR0_TS)) : "memory");
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE) : "memory");
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(0));
	uint64_t xcr0 = a & 0xe7; /* x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM */
	if ((xcr0 & 0xe0) != 0xe0)
		xcr0 &= 7;
	__asm__ volatile("xsetbv" : : "a"((uint32_t)xcr0), "d"(0), "c"(0) : "memory");
	return xcr0;
}
