/* The machine the snapshot benchmarks measure: host bridge, LPC, COM1 on the null back-end, no
 * watchdog, and a virtio-blk disk at 3:0, built through the same options and machine code as dhyve. */
#ifndef DHYVE_BENCH_BENCH_MACHINE_H
#define DHYVE_BENCH_BENCH_MACHINE_H

#include "cli/config.h"
#include "cli/machine.h"
#include "cli/options.h"

/* mem: a -m size ("64M"); cfg must outlive the machine (o points into it). */
int bench_build_machine(struct machine *m, struct config *cfg, struct dhyve_options *o, const char *name,
			const char *kernel, const char *mem, const char *disk, struct errmsg *e);

#endif
