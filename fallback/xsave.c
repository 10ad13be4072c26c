/* xgetbv, xsetbv and the XSAVE family, which this KVM fails to emulate at CPL0 although the guest
 * sees XSAVE in CPUID: completed on KVM's own copy of the state (KVM_GET/SET_XSAVE, XCRS). */
#include <cpuid.h>
#include <errno.h>
#include <string.h>

#include "fallback/complete.h"

#define LEGACY_X87_LO 0      /* FCW..FDP: bytes 0-23 */
#define LEGACY_X87_LO_SIZE 24
#define LEGACY_MXCSR 24      /* MXCSR and MXCSR_MASK: bytes 24-31 */
#define LEGACY_ST 32         /* ST0-7/MM0-7: bytes 32-159 */
#define LEGACY_ST_SIZE 128
#define LEGACY_XMM 160       /* XMM0-15: bytes 160-415 */
#define HEADER 512
#define EXTENDED 576         /* the first byte after legacy region and header */
#define XCOMP_COMPACT (1ull << 63)
#define X87_FCW_INIT 0x037f
#define MXCSR_INIT 0x1f80
#define AVX512_BITS 0xe0ull  /* opmask, ZMM_Hi256, Hi16_ZMM: all or none */

void fb_xlayout_host(struct fb_xlayout *l)
{
	unsigned a, b, c, d;
	memset(l, 0, sizeof(*l));
	l->mxcsr_mask = 0xffff;
	if (__get_cpuid_max(0, NULL) < 0xd)
		return;
	__cpuid_count(1, 0, a, b, c, d);
	if (!(c & (1u << 26)))
		return; /* no XSAVE at all */
	__cpuid_count(0xd, 0, a, b, c, d);
	l->supported = a | (uint64_t)d << 32;
	__cpuid_count(0xd, 1, a, b, c, d);
	l->xsaveopt = a & 1;
	l->xsavec = (a >> 1) & 1;
	l->xgetbv1 = (a >> 2) & 1;
	l->offset[0] = 0;
	l->size[0] = LEGACY_XMM;
	l->offset[1] = LEGACY_XMM;
	l->size[1] = 256;
	for (unsigned i = 2; i < 63; i++) {
		if (!(l->supported >> i & 1))
			continue;
		__cpuid_count(0xd, i, a, b, c, d);
		l->size[i] = a;
		l->offset[i] = b;
		if (c & 2)
			l->align64 |= 1ull << i;
	}
}

static uint8_t *kx_bytes(struct kvm_xsave *kx)
{
	return (uint8_t *)kx->region;
}

static uint64_t kx_xstate_bv(struct kvm_xsave *kx)
{
	uint64_t v;
	memcpy(&v, kx_bytes(kx) + HEADER, 8);
	return v;
}

/* A component i >= 2 that fits in KVM's 4 KiB buffer (AMX tiles would not: refused). */
static bool component_ok(const struct fb_xlayout *l, unsigned i)
{
	return l->size[i] && (uint64_t)l->offset[i] + l->size[i] <= sizeof(struct kvm_xsave);
}

static uint64_t edx_eax(const struct fb_cpu *c)
{
	return (uint32_t)c->regs.rax | (uint64_t)(uint32_t)c->regs.rdx << 32;
}

/* The checks every XSAVE-family instruction makes first, in the CPU's order. */
static enum fb_step prologue(struct fb_cpu *c, uint64_t la, uint64_t *xcr0, uint64_t *rfbm)
{
	if (!(c->sregs.cr4 & FB_CR4_OSXSAVE))
		return fb_raise(c, FB_UD, false, 0);
	if (c->sregs.cr0 & FB_CR0_TS)
		return fb_raise(c, FB_NM, false, 0);
	if (la & 63)
		return fb_raise(c, FB_GP, true, 0);
	if (c->xs->get_xcr0(c->xs_ctx, xcr0) < 0)
		return FB_STEP_ERROR;
	*rfbm = *xcr0 & edx_eax(c);
	for (unsigned i = 2; i < 64; i++)
		if ((*rfbm >> i & 1) && !component_ok(c->xl, i))
			return FB_STEP_UNHANDLED;
	return FB_STEP_OK;
}

static unsigned xmm_count(const struct fb_cpu *c)
{
	return fb_code64(c) ? 16 : 8; /* outside 64-bit mode only XMM0-7 are saved and restored */
}

static uint32_t align64(uint32_t off)
{
	return (off + 63) & ~63u;
}

/* Offset of component i in a compacted image whose XCOMP_BV is xcomp (SDM vol. 1, 13.4.3). */
static uint32_t compacted_offset(const struct fb_xlayout *l, uint64_t xcomp, unsigned i)
{
	uint32_t off = EXTENDED;
	for (unsigned j = 2; j < i; j++)
		if (xcomp >> j & 1)
			off = ((l->align64 >> j & 1) ? align64(off) : off) + l->size[j];
	return (l->align64 >> i & 1) ? align64(off) : off;
}

/* Bytes 0-23 of the legacy region: the 64-bit form (REX.W) keeps 64-bit FIP/FDP; the plain form
 * has 32-bit offsets with FCS/FDS beside them, which we store as 0 (as CPUs that deprecate them). */
static void x87_lo_form(uint8_t lo[LEGACY_X87_LO_SIZE], bool rex_w)
{
	if (!rex_w) {
		memset(lo + 12, 0, 4);
		memset(lo + 20, 0, 4);
	}
}

enum fb_step fb_xsave(struct fb_cpu *c, uint64_t la, enum fb_xsave_form form, bool rex_w)
{
	uint64_t xcr0, rfbm;
	enum fb_step st = prologue(c, la, &xcr0, &rfbm);
	if (st != FB_STEP_OK)
		return st;
	const struct fb_xlayout *l = c->xl;
	bool compact = form == FB_XSAVE_COMPACTED;
	if (compact && !l->xsavec)
		return fb_raise(c, FB_UD, false, 0);
	uint64_t end = EXTENDED;
	for (unsigned i = 2; i < 64; i++)
		if (rfbm >> i & 1) {
			uint64_t e = (compact ? compacted_offset(l, rfbm, i) : l->offset[i]) + l->size[i];
			end = e > end ? e : end;
		}
	unsigned acc = fb_data_access(c, true);
	if ((st = fb_probe_linear(c, la, end, acc)) != FB_STEP_OK)
		return st;
	static __thread struct kvm_xsave kx;
	if (c->xs->get_xsave(c->xs_ctx, &kx) < 0)
		return FB_STEP_ERROR;
	uint8_t *k = kx_bytes(&kx);
	uint64_t xinuse = kx_xstate_bv(&kx) & xcr0;
	/* The standard form saves every requested component; the compacted one skips those in
	 * their initial state (XSTATE_BV says which), as the CPU's init optimization does. */
	uint64_t saved = compact ? rfbm & xinuse : rfbm;
	if (saved & 1) {
		uint8_t lo[LEGACY_X87_LO_SIZE];
		memcpy(lo, k + LEGACY_X87_LO, sizeof(lo));
		x87_lo_form(lo, rex_w);
		fb_write_linear(c, la + LEGACY_X87_LO, lo, sizeof(lo), acc);
		fb_write_linear(c, la + LEGACY_ST, k + LEGACY_ST, LEGACY_ST_SIZE, acc);
	}
	if (rfbm & 6)
		fb_write_linear(c, la + LEGACY_MXCSR, k + LEGACY_MXCSR, 8, acc);
	if (saved & 2)
		fb_write_linear(c, la + LEGACY_XMM, k + LEGACY_XMM, 16 * xmm_count(c), acc);
	for (unsigned i = 2; i < 64; i++)
		if (saved >> i & 1)
			fb_write_linear(c, la + (compact ? compacted_offset(l, rfbm, i) : l->offset[i]),
					k + l->offset[i], l->size[i], acc);
	uint64_t hdr[8] = { 0 };
	if (compact) {
		hdr[0] = rfbm & xinuse;
		hdr[1] = rfbm | XCOMP_COMPACT;
		fb_write_linear(c, la + HEADER, hdr, sizeof(hdr), acc);
	} else {
		/* Only XSTATE_BV is written, and only its requested bits. */
		fb_read_linear(c, la + HEADER, hdr, 8, acc);
		hdr[0] = (hdr[0] & ~rfbm) | (xinuse & rfbm);
		fb_write_linear(c, la + HEADER, hdr, 8, acc);
	}
	return FB_STEP_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void x87_init(uint8_t *k)
{
	memset(k + LEGACY_X87_LO, 0, LEGACY_X87_LO_SIZE);
	memset(k + LEGACY_ST, 0, LEGACY_ST_SIZE);
	k[0] = X87_FCW_INIT & 0xff;
	k[1] = X87_FCW_INIT >> 8;
}

enum fb_step fb_xrstor(struct fb_cpu *c, uint64_t la, bool rex_w)
{
	uint64_t xcr0, rfbm;
	enum fb_step st = prologue(c, la, &xcr0, &rfbm);
	if (st != FB_STEP_OK)
		return st;
	const struct fb_xlayout *l = c->xl;
	unsigned acc = fb_data_access(c, false);
	uint8_t hdr[64];
	if ((st = fb_read_linear(c, la + HEADER, hdr, sizeof(hdr), acc)) != FB_STEP_OK)
		return st;
	uint64_t xstate_bv, xcomp_bv;
	memcpy(&xstate_bv, hdr, 8);
	memcpy(&xcomp_bv, hdr + 8, 8);
	bool compact = (xcomp_bv & XCOMP_COMPACT) != 0;
	/* The header checks of SDM vol. 1, 13.8: #GP(0) for anything a CPU would refuse. */
	if (compact) {
		if (!l->xsavec || (xcomp_bv & ~XCOMP_COMPACT & ~xcr0) || (xstate_bv & ~xcomp_bv) || !all_zero(hdr + 16, 48))
			return fb_raise(c, FB_GP, true, 0);
	} else if ((xstate_bv & ~xcr0) || !all_zero(hdr + 8, 16)) {
		return fb_raise(c, FB_GP, true, 0);
	}
	static __thread struct kvm_xsave kx;
	if (c->xs->get_xsave(c->xs_ctx, &kx) < 0)
		return FB_STEP_ERROR;
	uint8_t *k = kx_bytes(&kx);
	uint32_t mxcsr_mask;
	memcpy(&mxcsr_mask, k + LEGACY_MXCSR + 4, 4);
	if (!mxcsr_mask)
		mxcsr_mask = l->mxcsr_mask;
	uint64_t load = rfbm & xstate_bv; /* the rest of rfbm is initialized */
	if (rfbm & 6) {
		uint32_t mxcsr = MXCSR_INIT;
		if ((!compact || (xstate_bv & 6)) &&
		    (st = fb_read_linear(c, la + LEGACY_MXCSR, &mxcsr, 4, acc)) != FB_STEP_OK)
			return st;
		if (mxcsr & ~mxcsr_mask)
			return fb_raise(c, FB_GP, true, 0);
		memcpy(k + LEGACY_MXCSR, &mxcsr, 4);
	}
	if (load & 1) {
		uint8_t lo[LEGACY_X87_LO_SIZE];
		if ((st = fb_read_linear(c, la + LEGACY_X87_LO, lo, sizeof(lo), acc)) != FB_STEP_OK ||
		    (st = fb_read_linear(c, la + LEGACY_ST, k + LEGACY_ST, LEGACY_ST_SIZE, acc)) != FB_STEP_OK)
			return st;
		x87_lo_form(lo, rex_w);
		memcpy(k + LEGACY_X87_LO, lo, sizeof(lo));
	} else if (rfbm & 1) {
		x87_init(k);
	}
	if (load & 2) {
		if ((st = fb_read_linear(c, la + LEGACY_XMM, k + LEGACY_XMM, 16 * xmm_count(c), acc)) != FB_STEP_OK)
			return st;
	} else if (rfbm & 2) {
		memset(k + LEGACY_XMM, 0, 16 * xmm_count(c));
	}
	uint64_t bv = kx_xstate_bv(&kx);
	for (unsigned i = 2; i < 64; i++) {
		if (!(rfbm >> i & 1))
			continue;
		if (load >> i & 1) {
			uint64_t at = la + (compact ? compacted_offset(l, xcomp_bv, i) : l->offset[i]);
			if ((st = fb_read_linear(c, at, k + l->offset[i], l->size[i], acc)) != FB_STEP_OK)
				return st;
			bv |= 1ull << i;
		} else {
			memset(k + l->offset[i], 0, l->size[i]);
			bv &= ~(1ull << i);
		}
	}
	/* x87 and SSE always carry explicit values in the buffer we hand KVM (initial ones
	 * included), so KVM takes them and MXCSR from it. */
	bv |= rfbm & 3;
	memcpy(k + HEADER, &bv, 8);
	memset(k + HEADER + 8, 0, 8); /* KVM's buffer is in the standard form */
	return c->xs->set_xsave(c->xs_ctx, &kx) < 0 ? FB_STEP_ERROR : FB_STEP_OK;
}

enum fb_step fb_xgetbv(struct fb_cpu *c)
{
	uint64_t xcr0, v;
	if (!(c->sregs.cr4 & FB_CR4_OSXSAVE))
		return fb_raise(c, FB_UD, false, 0);
	uint32_t ecx = (uint32_t)c->regs.rcx;
	if (ecx > 1 || (ecx == 1 && !c->xl->xgetbv1))
		return fb_raise(c, FB_GP, true, 0);
	if (c->xs->get_xcr0(c->xs_ctx, &xcr0) < 0)
		return FB_STEP_ERROR;
	v = xcr0;
	if (ecx == 1) { /* XINUSE: the components not in their initial state */
		static __thread struct kvm_xsave kx;
		if (c->xs->get_xsave(c->xs_ctx, &kx) < 0)
			return FB_STEP_ERROR;
		v = xcr0 & kx_xstate_bv(&kx);
	}
	c->regs.rax = (uint32_t)v;
	c->regs.rdx = v >> 32;
	return FB_STEP_OK;
}

enum fb_step fb_xsetbv(struct fb_cpu *c)
{
	if (!(c->sregs.cr4 & FB_CR4_OSXSAVE))
		return fb_raise(c, FB_UD, false, 0);
	uint64_t v = edx_eax(c);
	bool avx512_ok = (v & AVX512_BITS) == 0 || ((v & AVX512_BITS) == AVX512_BITS && (v & 4));
	if (fb_cpl(c) > 0 || (uint32_t)c->regs.rcx != 0 || !(v & 1) || ((v & 4) && !(v & 2)) ||
	    (v & ~c->xl->supported) || !avx512_ok)
		return fb_raise(c, FB_GP, true, 0);
	int rc = c->xs->set_xcr0(c->xs_ctx, v);
	if (rc == -EINVAL)
		return fb_raise(c, FB_GP, true, 0);
	return rc < 0 ? FB_STEP_ERROR : FB_STEP_OK;
}
