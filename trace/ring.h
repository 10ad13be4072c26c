/* A per-vCPU ring of exit records: one writer (the vCPU thread, no lock, no atomic RMW),
 * overwrite-oldest, and a reader that may copy it at any time while the writer goes on. */
#ifndef DHYVE_TRACE_RING_H
#define DHYVE_TRACE_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "trace/record.h"

#define TRACE_RING_MIN 16
#define TRACE_RING_MAX (1u << 26) /* 64 Mi records = 3 GiB per vCPU: more is a typo */

struct trace_ring {
	struct trace_record *slots;
	uint64_t capacity; /* a power of two */
	uint64_t head;     /* records ever written; slot = index & (capacity - 1) */
};

/* entries is rounded up to a power of two; -EINVAL outside [TRACE_RING_MIN, TRACE_RING_MAX]. */
int trace_ring_init(struct trace_ring *r, uint64_t entries);
void trace_ring_free(struct trace_ring *r);

/* The writer's only operation: store the record, then publish it with one release store. */
static inline void trace_ring_push(struct trace_ring *r, const struct trace_record *rec)
{
	uint64_t h = r->head; /* only this thread writes head */
	r->slots[h & (r->capacity - 1)] = *rec;
	__atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
}

/* Copies the newest records (oldest first) into out[0..max), which needs room for capacity
 * records to get all of them. With the writer running, records it may have overwritten during
 * the copy (and the one it may be writing) are dropped rather than returned torn; with
 * writer_stopped (its vCPU paused or gone) every record is kept. Returns the number copied;
 * *lost gets how many records were ever written before the first one returned. */
uint64_t trace_ring_snapshot(const struct trace_ring *r, struct trace_record *out, uint64_t max, bool writer_stopped,
			     uint64_t *lost);

#endif
