/* x87 and MMX instructions completed on the host CPU (fallback/decode_host.c, simd_rewrite.c,
 * host_exec.c): each case runs on a fake guest whose XSAVE image holds an x87 state, and natively
 * in this test from the same state (fxrstor, the instruction, fxsave); status, control and tag
 * words, every valid stack register, the memory operand and the flags must agree. Then the x87's
 * own faults: #NM on CR0.EM/TS (MMX: #UD on EM), #MF before a waiting instruction when one is
 * pending. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fallback/simd_exec.h"
#include "test_fallback_fixture.h"

#define ARITH 0x8d5ull
#define DATA 0x50000ull
#define CR0_EM (1ull << 2)
#define CR0_NE (1ull << 5)
#define FB_MF 16

/* Each case's text is assembled twice: into .rodata-like bytes for the guest, and inline for the
 * native run between fxrstor64 and fxsave64 of the area at rdi; rsi is the memory operand, rdx
 * the flags before; returns RFLAGS after the instruction. */
#define X87_CASE(name, text)                                                                        \
	__asm__(".pushsection .text\n" #name "_native:\n\tpush %rdx\n\tpopfq\n\tfxrstor64 (%rdi)\n" #name "_bytes: " text "\n" \
		#name "_end:\n\tpushfq\n\tfxsave64 (%rdi)\n\tfninit\n\tpop %rax\n\tret\n.popsection");        \
	extern const uint8_t name##_bytes[], name##_end[];                                           \
	uint64_t name##_native(uint8_t *fx, void *mem, uint64_t flags);

X87_CASE(fld_m64, "fldl (%rsi)")
X87_CASE(fld_m32, "flds (%rsi)")
X87_CASE(fld_m80, "fldt (%rsi)")
X87_CASE(fld_st1, "fld %st(1)")
X87_CASE(fst_m64, "fstl (%rsi)")
X87_CASE(fstp_m32, "fstps (%rsi)")
X87_CASE(fstp_m80, "fstpt (%rsi)")
X87_CASE(fadd_m64, "faddl (%rsi)")
X87_CASE(fmul_m32, "fmuls (%rsi)")
X87_CASE(fsubr_m64, "fsubrl (%rsi)")
X87_CASE(fdiv_m64, "fdivl (%rsi)")
X87_CASE(fadd_st, "fadd %st(1), %st")
X87_CASE(faddp, "faddp")
X87_CASE(fmulp, "fmulp")
X87_CASE(fdivrp, "fdivrp")
X87_CASE(fsubp, "fsubp")
X87_CASE(fsqrt, "fsqrt")
X87_CASE(fchs, "fchs")
X87_CASE(fabs_, "fabs")
X87_CASE(frndint, "frndint")
X87_CASE(fprem, "fprem")
X87_CASE(fscale, "fscale")
X87_CASE(fxch, "fxch %st(1)")
X87_CASE(fild_m16, "filds (%rsi)")
X87_CASE(fild_m32, "fildl (%rsi)")
X87_CASE(fild_m64, "fildll (%rsi)")
X87_CASE(fist_m32, "fistl (%rsi)")
X87_CASE(fistp_m64, "fistpll (%rsi)")
X87_CASE(fisttp_m32, "fisttpl (%rsi)")
X87_CASE(fiadd_m32, "fiaddl (%rsi)")
X87_CASE(fcomi, "fcomi %st(1), %st")
X87_CASE(fucomip, "fucomip %st(1), %st")
X87_CASE(fcom_m64, "fcoml (%rsi)")
X87_CASE(fcompp, "fcompp")
X87_CASE(ftst, "ftst")
X87_CASE(fxam, "fxam")
X87_CASE(fnstsw_m, "fnstsw (%rsi)")
X87_CASE(fnstcw_m, "fnstcw (%rsi)")
X87_CASE(fldcw_m, "fldcw (%rsi)")
X87_CASE(fld1, "fld1")
X87_CASE(fldpi, "fldpi")
X87_CASE(fldz, "fldz")
X87_CASE(f2xm1, "f2xm1")
X87_CASE(fyl2x, "fyl2x")
X87_CASE(fpatan, "fpatan")
X87_CASE(fsin, "fsin")
X87_CASE(fbstp, "fbstp (%rsi)")
X87_CASE(ffree, "ffree %st(1)")
X87_CASE(fincstp, "fincstp")
/* MMX works on the same registers (mm6 and mm7 are st0 and st1 here, physical 6 and 7). */
X87_CASE(mmx_paddb, "paddb %mm7, %mm6")
X87_CASE(mmx_pmullw_m, "pmullw (%rsi), %mm6")
X87_CASE(mmx_psadbw, "psadbw %mm7, %mm6")
X87_CASE(mmx_pshufw, "pshufw $0x1b, %mm7, %mm6")
X87_CASE(mmx_psllq_m, "psllq (%rsi), %mm7")
X87_CASE(mmx_emms, "emms")

struct x87_case {
	const char *name;
	const uint8_t *bytes, *end;
	uint64_t (*native)(uint8_t *, void *, uint64_t);
};
#define XC(n) { #n, n##_bytes, n##_end, n##_native }
static const struct x87_case cases[] = {
	XC(fld_m64),  XC(fld_m32),   XC(fld_m80),   XC(fld_st1),   XC(fst_m64),    XC(fstp_m32),  XC(fstp_m80),
	XC(fadd_m64), XC(fmul_m32),  XC(fsubr_m64), XC(fdiv_m64),  XC(fadd_st),    XC(faddp),     XC(fmulp),
	XC(fdivrp),   XC(fsubp),     XC(fsqrt),     XC(fchs),      XC(fabs_),      XC(frndint),   XC(fprem),
	XC(fscale),   XC(fxch),      XC(fild_m16),  XC(fild_m32),  XC(fild_m64),   XC(fist_m32),  XC(fistp_m64),
	XC(fisttp_m32), XC(fiadd_m32), XC(fcomi),   XC(fucomip),   XC(fcom_m64),   XC(fcompp),    XC(ftst),
	XC(fxam),     XC(fnstsw_m),  XC(fnstcw_m),  XC(fldcw_m),   XC(fld1),       XC(fldpi),     XC(fldz),
	XC(f2xm1),    XC(fyl2x),     XC(fpatan),    XC(fsin),      XC(fbstp),      XC(ffree),     XC(fincstp),
	XC(mmx_paddb), XC(mmx_pmullw_m), XC(mmx_psadbw), XC(mmx_pshufw), XC(mmx_psllq_m), XC(mmx_emms),
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static const double inputs[] = { 0.0, 1.0, -2.5, 3.141592653589793, 1e300, -1e-310, 0.75, 123456789.125, -0.0,
				 1.0 / 3.0, 2.0, 1e18 };
#define NIN (sizeof(inputs) / sizeof(inputs[0]))

static void to_ext(double d, uint8_t out[10])
{
	__asm__ volatile("fldl %1\n\tfstpt %0" : "=m"(*(uint8_t(*)[10])out) : "m"(d));
}

/* An FXSAVE area with st0 = a, st1 = b (TOP 6, physical registers 6 and 7 valid) and control
 * word fcw; MXCSR at its default. */
static void state(uint8_t fx[512], double a, double b, uint16_t fcw)
{
	memset(fx, 0, 512);
	uint16_t fsw = 6 << 11;
	uint32_t mxcsr = 0x1f80, mask = 0xffff;
	memcpy(fx, &fcw, 2);
	memcpy(fx + 2, &fsw, 2);
	fx[4] = 0xc0; /* abridged tag word: registers 6 and 7 */
	memcpy(fx + 24, &mxcsr, 4);
	memcpy(fx + 28, &mask, 4);
	to_ext(a, fx + 32);
	to_ext(b, fx + 48);
}

struct fake_xstate {
	struct kvm_xsave xs;
	int sets;
};
static int fk_get_xcr0(void *ctx, uint64_t *v) { (void)ctx; *v = 7; return 0; }
static int fk_set_xcr0(void *ctx, uint64_t v) { (void)ctx; (void)v; return 0; }
static int fk_get_xsave(void *ctx, struct kvm_xsave *x) { *x = ((struct fake_xstate *)ctx)->xs; return 0; }
static int fk_set_xsave(void *ctx, const struct kvm_xsave *x)
{
	struct fake_xstate *fs = ctx;
	fs->xs = *x;
	fs->sets++;
	return 0;
}
static int fk_get_msr(void *ctx, uint32_t index, uint64_t *v) { (void)ctx; (void)index; *v = 0; return -EINVAL; }
static const struct fb_xstate_ops fake_ops = { fk_get_xcr0, fk_set_xcr0, fk_get_xsave, fk_set_xsave, fk_get_msr };
static struct fb_xlayout host_layout;

static struct fx *x87_guest(struct fake_xstate *fs, bool ia32e)
{
	struct fx *f = fx_new(ia32e);
	fb_xlayout_host(&host_layout);
	f->cpu.xs = &fake_ops;
	f->cpu.xs_ctx = fs;
	f->cpu.xl = &host_layout;
	f->cpu.sregs.cr0 |= CR0_NE;
	f->cpu.sregs.cr4 |= FB_CR4_OSXSAVE | (1u << 9);
	memset(fs, 0, sizeof(*fs));
	return f;
}

static void load_guest(struct fake_xstate *fs, const uint8_t fx[512])
{
	uint8_t *k = (uint8_t *)fs->xs.region;
	memset(k, 0, sizeof(fs->xs.region));
	memcpy(k, fx, 512);
	uint64_t bv = 3;
	memcpy(k + 512, &bv, 8);
}

/* The parts of two FXSAVE areas an x87 instruction defines: FCW, FSW, tag word, valid stack
 * registers (ST order, 10 bytes each), MXCSR. Not FOP/FIP/FDP (the guest's say its own). */
static bool same_x87(const uint8_t *g, const uint8_t *n)
{
	if (memcmp(g, n, 5) || memcmp(g + 24, n + 24, 4))
		return false;
	uint16_t fsw;
	memcpy(&fsw, n + 2, 2);
	unsigned top = (fsw >> 11) & 7;
	for (unsigned st = 0; st < 8; st++)
		if ((n[4] >> ((top + st) & 7) & 1) && memcmp(g + 32 + 16 * st, n + 32 + 16 * st, 10))
			return false;
	return true;
}

static uint64_t mix(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_x87_against_host(void **state_)
{
	(void)state_;
	fb_simd_exec_recheck_guard();
	struct fake_xstate fs;
	struct fx *f = x87_guest(&fs, true);
	struct fb_cpu *c = &f->cpu;
	static uint8_t native[512] __attribute__((aligned(64))), start[512] __attribute__((aligned(64)));
	uint8_t mem[16], gmem[16];
	uint64_t seed = 0x243f6a8885a308d3ull;
	unsigned runs = 0;
	for (size_t k = 0; k < NCASES; k++) {
		const struct x87_case *xc = &cases[k];
		size_t n = (size_t)(xc->end - xc->bytes);
		for (unsigned t = 0; t < 2 * NIN; t++) {
			/* All masked, then all unmasked: an unmasked exception sets ES and the B bit and
			 * leaves the destination as the CPU does, with no fault yet. */
			uint16_t fcw = t < NIN ? 0x37f : 0x340;
			double a = inputs[t % NIN], b = inputs[(t * 5 + 3) % NIN], m = inputs[(t * 7 + 1) % NIN];
			memcpy(mem, &m, 8);
			uint64_t r = mix(&seed);
			memcpy(mem + 8, &r, 8);
			if (t & 1)
				memcpy(mem, &r, 8); /* integers and odd bit patterns as well */
			if (!strcmp(xc->name, "fldcw_m"))
				mem[0] = (uint8_t)(mem[0] | 0x3f); /* a control word with everything masked */
			state(start, a, b, fcw);
			memcpy(native, start, 512);
			memcpy(gmem, mem, 16);
			uint64_t flags = xc->native(native, gmem, 0x202) & ARITH;

			load_guest(&fs, start);
			c->regs = (struct kvm_regs){ .rsi = DATA, .rsp = FX_STACK, .rip = FX_CODE, .rflags = 0x202 };
			memcpy(f->ram + DATA, mem, 16);
			enum fb_outcome o = fx_run(f, xc->bytes, n);
			const uint8_t *g = (const uint8_t *)fs.xs.region;
			if (o != FB_COMPLETED || !same_x87(g, native) || memcmp(f->ram + DATA, gmem, 16) ||
			    (c->regs.rflags & ARITH) != flags) {
				uint16_t gsw, nsw;
				memcpy(&gsw, g + 2, 2);
				memcpy(&nsw, native + 2, 2);
				print_error("%s a=%g b=%g case %u: outcome %d fsw %#x/%#x ftw %#x/%#x flags %#llx/%#lx\n",
					    xc->name, a, b, t, o, gsw, nsw, g[4], native[4], c->regs.rflags & ARITH,
					    (unsigned long)flags);
				fail();
			}
			assert_int_equal(c->regs.rip, FX_CODE + n);
			assert_int_equal(c->regs.rsi, DATA);
			/* The guest's last-instruction pointers name its instruction, not the stub. */
			uint64_t fip, fdp;
			memcpy(&fip, g + 8, 8);
			memcpy(&fdp, g + 16, 8);
			assert_true(fip == FX_CODE || fip == 0);
			assert_true(fdp == DATA || fdp == 0);
			runs++;
		}
	}
	assert_int_equal(runs, NCASES * 2 * NIN);
	fx_free(f);
}

static void test_x87_faults(void **state_)
{
	(void)state_;
	fb_simd_exec_recheck_guard();
	struct fake_xstate fs;
	struct fx *f = x87_guest(&fs, true);
	struct fb_cpu *c = &f->cpu;
	static uint8_t fx[512] __attribute__((aligned(64)));
	struct fb_insn in;
	double two = 2.0;
	memcpy(f->ram + DATA, &two, 8);
	state(fx, 1.0, 0.0, 0x37f);
	load_guest(&fs, fx);
	c->regs = (struct kvm_regs){ .rsi = DATA, .rsp = FX_STACK, .rip = FX_CODE, .rflags = 0x202 };
	fx_code(f, FX_CODE, fadd_m64_bytes, (size_t)(fadd_m64_end - fadd_m64_bytes));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(in.op, FB_OP_HOST_EXEC);
	assert_true(in.x87);
	assert_false(in.mem_written);
	/* CR0.EM or CR0.TS: #NM (x87 has no #UD for them) */
	c->sregs.cr0 |= CR0_EM;
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_NM);
	c->sregs.cr0 &= ~CR0_EM;
	c->sregs.cr0 |= FB_CR0_TS;
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_NM);
	c->sregs.cr0 &= ~FB_CR0_TS;
	/* the operand in the hole: #PF, nothing changed */
	c->regs.rsi = FX_HOLE;
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_PF);
	assert_int_equal(fs.sets, 0);
	c->regs.rsi = DATA;
	/* 1 + 2 = 3 in st0 */
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_OK);
	uint8_t three[10];
	to_ext(3.0, three);
	assert_memory_equal((uint8_t *)fs.xs.region + 32, three, 10);
	/* fstl to a read-only page: #PF with W before anything is written */
	fx_code(f, FX_CODE, fst_m64_bytes, (size_t)(fst_m64_end - fst_m64_bytes));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_true(in.mem_written);
	c->regs.rsi = FX_RO_PAGE;
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_PF);
	assert_int_equal(c->exc.error & 2, 2);
	c->regs.rsi = DATA;

	/* 1 / 0 with ZE unmasked: no fault yet, ES set and st0 kept ... */
	state(fx, 1.0, 0.0, 0x37f & ~4u);
	load_guest(&fs, fx);
	double zero = 0.0;
	memcpy(f->ram + DATA, &zero, 8);
	c->regs.rip = FX_CODE;
	assert_int_equal(fx_run(f, fdiv_m64_bytes, (size_t)(fdiv_m64_end - fdiv_m64_bytes)), FB_COMPLETED);
	uint16_t fsw;
	memcpy(&fsw, (uint8_t *)fs.xs.region + 2, 2);
	assert_int_equal(fsw & 0x84, 0x84);
	uint8_t one[10];
	to_ext(1.0, one);
	assert_memory_equal((uint8_t *)fs.xs.region + 32, one, 10);
	/* ... the next waiting x87 instruction raises #MF, a non-waiting one runs */
	c->regs.rip = FX_CODE;
	fx_code(f, FX_CODE, fadd_m64_bytes, (size_t)(fadd_m64_end - fadd_m64_bytes));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_MF);
	fx_code(f, FX_CODE, fnstsw_m_bytes, (size_t)(fnstsw_m_end - fnstsw_m_bytes));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_true(in.x87_nowait);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_OK);
	uint16_t stored;
	memcpy(&stored, f->ram + DATA, 2);
	assert_int_equal(stored, fsw);
	/* without CR0.NE (FERR#, not modelled): refused */
	c->sregs.cr0 &= ~CR0_NE;
	fx_code(f, FX_CODE, fadd_m64_bytes, (size_t)(fadd_m64_end - fadd_m64_bytes));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_UNHANDLED);
	c->sregs.cr0 |= CR0_NE;
	/* MMX: #MF for the pending exception too; #UD (not #NM) on CR0.EM; no CR4.OSFXSR needed */
	fx_code(f, FX_CODE, mmx_paddb_bytes, (size_t)(mmx_paddb_end - mmx_paddb_bytes));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_true(in.mmx);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_MF);
	state(fx, 1.0, 0.0, 0x37f);
	load_guest(&fs, fx);
	c->sregs.cr4 &= ~(1ull << 9);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_OK);
	c->sregs.cr0 |= CR0_EM;
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_UD);
	c->sregs.cr0 &= ~CR0_EM;
	c->sregs.cr0 |= FB_CR0_TS;
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_NM);
	fx_free(f);
}

/* fnsave/frstor/fnstenv/fldenv (their layout depends on the mode and operand size, and capstone
 * gives no size): refused, not run; 16-bit code too. */
static void test_x87_refusals(void **state_)
{
	(void)state_;
	struct fb_insn in;
	assert_int_equal(fb_decode(VCPU_MODE_LONG64, (const uint8_t[]){ 0xdd, 0x36 }, 2, &in), -ENOENT); /* fnsave */
	assert_int_equal(fb_decode(VCPU_MODE_LONG64, (const uint8_t[]){ 0xdd, 0x26 }, 2, &in), -ENOENT); /* frstor */
	assert_int_equal(fb_decode(VCPU_MODE_LONG64, (const uint8_t[]){ 0xd9, 0x36 }, 2, &in), -ENOENT); /* fnstenv */
	assert_int_equal(fb_decode(VCPU_MODE_LONG64, (const uint8_t[]){ 0xd9, 0x26 }, 2, &in), -ENOENT); /* fldenv */
	assert_int_equal(fb_decode(VCPU_MODE_PROT16, (const uint8_t[]){ 0xdd, 0x04 }, 2, &in), -ENOENT); /* 16-bit */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_x87_against_host),
		cmocka_unit_test(test_x87_faults),
		cmocka_unit_test(test_x87_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
