/* The 8259 pair as the test guests set it up, the way a PC BIOS does: master at vector 0x20,
 * slave at 0x28 cascaded on IRQ 2, and only the RTC's IRQ 8 unmasked; EOI to both. */
#ifndef DHYVE_GUESTS_PIC8259_H
#define DHYVE_GUESTS_PIC8259_H

#include "io.h"

#define PIC1 0x20
#define PIC2 0xa0
#define PIC_RTC_VECTOR 0x28 /* slave base 0x28 + IRQ 8 - 8 */

static inline void pic_init_rtc_only(void)
{
	outb(PIC1, 0x11); /* ICW1: edge, cascade, ICW4 follows */
	outb(PIC2, 0x11);
	outb(PIC1 + 1, 0x20);
	outb(PIC2 + 1, PIC_RTC_VECTOR);
	outb(PIC1 + 1, 0x04); /* slave on IRQ 2 */
	outb(PIC2 + 1, 0x02);
	outb(PIC1 + 1, 0x01); /* 8086 mode */
	outb(PIC2 + 1, 0x01);
	outb(PIC1 + 1, 0xfb); /* masks: all but the cascade ... */
	outb(PIC2 + 1, 0xfe); /* ... and IRQ 8 */
}

static inline void pic_eoi_slave_irq(void)
{
	outb(PIC2, 0x20);
	outb(PIC1, 0x20);
}

#endif
