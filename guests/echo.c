/* echo.elf: echoes what arrives on COM1, a-z upper-cased and every other byte unchanged. A 'q'
 * is not echoed: it prints "\necho: bye\n" and powers off (dhyve exit status 1). */
#include "guest.h"

void kmain(void)
{
	serial_puts("echo: ready\n");
	for (;;) {
		char c = serial_getc();

		if (c == 'q') {
			serial_puts("\necho: bye\n");
			power_off();
		}
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		serial_putc(c);
	}
}
