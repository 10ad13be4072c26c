/* fb_xsave.elf: the XSAVE family at CPL0. The guest sees XSAVE in CPUID (this KVM forces the
 * host's bit through), sets CR4.OSXSAVE and XCR0 (xsetbv, which KVM emulates), but xgetbv, xsave,
 * xsaveopt, xsavec and xrstor fail to emulate: dhyve's fallback completes them on KVM's state.
 * Round trips through XMM registers (movdqu, which KVM emulates) and the YMM upper halves. */
#include "fb_idt64.h"

#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE (1ull << 18)
#define AVX_OFF 576    /* standard offset of the AVX (YMM_Hi128) component */
#define XMM_OFF 160

static uint8_t area[6][4096] __attribute__((aligned(64)));
static uint8_t fx[512] __attribute__((aligned(16)));
static uint8_t xmm_in[8][16], xmm_out[8][16];
static volatile uint64_t hits, last_vector, skip;

static void on_fault(struct fb_frame *f)
{
	hits++;
	last_vector = f->vector;
	f->rip += skip;
}

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static uint64_t xgetbv(uint32_t ecx)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(ecx));
	return lo | (uint64_t)hi << 32;
}

static void xsetbv(uint64_t v)
{
	__asm__ volatile("xsetbv" : : "a"((uint32_t)v), "d"((uint32_t)(v >> 32)), "c"(0) : "memory");
}

#define RFBM_ALL "a"(~0u), "d"(~0u)
static void xsave(void *p) { __asm__ volatile("xsave64 (%0)" : : "r"(p), RFBM_ALL : "memory"); }
static void xsaveopt(void *p) { __asm__ volatile("xsaveopt64 (%0)" : : "r"(p), RFBM_ALL : "memory"); }
static void xsavec(void *p) { __asm__ volatile("xsavec64 (%0)" : : "r"(p), RFBM_ALL : "memory"); }
static void xrstor(const void *p) { __asm__ volatile("xrstor64 (%0)" : : "r"(p), RFBM_ALL : "memory"); }

/* movdqu is one of the SSE moves KVM's emulator knows; xmm0-7 in and out through memory. */
static void xmm_load(uint8_t (*v)[16])
{
	__asm__ volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\tmovdqu 32(%0), %%xmm2\n\t"
			 "movdqu 48(%0), %%xmm3\n\tmovdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\t"
			 "movdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7" : : "r"(v) : "memory");
}

static void xmm_store(uint8_t (*v)[16])
{
	__asm__ volatile("movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 16(%0)\n\tmovdqu %%xmm2, 32(%0)\n\t"
			 "movdqu %%xmm3, 48(%0)\n\tmovdqu %%xmm4, 64(%0)\n\tmovdqu %%xmm5, 80(%0)\n\t"
			 "movdqu %%xmm6, 96(%0)\n\tmovdqu %%xmm7, 112(%0)" : : "r"(v) : "memory");
}

static bool same(const void *a, const void *b, unsigned n)
{
	const uint8_t *x = a, *y = b;
	for (unsigned i = 0; i < n; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

static uint64_t word(const uint8_t *p, unsigned off)
{
	return *(const uint64_t *)(p + off);
}

void kmain(void)
{
	uint32_t r[4];
	fb_test_name = "fb_xsave";
	fb_idt_init(0x9f000, 0x9f000);
	fb_idt_set_handler(13, on_fault);
	fb_idt_set_handler(6, on_fault);
	cpuid(0xd, 0, r);
	uint64_t want = (r[0] & 4) ? 7 : 3; /* x87 | SSE | AVX where the CPU has AVX */
	uint64_t cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE) : "memory");
	cpuid(1, 0, r);
	fb_check("CR4.OSXSAVE can be set; CPUID.1:ECX.OSXSAVE follows", (r[2] >> 27) & 1);

	fb_check("xgetbv(0) after reset is 1 (x87)", xgetbv(0) == 1);
	xsetbv(want);
	fb_check("xsetbv then xgetbv(0) reads the new XCR0", xgetbv(0) == want);
	fb_check("xgetbv(1) (XINUSE) is within XCR0", (xgetbv(1) & ~want) == 0);

	for (unsigned i = 0; i < 8; i++)
		for (unsigned j = 0; j < 16; j++)
			xmm_in[i][j] = (uint8_t)(i * 16 + j + 1);
	xmm_load(xmm_in);
	xsave(area[0]);
	fb_check("xsave stores XMM0-7 at offset 160", same(area[0] + XMM_OFF, xmm_in, sizeof(xmm_in)));
	fb_check("xsave sets XSTATE_BV.SSE", word(area[0], 512) & 2);
	xmm_store(xmm_out);
	static uint8_t zero[8][16];
	xmm_load(zero);
	xrstor(area[0]);
	xmm_store(xmm_out);
	fb_check("clobber, xrstor: XMM0-7 back", same(xmm_out, xmm_in, sizeof(xmm_in)));
	__asm__ volatile("fxsave64 %0" : "=m"(fx));
	fb_check("fxsave (KVM's) sees the restored XMM0-7", same(fx + XMM_OFF, xmm_in, sizeof(xmm_in)));

	if (want & 4) {
		/* YMM upper halves can only be reached through xrstor here (vmovdqu fails too). */
		for (unsigned i = 0; i < 576 + 256; i++)
			area[1][i] = area[0][i];
		for (unsigned i = 0; i < 256; i++)
			area[1][AVX_OFF + i] = (uint8_t)(0x80 + i);
		*(uint64_t *)(area[1] + 512) |= 4;
		xrstor(area[1]);
		xsave(area[2]);
		fb_check("xrstor/xsave round trip of the YMM upper halves",
			 same(area[2] + AVX_OFF, area[1] + AVX_OFF, 256) && (word(area[2], 512) & 4));
		xsaveopt(area[3]);
		fb_check("xsaveopt stores the same", same(area[3] + AVX_OFF, area[1] + AVX_OFF, 256) &&
						    same(area[3] + XMM_OFF, xmm_in, 128));
		xsavec(area[4]);
		fb_check("xsavec: compacted header (XCOMP_BV = XCR0 | bit 63)",
			 word(area[4], 520) == (want | (1ull << 63)) && (word(area[4], 512) & 4));
		fb_check("xsavec: AVX component right after the header", same(area[4] + 576, area[1] + AVX_OFF, 256));
		/* Initialize everything (XSTATE_BV = 0), then restore the compacted image. */
		static uint8_t init_area[1024] __attribute__((aligned(64)));
		xrstor(init_area);
		xsave(area[5]);
		fb_check("xrstor with XSTATE_BV 0 initializes XMM and YMM", same(area[5] + XMM_OFF, zero, 128) &&
										 same(area[5] + AVX_OFF, init_area, 256));
		xrstor(area[4]);
		xsave(area[5]);
		fb_check("xrstor of the compacted image brings XMM and YMM back",
			 same(area[5] + XMM_OFF, xmm_in, 128) && same(area[5] + AVX_OFF, area[1] + AVX_OFF, 256));
	}

	/* Refusals: a misaligned area and a header naming a component XCR0 lacks raise #GP. The
	 * handler skips the faulting instruction: its length is measured between two labels. */
	uint8_t *odd = area[5] + 8;
	hits = 0;
	__asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
			 "movq $2f, %%r8\n\t"
			 "sub %%rcx, %%r8\n\t"
			 "mov %%r8, skip(%%rip)\n"
			 "1:\txsave64 (%0)\n"
			 "2:" : : "r"(odd), RFBM_ALL : "rcx", "r8", "memory");
	fb_check("xsave to a misaligned area raises #GP", hits == 1 && last_vector == 13);
	*(uint64_t *)(area[3] + 512) = 1ull << 9; /* PKRU, never in our XCR0 */
	hits = 0;
	__asm__ volatile("lea 1f(%%rip), %%rcx\n\t"
			 "movq $2f, %%r8\n\t"
			 "sub %%rcx, %%r8\n\t"
			 "mov %%r8, skip(%%rip)\n"
			 "1:\txrstor64 (%0)\n"
			 "2:" : : "r"(area[3]), RFBM_ALL : "rcx", "r8", "memory");
	fb_check("xrstor of a header with a component not in XCR0 raises #GP", hits == 1 && last_vector == 13);
	fb_finish();
}
