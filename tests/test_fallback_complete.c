/* Unit tests for the fallback's instruction completions on a hand-built guest in malloc'd RAM
 * (test_fallback_fixture.h): decoding, clac/stac, cmpxchg16b, cache-line and invpcid, the #UD
 * of rdpru and movbe, and the XSAVE family against a fake KVM_GET/SET_XSAVE door. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fallback/hypercall.h"
#include "test_fallback_fixture.h"

/* ---- decoding ---- */

static void test_decode(void **state)
{
	(void)state;
	static const struct { uint8_t b[15]; size_t n; int rc; enum fb_op op; uint8_t len; } cases[] = {
		{ { 0xcc }, 1, 0, FB_OP_INT3, 1 },
		{ { 0xcd, 0x80 }, 2, 0, FB_OP_INT, 2 },
		{ { 0x0f, 0x01, 0xca }, 3, 0, FB_OP_CLAC, 3 },
		{ { 0x0f, 0x01, 0xcb }, 3, 0, FB_OP_STAC, 3 },
		{ { 0x0f, 0x01, 0xd0 }, 3, 0, FB_OP_XGETBV, 3 },
		{ { 0x48, 0x0f, 0xc7, 0x20 }, 4, 0, FB_OP_XSAVEC, 4 },
		{ { 0xf0, 0x48, 0x0f, 0xc7, 0x0e }, 5, 0, FB_OP_CMPXCHG16B, 5 },
		{ { 0x66, 0x0f, 0xae, 0x30 }, 4, 0, FB_OP_CLWB, 4 },
		{ { 0x66, 0x0f, 0x38, 0x82, 0x00 }, 5, 0, FB_OP_INVPCID, 5 },
		{ { 0x0f, 0x01, 0xfd }, 3, 0, FB_OP_RDPRU, 3 },
		{ { 0x0f, 0x38, 0xf0, 0xc0 }, 4, 0, FB_OP_MOVBE, 4 },
		{ { 0x66, 0x0f, 0x38, 0xf1, 0xc0 }, 5, 0, FB_OP_MOVBE, 5 },
		{ { 0x0f, 0x01, 0xc1 }, 3, 0, FB_OP_VMCALL, 3 },
		{ { 0x0f, 0x01, 0xd9 }, 3, 0, FB_OP_VMMCALL, 3 },
		{ { 0x0f, 0x38, 0xf0, 0x00 }, 4, -ENOENT, 0, 0 },        /* movbe with memory: valid, KVM's */
		{ { 0xf2, 0x0f, 0x38, 0xf1, 0xc1 }, 5, 0, FB_OP_HOST_EXEC, 5 },  /* crc32: same opcode with F2 */
		{ { 0xf3, 0x48, 0x0f, 0xb8, 0xc0 }, 5, 0, FB_OP_HOST_EXEC, 5 },  /* popcnt: the host runs it */
		{ { 0xc4, 0xe2, 0x6d, 0x90, 0x04, 0x88 }, 6, -ENOENT, 0, 0 },   /* vpgatherdd: refused */
		{ { 0x0f, 0xae, 0x10 }, 3, 0, FB_OP_LDMXCSR, 3 },                /* ldmxcsr: on KVM's image */
		{ { 0x66, 0x0f, 0xf7, 0xc1 }, 4, -ENOENT, 0, 0 },                /* maskmovdqu: refused */
		{ { 0x0f, 0x01, 0xf9 }, 3, 0, FB_OP_RDTSCP, 3 },
		{ { 0x9b }, 1, 0, FB_OP_FWAIT, 1 },
		{ { 0xdd, 0x05, 0, 0, 0, 0 }, 6, -ENOENT, 0, 0 },                /* x87 fld: not ours */
		{ { 0x48, 0x0f, 0xc7 }, 3, -EINVAL, 0, 0 },              /* cut off */
		{ { 0x0f, 0x0b }, 2, -ENOENT, 0, 0 },                    /* ud2 */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_insn in;
		int rc = fb_decode(VCPU_MODE_LONG64, cases[i].b, cases[i].n, &in);
		assert_int_equal(rc, cases[i].rc);
		if (rc == 0) {
			assert_int_equal(in.op, cases[i].op);
			assert_int_equal(in.len, cases[i].len);
		}
	}
	struct fb_insn in;
	assert_int_equal(fb_decode(VCPU_MODE_PROT32, (const uint8_t[]){ 0xcf }, 1, &in), 0);
	assert_int_equal(in.op, FB_OP_IRET);
	assert_false(in.opsize16);
	assert_int_equal(fb_decode(VCPU_MODE_PROT32, (const uint8_t[]){ 0x66, 0xcf }, 2, &in), 0);
	assert_true(in.opsize16);
	/* Only 64-bit code goes to the host (its encodings are what the host runs). */
	assert_int_equal(fb_decode(VCPU_MODE_PROT32, (const uint8_t[]){ 0xf3, 0x0f, 0xb8, 0xc0 }, 4, &in), -ENOENT);
	for (int op = 0; op < FB_OP__COUNT; op++)
		assert_non_null(fb_op_name(op));
}

/* ---- clac/stac ---- */

static void test_clac_stac(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xcb }, 3), FB_COMPLETED);
	assert_int_equal(f->cpu.regs.rflags, 0x202 | FB_RFLAGS_AC);
	assert_int_equal(f->cpu.regs.rip, FX_CODE + 3);
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xca }, 3), FB_COMPLETED);
	assert_int_equal(f->cpu.regs.rflags, 0x202);
	assert_int_equal(f->cpu.regs.rip, FX_CODE + 6);
	fx_free(f);
	/* At CPL3: #UD. */
	f = fx_new(true);
	fx_ring3(f);
	fx_gate(f, true, 6, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xcb }, 3), FB_RAISED);
	assert_int_equal(f->cpu.regs.rip, FX_HANDLER);
	assert_int_equal(fx_r64(f, f->cpu.regs.rsp), FX_CODE); /* the faulting stac */
	fx_free(f);
}

/* ---- cmpxchg16b ---- */

static const uint8_t CX16_RSI[] = { 0xf0, 0x48, 0x0f, 0xc7, 0x0e }; /* lock cmpxchg16b [rsi] */

static void test_cmpxchg16b(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	struct fb_cpu *c = &f->cpu;
	fx_w64(f, 0x50000, 0x1111);
	fx_w64(f, 0x50008, 0x2222);
	c->regs.rsi = 0x50000;
	c->regs.rax = 1, c->regs.rdx = 2, c->regs.rbx = 5, c->regs.rcx = 6;
	c->regs.rflags = 0x202 | FB_RFLAGS_ZF;
	assert_int_equal(fx_run(f, CX16_RSI, 5), FB_COMPLETED);
	assert_int_equal(c->regs.rflags & FB_RFLAGS_ZF, 0);
	assert_int_equal(c->regs.rax, 0x1111);
	assert_int_equal(c->regs.rdx, 0x2222);
	assert_int_equal(fx_r64(f, 0x50000), 0x1111);
	assert_int_equal(c->regs.rip, FX_CODE + 5);
	c->regs.rip = FX_CODE;
	assert_int_equal(fx_run(f, CX16_RSI, 5), FB_COMPLETED);
	assert_int_equal(c->regs.rflags & FB_RFLAGS_ZF, FB_RFLAGS_ZF);
	assert_int_equal(fx_r64(f, 0x50000), 5);
	assert_int_equal(fx_r64(f, 0x50008), 6);
	fx_free(f);
}

static void test_cmpxchg16b_faults(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	struct fb_cpu *c = &f->cpu;
	fx_gate(f, true, 13, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	fx_gate(f, true, 14, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 0, true);
	c->regs.rsi = 0x50008; /* misaligned: #GP(0) */
	assert_int_equal(fx_run(f, CX16_RSI, 5), FB_RAISED);
	assert_int_equal(c->regs.rip, FX_HANDLER);
	assert_int_equal(fx_r64(f, c->regs.rsp), 0);
	fx_free(f);

	f = fx_new(true);
	c = &f->cpu;
	fx_gate(f, true, 14, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 0, true);
	c->regs.rsi = FX_RO_PAGE; /* read-only, CR0.WP: #PF(P|W) even on a mismatch */
	assert_int_equal(fx_run(f, CX16_RSI, 5), FB_RAISED);
	assert_int_equal(c->regs.rip, FX_HANDLER + 0x100);
	assert_int_equal(fx_r64(f, c->regs.rsp), 3);
	assert_int_equal(c->sregs.cr2, FX_RO_PAGE);
	fx_free(f);

	f = fx_new(true);
	c = &f->cpu;
	c->regs.rsi = 0x7ff000000000ull; /* beyond RAM: mapped? no: not present; without a #PF gate */
	fx_gate(f, true, 14, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 0, true);
	assert_int_equal(fx_run(f, CX16_RSI, 5), FB_RAISED);
	fx_free(f);
}

/* ---- cache lines, invpcid, #UD ---- */

static void test_clwb_and_invpcid(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	struct fb_cpu *c = &f->cpu;
	c->regs.rax = 0x50000;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x66, 0x0f, 0xae, 0x30 }, 4), FB_COMPLETED); /* clwb [rax] */
	assert_int_equal(c->regs.rip, FX_CODE + 4);
	/* invpcid rcx=2, [rax]: all contexts */
	c->regs.rcx = 2;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x66, 0x0f, 0x38, 0x82, 0x08 }, 5), FB_COMPLETED);
	assert_true(c->flush_tlb);
	assert_int_equal(c->regs.rip, FX_CODE + 9);
	/* type 4: #GP(0) */
	fx_gate(f, true, 13, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	c->regs.rcx = 4;
	c->flush_tlb = false;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x66, 0x0f, 0x38, 0x82, 0x08 }, 5), FB_RAISED);
	assert_false(c->flush_tlb);
	assert_int_equal(fx_r64(f, c->regs.rsp + 8), FX_CODE + 9);
	/* clwb of an unmapped line: #PF */
	c->regs.rip = FX_CODE;
	c->regs.rax = FX_HOLE;
	fx_gate(f, true, 14, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 0, true);
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x66, 0x0f, 0xae, 0x30 }, 4), FB_RAISED);
	assert_int_equal(c->sregs.cr2, FX_HOLE);
	fx_free(f);
}

static void test_rdpru_movbe_ud(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_gate(f, true, 6, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xfd }, 3), FB_RAISED);
	assert_int_equal(f->cpu.regs.rip, FX_HANDLER);
	assert_int_equal(fx_r64(f, f->cpu.regs.rsp), FX_CODE); /* no error code for #UD */
	fx_free(f);
	f = fx_new(true);
	fx_gate(f, true, 6, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x38, 0xf0, 0xc0 }, 4), FB_RAISED);
	fx_free(f);
	/* Without an IDT worth the name: triple fault, not a host crash. */
	f = fx_new(true);
	f->cpu.sregs.idt.limit = 0;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xfd }, 3), FB_TRIPLE);
	fx_free(f);
}

static void test_vmcall_completion(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	f->cpu.regs.rax = 5; /* KVM_HC_KICK_CPU */
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xc1 }, 3), FB_COMPLETED);
	assert_int_equal(f->cpu.regs.rax, (uint64_t)-1000);
	assert_int_equal(f->cpu.regs.rip, FX_CODE + 3);
	fx_free(f);
}

/* ---- SMAP on explicit and implicit accesses ---- */

static void test_smap(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	struct fb_cpu *c = &f->cpu;
	uint64_t v;
	c->sregs.cr4 |= FB_CR4_SMAP;
	assert_int_equal(fb_read_linear(c, FX_USER_PAGE, &v, 8, fb_data_access(c, false)), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_PF);
	assert_int_equal(c->exc.error, 1); /* present, read, supervisor */
	c->regs.rflags |= FB_RFLAGS_AC;
	assert_int_equal(fb_read_linear(c, FX_USER_PAGE, &v, 8, fb_data_access(c, false)), FB_STEP_OK);
	assert_int_equal(fb_read_linear(c, FX_USER_PAGE, &v, 8, FB_ACC_IMPLICIT), FB_STEP_FAULT);
	/* A user access to a supervisor page, and a user write from a user page across into a
	 * supervisor one: the fault names the second page and nothing is written. */
	assert_int_equal(fb_read_linear(c, FX_RO_PAGE + 0x2000, &v, 8, FB_ACC_USER), FB_STEP_FAULT);
	assert_int_equal(c->exc.error, 5);
	uint8_t buf[16];
	memset(buf, 0xab, sizeof(buf));
	assert_int_equal(fb_write_linear(c, FX_USER_PAGE + 0xff8, buf, 16, FB_ACC_USER), FB_STEP_FAULT);
	assert_int_equal(c->exc.cr2, FX_USER_PAGE + 0x1000);
	assert_int_equal(c->exc.error, 7);
	assert_int_equal(fx_r64(f, FX_USER_PAGE + 0xff8), 0);
	fx_free(f);
}

/* ---- the XSAVE family against a fake door ---- */

struct fake_xstate {
	uint64_t xcr0;
	struct kvm_xsave xs;
	int sets;
};

static int fk_get_xcr0(void *ctx, uint64_t *v) { *v = ((struct fake_xstate *)ctx)->xcr0; return 0; }
static int fk_set_xcr0(void *ctx, uint64_t v) { ((struct fake_xstate *)ctx)->xcr0 = v; return 0; }
static int fk_get_xsave(void *ctx, struct kvm_xsave *x) { *x = ((struct fake_xstate *)ctx)->xs; return 0; }
static int fk_set_xsave(void *ctx, const struct kvm_xsave *x)
{
	struct fake_xstate *fs = ctx;
	fs->xs = *x;
	fs->sets++;
	return 0;
}
static const struct fb_xstate_ops fake_ops = { fk_get_xcr0, fk_set_xcr0, fk_get_xsave, fk_set_xsave, NULL };

/* A CPU with x87, SSE and AVX at the standard offsets (whatever the host has). */
static const struct fb_xlayout layout = {
	.supported = 7, .offset = { 0, 160, 576 }, .size = { 160, 256, 256 }, .mxcsr_mask = 0xffff,
	.xsaveopt = true, .xsavec = true, .xgetbv1 = true,
};

static struct fx *xfx(struct fake_xstate *fs)
{
	struct fx *f = fx_new(true);
	f->cpu.xs = &fake_ops;
	f->cpu.xs_ctx = fs;
	f->cpu.xl = &layout;
	f->cpu.sregs.cr4 |= FB_CR4_OSXSAVE;
	memset(fs, 0, sizeof(*fs));
	fs->xcr0 = 7;
	uint8_t *k = (uint8_t *)fs->xs.region;
	for (int i = 0; i < 256; i++)
		k[160 + i] = (uint8_t)i;         /* XMM0-15 */
	for (int i = 0; i < 256; i++)
		k[576 + i] = (uint8_t)(0x80 ^ i); /* YMM_Hi128 */
	uint32_t mxcsr = 0x1f80;
	memcpy(k + 24, &mxcsr, 4);
	uint64_t bv = 7;
	memcpy(k + 512, &bv, 8);
	f->cpu.regs.rax = 0xffffffff;
	f->cpu.regs.rdx = 0xffffffff;
	f->cpu.regs.rdi = 0x50000;
	return f;
}

static const uint8_t XSAVE64_RDI[] = { 0x48, 0x0f, 0xae, 0x27 };
static const uint8_t XSAVEC64_RDI[] = { 0x48, 0x0f, 0xc7, 0x27 };
static const uint8_t XRSTOR64_RDI[] = { 0x48, 0x0f, 0xae, 0x2f };

static void test_xsave_standard(void **state)
{
	(void)state;
	struct fake_xstate fs;
	struct fx *f = xfx(&fs);
	fx_w64(f, 0x50000 + 512, 1ull << 40); /* stale XSTATE_BV bits outside RFBM stay */
	f->cpu.regs.rax = 6; /* RFBM = SSE | AVX */
	f->cpu.regs.rdx = 0;
	assert_int_equal(fx_run(f, XSAVE64_RDI, 4), FB_COMPLETED);
	assert_memory_equal(f->ram + 0x50000 + 160, (uint8_t *)fs.xs.region + 160, 256);
	assert_memory_equal(f->ram + 0x50000 + 576, (uint8_t *)fs.xs.region + 576, 256);
	assert_int_equal(fx_r32(f, 0x50000 + 24), 0x1f80);
	assert_int_equal(fx_r64(f, 0x50000 + 512), (1ull << 40) | 6);
	assert_int_equal(fx_r64(f, 0x50000), 0); /* x87 not requested: untouched */
	assert_int_equal(f->cpu.regs.rip, FX_CODE + 4);
	fx_free(f);
}

static void test_xsavec_and_xrstor_compacted(void **state)
{
	(void)state;
	struct fake_xstate fs;
	struct fx *f = xfx(&fs);
	assert_int_equal(fx_run(f, XSAVEC64_RDI, 4), FB_COMPLETED);
	assert_int_equal(fx_r64(f, 0x50000 + 520), 7 | (1ull << 63));
	assert_int_equal(fx_r64(f, 0x50000 + 512), 7);
	assert_memory_equal(f->ram + 0x50000 + 576, (uint8_t *)fs.xs.region + 576, 256);
	/* Clobber KVM's copy, restore the compacted image. */
	uint8_t saved[832];
	memcpy(saved, fs.xs.region, sizeof(saved));
	memset((uint8_t *)fs.xs.region + 160, 0xee, 256);
	memset((uint8_t *)fs.xs.region + 576, 0xee, 256);
	f->cpu.regs.rip = FX_CODE;
	assert_int_equal(fx_run(f, XRSTOR64_RDI, 4), FB_COMPLETED);
	assert_int_equal(fs.sets, 1);
	assert_memory_equal((uint8_t *)fs.xs.region + 160, saved + 160, 256);
	assert_memory_equal((uint8_t *)fs.xs.region + 576, saved + 576, 256);
	fx_free(f);
}

static void test_xrstor_init_and_checks(void **state)
{
	(void)state;
	struct fake_xstate fs;
	struct fx *f = xfx(&fs);
	/* XSTATE_BV = 0: everything requested goes to its initial state. */
	assert_int_equal(fx_run(f, XRSTOR64_RDI, 4), FB_COMPLETED);
	uint8_t zero[256] = { 0 };
	assert_memory_equal((uint8_t *)fs.xs.region + 160, zero, 256);
	assert_memory_equal((uint8_t *)fs.xs.region + 576, zero, 256);
	assert_int_equal(((uint8_t *)fs.xs.region)[0], 0x7f); /* FCW 0x037f */
	uint64_t bv;
	memcpy(&bv, (uint8_t *)fs.xs.region + 512, 8);
	assert_int_equal(bv & 4, 0);
	fx_free(f);

	/* Refusals: #GP(0) for a header bit outside XCR0, a non-zero XCOMP_BV in the standard
	 * form, a bad MXCSR, a misaligned area; #UD without CR4.OSXSAVE; #NM with CR0.TS. */
	static const struct { uint64_t off, value; uint8_t vector; } bad[] = {
		{ 512, 1ull << 9, FB_GP }, { 520, 1, FB_GP }, { 24, 0xffff0000, FB_GP },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f = xfx(&fs);
		fx_gate(f, true, bad[i].vector, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
		fx_w64(f, 0x50000 + 512, 2);
		fx_w64(f, 0x50000 + bad[i].off, bad[i].value);
		assert_int_equal(fx_run(f, XRSTOR64_RDI, 4), FB_RAISED);
		assert_int_equal(f->cpu.regs.rip, FX_HANDLER);
		assert_int_equal(fs.sets, 0);
		fx_free(f);
	}
	f = xfx(&fs);
	fx_gate(f, true, FB_GP, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	f->cpu.regs.rdi = 0x50008;
	assert_int_equal(fx_run(f, XSAVE64_RDI, 4), FB_RAISED);
	fx_free(f);
	f = xfx(&fs);
	fx_gate(f, true, FB_UD, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	f->cpu.sregs.cr4 &= ~FB_CR4_OSXSAVE;
	assert_int_equal(fx_run(f, XSAVE64_RDI, 4), FB_RAISED);
	fx_free(f);
	f = xfx(&fs);
	fx_gate(f, true, FB_NM, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	f->cpu.sregs.cr0 |= FB_CR0_TS;
	assert_int_equal(fx_run(f, XSAVE64_RDI, 4), FB_RAISED);
	fx_free(f);
	/* Without the door (a test without KVM state) the family is not ours. */
	f = xfx(&fs);
	f->cpu.xs = NULL;
	assert_int_equal(fx_run(f, XSAVE64_RDI, 4), FB_NOT_OURS);
	fx_free(f);
}

static void test_xgetbv_xsetbv(void **state)
{
	(void)state;
	struct fake_xstate fs;
	struct fx *f = xfx(&fs);
	f->cpu.regs.rcx = 0;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xd0 }, 3), FB_COMPLETED);
	assert_int_equal(f->cpu.regs.rax, 7);
	assert_int_equal(f->cpu.regs.rdx, 0);
	f->cpu.regs.rcx = 1; /* XINUSE */
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xd0 }, 3), FB_COMPLETED);
	assert_int_equal(f->cpu.regs.rax, 7);
	f->cpu.regs.rcx = 0, f->cpu.regs.rax = 3, f->cpu.regs.rdx = 0;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xd1 }, 3), FB_COMPLETED);
	assert_int_equal(fs.xcr0, 3);
	fx_gate(f, true, FB_GP, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	f->cpu.regs.rax = 2; /* no x87: refused */
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xd1 }, 3), FB_RAISED);
	assert_int_equal(fs.xcr0, 3);
	fx_free(f);
	f = xfx(&fs);
	fx_gate(f, true, FB_GP, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	f->cpu.regs.rcx = 2;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xd0 }, 3), FB_RAISED);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_clac_stac),
		cmocka_unit_test(test_cmpxchg16b),
		cmocka_unit_test(test_cmpxchg16b_faults),
		cmocka_unit_test(test_clwb_and_invpcid),
		cmocka_unit_test(test_rdpru_movbe_ud),
		cmocka_unit_test(test_vmcall_completion),
		cmocka_unit_test(test_smap),
		cmocka_unit_test(test_xsave_standard),
		cmocka_unit_test(test_xsavec_and_xrstor_compacted),
		cmocka_unit_test(test_xrstor_init_and_checks),
		cmocka_unit_test(test_xgetbv_xsetbv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
