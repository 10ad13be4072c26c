/* fb_simd32.elf: a 32-bit protected-mode (Multiboot) guest running SSE, AVX, BMI, popcnt and x87
 * instructions at CPL0, which this KVM fails to emulate there as in 64-bit code: dhyve's fallback
 * re-encodes them for the 64-bit host (fallback/simd_rewrite.c, 32-bit addressing, registers 0-7)
 * and runs them with the guest's state. Registers are loaded and read with movdqu, which KVM
 * emulates itself. */
#include <stdbool.h>

#include "guest.h"

static unsigned failures;

static void check(const char *what, bool ok)
{
	serial_puts(ok ? "fb_simd32: PASS " : "fb_simd32: FAIL ");
	serial_puts(what);
	serial_putc('\n');
	failures += !ok;
}

static bool same(const void *x, const void *y, unsigned n)
{
	const uint8_t *a = x, *b = y;
	for (unsigned i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static const uint32_t a4[8] __attribute__((aligned(32))) = { 1, 2, 3, 4, 5, 6, 7, 8 };
static const uint32_t b4[8] __attribute__((aligned(32))) = { 10, 20, 30, 40, 50, 60, 70, 80 };
static const uint32_t s4[8] = { 11, 22, 33, 44, 55, 66, 77, 88 };
static uint32_t out[8] __attribute__((aligned(32)));

static void t_paddd(void)
{
	__asm__ volatile("movdqu %1, %%xmm0\n\tpaddd %2, %%xmm0\n\tmovdqu %%xmm0, %0"
			 : "=m"(*(uint32_t(*)[4])out) : "m"(*(const uint32_t(*)[4])a4), "m"(*(const uint32_t(*)[4])b4)
			 : "memory");
	check("paddd xmm0, m128", same(out, s4, 16));
}

static void t_pshufb_pextrd(void)
{
	static const uint8_t rev[16] = { 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 };
	static const uint8_t src[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint32_t e;
	__asm__ volatile("movdqu %2, %%xmm1\n\tmovdqu %3, %%xmm2\n\tpshufb %%xmm2, %%xmm1\n\tmovdqu %%xmm1, %0\n\t"
			 "pextrd $1, %%xmm1, %1"
			 : "=m"(*(uint32_t(*)[4])out), "=r"(e) : "m"(src), "m"(rev) : "memory");
	check("pshufb xmm1, xmm2 (SSSE3): bytes reversed", same(out, rev, 16));
	check("pextrd r32, xmm1, 1 (SSE4.1)", e == 0x08090a0b);
}

static void t_cvt(void)
{
	int32_t back;
	__asm__ volatile("cvtsi2sd %1, %%xmm3\n\tcvttsd2si %%xmm3, %0" : "=r"(back) : "r"(-12345) : "memory");
	check("cvtsi2sd xmm3, r32; cvttsd2si r32, xmm3: -12345 round trip", back == -12345);
}

static void t_vpaddd(void)
{
	__asm__ volatile("vmovdqu %1, %%ymm1\n\tvpaddd %2, %%ymm1, %%ymm7\n\tvmovdqu %%ymm7, %0"
			 : "=m"(out) : "m"(a4), "m"(b4) : "memory");
	check("vmovdqu, vpaddd ymm7, ymm1, m256 (AVX2), vmovdqu", same(out, s4, 32));
}

static void t_integer(void)
{
	static const uint32_t v = 0xf00f0ff1;
	uint32_t n, r;
	__asm__ volatile("popcnt %1, %0" : "=r"(n) : "m"(v) : "cc");
	check("popcnt r32, m32: 17", n == 17);
	__asm__ volatile("andn %2, %1, %0" : "=r"(r) : "r"(0xff00ff00u), "r"(0x12345678u) : "cc");
	check("andn (BMI1, VEX with general registers)", r == 0x00340078);
	__asm__ volatile("bextr %2, %1, %0" : "=r"(r) : "r"(0x12345678u), "r"(16u << 8 | 8) : "cc");
	check("bextr r32: bits 8-23", r == 0x3456);
}

static void t_x87(void)
{
	static const double x = 1.5, y = 2.25;
	static uint64_t r;
	static int32_t i = -7;
	static int64_t q;
	__asm__ volatile("fninit\n\tfldl %1\n\tfaddl %2\n\tfstpl %0" : "=m"(r) : "m"(x), "m"(y) : "memory");
	check("fldl, faddl, fstpl: 3.75", r == 0x400e000000000000ull);
	__asm__ volatile("fildl %1\n\tfmul %%st(0), %%st\n\tfistpll %0" : "=m"(q) : "m"(i) : "memory");
	check("fildl, fmul, fistpll: 49", q == 49);
}

void mb_main(uint32_t magic, uint32_t mbi)
{
	(void)magic;
	(void)mbi;
	uint32_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~0x4u) | 0x22u; /* EM off, MP and NE on */
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= (1u << 9) | (1u << 10) | (1u << 18); /* OSFXSR, OSXMMEXCPT, OSXSAVE */
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	__asm__ volatile("xsetbv" : : "c"(0), "a"(7), "d"(0)); /* x87, SSE, AVX */
	check("32-bit protected mode, CPL0, SSE and AVX enabled", true);
	t_paddd();
	t_pshufb_pextrd();
	t_cvt();
	t_vpaddd();
	t_integer();
	t_x87();
	serial_puts("fb_simd32: done, ");
	serial_putu(failures);
	serial_puts(" failures\n");
	power_off();
}
