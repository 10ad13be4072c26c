/* replaytick.elf / replaypanic.elf: a guest whose output depends on exactly where interrupts land.
 * A busy loop without exits runs while the RTC interrupts at 256 Hz; each interrupt folds the
 * loop counter it interrupted into a checksum, so only an exact replay prints the same one. It
 * also folds in console input, the CMOS clock, sectors of a virtio-blk disk when there is one
 * (read now and then during the loop), and (replaypanic) panics through pvpanic when an
 * interrupt lands on a counter value with its low 6 bits clear: a panic that depends on timing. */
#include "fb_idt64.h"
#include "pic8259.h"
#include "virtio_guest.h"

#define RTC_VECTOR PIC_RTC_VECTOR
#define COM1 0x3f8
#define PVPANIC 0x505
#define TICKS 192

static volatile uint64_t counter, sum = 0xcbf29ce484222325ull;
static volatile unsigned ticks;
static struct vg_dev disk;
static bool have_disk;
static unsigned sectors_read;

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
	pic_eoi_slave_irq();
}


struct blk_req {
	uint32_t type, reserved;
	uint64_t sector;
};

/* One 512-byte sector of the disk into the checksum (polled: the queue's used ring). */
static void read_sector(uint64_t sector)
{
	static struct blk_req hdr;
	static uint8_t data[512], status;
	hdr = (struct blk_req){ .type = 0, .sector = sector };
	status = 0xee;
	struct vg_buf b[3] = { { &hdr, sizeof(hdr), false }, { data, sizeof(data), true }, { &status, 1, true } };
	uint32_t len;
	if (vg_submit(&disk, 0, b, 3) < 0)
		return;
	vg_kick(&disk, 0);
	if (vg_wait(&disk, 0, &len, 1000000ul) < 0 || status != 0)
		return;
	for (unsigned i = 0; i < sizeof(data); i += 8)
		fold(*(uint64_t *)(data + i));
	sectors_read++;
}

static void find_disk(void)
{
	have_disk = vg_find(VG_VENDOR_VIRTIO, VG_DEVICE_BLK, 0, &disk) == 0 && vg_init(&disk, 0) == 0 &&
		    vg_queue_setup(&disk, 0, 16) == 0;
	if (have_disk)
		vg_driver_ok(&disk);
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
	find_disk();
	fold(cmos_read(0x00) | cmos_read(0x02) << 8 | cmos_read(0x04) << 16);
	cmos_read(0x0c);
	outb(0x70, 0x0a);
	outb(0x71, 0x28); /* 256 Hz */
	outb(0x70, 0x0b);
	outb(0x71, 0x42); /* periodic interrupts, 24-hour mode */
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
