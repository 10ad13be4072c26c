/* spin.elf: prints a line and then runs forever, writing an incrementing 32-bit counter to port
 * SPIN_PORT (one port exit per iteration), so dhyvectl can be tested against a running VM. */
#include "guest.h"

#define SPIN_PORT 0x511

void kmain(void)
{
	serial_puts("spin: ready\n");
	for (uint32_t i = 0;; i++)
		outl(SPIN_PORT, i);
}
