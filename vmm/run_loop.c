/* The run loop: KVM_RUN, turn the return into a struct vm_exit, dispatch it through the VM's
 * handler table, count it, call the hook. Kept short on purpose: everything else is a handler. */
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vmm_impl.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void kick_handler(int sig)
{
	(void)sig; /* its only job is to make KVM_RUN return EINTR */
}

void vcpu_kick_signal_init(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN must come back with EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(VCPU_SLICE_SIGNAL, &sa, NULL);
}

/* The slice timer's signal is blocked in the vCPU thread except inside KVM_RUN (KVM_SET_SIGNAL_MASK):
 * one that expires while the thread is in user space stays pending and ends the next KVM_RUN at
 * once, so a slice can never be lost and run on to the next exit. */
/* KVM_RUN returns with the thread's mask back in place, so a slice signal that ended it is still
 * pending (blocked) and would end every later KVM_RUN at once: take it here (as QEMU eats its
 * SIG_IPI). */
static void eat_slice_signal(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_SLICE_SIGNAL);
	struct timespec zero = { 0, 0 };
	while (sigtimedwait(&set, NULL, &zero) > 0)
		;
}

static void block_slice_signal(struct vcpu *v)
{
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, VCPU_SLICE_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	sigdelset(&old, VCPU_SLICE_SIGNAL);
	_Alignas(struct kvm_signal_mask) uint8_t km[sizeof(struct kvm_signal_mask) + 8];
	((struct kvm_signal_mask *)km)->len = 8;
	memcpy(km + sizeof(struct kvm_signal_mask), &old, 8); /* the kernel's sigset: glibc's first 64 bits */
	ioctl(v->fd, KVM_SET_SIGNAL_MASK, km);
	v->tid = (pid_t)syscall(SYS_gettid);
}

/* CPL and mode from the sync_regs copy of the segment registers (no ioctl). */
static void set_cpl_and_mode(const struct kvm_run *run, struct vm_exit *ex)
{
	if (!(run->kvm_valid_regs & KVM_SYNC_X86_SREGS))
		return;
	const struct kvm_sregs *s = &run->s.regs.sregs;
	ex->mode = (uint8_t)vcpu_mode_of(s);
	ex->cpl = ex->mode == VCPU_MODE_REAL ? 0 : s->ss.dpl;
}

static void decode_exit(struct vcpu *v, struct vm_exit *ex, uint64_t t_ns)
{
	struct kvm_run *run = v->run;
	*ex = (struct vm_exit){ .kvm_reason = run->exit_reason, .count = 1, .time_ns = t_ns };
	set_cpl_and_mode(run, ex);
	if (run->kvm_valid_regs & KVM_SYNC_X86_REGS)
		ex->rip = run->s.regs.regs.rip;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		ex->kind = VMEXIT_PIO;
		ex->addr = run->io.port;
		ex->size = run->io.size;
		ex->is_write = run->io.direction == KVM_EXIT_IO_OUT;
		ex->count = run->io.count;
		if (ex->is_write && ex->size <= 8) /* known before any handler runs: the recorder's fingerprint */
			memcpy(&ex->value, (uint8_t *)run + run->io.data_offset, ex->size);
		break;
	case KVM_EXIT_MMIO:
		ex->kind = VMEXIT_MMIO;
		ex->addr = run->mmio.phys_addr;
		ex->size = (uint8_t)run->mmio.len;
		ex->is_write = run->mmio.is_write;
		if (ex->is_write)
			memcpy(&ex->value, run->mmio.data, ex->size <= 8 ? ex->size : 8);
		break;
	case KVM_EXIT_HLT: ex->kind = VMEXIT_HLT; break;
	case KVM_EXIT_SHUTDOWN: ex->kind = VMEXIT_SHUTDOWN; break;
	case KVM_EXIT_DEBUG:
		ex->kind = VMEXIT_DEBUG;
		ex->value = run->debug.arch.exception;
		ex->addr = run->debug.arch.dr6; /* which breakpoint, or BS for a single step */
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		ex->kind = VMEXIT_EMULATION_FAIL;
		ex->value = run->internal.suberror;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		ex->kind = VMEXIT_FAIL_ENTRY;
		ex->value = run->fail_entry.hardware_entry_failure_reason;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		ex->kind = VMEXIT_SYSTEM_EVENT;
		ex->value = run->system_event.type;
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN: ex->kind = VMEXIT_IRQ_WINDOW; break;
	case KVM_EXIT_HYPERCALL:
		ex->kind = VMEXIT_HYPERCALL;
		ex->value = run->hypercall.nr;
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		ex->kind = VMEXIT_MSR;
		ex->addr = run->msr.index;
		ex->is_write = run->exit_reason == KVM_EXIT_X86_WRMSR;
		ex->value = run->msr.data;
		break;
	default: ex->kind = VMEXIT_OTHER; break;
	}
}

/* Parks the vCPU while the VM is paused or it is held. Returns false once the VM has ended. */
static bool park_while_paused(struct vcpu *v)
{
	struct vm *vm = v->vm;
	if (__atomic_load_n(&vm->pause_depth, __ATOMIC_ACQUIRE) == 0 && !__atomic_load_n(&v->held, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&v->unscheduled, __ATOMIC_ACQUIRE))
		return !vm_ended(vm);
	pthread_mutex_lock(&vm->lock);
	vm->nparked++;
	__atomic_store_n(&v->parked, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->cond);
	while ((vm->pause_depth > 0 || v->held || v->unscheduled) && !vm->ended)
		pthread_cond_wait(&vm->cond, &vm->lock);
	__atomic_store_n(&v->parked, false, __ATOMIC_RELEASE);
	vm->nparked--;
	bool go_on = !vm->ended;
	pthread_mutex_unlock(&vm->lock);
	return go_on;
}

static void account(struct vcpu *v, enum vmexit_kind kind, uint64_t ns)
{
	struct vcpu_stats *s = &v->stats;
	__atomic_store_n(&s->count[kind], s->count[kind] + 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->ns[kind], s->ns[kind] + ns, __ATOMIC_RELAXED);
	if (ns < s->min_ns[kind])
		__atomic_store_n(&s->min_ns[kind], ns, __ATOMIC_RELAXED);
	if (ns > s->max_ns[kind])
		__atomic_store_n(&s->max_ns[kind], ns, __ATOMIC_RELAXED);
	uint64_t *bucket = &s->hist[kind][lhist_bucket(ns)];
	__atomic_store_n(bucket, *bucket + 1, __ATOMIC_RELAXED);
}

void vcpu_run_loop(struct vcpu *v)
{
	struct vm *vm = v->vm;
	v->run->kvm_valid_regs = vm->sync_mask;
	v->running_thread = pthread_self();
	block_slice_signal(v);
	__atomic_store_n(&v->running, true, __ATOMIC_SEQ_CST);
	while (park_while_paused(v)) {
		struct vm_exit ex;
		int rc = ioctl(v->fd, KVM_RUN, 0);
		uint64_t t0 = now_ns();
		v->synced = true;
		if (rc == 0) {
			decode_exit(v, &ex, t0);
		} else if (errno == EINTR || errno == EAGAIN) {
			__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
			eat_slice_signal();
			decode_exit(v, &ex, t0);
			ex.kind = VMEXIT_KICK;
		} else {
			char why[128];
			snprintf(why, sizeof(why), "vCPU %u: KVM_RUN: %s", v->index, strerror(errno));
			vm_request_end(vm, VM_END_ERROR, 0, why);
			break;
		}
		const struct exit_handler *h = &vm->handlers[ex.kind];
		enum vmexit_action act = h->fn ? h->fn(v, &ex, h->opaque) : VMEXIT_RESUME;
		uint64_t dt = now_ns() - t0;
		account(v, ex.kind, dt);
		for (unsigned i = 0; i < vm->nhooks; i++)
			vm->hooks[i].fn(v, &ex, dt, vm->hooks[i].opaque);
		if (act == VMEXIT_STOP)
			break;
	}
	__atomic_store_n(&v->running, false, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&vm->lock);
	vm->nparked++; /* a vCPU that left its loop never runs again */
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

void *vcpu_thread_main(void *arg)
{
	vcpu_run_loop(arg);
	return NULL;
}
