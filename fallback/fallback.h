/* Completing in user space what this KVM cannot run (PLATFORM.md "known gaps"): instructions
 * that fail to emulate at CPL0, vmcall/vmmcall live-locks, and a watchdog that never lets a VM
 * hang silently. A layer above vmm/, like trace/: install it on a VM before vm_start. */
#ifndef DHYVE_FALLBACK_FALLBACK_H
#define DHYVE_FALLBACK_FALLBACK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/errmsg.h"
#include "vmm/vm.h"

struct tracer;

#define FALLBACK_WATCHDOG_DEFAULT_S 10

struct fallback_config {
	/* A vCPU that runs but makes no progress (no exits, no emulated instructions, registers
	 * unchanged) for this many seconds stops the VM with a report (exit status 4); 0 = off. */
	unsigned watchdog_s;
	/* Answer vmcall/vmmcall live-locks (RIP stuck on the instruction, no exit); default on.
	 * Independent of watchdog_s: it is a completion, not a verdict. */
	bool hypercall_watch;
	struct tracer *tracer; /* last exits in reports; may be NULL */
	FILE *report;          /* where reports go; NULL = stderr */
	/* With a debugger attached, a hang becomes a stop there instead of the end of the VM:
	 * called (VM paused) after the report; true when the debugger took it. May be NULL. */
	bool (*hang_to_debugger)(void *ctx, struct vcpu *vcpu);
	void *hang_ctx;
};

/* watchdog_s = FALLBACK_WATCHDOG_DEFAULT_S, hypercall_watch = true, the rest NULL. */
void fallback_config_init(struct fallback_config *cfg);

/* Wraps the VM's VMEXIT_EMULATION_FAIL handler (what it cannot complete goes to the handler
 * installed before it, so install this after the CLI's oops handler), replaces VMEXIT_HYPERCALL's,
 * and starts the watchdog thread. Call before vm_start; a debugger that plants int3 installs its
 * own handler after this one, so that it sees its breakpoints first. */
struct fallback *fallback_install(struct vm *vm, const struct fallback_config *cfg, struct errmsg *e);
/* Stops the watchdog and frees; call after vm_wait (the handlers must no longer run). */
void fallback_destroy(struct fallback *fb);

/* The counters of one vCPU, by mnemonic ("int3", "xsave", "cmpxchg16b", "vmcall", ...). */
struct fallback_count {
	const char *insn;
	uint64_t completed; /* architectural result, RIP advanced */
	uint64_t raised;    /* the instruction raised the exception the CPU would */
	uint64_t refused;   /* not completed: the VM was stopped with a report */
	uint64_t total_ns;  /* time spent completing them */
};
/* Copies vCPU vcpu's non-zero counters into out[0..max); returns how many there are. */
int fallback_stats(struct fallback *fb, unsigned vcpu, struct fallback_count *out, int max);
/* All vCPUs: text (a table with average microseconds) or one JSON object (no newline), for
 * dhyvectl --get-stats [--json] and the trace report. */
void fallback_print_stats(struct fallback *fb, FILE *out, bool json);

#endif
