/* Guest page-table walker: x86 paging in every mode (none, 32-bit, PAE, 4- and 5-level long mode)
 * done in software over guest memory, so a hostile table gives an error result, never a host fault. */
#include "base/pagewalk.h"

#include <stdbool.h>
#include <string.h>

#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)
#define PTE_XD (1ull << 63)

/* Table and frame addresses in 64-bit entries: bits 51:12. We assume the architectural maximum
 * MAXPHYADDR of 52 because the walker does not know the guest's CPUID; a smaller one only
 * makes some addresses that we accept lie outside RAM, which gmem then refuses. */
#define ADDR_MASK_64 0x000ffffffffff000ull
#define PAGE_SIZE_4K 0x1000ull

/* Bits hi..lo of a 64-bit value set (hi >= lo). */
static uint64_t bit_range(unsigned hi, unsigned lo)
{
	return (~0ull >> (63 - hi)) & ~((1ull << lo) - 1);
}

static enum pagewalk_result fail(struct pagewalk *out, enum pagewalk_result r, int level)
{
	out->failed_level = level;
	return r;
}

/* Reads the entry of a table at gpa (size 4 or 8 bytes), records it for diagnostics and checks P.
 * Only gmem_read touches guest memory, so a table outside RAM is BAD_TABLE, not a fault.
 * Reserved bits are checked by the callers, after P, because the CPU ignores every other bit
 * of a not-present entry. */
static enum pagewalk_result read_entry(const struct gmem *m, uint64_t gpa, unsigned size, int level,
				       struct pagewalk *out, uint64_t *entry)
{
	uint64_t e;
	if (size == 4) {
		uint32_t e32;
		if (gmem_read(m, gpa, &e32, sizeof(e32)) < 0)
			return fail(out, PAGEWALK_BAD_TABLE, level);
		e = e32;
	} else if (gmem_read(m, gpa, &e, sizeof(e)) < 0) {
		return fail(out, PAGEWALK_BAD_TABLE, level);
	}
	out->entries[out->levels++] = e;
	*entry = e;
	if (!(e & PTE_P))
		return fail(out, PAGEWALK_NOT_PRESENT, level);
	return PAGEWALK_OK;
}

/* Access rights are the most restrictive over all levels: a write or user access needs R/W and
 * U/S at every level, and XD at any level forbids execution. */
static void combine_rights(struct pagewalk *out, uint64_t e, bool has_xd)
{
	out->writable &= (e & PTE_RW) != 0;
	out->user &= (e & PTE_US) != 0;
	if (has_xd)
		out->nx |= (e & PTE_XD) != 0;
}

/* 32-bit paging: a page directory of 1024 4-byte entries at CR3[31:12], then a page table; with
 * CR4.PSE a PDE with PS maps 4 MiB, and its bits 20:13 are physical bits 39:32 (PSE-36/40). */
static enum pagewalk_result walk_32(const struct gmem *m, const struct paging_regs *pr, uint32_t va,
				    struct pagewalk *out)
{
	uint64_t pde, pte;
	enum pagewalk_result r = read_entry(m, (pr->cr3 & 0xfffff000u) + (uint64_t)(va >> 22) * 4, 4, 2, out, &pde);
	if (r != PAGEWALK_OK)
		return r;
	combine_rights(out, pde, false);
	if ((pr->cr4 & CR4_PSE) && (pde & PTE_PS)) {
		if (pde & (1ull << 21)) /* the one bit of a 4 MiB PDE that is always reserved */
			return fail(out, PAGEWALK_RESERVED, 2);
		out->gpa = (pde & 0xffc00000u) | ((pde & bit_range(20, 13)) << 19) | (va & 0x3fffffu);
		out->page_size = 4ull << 20;
		return PAGEWALK_OK;
	}
	/* Without CR4.PSE the PS bit is ignored and the PDE points at a page table as usual. */
	r = read_entry(m, (pde & 0xfffff000u) + (uint64_t)((va >> 12) & 0x3ff) * 4, 4, 1, out, &pte);
	if (r != PAGEWALK_OK)
		return r;
	combine_rights(out, pte, false);
	out->gpa = (pte & 0xfffff000u) | (va & 0xfffu);
	out->page_size = PAGE_SIZE_4K;
	return PAGEWALK_OK;
}

/* The 512-entry, 8-byte-entry tables shared by PAE (levels 2..1) and long mode (levels 5/4..1).
 * high_rsvd: bits reserved in every entry of this mode besides XD (PAE reserves 62:52, long mode
 * leaves them to software). The walk is bounded by the level count, so tables that point at
 * themselves or each other end after at most five reads, like on the CPU. */
static enum pagewalk_result walk_tables(const struct gmem *m, uint64_t table, uint64_t va, int top,
					uint64_t high_rsvd, bool nxe, struct pagewalk *out)
{
	uint64_t rsvd_all = high_rsvd | (nxe ? 0 : PTE_XD);
	for (int level = top;; level--) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		uint64_t e;
		enum pagewalk_result r = read_entry(m, table + ((va >> shift) & 511) * 8, 8, level, out, &e);
		if (r != PAGEWALK_OK)
			return r;
		/* PS at level 1 is the PAT bit, not a page-size bit. */
		bool large = level > 1 && (e & PTE_PS);
		uint64_t rsvd = rsvd_all;
		if (large && level >= 4) /* no 512 GiB pages: PS is reserved in PML4Es and PML5Es */
			return fail(out, PAGEWALK_RESERVED, level);
		if (large) /* between the PAT bit (12) and the frame: bits 20:13 or 29:13 */
			rsvd |= bit_range(shift - 1, 13);
		if (e & rsvd)
			return fail(out, PAGEWALK_RESERVED, level);
		combine_rights(out, e, nxe);
		if (large || level == 1) {
			uint64_t size = 1ull << shift;
			out->gpa = (e & ADDR_MASK_64 & ~(size - 1)) | (va & (size - 1));
			out->page_size = size;
			return PAGEWALK_OK;
		}
		table = e & ADDR_MASK_64;
	}
}

/* PAE: CR3[31:5] holds a 4-entry PDPT. Its entries carry no access rights (R/W, U/S and XD are
 * reserved there), then come a page directory (2 MiB pages) and a page table. */
static enum pagewalk_result walk_pae(const struct gmem *m, const struct paging_regs *pr, uint32_t va,
				     struct pagewalk *out)
{
	uint64_t pdpte;
	enum pagewalk_result r = read_entry(m, (pr->cr3 & 0xffffffe0u) + (uint64_t)(va >> 30) * 8, 8, 3, out, &pdpte);
	if (r != PAGEWALK_OK)
		return r;
	if (pdpte & (bit_range(63, 52) | bit_range(8, 5) | bit_range(2, 1)))
		return fail(out, PAGEWALK_RESERVED, 3);
	return walk_tables(m, pdpte & ADDR_MASK_64, va, 2, bit_range(62, 52), (pr->efer & EFER_NXE) != 0, out);
}

/* A linear address is canonical when bits 63..vbits-1 are all equal (the sign extension of the
 * top implemented bit). */
static bool is_canonical(uint64_t va, unsigned vbits)
{
	uint64_t top = va >> (vbits - 1);
	return top == 0 || top == (~0ull >> (vbits - 1));
}

/* Long mode: 4 levels (48-bit addresses) or 5 with CR4.LA57 (57-bit); CR3[51:12] is the root. */
static enum pagewalk_result walk_long(const struct gmem *m, const struct paging_regs *pr, uint64_t va,
				      struct pagewalk *out)
{
	bool la57 = (pr->cr4 & CR4_LA57) != 0;
	if (!is_canonical(va, la57 ? 57 : 48))
		return fail(out, PAGEWALK_NONCANONICAL, 0);
	return walk_tables(m, pr->cr3 & ADDR_MASK_64, va, la57 ? 5 : 4, 0, (pr->efer & EFER_NXE) != 0, out);
}

enum pagewalk_result pagewalk_translate(const struct gmem *m, const struct paging_regs *pr, uint64_t gva,
					struct pagewalk *out)
{
	memset(out, 0, sizeof(*out));
	/* Start from full rights; each level can only take them away. */
	out->writable = 1;
	out->user = 1;
	if (!(pr->cr0 & CR0_PG)) {
		/* No paging means no long mode either: linear addresses are 32 bits and wrap. */
		out->gpa = gva & 0xffffffffu;
		out->page_size = PAGE_SIZE_4K;
		return PAGEWALK_OK;
	}
	if (pr->efer & EFER_LMA)
		return walk_long(m, pr, gva, out);
	/* Outside long mode linear addresses are 32 bits: the upper half of gva cannot matter. */
	if (pr->cr4 & CR4_PAE)
		return walk_pae(m, pr, (uint32_t)gva, out);
	return walk_32(m, pr, (uint32_t)gva, out);
}

/* Copies len bytes between buf and guest-physical gpa; returns how many were copied before the
 * first byte outside RAM. The fast path is one gmem_map; the byte-by-byte fallback finds the
 * exact stopping point and also crosses from one RAM slot into an adjacent one. */
static size_t copy_phys(const struct gmem *m, uint64_t gpa, uint8_t *buf, size_t len, bool write)
{
	uint8_t *host = gmem_map(m, gpa, len);
	if (host) {
		if (write)
			memcpy(host, buf, len);
		else
			memcpy(buf, host, len);
		return len;
	}
	size_t done = 0;
	for (; done < len; done++) {
		host = gmem_map(m, gpa + done, 1);
		if (!host)
			break;
		if (write)
			*host = buf[done];
		else
			buf[done] = *host;
	}
	return done;
}

/* Translates again at every 4 KiB boundary of the virtual range, even inside a large page:
 * that keeps each physical chunk within one 4 KiB frame, and linear addresses that wrap (at
 * 4 GiB without long mode) are translated where they land. */
static size_t pagewalk_copy(const struct gmem *m, const struct paging_regs *pr, uint64_t gva, uint8_t *buf,
			    size_t len, bool write)
{
	size_t done = 0;
	while (done < len) {
		uint64_t va = gva + done;
		struct pagewalk w;
		if (pagewalk_translate(m, pr, va, &w) != PAGEWALK_OK)
			break;
		size_t chunk = PAGE_SIZE_4K - (va & (PAGE_SIZE_4K - 1));
		if (chunk > len - done)
			chunk = len - done;
		size_t n = copy_phys(m, w.gpa, buf + done, chunk, write);
		done += n;
		if (n < chunk)
			break;
	}
	return done;
}

size_t pagewalk_read(const struct gmem *m, const struct paging_regs *pr, uint64_t gva, void *dst, size_t len)
{
	return pagewalk_copy(m, pr, gva, dst, len, false);
}

size_t pagewalk_write(const struct gmem *m, const struct paging_regs *pr, uint64_t gva, const void *src,
		      size_t len)
{
	/* pagewalk_copy only reads from the buffer when write is true. */
	return pagewalk_copy(m, pr, gva, (uint8_t *)src, len, true);
}

const char *pagewalk_result_name(enum pagewalk_result r)
{
	switch (r) {
	case PAGEWALK_OK:
		return "ok";
	case PAGEWALK_NOT_PRESENT:
		return "not present";
	case PAGEWALK_BAD_TABLE:
		return "table outside RAM";
	case PAGEWALK_NONCANONICAL:
		return "non-canonical address";
	case PAGEWALK_RESERVED:
		return "reserved bits set";
	}
	return "unknown";
}
