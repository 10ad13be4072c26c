/* The KVM hypercall ABI (Documentation/virt/kvm/x86/hypercalls.rst) as dhyve answers it: for the
 * vmcall/vmmcall this KVM live-locks on at CPL0, and for KVM_EXIT_HYPERCALL should one arrive. */
#ifndef DHYVE_FALLBACK_HYPERCALL_H
#define DHYVE_FALLBACK_HYPERCALL_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#define FB_KVM_ENOSYS 1000 /* KVM's -KVM_ENOSYS: the hypercall is not implemented */
#define FB_KVM_HC_VAPIC_POLL_IRQ 1

/* The result for hypercall nr (RAX): 0 for KVM_HC_VAPIC_POLL_IRQ, as KVM answers it (a no-op
 * asking KVM to look for interrupts), -KVM_ENOSYS for everything else. */
int64_t fb_hypercall_result(uint64_t nr);
/* Answers the hypercall whose 3-byte instruction is at RIP: RAX = result (32 bits outside 64-bit
 * code), RIP += 3. */
void fb_hypercall_answer(struct kvm_regs *regs, bool code64);
/* True for vmcall (0f 01 c1) and vmmcall (0f 01 d9), the bytes KVM patches between. */
bool fb_is_hypercall(const uint8_t bytes[3], bool *is_vmmcall);

#endif
