/* Multiboot v1: finding and checking the header, the a.out-kludge load description, and the
 * boot information (memory sizes, memory map, command line, loader name) the kernel gets in EBX. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "loader/loader_int.h"

/* Header flags. Bits 0-15 are requirements: a loader that cannot honour one must refuse. */
#define MB_F_PAGE_ALIGN 0x1u     /* modules page aligned: we load none, so trivially met */
#define MB_F_MEMINFO    0x2u     /* mem_* and mmap wanted: always given */
#define MB_F_VIDEO      0x4u     /* a video mode request: a preference, ignored (text console) */
#define MB_F_AOUT       0x10000u /* load address fields are valid: use them instead of ELF */
#define MB_F_SUPPORTED  (MB_F_PAGE_ALIGN | MB_F_MEMINFO | MB_F_VIDEO)

/* Info flags we set. */
#define MBI_MEM         0x1u
#define MBI_CMDLINE     0x4u
#define MBI_MMAP        0x40u
#define MBI_LOADER_NAME 0x200u

/* struct multiboot_info offsets (v1: 116 bytes), written byte by byte so no host packing rules
 * leak into the guest's layout. */
#define MBI_O_FLAGS       0
#define MBI_O_MEM_LOWER   4
#define MBI_O_MEM_UPPER   8
#define MBI_O_CMDLINE     16
#define MBI_O_MMAP_LENGTH 44
#define MBI_O_MMAP_ADDR   48
#define MBI_O_LOADER_NAME 64
#define MBI_SIZE          116
#define MBI_MMAP_OFF      120 /* the memory map follows the struct in the same page */
#define MMAP_ENTRY_SIZE   24  /* u32 size (= 20, not counting itself), u64 addr, u64 len, u32 type */
#define MMAP_AVAILABLE    1
#define MMAP_RESERVED     2

#define MB_AOUT_HDR_LEN 32

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

int ldr_mb_find(const uint8_t *img, size_t len, struct ldr_mb_header *h, size_t *bad_magic_at)
{
	size_t end = len < MULTIBOOT_SEARCH ? len : MULTIBOOT_SEARCH;

	*bad_magic_at = SIZE_MAX;
	for (size_t o = 0; end >= 12 && o <= end - 12; o += 4) {
		if (get32(img + o) != MULTIBOOT_HEADER_MAGIC)
			continue;
		uint32_t flags = get32(img + o + 4);
		/* A magic with a bad checksum is just data that happens to match: keep looking. */
		if ((uint32_t)(MULTIBOOT_HEADER_MAGIC + flags + get32(img + o + 8)) != 0) {
			if (*bad_magic_at == SIZE_MAX)
				*bad_magic_at = o;
			continue;
		}
		memset(h, 0, sizeof(*h));
		h->offset = o;
		h->flags = flags;
		if (end - o >= MB_AOUT_HDR_LEN) {
			h->header_addr = get32(img + o + 12);
			h->load_addr = get32(img + o + 16);
			h->load_end_addr = get32(img + o + 20);
			h->bss_end_addr = get32(img + o + 24);
			h->entry_addr = get32(img + o + 28);
		}
		return 1;
	}
	return 0;
}

int ldr_mb_check_flags(const struct ldr_mb_header *h, struct errmsg *e)
{
	uint32_t unsupported = h->flags & 0xffffu & ~MB_F_SUPPORTED;
	if (unsupported) {
		unsigned bit = (unsigned)__builtin_ctz(unsupported);
		return errmsg_set(e, EINVAL, "Multiboot header (flags 0x%08x) requires feature bit %u, which dhyve does not support",
				  h->flags, bit);
	}
	return 0;
}

/* The a.out kludge: the header says which file bytes go where. The file offset of load_addr
 * follows from the header's own position: offset - (header_addr - load_addr). */
int ldr_mb_parse_aout(const uint8_t *img, size_t len, const struct ldr_mb_header *h,
		      struct ldr_kernel *k, struct errmsg *e)
{
	size_t end = len < MULTIBOOT_SEARCH ? len : MULTIBOOT_SEARCH;
	if (end - h->offset < MB_AOUT_HDR_LEN)
		return errmsg_set(e, EINVAL, "Multiboot header at offset 0x%zx is truncated: the a.out kludge fields need %d bytes within the first 8 KiB",
				  h->offset, MB_AOUT_HDR_LEN);
	if (h->header_addr < h->load_addr)
		return errmsg_set(e, EINVAL, "Multiboot header_addr 0x%x is below load_addr 0x%x", h->header_addr, h->load_addr);
	uint64_t delta = h->header_addr - h->load_addr;
	if (delta > h->offset)
		return errmsg_set(e, EINVAL, "Multiboot load_addr 0x%x would lie before the start of the file: header_addr - load_addr = 0x%" PRIx64 ", but the header is at file offset 0x%zx",
				  h->load_addr, delta, h->offset);
	uint64_t foff = h->offset - delta;

	uint64_t filesz;
	if (h->load_end_addr == 0) {
		filesz = len - foff; /* 0 means: the rest of the file */
	} else {
		if (h->load_end_addr < h->load_addr)
			return errmsg_set(e, EINVAL, "Multiboot load_end_addr 0x%x is below load_addr 0x%x",
					  h->load_end_addr, h->load_addr);
		filesz = h->load_end_addr - h->load_addr;
		if (filesz > len - foff)
			return errmsg_set(e, EINVAL, "Multiboot load range [0x%x, 0x%x) needs 0x%" PRIx64 " file bytes from offset 0x%" PRIx64 ", but the image is %zu bytes (truncated file?)",
					  h->load_addr, h->load_end_addr, filesz, foff, len);
	}
	uint64_t memsz = filesz;
	if (h->bss_end_addr != 0) { /* 0 means: no bss */
		if (h->bss_end_addr < h->load_addr + filesz)
			return errmsg_set(e, EINVAL, "Multiboot bss_end_addr 0x%x is below the end of the loaded file 0x%" PRIx64,
					  h->bss_end_addr, h->load_addr + filesz);
		memsz = h->bss_end_addr - h->load_addr;
	}
	if (memsz == 0)
		return errmsg_set(e, EINVAL, "Multiboot a.out kludge loads nothing (load_end_addr == load_addr)");

	struct ldr_seg *s = &k->seg[0];
	memset(s, 0, sizeof(*s));
	strcpy(s->name, "Multiboot load range");
	s->paddr = s->vaddr = h->load_addr;
	s->filesz = filesz;
	s->memsz = memsz;
	s->data = filesz ? img + foff : NULL;
	k->nseg = 1;
	k->entry = h->entry_addr;
	k->is64 = false;
	return 0;
}

static uint8_t *mmap_put(uint8_t *p, uint64_t addr, uint64_t len, uint32_t type)
{
	put32(p, MMAP_ENTRY_SIZE - 4);
	put64(p + 4, addr);
	put64(p + 12, len);
	put32(p + 20, type);
	return p + MMAP_ENTRY_SIZE;
}

/* mem_upper: KiB of contiguous RAM from 1 MiB to the end of the slot holding 1 MiB. */
static uint32_t mem_upper_kib(const struct gmem *m)
{
	for (unsigned i = 0; i < m->nslots; i++) {
		const struct gmem_slot *s = &m->slot[i];
		if (s->gpa <= LDR_MIB && LDR_MIB - s->gpa < s->size) {
			uint64_t kib = (s->gpa + s->size - LDR_MIB) / 1024;
			return kib > UINT32_MAX ? UINT32_MAX : (uint32_t)kib;
		}
	}
	return 0;
}

/* The map: the PC's conventional low memory and its holes, then every slot's RAM above 1 MiB in
 * address order (the low 640 KiB is known to be RAM: the loader checked it first). */
static uint8_t *write_mmap(const struct gmem *m, uint8_t *p)
{
	p = mmap_put(p, 0, 0x9fc00, MMAP_AVAILABLE);
	p = mmap_put(p, 0x9fc00, 0x400, MMAP_RESERVED);   /* EBDA */
	p = mmap_put(p, 0xf0000, 0x10000, MMAP_RESERVED); /* BIOS ROM area */

	const struct gmem_slot *order[GMEM_MAX_SLOTS];
	unsigned n = m->nslots < GMEM_MAX_SLOTS ? m->nslots : GMEM_MAX_SLOTS;
	for (unsigned i = 0; i < n; i++) {
		unsigned j = i;
		for (; j > 0 && order[j - 1]->gpa > m->slot[i].gpa; j--)
			order[j] = order[j - 1];
		order[j] = &m->slot[i];
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t lo = order[i]->gpa, hi = order[i]->gpa + order[i]->size;
		if (lo < LDR_MIB)
			lo = LDR_MIB;
		if (hi > lo)
			p = mmap_put(p, lo, hi - lo, MMAP_AVAILABLE);
	}
	return p;
}

int ldr_mb_write_info(const struct gmem *m, struct errmsg *e)
{
	static const char name[] = "dhyve";
	uint8_t page[0x1000];

	memset(page, 0, sizeof(page));
	put32(page + MBI_O_FLAGS, MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME);
	put32(page + MBI_O_MEM_LOWER, 639);
	put32(page + MBI_O_MEM_UPPER, mem_upper_kib(m));
	put32(page + MBI_O_CMDLINE, (uint32_t)BOOT_CMDLINE_GPA);

	/* At most 3 + GMEM_MAX_SLOTS entries and a short name: far below one page. */
	uint8_t *mm = page + MBI_MMAP_OFF;
	uint8_t *mm_end = write_mmap(m, mm);
	put32(page + MBI_O_MMAP_LENGTH, (uint32_t)(mm_end - mm));
	put32(page + MBI_O_MMAP_ADDR, (uint32_t)(BOOT_MBI_GPA + MBI_MMAP_OFF));

	memcpy(mm_end, name, sizeof(name));
	put32(page + MBI_O_LOADER_NAME, (uint32_t)(BOOT_MBI_GPA + (uint64_t)(mm_end - page)));

	_Static_assert(MBI_MMAP_OFF >= MBI_SIZE, "memory map overlaps the info struct");
	_Static_assert(MBI_MMAP_OFF + (3 + GMEM_MAX_SLOTS) * MMAP_ENTRY_SIZE + sizeof(name) <= sizeof(page),
		       "Multiboot info does not fit its page");
	if (gmem_write(m, BOOT_MBI_GPA, page, sizeof(page)) < 0)
		return errmsg_set(e, EFAULT, "cannot write the Multiboot info at 0x%llx: not guest RAM", BOOT_MBI_GPA);
	return 0;
}
