/* A virtual machine on KVM: its name, RAM, vCPUs and threads, in-kernel irqchip and PIT, and
 * the exit dispatch table. The only code that issues VM ioctls; it knows nothing of devices. */
#ifndef DHYVE_VMM_VM_H
#define DHYVE_VMM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "base/gmem.h"
#include "vmm/exit.h"

#define VM_NAME_MAX 31   /* as bhyve: longer names are refused */
#define VM_MAX_VCPUS 64
#define VM_LOWMEM_LIMIT 0xc0000000ull /* RAM above 3 GiB goes above 4 GiB (PCI hole) */

struct vcpu;

/* How the VM ended; the values are bhyve(8)'s exit statuses. */
enum vm_end {
	VM_END_NONE = -1,
	VM_END_RESET = 0,
	VM_END_POWEROFF = 1,
	VM_END_HALT = 2,
	VM_END_TRIPLEFAULT = 3,
	VM_END_ERROR = 4,
	VM_END_DEBUGEXIT = 5, /* status is (code << 1) | 1, as QEMU's isa-debug-exit */
	VM_END_PANIC = 6,     /* the guest reported a panic (pvpanic); code = its event bits */
};

/* What an exit handler tells the run loop. */
enum vmexit_action {
	VMEXIT_RESUME, /* run the vCPU again */
	VMEXIT_STOP,   /* the VM is ending (vm_request_end was called): leave the loop */
};

typedef enum vmexit_action (*vmexit_handler_fn)(struct vcpu *vcpu, struct vm_exit *exit, void *opaque);

/* The bus the run loop hands port and MMIO exits to. Reads store into *value. Return 0, or a
 * negative errno, which the bus has already accounted for (the guest reads all-ones). */
struct vm_io_ops {
	int (*pio)(void *opaque, struct vcpu *vcpu, uint16_t port, unsigned size, bool is_write, uint64_t *value);
	int (*mmio)(void *opaque, struct vcpu *vcpu, uint64_t gpa, unsigned size, bool is_write, uint64_t *value);
	void *opaque;
};

/* Called once per exit, after its handler, with the handling time: where trace/ and the
 * recorder hook in (DESIGN.md: once, at the dispatch point). Hooks run in the order added. */
#define VM_MAX_EXIT_HOOKS 4
typedef void (*vmexit_hook_fn)(struct vcpu *vcpu, const struct vm_exit *exit, uint64_t handle_ns, void *opaque);

struct vm_config {
	const char *name;
	uint64_t mem_bytes;
	unsigned ncpus;
	/* Record and replay: no in-kernel PIT (its interrupts would come at moments no door sees),
	 * and CPUID without RDRAND, RDSEED, RDTSCP and KVM's paravirtual clock. */
	bool deterministic;
};

/* Opens /dev/kvm and creates the VM with its RAM, irqchip, PIT and vCPUs (not yet running). */
struct vm *vm_create(const struct vm_config *cfg, struct errmsg *e);
void vm_destroy(struct vm *vm);

const char *vm_name(const struct vm *vm);
struct gmem *vm_gmem(struct vm *vm);
unsigned vm_ncpus(const struct vm *vm);
struct vcpu *vm_vcpu(struct vm *vm, unsigned index);
int vm_fd(const struct vm *vm);

void vm_set_io_ops(struct vm *vm, const struct vm_io_ops *ops);
/* Replaces the handler of one exit kind (the default handlers cover PIO/MMIO through the io
 * ops, shutdown, emulation failure and the rest). */
void vm_set_exit_handler(struct vm *vm, enum vmexit_kind kind, vmexit_handler_fn fn, void *opaque);
/* The handler installed now for kind (to wrap it: install yours, call the old one). */
void vm_get_exit_handler(struct vm *vm, enum vmexit_kind kind, vmexit_handler_fn *fn, void **opaque);
/* Runs vmm's own handler for ex->kind: for a replacement that wraps the default. */
enum vmexit_action vm_default_exit_handler(struct vcpu *vcpu, struct vm_exit *ex);
/* Adds a hook before the VM starts; -ENOSPC when VM_MAX_EXIT_HOOKS are there already. */
int vm_add_exit_hook(struct vm *vm, vmexit_hook_fn fn, void *opaque);

struct kvm_cpuid_entry2;
/* The CPUID table every vCPU gets (before its APIC id is filled in): recorded with a run. */
unsigned vm_cpuid(const struct vm *vm, const struct kvm_cpuid_entry2 **entries);
/* Replaces it on every vCPU, before the VM first runs: a replay gets the recording's CPUID. */
int vm_set_cpuid(struct vm *vm, const struct kvm_cpuid_entry2 *entries, unsigned n, struct errmsg *e);

/* Door 3: level of a GSI on the in-kernel irqchip. */
int vm_irq_line(struct vm *vm, unsigned gsi, bool level);
/* The vector a GSI raises now, as the in-kernel I/O APIC (an unmasked entry) or else the 8259
 * pair routes it; -ENOENT when masked everywhere. For replay handing an interrupt to a debugger. */
int vm_irq_vector(struct vm *vm, unsigned gsi, uint8_t *vector);
/* Door 3: a message-signalled interrupt (KVM_SIGNAL_MSI). */
int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data);

/* Starts one thread per vCPU. */
int vm_start(struct vm *vm, struct errmsg *e);
/* Asks the VM to end (the first request wins) and kicks every vCPU out of KVM_RUN. Safe from
 * any thread, not from a signal handler. why is copied and shown to the user. */
void vm_request_end(struct vm *vm, enum vm_end how, uint32_t code, const char *why);
/* Blocks until the VM has ended and all vCPU threads are joined; returns the exit status. */
int vm_wait(struct vm *vm);
/* Non-blocking: true once vm_request_end happened. A descriptor that becomes readable then. */
bool vm_ended(const struct vm *vm);
int vm_end_fd(const struct vm *vm);
/* How it ended, and the message, once ended. */
enum vm_end vm_end_reason(const struct vm *vm, uint32_t *code, const char **why);
int vm_exit_status(const struct vm *vm);

/* Stops every vCPU at an instruction boundary (outside KVM_RUN) and returns when all are
 * parked; vm_resume_all lets them run on. While paused, any thread may use the vcpu_ register
 * calls. Nesting is counted. */
void vm_pause_all(struct vm *vm);
void vm_resume_all(struct vm *vm);
/* The two halves of vm_pause_all, for a vCPU thread that must stop the others from inside an
 * exit handler (a breakpoint hit): request returns at once (the caller parks when its handler
 * returns); wait blocks until every vCPU is parked. Each request is undone by vm_resume_all. */
void vm_pause_request(struct vm *vm);
void vm_pause_wait(struct vm *vm);

/* Kicks one vCPU out of KVM_RUN so that it sees an exit of kind VMEXIT_KICK (door 5: the moment
 * asynchronous input is taken). Safe from any thread. */
void vm_kick_vcpu(struct vm *vm, unsigned index);

#endif
