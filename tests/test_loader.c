/* Unit tests for loader/: ELF64, ELF32 and Multiboot images built by hand in memory, loaded into
 * a malloc'd guest RAM, and every refusal the loader promises, with the reason it gives. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <elf.h>

#include "loader/loader.h"

#define MIB      (1ull << 20)
#define RAM_SIZE (8 * MIB)
#define IMG_CAP  (64 * 1024)
#define POISON   0xaa

/* Per-test fixture: guest RAM full of POISON (so zeroing shows) and an image buffer. */
struct fx {
	uint8_t *ram;
	struct gmem m;
	uint8_t *img;
	struct boot_state bs;
	struct kernel_info info;
	struct errmsg e;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->ram = malloc(RAM_SIZE);
	f->img = calloc(1, IMG_CAP);
	if (!f || !f->ram || !f->img)
		return -1;
	memset(f->ram, POISON, RAM_SIZE);
	gmem_init_flat(&f->m, f->ram, RAM_SIZE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	free(f->ram);
	free(f->img);
	free(f);
	return 0;
}

/* ---- image builders ---------------------------------------------------------------------- */

struct seg {
	uint32_t type;
	uint64_t paddr, vaddr, filesz, memsz;
	uint64_t offset; /* 0: placed automatically after the previous payload */
};

/* Distinct bytes per segment and position, so a copy to the wrong place shows. */
static uint8_t pattern(unsigned seg, uint64_t i)
{
	return (uint8_t)(0x11 + seg * 0x31 + i * 7);
}

static void fill_payloads(uint8_t *buf, const struct seg *s, unsigned n, uint64_t *offs)
{
	uint64_t next = 0x1000;
	for (unsigned i = 0; i < n; i++) {
		offs[i] = s[i].offset ? s[i].offset : next;
		for (uint64_t j = 0; j < s[i].filesz && offs[i] < IMG_CAP && j < IMG_CAP - offs[i]; j++)
			buf[offs[i] + j] = pattern(i, j);
		if (!s[i].offset)
			next = (offs[i] + s[i].filesz + 0xfff) & ~0xfffull;
	}
}

/* Returns the image length: the end of the last payload. */
static size_t build_elf64(uint8_t *buf, uint16_t machine, uint64_t entry, const struct seg *s,
			  unsigned n)
{
	uint64_t offs[128];
	size_t len = 64 + n * sizeof(Elf64_Phdr);
	memset(buf, 0, IMG_CAP);
	fill_payloads(buf, s, n, offs);
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = machine, .e_version = EV_CURRENT, .e_entry = entry,
		.e_phoff = 64, .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = (uint16_t)n,
	};
	memcpy(buf, &eh, sizeof(eh));
	for (unsigned i = 0; i < n; i++) {
		Elf64_Phdr ph = {
			.p_type = s[i].type, .p_offset = offs[i], .p_vaddr = s[i].vaddr,
			.p_paddr = s[i].paddr, .p_filesz = s[i].filesz, .p_memsz = s[i].memsz,
			.p_flags = PF_R | PF_X, .p_align = 0x1000,
		};
		memcpy(buf + 64 + i * sizeof(ph), &ph, sizeof(ph));
		if (offs[i] + s[i].filesz > len && offs[i] + s[i].filesz <= IMG_CAP)
			len = offs[i] + s[i].filesz;
	}
	return len;
}

static size_t build_elf32(uint8_t *buf, uint16_t machine, uint32_t entry, const struct seg *s,
			  unsigned n)
{
	uint64_t offs[128];
	size_t len = 52 + n * sizeof(Elf32_Phdr);
	memset(buf, 0, IMG_CAP);
	fill_payloads(buf, s, n, offs);
	Elf32_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS32, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = machine, .e_version = EV_CURRENT, .e_entry = entry,
		.e_phoff = 52, .e_ehsize = sizeof(Elf32_Ehdr), .e_phentsize = sizeof(Elf32_Phdr),
		.e_phnum = (uint16_t)n,
	};
	memcpy(buf, &eh, sizeof(eh));
	for (unsigned i = 0; i < n; i++) {
		Elf32_Phdr ph = {
			.p_type = s[i].type, .p_offset = (uint32_t)offs[i], .p_vaddr = (uint32_t)s[i].vaddr,
			.p_paddr = (uint32_t)s[i].paddr, .p_filesz = (uint32_t)s[i].filesz,
			.p_memsz = (uint32_t)s[i].memsz, .p_flags = PF_R | PF_X, .p_align = 0x1000,
		};
		memcpy(buf + 52 + i * sizeof(ph), &ph, sizeof(ph));
		if (offs[i] + s[i].filesz > len && offs[i] + s[i].filesz <= IMG_CAP)
			len = offs[i] + s[i].filesz;
	}
	return len;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* the tests run on x86: little-endian like the guest */
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* A Multiboot header (magic, flags, checksum) at off; checksum_fix 0 makes it valid. */
static void put_mb(uint8_t *buf, size_t off, uint32_t flags, uint32_t checksum_fix)
{
	put32(buf + off, MULTIBOOT_HEADER_MAGIC);
	put32(buf + off + 4, flags);
	put32(buf + off + 8, (uint32_t)(0u - MULTIBOOT_HEADER_MAGIC - flags) + checksum_fix);
}

#define AOUT_HDR_OFF 0x40
#define AOUT_LOAD    0x100000u

/* An a.out-kludge image: the file maps to load_addr from offset 0, header at AOUT_HDR_OFF. */
static size_t build_aout(uint8_t *buf, size_t len, uint32_t load_end, uint32_t bss_end,
			 uint32_t entry)
{
	memset(buf, 0, IMG_CAP);
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(0, i);
	put_mb(buf, AOUT_HDR_OFF, 0x10003, 0);
	put32(buf + AOUT_HDR_OFF + 12, AOUT_LOAD + AOUT_HDR_OFF); /* header_addr */
	put32(buf + AOUT_HDR_OFF + 16, AOUT_LOAD);                /* load_addr */
	put32(buf + AOUT_HDR_OFF + 20, load_end);
	put32(buf + AOUT_HDR_OFF + 24, bss_end);
	put32(buf + AOUT_HDR_OFF + 28, entry);
	return len;
}

static int load(struct fx *f, size_t len, const char *cmdline)
{
	memset(&f->e, 0, sizeof(f->e));
	return loader_load_image(&f->m, f->img, len, cmdline, &f->bs, &f->info, &f->e);
}

/* A refusal: negative errno, and a reason that says what is wrong. */
#define assert_refused(f, r, word)                                                  \
	do {                                                                          \
		int r_ = (r);                                                         \
		if (r_ >= 0 || !strstr((f)->e.text, (word)))                          \
			print_error("rc %d, message \"%s\", expected \"%s\"\n", r_, \
				    (f)->e.text, (word));                             \
		assert_true(r_ < 0);                                                  \
		assert_non_null(strstr((f)->e.text, (word)));                         \
	} while (0)

static void assert_payload(struct fx *f, uint64_t gpa, unsigned seg, uint64_t filesz, uint64_t memsz)
{
	for (uint64_t i = 0; i < filesz; i++)
		if (f->ram[gpa + i] != pattern(seg, i))
			fail_msg("segment %u byte %llu at 0x%llx is 0x%02x", seg, (unsigned long long)i,
				 (unsigned long long)(gpa + i), f->ram[gpa + i]);
	for (uint64_t i = filesz; i < memsz; i++)
		if (f->ram[gpa + i] != 0)
			fail_msg("bss byte at 0x%llx is 0x%02x", (unsigned long long)(gpa + i), f->ram[gpa + i]);
	/* Nothing written past the end. */
	assert_int_equal(f->ram[gpa + memsz], POISON);
}

static void assert_gdt(struct fx *f)
{
	assert_int_equal(f->bs.gdt_base, BOOT_GDT_GPA);
	assert_int_equal(f->bs.gdt_limit, 31);
	assert_int_equal(rd64(f->ram + BOOT_GDT_GPA), 0);
	assert_int_equal(rd64(f->ram + BOOT_GDT_GPA + BOOT_SEL_CODE64), 0x00af9b000000ffffull);
	assert_int_equal(rd64(f->ram + BOOT_GDT_GPA + BOOT_SEL_DATA), 0x00cf93000000ffffull);
	assert_int_equal(rd64(f->ram + BOOT_GDT_GPA + BOOT_SEL_CODE32), 0x00cf9b000000ffffull);
}

static void assert_data_seg(const struct boot_segment *s)
{
	assert_int_equal(s->selector, BOOT_SEL_DATA);
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, 0xffffffff);
	assert_int_equal(s->type, 3);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->s, 1);
	assert_int_equal(s->db, 1);
	assert_int_equal(s->g, 1);
	assert_int_equal(s->l, 0);
	assert_int_equal(s->dpl, 0);
}

static void assert_prot32(struct fx *f, uint64_t rip)
{
	assert_int_equal(f->bs.mode, BOOT_MODE_PROT32);
	assert_int_equal(f->bs.rip, rip);
	assert_int_equal(f->bs.rsp, BOOT_STACK_TOP);
	assert_int_equal(f->bs.rflags, 0x2);
	assert_int_equal(f->bs.cr0 & ~0x10ull, 0x1);
	assert_int_equal(f->bs.cr3, 0);
	assert_int_equal(f->bs.cr4, 0);
	assert_int_equal(f->bs.efer, 0);
	assert_int_equal(f->bs.cs.selector, BOOT_SEL_CODE32);
	assert_int_equal(f->bs.cs.type, 0xb);
	assert_int_equal(f->bs.cs.s, 1);
	assert_int_equal(f->bs.cs.db, 1);
	assert_int_equal(f->bs.cs.l, 0);
	assert_int_equal(f->bs.cs.g, 1);
	assert_int_equal(f->bs.cs.present, 1);
	assert_int_equal(f->bs.cs.limit, 0xffffffff);
	assert_data_seg(&f->bs.ds);
	assert_gdt(f);
}

/* ---- successful loads ---------------------------------------------------------------------- */

static const struct seg two_segs[] = {
	{ PT_LOAD, 0x100000, 0x100000, 0x234, 0x234, 0 },
	{ PT_NOTE, 0, 0, 0x10, 0x10, 0 },
	{ PT_LOAD, 0x200000, 0x200000, 0x100, 0x3000, 0 }, /* with bss */
};

static void test_elf64_long_mode(void **state)
{
	struct fx *f = *state;
	size_t len = build_elf64(f->img, EM_X86_64, 0x100010, two_segs, 3);
	assert_int_equal(load(f, len, "console=ttyS0 quiet"), 0);

	assert_payload(f, 0x100000, 0, 0x234, 0x234);
	assert_payload(f, 0x200000, 2, 0x100, 0x3000);

	assert_int_equal(f->info.format, KERNEL_ELF64);
	assert_int_equal(f->info.entry, 0x100010);
	assert_int_equal(f->info.load_lo, 0x100000);
	assert_int_equal(f->info.load_hi, 0x203000);

	struct boot_state *bs = &f->bs;
	assert_int_equal(bs->mode, BOOT_MODE_LONG64);
	assert_int_equal(bs->rip, 0x100010);
	assert_int_equal(bs->rsp, BOOT_STACK_TOP);
	assert_int_equal(bs->rflags, 0x2);
	assert_int_equal(bs->rax, 0);
	assert_int_equal(bs->rbx, 0);
	assert_int_equal(bs->cr0, 0x80050033);
	assert_int_equal(bs->cr3, BOOT_PML4_GPA);
	assert_int_equal(bs->cr4, 0x20);
	assert_int_equal(bs->efer, 0x500);
	assert_int_equal(bs->cs.selector, BOOT_SEL_CODE64);
	assert_int_equal(bs->cs.type, 0xb);
	assert_int_equal(bs->cs.l, 1);
	assert_int_equal(bs->cs.db, 0);
	assert_int_equal(bs->cs.s, 1);
	assert_int_equal(bs->cs.g, 1);
	assert_int_equal(bs->cs.present, 1);
	assert_int_equal(bs->cs.dpl, 0);
	assert_int_equal(bs->cs.limit, 0xffffffff);
	assert_data_seg(&bs->ds);
	assert_gdt(f);

	/* Page tables: PML4[0] -> PDPT, PDPT[0..3] -> PDs, PDs map 2 MiB pages 1:1 over 4 GiB. */
	assert_int_equal(rd64(f->ram + BOOT_PML4_GPA), BOOT_PDPT_GPA | 0x3);
	for (unsigned i = 1; i < 512; i++)
		assert_int_equal(rd64(f->ram + BOOT_PML4_GPA + 8 * i), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(rd64(f->ram + BOOT_PDPT_GPA + 8 * i), (BOOT_PD_GPA + 0x1000 * i) | 0x3);
	assert_int_equal(rd64(f->ram + BOOT_PDPT_GPA + 8 * 4), 0);
	for (unsigned i = 0; i < 4; i++)
		for (unsigned j = 0; j < 512; j++)
			assert_int_equal(rd64(f->ram + BOOT_PD_GPA + 0x1000 * i + 8 * j),
					 ((uint64_t)(i * 512 + j) << 21) | 0x83);
	assert_int_equal(rd64(f->ram + BOOT_PD_GPA + 8), 0x200083);
	assert_int_equal(rd64(f->ram + BOOT_PD_GPA + 0x3000 + 8 * 511), 0xffe00083ull);

	/* The command line is at its fixed address for every format. */
	assert_string_equal((char *)f->ram + BOOT_CMDLINE_GPA, "console=ttyS0 quiet");
}

/* A higher-half kernel: the entry is a virtual address; it starts at the same byte's physical
 * address because our page tables are an identity map. */
static void test_elf64_higher_half_entry(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0xffffffff80100000ull, 0x100, 0x100, 0 } };
	size_t len = build_elf64(f->img, EM_X86_64, 0xffffffff80100040ull, s, 1);
	assert_int_equal(load(f, len, NULL), 0);
	assert_int_equal(f->bs.mode, BOOT_MODE_LONG64);
	assert_int_equal(f->bs.rip, 0x100040);
	assert_int_equal(f->info.entry, 0x100040);
	assert_payload(f, 0x100000, 0, 0x100, 0x100);
	assert_string_equal((char *)f->ram + BOOT_CMDLINE_GPA, "");
}

/* Linux vmlinux style: segments at higher-half vaddrs, e_entry already physical. */
static void test_elf64_physical_entry(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0xffffffff81000000ull, 0x100, 0x100, 0 } };
	size_t len = build_elf64(f->img, EM_X86_64, 0x100020, s, 1);
	assert_int_equal(load(f, len, NULL), 0);
	assert_int_equal(f->bs.rip, 0x100020);
}

static void test_elf32_prot_mode(void **state)
{
	struct fx *f = *state;
	size_t len = build_elf32(f->img, EM_386, 0x200004, two_segs, 3);
	assert_int_equal(load(f, len, NULL), 0);
	assert_payload(f, 0x100000, 0, 0x234, 0x234);
	assert_payload(f, 0x200000, 2, 0x100, 0x3000);
	assert_prot32(f, 0x200004);
	assert_int_equal(f->bs.rax, 0);
	assert_int_equal(f->bs.rbx, 0);
	assert_int_equal(f->info.format, KERNEL_ELF32);
	assert_int_equal(f->info.entry, 0x200004);
	assert_int_equal(f->info.load_lo, 0x100000);
	assert_int_equal(f->info.load_hi, 0x203000);
	/* No page tables for a 32-bit entry. */
	assert_int_equal(f->ram[BOOT_PML4_GPA], POISON);
	/* No Multiboot info either. */
	assert_int_equal(f->ram[BOOT_MBI_GPA], POISON);
}

/* The 32-bit entry with paging off runs at the physical address of the entry byte. */
static void test_elf32_vaddr_entry_translated(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0xc0100000u, 0x100, 0x100, 0 } };
	size_t len = build_elf32(f->img, EM_386, 0xc0100008u, s, 1);
	assert_int_equal(load(f, len, NULL), 0);
	assert_int_equal(f->bs.rip, 0x100008);
}

static void assert_mmap_entry(const uint8_t *p, uint64_t addr, uint64_t len, uint32_t type)
{
	assert_int_equal(rd32(p), 20);
	assert_int_equal(rd64(p + 4), addr);
	assert_int_equal(rd64(p + 12), len);
	assert_int_equal(rd32(p + 20), type);
}

static void assert_mbi(struct fx *f, const char *cmdline, unsigned extra_entries)
{
	const uint8_t *mbi = f->ram + BOOT_MBI_GPA;
	assert_int_equal(f->bs.rax, 0x2BADB002);
	assert_int_equal(f->bs.rbx, BOOT_MBI_GPA);
	assert_int_equal(rd32(mbi), 0x245); /* MEM | CMDLINE | MMAP | LOADER_NAME */
	assert_int_equal(rd32(mbi + 4), 639);
	assert_int_equal(rd32(mbi + 8), (RAM_SIZE - MIB) / 1024);
	assert_int_equal(rd32(mbi + 16), BOOT_CMDLINE_GPA);
	assert_string_equal((char *)f->ram + BOOT_CMDLINE_GPA, cmdline);

	uint32_t mmap_len = rd32(mbi + 44), mmap_addr = rd32(mbi + 48);
	assert_int_equal(mmap_len, (4 + extra_entries) * 24);
	assert_true(mmap_addr >= BOOT_MBI_GPA + 116 && mmap_addr + mmap_len <= BOOT_MBI_GPA + 0x1000);
	const uint8_t *mm = f->ram + mmap_addr;
	assert_mmap_entry(mm, 0, 0x9fc00, 1);
	assert_mmap_entry(mm + 24, 0x9fc00, 0x400, 2);
	assert_mmap_entry(mm + 48, 0xf0000, 0x10000, 2);
	assert_mmap_entry(mm + 72, 0x100000, RAM_SIZE - MIB, 1);

	uint32_t name = rd32(mbi + 64);
	assert_true(name >= BOOT_MBI_GPA && name < BOOT_MBI_GPA + 0x1000);
	assert_string_equal((char *)f->ram + name, "dhyve");
	assert_gdt(f);
}

/* kvm-unit-tests style: ELF32 with a Multiboot header inside its first segment. */
static void test_multiboot_elf32(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0x100000, 0x400, 0x800, 0 } };
	size_t len = build_elf32(f->img, EM_386, 0x10000c, s, 1);
	put_mb(f->img, 0x1000, 0x3, 0); /* the header is the first bytes of the segment */
	assert_int_equal(load(f, len, "-smp 1 ioapic"), 0);

	assert_memory_equal(f->ram + 0x100000, f->img + 0x1000, 0x400);
	for (unsigned i = 0x400; i < 0x800; i++)
		assert_int_equal(f->ram[0x100000 + i], 0);
	assert_prot32(f, 0x10000c);
	assert_int_equal(f->info.format, KERNEL_MULTIBOOT);
	assert_int_equal(f->info.entry, 0x10000c);
	assert_int_equal(f->info.load_lo, 0x100000);
	assert_int_equal(f->info.load_hi, 0x100800);
	assert_mbi(f, "-smp 1 ioapic", 0);
}

/* A 64-bit ELF with a Multiboot header still starts in 32-bit protected mode. */
static void test_multiboot_elf64(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0x100000, 0x100, 0x100, 0 } };
	size_t len = build_elf64(f->img, EM_X86_64, 0x100000, s, 1);
	put_mb(f->img, 0x1000, 0x7, 0); /* bit 2 (video mode request) is ignored, not refused */
	assert_int_equal(load(f, len, NULL), 0);
	assert_int_equal(f->info.format, KERNEL_MULTIBOOT);
	assert_prot32(f, 0x100000);
	assert_mbi(f, "", 0);
}

static void test_multiboot_aout(void **state)
{
	struct fx *f = *state;
	size_t len = build_aout(f->img, 0x900, AOUT_LOAD + 0x800, AOUT_LOAD + 0x2000, AOUT_LOAD + 0x80);
	assert_int_equal(load(f, len, "x"), 0);
	/* Only up to load_end_addr is copied; then bss up to bss_end_addr. */
	assert_memory_equal(f->ram + AOUT_LOAD, f->img, 0x800);
	for (unsigned i = 0x800; i < 0x2000; i++)
		assert_int_equal(f->ram[AOUT_LOAD + i], 0);
	assert_int_equal(f->ram[AOUT_LOAD + 0x2000], POISON);
	assert_prot32(f, AOUT_LOAD + 0x80);
	assert_int_equal(f->info.format, KERNEL_MULTIBOOT);
	assert_int_equal(f->info.load_lo, AOUT_LOAD);
	assert_int_equal(f->info.load_hi, AOUT_LOAD + 0x2000);
	assert_mbi(f, "x", 0);
}

/* load_end_addr 0: the whole rest of the file; bss_end_addr 0: no bss. */
static void test_multiboot_aout_defaults(void **state)
{
	struct fx *f = *state;
	size_t len = build_aout(f->img, 0x777, 0, 0, AOUT_LOAD);
	assert_int_equal(load(f, len, NULL), 0);
	assert_memory_equal(f->ram + AOUT_LOAD, f->img, 0x777);
	assert_int_equal(f->ram[AOUT_LOAD + 0x777], POISON);
	assert_int_equal(f->info.load_hi, AOUT_LOAD + 0x777);
}

/* The memory map lists every slot's RAM above 1 MiB, in address order. */
static void test_multiboot_two_slots(void **state)
{
	struct fx *f = *state;
	uint8_t *high = malloc(0x10000);
	assert_non_null(high);
	assert_int_equal(gmem_add_slot(&f->m, 0x100000000ull, 0x10000, high), 0);
	size_t len = build_aout(f->img, 0x100, 0, 0, AOUT_LOAD);
	assert_int_equal(load(f, len, NULL), 0);
	assert_mbi(f, "", 1);
	const uint8_t *mm = f->ram + rd32(f->ram + BOOT_MBI_GPA + 48);
	assert_mmap_entry(mm + 96, 0x100000000ull, 0x10000, 1);
	free(high);
}

/* A header whose checksum is wrong is not a header: the ELF underneath is used. */
static void test_multiboot_bad_checksum_is_plain_elf(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0x100000, 0x100, 0x100, 0 } };
	size_t len = build_elf64(f->img, EM_X86_64, 0x100000, s, 1);
	put_mb(f->img, 0x1000, 0x3, 1);
	assert_int_equal(load(f, len, NULL), 0);
	assert_int_equal(f->info.format, KERNEL_ELF64);
	assert_int_equal(f->bs.mode, BOOT_MODE_LONG64);
}

static void test_load_file(void **state)
{
	struct fx *f = *state;
	char path[] = "/tmp/dhyve-test-loader-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = build_elf64(f->img, EM_X86_64, 0x100010, two_segs, 3);
	assert_int_equal(write(fd, f->img, len), (ssize_t)len);
	close(fd);
	int r = loader_load_file(&f->m, path, "a=b", &f->bs, &f->info, &f->e);
	unlink(path);
	assert_int_equal(r, 0);
	assert_int_equal(f->info.format, KERNEL_ELF64);
	assert_payload(f, 0x200000, 2, 0x100, 0x3000);
	assert_string_equal((char *)f->ram + BOOT_CMDLINE_GPA, "a=b");
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_bad_empty(void **state)
{
	struct fx *f = *state;
	assert_refused(f, load(f, 0, NULL), "empty");
	assert_refused(f, loader_load_image(&f->m, NULL, 10, NULL, &f->bs, &f->info, &f->e), "empty");
}

static void test_bad_random(void **state)
{
	struct fx *f = *state;
	uint32_t x = 12345;
	for (unsigned i = 0; i < 4096; i++) {
		x = x * 1103515245u + 12345u;
		f->img[i] = (uint8_t)(x >> 16);
	}
	assert_refused(f, load(f, 4096, NULL), "not an ELF file and no Multiboot header in the first 8 KiB");
	/* Nothing was written into the guest. */
	assert_int_equal(f->ram[BOOT_GDT_GPA], POISON);
}

static void test_bad_truncated_header(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0x100000, 0x100, 0x100, 0 } };
	build_elf64(f->img, EM_X86_64, 0x100000, s, 1);
	assert_refused(f, load(f, 30, NULL), "truncated");
	assert_refused(f, load(f, 10, NULL), "truncated");
	build_elf32(f->img, EM_386, 0x100000, s, 1);
	assert_refused(f, load(f, 40, NULL), "truncated");
}

static void test_bad_phoff(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0x100000, 0x100, 0x100, 0 } };
	size_t len = build_elf64(f->img, EM_X86_64, 0x100000, s, 1);
	Elf64_Ehdr eh;
	memcpy(&eh, f->img, sizeof(eh));
	eh.e_phoff = len + 8;
	memcpy(f->img, &eh, sizeof(eh));
	assert_refused(f, load(f, len, NULL), "program header table");
	eh.e_phoff = UINT64_MAX - 8; /* offset + size would wrap */
	memcpy(f->img, &eh, sizeof(eh));
	assert_refused(f, load(f, len, NULL), "program header table");
	eh.e_phoff = 64;
	eh.e_phentsize = 40;
	memcpy(f->img, &eh, sizeof(eh));
	assert_refused(f, load(f, len, NULL), "program header size");
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 0;
	memcpy(f->img, &eh, sizeof(eh));
	assert_refused(f, load(f, len, NULL), "no program headers");
}

static void test_bad_filesz_gt_memsz(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0x100000, 0x200, 0x100, 0 } };
	size_t len = build_elf64(f->img, EM_X86_64, 0x100000, s, 1);
	assert_refused(f, load(f, len, NULL), "exceeds memory size");
}

static void test_bad_file_range(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0x100000, 0x100, 0x100, 0 } };
	size_t len = build_elf64(f->img, EM_X86_64, 0x100000, s, 1);
	assert_refused(f, load(f, len - 1, NULL), "truncated file");
	const struct seg s2[] = { { PT_LOAD, 0x100000, 0x100000, 0x100, 0x100, 0xfffffffffffffff0ull } };
	len = build_elf64(f->img, EM_X86_64, 0x100000, s2, 1);
	assert_refused(f, load(f, len, NULL), "exceeds the image");
}

static void test_bad_segment_beyond_ram(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, RAM_SIZE - 0x1000, RAM_SIZE - 0x1000, 0x100, 0x2000, 0 } };
	size_t len = build_elf64(f->img, EM_X86_64, RAM_SIZE - 0x1000, s, 1);
	assert_refused(f, load(f, len, NULL), "outside guest RAM (8 MiB)");
	const struct seg w[] = { { PT_LOAD, 0xfffffffffffff000ull, 0x100000, 0x100, 0x2000, 0 } };
	len = build_elf64(f->img, EM_X86_64, 0x100000, w, 1);
	assert_refused(f, load(f, len, NULL), "wraps");
}

static void test_bad_segment_below_1mib(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x8000, 0x8000, 0x100, 0x100, 0 } };
	size_t len = build_elf32(f->img, EM_386, 0x8000, s, 1);
	assert_refused(f, load(f, len, NULL), "below 1 MiB");
	/* Refused before anything is written: the Multiboot info page is still poison. */
	assert_int_equal(f->ram[0x8000], POISON);
}

static void test_bad_overlap(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = {
		{ PT_LOAD, 0x100000, 0x100000, 0x100, 0x2000, 0 },
		{ PT_LOAD, 0x101000, 0x101000, 0x100, 0x100, 0 },
	};
	size_t len = build_elf64(f->img, EM_X86_64, 0x100000, s, 2);
	assert_refused(f, load(f, len, NULL), "overlap");
	assert_int_equal(f->ram[0x100000], POISON);
}

static void test_bad_machine(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0x100000, 0x100, 0x100, 0 } };
	size_t len = build_elf64(f->img, EM_AARCH64, 0x100000, s, 1);
	assert_refused(f, load(f, len, NULL), "machine");
	len = build_elf32(f->img, EM_X86_64, 0x100000, s, 1);
	assert_refused(f, load(f, len, NULL), "machine");
	len = build_elf64(f->img, EM_X86_64, 0x100000, s, 1);
	f->img[16] = ET_DYN;
	assert_refused(f, load(f, len, NULL), "ET_EXEC");
	f->img[16] = ET_EXEC;
	f->img[EI_DATA] = ELFDATA2MSB;
	assert_refused(f, load(f, len, NULL), "little-endian");
	f->img[EI_DATA] = ELFDATA2LSB;
	f->img[EI_CLASS] = 7;
	assert_refused(f, load(f, len, NULL), "class");
}

static void test_bad_no_load(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = {
		{ PT_NOTE, 0x100000, 0x100000, 0x100, 0x100, 0 },
		{ PT_LOAD, 0x200000, 0x200000, 0, 0, 0 }, /* empty: loads nothing */
	};
	size_t len = build_elf64(f->img, EM_X86_64, 0x100000, s, 2);
	assert_refused(f, load(f, len, NULL), "no PT_LOAD");
}

static void test_bad_entry(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000, 0x100000, 0x100, 0x1000, 0 } };
	size_t len = build_elf64(f->img, EM_X86_64, 0x101000, s, 1);
	assert_refused(f, load(f, len, NULL), "entry point 0x101000 is not inside any loaded segment");
	len = build_elf32(f->img, EM_386, 0xfffff, s, 1);
	assert_refused(f, load(f, len, NULL), "entry point");
}

static void test_bad_too_many_segments(void **state)
{
	struct fx *f = *state;
	struct seg s[65];
	for (unsigned i = 0; i < 65; i++)
		s[i] = (struct seg){ PT_LOAD, 0x100000 + i * 0x1000, 0x100000 + i * 0x1000, 0x10, 0x10, 0x1000 + i * 0x10 };
	size_t len = build_elf64(f->img, EM_X86_64, 0x100000, s, 65);
	assert_refused(f, load(f, len, NULL), "more than 64");
	/* 64 is fine. */
	len = build_elf64(f->img, EM_X86_64, 0x100000, s, 64);
	assert_int_equal(load(f, len, NULL), 0);
	assert_int_equal(f->info.load_hi, 0x100000 + 63 * 0x1000 + 0x10);
}

static void test_bad_multiboot_checksum_not_elf(void **state)
{
	struct fx *f = *state;
	memset(f->img, 0x90, 0x2000);
	put_mb(f->img, 0x100, 0x10003, 5);
	assert_refused(f, load(f, 0x2000, NULL), "bad checksum");
}

static void test_bad_multiboot_flags(void **state)
{
	struct fx *f = *state;
	size_t len = build_aout(f->img, 0x100, 0, 0, AOUT_LOAD);
	put_mb(f->img, AOUT_HDR_OFF, 0x10000 | 0x8, 0); /* bit 3: undefined requirement */
	assert_refused(f, load(f, len, NULL), "feature bit 3");
	/* No a.out kludge and no ELF underneath. */
	put_mb(f->img, AOUT_HDR_OFF, 0x3, 0);
	assert_refused(f, load(f, len, NULL), "not");
	assert_non_null(strstr(f->e.text, "ELF"));
}

static void test_bad_multiboot_aout(void **state)
{
	struct fx *f = *state;
	size_t len = build_aout(f->img, 0x800, AOUT_LOAD - 0x10, 0, AOUT_LOAD);
	assert_refused(f, load(f, len, NULL), "load_end_addr");

	len = build_aout(f->img, 0x800, AOUT_LOAD + 0x800, (uint32_t)RAM_SIZE + 0x1000, AOUT_LOAD);
	assert_refused(f, load(f, len, NULL), "outside guest RAM");

	len = build_aout(f->img, 0x800, AOUT_LOAD + 0x800, AOUT_LOAD + 0x400, AOUT_LOAD);
	assert_refused(f, load(f, len, NULL), "bss_end_addr");

	len = build_aout(f->img, 0x800, AOUT_LOAD + 0x1000, 0, AOUT_LOAD);
	assert_refused(f, load(f, len, NULL), "truncated file");

	len = build_aout(f->img, 0x800, 0, 0, AOUT_LOAD + 0x900);
	assert_refused(f, load(f, len, NULL), "entry point");

	len = build_aout(f->img, 0x800, 0, 0, AOUT_LOAD);
	put32(f->img + AOUT_HDR_OFF + 12, AOUT_LOAD - 4); /* header_addr < load_addr */
	assert_refused(f, load(f, len, NULL), "header_addr");
	put32(f->img + AOUT_HDR_OFF + 12, AOUT_LOAD + 0x1000); /* load_addr before the file start */
	assert_refused(f, load(f, len, NULL), "before the start of the file");

	len = build_aout(f->img, 0x800, 0, 0, 0x10);
	put32(f->img + AOUT_HDR_OFF + 12, 0x1000 + AOUT_HDR_OFF);
	put32(f->img + AOUT_HDR_OFF + 16, 0x1000); /* below 1 MiB */
	assert_refused(f, load(f, len, NULL), "below 1 MiB");

	len = build_aout(f->img, 0x800, 0, 0, AOUT_LOAD);
	assert_refused(f, load(f, AOUT_HDR_OFF + 20, NULL), "truncated"); /* header cut short */
}

static void test_bad_cmdline(void **state)
{
	struct fx *f = *state;
	size_t len = build_aout(f->img, 0x100, 0, 0, AOUT_LOAD);
	char *c = malloc(5000);
	assert_non_null(c);
	memset(c, 'a', 4095);
	c[4095] = 0;
	assert_int_equal(load(f, len, c), 0);
	assert_int_equal(strlen((char *)f->ram + BOOT_CMDLINE_GPA), 4095);
	memset(c, 'a', 4096);
	c[4096] = 0;
	assert_refused(f, load(f, len, c), "command line");
	free(c);
}

static void test_bad_multiboot_above_4g(void **state)
{
	struct fx *f = *state;
	const struct seg s[] = { { PT_LOAD, 0x100000000ull, 0x100000000ull, 0x100, 0x100, 0 } };
	size_t len = build_elf64(f->img, EM_X86_64, 0x100000000ull, s, 1);
	put_mb(f->img, 0x1000, 0x3, 0);
	assert_refused(f, load(f, len, NULL), "4 GiB");
}

static void test_bad_small_ram(void **state)
{
	struct fx *f = *state;
	struct gmem small;
	gmem_init_flat(&small, f->ram, 0x80000);
	size_t len = build_aout(f->img, 0x100, 0, 0, AOUT_LOAD);
	assert_refused(f, loader_load_image(&small, f->img, len, NULL, &f->bs, &f->info, &f->e), "does not cover");
}

static void test_bad_files(void **state)
{
	struct fx *f = *state;
	int r = loader_load_file(&f->m, "/nonexistent/dhyve-kernel", NULL, &f->bs, &f->info, &f->e);
	assert_int_equal(r, -ENOENT);
	assert_non_null(strstr(f->e.text, "No such file"));
	assert_non_null(strstr(f->e.text, "/nonexistent/dhyve-kernel"));

	r = loader_load_file(&f->m, "/tmp", NULL, &f->bs, &f->info, &f->e);
	assert_int_equal(r, -EISDIR);
	assert_non_null(strstr(f->e.text, "directory"));

	r = loader_load_file(&f->m, "/dev/null", NULL, &f->bs, &f->info, &f->e);
	assert_true(r < 0);
	assert_non_null(strstr(f->e.text, "not a regular file"));

	char path[] = "/tmp/dhyve-test-loader-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	r = loader_load_file(&f->m, path, NULL, &f->bs, &f->info, &f->e);
	unlink(path);
	assert_true(r < 0);
	assert_non_null(strstr(f->e.text, "empty"));
}

/* ---- robustness ---------------------------------------------------------------------------- */

/* Every prefix of valid images, and random byte mutations of them: the loader must answer
 * 0 or a negative errno with a reason, and never touch memory it should not (run under ASan). */
static void check_answer(struct fx *f, size_t len)
{
	f->e.text[0] = 0;
	int r = loader_load_image(&f->m, f->img, len, NULL, &f->bs, &f->info, &f->e);
	if (r < 0 && f->e.text[0] == 0)
		fail_msg("refusal %d without a reason (len %zu)", r, len);
	if (r > 0)
		fail_msg("positive return %d", r);
}

static void test_mutations(void **state)
{
	struct fx *f = *state;
	uint8_t *orig = malloc(IMG_CAP);
	assert_non_null(orig);
	uint32_t x = 0xdecafbad;
	for (int kind = 0; kind < 4; kind++) {
		const struct seg s[] = { { PT_LOAD, 0x100000, 0x100000, 0x40, 0x80, 0 },
					 { PT_LOAD, 0x110000, 0x110000, 0x40, 0x40, 0 } };
		size_t len;
		if (kind == 0)
			len = build_elf64(f->img, EM_X86_64, 0x100000, s, 2);
		else if (kind == 1)
			len = build_elf32(f->img, EM_386, 0x100000, s, 2);
		else if (kind == 2)
			len = build_aout(f->img, 0x100, AOUT_LOAD + 0x80, AOUT_LOAD + 0x100, AOUT_LOAD);
		else {
			len = build_elf32(f->img, EM_386, 0x100000, s, 2);
			put_mb(f->img, 0x1000, 0x3, 0);
		}
		assert_int_equal(load(f, len, NULL), 0);
		memcpy(orig, f->img, len);
		for (size_t l = 0; l <= len; l++)
			check_answer(f, l);
		/* Mutate the headers (first 0x100 bytes) and the Multiboot area. */
		for (int it = 0; it < 3000; it++) {
			memcpy(f->img, orig, len);
			for (int n = 0; n < 1 + it % 4; n++) {
				x = x * 1103515245u + 12345u;
				size_t pos = (x >> 8) % (len < 0x1100 ? len : 0x1100);
				if (pos >= 0x100 && pos < 0x1000)
					pos &= 0xff;
				x = x * 1103515245u + 12345u;
				f->img[pos] = (x >> 24) & 1 ? (uint8_t)(x >> 16) : (uint8_t)(f->img[pos] ^ (1u << ((x >> 16) & 7)));
			}
			check_answer(f, len);
		}
	}
	free(orig);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_elf64_long_mode),
		T(test_elf64_higher_half_entry),
		T(test_elf64_physical_entry),
		T(test_elf32_prot_mode),
		T(test_elf32_vaddr_entry_translated),
		T(test_multiboot_elf32),
		T(test_multiboot_elf64),
		T(test_multiboot_aout),
		T(test_multiboot_aout_defaults),
		T(test_multiboot_two_slots),
		T(test_multiboot_bad_checksum_is_plain_elf),
		T(test_load_file),
		T(test_bad_empty),
		T(test_bad_random),
		T(test_bad_truncated_header),
		T(test_bad_phoff),
		T(test_bad_filesz_gt_memsz),
		T(test_bad_file_range),
		T(test_bad_segment_beyond_ram),
		T(test_bad_segment_below_1mib),
		T(test_bad_overlap),
		T(test_bad_machine),
		T(test_bad_no_load),
		T(test_bad_entry),
		T(test_bad_too_many_segments),
		T(test_bad_multiboot_checksum_not_elf),
		T(test_bad_multiboot_flags),
		T(test_bad_multiboot_aout),
		T(test_bad_cmdline),
		T(test_bad_multiboot_above_4g),
		T(test_bad_small_ram),
		T(test_bad_files),
		T(test_mutations),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
