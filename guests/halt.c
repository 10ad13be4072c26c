/* halt.elf: prints a line and halts with interrupts off forever (dhyve exit status 2). */
#include "guest.h"

void kmain(void)
{
	serial_puts("halt: cli; hlt\n");
	halt_forever();
}
