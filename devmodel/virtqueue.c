/* Split virtqueue walking: ring entries and descriptors are copied out of guest memory once (the
 * guest may change them under us) and checked before use; a bad one is -EIO, never a host fault. */
#include "devmodel/virtqueue.h"

#include <errno.h>
#include <string.h>

/* Guest structures are little-endian; the hosts dhyve runs on (x86-64 KVM) are too. */
struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static int read_u16(const struct gmem *mem, uint64_t gpa, uint16_t *v)
{
	const void *p = gmem_map(mem, gpa, 2);
	if (!p)
		return -EIO;
	/* An atomic load: the driver writes these fields from another CPU while we read them. */
	*v = __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
	gmem_note_read(mem, gpa, 2);
	return 0;
}

static int read_desc(const struct gmem *mem, uint64_t table, uint32_t i, struct vring_desc *d)
{
	return gmem_read(mem, table + (uint64_t)i * sizeof(*d), d, sizeof(*d)) < 0 ? -EIO : 0;
}

int vq_check(const struct virtqueue *vq, const struct gmem *mem)
{
	uint64_t n = vq->size;
	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)))
		return -EINVAL;
	/* Alignment as 2.7 requires: 16 for the table, 2 for avail, 4 for used. */
	if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3))
		return -EINVAL;
	if (!gmem_map(mem, vq->desc, 16 * n) || !gmem_map(mem, vq->avail, 6 + 2 * n) ||
	    !gmem_map(mem, vq->used, 6 + 8 * n))
		return -EINVAL;
	return 0;
}

static int add_seg(struct vq_chain *c, const struct gmem *mem, const struct vring_desc *d)
{
	bool w = d->flags & VIRTQ_DESC_F_WRITE;
	/* Readable buffers come first (2.7.4.2); a driver that mixes them is broken. */
	if (!w && c->nseg && c->seg[c->nseg - 1].writable)
		return -EIO;
	if (c->nseg >= VQ_MAX_SIZE)
		return -EIO;
	uint8_t *host = NULL;
	if (d->len) {
		host = gmem_map(mem, d->addr, d->len);
		if (!host)
			return -EIO;
	}
	c->seg[c->nseg++] = (struct vq_seg){ .host = host, .gpa = d->addr, .len = d->len, .writable = w };
	return 0;
}

/* An indirect table (2.7.5.3): its own descriptors, bounded by its length and VQ_MAX_SIZE. */
static int walk_indirect(struct vq_chain *c, const struct gmem *mem, const struct vring_desc *outer)
{
	if (outer->len == 0 || outer->len % sizeof(struct vring_desc) || outer->flags & VIRTQ_DESC_F_NEXT)
		return -EIO;
	uint32_t n = outer->len / sizeof(struct vring_desc);
	if (n > VQ_MAX_SIZE || !gmem_map(mem, outer->addr, outer->len))
		return -EIO;
	uint32_t i = 0;
	for (uint32_t steps = 0;; steps++) {
		struct vring_desc d;
		if (steps >= n || read_desc(mem, outer->addr, i, &d) < 0)
			return -EIO; /* a loop, or longer than the table */
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return -EIO; /* no nesting */
		if (add_seg(c, mem, &d) < 0)
			return -EIO;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -EIO;
		i = d.next;
	}
}

int vq_pop(struct virtqueue *vq, const struct gmem *mem, bool indirect_ok, struct vq_chain *c)
{
	if (!vq->enabled)
		return 0;
	uint16_t avail_idx;
	if (read_u16(mem, vq->avail + 2, &avail_idx) < 0)
		return -EIO;
	uint16_t pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	if (pending > vq->size)
		return -EIO; /* the driver cannot have more buffers out than entries */
	/* Read the ring entry and descriptors only after seeing the index (pairs with the
	 * driver's write barrier before it publishes avail->idx). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	uint16_t head;
	if (read_u16(mem, vq->avail + 4 + 2ull * (vq->last_avail % vq->size), &head) < 0)
		return -EIO;
	if (head >= vq->size)
		return -EIO;
	c->head = head;
	c->nseg = 0;
	uint16_t i = head;
	for (unsigned steps = 0;; steps++) {
		struct vring_desc d;
		/* More descriptors than the queue has means the chain loops back on itself. */
		if (steps >= vq->size || read_desc(mem, vq->desc, i, &d) < 0)
			return -EIO;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!indirect_ok || walk_indirect(c, mem, &d) < 0)
				return -EIO;
			break;
		}
		if (add_seg(c, mem, &d) < 0)
			return -EIO;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->size)
			return -EIO;
		i = d.next;
	}
	vq->last_avail++;
	return 1;
}

int vq_push(struct virtqueue *vq, const struct gmem *mem, uint16_t head, uint32_t written)
{
	uint32_t elem[2] = { head, written };
	uint64_t at = vq->used + 4 + 8ull * (vq->used_idx % vq->size);
	if (gmem_write(mem, at, elem, sizeof(elem)) < 0)
		return -EIO;
	uint16_t *idx = gmem_map(mem, vq->used + 2, 2);
	if (!idx)
		return -EIO;
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(idx, vq->used_idx, __ATOMIC_RELEASE);
	gmem_note_write(mem, vq->used + 2, 2);
	return 0;
}

int vq_push_n(struct virtqueue *vq, const struct gmem *mem, const uint16_t *heads, const uint32_t *written,
	      unsigned n)
{
	uint16_t *idx = gmem_map(mem, vq->used + 2, 2);
	if (!idx)
		return -EIO;
	for (unsigned i = 0; i < n; i++) {
		uint32_t elem[2] = { heads[i], written[i] };
		uint64_t at = vq->used + 4 + 8ull * ((uint16_t)(vq->used_idx + i) % vq->size);
		if (gmem_write(mem, at, elem, sizeof(elem)) < 0)
			return -EIO;
	}
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	__atomic_store_n(idx, vq->used_idx, __ATOMIC_RELEASE);
	gmem_note_write(mem, vq->used + 2, 2);
	return 0;
}

bool vq_wants_interrupt(const struct virtqueue *vq, const struct gmem *mem)
{
	uint16_t flags;
	/* The used idx store above must be ordered before reading the driver's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (read_u16(mem, vq->avail, &flags) < 0)
		return true;
	return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}
