/* The small record every KVM_RUN return becomes, and the names of its kinds. One vocabulary for
 * the run loop, the statistics, the tracer and the recorder (DESIGN.md: one boundary). */
#ifndef DHYVE_VMM_EXIT_H
#define DHYVE_VMM_EXIT_H

#include <stdint.h>

enum vmexit_kind {
	VMEXIT_PIO,            /* port I/O: addr = port, size, is_write, value, count (rep) */
	VMEXIT_MMIO,           /* MMIO: addr = guest-physical address */
	VMEXIT_HLT,            /* only without an in-kernel irqchip */
	VMEXIT_SHUTDOWN,       /* triple fault */
	VMEXIT_DEBUG,          /* guest-debug event: breakpoint, single-step; value = exception, addr = DR6 */
	VMEXIT_EMULATION_FAIL, /* KVM_EXIT_INTERNAL_ERROR: KVM could not emulate; value = suberror */
	VMEXIT_FAIL_ENTRY,     /* the CPU refused the state; value = hardware reason */
	VMEXIT_SYSTEM_EVENT,   /* in-kernel shutdown/reset request; value = event type */
	VMEXIT_KICK,           /* another thread interrupted KVM_RUN (signal + immediate_exit) */
	VMEXIT_IRQ_WINDOW,     /* the guest can take an interrupt now */
	VMEXIT_HYPERCALL,
	VMEXIT_MSR,            /* user-space MSR access: addr = MSR index */
	VMEXIT_OTHER,          /* any reason we do not know: kvm_reason says which */
	VMEXIT__COUNT
};

/* CPU mode at an exit, from CR0.PE, EFER.LMA and CS.L/CS.D (values shared with trace files). */
enum vcpu_mode {
	VCPU_MODE_REAL = 0,
	VCPU_MODE_PROT16 = 1,
	VCPU_MODE_PROT32 = 2,
	VCPU_MODE_LONG64 = 3,
};

struct vm_exit {
	enum vmexit_kind kind;
	uint32_t kvm_reason;   /* the raw KVM_EXIT_* value */
	uint64_t rip;
	uint64_t addr;         /* port, guest-physical address or MSR index */
	uint64_t value;        /* value written or read (first element of a rep I/O) */
	uint32_t count;        /* number of elements of a rep string I/O (1 otherwise) */
	uint8_t size;          /* access size in bytes */
	uint8_t is_write;
	uint8_t cpl;
	uint8_t mode;          /* enum vcpu_mode */
	uint64_t time_ns;      /* CLOCK_MONOTONIC when KVM_RUN returned */
};

const char *vmexit_kind_name(enum vmexit_kind kind);

#endif
