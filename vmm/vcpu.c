/* vCPU creation, register access through sync_regs (one ioctl less per exit, which matters at
 * ~5 µs per vCPU ioctl here) and the boot state a loader asks for. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/vmm_impl.h"

struct vcpu *vcpu_create(struct vm *vm, unsigned index, struct errmsg *e)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	if (!v) {
		errmsg_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	v->vm = vm;
	v->index = index;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		errmsg_set(e, errno, "KVM_CREATE_VCPU %u: %s", index, strerror(errno));
		free(v);
		return NULL;
	}
	int size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0) {
		errmsg_set(e, errno, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto fail;
	}
	v->run_size = (size_t)size;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		errmsg_set(e, errno, "mmap of kvm_run for vCPU %u: %s", index, strerror(errno));
		goto fail;
	}
	if (cpuid_set_for_vcpu(vm->cpuid, v->fd, index, e) < 0)
		goto fail;
	for (unsigned k = 0; k < VMEXIT__COUNT; k++)
		v->stats.min_ns[k] = UINT64_MAX;
	vcpu_kvm_stats_load(v);
	return v;
fail:
	vcpu_destroy(v);
	return NULL;
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	vcpu_kvm_stats_free(v);
	if (v->slice_timer_made)
		timer_delete(v->slice_timer);
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
}

unsigned vcpu_index(const struct vcpu *v) { return v->index; }
bool vcpu_parked(const struct vcpu *v) { return __atomic_load_n(&v->parked, __ATOMIC_ACQUIRE); }
struct vm *vcpu_vm(struct vcpu *v) { return v->vm; }
int vcpu_fd(const struct vcpu *v) { return v->fd; }
struct kvm_run *vcpu_run_page(struct vcpu *v) { return v->run; }

/* The sync_regs copy in kvm_run is current once KVM_RUN has returned at least once with the
 * bit asked for; before that (boot state) the ioctls are the only source. */
static bool synced(const struct vcpu *v, uint64_t bit)
{
	return v->synced && (v->run->kvm_valid_regs & bit);
}

int vcpu_get_regs(struct vcpu *v, struct kvm_regs *regs)
{
	if (synced(v, KVM_SYNC_X86_REGS)) {
		*regs = v->run->s.regs.regs;
		return 0;
	}
	return ioctl(v->fd, KVM_GET_REGS, regs) < 0 ? -errno : 0;
}

int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *regs)
{
	if (synced(v, KVM_SYNC_X86_REGS)) {
		v->run->s.regs.regs = *regs;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		return 0;
	}
	return ioctl(v->fd, KVM_SET_REGS, regs) < 0 ? -errno : 0;
}

int vcpu_get_sregs(struct vcpu *v, struct kvm_sregs *sregs)
{
	if (synced(v, KVM_SYNC_X86_SREGS)) {
		*sregs = v->run->s.regs.sregs;
		return 0;
	}
	return ioctl(v->fd, KVM_GET_SREGS, sregs) < 0 ? -errno : 0;
}

int vcpu_set_sregs(struct vcpu *v, const struct kvm_sregs *sregs)
{
	if (synced(v, KVM_SYNC_X86_SREGS)) {
		v->run->s.regs.sregs = *sregs;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
		return 0;
	}
	return ioctl(v->fd, KVM_SET_SREGS, sregs) < 0 ? -errno : 0;
}

/* Registers written through sync_regs reach KVM only at the next KVM_RUN. An ioctl that works
 * from the current registers (KVM_SET_GUEST_DEBUG takes RIP and RFLAGS for its single-step
 * bookkeeping) must see them before: write the dirty parts now. */
static int flush_dirty_regs(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	if ((run->kvm_dirty_regs & KVM_SYNC_X86_REGS) && ioctl(v->fd, KVM_SET_REGS, &run->s.regs.regs) < 0)
		return -errno;
	if ((run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) && ioctl(v->fd, KVM_SET_SREGS, &run->s.regs.sregs) < 0)
		return -errno;
	if ((run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS) && ioctl(v->fd, KVM_SET_VCPU_EVENTS, &run->s.regs.events) < 0)
		return -errno;
	run->kvm_dirty_regs = 0;
	return 0;
}

int vcpu_flush_tlb(struct vcpu *v)
{
	struct kvm_sregs s;
	int rc = flush_dirty_regs(v);
	if (rc == 0)
		rc = ioctl(v->fd, KVM_GET_SREGS, &s) < 0 ? -errno : 0;
	if (rc < 0)
		return rc;
	/* A CR4.PGE change flushes the whole TLB, global pages included (SDM 4.10.4.1). */
	s.cr4 ^= 1u << 7;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	s.cr4 ^= 1u << 7;
	return ioctl(v->fd, KVM_SET_SREGS, &s) < 0 ? -errno : 0;
}

int vcpu_get_fpu(struct vcpu *v, struct kvm_fpu *fpu)
{
	return ioctl(v->fd, KVM_GET_FPU, fpu) < 0 ? -errno : 0;
}

int vcpu_set_fpu(struct vcpu *v, const struct kvm_fpu *fpu)
{
	return ioctl(v->fd, KVM_SET_FPU, fpu) < 0 ? -errno : 0;
}

int vcpu_get_xcrs(struct vcpu *v, struct kvm_xcrs *xcrs)
{
	return ioctl(v->fd, KVM_GET_XCRS, xcrs) < 0 ? -errno : 0;
}

int vcpu_set_xcrs(struct vcpu *v, const struct kvm_xcrs *xcrs)
{
	return ioctl(v->fd, KVM_SET_XCRS, xcrs) < 0 ? -errno : 0;
}

int vcpu_get_xsave(struct vcpu *v, struct kvm_xsave *xsave)
{
	return ioctl(v->fd, KVM_GET_XSAVE, xsave) < 0 ? -errno : 0;
}

int vcpu_set_xsave(struct vcpu *v, const struct kvm_xsave *xsave)
{
	return ioctl(v->fd, KVM_SET_XSAVE, xsave) < 0 ? -errno : 0;
}

/* struct kvm_msrs ends in a flexible array: one entry's room, in standard C. */
union one_msr {
	struct kvm_msrs msrs;
	uint8_t room[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
};

int vcpu_get_msr(struct vcpu *v, uint32_t index, uint64_t *value)
{
	union one_msr m;
	memset(&m, 0, sizeof(m));
	m.msrs.nmsrs = 1;
	m.msrs.entries[0].index = index;
	int n = ioctl(v->fd, KVM_GET_MSRS, &m.msrs);
	if (n < 0)
		return -errno;
	if (n != 1)
		return -EINVAL; /* KVM does not know this MSR */
	*value = m.msrs.entries[0].data;
	return 0;
}

int vcpu_set_msr(struct vcpu *v, uint32_t index, uint64_t value)
{
	union one_msr m;
	memset(&m, 0, sizeof(m));
	m.msrs.nmsrs = 1;
	m.msrs.entries[0].index = index;
	m.msrs.entries[0].data = value;
	int n = ioctl(v->fd, KVM_SET_MSRS, &m.msrs);
	return n < 0 ? -errno : n != 1 ? -EINVAL : 0;
}

static int apply_guest_debug(struct vcpu *v)
{
	int rc = flush_dirty_regs(v);
	if (rc < 0)
		return rc;
	struct kvm_guest_debug dbg = { .control = v->dbg_control };
	if (v->dbg_hide_step)
		dbg.control &= ~(uint32_t)(KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_BLOCKIRQ);
	memcpy(dbg.arch.debugreg, v->dbg_db, sizeof(dbg.arch.debugreg));
	if (v->dbg_extra_step)
		dbg.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	if (v->dbg_extra_bp) {
		/* DR3, execute, global enable (G3); the debugger keeps DR0-DR2. */
		dbg.control |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
		dbg.arch.debugreg[3] = v->dbg_extra_bp;
		dbg.arch.debugreg[7] = (dbg.arch.debugreg[7] & ~(0xfull << 28)) | (1ull << 7) | (1ull << 10);
	}
	return ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0 ? -errno : 0;
}

int vcpu_set_guest_debug(struct vcpu *v, uint32_t control, const uint64_t db[8])
{
	v->dbg_control = control;
	if (db)
		memcpy(v->dbg_db, db, sizeof(v->dbg_db));
	else
		memset(v->dbg_db, 0, sizeof(v->dbg_db));
	return apply_guest_debug(v);
}

uint32_t vcpu_guest_debug_control(const struct vcpu *v)
{
	return v->dbg_control;
}

int vcpu_recheck_interrupts(struct vcpu *v)
{
	struct kvm_vcpu_events ev;
	int rc = vcpu_get_events(v, &ev);
	return rc < 0 ? rc : vcpu_set_events(v, &ev);
}

int vcpu_replay_debug(struct vcpu *v, bool step, uint64_t bp, bool hide_debugger_step)
{
	if (v->dbg_extra_step == step && v->dbg_extra_bp == bp && v->dbg_hide_step == hide_debugger_step)
		return 0;
	v->dbg_extra_step = step;
	v->dbg_extra_bp = bp;
	v->dbg_hide_step = hide_debugger_step;
	return apply_guest_debug(v);
}

int vcpu_arm_slice(struct vcpu *v, uint64_t ns)
{
	if (!v->slice_timer_made) {
		struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = VCPU_SLICE_SIGNAL };
		sev._sigev_un._tid = v->tid;
		if (!v->tid || timer_create(CLOCK_MONOTONIC, &sev, &v->slice_timer) < 0)
			return -errno ? -errno : -ESRCH;
		v->slice_timer_made = true;
	}
	struct itimerspec its = { .it_value = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) } };
	return timer_settime(v->slice_timer, 0, &its, NULL) < 0 ? -errno : 0;
}

int vcpu_get_events(struct vcpu *v, struct kvm_vcpu_events *ev)
{
	if (synced(v, KVM_SYNC_X86_EVENTS)) {
		*ev = v->run->s.regs.events;
		return 0;
	}
	return ioctl(v->fd, KVM_GET_VCPU_EVENTS, ev) < 0 ? -errno : 0;
}

int vcpu_set_events(struct vcpu *v, const struct kvm_vcpu_events *ev)
{
	if (synced(v, KVM_SYNC_X86_EVENTS)) {
		v->run->s.regs.events = *ev;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
		return 0;
	}
	return ioctl(v->fd, KVM_SET_VCPU_EVENTS, ev) < 0 ? -errno : 0;
}

int vcpu_get_mp_state(struct vcpu *v, uint32_t *state)
{
	struct kvm_mp_state mp;
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) < 0)
		return -errno;
	*state = mp.mp_state;
	return 0;
}

enum vcpu_mode vcpu_mode_of(const struct kvm_sregs *s)
{
	if (!(s->cr0 & 1))
		return VCPU_MODE_REAL;
	if ((s->efer & (1u << 10)) && s->cs.l) /* EFER.LMA and a 64-bit code segment */
		return VCPU_MODE_LONG64;
	return s->cs.db ? VCPU_MODE_PROT32 : VCPU_MODE_PROT16;
}

int vcpu_get_paging(struct vcpu *v, struct paging_regs *pr, enum vcpu_mode *mode)
{
	struct kvm_sregs s;
	int rc = vcpu_get_sregs(v, &s);
	if (rc < 0)
		return rc;
	*pr = (struct paging_regs){ .cr0 = s.cr0, .cr3 = s.cr3, .cr4 = s.cr4, .efer = s.efer };
	if (mode)
		*mode = vcpu_mode_of(&s);
	return 0;
}

static void to_kvm_segment(struct kvm_segment *k, const struct boot_segment *b)
{
	*k = (struct kvm_segment){
		.base = b->base, .limit = b->limit, .selector = b->selector, .type = b->type,
		.present = b->present, .dpl = b->dpl, .db = b->db, .s = b->s, .l = b->l, .g = b->g,
	};
}

int vcpu_apply_boot_state(struct vcpu *v, const struct boot_state *bs, struct errmsg *e)
{
	struct kvm_sregs sregs;
	int rc = vcpu_get_sregs(v, &sregs);
	if (rc < 0)
		return errmsg_set(e, rc, "vCPU %u: KVM_GET_SREGS: %s", v->index, strerror(-rc));
	to_kvm_segment(&sregs.cs, &bs->cs);
	to_kvm_segment(&sregs.ds, &bs->ds);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = bs->gdt_base;
	sregs.gdt.limit = bs->gdt_limit;
	sregs.cr0 = bs->cr0;
	sregs.cr3 = bs->cr3;
	sregs.cr4 = bs->cr4;
	sregs.efer = bs->efer;
	rc = vcpu_set_sregs(v, &sregs);
	if (rc < 0)
		return errmsg_set(e, rc, "vCPU %u: KVM_SET_SREGS: %s", v->index, strerror(-rc));
	struct kvm_regs regs = {
		.rip = bs->rip, .rsp = bs->rsp, .rflags = bs->rflags ? bs->rflags : 0x2,
		.rax = bs->rax, .rbx = bs->rbx, .rsi = bs->rsi,
	};
	rc = vcpu_set_regs(v, &regs);
	if (rc < 0)
		return errmsg_set(e, rc, "vCPU %u: KVM_SET_REGS: %s", v->index, strerror(-rc));
	return 0;
}

void vcpu_read_stats(const struct vcpu *v, struct vcpu_stats *out)
{
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		out->count[k] = __atomic_load_n(&v->stats.count[k], __ATOMIC_RELAXED);
		out->ns[k] = __atomic_load_n(&v->stats.ns[k], __ATOMIC_RELAXED);
		out->min_ns[k] = __atomic_load_n(&v->stats.min_ns[k], __ATOMIC_RELAXED);
		out->max_ns[k] = __atomic_load_n(&v->stats.max_ns[k], __ATOMIC_RELAXED);
		for (unsigned b = 0; b < LHIST_BUCKETS; b++)
			out->hist[k][b] = __atomic_load_n(&v->stats.hist[k][b], __ATOMIC_RELAXED);
	}
}
