/* Fast in-memory reset of a running VM to a snapshot (Nyx-style): a copy of RAM, the vCPUs, the
 * irqchip/PIT and the device images are kept; a reset copies back only the pages dirtied since
 * (KVM's dirty log, plus the pages devices wrote, which KVM does not see), puts registers back
 * through kvm_run's sync_regs, and reloads the irqchip and a device only where they changed.
 * The building block for reverse execution and for snapshot fuzzing of a whole guest. */
#ifndef DHYVE_REPLAY_SNAP_RESET_H
#define DHYVE_REPLAY_SNAP_RESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "base/gmem.h"

struct vm;

/* A device with state of its own, as the machine lists them (save/load as uart16550_save/load). */
struct snap_dev {
	char name[32];
	size_t (*save)(void *dev, void *buf, size_t len);
	int (*load)(void *dev, const void *buf, size_t len);
	void *dev;
};

/* Where a reset's time went (ns) and what it did. */
struct snap_reset_stats {
	uint64_t dirty_log_ns; /* KVM_GET_DIRTY_LOG over every slot */
	uint64_t copy_ns;      /* copying the dirty pages back */
	uint64_t vcpu_ns;      /* completing the last exit, registers (and the rest with a full reset) */
	uint64_t chip_ns;      /* reading the irqchip/PIT, and writing them back if they changed */
	uint64_t dev_ns;       /* saving every device, reloading the ones that changed */
	uint64_t pages;        /* pages copied */
	unsigned devs_loaded;  /* devices that had changed */
	bool chip_loaded;
};

struct snap_reset;

/* Takes the snapshot now and turns dirty logging on. Every vCPU must be stopped: the VM paused,
 * or (one vCPU) called from its own thread at an exit. devs: copied; may be NULL. */
struct snap_reset *snap_reset_create(struct vm *vm, const struct snap_dev *devs, unsigned ndevs, struct errmsg *e);
void snap_reset_destroy(struct snap_reset *r);
/* Takes the snapshot again at the current point. Same rules. */
int snap_reset_take(struct snap_reset *r, struct errmsg *e);
/* Back to the snapshot. vcpu_parts is VCPU_STATE_SYNCED (registers, special registers and
 * events: no vCPU ioctl but the one that completes the last exit) or VCPU_STATE_ALL (also FPU,
 * MSRs, LAPIC, debug registers, MP state: a guest that may change those between resets needs
 * it). Same rules. st may be NULL; it is added to, not cleared. */
int snap_reset_restore(struct snap_reset *r, unsigned vcpu_parts, struct snap_reset_stats *st, struct errmsg *e);
/* Device writes into guest RAM bypass KVM's log: make this the observer of the guest-memory view
 * the devices use (struct gmem's observer) so that their pages are copied back too. */
const struct gmem_observer *snap_reset_observer(struct snap_reset *r);

#endif
