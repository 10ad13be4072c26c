/* What every test guest links against: the serial and port helpers, and its C entry. */
#ifndef DHYVE_GUESTS_GUEST_H
#define DHYVE_GUESTS_GUEST_H

#include <stdint.h>

#include "io.h"
#include "serial.h"

void kmain(void);                                  /* ELF64 guests, called by start64.S */
void mb_main(uint32_t magic, uint32_t mbi_addr);   /* Multiboot guests, called by start32.S */

#endif
