/* debugexit.elf: prints one line and writes 0x2a to the isa-debug-exit port 0xf4; run with
 * -o debugexit.port=0xf4 dhyve exits with status (0x2a << 1) | 1 = 85. Without that port the
 * write goes nowhere and the guest powers off (status 1). */
#include "guest.h"

#define DEBUGEXIT_PORT 0xf4
#define DEBUGEXIT_CODE 0x2a

void kmain(void)
{
	serial_puts("debugexit: writing 0x2a to port 0xf4\n");
	outl(DEBUGEXIT_PORT, DEBUGEXIT_CODE);
	power_off();
}
