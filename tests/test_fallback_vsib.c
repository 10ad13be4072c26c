/* Gathers and scatters completed in our own code (fallback/vsib.c): each form run on a fake guest
 * (table in guest RAM, registers in its XSAVE image) and natively by this test on the same table,
 * indices and masks; destination, mask (vector or k1) and memory must agree. Then what only the
 * guest can show: a fault at one element (the earlier ones done and unmasked, #PF with CR2), #UD,
 * #NM, and the partial write-back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_fallback_fixture.h"

#define DATA 0x50000ull
#define TABLE 1024
#define BASE 512 /* the base register points here: indices go both ways */

/* Native run: zmm0 = dst, zmm1/zmm9/zmm17 = idx, zmm2 = mask vector, k1 = mask bits; rsi and
 * r8 = the table's base. */
struct vregs {
	uint8_t dst[64], idx[64], mask[64];
	uint64_t k1;
};
#define VSIB_CASE(name, text)                                                                              \
	__asm__(".pushsection .text\n" #name "_native:\n\tmov %rsi, %r8\n\tvmovdqu64 0(%rdi), %zmm0\n\t"         \
		"vmovdqu64 64(%rdi), %zmm1\n\tvmovdqu64 64(%rdi), %zmm9\n\tvmovdqu64 64(%rdi), %zmm17\n\t"            \
		"vmovdqu64 128(%rdi), %zmm2\n\tkmovq 192(%rdi), %k1\n" #name "_bytes: " text "\n" #name "_end:\n\t"  \
		"vmovdqu64 %zmm0, 0(%rdi)\n\tvmovdqu64 %zmm2, 128(%rdi)\n\tkmovq %k1, 192(%rdi)\n\tvzeroupper\n\t"   \
		"ret\n.popsection");                                                                            \
	extern const uint8_t name##_bytes[], name##_end[];                                                 \
	void name##_native(struct vregs *r, uint8_t *base);

VSIB_CASE(gdd_y, "vpgatherdd %ymm2, (%rsi,%ymm1,4), %ymm0")
VSIB_CASE(gdd_x, "vpgatherdd %xmm2, 8(%rsi,%xmm1,2), %xmm0")
VSIB_CASE(gdd_r8, "vpgatherdd %ymm2, -4(%r8,%ymm9,4), %ymm0")
VSIB_CASE(gdq_y, "vpgatherdq %ymm2, (%rsi,%xmm1,8), %ymm0")
VSIB_CASE(gqd_y, "vpgatherqd %xmm2, (%rsi,%ymm1,4), %xmm0")
VSIB_CASE(gqq_y, "vpgatherqq %ymm2, -8(%rsi,%ymm1,8), %ymm0")
VSIB_CASE(gdps_y, "vgatherdps %ymm2, 0x40(%rsi,%ymm1,4), %ymm0")
VSIB_CASE(gqpd_x, "vgatherqpd %xmm2, (%rsi,%xmm1,8), %xmm0")
VSIB_CASE(egdd_z, "vpgatherdd (%rsi,%zmm1,4), %zmm0{%k1}")
VSIB_CASE(egdd_z17, "vpgatherdd 64(%r8,%zmm17,4), %zmm0{%k1}")
VSIB_CASE(egqq_z, "vpgatherqq 16(%rsi,%zmm1,8), %zmm0{%k1}")
VSIB_CASE(egdpd_z, "vgatherdpd (%rsi,%ymm1,8), %zmm0{%k1}")
VSIB_CASE(egdd_y, "vpgatherdd (%rsi,%ymm1,4), %ymm0{%k1}")
VSIB_CASE(egqd_z, "vpgatherqd 0x1000(%rsi,%zmm1,1), %ymm0{%k1}")
VSIB_CASE(esdd_z, "vpscatterdd %zmm0, (%rsi,%zmm1,4){%k1}")
VSIB_CASE(esqq_z, "vpscatterqq %zmm0, 8(%rsi,%zmm1,8){%k1}")
VSIB_CASE(esqps_z, "vscatterqps %ymm0, (%rsi,%zmm1,4){%k1}")
VSIB_CASE(esdq_x, "vpscatterdq %xmm0, (%rsi,%xmm1,8){%k1}")

struct vsib_case {
	const char *name;
	const uint8_t *bytes, *end;
	void (*native)(struct vregs *, uint8_t *);
	unsigned isz;   /* index element size */
	int64_t disp;   /* to keep the addresses in the table */
};
#define VC(n, isz, disp) { #n, n##_bytes, n##_end, n##_native, isz, disp }
static const struct vsib_case cases[] = {
	VC(gdd_y, 4, 0),    VC(gdd_x, 4, 8),     VC(gdd_r8, 4, -4),  VC(gdq_y, 4, 0),   VC(gqd_y, 8, 0),
	VC(gqq_y, 8, -8),   VC(gdps_y, 4, 0x40), VC(gqpd_x, 8, 0),   VC(egdd_z, 4, 0),  VC(egdd_z17, 4, 64),
	VC(egqq_z, 8, 16),  VC(egdpd_z, 4, 0),   VC(egdd_y, 4, 0),   VC(egqd_z, 8, 0x1000), VC(esdd_z, 4, 0),
	VC(esqq_z, 8, 8),   VC(esqps_z, 8, 0),   VC(esdq_x, 4, 0),
};

/* ---- the fake guest's XSAVE image ---- */

struct fake_xstate {
	uint64_t xcr0;
	struct kvm_xsave xs;
	int sets;
};
static int fk_get_xcr0(void *ctx, uint64_t *v) { *v = ((struct fake_xstate *)ctx)->xcr0; return 0; }
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
static struct fb_xlayout xl;
static struct fake_xstate fs;

static uint8_t *img(void) { return (uint8_t *)fs.xs.region; }

static void zset(unsigned r, const uint8_t v[64])
{
	if (r >= 16) {
		memcpy(img() + xl.offset[7] + 64 * (r - 16), v, 64);
		return;
	}
	memcpy(img() + 160 + 16 * r, v, 16);
	memcpy(img() + xl.offset[2] + 16 * r, v + 16, 16);
	memcpy(img() + xl.offset[6] + 32 * r, v + 32, 32);
}

static void zget(unsigned r, uint8_t v[64])
{
	memcpy(v, img() + 160 + 16 * r, 16);
	memcpy(v + 16, img() + xl.offset[2] + 16 * r, 16);
	memcpy(v + 32, img() + xl.offset[6] + 32 * r, 32);
}

static struct fx *vsib_guest(void)
{
	struct fx *f = fx_new(true);
	fb_xlayout_host(&xl);
	f->cpu.xs = &fake_ops;
	f->cpu.xs_ctx = &fs;
	f->cpu.xl = &xl;
	f->cpu.sregs.cr4 |= FB_CR4_OSXSAVE | (1u << 9);
	memset(&fs, 0, sizeof(fs));
	fs.xcr0 = 0xe7;
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(img(), &fcw, 2);
	memcpy(img() + 24, &mxcsr, 4);
	uint64_t bv = 0xe7;
	memcpy(img() + 512, &bv, 8);
	return f;
}

static uint64_t mix(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_vsib_against_host(void **state)
{
	(void)state;
	struct fx *f = vsib_guest();
	struct fb_cpu *c = &f->cpu;
	static uint8_t table[TABLE], native_table[TABLE];
	uint64_t seed = 0x6a09e667f3bcc908ull;
	unsigned runs = 0;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct vsib_case *vc = &cases[k];
		for (unsigned t = 0; t < 40; t++) {
			struct vregs r, want;
			for (unsigned i = 0; i < TABLE; i += 8) {
				uint64_t x = mix(&seed);
				memcpy(table + i, &x, 8);
			}
			for (unsigned i = 0; i < 64; i += 8) {
				uint64_t a = mix(&seed), m = mix(&seed);
				memcpy(r.dst + i, &a, 8);
				memcpy(r.mask + i, &m, 8);
			}
			r.k1 = mix(&seed) & (t & 1 ? 0xffff : 0xff);
			if (t == 0)
				r.k1 = 0xffff, memset(r.mask, 0xff, 64);
			if (t == 1)
				r.k1 = 0, memset(r.mask, 0, 64);
			/* Indices from -32 to 31 elements around BASE (repeats too: scatters order them),
			 * less what disp adds, in the index size. */
			for (unsigned i = 0; i < 64 / vc->isz; i++) {
				int64_t e = (int64_t)(mix(&seed) % 64) - 32;
				int64_t scale = 8; /* the largest used: keep every address in the table */
				int64_t idx = e - vc->disp / scale;
				if (vc->disp == 0x1000)
					idx = e - 0x1000; /* scale 1 there */
				if (vc->isz == 4) {
					int32_t v = (int32_t)idx;
					memcpy(r.idx + 4 * i, &v, 4);
				} else {
					memcpy(r.idx + 8 * i, &idx, 8);
				}
			}
			want = r;
			memcpy(native_table, table, TABLE);
			vc->native(&want, native_table + BASE);

			memcpy(f->ram + DATA, table, TABLE);
			zset(0, r.dst);
			zset(1, r.idx);
			zset(9, r.idx);
			zset(17, r.idx);
			zset(2, r.mask);
			memcpy(img() + xl.offset[5] + 8, &r.k1, 8);
			c->regs = (struct kvm_regs){ .rsi = DATA + BASE, .r8 = DATA + BASE, .rsp = FX_STACK, .rip = FX_CODE,
						     .rflags = 0x202 };
			size_t n = (size_t)(vc->end - vc->bytes);
			enum fb_outcome o = fx_run(f, vc->bytes, n);
			uint8_t got[64], gmask[64];
			uint64_t gk;
			zget(0, got);
			zget(2, gmask);
			memcpy(&gk, img() + xl.offset[5] + 8, 8);
			if (o != FB_COMPLETED || memcmp(got, want.dst, 64) || memcmp(gmask, want.mask, 64) || gk != want.k1 ||
			    memcmp(f->ram + DATA, native_table, TABLE)) {
				print_error("%s run %u: outcome %d dst %d mask %d k1 %#lx/%#lx table %d\n", vc->name, t, o,
					    memcmp(got, want.dst, 64), memcmp(gmask, want.mask, 64), (unsigned long)gk,
					    (unsigned long)want.k1, memcmp(f->ram + DATA, native_table, TABLE));
				fail();
			}
			assert_int_equal(c->regs.rip, FX_CODE + n);
			runs++;
		}
	}
	assert_int_equal(runs, 40 * sizeof(cases) / sizeof(cases[0]));
	fx_free(f);
}

static void test_vsib_faults(void **state)
{
	(void)state;
	struct fx *f = vsib_guest();
	struct fb_cpu *c = &f->cpu;
	struct fb_insn in;
	/* vpgatherdd ymm0, [rsi + ymm1*4], ymm2 with element 3 in the hole: elements 0-2 loaded and
	 * their mask cleared, 3-7 untouched and still set; #PF with CR2 at element 3 */
	uint8_t dst[64] = { 0 }, mask[64], idx[64] = { 0 }, got[64];
	memset(mask, 0xff, 32);
	memset(mask + 32, 0, 32);
	for (int i = 0; i < 8; i++) {
		int32_t e = i == 3 ? (int32_t)((FX_HOLE - DATA) / 4) : i;
		memcpy(idx + 4 * i, &e, 4);
		uint32_t v = 0x1000 + (uint32_t)i;
		memcpy(f->ram + DATA + 4 * i, &v, 4);
	}
	zset(0, dst);
	zset(1, idx);
	zset(2, mask);
	c->regs = (struct kvm_regs){ .rsi = DATA, .rsp = FX_STACK, .rip = FX_CODE, .rflags = 0x202 };
	fx_code(f, FX_CODE, gdd_y_bytes, (size_t)(gdd_y_end - gdd_y_bytes));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(in.op, FB_OP_VSIB);
	assert_string_equal(fb_slot_name(fb_stat_slot(in.op, in.capstone_id, in.raw_id)), "vpgatherdd");
	assert_int_equal(fb_vsib(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_PF);
	assert_int_equal(c->exc.cr2, FX_HOLE);
	zget(0, got);
	for (int i = 0; i < 8; i++) {
		uint32_t v;
		memcpy(&v, got + 4 * i, 4);
		assert_int_equal(v, i < 3 ? 0x1000u + (uint32_t)i : 0);
	}
	zget(2, got);
	for (int i = 0; i < 8; i++)
		assert_int_equal(got[4 * i + 3], i < 3 ? 0 : 0xff);
	assert_int_equal(fs.sets, 1);
	/* the guest's handler maps the page and re-runs it: the rest completes, the mask is 0 */
	int32_t e3 = 3;
	memcpy(idx + 12, &e3, 4);
	zset(1, idx);
	assert_int_equal(fx_run(f, gdd_y_bytes, (size_t)(gdd_y_end - gdd_y_bytes)), FB_COMPLETED);
	zget(0, got);
	for (int i = 0; i < 8; i++) {
		uint32_t v;
		memcpy(&v, got + 4 * i, 4);
		assert_int_equal(v, 0x1000u + (uint32_t)i);
	}
	zget(2, got);
	for (int i = 0; i < 64; i++)
		assert_int_equal(got[i], 0);

	/* a scatter to a read-only page at element 1: element 0 written, k1 bit 0 cleared */
	uint64_t k1 = 0xf;
	memcpy(img() + xl.offset[5] + 8, &k1, 8);
	for (int i = 0; i < 16; i++) {
		int32_t e = i == 1 ? (int32_t)((FX_RO_PAGE - DATA) / 4) : 16 + i;
		memcpy(idx + 4 * i, &e, 4);
		uint32_t v = 0xa0 + (uint32_t)i;
		memcpy(dst + 4 * i, &v, 4);
	}
	zset(0, dst);
	zset(1, idx);
	c->regs.rip = FX_CODE;
	fx_code(f, FX_CODE, esdd_z_bytes, (size_t)(esdd_z_end - esdd_z_bytes));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(fb_vsib(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_PF);
	assert_int_equal(c->exc.error & 2, 2);
	assert_int_equal(fx_r32(f, DATA + 64), 0xa0);
	assert_int_equal(fx_r32(f, DATA + 72), 0); /* element 2: not reached */
	memcpy(&k1, img() + xl.offset[5] + 8, 8);
	assert_int_equal(k1, 0xe);

	/* #UD: the destination as the index (VEX), k0 as the mask (EVEX), AVX-512 off in XCR0;
	 * #NM with CR0.TS */
	c->regs.rip = FX_CODE;
	fx_code(f, FX_CODE, (const uint8_t[]){ 0xc4, 0xe2, 0x6d, 0x90, 0x0c, 0x8e }, 6);
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(fb_vsib(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_UD);
	fx_code(f, FX_CODE, (const uint8_t[]){ 0x62, 0xf2, 0x7d, 0x48, 0x90, 0x04, 0x8e }, 7);
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(fb_vsib(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_UD);
	fs.xcr0 = 7;
	fx_code(f, FX_CODE, egdd_z_bytes, (size_t)(egdd_z_end - egdd_z_bytes));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(fb_vsib(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_UD);
	fs.xcr0 = 0xe7;
	c->sregs.cr0 |= FB_CR0_TS;
	assert_int_equal(fb_vsib(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_NM);
	c->sregs.cr0 &= ~FB_CR0_TS;
	/* 32-bit code: not done (refused) */
	assert_int_equal(fb_decode(VCPU_MODE_PROT32, gdd_y_bytes, (size_t)(gdd_y_end - gdd_y_bytes), &in), -ENOENT);
	fx_free(f);
}

/* Every truncation and random byte variation of a gather parses or is refused, never read past. */
static void test_vsib_decode_robust(void **state)
{
	(void)state;
	uint64_t seed = 99;
	struct fb_insn in;
	for (unsigned t = 0; t < 20000; t++) {
		uint8_t b[15];
		memcpy(b, egqq_z_bytes, (size_t)(egqq_z_end - egqq_z_bytes));
		for (unsigned i = 0; i < 15; i++)
			if (mix(&seed) % 4 == 0)
				b[i] = (uint8_t)mix(&seed);
		size_t n = mix(&seed) % 16;
		if (fb_decode_vsib(VCPU_MODE_LONG64, b, n, &in))
			assert_true(in.len <= n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vsib_against_host),
		cmocka_unit_test(test_vsib_faults),
		cmocka_unit_test(test_vsib_decode_robust),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
