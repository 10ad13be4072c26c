/* fb_bench.elf: the guest of bench/fallback_cost: for each family of instructions this KVM cannot
 * emulate at CPL0, a loop of FB_BENCH_N of them between two marks written to port 0x520 (family,
 * then 0x100 | family), so the benchmark times each loop from outside. Family 0 is a plain port
 * write (an exit to user space and back, the baseline), family 1 the empty loop (its own cost).
 * Keep the family numbers in step with bench/fallback_cost.c. */
#include "fb_idt64.h"

#define MARK_PORT 0x520
#define N 2000
#define N_HYPERCALL 5 /* each waits for the watchdog to find it (~0.2-0.4 s) */

enum { F_PIO, F_EMPTY, F_INT3, F_INT, F_CLAC, F_STAC, F_XGETBV, F_XSAVE, F_XSAVEC, F_XRSTOR, F_CMPXCHG16B,
       F_CLWB, F_INVPCID, F_RDPRU, F_POPCNT, F_CRC32, F_PADDD, F_VPADDD, F_VMCALL, F_COUNT };

static uint8_t area[4096] __attribute__((aligned(64)));
static unsigned __int128 word __attribute__((aligned(16)));
static const uint64_t invpcid_desc[2];

/* Bare handlers: int3/int 0x80 return at once; #UD skips the 3-byte rdpru. */
__asm__(".text\n"
	"fb_bench_iret: iretq\n"
	"fb_bench_ud: addq $3, (%rsp); iretq\n");
extern char fb_bench_iret[], fb_bench_ud[];

static void set_raw_gate(unsigned vec, void *fn)
{
	/* Reuse fb_idt64's IDT format through a stub-less gate: write it directly. */
	struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	uint64_t *g = (uint64_t *)(uintptr_t)(idtr.base + 16 * vec), off = (uint64_t)(uintptr_t)fn;
	g[0] = (off & 0xffff) | ((uint64_t)FB_SEL_KCODE << 16) | (0xeull << 40) | (1ull << 47) | ((off >> 16 & 0xffff) << 48);
	g[1] = off >> 32;
}

#define LOOP(n, body, ...) \
	__asm__ volatile("1:\n\t" body "\n\tdec %%ecx\n\tjnz 1b" : "+c"(n) : __VA_ARGS__ : "cc", "memory")

static void run(unsigned family)
{
	uint32_t n = family == F_VMCALL ? N_HYPERCALL : N;
	outl(MARK_PORT, family);
	switch (family) {
	case F_PIO: LOOP(n, "outb %%al, $0x80", "a"(0)); break;
	case F_EMPTY: LOOP(n, "nop", "a"(0)); break;
	case F_INT3: LOOP(n, "int3", "a"(0)); break;
	case F_INT: LOOP(n, "int $0x80", "a"(0)); break;
	case F_CLAC: LOOP(n, "clac", "a"(0)); break;
	case F_STAC: LOOP(n, "stac", "a"(0)); break;
	case F_XGETBV: __asm__ volatile("1:\n\tpush %%rcx\n\txor %%ecx, %%ecx\n\txgetbv\n\tpop %%rcx\n\tdec %%ecx\n\tjnz 1b"
					: "+c"(n) : : "rax", "rdx", "memory"); break;
	case F_XSAVE: LOOP(n, "xsave64 (%1)", "r"(area), "a"(~0u), "d"(~0u)); break;
	case F_XSAVEC: LOOP(n, "xsavec64 (%1)", "r"(area), "a"(~0u), "d"(~0u)); break;
	case F_XRSTOR: LOOP(n, "xrstor64 (%1)", "r"(area), "a"(~0u), "d"(~0u)); break;
	case F_CMPXCHG16B: __asm__ volatile("1:\n\txor %%eax, %%eax\n\txor %%edx, %%edx\n\tlock cmpxchg16b %1\n\tdec %%ecx\n\tjnz 1b"
					    : "+c"(n), "+m"(word) : "b"(0) : "rax", "rdx", "memory"); break;
	case F_CLWB: LOOP(n, "clwb (%1)", "r"(area), "a"(0)); break;
	case F_INVPCID: __asm__ volatile("1:\n\tinvpcid %1, %2\n\tdec %%ecx\n\tjnz 1b"
					 : "+c"(n) : "m"(invpcid_desc), "r"(2ull) : "memory"); break;
	case F_RDPRU: __asm__ volatile("1:\n\tpush %%rcx\n\txor %%ecx, %%ecx\n\t.byte 0x0f, 0x01, 0xfd\n\tpop %%rcx\n\tdec %%ecx\n\tjnz 1b"
				       : "+c"(n) : : "rax", "rdx", "memory"); break;
	/* Run on the host CPU by the fallback: one integer, one SSE, one AVX (ymm). */
	case F_POPCNT: __asm__ volatile("1:\n\tpopcnt %%rax, %%rdx\n\tdec %%ecx\n\tjnz 1b" : "+c"(n) : "a"(0x1234) : "rdx", "cc"); break;
	case F_CRC32: __asm__ volatile("1:\n\tcrc32q %%rax, %%rdx\n\tdec %%ecx\n\tjnz 1b" : "+c"(n) : "a"(0x1234) : "rdx", "cc"); break;
	case F_PADDD: LOOP(n, "paddd %%xmm1, %%xmm0", "a"(0)); break;
	case F_VPADDD: LOOP(n, "vpaddd %%ymm1, %%ymm2, %%ymm0", "a"(0)); break;
	case F_VMCALL: __asm__ volatile("1:\n\tmov $5, %%eax\n\tvmcall\n\tdec %%ecx\n\tjnz 1b" : "+c"(n) : : "rax", "cc", "memory"); break;
	}
	outl(MARK_PORT, 0x100 | family);
}

void kmain(void)
{
	fb_test_name = "fb_bench";
	fb_idt_init(0x9f000, 0x9f000);
	set_raw_gate(3, fb_bench_iret);
	set_raw_gate(0x80, fb_bench_iret);
	set_raw_gate(6, fb_bench_ud);
	uint64_t cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1ull << 9) | (1ull << 10) | (1ull << 18)) : "memory");
	__asm__ volatile("xsetbv" : : "a"(7), "d"(0), "c"(0) : "memory"); /* x87, SSE, AVX */
	*(uint64_t *)(area + 512) = 0; /* a valid header for xrstor: everything initial */
	for (unsigned f = 0; f < F_COUNT; f++)
		run(f);
	serial_puts("fb_bench: done\n");
	power_off();
}
