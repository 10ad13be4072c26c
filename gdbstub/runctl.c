/* Run control for gdb: all-stop (a vCPU that hits something asks every vCPU to park), resuming
 * with per-vCPU actions, single steps, stepping over a breakpoint, and the two exit handlers
 * (debug exits, and the emulation failure this KVM gives for an int3 at CPL0). */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <unistd.h>

#include "base/pagewalk.h"
#include "gdbstub/stub_impl.h"

#define DR6_BS (1ull << 14)    /* single step */
#define DR6_HITS 0xfull        /* B0-B3 */
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define STEP_CONTROL (KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_BLOCKIRQ)

/* ---- guest-debug state --------------------------------------------------------------------- */

/* What every vCPU needs for the breakpoints in place: int3 interception, debug registers. */
static uint32_t breakpoint_control(const struct gdbstub *s)
{
	uint32_t c = 0;
	if (bp_any_sw(s))
		c |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;
	if (bp_any_hw(s))
		c |= KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	return c;
}

/* KVM_SET_GUEST_DEBUG for v unless KVM has exactly that already. Only for a parked vCPU or on the
 * vCPU's own thread. skip_mask leaves DR slots disarmed (a step over a hardware breakpoint). */
static int set_debug(struct gdbstub *s, struct stub_vcpu *v, uint32_t control, unsigned skip_mask)
{
	uint64_t db[8] = { 0 };
	if (control & KVM_GUESTDBG_USE_HW_BP) {
		for (int i = 0; i < STUB_HW_SLOTS; i++)
			if (s->hw[i].used && !(skip_mask & (1u << i)))
				db[i] = s->hw[i].addr;
		db[7] = bp_dr7(s, skip_mask);
	}
	if (v->dbg_known && v->dbg_control == control && memcmp(v->dbg_db, db, sizeof(db)) == 0)
		return 0;
	int rc = vcpu_set_guest_debug(v->vcpu, control, db);
	if (rc == -EINVAL && (control & KVM_GUESTDBG_BLOCKIRQ)) {
		/* KVM before 5.16 has no BLOCKIRQ: a step may then enter an interrupt handler. */
		control &= ~(uint32_t)KVM_GUESTDBG_BLOCKIRQ;
		rc = vcpu_set_guest_debug(v->vcpu, control, db);
	}
	if (rc == 0) {
		v->dbg_known = true;
		v->dbg_control = control;
		memcpy(v->dbg_db, db, sizeof(db));
	}
	return rc;
}

/* ---- stopping ------------------------------------------------------------------------------ */

/* On a vCPU thread, s->lock held: asks for an all-stop that reports ev, unless a stop is on its
 * way already (then this event is dropped: a breakpoint simply hits again after the resume).
 * The vCPU parks when its handler returns, because the VM is pausing. */
static enum vmexit_action request_stop(struct gdbstub *s, const struct stop_event *ev)
{
	if (s->running && !s->stop_requested) {
		s->stop_requested = true;
		s->stop = *ev;
		vm_pause_request(s->vm);
		uint64_t one = 1;
		if (write(s->event_fd, &one, sizeof(one)) < 0) {
			/* cannot fail short of a counter overflow */
		}
	}
	return VMEXIT_RESUME;
}

/* A step over a breakpoint did not finish (the VM stopped first): put the breakpoint back. */
static void undo_step_over(struct gdbstub *s, struct stub_vcpu *v)
{
	if (!v->step_over)
		return;
	if (v->step_over_sw >= 0)
		bp_plant_sw(s, v->step_over_sw);
	v->step_over = false;
	v->step_over_sw = v->step_over_hw = -1;
}

/* Stub thread, every vCPU parked: the stop is complete. */
static void finish_stop(struct gdbstub *s)
{
	pthread_mutex_lock(&s->lock);
	s->paused = true;
	s->running = false;
	for (unsigned i = 0; i < s->ncpus; i++) {
		struct stub_vcpu *v = &s->vcpus[i];
		undo_step_over(s, v);
		v->action = ACT_HOLD;
		v->st_valid = false;
		vcpu_hold(v->vcpu, false); /* they stay parked: the VM is paused */
	}
	/* gdb's current thread becomes the one that stopped. */
	s->g_thread = s->c_thread = (int)s->stop.vcpu + 1;
	pthread_mutex_unlock(&s->lock);
}

void runctl_stop_all(struct gdbstub *s, int signal, unsigned vcpu)
{
	pthread_mutex_lock(&s->lock);
	if (s->paused) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (!s->stop_requested) {
		s->stop_requested = true;
		s->stop = (struct stop_event){ vcpu, signal, STOP_SIGNAL, 0 };
		vm_pause_request(s->vm);
	}
	pthread_mutex_unlock(&s->lock);
	vm_pause_wait(s->vm); /* never with s->lock held: handlers need it to finish and park */
	finish_stop(s);
}

bool runctl_collect_stop(struct gdbstub *s)
{
	pthread_mutex_lock(&s->lock);
	bool pending = s->stop_requested && !s->paused;
	pthread_mutex_unlock(&s->lock);
	if (!pending)
		return false;
	vm_pause_wait(s->vm);
	finish_stop(s);
	return true;
}

/* ---- resuming ------------------------------------------------------------------------------ */

/* The vCPU that gdb was told stopped at a breakpoint, if it still sits on one we have in place
 * and gdb resumes it: it must execute that instruction once without the breakpoint. Others that
 * stopped on a breakpoint unreported simply hit it again, which gdb then hears about. */
static int step_over_candidate(struct gdbstub *s, const enum run_action *actions, int *sw, int *hw)
{
	const struct stop_event *ev = &s->stop;
	if ((ev->why != STOP_SWBREAK && ev->why != STOP_HWBREAK) || ev->vcpu >= s->ncpus ||
	    actions[ev->vcpu] == ACT_HOLD)
		return -1;
	struct stub_vcpu *v = &s->vcpus[ev->vcpu];
	struct kvm_regs r;
	struct paging_regs pr;
	enum vcpu_mode mode;
	if (vcpu_get_regs(v->vcpu, &r) < 0 || r.rip != ev->addr || runctl_paging(s, ev->vcpu, &pr, &mode) < 0)
		return -1;
	*sw = *hw = -1;
	struct pagewalk w;
	if (pagewalk_translate(vm_gmem(s->vm), &pr, r.rip, &w) == PAGEWALK_OK)
		*sw = bp_find_sw_gpa(s, w.gpa);
	*hw = bp_find_hw_exec(s, r.rip);
	return *sw >= 0 || *hw >= 0 ? (int)ev->vcpu : -1;
}

/* A vCPU that was never started (an AP waiting for its SIPI) cannot execute an instruction. */
static bool can_step(struct stub_vcpu *v)
{
	uint32_t mp;
	return vcpu_get_mp_state(v->vcpu, &mp) < 0 ||
	       (mp != KVM_MP_STATE_UNINITIALIZED && mp != KVM_MP_STATE_INIT_RECEIVED && mp != KVM_MP_STATE_SIPI_RECEIVED);
}

bool runctl_resume(struct gdbstub *s, const enum run_action *actions)
{
	pthread_mutex_lock(&s->lock);
	/* Stepping only vCPUs that cannot run, the others held: report the step at once rather than
	 * wait for a SIPI that no held vCPU can send. */
	bool any_runs = false;
	for (unsigned i = 0; i < s->ncpus; i++)
		if (actions[i] == ACT_CONTINUE || (actions[i] == ACT_STEP && can_step(&s->vcpus[i])))
			any_runs = true;
	if (!any_runs) {
		for (unsigned i = 0; i < s->ncpus; i++)
			if (actions[i] == ACT_STEP)
				s->stop = (struct stop_event){ i, GDB_SIGTRAP, STOP_SIGNAL, 0 };
		pthread_mutex_unlock(&s->lock);
		return false; /* still stopped: the caller reports s->stop at once */
	}

	watch_snapshot(s);
	uint32_t base = breakpoint_control(s);
	int over_sw = -1, over_hw = -1;
	int over = step_over_candidate(s, actions, &over_sw, &over_hw);
	for (unsigned i = 0; i < s->ncpus; i++) {
		struct stub_vcpu *v = &s->vcpus[i];
		v->action = actions[i];
		v->watch_step = s->step_watch_active && actions[i] == ACT_CONTINUE;
		v->run_control = actions[i] == ACT_STEP ? base | STEP_CONTROL
				 : v->watch_step ? base | KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP
						 : base;
		v->step_over = false;
		v->step_over_sw = v->step_over_hw = -1;
		v->nacc = 0;
		if (s->step_watch_active && actions[i] != ACT_HOLD)
			watch_decode_next(s, v); /* which memory the next instruction touches */
		if ((int)i != over)
			set_debug(s, v, v->run_control, 0);
		v->st_valid = false;
	}
	if (over >= 0) {
		/* One instruction with the breakpoint lifted and interrupts blocked, the others held;
		 * the debug handler puts it back and lets the others go (finish_step_over). */
		struct stub_vcpu *v = &s->vcpus[over];
		v->step_over = true;
		v->step_over_sw = over_sw;
		v->step_over_hw = over_hw;
		if (over_sw >= 0)
			bp_lift_sw(s, over_sw);
		set_debug(s, v, base | STEP_CONTROL, over_hw >= 0 ? 1u << over_hw : 0);
	}
	for (unsigned i = 0; i < s->ncpus; i++)
		vcpu_hold(s->vcpus[i].vcpu, actions[i] == ACT_HOLD || (over >= 0 && (int)i != over));
	s->running = true;
	s->stop_requested = false;
	s->paused = false;
	pthread_mutex_unlock(&s->lock);
	vm_resume_all(s->vm);
	return true;
}

void runctl_release(struct gdbstub *s)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->ncpus; i++)
		undo_step_over(s, &s->vcpus[i]);
	bp_remove_all(s);
	watch_remove_all(s);
	for (unsigned i = 0; i < s->ncpus; i++) {
		struct stub_vcpu *v = &s->vcpus[i];
		set_debug(s, v, 0, 0);
		v->action = ACT_CONTINUE;
		v->watch_step = false;
		v->st_valid = false;
		vcpu_hold(v->vcpu, false);
	}
	s->attached = false;
	s->running = false;
	s->stop_requested = false;
	bool was_paused = s->paused;
	s->paused = false;
	pthread_mutex_unlock(&s->lock);
	if (was_paused)
		vm_resume_all(s->vm);
}

/* ---- registers ----------------------------------------------------------------------------- */

struct gdb_cpu_state *runctl_cpu_state(struct gdbstub *s, unsigned i)
{
	struct stub_vcpu *v = &s->vcpus[i];
	if (v->st_valid)
		return &v->st;
	memset(&v->st, 0, sizeof(v->st));
	if (vcpu_get_regs(v->vcpu, &v->st.regs) < 0 || vcpu_get_sregs(v->vcpu, &v->st.sregs) < 0)
		return NULL;
	vcpu_get_fpu(v->vcpu, &v->st.fpu); /* zeroes if KVM refuses; gdb still gets the rest */
	if (vcpu_get_msr(v->vcpu, MSR_KERNEL_GS_BASE, &v->st.k_gs_base) < 0)
		v->st.k_gs_base = 0;
	v->st_valid = true;
	return &v->st;
}

int runctl_write_back(struct gdbstub *s, unsigned i, unsigned dirty)
{
	struct stub_vcpu *v = &s->vcpus[i];
	int rc = 0;
	if ((dirty & GDB_DIRTY_REGS) && rc == 0)
		rc = vcpu_set_regs(v->vcpu, &v->st.regs);
	if ((dirty & GDB_DIRTY_SREGS) && rc == 0)
		rc = vcpu_set_sregs(v->vcpu, &v->st.sregs);
	if ((dirty & GDB_DIRTY_FPU) && rc == 0)
		rc = vcpu_set_fpu(v->vcpu, &v->st.fpu);
	if ((dirty & GDB_DIRTY_KGSBASE) && rc == 0)
		rc = vcpu_set_msr(v->vcpu, MSR_KERNEL_GS_BASE, v->st.k_gs_base);
	v->st_valid = false; /* read back what KVM made of it */
	return rc;
}

int runctl_paging(struct gdbstub *s, unsigned i, struct paging_regs *pr, enum vcpu_mode *mode)
{
	return vcpu_get_paging(s->vcpus[i].vcpu, pr, mode);
}

/* ---- exit handlers (vCPU threads) ---------------------------------------------------------- */

/* The linear address of RIP and the guest-physical byte it translates to. */
static bool rip_gpa(struct vcpu *vcpu, uint64_t rip, uint64_t *lin, uint64_t *gpa)
{
	struct kvm_sregs sr;
	if (vcpu_get_sregs(vcpu, &sr) < 0)
		return false;
	enum vcpu_mode mode = vcpu_mode_of(&sr);
	*lin = mode == VCPU_MODE_LONG64 ? rip : (sr.cs.base + rip) & 0xffffffff;
	struct paging_regs pr = { .cr0 = sr.cr0, .cr3 = sr.cr3, .cr4 = sr.cr4, .efer = sr.efer };
	struct pagewalk w;
	if (pagewalk_translate(vm_gmem(vcpu_vm(vcpu)), &pr, *lin, &w) != PAGEWALK_OK)
		return false;
	*gpa = w.gpa;
	return true;
}

/* Is the int3 at rip one we planted? */
static bool our_int3(struct gdbstub *s, struct vcpu *vcpu, uint64_t rip, uint64_t *lin)
{
	uint64_t gpa;
	if (!rip_gpa(vcpu, rip, lin, &gpa))
		return false;
	int i = bp_find_sw_gpa(s, gpa);
	return i >= 0 && !s->sw[i].lifted;
}

/* A debug event gdb did not cause (the guest's own int3 or debug trap): give it to the guest, as
 * the CPU would have without us. */
static enum vmexit_action reinject(struct vcpu *vcpu, unsigned vector)
{
	struct kvm_vcpu_events ev;
	if (vcpu_get_events(vcpu, &ev) < 0)
		return VMEXIT_RESUME;
	ev.exception.injected = 1;
	ev.exception.nr = (uint8_t)vector;
	ev.exception.has_error_code = 0;
	vcpu_set_events(vcpu, &ev);
	return VMEXIT_RESUME;
}

/* The single step over a breakpoint is done: plant it again and let everyone run as asked. */
static void finish_step_over(struct gdbstub *s, struct stub_vcpu *v)
{
	if (v->step_over_sw >= 0)
		bp_plant_sw(s, v->step_over_sw);
	v->step_over = false;
	v->step_over_sw = v->step_over_hw = -1;
	set_debug(s, v, v->run_control, 0);
	if (v->action == ACT_CONTINUE && !s->stop_requested)
		for (unsigned i = 0; i < s->ncpus; i++)
			if (i != v->index && s->vcpus[i].action != ACT_HOLD)
				vcpu_hold(s->vcpus[i].vcpu, false);
}

static enum vmexit_action debug_event(struct gdbstub *s, struct stub_vcpu *v, struct vm_exit *ex)
{
	const struct kvm_debug_exit_arch *d = &vcpu_run_page(v->vcpu)->debug.arch;
	struct stop_event ev = { v->index, GDB_SIGTRAP, STOP_SIGNAL, 0 };
	uint64_t lin;

	if (ex->value == 3) { /* #BP intercepted (hardware KVM): RIP is on the int3 */
		if (our_int3(s, v->vcpu, ex->rip, &lin)) {
			ev.why = STOP_SWBREAK;
			ev.addr = ex->rip;
			return request_stop(s, &ev);
		}
		return reinject(v->vcpu, 3);
	}

	bool stepped = (d->dr6 & DR6_BS) != 0;
	if (v->step_over && stepped)
		finish_step_over(s, v);

	/* Debug-register hits: an execute breakpoint (before the instruction) or a data one. */
	uint64_t hits = d->dr6 & DR6_HITS;
	if (hits) {
		uint64_t dummy;
		rip_gpa(v->vcpu, ex->rip, &lin, &dummy);
		int slot = bp_find_hw_exec(s, lin);
		if (slot >= 0 && (hits & (1ull << slot))) {
			ev.why = STOP_HWBREAK;
			ev.addr = ex->rip;
			return request_stop(s, &ev);
		}
		if (watch_from_dr6(s, hits, &ev))
			return request_stop(s, &ev);
	}
	if (!stepped)
		return hits ? VMEXIT_RESUME : reinject(v->vcpu, 1);

	if (s->step_watch_active && v->action != ACT_HOLD && watch_check_step(s, v, &ev))
		return request_stop(s, &ev);
	if (v->action == ACT_STEP)
		return request_stop(s, &ev);
	if (v->watch_step)
		watch_decode_next(s, v);
	return VMEXIT_RESUME;
}

static enum vmexit_action on_debug(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct gdbstub *s = opaque;
	struct stub_vcpu *v = &s->vcpus[vcpu_index(vcpu)];
	pthread_mutex_lock(&s->lock);
	if (!s->attached || !v->dbg_known || !v->dbg_control) {
		pthread_mutex_unlock(&s->lock);
		return s->prev_debug ? s->prev_debug(vcpu, ex, s->prev_debug_opaque) : vm_default_exit_handler(vcpu, ex);
	}
	enum vmexit_action act = debug_event(s, v, ex);
	pthread_mutex_unlock(&s->lock);
	return act;
}

/* This KVM cannot emulate int3 at CPL0: our breakpoints arrive as emulation failures with RIP on
 * the 0xcc. Anything else goes to the handler that was there before us. */
static enum vmexit_action on_emulation_fail(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct gdbstub *s = opaque;
	pthread_mutex_lock(&s->lock);
	uint64_t lin;
	if (s->attached && ex->value == KVM_INTERNAL_ERROR_EMULATION && our_int3(s, vcpu, ex->rip, &lin)) {
		struct stop_event ev = { vcpu_index(vcpu), GDB_SIGTRAP, STOP_SWBREAK, ex->rip };
		enum vmexit_action act = request_stop(s, &ev);
		pthread_mutex_unlock(&s->lock);
		return act;
	}
	pthread_mutex_unlock(&s->lock);
	return s->prev_emul ? s->prev_emul(vcpu, ex, s->prev_emul_opaque) : vm_default_exit_handler(vcpu, ex);
}

bool gdbstub_stop_on_fault(struct gdbstub *s, struct vcpu *vcpu, int signal)
{
	if (!s)
		return false;
	pthread_mutex_lock(&s->lock);
	bool attached = s->attached;
	if (attached) {
		struct stop_event ev = { vcpu_index(vcpu), signal, STOP_SIGNAL, 0 };
		request_stop(s, &ev);
	}
	pthread_mutex_unlock(&s->lock);
	return attached;
}

int runctl_install(struct gdbstub *s)
{
	vm_get_exit_handler(s->vm, VMEXIT_DEBUG, &s->prev_debug, &s->prev_debug_opaque);
	vm_get_exit_handler(s->vm, VMEXIT_EMULATION_FAIL, &s->prev_emul, &s->prev_emul_opaque);
	vm_set_exit_handler(s->vm, VMEXIT_DEBUG, on_debug, s);
	vm_set_exit_handler(s->vm, VMEXIT_EMULATION_FAIL, on_emulation_fail, s);
	return 0;
}

void runctl_uninstall(struct gdbstub *s)
{
	vm_set_exit_handler(s->vm, VMEXIT_DEBUG, s->prev_debug, s->prev_debug_opaque);
	vm_set_exit_handler(s->vm, VMEXIT_EMULATION_FAIL, s->prev_emul, s->prev_emul_opaque);
}
