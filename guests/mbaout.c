/* mbaout.elf / mbaout.bin: a Multiboot v1 kernel loaded through the a.out kludge (start32.S
 * built with MULTIBOOT_AOUT); mbaout.bin is the flat image. Powers off (dhyve exit status 1). */
#include "guest.h"

void mb_main(uint32_t magic, uint32_t mbi_addr)
{
	(void)mbi_addr;
	serial_puts(magic == 0x2BADB002u ? "mbaout: magic ok\n" : "mbaout: bad magic\n");
	power_off();
}
