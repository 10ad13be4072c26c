/* Door 1 of DESIGN.md: the port-I/O and MMIO buses. A device claims [base, base+len) with one
 * call; the exit path asks the bus for the value of a read or hands it a write. */
#ifndef DHYVE_DEVMODEL_IOBUS_H
#define DHYVE_DEVMODEL_IOBUS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errmsg.h"

/* offset is relative to the region's base; size is 1, 2, 4 or 8. A read stores its result in
 * *value; a write takes *value. Return 0, or a negative errno that the bus counts as a device
 * error (the guest then reads all-ones; the VM keeps running). */
typedef int (*iobus_access_fn)(void *owner, uint64_t offset, unsigned size, bool is_write,
			       uint64_t *value);

struct iobus_region {
	uint64_t base, len;
	const char *name;     /* for errors, stats and traces: "com1", "pm1a_cnt" */
	iobus_access_fn access;
	void *owner;
};

struct iobus {
	const char *space;    /* "pio" or "mmio", for messages */
	struct iobus_region *regions; /* sorted by base, never overlapping */
	unsigned nregions, cap;
	uint64_t unclaimed;   /* accesses nobody claimed (reads return all-ones, writes vanish) */
	uint64_t device_errors; /* accesses a device refused with a negative errno (reads all-ones) */
};

void iobus_init(struct iobus *bus, const char *space);
void iobus_destroy(struct iobus *bus);
/* Claims [base, base+len); -EEXIST with a message naming both devices on overlap. */
int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, const char *name,
		   iobus_access_fn access, void *owner, struct errmsg *e);
/* The region holding addr, or NULL. Binary search: exits are the hot path. */
const struct iobus_region *iobus_find(const struct iobus *bus, uint64_t addr);
/* Dispatch one access. An access nobody claims reads as all-ones (like an empty ISA bus) and
 * returns -ENOENT; an access that straddles the end of a region is treated the same way.
 * A size other than 1, 2, 4, 8 gives -EINVAL (reads all-ones, counted as unclaimed). Writes hand
 * the device the value masked to size; reads are masked to size. A device error is returned
 * as is and counted in device_errors; the read then yields all-ones. */
int iobus_access(struct iobus *bus, uint64_t addr, unsigned size, bool is_write, uint64_t *value);

#endif
