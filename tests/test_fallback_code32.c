/* SSE/AVX, integer and x87 instructions of 32-bit protected-mode code completed on the 64-bit host
 * (fallback/decode_host.c, simd_rewrite.c's 32-bit re-encoding, host_exec.c): 32-bit addressing
 * (wrapping at 4 GiB), VEX bits 32-bit code ignores (B, vvvv[3]), VEX.W that does not widen a
 * general register there, and the refusals (EVEX, 16-bit addressing). Results are checked
 * against the same operation run natively by this test. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fallback/simd_exec.h"
#include "fallback/simd_rewrite.h"
#include "test_fallback_fixture.h"

#define DATA 0x50000ull

struct fake_xstate {
	struct kvm_xsave xs;
};
static int fk_get_xcr0(void *ctx, uint64_t *v) { (void)ctx; *v = 7; return 0; }
static int fk_set_xcr0(void *ctx, uint64_t v) { (void)ctx; (void)v; return 0; }
static int fk_get_xsave(void *ctx, struct kvm_xsave *x) { *x = ((struct fake_xstate *)ctx)->xs; return 0; }
static int fk_set_xsave(void *ctx, const struct kvm_xsave *x) { ((struct fake_xstate *)ctx)->xs = *x; return 0; }
static int fk_get_msr(void *ctx, uint32_t index, uint64_t *v) { (void)ctx; (void)index; *v = 0; return -EINVAL; }
static const struct fb_xstate_ops fake_ops = { fk_get_xcr0, fk_set_xcr0, fk_get_xsave, fk_set_xsave, fk_get_msr };
static struct fb_xlayout host_layout;
static struct fake_xstate fs;

static uint8_t *k(void) { return (uint8_t *)fs.xs.region; }

static struct fx *guest32(void)
{
	struct fx *f = fx_new(false);
	fb_xlayout_host(&host_layout);
	f->cpu.xs = &fake_ops;
	f->cpu.xs_ctx = &fs;
	f->cpu.xl = &host_layout;
	f->cpu.sregs.cr0 |= 1u << 5;
	f->cpu.sregs.cr4 |= FB_CR4_OSXSAVE | (1u << 9) | (1u << 10);
	memset(&fs, 0, sizeof(fs));
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(k(), &fcw, 2);
	memcpy(k() + 24, &mxcsr, 4);
	for (int i = 0; i < 256; i++) {
		k()[160 + i] = (uint8_t)(3 * i);       /* XMM0-15 */
		k()[576 + i] = (uint8_t)(0x80 ^ 5 * i); /* YMM_Hi128 */
	}
	uint64_t bv = 7;
	memcpy(k() + 512, &bv, 8);
	return f;
}

static void ymm(unsigned r, uint32_t out[8])
{
	memcpy(out, k() + 160 + 16 * r, 16);
	memcpy(out + 4, k() + 576 + 16 * r, 16);
}

static void test_sse_vex_integer(void **state)
{
	(void)state;
	fb_simd_exec_recheck_guard();
	struct fx *f = guest32();
	struct fb_cpu *c = &f->cpu;
	uint32_t a[8], b[8], r[8];

	/* paddd xmm0, [esi + DATA+1] with esi = 0xffffffff: the address wraps to DATA */
	for (int i = 0; i < 16; i++)
		f->ram[DATA + i] = (uint8_t)(7 * i + 1);
	ymm(0, a);
	memcpy(b, f->ram + DATA, 16);
	c->regs = (struct kvm_regs){ .rsi = 0xffffffffu, .rsp = FX_STACK, .rip = FX_CODE, .rflags = 0x202 };
	uint32_t disp = (uint32_t)DATA + 1;
	uint8_t paddd[9] = { 0x66, 0x0f, 0xfe, 0x86 };
	memcpy(paddd + 4, &disp, 4);
	assert_int_equal(fx_run(f, paddd, 8), FB_COMPLETED);
	ymm(0, r);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r[i], a[i] + b[i]);
	assert_memory_equal(r + 4, a + 4, 16); /* legacy SSE keeps the upper half */
	assert_int_equal(c->regs.rip, FX_CODE + 8);

	/* vpaddd ymm0, ymm1, ymm2 as c4 c1 35 fe c2: VEX.B = 1 and vvvv = 9, which 32-bit code
	 * reads as ymm2 and ymm1 (the 64-bit host would take ymm10 and ymm9) */
	ymm(1, a);
	ymm(2, b);
	c->regs.rip = FX_CODE;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0xc4, 0xc1, 0x35, 0xfe, 0xc2 }, 5), FB_COMPLETED);
	ymm(0, r);
	for (int i = 0; i < 8; i++)
		assert_int_equal(r[i], a[i] + b[i]);

	/* bextr eax, ebx, ecx with VEX.W1: 32 bits there (the host's W1 would take 64) */
	c->regs = (struct kvm_regs){ .rbx = 0xabcdef0112345678ull, .rcx = (32 << 8) | 16, .rsp = FX_STACK,
				     .rip = FX_CODE, .rflags = 0x202 };
	uint32_t ebx = 0x12345678, want;
	__asm__("bextr %2, %1, %0" : "=r"(want) : "r"(ebx), "r"(32u << 8 | 16) : "cc");
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0xc4, 0xe2, 0xf0, 0xf7, 0xc3 }, 5), FB_COMPLETED);
	assert_int_equal((uint32_t)c->regs.rax, want);
	assert_int_equal(want, 0x1234);

	/* popcnt eax, [esi]; cvtsi2sd xmm0, eax */
	uint32_t v = 0xf00f0ff1;
	memcpy(f->ram + DATA, &v, 4);
	c->regs = (struct kvm_regs){ .rsi = DATA, .rsp = FX_STACK, .rip = FX_CODE, .rflags = 0x202 };
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0xf3, 0x0f, 0xb8, 0x06 }, 4), FB_COMPLETED);
	assert_int_equal(c->regs.rax, (uint64_t)__builtin_popcount(v));
	c->regs.rax = (uint32_t)-12345;
	c->regs.rip = FX_CODE;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0xf2, 0x0f, 0x2a, 0xc0 }, 4), FB_COMPLETED);
	double d;
	memcpy(&d, k() + 160, 8);
	assert_true(d == -12345.0);

	/* fld qword [esi]: the x87 in 32-bit code */
	double pi = 3.25;
	memcpy(f->ram + DATA, &pi, 8);
	c->regs.rip = FX_CODE;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0xdd, 0x06 }, 2), FB_COMPLETED);
	uint8_t ext[10];
	__asm__ volatile("fldl %1\n\tfstpt %0" : "=m"(*(uint8_t(*)[10])ext) : "m"(pi));
	assert_memory_equal(k() + 32, ext, 10);
	uint16_t fsw;
	memcpy(&fsw, k() + 2, 2);
	assert_int_equal((fsw >> 11) & 7, 7);
	fx_free(f);
}

static void test_refused(void **state)
{
	(void)state;
	struct fx *f = guest32();
	struct fb_cpu *c = &f->cpu;
	/* EVEX in 32-bit code: vpaddd zmm0, zmm1, zmm2 */
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x62, 0xf1, 0x75, 0x48, 0xfe, 0xc2 }, 6), FB_NOT_OURS);
	/* 16-bit addressing: paddd xmm0, [si] */
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x67, 0x66, 0x0f, 0xfe, 0x04 }, 5), FB_NOT_OURS);
	assert_int_equal(c->regs.rip, FX_CODE);
	/* the 32-bit re-encoding: no REX there, and VEX with R = 1 is lds, not VEX */
	struct fb_simd_form form;
	assert_int_equal(fb_simd_rewrite32((const uint8_t[]){ 0x48, 0x0f, 0x58, 0xc1 }, 4, false, &form), -EINVAL);
	assert_int_equal(fb_simd_rewrite32((const uint8_t[]){ 0xc5, 0x75, 0xfe, 0xc2 }, 4, false, &form), -EINVAL);
	assert_int_equal(fb_simd_rewrite32((const uint8_t[]){ 0xc5, 0xb5, 0xfe, 0xc2 }, 4, false, &form), 0);
	assert_int_equal(form.bytes[1], 0xf5);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sse_vex_integer),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
