/* snapcount.elf: a guest for checkpoint/resume tests whose output does not depend on timing,
 * only on its state: 24 steps, each waiting for 8 RTC ticks (64 Hz, through the PIC), reading a
 * virtio-blk sector, writing a page of RAM from the running checksum and folding all pages
 * written so far back in. A resumed run prints the same lines only if RAM, registers, the
 * irqchip, the RTC and the virtio queue all came back as they were. */
#include "cmos.h"
#include "fb_idt64.h"
#include "pic8259.h"
#include "virtio_blk_guest.h"

#define RTC_VECTOR PIC_RTC_VECTOR
#define STEPS 24
#define TICKS_PER_STEP 8
#define PAGES ((volatile uint64_t *)0x400000) /* 4 MiB: inside the loader's identity map */

static volatile unsigned ticks;
static uint64_t sum = 0xcbf29ce484222325ull;
static struct vgb_disk disk;

static void fold(uint64_t v)
{
	sum = (sum ^ v) * 0x100000001b3ull;
}

static void on_rtc(struct fb_frame *f)
{
	(void)f;
	cmos_read(0x0c);
	ticks++;
	pic_eoi_slave_irq();
}


/* One sector of the disk into the checksum: false when the disk did not answer it. */
static bool read_sector(uint64_t sector)
{
	static uint8_t data[VGB_SECTOR];
	if (vgb_read(&disk, sector, data, 1) != VGB_S_OK)
		return false;
	for (unsigned i = 0; i < sizeof(data); i += 8)
		fold(*(uint64_t *)(data + i));
	return true;
}

void kmain(void)
{
	fb_test_name = "snapcount";
	fb_idt_init(0x9f000, 0x9f000);
	fb_idt_set_handler(RTC_VECTOR, on_rtc);
	pic_init_rtc_only();
	const char *why;
	if (vgb_open(&disk, 0, &why) < 0) {
		serial_puts("snapcount: no virtio-blk disk\n");
		power_off();
	}
	cmos_read(0x0c);
	cmos_write(0x0a, 0x2a); /* 64 Hz */
	cmos_write(0x0b, 0x42); /* periodic interrupts, 24-hour mode */
	__asm__ volatile("sti");
	for (unsigned step = 0; step < STEPS; step++) {
		while (ticks < (step + 1) * TICKS_PER_STEP)
			__asm__ volatile("sti; hlt" ::: "memory"); /* a tick after the check wakes the next hlt */
		if (!read_sector(step % 64)) {
			serial_puts("snapcount: disk read failed\n");
			power_off();
		}
		volatile uint64_t *page = PAGES + step * 512;
		for (unsigned i = 0; i < 512; i += 8)
			page[i] = sum + i;
		for (unsigned p = 0; p <= step; p++)
			for (unsigned i = 0; i < 512; i += 64)
				fold(PAGES[p * 512 + i]);
		serial_puts("snapcount: step ");
		serial_putu(step);
		serial_puts(" sum ");
		fb_puthex(sum);
		serial_puts("\n");
	}
	__asm__ volatile("cli");
	serial_puts("snapcount: done, sum ");
	fb_puthex(sum);
	serial_puts("\n");
	power_off();
}
