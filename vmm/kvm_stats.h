/* KVM's own per-vCPU counters (the binary stats fd): exits KVM handled in the kernel, which
 * user space never sees, and on PVM the exact count of emulated (ring-0) instructions. */
#ifndef DHYVE_VMM_KVM_STATS_H
#define DHYVE_VMM_KVM_STATS_H

#include <stdint.h>

struct vcpu;

#define KVM_STAT_NAME_MAX 48

struct kvm_stat_counter {
	char name[KVM_STAT_NAME_MAX];
	uint64_t value;
};

/* Reads every single-valued counter of the vCPU into out[0..max). Returns how many, or a
 * negative errno when this KVM has no binary stats. Safe from any thread, VM running. */
int vcpu_kvm_stats(struct vcpu *vcpu, struct kvm_stat_counter *out, int max);
/* One counter by name ("exits", "insn_emulation"); -ENOENT when absent. */
int vcpu_kvm_stat(struct vcpu *vcpu, const char *name, uint64_t *value);

/* KVM's insn_emulation counter, kept at hand: on PVM it counts every ring-0 instruction exactly
 * (../shared/PLATFORM.md), which is how replay finds a point between exits again. -ENOTSUP
 * where KVM has no such counter (hardware KVM: replay then delivers at exits only). */
int vcpu_insn_count(struct vcpu *vcpu, uint64_t *count);

#endif
