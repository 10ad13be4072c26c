/* Kernel loaders: put an ELF64, ELF32, Multiboot v1 or Linux bzImage kernel into guest memory and
 * say what CPU state it starts in. Pure (libelf, no KVM), so tests and fuzzers can run them on a buffer. */
#ifndef DHYVE_LOADER_LOADER_H
#define DHYVE_LOADER_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "base/bootstate.h"
#include "base/errmsg.h"
#include "base/gmem.h"

/* Limits: images larger than this, or with more loadable segments, are refused. */
#define LOADER_MAX_IMAGE    (512ull << 20)
#define LOADER_MAX_SEGMENTS 64
#define LOADER_CMDLINE_MAX  4095 /* bytes, without the NUL; copied to BOOT_CMDLINE_GPA */

/* Multiboot v1: the header magic looked for in the first 8 KiB, and the value in EAX at entry. */
#define MULTIBOOT_HEADER_MAGIC     0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_SEARCH           8192

enum kernel_format {
	KERNEL_MULTIBOOT = 1, /* a Multiboot v1 header in the first 8 KiB wins over the ELF class */
	KERNEL_ELF64,
	KERNEL_ELF32,
	KERNEL_BZIMAGE, /* Linux x86 boot protocol >= 2.06 ("HdrS" at 0x202) */
};

/* A guest-physical range [gpa, gpa + len). */
struct loader_range {
	uint64_t gpa, len;
};
#define LOADER_MAX_RESERVED 8

/* What a kernel gets besides its image. Only a bzImage takes an initrd and the reserved ranges. */
struct loader_opts {
	const char *cmdline;               /* NULL: "" */
	const char *initrd_path;           /* loader_load_file_opts: read this file as the initrd */
	const uint8_t *initrd;             /* loader_load_image_opts: the initrd bytes (NULL: none) */
	size_t initrd_len;
	/* Ranges the e820 map shows as reserved and never as RAM (firmware tables, PCI ECAM). */
	const struct loader_range *reserved;
	unsigned nreserved;                /* <= LOADER_MAX_RESERVED */
};

struct kernel_info {
	enum kernel_format format;
	uint64_t entry;
	uint64_t load_lo, load_hi; /* guest-physical range the image occupies, [lo, hi) */
	/* bzImage only (0 otherwise): where the initrd went, [lo, hi), and the boot_params page.
	 * load_hi is then the end of the kernel's init_size, the memory it decompresses into. */
	uint64_t initrd_lo, initrd_hi;
	uint64_t boot_params;
	uint16_t protocol;         /* boot protocol version, e.g. 0x20f */
};

/* Loads the image in img[0..len) into m and fills bs. cmdline may be NULL. On failure nothing is
 * reported as loaded: the return is a negative errno and e says why (the guest memory may hold
 * part of the image, but the VM must not be started).
 *
 * What it writes and promises (m must be RAM over [0, 640 KiB) and hold every segment):
 *  - segments at p_paddr (>= BOOT_KERNEL_MIN, disjoint), bss zeroed; the GDT at BOOT_GDT_GPA
 *    (gdt_base/gdt_limit set); the command line, NUL-terminated, at BOOT_CMDLINE_GPA ("" if NULL).
 *  - rip is the PHYSICAL address of the entry byte: e_entry if it lies in a segment's
 *    [p_vaddr, +memsz) is translated to that segment's p_paddr, else it must lie in a
 *    [p_paddr, +memsz) itself (vmlinux style). info->entry is the same value.
 *  - ELF64 (no Multiboot header): BOOT_MODE_LONG64, identity page tables for 4 GiB at
 *    BOOT_PML4_GPA, cs = BOOT_SEL_CODE64, ds = BOOT_SEL_DATA (also for es, fs, gs, ss).
 *  - ELF32: BOOT_MODE_PROT32, paging off, cs = BOOT_SEL_CODE32, rax = rbx = 0.
 *  - Multiboot: as ELF32, plus rax = MULTIBOOT_BOOTLOADER_MAGIC, rbx = BOOT_MBI_GPA.
 *  - rsp = BOOT_STACK_TOP, rflags = 0x2 (interrupts off) in every mode.
 * info may be NULL. */
int loader_load_image(const struct gmem *m, const uint8_t *img, size_t len, const char *cmdline,
		      struct boot_state *bs, struct kernel_info *info, struct errmsg *e);
/* Reads path and calls loader_load_image(). */
int loader_load_file(const struct gmem *m, const char *path, const char *cmdline,
		     struct boot_state *bs, struct kernel_info *info, struct errmsg *e);

/* The same with an initrd and reserved ranges (o may not be NULL). For a bzImage (see
 * loader/bzimage.c for the layout and the entry mode chosen):
 *  - the protected-mode kernel at pref_address (protocol >= 2.10) or code32_start, which must
 *    leave room for init_size bytes in RAM below 4 GiB;
 *  - boot_params ("zero page") at BOOT_ZEROPAGE_GPA: the image's setup header, type_of_loader
 *    0xff, cmd_line_ptr = BOOT_CMDLINE_GPA, an e820 map, ramdisk_image/size;
 *  - the initrd page-aligned as high as RAM below initrd_addr_max allows, above the kernel;
 *  - rsi = BOOT_ZEROPAGE_GPA; cs = 0x10, ds = 0x18 in a GDT as boot.rst asks.
 * An initrd with a kernel that is not a bzImage is refused. Messages name the file. */
int loader_load_image_opts(const struct gmem *m, const uint8_t *img, size_t len,
			   const struct loader_opts *o, struct boot_state *bs, struct kernel_info *info,
			   struct errmsg *e);
int loader_load_file_opts(const struct gmem *m, const char *path, const struct loader_opts *o,
			  struct boot_state *bs, struct kernel_info *info, struct errmsg *e);

#endif
