/* Guest RAM for harnesses: zeroed pages from mmap with an inaccessible guard page on each side, so
 * a stray access past either end faults at once, and a fresh buffer per input costs no allocator churn. */
#ifndef DHYVE_FUZZ_GUEST_RAM_H
#define DHYVE_FUZZ_GUEST_RAM_H

#include <stddef.h>

/* size is rounded up to whole pages; NULL when the mapping fails. */
void *guest_ram_alloc(size_t size);
void guest_ram_free(void *ram, size_t size);

#endif
