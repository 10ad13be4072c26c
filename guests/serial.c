#include "serial.h"

#include "io.h"

#define COM1_BASE 0x3f8
#define COM1_RBR  (COM1_BASE + 0) /* receive buffer (read) / transmit holding (write) */
#define COM1_THR  (COM1_BASE + 0)
#define COM1_LSR  (COM1_BASE + 5) /* line status */
#define LSR_DR    0x01            /* data ready */
#define LSR_THRE  0x20            /* transmit holding register empty */

void serial_putc(char c)
{
	while (!(inb(COM1_LSR) & LSR_THRE))
		;
	outb(COM1_THR, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

void serial_putu(uint32_t v)
{
	char buf[10];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		serial_putc(buf[--n]);
}

char serial_getc(void)
{
	while (!(inb(COM1_LSR) & LSR_DR))
		;
	return (char)inb(COM1_RBR);
}
