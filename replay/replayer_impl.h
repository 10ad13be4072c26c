/* What replayer.c and approach.c share: the replayer's state. Private to replay/. */
#ifndef DHYVE_REPLAY_REPLAYER_IMPL_H
#define DHYVE_REPLAY_REPLAYER_IMPL_H

#include <pthread.h>
#include <stdarg.h>

#include "replay/replayer.h"
#include "replay/rlog.h"

struct replay_wrapped {
	struct replayer *r;
	vmexit_handler_fn fn;
	void *opaque;
};

enum approach_mode {
	AP_NONE,
	AP_SLICE,     /* running until a slice timer kicks */
	AP_BREAK,     /* an execute breakpoint on the recorded RIP */
	AP_STEP_OVER, /* one step past the breakpoint, which stopped there too early */
};

struct replayer {
	struct replayer_config cfg;
	struct rlog_reader *log;
	char *config_text;
	struct replay_wrapped handler[VMEXIT__COUNT];
	uint64_t exits;            /* natural exits replayed, all vCPUs */
	uint64_t vexits[VM_MAX_VCPUS]; /* natural exits of each vCPU */
	unsigned owner;            /* SMP: the one vCPU that runs now, as in the recording */
	uint64_t switches;
	uint64_t last_seq;         /* last log event consumed, for messages */
	uint64_t expected_rip;     /* for the divergence report; 0 when none */
	uint8_t lcr[2];            /* the UARTs' line control as the guest wrote it */
	bool diverged, reached_end;
	uint64_t async_points, slices, steps;
	int64_t insn_offset[VM_MAX_VCPUS]; /* this run's counter minus the recording's, at the last exit */
	uint64_t drifts, max_drift;

	bool raised;               /* a line went up (or an MSI) among the events just applied */
	/* The interrupt last raised, until it is known to be taken: replay hands it to a debugger
	 * that single-steps by running the guest to its handler (replayer.c, handoff). */
	bool deliver_pending, deliver_msi;
	unsigned deliver_gsi;
	uint8_t deliver_vector;
	uint64_t handoff;          /* the handler's address while handing over, else 0 */
	bool ifstep;               /* single-stepping until the guest can take that interrupt */
	unsigned ifstep_left;      /* steps before giving up, as the recorder does (IFSTEP_MAX) */

	/* Approaching an async point (approach.c). */
	bool approaching;
	enum approach_mode mode;
	struct rlog_async target;
	double rate;               /* highest ring-0 instructions per ns seen in a slice */
	bool rate_measured;        /* else rate is a guess, high on purpose */
	uint64_t last_insn, last_ns;
	uint64_t slice_ns;         /* the last slice's length */
	unsigned idle;             /* kicks in a row without progress */
};

void replay_diverged(struct replayer *r, struct vcpu *vcpu, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* What a handler returns after replay_diverged: stop, or resume into the debugger's stop. */
enum vmexit_action replay_diverged_action(struct replayer *r);
int replay_apply_until(struct replayer *r, struct vcpu *vcpu, unsigned stop_type);
/* At an async point that hands the turn to another vCPU: this one parks, that one runs. */
void replay_switch(struct replayer *r, struct vcpu *vcpu, unsigned next);
enum vmexit_action replay_after_exit(struct replayer *r, struct vcpu *vcpu, enum vmexit_action act);

/* The guest-debug state replay needs now: IF-stepping, approach steps, the approach breakpoint. */
void replay_update_debug(struct replayer *r, struct vcpu *vcpu);
int replay_approach_init(struct replayer *r, struct errmsg *e);
/* The next log event is an async point: start running towards it. */
void replay_approach_start(struct replayer *r, struct vcpu *vcpu);
/* At a kick, a breakpoint stop or a step while approaching: arrived (deliver), or go on. */
enum vmexit_action replay_approach_continue(struct replayer *r, struct vcpu *vcpu, bool at_breakpoint,
					    enum vmexit_action act);
void replay_approach_cancel(struct replayer *r, struct vcpu *vcpu);

#endif
