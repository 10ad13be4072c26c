/* What the virtio device harnesses (virtio_blk, virtio_net) share: a fresh PCI bus on guard-paged
 * guest RAM with one virtio function at slot 4, its BARs on an MMIO bus, the transport-level
 * DEVICE actions and the invariants checked after every guest operation. */
#ifndef DHYVE_FUZZ_VIRTIO_FUZZ_H
#define DHYVE_FUZZ_VIRTIO_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/gmem.h"
#include "devmodel/iobus.h"
#include "devmodel/pci.h"
#include "devmodel/virtio_pci.h"
#include "fuzz/guest_ram.h"

#define VFZ_SLOT 4
#define VFZ_RAM (128u * 1024)
#define VFZ_QSIZE 16                        /* what the setup action gives each queue */
#define VFZ_RING(q) (0x1000u + 0x1000u * 3 * (q)) /* desc; avail +0x1000, used +0x2000 */
#define VFZ_MMIO_BASE PCI_MEM_WINDOW_BASE   /* the BARs from +0; ECAM at +0x20000000 */

/* Transport DEVICE actions; a device's own start at VFZ_DEV_OWN. */
enum {
	VFZ_DEV_BUS_RESET,  /* pci_bus_reset: the machine's reset */
	VFZ_DEV_SETUP,      /* a driver's whole setup: payload[0] bit 0 keeps MSI-X off, bits 1-7
			     * drop feature bits 28 (indirect) and the device's own (see harness) */
	VFZ_DEV_ROUND_TRIP, /* virtio_pci_save, load, save: identical */
	VFZ_DEV_LOAD,       /* patch the transport's own image (offset:2, bytes) and load it */
	VFZ_DEV_MSIX_SEND,  /* pci_msix_send of vector payload[0] */
	VFZ_DEV_OWN = 8,
};

struct vfz {
	uint8_t *ram;
	struct gmem mem;
	struct iobus mmio;
	struct pci_bus *bus;
	struct pci_func *f;
	struct virtio_pci *vp;
	bool line;           /* INTx as the sink last heard it */
	unsigned msis, input_notifies;
	bool loaded;         /* a loaded image may hold what no guest write makes */
	uint64_t drop_features; /* what the setup action leaves out */
	/* Machines are kept between inputs (building one cost more than most inputs): vfz_keep takes
	 * the transport's power-on image, vfz_restore puts the machine back to it. stale: the input
	 * did what a reset cannot undo (added or removed a function), so the machine is rebuilt. */
	struct guest_ram_dirty dirty; /* the RAM pages an input wrote */
	uint8_t clean[4096];
	size_t nclean;
	bool stale;
};

/* Builds the bus, ram and mmio bus; the caller adds its device at VFZ_SLOT, then vfz_attach. */
bool vfz_create(struct vfz *z);
void vfz_attach(struct vfz *z);
void vfz_destroy(struct vfz *z);
/* After vfz_attach: remembers the power-on state that vfz_restore returns to. */
void vfz_keep(struct vfz *z);
/* Machine reset (pci_bus_reset), the power-on transport image loaded, guest RAM zeroed and the
 * harness's counters cleared: the machine as vfz_keep found it, for the next input. */
void vfz_restore(struct vfz *z);
/* Runs the input; device_action gets the subs from VFZ_DEV_OWN, host_input the HOST_INPUT payloads. */
void vfz_run(struct vfz *z, const uint8_t *data, size_t size,
	     void (*device_action)(struct vfz *z, unsigned sub, const uint8_t *buf, size_t len),
	     void (*host_input)(struct vfz *z, const uint8_t *buf, size_t len));

#endif
