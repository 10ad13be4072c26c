/* Unit tests for the guest page-table walker: tables built by hand in a malloc'd guest RAM for
 * every paging mode, large pages, each failure kind and level, hostile tables, and copies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/pagewalk.h"

#define RAM_SIZE (16u << 20)

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define PS 0x80ull
#define XD (1ull << 63)

#define CR0_PG (1ull << 31)
#define CR0_PE 1ull
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

static uint8_t *ram;
static struct gmem mem;

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return -1;
	gmem_init_flat(&mem, ram, RAM_SIZE);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	ram = NULL;
	return 0;
}

static void put32(uint64_t gpa, uint32_t v)
{
	assert_int_equal(gmem_write(&mem, gpa, &v, sizeof(v)), 0);
}

static void put64(uint64_t gpa, uint64_t v)
{
	assert_int_equal(gmem_write(&mem, gpa, &v, sizeof(v)), 0);
}

static const struct paging_regs long4 = { .cr0 = CR0_PG | CR0_PE, .cr3 = 0x1000, .cr4 = CR4_PAE,
					  .efer = EFER_LME | EFER_LMA | EFER_NXE };

/* A 4-level chain for gva 0xffff800000201234: PML4 index 256 (bits 47:39), PDPT 0, PD 1, PT 1,
 * the tables at 0x1000..0x4000 and the page at 0x8000. */
#define CHAIN_VA 0xffff800000201234ull
#define CHAIN_PML4E 0x1800ull /* 0x1000 + 256 * 8 */
#define CHAIN_PDPTE 0x2000ull
#define CHAIN_PDE 0x3008ull
#define CHAIN_PTE 0x4008ull

static void build_chain(void)
{
	put64(CHAIN_PML4E, 0x2000 | P | RW | US);
	put64(CHAIN_PDPTE, 0x3000 | P | RW | US);
	put64(CHAIN_PDE, 0x4000 | P | RW | US);
	put64(CHAIN_PTE, 0x8000 | P | RW | US);
}

static void test_paging_off(void **state)
{
	(void)state;
	struct paging_regs pr = { .cr0 = CR0_PE, .cr3 = 0xdead000, .cr4 = CR4_PAE };
	struct pagewalk w;
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x12345678, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x12345678);
	assert_int_equal(w.levels, 0);
	assert_int_equal(w.page_size, 4 * KiB);
	assert_true(w.writable && w.user && !w.nx);
	/* Linear addresses are 32 bits without paging. */
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x100001234ull, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x1234);

	memcpy(ram + 0x5000, "hello", 5);
	char buf[5];
	assert_int_equal(pagewalk_read(&mem, &pr, 0x5000, buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);
	/* Beyond RAM: the translation is fine but nothing can be copied. */
	assert_int_equal(pagewalk_read(&mem, &pr, RAM_SIZE, buf, 5), 0);
	assert_int_equal(pagewalk_read(&mem, &pr, RAM_SIZE - 2, buf, 5), 2);
}

static void test_32bit_4k(void **state)
{
	(void)state;
	/* CR3 low bits (PWT/PCD) must be ignored. gva 0xc0401abc: PD index 0x301, PT index 1. */
	struct paging_regs pr = { .cr0 = CR0_PG | CR0_PE, .cr3 = 0x1018 };
	put32(0x1000 + 0x301 * 4, 0x2000 | P | RW | US);
	put32(0x2000 + 1 * 4, 0x5000 | P | US);
	struct pagewalk w;
	assert_int_equal(pagewalk_translate(&mem, &pr, 0xc0401abc, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x5abc);
	assert_int_equal(w.page_size, 4 * KiB);
	assert_int_equal(w.levels, 2);
	assert_int_equal(w.entries[0], 0x2000 | P | RW | US);
	assert_int_equal(w.entries[1], 0x5000 | P | US);
	assert_int_equal(w.writable, 0); /* the PTE is read-only */
	assert_int_equal(w.user, 1);
	assert_int_equal(w.nx, 0);
	assert_int_equal(w.failed_level, 0);
	/* Only the low 32 bits of a linear address count outside long mode. */
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x1c0401abcull, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x5abc);

	/* Not present in the PD, then in the PT. */
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x00001000, &w), PAGEWALK_NOT_PRESENT);
	assert_int_equal(w.failed_level, 2);
	assert_int_equal(w.levels, 1);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0xc0402000, &w), PAGEWALK_NOT_PRESENT);
	assert_int_equal(w.failed_level, 1);
	assert_int_equal(w.levels, 2);

	/* A PDE pointing at a page table outside RAM. */
	put32(0x1000 + 0x302 * 4, 0xff000000u | P);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0xc0800000, &w), PAGEWALK_BAD_TABLE);
	assert_int_equal(w.failed_level, 1);
	assert_int_equal(w.levels, 1);
}

static void test_32bit_4m(void **state)
{
	(void)state;
	struct paging_regs pr = { .cr0 = CR0_PG | CR0_PE, .cr3 = 0x1000, .cr4 = CR4_PSE };
	put32(0x1000 + 1 * 4, 0x00c00000 | PS | P | RW);
	/* PSE-36: bits 20:13 of a 4 MiB PDE are physical address bits 39:32. */
	put32(0x1000 + 2 * 4, 0x00400000 | (0x12u << 13) | PS | P | US);
	/* Bit 21 is reserved in a 4 MiB PDE. */
	put32(0x1000 + 3 * 4, 0x00800000 | (1u << 21) | PS | P);
	struct pagewalk w;
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x00512345, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x00d12345);
	assert_int_equal(w.page_size, 4 * MiB);
	assert_int_equal(w.levels, 1);
	assert_true(w.writable && !w.user);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x00823456, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x1200423456ull);
	assert_true(!w.writable && w.user);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x00c00000, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 2);

	/* Without CR4.PSE, PS is ignored: the same PDE points at a page table at its address. */
	pr.cr4 = 0;
	put32(0x00c00000 + 0x112 * 4, 0x7000 | P | RW | US);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x00512345, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x7345);
	assert_int_equal(w.page_size, 4 * KiB);
	assert_int_equal(w.levels, 2);
}

static void test_pae(void **state)
{
	(void)state;
	/* The PDPT is only 32-byte aligned: CR3 bits 31:5. gva 0x80201abc: PDPT 2, PD 1, PT 1. */
	struct paging_regs pr = { .cr0 = CR0_PG | CR0_PE, .cr3 = 0x1020, .cr4 = CR4_PAE, .efer = EFER_NXE };
	put64(0x1020 + 2 * 8, 0x2000 | P);
	put64(0x2000 + 1 * 8, 0x3000 | P | RW | US);
	put64(0x3000 + 1 * 8, 0x9000 | P | RW | US | XD);
	put64(0x2000 + 2 * 8, 0x00600000 | PS | P | RW);
	struct pagewalk w;
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x80201abc, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x9abc);
	assert_int_equal(w.page_size, 4 * KiB);
	assert_int_equal(w.levels, 3);
	assert_int_equal(w.entries[0], 0x2000 | P);
	assert_int_equal(w.entries[2], 0x9000 | P | RW | US | XD);
	/* The PDPTE has no R/W or U/S of its own (they are reserved there): rights come from below. */
	assert_true(w.writable && w.user && w.nx);

	/* 2 MiB page. */
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x80412345, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x612345);
	assert_int_equal(w.page_size, 2 * MiB);
	assert_int_equal(w.levels, 2);
	assert_true(w.writable && !w.user && !w.nx);

	/* Not present at each level. */
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x00000000, &w), PAGEWALK_NOT_PRESENT);
	assert_int_equal(w.failed_level, 3);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x80000000, &w), PAGEWALK_NOT_PRESENT);
	assert_int_equal(w.failed_level, 2);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x80200000, &w), PAGEWALK_NOT_PRESENT);
	assert_int_equal(w.failed_level, 1);

	/* XD without EFER.NXE is a reserved bit. */
	pr.efer = 0;
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x80201abc, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 1);
	pr.efer = EFER_NXE;
	/* R/W in a PAE PDPTE is reserved. */
	put64(0x1020 + 3 * 8, 0x2000 | P | RW);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0xc0000000, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 3);
	/* Bits 20:13 of a 2 MiB PDE are reserved. */
	put64(0x2000 + 3 * 8, 0x00800000 | (1ull << 13) | PS | P);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x80600000, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 2);
	/* PAE reserves bits 62:52 (long mode leaves them to software). */
	put64(0x3000 + 2 * 8, 0x9000 | (1ull << 52) | P);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x80202000, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 1);
}

static void test_long4_4k(void **state)
{
	(void)state;
	build_chain();
	struct pagewalk w;
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x8234);
	assert_int_equal(w.page_size, 4 * KiB);
	assert_int_equal(w.levels, 4);
	assert_int_equal(w.failed_level, 0);
	assert_int_equal(w.entries[0], 0x2000 | P | RW | US);
	assert_int_equal(w.entries[3], 0x8000 | P | RW | US);
	assert_true(w.writable && w.user && !w.nx);
	/* CR3's PCID bits (11:0) are not part of the address. */
	struct paging_regs pr = long4;
	pr.cr3 |= 0x123;
	assert_int_equal(pagewalk_translate(&mem, &pr, CHAIN_VA, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x8234);
	/* Bits 62:52 of a long-mode entry belong to software; a 52-bit frame is kept whole. */
	put64(CHAIN_PTE, 0x000ffffffffff000ull | (0x7ffull << 52) | P);
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x000ffffffffff234ull);
}

static void test_long4_large_pages(void **state)
{
	(void)state;
	build_chain();
	put64(0x3010, 0x00a00000 | PS | P | RW);                    /* PD[2]: 2 MiB at 10 MiB */
	put64(0x2008, 5 * GiB | PS | P | RW | US);                  /* PDPT[1]: 1 GiB at 5 GiB */
	put64(0x2010, 2 * GiB | (1ull << 13) | PS | P);             /* PDPT[2]: reserved bit 13 */
	put64(0x3018, 0x00c00000 | (1ull << 20) | PS | P);          /* PD[3]: reserved bit 20 */
	struct pagewalk w;
	assert_int_equal(pagewalk_translate(&mem, &long4, 0xffff800000454321ull, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0xa54321);
	assert_int_equal(w.page_size, 2 * MiB);
	assert_int_equal(w.levels, 3);
	assert_true(w.writable && !w.user);

	/* The 1 GiB page lies beyond the 16 MiB of RAM: it translates, but nothing reads. */
	assert_int_equal(pagewalk_translate(&mem, &long4, 0xffff800040123456ull, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 5 * GiB + 0x123456);
	assert_int_equal(w.page_size, GiB);
	assert_int_equal(w.levels, 2);
	assert_true(w.writable && w.user);
	uint8_t buf[16];
	assert_int_equal(pagewalk_read(&mem, &long4, 0xffff800040123456ull, buf, sizeof(buf)), 0);
	assert_int_equal(pagewalk_write(&mem, &long4, 0xffff800040123456ull, buf, sizeof(buf)), 0);

	assert_int_equal(pagewalk_translate(&mem, &long4, 0xffff800080000000ull, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 3);
	assert_int_equal(pagewalk_translate(&mem, &long4, 0xffff800000600000ull, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 2);

	/* A 2 MiB page reads through to RAM. */
	memcpy(ram + 0xa54321, "2mib", 4);
	assert_int_equal(pagewalk_read(&mem, &long4, 0xffff800000454321ull, buf, 4), 4);
	assert_memory_equal(buf, "2mib", 4);
}

static void test_long5(void **state)
{
	(void)state;
	/* gva 0xff01000000001234 is canonical for 57 bits: PML5 index 0x101, then 0, 0, 0, PT 1. */
	struct paging_regs pr = long4;
	pr.cr3 = 0x10000;
	pr.cr4 |= CR4_LA57;
	uint64_t va = 0xff01000000001234ull;
	put64(0x10000 + 0x101 * 8, 0x11000 | P | RW | US);
	put64(0x11000, 0x12000 | P | RW | US);
	put64(0x12000, 0x13000 | P | RW | US);
	put64(0x13000, 0x14000 | P | RW | US);
	put64(0x14000 + 8, 0x20000 | P | RW | US | XD);
	struct pagewalk w;
	assert_int_equal(pagewalk_translate(&mem, &pr, va, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x20234);
	assert_int_equal(w.levels, 5);
	assert_int_equal(w.entries[4], 0x20000 | P | RW | US | XD);
	assert_true(w.nx);
	/* The same address is not canonical with 4 levels... */
	assert_int_equal(pagewalk_translate(&mem, &long4, va, &w), PAGEWALK_NONCANONICAL);
	/* ...and bit 56 must be copied up to bit 63 with 5. */
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x0100000000000000ull, &w), PAGEWALK_NONCANONICAL);
	assert_int_equal(w.failed_level, 0);
	assert_int_equal(w.levels, 0);
	/* Not present at the PML5, and PS in a PML5E is reserved. */
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x0000000000001000ull, &w), PAGEWALK_NOT_PRESENT);
	assert_int_equal(w.failed_level, 5);
	put64(0x10000, 0x11000 | PS | P);
	assert_int_equal(pagewalk_translate(&mem, &pr, 0x0000000000001000ull, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 5);
}

static void test_not_present_each_level(void **state)
{
	(void)state;
	static const uint64_t entry_at[4] = { CHAIN_PML4E, CHAIN_PDPTE, CHAIN_PDE, CHAIN_PTE };
	for (int i = 0; i < 4; i++) {
		build_chain();
		uint64_t e;
		assert_int_equal(gmem_read(&mem, entry_at[i], &e, 8), 0);
		put64(entry_at[i], e & ~P);
		struct pagewalk w;
		assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_NOT_PRESENT);
		assert_int_equal(w.failed_level, 4 - i);
		assert_int_equal(w.levels, i + 1);
		assert_int_equal(w.entries[i], e & ~P);
	}
}

static void test_bad_table(void **state)
{
	(void)state;
	build_chain();
	struct pagewalk w;
	/* The PDPT beyond RAM. */
	put64(CHAIN_PML4E, 0x000ffffffffff000ull | P | RW);
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_BAD_TABLE);
	assert_int_equal(w.failed_level, 3);
	assert_int_equal(w.levels, 1);
	/* CR3 itself beyond RAM. */
	struct paging_regs pr = long4;
	pr.cr3 = 64 * GiB;
	assert_int_equal(pagewalk_translate(&mem, &pr, CHAIN_VA, &w), PAGEWALK_BAD_TABLE);
	assert_int_equal(w.failed_level, 4);
	assert_int_equal(w.levels, 0);
	/* The last page of RAM as a table works; one page further does not. */
	build_chain();
	put64(CHAIN_PDE, (RAM_SIZE - 4096) | P);
	put64(RAM_SIZE - 4096 + 8, 0x8000 | P);
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_OK);
	put64(CHAIN_PDE, RAM_SIZE | P);
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_BAD_TABLE);
	assert_int_equal(w.failed_level, 1);
}

static void test_noncanonical(void **state)
{
	(void)state;
	build_chain();
	struct pagewalk w;
	static const uint64_t bad[] = { 0x0000800000000000ull, 0xffff7fffffffffffull, 0x8000000000000000ull,
					0x00ff800000201234ull };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pagewalk_translate(&mem, &long4, bad[i], &w), PAGEWALK_NONCANONICAL);
		assert_int_equal(w.levels, 0);
	}
	uint8_t b;
	assert_int_equal(pagewalk_read(&mem, &long4, 0x0000800000000000ull, &b, 1), 0);
	/* Both halves' edges are canonical (here: not present, but walked). */
	assert_int_equal(pagewalk_translate(&mem, &long4, 0x00007fffffffffffull, &w), PAGEWALK_NOT_PRESENT);
	assert_int_equal(pagewalk_translate(&mem, &long4, 0xffff800000000000ull, &w), PAGEWALK_NOT_PRESENT);
	assert_int_equal(w.failed_level, 2); /* PD[0]; the chain uses PD[1] */
}

static void test_self_reference(void **state)
{
	(void)state;
	/* PML4[0] points at the PML4 itself: every level reads the same entry, so gva 0 maps to the
	 * PML4's own page (the "recursive mapping" trick); the walk ends after four reads. */
	put64(0x1000, 0x1000 | P | RW);
	struct pagewalk w;
	assert_int_equal(pagewalk_translate(&mem, &long4, 0x123, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x1123);
	assert_int_equal(w.levels, 4);
	uint8_t buf[8192];
	/* Page 1 looks at PML4[1], not present: the read stops after one page. */
	assert_int_equal(pagewalk_read(&mem, &long4, 0, buf, sizeof(buf)), 4096);
	assert_memory_equal(buf, ram + 0x1000, 4096);
	/* With PS in the looping entry, the first read (as a PML4E) already finds it reserved. */
	put64(0x1000, 0x1000 | P | RW | PS);
	assert_int_equal(pagewalk_translate(&mem, &long4, 0x123, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 4);
	/* Two tables pointing at each other. */
	put64(0x1000, 0x2000 | P | RW);
	put64(0x2000, 0x1000 | P | RW);
	assert_int_equal(pagewalk_translate(&mem, &long4, 0x42, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x1042);
}

static void test_reserved(void **state)
{
	(void)state;
	build_chain();
	struct pagewalk w;
	put64(CHAIN_PML4E, 0x2000 | P | RW | US | PS);
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 4);
	assert_int_equal(w.levels, 1);
	build_chain();
	/* XD without EFER.NXE. */
	put64(CHAIN_PDE, 0x4000 | P | RW | US | XD);
	struct paging_regs pr = long4;
	pr.efer &= ~EFER_NXE;
	assert_int_equal(pagewalk_translate(&mem, &pr, CHAIN_VA, &w), PAGEWALK_RESERVED);
	assert_int_equal(w.failed_level, 2);
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_OK);
	/* PS in a PTE is the PAT bit, not reserved. */
	put64(CHAIN_PTE, 0x8000 | P | PS);
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_OK);
	assert_int_equal(w.gpa, 0x8234);
	assert_int_equal(w.page_size, 4 * KiB);
}

static void test_rights_combine(void **state)
{
	(void)state;
	struct pagewalk w;
	build_chain();
	put64(CHAIN_PDPTE, 0x3000 | P | US);         /* read-only here */
	put64(CHAIN_PDE, 0x4000 | P | RW);           /* supervisor here */
	put64(CHAIN_PTE, 0x8000 | P | RW | US | XD); /* no-execute here */
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_OK);
	assert_int_equal(w.writable, 0);
	assert_int_equal(w.user, 0);
	assert_int_equal(w.nx, 1);
	/* XD at the top alone is enough; RW and US everywhere give both. */
	build_chain();
	put64(CHAIN_PML4E, 0x2000 | P | RW | US | XD);
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_OK);
	assert_true(w.writable && w.user && w.nx);
	/* Only the user bit missing at the leaf. */
	build_chain();
	put64(CHAIN_PTE, 0x8000 | P | RW);
	assert_int_equal(pagewalk_translate(&mem, &long4, CHAIN_VA, &w), PAGEWALK_OK);
	assert_true(w.writable && !w.user && !w.nx);
}

static void test_copy_across_pages(void **state)
{
	(void)state;
	/* gva 0x400000 + 0..2 pages: PML4 0, PDPT 0, PD 2, PT 0 -> 0x9000 and PT 1 -> 0x5000 (not
	 * adjacent, and in reverse order), PT 2 not present. */
	put64(0x1000, 0x2000 | P | RW);
	put64(0x2000, 0x3000 | P | RW);
	put64(0x3000 + 2 * 8, 0x4000 | P | RW);
	put64(0x4000, 0x9000 | P | RW);
	put64(0x4008, 0x5000 | P | RW);
	const uint8_t pattern[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_int_equal(pagewalk_write(&mem, &long4, 0x400ffc, pattern, 8), 8);
	assert_memory_equal(ram + 0x9ffc, pattern, 4);
	assert_memory_equal(ram + 0x5000, pattern + 4, 4);
	assert_int_equal(ram[0xa000], 0); /* not the physically next byte */
	uint8_t back[8] = { 0 };
	assert_int_equal(pagewalk_read(&mem, &long4, 0x400ffc, back, 8), 8);
	assert_memory_equal(back, pattern, 8);

	/* Into the not-present third page: the bytes before it. */
	memset(ram + 0x5ff0, 0xab, 16);
	uint8_t buf[32];
	memset(buf, 0, sizeof(buf));
	assert_int_equal(pagewalk_read(&mem, &long4, 0x401ff0, buf, sizeof(buf)), 16);
	assert_int_equal(buf[0], 0xab);
	assert_int_equal(buf[15], 0xab);
	assert_int_equal(buf[16], 0);
	assert_int_equal(pagewalk_write(&mem, &long4, 0x401ff8, pattern, 8), 8);
	assert_int_equal(pagewalk_write(&mem, &long4, 0x401ffc, pattern, 8), 4);
	/* A page that maps the last page of RAM, followed by one that maps beyond it. */
	put64(0x4010, (RAM_SIZE - 4096) | P | RW);
	put64(0x4018, RAM_SIZE | P | RW);
	assert_int_equal(pagewalk_read(&mem, &long4, 0x402ffa, buf, sizeof(buf)), 6);
	/* Zero length copies nothing and succeeds. */
	assert_int_equal(pagewalk_read(&mem, &long4, 0x400000, buf, 0), 0);
}

static void test_copy_across_slots(void **state)
{
	(void)state;
	/* Two RAM slots that meet in the middle of a page: the copy goes on into the second. */
	uint8_t lo[0x1800], hi[0x1000];
	memset(lo, 0x11, sizeof(lo));
	memset(hi, 0x22, sizeof(hi));
	struct gmem m2;
	gmem_init_flat(&m2, lo, sizeof(lo));
	assert_int_equal(gmem_add_slot(&m2, 0x1800, sizeof(hi), hi), 0);
	struct paging_regs off = { 0 };
	uint8_t buf[32];
	assert_int_equal(pagewalk_read(&m2, &off, 0x17f0, buf, sizeof(buf)), 32);
	assert_int_equal(buf[15], 0x11);
	assert_int_equal(buf[16], 0x22);
	/* A hole after the second slot stops the copy exactly there. */
	assert_int_equal(pagewalk_read(&m2, &off, 0x27f0, buf, sizeof(buf)), 16);
}

/* Random page tables, control registers and addresses: every answer is fine as long as the walk
 * ends, stays in bounds (valgrind checks) and a translation it calls good is consistent. */
static void test_random_tables(void **state)
{
	(void)state;
	static uint8_t small[64 * 1024];
	struct gmem m2;
	gmem_init_flat(&m2, small, sizeof(small));
	srand(12345);
	for (size_t i = 0; i < sizeof(small); i++)
		small[i] = (uint8_t)rand();
	/* Make many entries point back into the small RAM so that walks get deep. */
	for (size_t i = 0; i < sizeof(small); i += 8) {
		uint64_t e;
		memcpy(&e, small + i, 8);
		if (rand() % 4) {
			e = (e & ~0x000ffffffffff000ull) | ((uint64_t)(rand() % 16) << 12) | P;
			if (rand() % 4)
				e &= ~(0xfffull << 52 | PS);
		}
		memcpy(small + i, &e, 8);
	}
	int ok = 0, deep = 0;
	for (int i = 0; i < 20000; i++) {
		struct paging_regs pr = {
			.cr0 = (rand() % 8) ? CR0_PG : 0,
			.cr3 = ((uint64_t)rand() << 32 | (uint64_t)rand()) & (rand() % 2 ? 0xffff : ~0ull),
			.cr4 = (uint64_t)rand() & (CR4_PSE | CR4_PAE | CR4_LA57),
			.efer = (uint64_t)rand() & (EFER_LMA | EFER_NXE),
		};
		uint64_t va = (uint64_t)rand() << 40 ^ (uint64_t)rand() << 20 ^ (uint64_t)rand();
		if (rand() % 2)
			va = (uint64_t)(int64_t)(int32_t)va; /* often canonical */
		struct pagewalk w;
		enum pagewalk_result r = pagewalk_translate(&m2, &pr, va, &w);
		assert_true(r <= PAGEWALK_OK && r >= PAGEWALK_RESERVED);
		assert_true(w.levels >= 0 && w.levels <= 5);
		assert_true(w.failed_level >= 0 && w.failed_level <= 5);
		ok += r == PAGEWALK_OK;
		deep += w.levels >= 3;
		if (r == PAGEWALK_OK) {
			assert_true(w.page_size == 4 * KiB || w.page_size == 2 * MiB || w.page_size == 4 * MiB ||
				    w.page_size == GiB);
			assert_int_equal(w.gpa & (4 * KiB - 1), va & (4 * KiB - 1));
		}
		uint8_t buf[300];
		assert_true(pagewalk_read(&m2, &pr, va, buf, sizeof(buf)) <= sizeof(buf));
	}
	/* The random tables must have exercised real walks, not only early failures. */
	assert_true(ok > 100);
	assert_true(deep > 100);
}

static void test_result_names(void **state)
{
	(void)state;
	assert_string_equal(pagewalk_result_name(PAGEWALK_OK), "ok");
	assert_string_equal(pagewalk_result_name(PAGEWALK_NOT_PRESENT), "not present");
	assert_string_equal(pagewalk_result_name(PAGEWALK_BAD_TABLE), "table outside RAM");
	assert_string_equal(pagewalk_result_name(PAGEWALK_NONCANONICAL), "non-canonical address");
	assert_string_equal(pagewalk_result_name(PAGEWALK_RESERVED), "reserved bits set");
	assert_string_equal(pagewalk_result_name((enum pagewalk_result)-99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_paging_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit_4m, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pae, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long4_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long4_large_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_present_each_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noncanonical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rights_combine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_across_pages, setup, teardown),
		cmocka_unit_test(test_copy_across_slots),
		cmocka_unit_test(test_random_tables),
		cmocka_unit_test(test_result_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
