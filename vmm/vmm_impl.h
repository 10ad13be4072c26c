/* Internals shared by the files of vmm/: the VM and vCPU structures. Nothing outside vmm/
 * includes this; they use the accessors of vm.h and vcpu.h. */
#ifndef DHYVE_VMM_IMPL_H
#define DHYVE_VMM_IMPL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdbool.h>

#include "vmm/vcpu.h"
#include "vmm/vm.h"

struct kvm_stats_table;

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool thread_created;      /* main thread only: pthread_join is owed */
	pthread_t running_thread; /* set by the vCPU thread itself, before `running` */
	pid_t tid;                /* its kernel thread id, for the slice timer */
	bool unscheduled;         /* record/replay runs one vCPU at a time: the others park */
	timer_t slice_timer;
	bool slice_timer_made;
	bool dbg_extra_step;      /* replay's own stepping and breakpoint, on top of the debugger's */
	uint64_t dbg_extra_bp;    /* linear address in DR3, 0 = none */
	bool dbg_hide_step;       /* the debugger's single-step is off for now (replay hands over an interrupt) */
	bool running;             /* atomic: the thread may be inside KVM_RUN and can be signalled */
	bool held;                /* under vm->lock: parked even when the VM is not paused */
	bool parked;              /* under vm->lock (atomic reads): waiting in park_while_paused */
	struct kvm_stats_table *kvm_stats; /* NULL where KVM has no binary stats */
	bool synced;              /* kvm_run.s.regs holds this vCPU's registers */
	uint32_t dbg_control;     /* guest debug as the debugger set it */
	uint64_t dbg_db[8];
	struct vcpu_stats stats;
};

struct exit_handler {
	vmexit_handler_fn fn;
	void *opaque;
};

struct vm {
	char name[VM_NAME_MAX + 1];
	int kvm_fd, vm_fd;
	struct gmem gmem;
	void *ram;
	uint64_t ram_bytes;
	unsigned ncpus;
	struct vcpu *vcpus[VM_MAX_VCPUS];
	struct kvm_cpuid2 *cpuid;  /* filtered supported CPUID, template for every vCPU */
	uint64_t sync_mask;        /* KVM_SYNC_X86_* bits asked on every exit */

	struct vm_io_ops io;
	struct exit_handler handlers[VMEXIT__COUNT];
	struct { vmexit_hook_fn fn; void *opaque; } hooks[VM_MAX_EXIT_HOOKS];
	unsigned nhooks;

	pthread_mutex_t lock;
	pthread_cond_t cond;       /* parked/resumed/ended changes */
	unsigned pause_depth;      /* > 0: vCPUs must park */
	unsigned nparked;
	int end_fd;                /* eventfd, readable once ended */
	bool ended;
	enum vm_end end_how;
	uint32_t end_code;
	char end_why[256];
};

/* vmm/kvm.c */
int kvm_open(struct errmsg *e);
int kvm_check_caps(int kvm_fd, struct errmsg *e);
/* vmm/cpuid.c */
#define CPUID_MAX_ENTRIES 256
struct kvm_cpuid2 *cpuid_supported_filtered(int kvm_fd, struct errmsg *e);
int cpuid_set_for_vcpu(const struct kvm_cpuid2 *tmpl, int vcpu_fd, unsigned apic_id, struct errmsg *e);
void cpuid_hide_nondeterministic(struct kvm_cpuid2 *c);
/* vmm/vcpu.c */
struct vcpu *vcpu_create(struct vm *vm, unsigned index, struct errmsg *e);
void vcpu_destroy(struct vcpu *vcpu);
void *vcpu_thread_main(void *arg);
/* vmm/kvm_stats.c */
void vcpu_kvm_stats_load(struct vcpu *vcpu);
void vcpu_kvm_stats_free(struct vcpu *vcpu);
/* vmm/run_loop.c */
void vm_install_default_handlers(struct vm *vm);
void vcpu_run_loop(struct vcpu *vcpu);
void vcpu_kick_signal_init(void);
#define VCPU_SLICE_SIGNAL SIGUSR2

#endif
