/* The BIOS-style memory map (e820) a Linux kernel gets in boot_params: guest RAM from the memory
 * slots, minus the PC's legacy hole and the ranges the machine reserves, which are listed too. */
#include <errno.h>
#include <inttypes.h>

#include "loader/loader_int.h"

/* [0xa0000, 0x100000) is VGA memory and ROM on a PC: never RAM to an OS, even where our slot has
 * RAM behind it (firmware tables may sit at its top; the caller then lists them as reserved). */
#define LEGACY_HOLE_LO 0xa0000ull
#define LEGACY_HOLE_HI 0x100000ull

static int add(struct ldr_e820 *map, uint64_t addr, uint64_t size, uint32_t type, struct errmsg *e)
{
	if (size == 0)
		return 0;
	if (map->n == LDR_E820_MAX)
		return errmsg_set(e, E2BIG, "more than %d memory map entries", LDR_E820_MAX);
	map->entry[map->n++] = (struct ldr_e820_entry){ addr, size, type };
	return 0;
}

/* Adds [lo, hi) as RAM with every cut removed (cuts need not be sorted or disjoint). */
static int add_ram(struct ldr_e820 *map, uint64_t lo, uint64_t hi, const struct loader_range *cut,
		   unsigned ncut, struct errmsg *e)
{
	for (;;) {
		/* Step over every cut that covers lo (they may chain: a cut ending inside the next). */
		for (bool moved = true; moved;) {
			moved = false;
			for (unsigned i = 0; i < ncut; i++)
				if (cut[i].gpa <= lo && lo < cut[i].gpa + cut[i].len) {
					lo = cut[i].gpa + cut[i].len;
					moved = true;
				}
		}
		if (lo >= hi)
			return 0;
		/* RAM up to the next cut's start. */
		uint64_t end = hi;
		for (unsigned i = 0; i < ncut; i++)
			if (cut[i].gpa > lo && cut[i].gpa < end)
				end = cut[i].gpa;
		int r = add(map, lo, end - lo, LDR_E820_RAM, e);
		if (r < 0)
			return r;
		lo = end;
	}
}

static void sort(struct ldr_e820 *map)
{
	for (unsigned i = 1; i < map->n; i++) /* insertion sort: a dozen entries at most */
		for (unsigned j = i; j > 0 && map->entry[j].addr < map->entry[j - 1].addr; j--) {
			struct ldr_e820_entry t = map->entry[j];
			map->entry[j] = map->entry[j - 1];
			map->entry[j - 1] = t;
		}
}

int ldr_e820_build(const struct gmem *m, const struct loader_range *reserved, unsigned nreserved,
		   struct ldr_e820 *map, struct errmsg *e)
{
	struct loader_range cut[LOADER_MAX_RESERVED + 1];
	if (nreserved > LOADER_MAX_RESERVED)
		return errmsg_set(e, E2BIG, "more than %d reserved ranges", LOADER_MAX_RESERVED);
	for (unsigned i = 0; i < nreserved; i++) {
		if (reserved[i].gpa + reserved[i].len < reserved[i].gpa)
			return errmsg_set(e, EINVAL, "reserved range at 0x%" PRIx64 " wraps around", reserved[i].gpa);
		cut[i] = reserved[i];
	}
	cut[nreserved] = (struct loader_range){ LEGACY_HOLE_LO, LEGACY_HOLE_HI - LEGACY_HOLE_LO };

	map->n = 0;
	for (unsigned s = 0; s < m->nslots; s++) {
		int r = add_ram(map, m->slot[s].gpa, m->slot[s].gpa + m->slot[s].size, cut, nreserved + 1, e);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < nreserved; i++) {
		int r = add(map, reserved[i].gpa, reserved[i].len, LDR_E820_RESERVED, e);
		if (r < 0)
			return r;
	}
	sort(map);
	return 0;
}
