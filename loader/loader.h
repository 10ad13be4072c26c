/* Kernel loaders: put an ELF64, ELF32 or Multiboot v1 kernel into guest memory and say what
 * CPU state it starts in. Pure (libelf, no KVM), so tests and fuzzers can run them on a buffer. */
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
};

struct kernel_info {
	enum kernel_format format;
	uint64_t entry;
	uint64_t load_lo, load_hi; /* guest-physical range the image occupies, [lo, hi) */
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

#endif
