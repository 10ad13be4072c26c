/* hello.elf: prints one line and powers off (dhyve exit status 1). */
#include "guest.h"

void kmain(void)
{
	serial_puts("Hello from the dhyve guest!\n");
	power_off();
}
