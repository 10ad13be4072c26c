/* The watchdog's judgement, kept pure (counters and registers in, verdicts out, time passed in)
 * so a unit test drives it with a fake clock; the thread around it is in watchdog.c. */
#ifndef DHYVE_FALLBACK_WATCHDOG_H
#define DHYVE_FALLBACK_WATCHDOG_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/* What can be read of a vCPU at any time without an ioctl on it. */
struct wd_counters {
	uint64_t exits;     /* user-space exits other than kicks (a kick is the host's doing) */
	uint64_t insns;     /* KVM's insn_emulation: every instruction run at CPL0 here */
	uint64_t kvm_exits; /* KVM's own exit count: it moves while the vCPU is in guest mode */
	bool have_insns, have_kvm_exits;
};

/* What is read with the VM paused. */
struct wd_look {
	struct kvm_regs regs;
	uint32_t mp_state;  /* KVM_MP_STATE_* */
	bool at_hypercall;  /* RIP is on vmcall or vmmcall */
};

enum wd_verdict {
	WD_FINE,
	WD_ANSWER_HYPERCALL, /* the vCPU live-locks on a hypercall: answer it and go on */
	WD_IDLE,             /* halted, not started or not running: waiting is not hanging */
	WD_HUNG,             /* in guest mode, no progress for the limit: stop with a report */
};

enum wd_look_why { WD_LOOK_NONE, WD_LOOK_HYPERCALL, WD_LOOK_SNAPSHOT, WD_LOOK_JUDGE };

struct wd_vcpu {
	struct wd_counters last;
	bool started;            /* the counters have moved once: the vCPU has run */
	bool have_last;
	bool quiet;              /* no exits and no emulated instructions since quiet_since */
	uint64_t quiet_since_ns;
	uint64_t quiet_kvm_exits;
	bool kvm_exits_moved;    /* at the judgement: KVM's exits moved while quiet */
	bool have_snapshot;
	struct kvm_regs snapshot; /* registers when the quiet began */
	bool have_hc;
	uint64_t hc_rip;         /* RIP on a hypercall at the last look, no exits since */
	enum wd_look_why why;
};

/* Once a tick: true when the vCPU must be looked at (VM paused, then wd_judge). limit_ns 0:
 * no hang verdicts; watch_hypercalls false: no hypercall looks. */
bool wd_tick(struct wd_vcpu *w, const struct wd_counters *c, uint64_t now_ns, uint64_t limit_ns, bool watch_hypercalls);
enum wd_verdict wd_judge(struct wd_vcpu *w, const struct wd_look *look, uint64_t now_ns);

struct fallback;
/* The thread: every tick samples all vCPUs, pauses the VM only when one needs a look. */
int fb_watchdog_start(struct fallback *fb);
void fb_watchdog_stop(struct fallback *fb);

#endif
