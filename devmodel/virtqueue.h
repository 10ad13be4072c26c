/* Split virtqueues (virtio 1.x, 2.7): taking a descriptor chain from the avail ring and giving it
 * back on the used ring, every guest address checked through gmem_map; shared by all virtio devices. */
#ifndef DHYVE_DEVMODEL_VIRTQUEUE_H
#define DHYVE_DEVMODEL_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/gmem.h"

#define VQ_MAX_SIZE 256 /* the largest queue a device offers, and the longest chain it accepts */

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* The queue's registers as the driver programmed them through the transport, plus the device's
 * two positions in the rings. Plain data: the transport saves and loads it as it stands. */
struct virtqueue {
	uint16_t size;       /* entries, a power of two <= VQ_MAX_SIZE */
	uint16_t enabled;
	uint16_t msix_vector;
	uint16_t last_avail; /* next avail entry the device takes */
	uint16_t used_idx;   /* next used entry the device fills */
	uint64_t desc, avail, used;
};

/* One buffer of a chain, already mapped: host points into guest RAM for len bytes. */
struct vq_seg {
	uint8_t *host;
	uint64_t gpa;  /* where host points, for gmem_note_write/read (the recorder's door 2) */
	uint32_t len;
	bool writable; /* the device writes it (VIRTQ_DESC_F_WRITE) */
};

struct vq_chain {
	uint16_t head;
	unsigned nseg;
	struct vq_seg seg[VQ_MAX_SIZE];
};

/* Checks the ring addresses and size the driver programmed: 0 or -EINVAL. */
int vq_check(const struct virtqueue *vq, const struct gmem *mem);
/* Takes the next chain: 1 with *c filled, 0 when the ring is empty, -EIO when the driver broke
 * the rules (an address outside RAM, a loop, a chain longer than the queue, an index jump): the
 * transport then marks the device NEEDS_RESET. */
int vq_pop(struct virtqueue *vq, const struct gmem *mem, bool indirect_ok, struct vq_chain *c);
/* Returns chain head to the driver with written bytes in its writable buffers: 0 or -EIO. */
int vq_push(struct virtqueue *vq, const struct gmem *mem, uint16_t head, uint32_t written);
/* Returns n chains at once (heads[i] with written[i] bytes), the used index published once after
 * all of them: how a mergeable receive hands over one frame in several buffers. 0 or -EIO. */
int vq_push_n(struct virtqueue *vq, const struct gmem *mem, const uint16_t *heads, const uint32_t *written,
	      unsigned n);
/* Whether the driver wants an interrupt for used buffers (it may suppress them). */
bool vq_wants_interrupt(const struct virtqueue *vq, const struct gmem *mem);

#endif
