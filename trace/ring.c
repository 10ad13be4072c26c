/* Ring set-up and the lock-free snapshot: copy, then check how far the writer got meanwhile
 * and drop what it may have overwritten (a seqlock read, with the head as the sequence). */
#include "trace/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int trace_ring_init(struct trace_ring *r, uint64_t entries)
{
	memset(r, 0, sizeof(*r));
	if (entries < TRACE_RING_MIN || entries > TRACE_RING_MAX)
		return -EINVAL;
	uint64_t cap = TRACE_RING_MIN;
	while (cap < entries)
		cap <<= 1;
	r->slots = calloc(cap, sizeof(*r->slots));
	if (!r->slots)
		return -ENOMEM;
	r->capacity = cap;
	return 0;
}

void trace_ring_free(struct trace_ring *r)
{
	free(r->slots);
	memset(r, 0, sizeof(*r));
}

uint64_t trace_ring_snapshot(const struct trace_ring *r, struct trace_record *out, uint64_t max, bool writer_stopped,
			     uint64_t *lost)
{
	uint64_t cap = r->capacity;
	uint64_t end = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	uint64_t n = end < cap ? end : cap;
	if (n > max)
		n = max;
	uint64_t start = end - n;
	for (uint64_t i = start; i < end; i++)
		out[i - start] = r->slots[i & (cap - 1)];
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	/* The writer may now be storing index `now`, which overwrites index now - cap; every index
	 * up to and including that one may have been torn during our copy. */
	uint64_t now = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	uint64_t in_flight = writer_stopped ? 0 : 1;
	uint64_t valid = now + in_flight > cap ? now + in_flight - cap : 0;
	if (valid > start) {
		uint64_t drop = valid - start < n ? valid - start : n;
		memmove(out, out + drop, (n - drop) * sizeof(*out));
		n -= drop;
		start += drop;
	}
	if (lost)
		*lost = start;
	return n;
}
