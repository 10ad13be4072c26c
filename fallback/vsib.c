/* AVX2/AVX-512 gathers and AVX-512 scatters (VSIB addressing), completed in our own code: the
 * host cannot run them for the guest, since each element has its own address, which must go
 * through the guest's page tables. Elements are done in order, lowest first, as the SDM orders
 * their faults; a fault leaves the completed elements done and their mask bits clear (what the CPU
 * leaves), and then the exception is raised so that the guest re-runs the rest. */
#include <string.h>

#include "fallback/complete.h"

#define XSTATE_BV 512
#define XMM_OFF 160
#define CR4_OSXSAVE FB_CR4_OSXSAVE

/* One VSIB instruction, parsed from its bytes (its own parser: capstone 4 names the index
 * register but not all of the EVEX forms, nor VEX.vvvv as the mask). */
struct vsib {
	bool evex, scatter, ud; /* ud: valid bytes that the CPU answers with #UD */
	unsigned vl;            /* vector length in bytes: 16, 32 or 64 */
	unsigned isz, dsz;      /* index and data element sizes: 4 or 8 */
	unsigned n;             /* elements */
	unsigned reg, index, mask; /* vector registers; mask: a vector (VEX) or k1-k7 (EVEX) */
	int base;               /* general register, -1: none */
	unsigned scale;
	int64_t disp;
	bool addr32;
	int seg;                /* 0, or 4 (FS) / 5 (GS) */
	uint8_t len;
	unsigned name;          /* index in names[] */
};

static const unsigned names[] = {
	X86_INS_VPGATHERDD, X86_INS_VPGATHERDQ, X86_INS_VPGATHERQD, X86_INS_VPGATHERQQ, X86_INS_VGATHERDPS,
	X86_INS_VGATHERDPD, X86_INS_VGATHERQPS, X86_INS_VGATHERQPD, X86_INS_VPSCATTERDD, X86_INS_VPSCATTERDQ,
	X86_INS_VPSCATTERQD, X86_INS_VPSCATTERQQ, X86_INS_VSCATTERDPS, X86_INS_VSCATTERDPD, X86_INS_VSCATTERQPS,
	X86_INS_VSCATTERQPD,
};

/* Returns false for bytes that are not a 64-bit VEX/EVEX gather or scatter of exactly len bytes. */
static bool parse(const uint8_t *b, size_t len, struct vsib *v)
{
	memset(v, 0, sizeof(*v));
	size_t i = 0;
	for (; i < len; i++) {
		uint8_t p = b[i];
		if (p == 0x64 || p == 0x65)
			v->seg = p - 0x60;
		else if (p == 0x67)
			v->addr32 = true;
		else if (!(p == 0x2e || p == 0x36 || p == 0x3e || p == 0x26))
			break; /* 66/F2/F3/REX/LOCK before VEX: not taken (the CPU's #UD goes to the report) */
	}
	bool R, X, B, W, R2 = false, V2 = false, z = false, bc = false;
	unsigned vvvv, L, aaa = 0;
	if (i + 3 < len && b[i] == 0xc4) {
		if ((b[i + 1] & 0x1f) != 2 || (b[i + 2] & 3) != 1)
			return false;
		R = !(b[i + 1] & 0x80), X = !(b[i + 1] & 0x40), B = !(b[i + 1] & 0x20);
		W = b[i + 2] & 0x80, vvvv = (~b[i + 2] >> 3) & 15, L = (b[i + 2] >> 2) & 1;
		i += 3;
	} else if (i + 4 < len && b[i] == 0x62) {
		uint8_t p0 = b[i + 1], p1 = b[i + 2], p2 = b[i + 3];
		if ((p0 & 0x0f) != 2 || (p1 & 0x07) != 0x05)
			return false;
		v->evex = true;
		R = !(p0 & 0x80), X = !(p0 & 0x40), B = !(p0 & 0x20), R2 = !(p0 & 0x10);
		W = p1 & 0x80, vvvv = (~p1 >> 3) & 15;
		z = p2 & 0x80, L = (p2 >> 5) & 3, bc = p2 & 0x10, V2 = !(p2 & 0x08), aaa = p2 & 7;
		i += 4;
	} else {
		return false;
	}
	uint8_t op = b[i++];
	if (!((op >= 0x90 && op <= 0x93) || (v->evex && op >= 0xa0 && op <= 0xa3)) || i >= len)
		return false;
	v->scatter = op >= 0xa0;
	uint8_t modrm = b[i++];
	unsigned mod = modrm >> 6;
	if (mod == 3 || (modrm & 7) != 4 || i >= len)
		return false; /* no VSIB: #UD on the CPU, left to the report */
	uint8_t sib = b[i++];
	v->scale = 1u << (sib >> 6);
	v->index = ((sib >> 3) & 7) | (X ? 8 : 0) | (V2 ? 16 : 0);
	v->base = (sib & 7) | (B ? 8 : 0);
	v->dsz = W ? 8 : 4;
	v->isz = (op & 1) ? 8 : 4;
	size_t dn = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (mod == 0 && (sib & 7) == 5) {
		v->base = -1;
		dn = 4;
	}
	if (i + dn != len)
		return false;
	if (dn == 1)
		v->disp = (int8_t)b[i] * (int64_t)(v->evex ? v->dsz : 1); /* EVEX: disp8*N, N = element */
	else if (dn == 4)
		v->disp = (int32_t)(b[i] | b[i + 1] << 8 | b[i + 2] << 16 | (uint32_t)b[i + 3] << 24);
	v->len = (uint8_t)len;
	v->reg = ((modrm >> 3) & 7) | (R ? 8 : 0) | (R2 ? 16 : 0);
	v->vl = 16u << L;
	v->name = (v->scatter ? 8 : 0) + ((op & 3) << 1) + (W ? 1 : 0);
	if (v->evex) {
		v->mask = aaa;
		/* k0 cannot be the mask, vvvv is unused, and neither zeroing nor broadcast exists */
		v->ud = L == 3 || aaa == 0 || vvvv != 0 || z || bc || (!v->scatter && v->reg == v->index);
		if (L == 3)
			v->vl = 64;
	} else {
		v->mask = vvvv;
		v->ud = v->reg == v->index || v->reg == v->mask || v->index == v->mask;
	}
	v->n = v->vl / (v->isz > v->dsz ? v->isz : v->dsz);
	return true;
}

bool fb_decode_vsib(enum vcpu_mode mode, const uint8_t *bytes, size_t len, struct fb_insn *in)
{
	struct vsib v;
	/* 64-bit code only: 32-bit code's VSIB (eight registers, no EVEX high bits) is not done. */
	for (size_t n = 1; n <= len && n <= FB_SIMD_MAX_INSN; n++)
		if (mode == VCPU_MODE_LONG64 && parse(bytes, n, &v)) {
			in->op = FB_OP_VSIB;
			in->len = (uint8_t)n;
			in->capstone_id = names[v.name];
			in->simd = true;
			in->avx512 = v.evex;
			memcpy(in->bytes, bytes, n);
			return true;
		}
	return false;
}

/* ---- the vector registers in KVM's XSAVE image (standard form) ---- */

struct image {
	uint8_t *k;
	const struct fb_xlayout *xl;
};

static bool present(const struct image *im, unsigned comp)
{
	uint64_t bv;
	memcpy(&bv, im->k + XSTATE_BV, 8);
	return bv >> comp & 1;
}

/* A component whose XSTATE_BV bit is clear is in its initial state (zeros), whatever its bytes
 * say: it gets its zeros before a register in it is written. */
static void make_present(struct image *im, unsigned comp)
{
	if (present(im, comp))
		return;
	if (comp == 1)
		memset(im->k + XMM_OFF, 0, 256);
	else
		memset(im->k + im->xl->offset[comp], 0, im->xl->size[comp]);
	uint64_t bv;
	memcpy(&bv, im->k + XSTATE_BV, 8);
	bv |= 1ull << comp;
	memcpy(im->k + XSTATE_BV, &bv, 8);
}

static void vec_get(const struct image *im, unsigned r, uint8_t out[64])
{
	memset(out, 0, 64);
	if (r >= 16) {
		if (present(im, 7))
			memcpy(out, im->k + im->xl->offset[7] + 64 * (r - 16), 64);
		return;
	}
	if (present(im, 1))
		memcpy(out, im->k + XMM_OFF + 16 * r, 16);
	if (present(im, 2))
		memcpy(out + 16, im->k + im->xl->offset[2] + 16 * r, 16);
	if (present(im, 6))
		memcpy(out + 32, im->k + im->xl->offset[6] + 32 * r, 32);
}

static void vec_set(struct image *im, unsigned r, const uint8_t in[64], uint64_t xcr0)
{
	if (r >= 16) {
		make_present(im, 7);
		memcpy(im->k + im->xl->offset[7] + 64 * (r - 16), in, 64);
		return;
	}
	make_present(im, 1);
	memcpy(im->k + XMM_OFF + 16 * r, in, 16);
	make_present(im, 2);
	memcpy(im->k + im->xl->offset[2] + 16 * r, in + 16, 16);
	if (xcr0 & 0x40) {
		make_present(im, 6);
		memcpy(im->k + im->xl->offset[6] + 32 * r, in + 32, 32);
	}
}

static uint64_t k_get(const struct image *im, unsigned k)
{
	uint64_t v = 0;
	if (present(im, 5))
		memcpy(&v, im->k + im->xl->offset[5] + 8 * k, 8);
	return v;
}

static void k_set(struct image *im, unsigned k, uint64_t v)
{
	make_present(im, 5);
	memcpy(im->k + im->xl->offset[5] + 8 * k, &v, 8);
}

/* ---- completion ---- */

static uint64_t element(const uint8_t *vec, unsigned i, unsigned size, bool sign)
{
	if (size == 4) {
		uint32_t x;
		memcpy(&x, vec + 4 * i, 4);
		return sign ? (uint64_t)(int64_t)(int32_t)x : x;
	}
	uint64_t x;
	memcpy(&x, vec + 8 * i, 8);
	return x;
}

static enum fb_step element_address(struct fb_cpu *c, const struct vsib *v, const uint8_t *index, unsigned i,
				    uint64_t *la)
{
	uint64_t ea = (uint64_t)v->disp + element(index, i, v->isz, true) * v->scale, b = 0;
	if (v->base >= 0) {
		static const int gpr[16] = { X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP,
					     X86_REG_RSI, X86_REG_RDI, X86_REG_R8,  X86_REG_R9,  X86_REG_R10, X86_REG_R11,
					     X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15 };
		if (!fb_reg_value(c, gpr[v->base], &b))
			return FB_STEP_UNHANDLED;
	}
	ea += b;
	if (v->addr32)
		ea = (uint32_t)ea;
	uint64_t segbase = v->seg == 4 ? c->sregs.fs.base : v->seg == 5 ? c->sregs.gs.base : 0;
	*la = segbase + ea;
	if (!fb_canonical(*la)) {
		bool stack = !v->seg && (v->base == 4 || v->base == 5);
		return fb_raise(c, stack ? FB_SS : FB_GP, true, 0);
	}
	return FB_STEP_OK;
}

enum fb_step fb_vsib(struct fb_cpu *c, const struct fb_insn *in)
{
	static __thread struct kvm_xsave kx __attribute__((aligned(64)));
	struct vsib v;
	if (!fb_code64(c) || !parse(in->bytes, in->len, &v) || !c->xs || !c->xl)
		return FB_STEP_UNHANDLED;
	uint64_t xcr0;
	if (c->xs->get_xcr0(c->xs_ctx, &xcr0) < 0)
		return FB_STEP_ERROR;
	uint64_t need = v.evex ? 0xe6 : 6;
	if (v.ud || !(c->sregs.cr4 & CR4_OSXSAVE) || (xcr0 & need) != need)
		return fb_raise(c, FB_UD, false, 0);
	if (c->sregs.cr0 & FB_CR0_TS)
		return fb_raise(c, FB_NM, false, 0);
	if (c->xs->get_xsave(c->xs_ctx, &kx) < 0)
		return FB_STEP_ERROR;
	struct image im = { (uint8_t *)kx.region, c->xl };
	uint8_t data[64], index[64], mask[64];
	vec_get(&im, v.reg, data);
	vec_get(&im, v.index, index);
	uint64_t k = 0;
	if (v.evex)
		k = k_get(&im, v.mask);
	else
		vec_get(&im, v.mask, mask);

	enum fb_step st = FB_STEP_OK;
	for (unsigned i = 0; i < v.n; i++) {
		bool on = v.evex ? (k >> i & 1) : (mask[i * v.dsz + v.dsz - 1] & 0x80);
		if (!on)
			continue;
		uint64_t la;
		if ((st = element_address(c, &v, index, i, &la)) != FB_STEP_OK)
			break;
		if (v.scatter)
			st = fb_write_linear(c, la, data + i * v.dsz, v.dsz, fb_data_access(c, true));
		else
			st = fb_read_linear(c, la, data + i * v.dsz, v.dsz, fb_data_access(c, false));
		if (st != FB_STEP_OK)
			break;
		if (v.evex)
			k &= ~(1ull << i);
		else
			memset(mask + i * v.dsz, 0, v.dsz);
	}
	if (st == FB_STEP_UNHANDLED || st == FB_STEP_ERROR)
		return st; /* nothing written back: the report shows the instruction as it was */
	if (st == FB_STEP_OK) {
		/* Done: the whole mask is cleared, masked-off elements' bits too. */
		k = 0;
		memset(mask, 0, sizeof(mask));
	}
	k &= (1ull << v.n) - 1; /* k1 above the element count is cleared (n <= 16) */
	/* The destination and a VEX mask are written at their width (n elements), zero above,
	 * as any VEX/EVEX write of a vector register; EVEX masks keep no bits above n either. */
	unsigned width = v.n * v.dsz;
	if (!v.scatter) {
		memset(data + width, 0, 64 - width);
		vec_set(&im, v.reg, data, xcr0);
	}
	if (v.evex) {
		k_set(&im, v.mask, k);
	} else {
		memset(mask + width, 0, 64 - width);
		vec_set(&im, v.mask, mask, xcr0);
	}
	if (c->xs->set_xsave(c->xs_ctx, &kx) < 0)
		return FB_STEP_ERROR;
	return st; /* FB_STEP_FAULT: c->exc holds the element's #PF/#GP, delivered by the caller */
}
