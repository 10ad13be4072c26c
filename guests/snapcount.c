/* snapcount.elf: a guest for checkpoint/resume tests whose output does not depend on timing,
 * only on its state: 24 steps, each waiting for 8 RTC ticks (64 Hz, through the PIC), reading a
 * virtio-blk sector, writing a page of RAM from the running checksum and folding all pages
 * written so far back in. A resumed run prints the same lines only if RAM, registers, the
 * irqchip, the RTC and the virtio queue all came back as they were. */
#include "fb_idt64.h"
#include "virtio_guest.h"

#define PIC1 0x20
#define PIC2 0xa0
#define RTC_VECTOR 0x28
#define STEPS 24
#define TICKS_PER_STEP 8
#define PAGES ((volatile uint64_t *)0x400000) /* 4 MiB: inside the loader's identity map */

static volatile unsigned ticks;
static uint64_t sum = 0xcbf29ce484222325ull;
static struct vg_dev disk;

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
	cmos_read(0x0c);
	ticks++;
	outb(PIC2, 0x20);
	outb(PIC1, 0x20);
}

static void pic_init(void)
{
	static const uint8_t m[] = { 0x11, 0x20, 0x04, 0x01 }, s[] = { 0x11, RTC_VECTOR, 0x02, 0x01 };
	for (unsigned i = 0; i < 4; i++) {
		outb(PIC1 + (i ? 1 : 0), m[i]);
		outb(PIC2 + (i ? 1 : 0), s[i]);
	}
	outb(PIC1 + 1, 0xfb);
	outb(PIC2 + 1, 0xfe);
}

struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

static bool read_sector(uint64_t sector)
{
	static struct blk_req hdr;
	static uint8_t data[512], status;
	hdr = (struct blk_req){ .type = 0, .sector = sector };
	status = 0xee;
	struct vg_buf b[3] = { { &hdr, sizeof(hdr), false }, { data, sizeof(data), true }, { &status, 1, true } };
	uint32_t len;
	if (vg_submit(&disk, 0, b, 3) < 0)
		return false;
	vg_kick(&disk, 0);
	if (vg_wait(&disk, 0, &len, 1000000ul) < 0 || status != 0)
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
	pic_init();
	if (vg_find(VG_VENDOR_VIRTIO, VG_DEVICE_BLK, 0, &disk) < 0 || vg_init(&disk, 0) < 0 ||
	    vg_queue_setup(&disk, 0, 16) < 0) {
		serial_puts("snapcount: no virtio-blk disk\n");
		power_off();
	}
	vg_driver_ok(&disk);
	cmos_read(0x0c);
	outb(0x70, 0x0a);
	outb(0x71, 0x2a); /* 64 Hz */
	outb(0x70, 0x0b);
	outb(0x71, 0x42); /* periodic interrupts, 24-hour mode */
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
