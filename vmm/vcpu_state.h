/* The whole architectural state of a vCPU (registers, FPU/SSE/AVX through XSAVE, XCRs, MSRs,
 * LAPIC, pending events, debug registers, MP state) and of the VM's in-kernel irqchip and PIT,
 * as plain structures and as versioned byte images: what snapshots save, resume and reset. */
#ifndef DHYVE_VMM_VCPU_STATE_H
#define DHYVE_VMM_VCPU_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"

struct vcpu;
struct vm;

#define VCPU_STATE_MAX_MSRS 256

/* Which parts vcpu_state_set applies. The first three travel through kvm_run's sync_regs
 * (no ioctl); each of the others costs one vCPU ioctl (~5 µs on a software KVM). */
enum {
	VCPU_STATE_REGS = 1u << 0,
	VCPU_STATE_SREGS = 1u << 1,
	VCPU_STATE_EVENTS = 1u << 2,
	VCPU_STATE_FPU = 1u << 3,       /* XSAVE area (or the legacy FPU image without XSAVE) */
	VCPU_STATE_XCRS = 1u << 4,
	VCPU_STATE_MSRS = 1u << 5,
	VCPU_STATE_LAPIC = 1u << 6,
	VCPU_STATE_DEBUGREGS = 1u << 7,
	VCPU_STATE_MP = 1u << 8,
	VCPU_STATE_ALL = (1u << 9) - 1,
	VCPU_STATE_SYNCED = VCPU_STATE_REGS | VCPU_STATE_SREGS | VCPU_STATE_EVENTS,
};

struct vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_mp_state mp_state;
	struct kvm_lapic_state lapic;
	bool has_xsave, has_xcrs;
	/* struct kvm_xsave's 4 KiB region, when has_xsave (else fpu); kept as an array because newer
	 * headers end struct kvm_xsave with a flexible member, which may not sit mid-struct. */
	uint32_t xsave[1024];
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	uint32_t nmsrs;
	struct kvm_msr_entry msrs[VCPU_STATE_MAX_MSRS];
};

/* Reads everything. The vCPU must be parked (VM paused) or this its own thread between exits.
 * Registers written through sync_regs but not yet entered are flushed first. */
int vcpu_state_get(struct vcpu *v, struct vcpu_state *s, struct errmsg *e);
/* Applies the parts in `what` (VCPU_STATE_*), in the order KVM needs (QEMU's: registers, FPU,
 * XCRs, special registers, MSRs, MP state, LAPIC, events, debug registers). The sync_regs
 * copy is kept current, so vcpu_get_regs and friends see the new state. Same thread rules. */
int vcpu_state_set(struct vcpu *v, const struct vcpu_state *s, unsigned what, struct errmsg *e);

/* Byte image: see docs/snapshot-format.md. encode with buf NULL returns the size; a too small
 * buffer gets nothing (returns 0). decode refuses (-EINVAL, message) anything that is not one
 * whole image of this version: unknown or missing parts, wrong sizes, too many MSRs. */
size_t vcpu_state_encode(const struct vcpu_state *s, void *buf, size_t len);
int vcpu_state_decode(struct vcpu_state *s, const void *buf, size_t len, struct errmsg *e);

/* The VM's in-kernel interrupt controllers, PIT (when the VM has one) and KVM clock. */
struct vm_chip_state {
	struct kvm_irqchip pic_master, pic_slave, ioapic;
	bool has_pit;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
};

/* with_clock false skips the KVM clock (one ioctl less for a reset that only compares). */
int vm_chip_state_get(struct vm *vm, struct vm_chip_state *s, bool with_clock, struct errmsg *e);
/* with_clock false leaves the KVM clock running (a fast reset: the guest's clock goes on). */
int vm_chip_state_set(struct vm *vm, const struct vm_chip_state *s, bool with_clock, struct errmsg *e);
size_t vm_chip_state_encode(const struct vm_chip_state *s, void *buf, size_t len);
int vm_chip_state_decode(struct vm_chip_state *s, const void *buf, size_t len, struct errmsg *e);

#endif
