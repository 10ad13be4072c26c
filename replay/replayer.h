/* Replaying a recorded run: every door is fed from the log instead of devices, clocks and
 * back-ends; every natural exit is checked against its recorded fingerprint; deliveries between
 * exits happen where the guest is at the recorded instruction count, RIP and registers again. */
#ifndef DHYVE_REPLAY_REPLAYER_H
#define DHYVE_REPLAY_REPLAYER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/errmsg.h"
#include "vmm/vm.h"

struct replayer;
struct vcpu;

struct replayer_config {
	const char *log_path;
	struct vm *vm;
	/* Guest bytes written to these UART data ports (DLAB clear) are shown on console_out, so a
	 * replay prints what the recorded run printed. 0 = none. */
	uint16_t console_port[2];
	FILE *console_out;
	/* Shows the code at rip on out (decoded instructions): for divergence reports. */
	void (*show_code)(void *ctx, FILE *out, struct vcpu *vcpu, uint64_t rip);
	/* Offers the stopped guest to a debugger; true when one took it. */
	bool (*stop_for_debugger)(void *ctx, struct vcpu *vcpu);
	void *ctx;
};

/* Opens and checks the log (a damaged one is refused with the offset), reads its configuration. */
struct replayer *replayer_create(const struct replayer_config *c, struct errmsg *e);
/* The configuration the run was recorded with (dhyve -k syntax). */
const char *replayer_config_text(const struct replayer *r);
/* Takes over the doors and the exit handlers of natural exits and kicks. Call before a debugger
 * wraps the handlers (its breakpoints must be seen first), then replayer_install_debug after. */
int replayer_install(struct replayer *r, struct errmsg *e);
void replayer_install_debug(struct replayer *r);

struct replayer_stats {
	uint64_t exits, async_points, switches, slices, steps;
	uint64_t drifts, max_drift; /* exits where the instruction counter disagreed, by how much at most */
	bool diverged;
	bool reached_end;   /* the log's end event was replayed */
};
void replayer_stats(struct replayer *r, struct replayer_stats *out);
void replayer_destroy(struct replayer *r);

#endif
