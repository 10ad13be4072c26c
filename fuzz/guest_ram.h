/* Guest RAM for harnesses: zeroed pages from mmap with an inaccessible guard page on each side, so
 * a stray access past either end faults at once. A freed buffer is kept (zeroed) for the next
 * input of the same size, so a fresh guest per input costs a memset, not a mapping. */
#ifndef DHYVE_FUZZ_GUEST_RAM_H
#define DHYVE_FUZZ_GUEST_RAM_H

#include <stddef.h>

/* size is rounded up to whole pages; the buffer is all zeroes; NULL when the mapping fails. */
void *guest_ram_alloc(size_t size);
/* Gives the buffer back: kept for reuse, or unmapped when the pool is full. */
void guest_ram_free(void *ram, size_t size);

#endif
