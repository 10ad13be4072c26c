/* ldmxcsr, stmxcsr (and their VEX forms) and fwait, which this KVM fails to emulate at CPL0:
 * Linux runs ldmxcsr in every kernel_fpu_begin(). Completed on KVM's XSAVE image. */
#include <string.h>

#include "fallback/complete.h"

#define MXCSR_OFF 24
#define FSW_OFF 2
#define FSW_ES (1u << 7)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_NE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define FB_MF 16

/* The CPU's checks: legacy needs CR0.EM clear and CR4.OSFXSR, VEX CR4.OSXSAVE and XCR0 SSE|AVX
 * (#UD); CR0.TS gives #NM. */
static enum fb_step checks(struct fb_cpu *c, bool vex)
{
	if (!c->xs || !c->xl)
		return FB_STEP_UNHANDLED;
	const struct kvm_sregs *s = &c->sregs;
	if (vex) {
		uint64_t xcr0;
		if (!(s->cr4 & FB_CR4_OSXSAVE))
			return fb_raise(c, FB_UD, false, 0);
		if (c->xs->get_xcr0(c->xs_ctx, &xcr0) < 0)
			return FB_STEP_ERROR;
		if ((xcr0 & 6) != 6)
			return fb_raise(c, FB_UD, false, 0);
	} else if ((s->cr0 & CR0_EM) || !(s->cr4 & CR4_OSFXSR)) {
		return fb_raise(c, FB_UD, false, 0);
	}
	if (s->cr0 & FB_CR0_TS)
		return fb_raise(c, FB_NM, false, 0);
	return FB_STEP_OK;
}

enum fb_step fb_ldmxcsr(struct fb_cpu *c, uint64_t la, bool vex)
{
	static __thread struct kvm_xsave kx;
	uint32_t v;
	enum fb_step st = checks(c, vex);
	if (st == FB_STEP_OK)
		st = fb_read_linear(c, la, &v, 4, fb_data_access(c, false));
	if (st != FB_STEP_OK)
		return st;
	if (c->xs->get_xsave(c->xs_ctx, &kx) < 0)
		return FB_STEP_ERROR;
	uint8_t *k = (uint8_t *)kx.region;
	uint32_t mask;
	memcpy(&mask, k + MXCSR_OFF + 4, 4);
	if (!mask)
		mask = c->xl->mxcsr_mask;
	if (v & ~mask)
		return fb_raise(c, FB_GP, true, 0);
	uint32_t old;
	memcpy(&old, k + MXCSR_OFF, 4);
	if (old == v)
		return FB_STEP_OK; /* Linux loads the default it already has: no ioctl */
	memcpy(k + MXCSR_OFF, &v, 4);
	uint64_t bv;
	memcpy(&bv, k + 512, 8);
	bv |= 2; /* MXCSR travels with the SSE component: make KVM take it */
	memcpy(k + 512, &bv, 8);
	return c->xs->set_xsave(c->xs_ctx, &kx) < 0 ? FB_STEP_ERROR : FB_STEP_OK;
}

enum fb_step fb_stmxcsr(struct fb_cpu *c, uint64_t la, bool vex)
{
	static __thread struct kvm_xsave kx;
	enum fb_step st = checks(c, vex);
	if (st == FB_STEP_OK)
		st = fb_probe_linear(c, la, 4, fb_data_access(c, true));
	if (st != FB_STEP_OK)
		return st;
	if (c->xs->get_xsave(c->xs_ctx, &kx) < 0)
		return FB_STEP_ERROR;
	return fb_write_linear(c, la, (uint8_t *)kx.region + MXCSR_OFF, 4, fb_data_access(c, true));
}

/* fwait: #NM with CR0.TS and CR0.MP; a pending unmasked x87 exception (FSW.ES) is #MF. With
 * CR0.NE clear the CPU would signal FERR# to the interrupt controller instead: not ours. */
enum fb_step fb_fwait(struct fb_cpu *c)
{
	static __thread struct kvm_xsave kx;
	const struct kvm_sregs *s = &c->sregs;
	if ((s->cr0 & FB_CR0_TS) && (s->cr0 & CR0_MP))
		return fb_raise(c, FB_NM, false, 0);
	if (!c->xs)
		return FB_STEP_UNHANDLED;
	if (c->xs->get_xsave(c->xs_ctx, &kx) < 0)
		return FB_STEP_ERROR;
	uint16_t fsw;
	memcpy(&fsw, (uint8_t *)kx.region + FSW_OFF, 2);
	if (!(fsw & FSW_ES))
		return FB_STEP_OK;
	return (s->cr0 & CR0_NE) ? fb_raise(c, FB_MF, false, 0) : FB_STEP_UNHANDLED;
}
