/* What recorder and replayer both compute at an exit: whether it belongs to the guest's own
 * sequence (a natural exit), and its fingerprint (reason, RIP, address, registers, insn count). */
#ifndef DHYVE_REPLAY_EXIT_FP_H
#define DHYVE_REPLAY_EXIT_FP_H

#include <stdbool.h>
#include <stdio.h>

#include "replay/rlog.h"
#include "vmm/exit.h"

/* Single steps after an interrupt was raised under IF=0 before giving up waiting for IF (a guest
 * that polls with interrupts off): recorder and replayer stop at the same instruction. */
#define IFSTEP_MAX 4096u

struct vcpu;
struct kvm_regs;

/* IF-stepping is over when the guest can take the interrupt at the next entry: IF set and no
 * interrupt shadow (the instruction after sti or mov ss), which KVM would otherwise wait out
 * with an interrupt window this KVM does not keep precisely. */
bool interrupt_can_enter(struct vcpu *vcpu, const struct kvm_regs *regs);

/* Exits the guest causes itself, in the same order on every run: not kicks (another thread),
 * not debugger events, not interrupt windows. */
bool exit_is_natural(enum vmexit_kind kind);
/* A 32-bit hash of the general registers and RFLAGS (without TF and RF, which single-stepping sets). */
uint32_t regs_fingerprint(const struct kvm_regs *r);
/* Fills x for the exit; insn_count 0 when the platform has no instruction counter. */
void exit_fingerprint(struct vcpu *vcpu, const struct vm_exit *ex, uint64_t index, struct rlog_exit *x);
/* "reason rip addr regs": one line for divergence reports. */
void exit_fingerprint_print(FILE *out, const char *label, const struct rlog_exit *x);

#endif
