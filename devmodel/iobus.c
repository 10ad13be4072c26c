/* The port-I/O and MMIO buses: a sorted array of non-overlapping regions searched by binary
 * search on every exit, with unclaimed or malformed accesses answered like an empty ISA bus. */
#include "devmodel/iobus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* All-ones for an access of size bytes (size already checked to be 1, 2, 4 or 8). */
static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

static bool size_ok(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

void iobus_init(struct iobus *bus, const char *space)
{
	memset(bus, 0, sizeof(*bus));
	bus->space = space ? space : "bus";
}

void iobus_destroy(struct iobus *bus)
{
	if (!bus)
		return;
	for (unsigned i = 0; i < bus->nregions; i++)
		free((char *)bus->regions[i].name); /* our strdup() from iobus_register */
	free(bus->regions);
	bus->regions = NULL;
	bus->nregions = bus->cap = 0;
}

/* Index of the first region whose base is > addr (so the candidate holding addr is the one
 * just before it). */
static unsigned upper_bound(const struct iobus *bus, uint64_t addr)
{
	unsigned lo = 0, hi = bus->nregions;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (bus->regions[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int iobus_register(struct iobus *bus, uint64_t base, uint64_t len, const char *name,
		   iobus_access_fn access, void *owner, struct errmsg *e)
{
	if (!name)
		name = "?";
	if (len == 0)
		return errmsg_set(e, EINVAL, "%s: %s: zero-length region at 0x%" PRIx64, bus->space,
				  name, base);
	/* [base, base+len) must be representable: base+len == 2^64 wraps to 0 and is refused
	 * too, so that every end address the bus computes fits in 64 bits. */
	if (base + len <= base)
		return errmsg_set(e, EINVAL, "%s: %s: region 0x%" PRIx64 "+0x%" PRIx64
				  " wraps around the address space", bus->space, name, base, len);
	if (!access)
		return errmsg_set(e, EINVAL, "%s: %s: no access function", bus->space, name);

	unsigned pos = upper_bound(bus, base);
	/* Only the neighbours can overlap: the one before pos (starts at or below base) and the
	 * one at pos (starts above base). */
	const struct iobus_region *clash = NULL;
	if (pos > 0 && bus->regions[pos - 1].base + bus->regions[pos - 1].len > base)
		clash = &bus->regions[pos - 1];
	else if (pos < bus->nregions && bus->regions[pos].base < base + len)
		clash = &bus->regions[pos];
	if (clash)
		return errmsg_set(e, EEXIST, "%s: %s [0x%" PRIx64 ",0x%" PRIx64 ") overlaps %s [0x%" PRIx64
				  ",0x%" PRIx64 ")", bus->space, name, base, base + len, clash->name,
				  clash->base, clash->base + clash->len);

	if (bus->nregions == bus->cap) {
		unsigned ncap = bus->cap ? bus->cap * 2 : 16;
		struct iobus_region *r = realloc(bus->regions, ncap * sizeof(*r));
		if (!r)
			return errmsg_set(e, ENOMEM, "%s: %s: out of memory", bus->space, name);
		bus->regions = r;
		bus->cap = ncap;
	}
	char *copy = strdup(name); /* names outlive the caller's buffers in traces and stats */
	if (!copy)
		return errmsg_set(e, ENOMEM, "%s: %s: out of memory", bus->space, name);
	memmove(&bus->regions[pos + 1], &bus->regions[pos],
		(bus->nregions - pos) * sizeof(bus->regions[0]));
	bus->regions[pos] = (struct iobus_region){
		.base = base, .len = len, .name = copy, .access = access, .owner = owner,
	};
	bus->nregions++;
	return 0;
}

const struct iobus_region *iobus_find(const struct iobus *bus, uint64_t addr)
{
	unsigned pos = upper_bound(bus, addr);
	if (pos == 0)
		return NULL;
	const struct iobus_region *r = &bus->regions[pos - 1];
	return addr - r->base < r->len ? r : NULL;
}

int iobus_access(struct iobus *bus, uint64_t addr, unsigned size, bool is_write, uint64_t *value)
{
	if (!size_ok(size)) {
		/* A size the CPU cannot produce: a caller bug, but still answer with all-ones so no
		 * uninitialised value reaches the guest. */
		if (!is_write)
			*value = UINT64_MAX;
		bus->unclaimed++;
		return -EINVAL;
	}
	uint64_t mask = size_mask(size);
	const struct iobus_region *r = iobus_find(bus, addr);
	uint64_t off = r ? addr - r->base : 0;
	/* The access must lie wholly inside one region; one that runs past the end (or off the
	 * top of the address space) is nobody's, like a decode miss on real hardware. */
	if (!r || size > r->len - off) {
		if (!is_write)
			*value = mask;
		bus->unclaimed++;
		return -ENOENT;
	}
	uint64_t v = is_write ? (*value & mask) : 0;
	int rc = r->access(r->owner, off, size, is_write, &v);
	if (rc < 0) {
		bus->device_errors++;
		if (!is_write)
			*value = mask;
		return rc;
	}
	if (!is_write)
		*value = v & mask;
	return 0;
}
