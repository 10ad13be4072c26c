/* Guest-physical memory as devices, loaders and debuggers see it: a bounds-checked view.
 * Every access by a device goes through gmem_map(), so a wild guest address is an error, never a host fault. */
#ifndef DHYVE_BASE_GMEM_H
#define DHYVE_BASE_GMEM_H

#include <stddef.h>
#include <stdint.h>

#define GMEM_MAX_SLOTS 4

struct gmem_slot {
	uint64_t gpa;   /* first guest-physical address */
	uint64_t size;  /* bytes */
	uint8_t *host;  /* host mapping of the first byte */
};

/* Who is told about device accesses to guest memory (DESIGN.md door 2): the recorder logs the
 * bytes a device wrote and read. Called after the access, with the range it covered. */
struct gmem_observer {
	void (*wrote)(void *ctx, uint64_t gpa, uint64_t len);
	void (*read)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};

/* A guest's RAM: a few disjoint slots (below and above the PCI hole). Plain data, so a
 * unit test or fuzz harness builds one over a malloc'd buffer with gmem_init_flat(). */
struct gmem {
	struct gmem_slot slot[GMEM_MAX_SLOTS];
	unsigned nslots;
	uint64_t ram_size; /* total bytes of RAM over all slots */
	/* NULL but in the copy a machine hands its devices while recording: debugger and loader
	 * writes go through the VM's own view and are not device input. */
	const struct gmem_observer *observer;
};

/* One slot [0, size) over host buffer buf. */
void gmem_init_flat(struct gmem *m, void *buf, uint64_t size);
/* Adds a slot; -EINVAL if it overlaps another or the table is full. */
int gmem_add_slot(struct gmem *m, uint64_t gpa, uint64_t size, void *host);

/* Host pointer for [gpa, gpa+len) if the whole range lies inside one slot, else NULL.
 * len 0 is refused (NULL) so that callers cannot skip the check by accident. */
void *gmem_map(const struct gmem *m, uint64_t gpa, uint64_t len);
/* Copies; return 0 or -EFAULT when any byte is outside guest RAM (nothing is copied then). */
int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, uint64_t len);
int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, uint64_t len);
/* Fills [gpa, gpa+len) with zeroes; -EFAULT when outside. */
int gmem_zero(const struct gmem *m, uint64_t gpa, uint64_t len);
/* For a device that wrote or read guest memory through a gmem_map() pointer: tells the
 * observer, if any (the copies above do it themselves). */
void gmem_note_write(const struct gmem *m, uint64_t gpa, uint64_t len);
void gmem_note_read(const struct gmem *m, uint64_t gpa, uint64_t len);

#endif
