/* rdtscp, which this KVM fails to emulate at CPL0 although CPUID offers it (Linux reads its clock
 * with it): the vCPU's own TSC and TSC_AUX, read from KVM, so that any TSC offset KVM applies
 * is the guest's. */
#include "fallback/complete.h"

#define MSR_IA32_TSC 0x10
#define MSR_TSC_AUX 0xc0000103
#define CR4_TSD (1ull << 2)

enum fb_step fb_rdtscp(struct fb_cpu *c)
{
	if ((c->sregs.cr4 & CR4_TSD) && fb_cpl(c) > 0)
		return fb_raise(c, FB_GP, true, 0);
	uint64_t tsc, aux;
	if (!c->xs || !c->xs->get_msr)
		return FB_STEP_UNHANDLED;
	if (c->xs->get_msr(c->xs_ctx, MSR_IA32_TSC, &tsc) < 0 || c->xs->get_msr(c->xs_ctx, MSR_TSC_AUX, &aux) < 0)
		return FB_STEP_ERROR;
	c->regs.rax = (uint32_t)tsc;
	c->regs.rdx = tsc >> 32;
	c->regs.rcx = (uint32_t)aux;
	return FB_STEP_OK;
}
