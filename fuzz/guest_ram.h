/* Guest RAM for harnesses: zeroed pages from mmap with an inaccessible guard page on each side, so
 * a stray access past either end faults at once. A freed buffer is kept (zeroed) for the next
 * input of the same size, so a fresh guest per input costs a memset, not a mapping. */
#ifndef DHYVE_FUZZ_GUEST_RAM_H
#define DHYVE_FUZZ_GUEST_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/gmem.h"

/* size is rounded up to whole pages; the buffer is all zeroes; NULL when the mapping fails. */
void *guest_ram_alloc(size_t size);
/* Gives the buffer back: kept for reuse, or unmapped when the pool is full. */
void guest_ram_free(void *ram, size_t size);

/* Which 4 KiB pages of a guest RAM were written, so that a harness that keeps its RAM between
 * inputs zeroes only those: every write reaches RAM through gmem, which reports it to its observer
 * (devices note what they wrote through gmem_map pointers; the recorder relies on that too). The
 * self-test (fuzz_check.h) hashes all of RAM, so a write that went unreported shows there. */
#define GUEST_RAM_TRACKED_PAGES 256

struct guest_ram_dirty {
	struct gmem_observer observer;
	uint64_t size;
	bool all; /* something fell outside the tracked pages: zero everything */
	uint64_t pages[GUEST_RAM_TRACKED_PAGES / 64];
};

/* Makes m (a flat RAM of size bytes) report its writes into d. */
void guest_ram_track(struct guest_ram_dirty *d, struct gmem *m, uint64_t size);
/* Zeroes the pages written since the last call (all of RAM the first time) and forgets them. */
void guest_ram_zero_dirty(struct guest_ram_dirty *d, void *ram);

#endif
