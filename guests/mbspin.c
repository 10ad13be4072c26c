/* mbspin.elf: a Multiboot kernel that prints one line and then counts in a register forever,
 * with no exits: the guest both dhyve and QEMU boot with -kernel for bench/gdb_step. */
#include "guest.h"

void mb_main(uint32_t magic, uint32_t mbi_addr)
{
	(void)magic;
	(void)mbi_addr;
	serial_puts("mbspin: ready\n");
	for (uint32_t i = 0;; i++)
		__asm__ volatile("" : "+r"(i)); /* keep the loop, and i in a register */
}
