/* One virtual CPU: its KVM fd and shared kvm_run page, registers through sync_regs, the run
 * loop that turns KVM_RUN returns into exit records, and its always-on exit counters. */
#ifndef DHYVE_VMM_VCPU_H
#define DHYVE_VMM_VCPU_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/bootstate.h"
#include "base/latency_hist.h"
#include "base/pagewalk.h"
#include "base/errmsg.h"
#include "vmm/exit.h"

struct vm;
struct vcpu;

/* Always-on counters, written by the vCPU's own thread only, read by anyone (relaxed). */
struct vcpu_stats {
	uint64_t count[VMEXIT__COUNT];
	uint64_t ns[VMEXIT__COUNT];     /* user-space handling time */
	uint64_t min_ns[VMEXIT__COUNT];
	uint64_t max_ns[VMEXIT__COUNT];
	uint64_t hist[VMEXIT__COUNT][LHIST_BUCKETS]; /* handling-time histogram, for p50/p99 */
};

unsigned vcpu_index(const struct vcpu *vcpu);
struct vm *vcpu_vm(struct vcpu *vcpu);
int vcpu_fd(const struct vcpu *vcpu);
struct kvm_run *vcpu_run_page(struct vcpu *vcpu);

/* Register access. Valid on the vCPU's own thread between exits, or from any thread while the
 * VM is paused. Reads come from the sync_regs copy KVM leaves in kvm_run (no ioctl); writes
 * mark it dirty so KVM loads it on the next entry. */
int vcpu_get_regs(struct vcpu *vcpu, struct kvm_regs *regs);
int vcpu_set_regs(struct vcpu *vcpu, const struct kvm_regs *regs);
int vcpu_get_sregs(struct vcpu *vcpu, struct kvm_sregs *sregs);
int vcpu_set_sregs(struct vcpu *vcpu, const struct kvm_sregs *sregs);
int vcpu_get_mp_state(struct vcpu *vcpu, uint32_t *state);

int vcpu_get_fpu(struct vcpu *vcpu, struct kvm_fpu *fpu);
int vcpu_set_fpu(struct vcpu *vcpu, const struct kvm_fpu *fpu);
/* Extended control registers (XCR0) and the XSAVE area, for completing xgetbv/xsetbv/xsave. */
int vcpu_get_xcrs(struct vcpu *vcpu, struct kvm_xcrs *xcrs);
int vcpu_set_xcrs(struct vcpu *vcpu, const struct kvm_xcrs *xcrs);
int vcpu_get_xsave(struct vcpu *vcpu, struct kvm_xsave *xsave);
int vcpu_set_xsave(struct vcpu *vcpu, const struct kvm_xsave *xsave);
/* MSRs by index (KVM_GET_MSRS / KVM_SET_MSRS), e.g. 0xc0000102 KERNEL_GS_BASE. */
int vcpu_get_msr(struct vcpu *vcpu, uint32_t index, uint64_t *value);
int vcpu_set_msr(struct vcpu *vcpu, uint32_t index, uint64_t value);
/* KVM_SET_GUEST_DEBUG: control is KVM_GUESTDBG_* (ENABLE, SINGLESTEP, USE_SW_BP, USE_HW_BP,
 * BLOCKIRQ); db[0..3] are DR0-3 and db[7] DR7 for USE_HW_BP. While paused or on the vCPU's
 * own thread. */
int vcpu_set_guest_debug(struct vcpu *vcpu, uint32_t control, const uint64_t db[8]);
/* What the debugger last set (KVM_GUESTDBG_* bits). */
uint32_t vcpu_guest_debug_control(const struct vcpu *vcpu);
/* Replay approaching a point between exits: single-steps, and/or an execute breakpoint at linear
 * address bp in DR3 (0 = none), on top of whatever the debugger set; hide_debugger_step turns
 * the debugger's own single-step (and its interrupt blocking) off meanwhile. (false, 0, false)
 * gives the debugger its setting alone back. From the vCPU's thread or while paused. */
int vcpu_replay_debug(struct vcpu *vcpu, bool step, uint64_t bp, bool hide_debugger_step);
/* Makes KVM look for a pending interrupt at the next entry (writing the events back raises its
 * KVM_REQ_EVENT): this KVM otherwise notices one raised under IF=0 only at some later event. */
int vcpu_recheck_interrupts(struct vcpu *vcpu);
/* Ends the vCPU's KVM_RUN after ns nanoseconds (a VMEXIT_KICK), even if the timer expires while
 * the vCPU is outside KVM_RUN: then the next KVM_RUN returns at once. From the vCPU's thread. */
int vcpu_arm_slice(struct vcpu *vcpu, uint64_t ns);
/* Makes KVM drop its cached guest translations before the next entry (completing invpcid):
 * CR4.PGE toggled and restored through KVM_SET_SREGS. Own thread between exits, or paused. */
int vcpu_flush_tlb(struct vcpu *vcpu);
/* A held vCPU stays parked even after vm_resume_all (a debugger stepping one vCPU while the
 * others stay stopped). Safe from any thread. */
void vcpu_hold(struct vcpu *vcpu, bool hold);
/* Record and replay run one vCPU at a time: one that may not run parks before KVM_RUN like a
 * held one, whatever the debugger holds or releases. Takes effect at its next exit (kick it). */
void vcpu_set_scheduled(struct vcpu *vcpu, bool may_run);
/* True while the vCPU is parked (VM paused, vCPU held): stopped on purpose, not hung. */
bool vcpu_parked(const struct vcpu *vcpu);
/* Pending exception/interrupt state (KVM_GET/SET_VCPU_EVENTS), e.g. to inject #BP. */
int vcpu_get_events(struct vcpu *vcpu, struct kvm_vcpu_events *ev);
int vcpu_set_events(struct vcpu *vcpu, const struct kvm_vcpu_events *ev);

/* The CPU mode the segment and control registers put the vCPU in. */
enum vcpu_mode vcpu_mode_of(const struct kvm_sregs *sregs);
/* What the page walker and the decoder need: paging registers and mode (same rules as the
 * register calls above). */
int vcpu_get_paging(struct vcpu *vcpu, struct paging_regs *pr, enum vcpu_mode *mode);

/* Puts the vCPU in the state a loader asked for (long or protected mode entry). */
int vcpu_apply_boot_state(struct vcpu *vcpu, const struct boot_state *bs, struct errmsg *e);

/* A consistent copy of the counters (per field relaxed loads). */
void vcpu_read_stats(const struct vcpu *vcpu, struct vcpu_stats *out);

#endif
