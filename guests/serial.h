/* Polled COM1 (16550 at 0x3f8) output and input for the test guests. Bytes go out as given:
 * no "\n" -> "\r\n" translation, so a guest's output is exactly the strings it prints. */
#ifndef DHYVE_GUESTS_SERIAL_H
#define DHYVE_GUESTS_SERIAL_H

#include <stdint.h>

void serial_putc(char c);
void serial_puts(const char *s);
void serial_putu(uint32_t v); /* unsigned decimal */
char serial_getc(void);       /* waits for a received byte */

#endif
