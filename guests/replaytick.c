/* replaytick.elf / replaypanic.elf: a guest whose output depends on exactly where interrupts land.
 * A busy loop without exits runs while the RTC interrupts at 256 Hz; each interrupt folds the
 * loop counter it interrupted into a checksum, so only an exact replay prints the same one. It
 * also folds in console input, the CMOS clock, sectors of a virtio-blk disk when there is one
 * (read now and then during the loop), and (replaypanic) panics through pvpanic when an
 * interrupt lands on a counter value with its low 6 bits clear: a panic that depends on timing. */
#include "cmos.h"
#include "fb_idt64.h"
#include "pic8259.h"
#include "virtio_blk_guest.h"

#define RTC_VECTOR PIC_RTC_VECTOR
#define COM1 0x3f8
#define PVPANIC 0x505
#define TICKS 192

static volatile uint64_t counter, sum = 0xcbf29ce484222325ull;
static volatile unsigned ticks;
static struct vgb_disk disk;
static bool have_disk;
static unsigned sectors_read;

static void fold(uint64_t v)
{
	sum = (sum ^ v) * 0x100000001b3ull;
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
	pic_eoi_slave_irq();
}

/* One sector of the disk into the checksum. */
static void read_sector(uint64_t sector)
{
	static uint8_t data[VGB_SECTOR];
	if (vgb_read(&disk, sector, data, 1) != VGB_S_OK)
		return;
	for (unsigned i = 0; i < sizeof(data); i += 8)
		fold(*(uint64_t *)(data + i));
	sectors_read++;
}

/* Whatever arrived on COM1 by now (the test pipes a line in). */
static void take_input(void)
{
	while (inb(COM1 + 5) & 1)
		fold(inb(COM1));
	if (have_disk)
		read_sector(sectors_read % 64);
}

void kmain(void)
{
	fb_test_name = "replaytick";
	fb_idt_init(0x9f000, 0x9f000);
	fb_idt_set_handler(RTC_VECTOR, on_rtc);
	pic_init_rtc_only();
	const char *why;
	have_disk = vgb_open(&disk, 0, &why) == 0;
	fold(cmos_read(0x00) | cmos_read(0x02) << 8 | cmos_read(0x04) << 16);
	cmos_read(0x0c);
	cmos_write(0x0a, 0x28); /* 256 Hz */
	cmos_write(0x0b, 0x42); /* periodic interrupts, 24-hour mode */
	__asm__ volatile("sti");
	while (ticks < TICKS) {
		counter++;
		if ((counter & 0x1fff) == 0)
			take_input();
	}
	__asm__ volatile("cli");
	take_input();
	serial_puts("replaytick: ticks ");
	serial_putu(ticks);
	serial_puts(" sectors ");
	serial_putu(sectors_read);
	serial_puts(" checksum ");
	fb_puthex(sum);
	serial_puts("\n");
	power_off();
}
