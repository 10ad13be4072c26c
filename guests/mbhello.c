/* mbhello.elf: a Multiboot v1 ELF32 kernel that reports what the loader handed it, then powers
 * off (dhyve exit status 1). A field whose flags bit is clear prints as "(none)". */
#include "guest.h"

#define MB_BOOTLOADER_MAGIC 0x2BADB002u
#define MBI_MEM     (1u << 0)
#define MBI_CMDLINE (1u << 2)
#define MBI_MMAP    (1u << 6)
#define MBI_LOADER  (1u << 9)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
};

static void put_str_or_none(uint32_t flags, uint32_t bit, uint32_t addr)
{
	serial_puts((flags & bit) && addr ? (const char *)(uintptr_t)addr : "(none)");
	serial_putc('\n');
}

void mb_main(uint32_t magic, uint32_t mbi_addr)
{
	const struct mb_info *mbi = (const struct mb_info *)(uintptr_t)mbi_addr;

	if (magic != MB_BOOTLOADER_MAGIC) {
		serial_puts("mbhello: bad magic\n");
		power_off();
	}
	serial_puts("mbhello: magic ok\n");

	serial_puts("mbhello: mem_upper=");
	if (mbi->flags & MBI_MEM)
		serial_putu(mbi->mem_upper);
	else
		serial_puts("(none)");
	serial_putc('\n');

	serial_puts("mbhello: cmdline=");
	put_str_or_none(mbi->flags, MBI_CMDLINE, mbi->cmdline);

	/* Each entry is preceded by its size, which does not count the size field itself. */
	serial_puts("mbhello: mmap entries=");
	if (mbi->flags & MBI_MMAP) {
		uint32_t n = 0, p = mbi->mmap_addr, end = mbi->mmap_addr + mbi->mmap_length;

		for (; p < end; p += *(const uint32_t *)(uintptr_t)p + 4)
			n++;
		serial_putu(n);
	} else {
		serial_puts("(none)");
	}
	serial_putc('\n');

	serial_puts("mbhello: loader=");
	put_str_or_none(mbi->flags, MBI_LOADER, mbi->boot_loader_name);

	power_off();
}
