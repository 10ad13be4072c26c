/* MSI-X for a PCI function: the capability, the vector table and pending-bit array that the
 * device places in one of its memory BARs, masking, and sending through the bus's msi sink. */
#ifndef DHYVE_DEVMODEL_PCI_MSIX_H
#define DHYVE_DEVMODEL_PCI_MSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "devmodel/pci.h"

#define PCI_MSIX_MAX_VECTORS 64 /* what one pending word holds; virtio needs queues + 1 */
#define PCI_MSIX_ENTRY_SIZE  16
#define PCI_MSIX_CAP_LEN     12

#define PCI_MSIX_FLAGS        2       /* message control, inside the capability */
#define PCI_MSIX_FLAGS_QSIZE  0x07ff  /* table size - 1 */
#define PCI_MSIX_FLAGS_MASKALL 0x4000
#define PCI_MSIX_FLAGS_ENABLE 0x8000
#define PCI_MSIX_TABLE        4       /* offset | BIR */
#define PCI_MSIX_PBA          8
#define PCI_MSIX_ENTRY_CTRL_MASKBIT 1

/* The state the device keeps (and snapshots); the capability itself is in config space. Guarded
 * by the bus lock, so a config write (under that lock) and a BAR access never race on it. */
struct pci_msix {
	struct pci_func *f;
	unsigned nvec, bar;
	uint32_t table_off, pba_off;
	uint32_t table[PCI_MSIX_MAX_VECTORS][4]; /* address low, high, data, vector control */
	uint64_t pending;
};

/* Adds the capability: nvec entries, table at table_off and PBA at pba_off inside memory BAR
 * bar (which the device adds and routes to pci_msix_access). Offsets 8-byte aligned. */
int pci_msix_init(struct pci_msix *m, struct pci_func *f, unsigned nvec, unsigned bar, uint32_t table_off,
		  uint32_t pba_off, struct errmsg *e);
/* Power-on: every entry masked and zero, nothing pending. */
void pci_msix_reset(struct pci_msix *m);
/* A guest access at off inside the BAR. Returns false when off is in neither the table nor the
 * PBA (the device handles it); true when taken: reads of holes give 0, the PBA is read-only,
 * table accesses must be 4 or 8 bytes, aligned. Unmasking an entry sends what was pending. */
bool pci_msix_access(struct pci_msix *m, uint64_t off, unsigned size, bool is_write, uint64_t *val);
/* For the device's cfg_write hook: takes writes that touch the message control word (only the
 * enable and function-mask bits change) and sends pending messages the change unmasked. Returns
 * false for other registers. */
bool pci_msix_cfg_write(struct pci_msix *m, unsigned reg, unsigned size, uint32_t val);
/* Sends entry vector: 0 when sent, 1 when masked (the pending bit is set and the message goes
 * when it is unmasked), -EAGAIN when MSI-X is off, bus mastering is off or vector is too big. */
int pci_msix_send(struct pci_msix *m, unsigned vector);
/* Snapshots: copies the table and pending bits out (load false) or in (load true; pending bits
 * past nvec are dropped). The capability's control word is config space, saved with it. */
void pci_msix_snapshot(struct pci_msix *m, uint32_t table[PCI_MSIX_MAX_VECTORS][4], uint64_t *pending, bool load);

#endif
