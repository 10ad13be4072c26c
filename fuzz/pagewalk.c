/* Fuzz target pagewalk: guest page tables are guest-controlled, so the input is the paging mode,
 * CR3, an address and the guest memory itself; the walk must end in a result the CPU could give. */
#include <stdbool.h>
#include <string.h>

#include "base/pagewalk.h"
#include "fuzz/fuzz_check.h"

/* Input: mode:1 cr3:8 gva:8, then guest memory (zero-padded to whole pages, at most MAX_RAM). */
#define HDR      17
#define MAX_RAM  (256u << 10)
#define COPY_LEN 64

/* Mode byte bits → the control-register bits the walker looks at. */
static void regs_from_mode(uint8_t mode, struct paging_regs *pr)
{
	memset(pr, 0, sizeof(*pr));
	if (mode & 0x01)
		pr->cr0 |= 1ull << 31; /* PG */
	if (mode & 0x02)
		pr->cr4 |= 1ull << 5;  /* PAE */
	if (mode & 0x04)
		pr->efer |= 1ull << 10; /* LMA */
	if (mode & 0x08)
		pr->cr4 |= 1ull << 12; /* LA57 */
	if (mode & 0x10)
		pr->cr4 |= 1ull << 4;  /* PSE */
	if (mode & 0x20)
		pr->efer |= 1ull << 11; /* NXE */
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void check_walk(const struct paging_regs *pr, uint64_t gva, enum pagewalk_result r, const struct pagewalk *w)
{
	bool paging = pr->cr0 & (1ull << 31), lm = paging && (pr->efer & (1ull << 10));
	bool pae = !lm && paging && (pr->cr4 & (1ull << 5));
	FUZZ_CHECK(r <= PAGEWALK_OK && r >= PAGEWALK_RESERVED && strcmp(pagewalk_result_name(r), "unknown") != 0,
		   "result %d", r);
	int max_levels = !paging ? 0 : lm ? ((pr->cr4 & (1ull << 12)) ? 5 : 4) : pae ? 3 : 2;
	FUZZ_CHECK(w->levels >= 0 && w->levels <= max_levels, "%d levels walked, at most %d", w->levels, max_levels);
	FUZZ_CHECK(w->failed_level >= 0 && w->failed_level <= max_levels, "failed at level %d", w->failed_level);
	for (int i = w->levels; i < 5; i++)
		FUZZ_CHECK(w->entries[i] == 0, "entry %d set beyond the walk", i);
	FUZZ_CHECK(r != PAGEWALK_NONCANONICAL || lm, "non-canonical outside long mode");
	FUZZ_CHECK(!w->nx || (pr->efer & (1ull << 11)), "NX without EFER.NXE");
	if (r != PAGEWALK_OK)
		return;
	FUZZ_CHECK(w->failed_level == 0, "success with a failed level");
	uint64_t va = lm ? gva : (uint32_t)gva, ps = w->page_size;
	FUZZ_CHECK(ps == 0x1000 || (ps == (2u << 20) && (lm || pae)) || (ps == (4u << 20) && paging && !lm && !pae) ||
		   (ps == (1u << 30) && lm), "page size %#llx in this mode", (unsigned long long)ps);
	FUZZ_CHECK((w->gpa & (ps - 1)) == (va & (ps - 1)), "offset within the page not kept");
	FUZZ_CHECK(paging || (w->gpa == va && w->levels == 0), "paging off but translated");
	if (!lm)
		FUZZ_CHECK(pae || ps == (4u << 20) || w->gpa <= UINT32_MAX, "32-bit paging beyond 4 GiB");
}

static bool same_walk(const struct pagewalk *a, const struct pagewalk *b)
{
	return a->gpa == b->gpa && a->page_size == b->page_size && a->levels == b->levels &&
	       a->failed_level == b->failed_level && memcmp(a->entries, b->entries, sizeof(a->entries)) == 0 &&
	       a->writable == b->writable && a->user == b->user && a->nx == b->nx;
}

/* Reading through the tables and writing the same bytes back must copy the same amount, start
 * with the translated byte, and leave memory as it was. */
static void check_copy(const struct gmem *m, const struct paging_regs *pr, uint64_t gva, enum pagewalk_result r,
		       const struct pagewalk *w, const uint8_t *ram, const uint8_t *orig, size_t ram_size)
{
	uint8_t buf[COPY_LEN];
	size_t n = pagewalk_read(m, pr, gva, buf, sizeof(buf));
	FUZZ_CHECK(n <= sizeof(buf), "read %zu bytes", n);
	const uint8_t *first = r == PAGEWALK_OK ? gmem_map(m, w->gpa, 1) : NULL;
	FUZZ_CHECK(first ? n >= 1 && buf[0] == *first : n == 0, "read of %zu bytes disagrees with the walk", n);
	size_t n2 = pagewalk_write(m, pr, gva, buf, n);
	FUZZ_CHECK(n2 == n, "wrote %zu of %zu bytes read", n2, n);
	FUZZ_CHECK(memcmp(ram, orig, ram_size) == 0, "writing back what was read changed memory");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < HDR)
		return 0;
	size_t body = size - HDR < MAX_RAM ? size - HDR : MAX_RAM;
	size_t ram_size = (body + 0xfff) & ~(size_t)0xfff;
	if (!ram_size)
		ram_size = 0x1000;
	uint8_t *ram = calloc(1, ram_size), *orig = malloc(ram_size);
	if (ram && orig) {
		memcpy(ram, data + HDR, body);
		memcpy(orig, ram, ram_size);
		struct gmem m;
		gmem_init_flat(&m, ram, ram_size);
		struct paging_regs pr;
		regs_from_mode(data[0], &pr);
		pr.cr3 = get64(data + 1);
		uint64_t gva = get64(data + 9);

		struct pagewalk w, w2;
		enum pagewalk_result r = pagewalk_translate(&m, &pr, gva, &w);
		check_walk(&pr, gva, r, &w);
		/* Same tables, same answer: the walker keeps no state. */
		FUZZ_CHECK(pagewalk_translate(&m, &pr, gva, &w2) == r && same_walk(&w, &w2), "second walk differs");
		check_copy(&m, &pr, gva, r, &w, ram, orig, ram_size);
	}
	free(ram);
	free(orig);
	return 0;
}
