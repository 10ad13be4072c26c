/* Stopping the guest at a recorded point between exits: the instruction count (KVM's
 * insn_emulation on this platform), RIP and registers of the recording. Far from it the guest
 * runs in time slices sized from the fastest rate seen so far, so a slice never passes the point;
 * near it, an execute breakpoint on the recorded RIP (DR3) stops the guest each time it gets
 * there, until the count matches. See ../shared/PLATFORM.md for the counter and breakpoints. */
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <string.h>
#include <time.h>

#include "replay/exit_fp.h"
#include "replay/replayer_impl.h"
#include "vmm/kvm_stats.h"
#include "vmm/vcpu.h"

#define SLICE_MIN_NS 10000ull
#define SLICE_MAX_NS 20000000ull
#define CHECK_NS 2000000ull       /* while waiting at the breakpoint: look every 2 ms (a halted guest) */
#define SLICE_SAFETY_NS 80000.0   /* the shortest slice that can be relied on, with margin */
#define BREAK_WINDOW_MIN 512      /* instructions: always use the breakpoint this close */
#define IDLE_MAX 2000             /* kicks in a row without progress: the guest went elsewhere */
#define RFLAGS_RF 0x10000ull

/* The vCPU thread's CPU time: the guest runs only while it does, so a rate measured against it is
 * not lowered by a loaded host taking the CPU away mid-slice (a lower rate estimate would size the
 * next slices too long and run past the point). */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int replay_approach_init(struct replayer *r, struct errmsg *e)
{
	uint64_t n;
	if (vcpu_insn_count(vm_vcpu(r->cfg.vm, 0), &n) < 0)
		return errmsg_set(e, ENOTSUP, "replay: this KVM has no instruction counter (insn_emulation)");
	return 0;
}

static void set_mode(struct replayer *r, struct vcpu *vcpu, enum approach_mode mode)
{
	r->mode = mode;
	replay_update_debug(r, vcpu);
}

void replay_approach_start(struct replayer *r, struct vcpu *vcpu)
{
	struct rlog_event ev;
	struct errmsg e = { "" };
	if (rlog_peek(r->log, &ev, &e) != 1 || ev.type != RLOG_ASYNC || ev.len < sizeof(r->target))
		return;
	memcpy(&r->target, ev.data, sizeof(r->target));
	r->approaching = true;
	r->idle = 0;
	r->last_insn = 0;
	r->last_ns = 0;
	/* Decide at a kick, not here: an exit's port read or MMIO completes only when KVM_RUN is
	 * entered again, and the recorded point was seen after that. The kick re-enters and returns. */
	vm_kick_vcpu(r->cfg.vm, vcpu_index(vcpu));
}

void replay_approach_cancel(struct replayer *r, struct vcpu *vcpu)
{
	if (r->mode != AP_NONE)
		set_mode(r, vcpu, AP_NONE);
	r->approaching = false;
}

/* Standing exactly on the point: deliver what the recording delivered there. */
static enum vmexit_action arrive(struct replayer *r, struct vcpu *vcpu, struct kvm_regs *regs, enum vmexit_action act)
{
	struct rlog_event ev;
	struct errmsg e = { "" };
	replay_approach_cancel(r, vcpu);
	/* A breakpoint stop may leave RF set; the recording's kick left the flags as they were. TF
	 * is KVM's own while a debugger steps (it hides and restores it): left alone. */
	if ((regs->rflags & RFLAGS_RF) && !(vcpu_guest_debug_control(vcpu) & KVM_GUESTDBG_SINGLESTEP)) {
		regs->rflags &= ~RFLAGS_RF;
		vcpu_set_regs(vcpu, regs);
	}
	rlog_next(r->log, &ev, &e); /* the async event itself, peeked when the approach began */
	r->last_seq = ev.seq;
	r->async_points++;
	if (r->target.flags & RLOG_ASYNC_SWITCH) {
		replay_switch(r, vcpu, (r->target.flags >> 8) & 0xff);
		return act;
	}
	return replay_after_exit(r, vcpu, act);
}

/* A sample counts only when the slice ended about when it was meant to: one that spans a stop in
 * the debugger would understate the rate, and slices sized from it would run past the point. */
static void learn_rate(struct replayer *r, uint64_t insn, uint64_t now)
{
	if (r->last_ns && insn > r->last_insn && now > r->last_ns && now - r->last_ns < 4 * r->slice_ns + SLICE_MIN_NS) {
		double rate = (double)(insn - r->last_insn) / (double)(now - r->last_ns);
		if (!r->rate_measured || rate > r->rate)
			r->rate = rate;
		r->rate_measured = true;
	}
	r->last_insn = insn;
	r->last_ns = now;
}

/* Far: a slice that covers at most an eighth of the way at the fastest rate seen, and at most
 * twice as long as the last one: short slices lose a larger share to entering and leaving the
 * guest, so a rate learnt on them understates what a longer slice runs. */
static void slice(struct replayer *r, struct vcpu *vcpu, uint64_t left, uint64_t window)
{
	set_mode(r, vcpu, AP_SLICE);
	/* Before any progress was measured, slices grow from the shortest (one may end before the
	 * guest ran at all). */
	uint64_t ns = r->rate_measured ? (uint64_t)((double)(left - window / 2) / r->rate / 8.0)
				       : r->slice_ns ? 2 * r->slice_ns : SLICE_MIN_NS;
	if (r->slice_ns && ns > 2 * r->slice_ns)
		ns = 2 * r->slice_ns;
	ns = ns < SLICE_MIN_NS ? SLICE_MIN_NS : ns > SLICE_MAX_NS ? SLICE_MAX_NS : ns;
	r->slice_ns = ns;
	r->slices++;
	vcpu_arm_slice(vcpu, ns);
}

enum vmexit_action replay_approach_continue(struct replayer *r, struct vcpu *vcpu, bool at_breakpoint,
					    enum vmexit_action act)
{
	uint64_t insn;
	struct kvm_regs regs;
	if (vcpu_insn_count(vcpu, &insn) < 0 || vcpu_get_regs(vcpu, &regs) < 0) {
		replay_diverged(r, vcpu, "cannot read the instruction count or registers");
		return replay_diverged_action(r);
	}
	const struct rlog_async *t = &r->target;
	r->expected_rip = t->rip;
	uint64_t target = t->insn + (uint64_t)r->insn_offset[r->owner];
	if (insn == target && regs.rip == t->rip && regs_fingerprint(&regs) == t->regs_hash)
		return arrive(r, vcpu, &regs, act);
	if (insn > target) {
		replay_diverged(r, vcpu, "ran past the recorded stop: instruction %" PRIu64 " of %" PRIu64 " (rip 0x%llx)",
				insn, target, regs.rip);
		return replay_diverged_action(r);
	}
	r->idle = insn == r->last_insn ? r->idle + 1 : 0;
	if (r->idle > IDLE_MAX) {
		replay_diverged(r, vcpu, "the guest stays at instruction %" PRIu64 " (rip 0x%llx, regs %08x); recorded stop at %" PRIu64
				" rip 0x%" PRIx64 " regs %08x", insn, regs.rip, regs_fingerprint(&regs), target, t->rip, t->regs_hash);
		return replay_diverged_action(r);
	}
	uint64_t now = thread_cpu_ns(), left = target > insn ? target - insn : 0;
	/* While the debugger single-steps, the guest crawls and then may race when it lets go: no
	 * slices then, the breakpoint on the recorded RIP finds the point at any distance. */
	bool debugger_steps = vcpu_guest_debug_control(vcpu) & KVM_GUESTDBG_SINGLESTEP;
	if ((r->mode == AP_SLICE || r->mode == AP_NONE) && !debugger_steps)
		learn_rate(r, insn, now);
	else {
		r->last_insn = insn;
		r->last_ns = now;
	}
	uint64_t window = (uint64_t)(r->rate * SLICE_SAFETY_NS);
	window = window < BREAK_WINDOW_MIN ? BREAK_WINDOW_MIN : window;
	if (left > window && !debugger_steps) {
		slice(r, vcpu, left, window);
		return act;
	}
	/* Near: stopped on the breakpoint too early, so step over the instruction and arm it again. */
	if (at_breakpoint && regs.rip == t->rip) {
		set_mode(r, vcpu, AP_STEP_OVER);
		return act;
	}
	set_mode(r, vcpu, AP_BREAK);
	vcpu_arm_slice(vcpu, CHECK_NS);
	return act;
}
