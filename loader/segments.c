/* Checks a parsed kernel's segments against guest RAM, the loader's low-memory structures and
 * each other, finds the physical entry point, and copies the segments in (bounds-checked). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "loader/loader_int.h"

const char *ldr_ram_str(const struct gmem *m, char *buf, size_t size)
{
	if (m->ram_size % LDR_MIB == 0)
		snprintf(buf, size, "%" PRIu64 " MiB", m->ram_size / LDR_MIB);
	else
		snprintf(buf, size, "%" PRIu64 " KiB", m->ram_size / 1024);
	return buf;
}

static int check_one(const struct gmem *m, const struct ldr_seg *s, enum boot_mode mode,
		     struct errmsg *e)
{
	uint64_t lo = s->paddr, hi = s->paddr + s->memsz; /* no wrap: checked by the parser */
	char ram[32];

	if (lo < BOOT_KERNEL_MIN)
		return errmsg_set(e, EINVAL, "%s [0x%" PRIx64 ", 0x%" PRIx64 ") starts below 1 MiB and would overlap the loader's boot structures",
				  s->name, lo, hi);
	/* With paging off a 32-bit kernel cannot address anything above 4 GiB. */
	if (mode == BOOT_MODE_PROT32 && hi > LDR_4GIB)
		return errmsg_set(e, EINVAL, "%s [0x%" PRIx64 ", 0x%" PRIx64 ") reaches above 4 GiB, out of reach of a 32-bit entry",
				  s->name, lo, hi);
	if (!gmem_map(m, lo, s->memsz))
		return errmsg_set(e, EINVAL, "%s [0x%" PRIx64 ", 0x%" PRIx64 ") lies outside guest RAM (%s)",
				  s->name, lo, hi, ldr_ram_str(m, ram, sizeof(ram)));
	return 0;
}

/* The entry address is what the image says: for ELF that is virtual. It is accepted when it lies
 * inside a segment's virtual range (then translated to the same byte's physical address) or, for
 * images whose e_entry is already physical (Linux vmlinux), inside a segment's physical range.
 * The CPU starts at the physical address in both modes: with paging off that is the only
 * meaning, and in long mode our page tables are an identity map, so a higher-half virtual
 * entry would not be mapped at all. */
static int find_entry(struct ldr_kernel *k, struct errmsg *e)
{
	for (unsigned i = 0; i < k->nseg; i++) {
		const struct ldr_seg *s = &k->seg[i];
		if (k->entry >= s->vaddr && k->entry - s->vaddr < s->memsz) {
			k->entry_pa = s->paddr + (k->entry - s->vaddr);
			return 0;
		}
	}
	for (unsigned i = 0; i < k->nseg; i++) {
		const struct ldr_seg *s = &k->seg[i];
		if (k->entry >= s->paddr && k->entry - s->paddr < s->memsz) {
			k->entry_pa = k->entry;
			return 0;
		}
	}
	return errmsg_set(e, EINVAL, "entry point 0x%" PRIx64 " is not inside any loaded segment", k->entry);
}

int ldr_segments_check(const struct gmem *m, struct ldr_kernel *k, enum boot_mode mode,
		       struct errmsg *e)
{
	if (k->nseg == 0)
		return errmsg_set(e, EINVAL, "the image has nothing to load");
	for (unsigned i = 0; i < k->nseg; i++) {
		int r = check_one(m, &k->seg[i], mode, e);
		if (r < 0)
			return r;
	}
	/* Quadratic, but nseg <= LOADER_MAX_SEGMENTS. */
	for (unsigned i = 0; i < k->nseg; i++) {
		const struct ldr_seg *a = &k->seg[i];
		for (unsigned j = i + 1; j < k->nseg; j++) {
			const struct ldr_seg *b = &k->seg[j];
			if (a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz)
				return errmsg_set(e, EINVAL, "%s [0x%" PRIx64 ", 0x%" PRIx64 ") and %s [0x%" PRIx64 ", 0x%" PRIx64 ") overlap",
						  a->name, a->paddr, a->paddr + a->memsz, b->name, b->paddr, b->paddr + b->memsz);
		}
	}
	return find_entry(k, e);
}

int ldr_segments_copy(const struct gmem *m, const struct ldr_kernel *k, struct errmsg *e)
{
	for (unsigned i = 0; i < k->nseg; i++) {
		const struct ldr_seg *s = &k->seg[i];
		/* Both calls are bounds-checked again, though ldr_segments_check already saw the range. */
		if (gmem_write(m, s->paddr, s->data, s->filesz) < 0 ||
		    gmem_zero(m, s->paddr + s->filesz, s->memsz - s->filesz) < 0)
			return errmsg_set(e, EFAULT, "%s: copy into guest RAM failed", s->name);
	}
	return 0;
}

void ldr_segments_span(const struct ldr_kernel *k, uint64_t *lo, uint64_t *hi)
{
	*lo = UINT64_MAX;
	*hi = 0;
	for (unsigned i = 0; i < k->nseg; i++) {
		if (k->seg[i].paddr < *lo)
			*lo = k->seg[i].paddr;
		if (k->seg[i].paddr + k->seg[i].memsz > *hi)
			*hi = k->seg[i].paddr + k->seg[i].memsz;
	}
}
