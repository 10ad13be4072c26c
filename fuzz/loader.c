/* Fuzz target loader: the input is a kernel image (ELF64, ELF32, Multiboot or bzImage) loaded by
 * loader_load_image into a fresh, small guest; a success must describe a loadable, startable kernel. */
#include <string.h>

#include "base/gmem.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/guest_ram.h"
#include "loader/loader.h"

/* RAM as the loader needs it and no more (bss is zeroed, so every byte of RAM costs time): the
 * low 640 KiB for its boot structures, then 64 KiB of kernel space at 1 MiB and a 16 KiB slot
 * right after it, so that a segment spanning two slots and the Multiboot memory map with
 * several slots are both exercised. */
#define LOW_RAM   0xa0000ull
#define KERN_GPA  0x100000ull
#define KERN_RAM  0x10000ull
#define EXTRA_GPA (KERN_GPA + KERN_RAM)
#define EXTRA_RAM 0x4000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* One mapping laid out like guest-physical memory (the hole is never touched, so costs
	 * nothing): a single mmap per input instead of one per slot. */
	uint8_t *ram = guest_ram_alloc(EXTRA_GPA + EXTRA_RAM);
	if (!ram)
		return 0;
	struct gmem m;
	gmem_init_flat(&m, ram, LOW_RAM);
	FUZZ_CHECK(gmem_add_slot(&m, KERN_GPA, KERN_RAM, ram + KERN_GPA) == 0 &&
		   gmem_add_slot(&m, EXTRA_GPA, EXTRA_RAM, ram + EXTRA_GPA) == 0, "slots");

	struct boot_state bs;
	struct kernel_info info;
	struct errmsg e = { .text = "" };
	memset(&bs, 0x5a, sizeof(bs));
	int rc = loader_load_image(&m, data, size, "console=ttyS0", &bs, &info, &e);
	if (rc < 0) {
		FUZZ_CHECK(e.text[0] != '\0' && memchr(e.text, 0, sizeof(e.text)), "refusal without a message");
	} else {
		FUZZ_CHECK(rc == 0, "rc %d", rc);
		/* loader.h's promises: the entry byte lies in what was loaded, above the boot area. */
		FUZZ_CHECK(info.entry == bs.rip, "entry %#llx, rip %#llx", (unsigned long long)info.entry,
			   (unsigned long long)bs.rip);
		FUZZ_CHECK(info.load_lo >= KERN_GPA && info.load_lo < info.load_hi && info.load_hi <= EXTRA_GPA + EXTRA_RAM,
			   "load range [%#llx, %#llx)", (unsigned long long)info.load_lo, (unsigned long long)info.load_hi);
		FUZZ_CHECK(bs.rip >= info.load_lo && bs.rip < info.load_hi, "entry outside the image");
		FUZZ_CHECK(bs.rsp == BOOT_STACK_TOP && bs.rflags == 0x2, "stack/flags");
		if (info.format == KERNEL_BZIMAGE) {
			FUZZ_CHECK(bs.rsi == BOOT_ZEROPAGE_GPA && bs.cs.selector == 0x10 && bs.ds.selector == 0x18 &&
				   info.load_hi <= (1ull << 32), "bzImage state");
			FUZZ_CHECK(bs.mode == BOOT_MODE_LONG64 ? bs.rip == info.load_lo + 0x200 : bs.rip == info.load_lo,
				   "bzImage entry");
		} else if (info.format == KERNEL_ELF64) {
			FUZZ_CHECK(bs.mode == BOOT_MODE_LONG64 && bs.cs.selector == BOOT_SEL_CODE64, "ELF64 state");
		} else {
			FUZZ_CHECK(info.format == KERNEL_ELF32 || info.format == KERNEL_MULTIBOOT, "format %d", info.format);
			FUZZ_CHECK(bs.mode == BOOT_MODE_PROT32 && bs.cs.selector == BOOT_SEL_CODE32 && info.load_hi <= (1ull << 32),
				   "32-bit state");
			FUZZ_CHECK(info.format != KERNEL_MULTIBOOT || (bs.rax == MULTIBOOT_BOOTLOADER_MAGIC && bs.rbx == BOOT_MBI_GPA),
				   "Multiboot registers");
		}
		FUZZ_CHECK(strcmp((const char *)ram + BOOT_CMDLINE_GPA, "console=ttyS0") == 0, "command line");
	}
	guest_ram_free(ram, EXTRA_GPA + EXTRA_RAM);
	return 0;
}
