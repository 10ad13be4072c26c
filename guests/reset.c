/* reset.elf: prints one line and asks for a hard reset through the reset control register
 * 0xcf9 (dhyve exits with status 0, as bhyve does on a guest reset). */
#include "guest.h"

#define RESET_CTL_PORT 0xcf9
#define RESET_CTL_HARD 0x06 /* SYS_RST | RST_CPU */

void kmain(void)
{
	serial_puts("reset: writing 0x6 to port 0xcf9\n");
	outb(RESET_CTL_PORT, RESET_CTL_HARD);
	halt_forever();
}
