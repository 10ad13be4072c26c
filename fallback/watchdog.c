/* The watchdog: every tick it reads each vCPU's progress counters (no ioctl), and only when one
 * stands still pauses the VM to look at it: answer a hypercall live-lock, or stop a hung VM. */
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/pagewalk.h"
#include "fallback/fallback_impl.h"
#include "fallback/hypercall.h"
#include "trace/oops.h"
#include "vmm/kvm_stats.h"
#include "vmm/vcpu.h"

/* ---- the judgement (pure) ----------------------------------------------------------------- */

static void begin_quiet(struct wd_vcpu *w, uint64_t now_ns)
{
	w->quiet = true;
	w->quiet_since_ns = now_ns;
	w->quiet_kvm_exits = w->last.kvm_exits;
	w->have_snapshot = false;
}

bool wd_tick(struct wd_vcpu *w, const struct wd_counters *c, uint64_t now_ns, uint64_t limit_ns, bool watch_hypercalls)
{
	w->why = WD_LOOK_NONE;
	if (!w->have_last) {
		w->last = *c;
		w->have_last = true;
		return false;
	}
	bool exits = c->exits != w->last.exits;
	bool insns = c->have_insns && c->insns != w->last.insns;
	w->last = *c;
	/* A vCPU that never ran (before vm_start, an AP never started) has every counter at 0:
	 * nothing to judge, and no pause before vm_start. */
	if (c->exits || c->insns || c->kvm_exits)
		w->started = true;
	if (!w->started)
		return false;
	if (exits) {
		w->quiet = false;
		w->have_hc = false;
		return false;
	}
	if (insns) {
		/* CPL0 code runs without ever exiting: a vmcall live-lock looks exactly like this
		 * (KVM re-emulates it forever). It is progress by the counters all the same. */
		w->quiet = false;
		w->why = watch_hypercalls ? WD_LOOK_HYPERCALL : WD_LOOK_NONE;
		return w->why != WD_LOOK_NONE;
	}
	if (!w->quiet) {
		begin_quiet(w, now_ns);
		/* Registers now, to tell ring-3 code that computes (runs natively, no counter moves)
		 * from a vCPU that is stuck. */
		w->why = limit_ns ? WD_LOOK_SNAPSHOT : WD_LOOK_NONE;
		return w->why != WD_LOOK_NONE;
	}
	if (limit_ns && now_ns - w->quiet_since_ns >= limit_ns) {
		w->kvm_exits_moved = !c->have_kvm_exits || c->kvm_exits != w->quiet_kvm_exits;
		w->why = WD_LOOK_JUDGE;
		return true;
	}
	return false;
}

enum wd_verdict wd_judge(struct wd_vcpu *w, const struct wd_look *look, uint64_t now_ns)
{
	enum wd_look_why why = w->why;
	w->why = WD_LOOK_NONE;
	if (why == WD_LOOK_HYPERCALL) {
		/* The same RIP on a hypercall at two looks with no exit between: it is stuck there. */
		if (look->at_hypercall && w->have_hc && w->hc_rip == look->regs.rip) {
			w->have_hc = false;
			return WD_ANSWER_HYPERCALL;
		}
		w->have_hc = look->at_hypercall;
		w->hc_rip = look->regs.rip;
		return WD_FINE;
	}
	if (why == WD_LOOK_SNAPSHOT) {
		w->snapshot = look->regs;
		w->have_snapshot = true;
		return WD_FINE;
	}
	if (why != WD_LOOK_JUDGE)
		return WD_FINE;
	/* Halted (any IF: Linux parks offline CPUs in cli; hlt), never started, or not in guest
	 * mode at all (KVM counted no exits: parked by a debugger, or blocked): not hung. */
	bool idle = look->mp_state != KVM_MP_STATE_RUNNABLE || !w->kvm_exits_moved;
	bool moved = !w->have_snapshot || memcmp(&w->snapshot, &look->regs, sizeof(look->regs)) != 0;
	if (idle || moved) {
		begin_quiet(w, now_ns);
		w->snapshot = look->regs;
		w->have_snapshot = true;
		return idle ? WD_IDLE : WD_FINE;
	}
	return WD_HUNG;
}

/* ---- the thread ---------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void read_counters(struct vcpu *v, struct wd_counters *c)
{
	static __thread struct vcpu_stats st; /* large; one watchdog thread per VM */
	vcpu_read_stats(v, &st);
	memset(c, 0, sizeof(*c));
	for (unsigned k = 0; k < VMEXIT__COUNT; k++)
		if (k != VMEXIT_KICK)
			c->exits += st.count[k];
	c->have_insns = vcpu_kvm_stat(v, "insn_emulation", &c->insns) == 0;
	c->have_kvm_exits = vcpu_kvm_stat(v, "exits", &c->kvm_exits) == 0;
}

/* With the VM paused: registers, run state, and whether RIP sits on vmcall/vmmcall. */
static int look_at(struct fallback *fb, struct vcpu *v, struct wd_look *look)
{
	struct kvm_sregs s;
	memset(look, 0, sizeof(*look));
	if (vcpu_get_regs(v, &look->regs) < 0 || vcpu_get_sregs(v, &s) < 0 || vcpu_get_mp_state(v, &look->mp_state) < 0)
		return -EIO;
	struct paging_regs pr = { .cr0 = s.cr0, .cr3 = s.cr3, .cr4 = s.cr4, .efer = s.efer };
	bool code64 = vcpu_mode_of(&s) == VCPU_MODE_LONG64;
	uint64_t pc = code64 ? look->regs.rip : s.cs.base + (uint32_t)look->regs.rip;
	uint8_t b[3];
	look->at_hypercall = pagewalk_read(vm_gmem(fb->vm), &pr, pc, b, 3) == 3 && fb_is_hypercall(b, NULL);
	return 0;
}

static void answer_hypercall(struct fallback *fb, struct vcpu *v, struct wd_look *look)
{
	struct kvm_sregs s;
	uint8_t b[3];
	bool vmmcall = false;
	if (vcpu_get_sregs(v, &s) < 0)
		return;
	struct paging_regs pr = { .cr0 = s.cr0, .cr3 = s.cr3, .cr4 = s.cr4, .efer = s.efer };
	bool code64 = vcpu_mode_of(&s) == VCPU_MODE_LONG64;
	uint64_t pc = code64 ? look->regs.rip : s.cs.base + (uint32_t)look->regs.rip;
	if (pagewalk_read(vm_gmem(fb->vm), &pr, pc, b, 3) == 3)
		fb_is_hypercall(b, &vmmcall);
	uint64_t t0 = now_ns();
	fb_hypercall_answer(&look->regs, code64);
	if (vcpu_set_regs(v, &look->regs) < 0)
		return;
	unsigned i = vcpu_index(v);
	fb_stats_add(&fb->stats, i, vmmcall ? FB_OP_VMMCALL : FB_OP_VMCALL, FB_RES_COMPLETED, now_ns() - t0);
	fb_stats_bump(&fb->stats.vcpu[i].hypercall_livelock);
}

/* Returns true when the VM ends; false when an attached debugger took the hang as a stop (the
 * watchdog then goes on: a vCPU still stuck after the debugger resumes it is reported again). */
static bool report_hang(struct fallback *fb, struct vcpu *v)
{
	char why[128];
	snprintf(why, sizeof(why), "vCPU %u made no progress for %u seconds (no exits, no emulated instructions, "
		 "registers unchanged)", vcpu_index(v), fb->cfg.watchdog_s);
	oops_print(fb->cfg.report ? fb->cfg.report : stderr, v, why, fb->cfg.tracer);
	if (fb->cfg.hang_to_debugger && fb->cfg.hang_to_debugger(fb->cfg.hang_ctx, v))
		return false;
	vm_request_end(fb->vm, VM_END_ERROR, 0, why);
	return true;
}

/* One tick over all vCPUs. Returns false once the VM is over; *soon says a vCPU sat on a
 * hypercall at this look (or one was answered), so the next look should not wait a whole tick. */
static bool watchdog_tick(struct fallback *fb, bool *soon)
{
	*soon = false;
	if (vm_ended(fb->vm))
		return false;
	unsigned n = vm_ncpus(fb->vm);
	uint64_t limit_ns = (uint64_t)fb->cfg.watchdog_s * 1000000000ull, t = now_ns();
	bool need[VM_MAX_VCPUS], any = false;
	for (unsigned i = 0; i < n; i++) {
		struct wd_counters c;
		read_counters(vm_vcpu(fb->vm, i), &c);
		need[i] = wd_tick(&fb->wd[i], &c, t, limit_ns, fb->cfg.hypercall_watch);
		any |= need[i];
	}
	if (!any)
		return true;
	vm_pause_all(fb->vm);
	bool hung = false;
	for (unsigned i = 0; i < n && !hung && !vm_ended(fb->vm); i++) {
		struct vcpu *v = vm_vcpu(fb->vm, i);
		struct wd_look look;
		if (!need[i] || look_at(fb, v, &look) < 0)
			continue;
		switch (wd_judge(&fb->wd[i], &look, t)) {
		case WD_ANSWER_HYPERCALL:
			answer_hypercall(fb, v, &look);
			*soon = true; /* hypercalls come in bursts: look again soon */
			break;
		case WD_IDLE: fb_stats_bump(&fb->stats.vcpu[i].idle_checks); break;
		case WD_HUNG: hung = report_hang(fb, v); break;
		case WD_FINE: break;
		}
		*soon |= fb->wd[i].have_hc;
	}
	vm_resume_all(fb->vm);
	return !hung;
}

static void *watchdog_main(void *arg)
{
	struct fallback *fb = arg;
	bool soon = false;
	pthread_mutex_lock(&fb->wd_lock);
	while (!fb->wd_stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += (soon ? FB_WATCHDOG_RECHECK_MS : FB_WATCHDOG_TICK_MS) * 1000000l;
		until.tv_sec += until.tv_nsec / 1000000000l;
		until.tv_nsec %= 1000000000l;
		/* Sleep, never spin: on two host cores a busy watchdog would starve the vCPUs. */
		while (!fb->wd_stop && pthread_cond_timedwait(&fb->wd_cond, &fb->wd_lock, &until) != ETIMEDOUT)
			;
		if (fb->wd_stop)
			break;
		pthread_mutex_unlock(&fb->wd_lock);
		bool go_on = watchdog_tick(fb, &soon);
		pthread_mutex_lock(&fb->wd_lock);
		if (!go_on)
			break;
	}
	pthread_mutex_unlock(&fb->wd_lock);
	return NULL;
}

int fb_watchdog_start(struct fallback *fb)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&fb->wd_lock, NULL);
	pthread_cond_init(&fb->wd_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (fb->cfg.watchdog_s == 0 && !fb->cfg.hypercall_watch)
		return 0;
	int rc = pthread_create(&fb->wd_thread, NULL, watchdog_main, fb);
	if (rc)
		return -rc;
	pthread_setname_np(fb->wd_thread, "fb-watchdog");
	fb->wd_running = true;
	return 0;
}

void fb_watchdog_stop(struct fallback *fb)
{
	pthread_mutex_lock(&fb->wd_lock);
	fb->wd_stop = true;
	pthread_cond_broadcast(&fb->wd_cond);
	pthread_mutex_unlock(&fb->wd_lock);
	if (fb->wd_running)
		pthread_join(fb->wd_thread, NULL);
	fb->wd_running = false;
	pthread_cond_destroy(&fb->wd_cond);
	pthread_mutex_destroy(&fb->wd_lock);
}
