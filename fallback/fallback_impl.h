/* Internals shared by fallback.c (the exit handlers) and watchdog.c (the thread). */
#ifndef DHYVE_FALLBACK_IMPL_H
#define DHYVE_FALLBACK_IMPL_H

#include <pthread.h>

#include "fallback/cpu_state.h"
#include "fallback/fallback.h"
#include "fallback/stats.h"
#include "fallback/watchdog.h"

struct fallback {
	struct vm *vm;
	struct fallback_config cfg;
	struct fb_xlayout xl;
	vmexit_handler_fn prev_emulation_fail; /* what we cannot complete goes there (the oops report) */
	void *prev_emulation_fail_opaque;
	struct fb_stats stats;

	pthread_t wd_thread;
	bool wd_running;
	pthread_mutex_t wd_lock;
	pthread_cond_t wd_cond;
	bool wd_stop;              /* under wd_lock */
	struct wd_vcpu wd[VM_MAX_VCPUS];
};

/* The period of the watchdog's samples (each reads counters only; the VM is paused only for a
 * vCPU that runs without exits). A hypercall live-lock is answered at the second look, which
 * comes FB_WATCHDOG_RECHECK_MS after the first, and after an answer the next look comes that
 * soon too: ~20 ms per hypercall in a burst, up to ~110 ms for a lone one, on this KVM. */
#define FB_WATCHDOG_TICK_MS 100
#define FB_WATCHDOG_RECHECK_MS 10

#endif
