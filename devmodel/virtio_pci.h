/* The virtio 1.x modern PCI transport: vendor capabilities pointing into one memory BAR (common
 * config, notify, ISR, device config), feature negotiation, device status and the queues. */
#ifndef DHYVE_DEVMODEL_VIRTIO_PCI_H
#define DHYVE_DEVMODEL_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devmodel/pci.h"
#include "devmodel/pci_msix.h"
#include "devmodel/virtqueue.h"

#define VIRTIO_PCI_VENDOR   0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040 /* + the virtio device id */

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

#define VIRTIO_F_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_VERSION_1     (1ull << 32)

#define VIRTIO_ISR_QUEUE  1
#define VIRTIO_ISR_CONFIG 2

/* Where the regions sit in the BAR (VIRTIO_PCI_BAR, 64-bit memory). */
#define VIRTIO_PCI_BAR        4
#define VIRTIO_PCI_BAR_SIZE   0x4000
#define VIRTIO_PCI_COMMON_OFF 0x0000
#define VIRTIO_PCI_COMMON_LEN 56
#define VIRTIO_PCI_ISR_OFF    0x1000
#define VIRTIO_PCI_DEVCFG_OFF 0x2000
#define VIRTIO_PCI_DEVCFG_LEN 0x1000
#define VIRTIO_PCI_NOTIFY_OFF 0x3000
#define VIRTIO_PCI_NOTIFY_MULT 4 /* queue q is notified at NOTIFY_OFF + 4 * q */

#define VIRTIO_MAX_QUEUES 8

/* MSI-X: one vector per queue plus one for configuration changes, in a BAR of their own. */
#define VIRTIO_PCI_MSIX_BAR      1
#define VIRTIO_PCI_MSIX_BAR_SIZE 0x1000
#define VIRTIO_PCI_MSIX_TABLE    0x000
#define VIRTIO_PCI_MSIX_PBA      0x800
#define VIRTIO_MSI_NO_VECTOR     0xffff

/* Capability types (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

struct virtio_pci;

/* What a device (blk, net) adds to the transport. dev is the device's own state. */
struct virtio_dev_ops {
	const char *name;
	uint16_t device_id;   /* virtio id: 2 for blk */
	uint32_t class_code;
	unsigned nqueues;
	uint16_t queue_size;  /* the maximum each queue offers */
	/* Device config space: size bytes at off, already checked to lie inside cfg_len. */
	unsigned cfg_len;
	void (*cfg_read)(void *dev, unsigned off, unsigned size, uint64_t *val);
	void (*cfg_write)(void *dev, unsigned off, unsigned size, uint64_t val); /* NULL: read-only */
	/* The driver notified queue q; the device pops chains with virtio_pci_pop and completes
	 * them with virtio_pci_push. Called with the transport lock held. */
	void (*queue_notify)(void *dev, struct virtio_pci *vp, unsigned q);
	/* Host input (door 5): called on a vCPU thread at an exit, with the transport lock held,
	 * after the back-end asked for it through the bus's input_notify. NULL: none. */
	void (*poll_input)(void *dev, struct virtio_pci *vp);
	void (*reset)(void *dev);
	void (*destroy)(void *dev);
};

struct virtio_pci {
	struct pci_func *f;
	const struct gmem *mem;
	const struct virtio_dev_ops *ops;
	void *dev;
	uint64_t host_features;
	struct pci_func_ops fops; /* the transport's hooks under the device's name, for messages */
	pthread_mutex_t lock; /* BAR accesses arrive from any vCPU without the bus lock */
	/* Guest-visible state; what save/load carry. */
	uint64_t driver_features;
	uint32_t device_feature_sel, driver_feature_sel;
	uint16_t config_msix_vector;
	uint16_t queue_sel;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	struct virtqueue vq[VIRTIO_MAX_QUEUES];
	struct pci_msix msix; /* table and pending bits: under the bus lock, not vp->lock */
};

/* Puts a virtio function at slot:fn: IDs, the BARs, the four capabilities, MSI-X with nqueues + 1
 * vectors, INTA. With MSI-X enabled a queue or configuration interrupt goes to the vector the
 * driver assigned (none: no interrupt) and INTx and the ISR stay quiet (4.1.5). host_features
 * is the device's feature set; the transport adds VERSION_1 and INDIRECT_DESC. It takes dev in
 * every case: ops->destroy frees it when the function goes away or this call fails. */
int virtio_pci_add(struct pci_bus *bus, unsigned slot, unsigned fn, const struct virtio_dev_ops *ops, void *dev,
		   uint64_t host_features, struct virtio_pci **out, struct errmsg *e);

/* For devices inside queue_notify. pop: 1 with a chain, 0 when empty; on a malformed chain it
 * marks the device NEEDS_RESET and returns -EIO (the device stops taking from that queue). */
int virtio_pci_pop(struct virtio_pci *vp, unsigned q, struct vq_chain *c);
/* Completes a chain and raises the queue interrupt unless the driver suppresses it. */
void virtio_pci_push(struct virtio_pci *vp, unsigned q, uint16_t head, uint32_t written);
/* Several chains at once, one used-index update and one interrupt (mergeable receive buffers). */
void virtio_pci_push_n(struct virtio_pci *vp, unsigned q, const uint16_t *heads, const uint32_t *written,
		       unsigned n);
/* Gives back the last n chains popped from q and not pushed: the driver sees them as never taken
 * (a receive that found too little buffer space waits for more). */
void virtio_pci_unpop(struct virtio_pci *vp, unsigned q, unsigned n);
/* Whether the driver finished setup and the device works (DRIVER_OK without NEEDS_RESET). */
bool virtio_pci_ready(const struct virtio_pci *vp);
/* A device error (2.1.2): NEEDS_RESET plus a configuration change interrupt. */
void virtio_pci_set_needs_reset(struct virtio_pci *vp);
bool virtio_pci_negotiated(const struct virtio_pci *vp, uint64_t feature);

/* Snapshot of the transport (status, features, queues); the PCI config is pci_func_save's.
 * save: buf NULL returns the size; load: -EINVAL unless buf is exactly a valid image. */
size_t virtio_pci_save(struct virtio_pci *vp, void *buf, size_t len);
int virtio_pci_load(struct virtio_pci *vp, const void *buf, size_t len);

#endif
