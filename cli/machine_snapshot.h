/* Checkpoint, suspend and resume of a machine through a snapshot file (docs/snapshot-format.md):
 * the configuration, disk identities, vCPUs, irqchip/PIT, device images by name and RAM. */
#ifndef DHYVE_CLI_MACHINE_SNAPSHOT_H
#define DHYVE_CLI_MACHINE_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "cli/config.h"
#include "cli/machine.h"
#include "cli/options.h"
#include "replay/snap_reset.h"
#include "replay/snapfile.h"

struct snapshot_figures {
	uint64_t bytes;     /* the file's size */
	uint64_t ram_bytes; /* the guest's RAM */
	uint64_t pause_ns;  /* until every vCPU was parked */
	uint64_t write_ns;  /* writing (or, on resume, applying) everything */
};

/* The machine's devices with state of their own, by the names a snapshot gives their images;
 * in the order resume loads them (the bus before the functions). d holds MACHINE_SNAPSHOT_MAX_DEVS. */
#define MACHINE_SNAPSHOT_MAX_DEVS (8 + 32 * 8)
unsigned machine_snapshot_devices(struct machine *m, struct snap_dev *d);

/* What this build writes into a snapshot's header and accepts back. */
const char *snapshot_build_id(void);

/* Pauses every vCPU, writes the snapshot to path (atomically: PATH.tmp, then renamed), and lets
 * the VM run on, or ends it (stop: --suspend). m->cfg must be set. */
int machine_checkpoint(struct machine *m, const char *path, bool stop, struct snapshot_figures *fig,
		       struct errmsg *e);

/* dhyve -r: opens and checks the snapshot named by restore.file in cfg (every refusal says why)
 * and adds its configuration for every variable the command line did not set. snap stays open
 * for machine_restore; snapfile_close it after. */
int snapshot_open_for_resume(struct snapfile *snap, struct config *cfg, struct errmsg *e);
/* Into a machine built (not started) from that configuration: checks the disk images, then
 * loads RAM, every device, the irqchip and PIT, and every vCPU. */
int machine_restore(struct machine *m, const struct snapfile *snap, const struct dhyve_options *o,
		    struct snapshot_figures *fig, struct errmsg *e);

#endif
