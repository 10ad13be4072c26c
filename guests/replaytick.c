/* replaytick.elf / replaypanic.elf: a guest whose output depends on exactly where interrupts land.
 * A busy loop without exits runs while the RTC interrupts at 256 Hz; each interrupt folds the
 * loop counter it interrupted into a checksum, so only an exact replay prints the same one. It
 * also folds in console input, the CMOS clock and (replaypanic) panics through pvpanic when an
 * interrupt lands on a counter value with its low 6 bits clear: a panic that depends on timing. */
#include "fb_idt64.h"

#define PIC1 0x20
#define PIC2 0xa0
#define RTC_VECTOR 0x28
#define COM1 0x3f8
#define PVPANIC 0x505
#define TICKS 192

static volatile uint64_t counter, sum = 0xcbf29ce484222325ull;
static volatile unsigned ticks;

static void fold(uint64_t v)
{
	sum = (sum ^ v) * 0x100000001b3ull;
}

static uint8_t cmos_read(uint8_t idx)
{
	outb(0x70, idx);
	return inb(0x71);
}

static void on_rtc(struct fb_frame *f)
{
	(void)f;
	cmos_read(0x0c); /* acknowledge: the RTC lowers IRQ 8 */
	uint64_t at = counter;
	fold(at);
	ticks++;
#ifdef REPLAY_PANIC
	if (ticks > 8 && (at & 63) == 0) {
		serial_puts("replaypanic: panic at counter ");
		fb_puthex(at);
		serial_puts(" tick ");
		serial_putu(ticks);
		serial_puts("\n");
		outb(PVPANIC, 1);
		halt_forever();
	}
#endif
	outb(PIC2, 0x20);
	outb(PIC1, 0x20);
}

static void pic_init(void)
{
	outb(PIC1, 0x11);
	outb(PIC2, 0x11);
	outb(PIC1 + 1, 0x20);
	outb(PIC2 + 1, RTC_VECTOR);
	outb(PIC1 + 1, 0x04);
	outb(PIC2 + 1, 0x02);
	outb(PIC1 + 1, 0x01);
	outb(PIC2 + 1, 0x01);
	outb(PIC1 + 1, 0xfb);
	outb(PIC2 + 1, 0xfe);
}

/* Whatever arrived on COM1 by now (the test pipes a line in). */
static void take_input(void)
{
	while (inb(COM1 + 5) & 1)
		fold(inb(COM1));
}

void kmain(void)
{
	fb_test_name = "replaytick";
	fb_idt_init(0x9f000, 0x9f000);
	fb_idt_set_handler(RTC_VECTOR, on_rtc);
	pic_init();
	fold(cmos_read(0x00) | cmos_read(0x02) << 8 | cmos_read(0x04) << 16);
	cmos_read(0x0c);
	outb(0x70, 0x0a);
	outb(0x71, 0x28); /* 256 Hz */
	outb(0x70, 0x0b);
	outb(0x71, 0x42); /* periodic interrupts, 24-hour mode */
	__asm__ volatile("sti");
	while (ticks < TICKS) {
		counter++;
		if ((counter & 0xfffff) == 0)
			take_input();
	}
	__asm__ volatile("cli");
	take_input();
	serial_puts("replaytick: ticks ");
	serial_putu(ticks);
	serial_puts(" checksum ");
	fb_puthex(sum);
	serial_puts("\n");
	power_off();
}
