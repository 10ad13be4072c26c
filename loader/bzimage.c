/* Linux x86 boot protocol (Documentation/arch/x86/boot.rst): a bzImage is loaded the way a
 * 32/64-bit boot loader does it, without running its real-mode setup code. The kernel goes to
 * pref_address, boot_params gets the setup header, an e820 map, the command line and the initrd.
 *
 * Entry mode: the 64-bit entry (startup_64, load address + 0x200, RSI = boot_params) when the
 * kernel offers it (protocol >= 2.12 with XLF_KERNEL_64), else the 32-bit one at the load
 * address (ESI = boot_params). The 64-bit one is preferred because the loader already builds the
 * identity-mapped long-mode state that path needs and every x86-64 kernel since 3.8 accepts it;
 * the decompressor then skips its own 32-bit page-table setup and mode switch, which on a KVM
 * that emulates guest ring 0 is a few thousand slow instructions and 32-bit code that such a
 * KVM handles worst (PLATFORM.md: 32-bit iret). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "loader/loader_int.h"

/* Setup header fields, as offsets in the image's first sectors and in boot_params alike. */
#define HDR_START            0x1f1
#define HDR_SETUP_SECTS      0x1f1
#define HDR_JUMP_OFFSET      0x201 /* the header ends at 0x202 + this byte */
#define HDR_MAGIC            0x202
#define HDR_VERSION          0x206
#define HDR_TYPE_OF_LOADER   0x210
#define HDR_LOADFLAGS        0x211
#define HDR_CODE32_START     0x214
#define HDR_RAMDISK_IMAGE    0x218
#define HDR_RAMDISK_SIZE     0x21c
#define HDR_HEAP_END_PTR     0x224
#define HDR_CMD_LINE_PTR     0x228
#define HDR_INITRD_ADDR_MAX  0x22c
#define HDR_XLOADFLAGS       0x236
#define HDR_CMDLINE_SIZE     0x238
#define HDR_PREF_ADDRESS     0x258
#define HDR_INIT_SIZE        0x260
#define HDR_MAX_END          0x290 /* where boot_params' next field (edd_mbr_sig_buffer) begins */
#define HDR_NEED_LEN         0x268 /* every field read here lies below this */

/* boot_params fields outside the setup header. */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_EXT_CMD_LINE_PTR  0x0c8
#define BP_ALT_MEM_K         0x1e0
#define BP_E820_ENTRIES      0x1e8
#define BP_E820_TABLE        0x2d0
#define BP_SIZE              0x1000
#define E820_ENTRY_SIZE      20

#define LOADED_HIGH      0x01  /* loadflags: protected-mode code at 1 MiB or above (bzImage) */
#define CAN_USE_HEAP     0x80  /* loadflags: heap_end_ptr valid; only the real-mode setup uses it */
#define XLF_KERNEL_64    0x01  /* xloadflags: has the 64-bit entry at +0x200 */
#define LOADER_TYPE_UNDEFINED 0xff /* type_of_loader: no assigned boot loader id */

#define PROTO_MIN        0x206 /* cmdline_size; everything older is pre-2.6.22 */
#define PROTO_PREF_ADDR  0x20a /* pref_address and init_size */
#define PROTO_XLOADFLAGS 0x20c
#define OLD_INITRD_MAX   0x37ffffffull /* initrd_addr_max before protocol 2.03 */
#define ENTRY64_OFFSET   0x200
#define PAGE             0x1000ull

/* Linux's GDT contract: __BOOT_CS = 0x10 (execute/read), __BOOT_DS = 0x18 (read/write), flat. */
#define LINUX_SEL_CS 0x10
#define LINUX_SEL_DS 0x18

bool ldr_is_bzimage(const uint8_t *img, size_t len)
{
	return len >= HDR_VERSION + 2 && memcmp(img + HDR_MAGIC, "HdrS", 4) == 0;
}

/* What the header says, checked against the file and the guest. */
struct bz {
	uint16_t version;
	size_t hdr_end;            /* the setup header is img[HDR_START, hdr_end) */
	size_t koff, klen;         /* the protected-mode kernel inside the file */
	uint64_t load, span;       /* it goes to [load, load + span): span covers init_size */
	bool entry64;
	uint64_t initrd_max;       /* highest byte address the initrd may occupy */
	uint64_t initrd_gpa;
};

static int parse_header(const uint8_t *img, size_t len, struct bz *b, struct errmsg *e)
{
	b->version = (uint16_t)get_le(img + HDR_VERSION, 2);
	if (b->version < PROTO_MIN)
		return errmsg_set(e, ENOTSUP, "Linux boot protocol %u.%02u is older than 2.06, the oldest dhyve loads",
				  b->version >> 8, b->version & 0xff);
	if (len < HDR_NEED_LEN)
		return errmsg_set(e, EINVAL, "a Linux setup header needs %d bytes, the file has %zu", HDR_NEED_LEN, len);
	if (!(img[HDR_LOADFLAGS] & LOADED_HIGH))
		return errmsg_set(e, ENOTSUP, "a zImage (kernel loaded below 1 MiB) is not supported, only bzImage");
	unsigned sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4; /* 0 means 4, boot.rst says */
	b->koff = ((size_t)sects + 1) * 512;
	if (b->koff >= len)
		return errmsg_set(e, EINVAL, "the setup code (%u sectors) reaches past the end of the file (%zu bytes): no kernel after it",
				  sects, len);
	b->klen = len - b->koff;
	b->hdr_end = 0x202 + (size_t)img[HDR_JUMP_OFFSET];
	if (b->hdr_end > HDR_MAX_END)
		b->hdr_end = HDR_MAX_END;

	/* A relocatable kernel could go anywhere aligned, but pref_address is where it runs without
	 * relocating; an older kernel runs where code32_start says. */
	if (b->version >= PROTO_PREF_ADDR) {
		b->load = get_le(img + HDR_PREF_ADDRESS, 8);
		uint64_t init = get_le(img + HDR_INIT_SIZE, 4);
		b->span = init > b->klen ? init : b->klen;
	} else {
		b->load = get_le(img + HDR_CODE32_START, 4);
		b->span = b->klen; /* no init_size: what decompression needs beyond that is unknown */
	}
	b->entry64 = b->version >= PROTO_XLOADFLAGS && (get_le(img + HDR_XLOADFLAGS, 2) & XLF_KERNEL_64);
	if (b->entry64 && b->klen <= ENTRY64_OFFSET)
		return errmsg_set(e, EINVAL, "the kernel after the setup code is %zu bytes, too short for its 64-bit entry at +0x%x",
				  b->klen, ENTRY64_OFFSET);
	b->initrd_max = b->version >= 0x203 ? get_le(img + HDR_INITRD_ADDR_MAX, 4) : OLD_INITRD_MAX;
	return 0;
}

static int check_kernel_fits(const struct gmem *m, const struct bz *b, struct errmsg *e)
{
	char ram[32];
	if (b->load < BOOT_KERNEL_MIN)
		return errmsg_set(e, EINVAL, "load address 0x%" PRIx64 " is below 1 MiB, where the boot structures are", b->load);
	if (b->load + b->span > LDR_4GIB || b->load + b->span < b->load)
		return errmsg_set(e, EINVAL, "kernel [0x%" PRIx64 ", +0x%" PRIx64 ") reaches above 4 GiB", b->load, b->span);
	if (!gmem_map(m, b->load, b->span))
		return errmsg_set(e, ENOMEM, "kernel does not fit: it needs RAM at [0x%" PRIx64 ", 0x%" PRIx64 ") (%" PRIu64 " MiB to decompress into, from 0x%" PRIx64 "), guest RAM is %s",
				  b->load, b->load + b->span, (b->span + LDR_MIB - 1) / LDR_MIB, b->load,
				  ldr_ram_str(m, ram, sizeof(ram)));
	return 0;
}

/* The initrd goes as high as possible (as boot loaders do: the kernel's own allocations grow up
 * from its image), page aligned, inside one RAM entry of the map, above the kernel's init_size
 * and at most at initrd_addr_max. Below 4 GiB in any case: the identity map covers no more. */
static int place_initrd(const struct ldr_e820 *map, const struct loader_opts *o, struct bz *b,
			struct errmsg *e)
{
	uint64_t size = o->initrd_len, limit = b->initrd_max + 1; /* exclusive */
	uint64_t lowest = b->load + b->span;
	const char *name = o->initrd_path ? o->initrd_path : "(in memory)";
	if (limit > LDR_4GIB)
		limit = LDR_4GIB;
	bool found = false;
	for (unsigned i = 0; i < map->n; i++) {
		const struct ldr_e820_entry *r = &map->entry[i];
		if (r->type != LDR_E820_RAM)
			continue;
		uint64_t lo = r->addr > lowest ? r->addr : lowest;
		uint64_t hi = r->addr + r->size < limit ? r->addr + r->size : limit;
		if (hi <= lo || hi - lo < size)
			continue;
		uint64_t at = (hi - size) & ~(PAGE - 1);
		if (at < lo)
			continue;
		if (!found || at > b->initrd_gpa)
			b->initrd_gpa = at;
		found = true;
	}
	if (!found)
		return errmsg_set(e, ENOMEM, "initrd %s (%zu bytes) does not fit in guest RAM between the kernel's end 0x%" PRIx64 " and 0x%" PRIx64 " (initrd_addr_max)",
				  name, o->initrd_len, lowest, limit);
	return 0;
}

static int write_gdt(const struct gmem *m, bool entry64, struct boot_state *bs, struct errmsg *e)
{
	const uint64_t gdt[4] = {
		[LINUX_SEL_CS / 8] = entry64 ? 0x00af9b000000ffffull : 0x00cf9b000000ffffull,
		[LINUX_SEL_DS / 8] = 0x00cf93000000ffffull,
	};
	if (gmem_write(m, BOOT_GDT_GPA, gdt, sizeof(gdt)) < 0)
		return errmsg_set(e, EFAULT, "cannot write the GDT at 0x%llx: not guest RAM", BOOT_GDT_GPA);
	bs->gdt_base = BOOT_GDT_GPA;
	bs->gdt_limit = sizeof(gdt) - 1;
	return 0;
}

static void fill_boot_params(uint8_t *bp, const uint8_t *img, const struct bz *b, const struct ldr_e820 *map,
			     const struct loader_opts *o)
{
	memset(bp, 0, BP_SIZE);
	memcpy(bp + HDR_START, img + HDR_START, b->hdr_end - HDR_START);
	bp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
	bp[HDR_LOADFLAGS] &= (uint8_t)~CAN_USE_HEAP; /* no real-mode setup ran, so no heap */
	put_le(bp + HDR_HEAP_END_PTR, 0, 2);
	put_le(bp + HDR_CODE32_START, b->load, 4);
	put_le(bp + HDR_CMD_LINE_PTR, BOOT_CMDLINE_GPA, 4);
	put_le(bp + BP_EXT_CMD_LINE_PTR, 0, 4);
	put_le(bp + HDR_RAMDISK_IMAGE, o->initrd ? b->initrd_gpa : 0, 4);
	put_le(bp + HDR_RAMDISK_SIZE, o->initrd ? o->initrd_len : 0, 4);
	put_le(bp + BP_EXT_RAMDISK_IMAGE, 0, 4); /* below 4 GiB: the high halves are 0 */
	put_le(bp + BP_EXT_RAMDISK_SIZE, 0, 4);

	uint64_t above_1m = 0; /* KiB of RAM contiguous from 1 MiB, for kernels that ignore e820 */
	for (unsigned i = 0; i < map->n; i++) {
		const struct ldr_e820_entry *r = &map->entry[i];
		uint8_t *p = bp + BP_E820_TABLE + i * E820_ENTRY_SIZE;
		put_le(p, r->addr, 8);
		put_le(p + 8, r->size, 8);
		put_le(p + 16, r->type, 4);
		if (r->type == LDR_E820_RAM && r->addr == BOOT_KERNEL_MIN)
			above_1m = r->size / 1024;
	}
	bp[BP_E820_ENTRIES] = (uint8_t)map->n;
	put_le(bp + BP_ALT_MEM_K, above_1m > UINT32_MAX ? UINT32_MAX : above_1m, 4);
}

int ldr_bzimage_load(const struct gmem *m, const uint8_t *img, size_t len, const struct loader_opts *o,
		     size_t cmdlen, struct boot_state *bs, struct kernel_info *info, struct errmsg *e)
{
	struct bz b;
	memset(&b, 0, sizeof(b));
	int r = parse_header(img, len, &b, e);
	if (r < 0)
		return r;
	uint64_t cmdline_size = get_le(img + HDR_CMDLINE_SIZE, 4);
	if (cmdlen > cmdline_size)
		return errmsg_set(e, E2BIG, "command line of %zu bytes is longer than the kernel's cmdline_size (%" PRIu64 ")",
				  cmdlen, cmdline_size);
	if ((r = check_kernel_fits(m, &b, e)) < 0)
		return r;

	/* The map is on the heap: 128 entries, and fuzzers run with small stacks. */
	struct ldr_e820 *map = calloc(1, sizeof(*map));
	uint8_t *bp = calloc(1, BP_SIZE);
	if (!map || !bp) {
		r = errmsg_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if ((r = ldr_e820_build(m, o->reserved, o->nreserved, map, e)) < 0)
		goto out;
	if (o->initrd && (r = place_initrd(map, o, &b, e)) < 0)
		goto out;

	/* Every check passed: from here on only writes into RAM that was checked. */
	fill_boot_params(bp, img, &b, map, o);
	if (gmem_write(m, b.load, img + b.koff, b.klen) < 0 ||
	    (o->initrd && gmem_write(m, b.initrd_gpa, o->initrd, o->initrd_len) < 0) ||
	    gmem_write(m, BOOT_ZEROPAGE_GPA, bp, BP_SIZE) < 0 ||
	    gmem_write(m, BOOT_CMDLINE_GPA, o->cmdline, cmdlen) < 0 || gmem_zero(m, BOOT_CMDLINE_GPA + cmdlen, 1) < 0) {
		r = errmsg_set(e, EFAULT, "copy into guest RAM failed");
		goto out;
	}
	if ((r = write_gdt(m, b.entry64, bs, e)) < 0)
		goto out;
	if (b.entry64) {
		if ((r = ldr_write_page_tables(m, e)) < 0)
			goto out;
		ldr_state_long64(bs, b.load + ENTRY64_OFFSET);
	} else {
		ldr_state_prot32(bs, (uint32_t)b.load);
	}
	bs->cs.selector = LINUX_SEL_CS;
	bs->ds.selector = LINUX_SEL_DS;
	bs->rsi = BOOT_ZEROPAGE_GPA;
	if (info) {
		info->format = KERNEL_BZIMAGE;
		info->entry = bs->rip;
		info->load_lo = b.load;
		info->load_hi = b.load + b.span;
		info->initrd_lo = o->initrd ? b.initrd_gpa : 0;
		info->initrd_hi = o->initrd ? b.initrd_gpa + o->initrd_len : 0;
		info->boot_params = BOOT_ZEROPAGE_GPA;
		info->protocol = b.version;
	}
out:
	free(map);
	free(bp);
	return r;
}
