/* rtcread.elf: reads the RTC the way an OS does (wait for UIP to clear, read until two reads
 * agree, decode BCD and 12-hour forms) and the CMOS memory sizes, prints them, powers off. */
#include "guest.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
#define REG_A_UIP  0x80
#define REG_B_DM   0x04
#define REG_B_24H  0x02

static uint8_t cmos_read(uint8_t idx)
{
	outb(CMOS_INDEX, idx | 0x80); /* keep NMIs masked while we poke, as Linux does */
	return inb(CMOS_DATA);
}

struct rtc_time {
	uint8_t sec, min, hour, mday, mon, year, century;
};

static void read_raw(struct rtc_time *t)
{
	/* UIP lasts 244 us; a bound keeps a broken device from hanging the test. */
	for (uint32_t i = 0; i < 1000000 && (cmos_read(0x0a) & REG_A_UIP); i++)
		;
	t->sec = cmos_read(0x00);
	t->min = cmos_read(0x02);
	t->hour = cmos_read(0x04);
	t->mday = cmos_read(0x07);
	t->mon = cmos_read(0x08);
	t->year = cmos_read(0x09);
	t->century = cmos_read(0x32);
}

static int same(const struct rtc_time *a, const struct rtc_time *b)
{
	return a->sec == b->sec && a->min == b->min && a->hour == b->hour && a->mday == b->mday &&
	       a->mon == b->mon && a->year == b->year && a->century == b->century;
}

static uint32_t bcd(uint8_t v, int binary)
{
	return binary ? v : (uint32_t)(v >> 4) * 10 + (v & 0x0f);
}

static void put_dec(uint32_t v, int width)
{
	char buf[10];
	int n = 0;
	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width)
		buf[n++] = '0';
	while (n)
		serial_putc(buf[--n]);
}

static void print_time(void)
{
	struct rtc_time a, b;
	/* Port exits are slow here, so a read may straddle an update: repeat until two agree. */
	read_raw(&a);
	for (;;) {
		read_raw(&b);
		if (same(&a, &b))
			break;
		a = b;
	}
	uint8_t regb = cmos_read(0x0b);
	int bin = regb & REG_B_DM;
	uint32_t hour = bcd(a.hour & 0x7f, bin);
	if (!(regb & REG_B_24H))
		hour = hour % 12 + (a.hour & 0x80 ? 12 : 0);
	serial_puts("rtc: ");
	put_dec(bcd(a.century, bin) * 100 + bcd(a.year, bin), 4);
	serial_putc('-');
	put_dec(bcd(a.mon, bin), 2);
	serial_putc('-');
	put_dec(bcd(a.mday, bin), 2);
	serial_putc(' ');
	put_dec(hour, 2);
	serial_putc(':');
	put_dec(bcd(a.min, bin), 2);
	serial_putc(':');
	put_dec(bcd(a.sec, bin), 2);
	serial_puts("\n");
}

static uint32_t cmos16(uint8_t lo)
{
	return cmos_read(lo) | (uint32_t)cmos_read(lo + 1) << 8;
}

void kmain(void)
{
	if (cmos_read(0x0d) != 0x80) { /* VRT set, nothing else: an unclaimed port reads 0xff */
		serial_puts("rtc: no device\n");
		power_off();
	}
	print_time();
	serial_puts("cmos: base_kib=");
	serial_putu(cmos16(0x15));
	serial_puts(" ext_kib=");
	serial_putu(cmos16(0x17));
	serial_puts(" ext2_kib=");
	serial_putu(cmos16(0x30));
	serial_puts(" above16m_64k=");
	serial_putu(cmos16(0x34));
	serial_puts(" above4g_64k=");
	serial_putu(cmos16(0x5b) | (uint32_t)cmos_read(0x5d) << 16);
	serial_puts("\n");
	outb(CMOS_INDEX, 0x0d); /* NMIs back on */
	power_off();
}
