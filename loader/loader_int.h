/* Internal interface between the loader's files: a parsed kernel as a list of segments to copy,
 * and the steps that parse, check, copy and describe it. Nothing outside loader/ includes this. */
#ifndef DHYVE_LOADER_LOADER_INT_H
#define DHYVE_LOADER_LOADER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/loader.h"

#define LDR_MIB     ((uint64_t)1 << 20)
#define LDR_4GIB    ((uint64_t)1 << 32)
/* The loader's structures and the initial stack lie in [0, LDR_LOW_RAM): guest RAM must cover it. */
#define LDR_LOW_RAM 0xa0000ull
#define LDR_GDT_ENTRIES 4

/* One range to copy into guest memory: filesz bytes from the image, then zeroes up to memsz. */
struct ldr_seg {
	uint64_t paddr, vaddr, memsz, filesz;
	const uint8_t *data; /* filesz bytes inside the image (NULL when filesz is 0) */
	char name[32];       /* "ELF segment 3" (program header index, as readelf -l counts) */
};

struct ldr_kernel {
	struct ldr_seg seg[LOADER_MAX_SEGMENTS];
	unsigned nseg;
	uint64_t entry;    /* as the image states it: for ELF a virtual address */
	uint64_t entry_pa; /* the guest-physical address of the entry byte, set by ldr_segments_check */
	bool is64;         /* the image is ELF64 (so ldr_elf_parse accepted an x86_64 kernel) */
};

/* A Multiboot v1 header as found in the image (fields after checksum valid only if present). */
struct ldr_mb_header {
	size_t offset; /* file offset of the magic */
	uint32_t flags;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* elf.c */
bool ldr_is_elf(const uint8_t *img, size_t len);
int ldr_elf_parse(const uint8_t *img, size_t len, struct ldr_kernel *k, struct errmsg *e);

/* multiboot.c */
/* 1 and *h filled when a valid header is found; 0 otherwise, with *bad_magic_at set to the
 * offset of a magic whose checksum failed (or SIZE_MAX), so the caller can say so. */
int ldr_mb_find(const uint8_t *img, size_t len, struct ldr_mb_header *h, size_t *bad_magic_at);
int ldr_mb_check_flags(const struct ldr_mb_header *h, struct errmsg *e);
int ldr_mb_parse_aout(const uint8_t *img, size_t len, const struct ldr_mb_header *h,
		      struct ldr_kernel *k, struct errmsg *e);
/* The Multiboot info at BOOT_MBI_GPA; it points at BOOT_CMDLINE_GPA, which the caller fills. */
int ldr_mb_write_info(const struct gmem *m, struct errmsg *e);

/* segments.c */
int ldr_segments_check(const struct gmem *m, struct ldr_kernel *k, enum boot_mode mode,
		       struct errmsg *e);
int ldr_segments_copy(const struct gmem *m, const struct ldr_kernel *k, struct errmsg *e);
void ldr_segments_span(const struct ldr_kernel *k, uint64_t *lo, uint64_t *hi);
/* "256 MiB" or "1536 KiB": for messages about guest RAM. */
const char *ldr_ram_str(const struct gmem *m, char *buf, size_t size);

/* gdt.c */
extern const struct boot_segment ldr_data_seg; /* flat 4 GiB data, selector BOOT_SEL_DATA */
int ldr_write_gdt(const struct gmem *m, struct boot_state *bs, struct errmsg *e);
void ldr_state_prot32(struct boot_state *bs, uint32_t entry);

/* e820.c: the memory map a Linux kernel gets. */
#define LDR_E820_MAX      128 /* what boot_params has room for */
#define LDR_E820_RAM      1
#define LDR_E820_RESERVED 2
struct ldr_e820_entry {
	uint64_t addr, size;
	uint32_t type;
};
struct ldr_e820 {
	struct ldr_e820_entry entry[LDR_E820_MAX];
	unsigned n;
};
/* Every RAM slot of m as RAM, except [0xa0000, 1 MiB) and the reserved ranges, which are
 * listed as reserved; sorted by address. */
int ldr_e820_build(const struct gmem *m, const struct loader_range *reserved, unsigned nreserved,
		   struct ldr_e820 *map, struct errmsg *e);

/* bzimage.c */
bool ldr_is_bzimage(const uint8_t *img, size_t len);
int ldr_bzimage_load(const struct gmem *m, const uint8_t *img, size_t len, const struct loader_opts *o,
		     size_t cmdlen, struct boot_state *bs, struct kernel_info *info, struct errmsg *e);

/* longmode.c */
int ldr_write_page_tables(const struct gmem *m, struct errmsg *e);
void ldr_state_long64(struct boot_state *bs, uint64_t entry);

#endif
