/* rtcirq.elf: IRQ 8 end to end through the 8259 pair (update, 1024 Hz periodic and alarm events,
 * each acknowledged by reading status C); needs the machine to poll the RTC at its deadlines. */
#include "cmos.h"
#include "fb_idt64.h"
#include "pic8259.h"

/* A LAPIC one-shot bounds every wait, so a missing interrupt is a FAIL, not a hang. */
#define LAPIC 0xfee00000ul
#define TIMEOUT_VECTOR 0x40
#define TIMEOUT_COUNT 625000000u /* 10 s: KVM's APIC bus runs at 1 GHz, divided by 16 */
#define RTC_VECTOR PIC_RTC_VECTOR

#define REG_B_PIE 0x40
#define REG_B_AIE 0x20
#define REG_B_UIE 0x10
#define REG_B_DM  0x04
#define REG_C_PF  0x40
#define REG_C_AF  0x20
#define REG_C_UF  0x10

static volatile unsigned n_irq, n_uf, n_pf, n_af, pf_per_second, timed_out;
static volatile unsigned pf_at_last_uf;

static void lapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

static void on_timeout(struct fb_frame *f)
{
	(void)f;
	timed_out = 1;
	lapic_write(0xb0, 0); /* EOI */
}

static void on_rtc(struct fb_frame *f)
{
	(void)f;
	uint8_t c = cmos_read(0x0c); /* acknowledges: the RTC lowers IRQ 8 */
	n_irq++;
	if (c & REG_C_PF)
		n_pf++;
	if (c & REG_C_AF)
		n_af++;
	if (c & REG_C_UF) {
		n_uf++;
		pf_per_second = n_pf - pf_at_last_uf;
		pf_at_last_uf = n_pf;
	}
	pic_eoi_slave_irq();
}


static void arm_timeout(void)
{
	timed_out = 0;
	lapic_write(0x380, TIMEOUT_COUNT);
}

/* Sleeps until *counter reaches target or the timeout fires. */
static bool wait_for(volatile unsigned *counter, unsigned target)
{
	arm_timeout();
	while (*counter < target && !timed_out)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	return *counter >= target;
}

static uint8_t bin(uint8_t v, bool binary)
{
	return binary ? v : (uint8_t)((v >> 4) * 10 + (v & 0x0f));
}

static uint8_t enc(uint8_t v, bool binary)
{
	return binary ? v : (uint8_t)((v / 10) << 4 | v % 10);
}

void kmain(void)
{
	fb_test_name = "rtcirq";
	fb_idt_init(0x9f000, 0x9f000);
	fb_idt_set_handler(TIMEOUT_VECTOR, on_timeout);
	fb_idt_set_handler(RTC_VECTOR, on_rtc);
	lapic_write(0xf0, 0x1ff);            /* software enable, spurious vector 0xff */
	lapic_write(0x3e0, 0x3);             /* divide by 16 */
	lapic_write(0x320, TIMEOUT_VECTOR);  /* one-shot */
	pic_init_rtc_only();
	cmos_read(0x0c);

	uint8_t b = cmos_read(0x0b);
	bool binary = b & REG_B_DM;
	uint8_t s0 = bin(cmos_read(0x00), binary);
	cmos_write(0x0b, b | REG_B_UIE);
	bool ok = wait_for(&n_uf, 3);
	uint8_t s1 = bin(cmos_read(0x00), binary);
	fb_check("three update interrupts", ok);
	fb_check("the seconds moved on with them", (uint8_t)((s1 + 60 - s0) % 60) >= 2);

	/* 1024 Hz, counted between two update interrupts: one second of periodic interrupts. */
	cmos_write(0x0a, 0x26);
	cmos_write(0x0b, b | REG_B_UIE | REG_B_PIE);
	ok = wait_for(&n_uf, n_uf + 2);
	unsigned per_s = pf_per_second;
	cmos_write(0x0b, b);
	serial_puts("rtcirq: periodic interrupts per second=");
	serial_putu(per_s);
	serial_puts("\n");
	fb_check("periodic interrupts at up to 1024 Hz", ok && per_s > 256 && per_s <= 1025);

	/* An alarm two seconds ahead (any hour, this minute and second, wrapping). */
	cmos_read(0x0c);
	uint8_t sec = bin(cmos_read(0x00), binary), min = bin(cmos_read(0x02), binary);
	sec += 2;
	if (sec >= 60) {
		sec -= 60;
		min = (uint8_t)((min + 1) % 60);
	}
	cmos_write(0x01, enc(sec, binary));
	cmos_write(0x03, enc(min, binary));
	cmos_write(0x05, 0xff);
	cmos_write(0x0b, b | REG_B_AIE);
	ok = wait_for(&n_af, 1);
	fb_check("alarm interrupt", ok);
	cmos_write(0x0b, b);
	cmos_read(0x0c);
	fb_finish();
}
