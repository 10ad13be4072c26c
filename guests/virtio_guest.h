/* A small virtio 1.x driver for the bare-metal test guests: finds a modern virtio-pci function on
 * bus 0, walks its capabilities, negotiates features, sets up split queues and moves buffers.
 * Polled by default; vg_msix_enable routes queue interrupts to LAPIC vectors for guests with an IDT. */
#ifndef DHYVE_GUESTS_VIRTIO_GUEST_H
#define DHYVE_GUESTS_VIRTIO_GUEST_H

#include <stdbool.h>
#include <stdint.h>

#define VG_VENDOR_VIRTIO 0x1af4
#define VG_DEVICE_BLK    0x1042
#define VG_DEVICE_NET    0x1041

#define VG_MAX_QUEUES 4
#define VG_F_VERSION_1 (1ull << 32)

#define VG_STATUS_ACK         1
#define VG_STATUS_DRIVER      2
#define VG_STATUS_DRIVER_OK   4
#define VG_STATUS_FEATURES_OK 8
#define VG_STATUS_NEEDS_RESET 0x40
#define VG_STATUS_FAILED      0x80

#define VG_DESC_F_NEXT  1
#define VG_DESC_F_WRITE 2

#define VG_NO_VECTOR 0xffff

struct vg_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct vg_queue {
	uint16_t size;         /* 0: not set up */
	uint16_t last_used;    /* the next used-ring entry to look at */
	uint16_t free_head, num_free;
	volatile struct vg_desc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
	volatile uint8_t *used;   /* flags, idx, ring[size] of {id, len}, avail_event */
	volatile uint16_t *notify;
};

struct vg_dev {
	unsigned slot, fn;
	volatile uint8_t *common, *isr, *devcfg, *notify_base;
	uint32_t notify_mult;
	uint64_t features; /* what was negotiated */
	uint8_t msix_cap;  /* config offset of the MSI-X capability, 0 when none */
	volatile uint32_t *msix_table;
	uint16_t msix_size;
	struct vg_queue q[VG_MAX_QUEUES];
};

/* A buffer of a chain: len bytes at addr (guest-physical = virtual in these guests). */
struct vg_buf {
	void *addr;
	uint32_t len;
	bool writable; /* the device writes it */
};

/* PCI config mechanism #1 on bus 0. */
uint32_t vg_pci_read32(unsigned slot, unsigned fn, unsigned reg);
void vg_pci_write32(unsigned slot, unsigned fn, unsigned reg, uint32_t val);

/* The index-th function (0 = first) with this vendor:device; fills d's location and the four
 * region pointers. 0, or -1 when there is none or its capabilities are incomplete. */
int vg_find(uint16_t vendor, uint16_t device, unsigned index, struct vg_dev *d);
/* Reset, ACKNOWLEDGE, DRIVER, offer (device features & want) | VERSION_1, FEATURES_OK and check
 * that it stuck. 0, or -1 when the device refused. */
int vg_init(struct vg_dev *d, uint64_t want);
/* Queue q with up to max entries (the device's size when smaller), memory from a bump allocator.
 * 0 or -1. */
int vg_queue_setup(struct vg_dev *d, unsigned q, uint16_t max);
void vg_driver_ok(struct vg_dev *d);
uint8_t vg_status(struct vg_dev *d);

/* Puts one chain on the avail ring; returns its head or -1 when the queue lacks descriptors.
 * vg_kick notifies the device. */
int vg_submit(struct vg_dev *d, unsigned q, const struct vg_buf *bufs, unsigned n);
void vg_kick(struct vg_dev *d, unsigned q);
/* One used entry: its head (the chain's descriptors go back to the free list), and *len the
 * bytes the device wrote; -1 when none is there. */
int vg_poll(struct vg_dev *d, unsigned q, uint32_t *len);
/* vg_poll until an entry arrives or spins run out (-1). */
int vg_wait(struct vg_dev *d, unsigned q, uint32_t *len, unsigned long spins);
/* Reading the ISR acknowledges INTx. */
uint8_t vg_isr(struct vg_dev *d);

/* Device config space. */
uint8_t vg_cfg8(struct vg_dev *d, unsigned off);
uint16_t vg_cfg16(struct vg_dev *d, unsigned off);
uint32_t vg_cfg32(struct vg_dev *d, unsigned off);
uint64_t vg_cfg64(struct vg_dev *d, unsigned off);

/* MSI-X: entry i sends LAPIC vector base + i to CPU 0; the config change uses entry 0 and queue
 * q entry q + 1. Enables MSI-X in the capability. 0, or -1 when the function has none, too few
 * entries, or the device refused a vector (it reads back VG_NO_VECTOR). */
int vg_msix_enable(struct vg_dev *d, uint8_t base_vector);
/* Masks or unmasks table entry i (the per-vector mask bit). */
void vg_msix_mask(struct vg_dev *d, unsigned entry, bool masked);
/* Pending bit of entry i in the PBA. */
bool vg_msix_pending(struct vg_dev *d, unsigned entry);

/* The bump allocator the queues use, for the guest's own buffers: zeroed, align a power of two. */
void *vg_alloc(uint32_t bytes, uint32_t align);

#endif
