/* Hypercall answers per the KVM ABI: the number in RAX, the result in RAX, execution resumes
 * after the 3-byte vmcall/vmmcall. dhyve implements none of the calls that need a host action. */
#include "fallback/hypercall.h"

int64_t fb_hypercall_result(uint64_t nr)
{
	return nr == FB_KVM_HC_VAPIC_POLL_IRQ ? 0 : -FB_KVM_ENOSYS;
}

void fb_hypercall_answer(struct kvm_regs *regs, bool code64)
{
	uint64_t nr = code64 ? regs->rax : (uint32_t)regs->rax;
	uint64_t ret = (uint64_t)fb_hypercall_result(nr);
	regs->rax = code64 ? ret : (uint32_t)ret;
	regs->rip = code64 ? regs->rip + 3 : (uint32_t)(regs->rip + 3);
}

bool fb_is_hypercall(const uint8_t b[3], bool *is_vmmcall)
{
	if (b[0] != 0x0f || b[1] != 0x01 || (b[2] != 0xc1 && b[2] != 0xd9))
		return false;
	if (is_vmmcall)
		*is_vmmcall = b[2] == 0xd9;
	return true;
}
