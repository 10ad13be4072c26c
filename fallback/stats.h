/* Per-vCPU counters of the instructions completed in user space (by mnemonic, with the time the
 * completion took) and of what the watchdog did; written by one thread each, read by anyone. */
#ifndef DHYVE_FALLBACK_STATS_H
#define DHYVE_FALLBACK_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fallback/complete.h"
#include "vmm/vm.h"

/* How a completion ended, counted beside the mnemonic. */
enum fb_result_kind {
	FB_RES_COMPLETED,  /* architectural result, RIP advanced */
	FB_RES_RAISED,     /* raised the exception the CPU would (delivered to the guest) */
	FB_RES_REFUSED,    /* left to the previous handler: the VM was stopped with a report */
	FB_RES__COUNT
};

struct fb_op_counter {
	uint64_t count[FB_RES__COUNT];
	uint64_t ns; /* time in the completion, summed */
};

struct fb_vcpu_counters {
	struct fb_op_counter op[FB_STAT_SLOTS]; /* by fb_stat_slot() */
	uint64_t unknown_refused;   /* emulation failures on instructions we do not complete */
	uint64_t hypercall_livelock; /* vmcall/vmmcall live-locks the watchdog answered */
	uint64_t idle_checks;       /* no-progress checks that found the vCPU idle */
};

struct fb_stats {
	unsigned nvcpus;
	struct fb_vcpu_counters vcpu[VM_MAX_VCPUS];
};

/* Relaxed single-writer increments (each vCPU's counters change only on its own thread, the
 * watchdog's only while the VM is paused). */
/* slot: an enum fb_op, or fb_stat_slot() for host-executed instructions. */
void fb_stats_add(struct fb_stats *s, unsigned vcpu, unsigned slot, enum fb_result_kind res, uint64_t ns);
void fb_stats_bump(uint64_t *counter);

/* Text: one line per vCPU and mnemonic with counts and average microseconds; JSON: one object. */
void fb_stats_print(const struct fb_stats *s, FILE *out, bool json);

#endif
