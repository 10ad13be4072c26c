/* Guest RAM for harnesses through mmap, not malloc: ASan serves large blocks by mapping and
 * poisoning them anew each time, which made a 640 KiB guest cost over 100 us per input. Freed
 * mappings are kept, zeroed, for the next input: mapping, faulting in and unmapping 128 KiB cost
 * a virtio harness a fifth of its time (perf), a memset costs a few microseconds. */
#include "fuzz/guest_ram.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Enough for every harness's buffers at once (fw_cfg holds two: the RAM and the model's copy). */
#define POOL 8
#define MEMSET_MAX (128u * 1024)

static struct kept {
	uint8_t *ram;
	size_t len; /* page-rounded */
	bool in_use;
} pool[POOL];

static size_t page_round(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return (size + page - 1) / page * page;
}

static void *map_fresh(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, len + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Only the inside becomes accessible: the first and last page stay PROT_NONE guards. */
	if (mprotect(p + page, len, PROT_READ | PROT_WRITE) != 0) {
		munmap(p, len + 2 * page);
		return NULL;
	}
	return p + page;
}

void *guest_ram_alloc(size_t size)
{
	size_t len = page_round(size);
	struct kept *spare = NULL;
	for (unsigned i = 0; i < POOL; i++) {
		if (pool[i].ram && !pool[i].in_use && pool[i].len == len) {
			pool[i].in_use = true; /* zeroed when it was given back */
			return pool[i].ram;
		}
		if (!pool[i].ram && !spare)
			spare = &pool[i];
	}
	uint8_t *p = map_fresh(len);
	if (p && spare)
		*spare = (struct kept){ p, len, true };
	return p;
}

void guest_ram_free(void *ram, size_t size)
{
	if (!ram)
		return;
	size_t len = page_round(size);
	for (unsigned i = 0; i < POOL; i++) {
		if (pool[i].ram == ram) {
			/* A large guest (the loader's 720 KiB) mostly goes untouched: handing its pages back
			 * costs less than a memset, and they come back zeroed when touched. */
			if (len <= MEMSET_MAX || madvise(ram, len, MADV_DONTNEED) != 0)
				memset(ram, 0, len);
			pool[i].in_use = false;
			return;
		}
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	munmap((uint8_t *)ram - page, len + 2 * page);
}

#define TRACK_PAGE 4096u

static void note_write(void *ctx, uint64_t gpa, uint64_t len)
{
	struct guest_ram_dirty *d = ctx;
	if (gpa >= d->size || len == 0)
		return;
	uint64_t last = (gpa + len - 1 < d->size ? gpa + len - 1 : d->size - 1) / TRACK_PAGE;
	for (uint64_t pg = gpa / TRACK_PAGE; pg <= last; pg++) {
		if (pg >= GUEST_RAM_TRACKED_PAGES) {
			d->all = true;
			return;
		}
		d->pages[pg / 64] |= 1ull << (pg % 64);
	}
}

void guest_ram_track(struct guest_ram_dirty *d, struct gmem *m, uint64_t size)
{
	memset(d, 0, sizeof(*d));
	d->observer = (struct gmem_observer){ .wrote = note_write, .ctx = d };
	d->size = size;
	d->all = true; /* until the first zeroing, nothing is known about its contents */
	m->observer = &d->observer;
}

void guest_ram_zero_dirty(struct guest_ram_dirty *d, void *ram)
{
	if (d->all) {
		memset(ram, 0, d->size);
	} else {
		for (uint64_t pg = 0; pg < GUEST_RAM_TRACKED_PAGES && pg * TRACK_PAGE < d->size; pg++) {
			if (!(d->pages[pg / 64] & 1ull << (pg % 64)))
				continue;
			uint64_t at = pg * TRACK_PAGE, n = d->size - at < TRACK_PAGE ? d->size - at : TRACK_PAGE;
			memset((uint8_t *)ram + at, 0, n);
		}
	}
	d->all = false;
	memset(d->pages, 0, sizeof(d->pages));
}
