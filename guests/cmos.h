/* The RTC/CMOS registers through the index port 0x70 and the data port 0x71, for the test
 * guests that program the RTC's interrupts. */
#ifndef DHYVE_GUESTS_CMOS_H
#define DHYVE_GUESTS_CMOS_H

#include "io.h"

static inline uint8_t cmos_read(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static inline void cmos_write(uint8_t idx, uint8_t v)
{
	outb(0x70, idx);
	outb(0x71, v);
}

#endif
