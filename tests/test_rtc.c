/* Unit tests for the MC146818A RTC over a fake time source: calendar reads in every data mode,
 * setting the clock, UIP timing, interrupt flags and the IRQ line, CMOS memory sizes, snapshots. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devmodel/rtc.h"

#define NS 1000000000ULL
#define T0_UTC 1709214307LL /* 2024-02-29 13:45:07 UTC, a Thursday */
#define MONO0 (1000 * NS)    /* the fake monotonic clock at creation */
#define WALL_FRAC 250000000LL /* the wall clock is 0.25 s into its second at creation */
#define FIRST_UPDATE (MONO0 + NS - WALL_FRAC) /* so the first update comes 0.75 s later */

struct fake_clock {
	uint64_t mono;
	int64_t wall;
	int32_t zone; /* seconds east of UTC */
};

static uint64_t fake_now(void *ctx)
{
	return ((struct fake_clock *)ctx)->mono;
}

static int64_t fake_wall(void *ctx)
{
	return ((struct fake_clock *)ctx)->wall;
}

static int32_t fake_zone(void *ctx, int64_t unix_s)
{
	(void)unix_s;
	return ((struct fake_clock *)ctx)->zone;
}

struct irq_log {
	unsigned n, raised;
	bool level;
	unsigned gsi;
};

static void log_level(void *ctx, unsigned gsi, bool level)
{
	struct irq_log *l = ctx;
	l->n++;
	if (level && !l->level)
		l->raised++;
	l->level = level;
	l->gsi = gsi;
}

struct fixture {
	struct fake_clock clk;
	struct irq_log irq;
	struct rtc *r;
};

static struct rtc *make(struct fixture *f, bool localtime)
{
	struct time_source ts = { fake_now, fake_wall, fake_zone, &f->clk };
	return rtc_create(&ts, (struct irq_sink){ log_level, &f->irq }, RTC_IRQ, localtime);
}

static int setup_with(void **state, bool localtime)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->clk = (struct fake_clock){ MONO0, T0_UTC * (int64_t)NS + WALL_FRAC, 3600 };
	f->r = make(f, localtime);
	if (!f->r)
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

static int setup_local(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	rtc_destroy(f->r);
	free(f);
	return 0;
}

static uint8_t rd(struct rtc *r, uint8_t idx)
{
	uint64_t v = idx;
	assert_int_equal(rtc_access(r, 0, 1, true, &v), 0);
	v = 0xdeadbeef;
	assert_int_equal(rtc_access(r, 1, 1, false, &v), 0);
	assert_true(v <= 0xff);
	return (uint8_t)v;
}

static void wr(struct rtc *r, uint8_t idx, uint8_t val)
{
	uint64_t v = idx;
	assert_int_equal(rtc_access(r, 0, 1, true, &v), 0);
	v = val;
	assert_int_equal(rtc_access(r, 1, 1, true, &v), 0);
}

static void expect_time(struct rtc *r, uint8_t cen, uint8_t yr, uint8_t mon, uint8_t day, uint8_t h, uint8_t m,
			uint8_t s)
{
	assert_int_equal(rd(r, RTC_REG_CENTURY), cen);
	assert_int_equal(rd(r, RTC_REG_YEAR), yr);
	assert_int_equal(rd(r, RTC_REG_MONTH), mon);
	assert_int_equal(rd(r, RTC_REG_MDAY), day);
	assert_int_equal(rd(r, RTC_REG_HOUR), h);
	assert_int_equal(rd(r, RTC_REG_MIN), m);
	assert_int_equal(rd(r, RTC_REG_SEC), s);
}

static void test_power_on_registers(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(f->r, RTC_REG_A), 0x26);
	assert_int_equal(rd(f->r, RTC_REG_B), RTC_B_24H);
	assert_int_equal(rd(f->r, RTC_REG_C), 0);
	assert_int_equal(rd(f->r, RTC_REG_D), RTC_D_VRT);
	assert_int_equal(f->irq.n, 0);
}

static void test_bcd_read(void **state)
{
	struct fixture *f = *state;
	expect_time(f->r, 0x20, 0x24, 0x02, 0x29, 0x13, 0x45, 0x07);
	assert_int_equal(rd(f->r, RTC_REG_WDAY), 5); /* Thursday; Sunday is 1 */
}

static void test_binary_read(void **state)
{
	struct fixture *f = *state;
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_DM);
	expect_time(f->r, 20, 24, 2, 29, 13, 45, 7);
	assert_int_equal(rd(f->r, RTC_REG_WDAY), 5);
}

static void test_localtime(void **state)
{
	struct fixture *f = *state; /* the fake zone is UTC+1 */
	expect_time(f->r, 0x20, 0x24, 0x02, 0x29, 0x14, 0x45, 0x07);
}

static void test_twelve_hour(void **state)
{
	struct fixture *f = *state;
	wr(f->r, RTC_REG_B, 0); /* 12-hour BCD */
	assert_int_equal(rd(f->r, RTC_REG_HOUR), 0x80 | 0x01); /* 1 PM */
	wr(f->r, RTC_REG_B, RTC_B_DM); /* 12-hour binary */
	assert_int_equal(rd(f->r, RTC_REG_HOUR), 0x80 | 1);

	/* Midnight and noon are 12 AM and 12 PM; written in 12-hour mode, read back in 24. */
	wr(f->r, RTC_REG_B, RTC_B_SET);
	wr(f->r, RTC_REG_HOUR, 0x12);
	wr(f->r, RTC_REG_B, 0);
	assert_int_equal(rd(f->r, RTC_REG_HOUR), 0x12);
	wr(f->r, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rd(f->r, RTC_REG_HOUR), 0x00);
	wr(f->r, RTC_REG_B, RTC_B_SET);
	wr(f->r, RTC_REG_HOUR, 0x80 | 0x12);
	wr(f->r, RTC_REG_B, 0);
	assert_int_equal(rd(f->r, RTC_REG_HOUR), 0x80 | 0x12);
	wr(f->r, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rd(f->r, RTC_REG_HOUR), 0x12);
	wr(f->r, RTC_REG_B, RTC_B_SET);
	wr(f->r, RTC_REG_HOUR, 0x80 | 0x11);
	wr(f->r, RTC_REG_B, 0);
	wr(f->r, RTC_REG_B, RTC_B_24H);
	assert_int_equal(rd(f->r, RTC_REG_HOUR), 0x23);
}

static void test_time_advances_with_clock(void **state)
{
	struct fixture *f = *state;
	f->clk.mono = FIRST_UPDATE - 1;
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x07);
	f->clk.mono = FIRST_UPDATE;
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x08);
	f->clk.mono += 53 * NS; /* 13:46:01 */
	expect_time(f->r, 0x20, 0x24, 0x02, 0x29, 0x13, 0x46, 0x01);
	f->clk.mono += (10 * 3600 + 14 * 60) * NS; /* over midnight into March 1st */
	expect_time(f->r, 0x20, 0x24, 0x03, 0x01, 0x00, 0x00, 0x01);
	assert_int_equal(rd(f->r, RTC_REG_WDAY), 6);
}

static void test_set_freezes_and_offsets(void **state)
{
	struct fixture *f = *state;
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	f->clk.mono += 5 * NS;
	expect_time(f->r, 0x20, 0x24, 0x02, 0x29, 0x13, 0x45, 0x07); /* frozen */
	wr(f->r, RTC_REG_CENTURY, 0x19);
	wr(f->r, RTC_REG_YEAR, 0x99);
	wr(f->r, RTC_REG_MONTH, 0x12);
	wr(f->r, RTC_REG_MDAY, 0x31);
	wr(f->r, RTC_REG_HOUR, 0x23);
	wr(f->r, RTC_REG_MIN, 0x59);
	wr(f->r, RTC_REG_SEC, 0x58);
	f->clk.mono += 3 * NS;
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x58); /* still frozen, as written */
	wr(f->r, RTC_REG_B, RTC_B_24H);
	expect_time(f->r, 0x19, 0x99, 0x12, 0x31, 0x23, 0x59, 0x58);
	/* The written time now runs with the fake clock, over the century. */
	f->clk.mono += 2 * NS;
	expect_time(f->r, 0x20, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00);
	assert_int_equal(rd(f->r, RTC_REG_WDAY), 7); /* 2000-01-01 was a Saturday */
	f->clk.mono += 3600 * NS;
	expect_time(f->r, 0x20, 0x00, 0x01, 0x01, 0x01, 0x00, 0x00);
}

static void test_set_keeps_divider_phase(void **state)
{
	struct fixture *f = *state;
	/* SET only inhibits updates: after it clears, the next update comes at the divider's
	 * next second boundary, 0.75 s after creation plus whole seconds. */
	f->clk.mono = MONO0 + 2 * NS; /* 13:45:09.25 */
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	wr(f->r, RTC_REG_SEC, 0x30);
	wr(f->r, RTC_REG_B, RTC_B_24H);
	f->clk.mono = FIRST_UPDATE + 2 * NS - 1;
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x30);
	f->clk.mono = FIRST_UPDATE + 2 * NS;
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x31);
}

static void test_write_without_set(void **state)
{
	struct fixture *f = *state;
	wr(f->r, RTC_REG_MIN, 0x30);
	assert_int_equal(rd(f->r, RTC_REG_MIN), 0x30);
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x07);
	f->clk.mono = FIRST_UPDATE;
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x08);
	assert_int_equal(rd(f->r, RTC_REG_MIN), 0x30);
}

static void test_uip_window(void **state)
{
	struct fixture *f = *state;
	uint64_t b = FIRST_UPDATE + 4 * NS;
	f->clk.mono = b - 250000; /* 250 us before the update: not yet */
	assert_int_equal(rd(f->r, RTC_REG_A) & RTC_A_UIP, 0);
	f->clk.mono = b - 244000; /* inside the 244 us window */
	assert_int_equal(rd(f->r, RTC_REG_A), RTC_A_UIP | 0x26);
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x11); /* the old second until the update */
	f->clk.mono = b - 1;
	assert_int_equal(rd(f->r, RTC_REG_A) & RTC_A_UIP, RTC_A_UIP);
	f->clk.mono = b;
	assert_int_equal(rd(f->r, RTC_REG_A) & RTC_A_UIP, 0);
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x12);
	/* With SET there are no updates, so UIP stays clear, window or not. */
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	f->clk.mono = b + NS - 100000;
	assert_int_equal(rd(f->r, RTC_REG_A) & RTC_A_UIP, 0);
	/* The guest cannot write UIP. */
	wr(f->r, RTC_REG_A, 0xa6);
	assert_int_equal(rd(f->r, RTC_REG_A), 0x26);
}

static void test_status_c_clears_and_lowers(void **state)
{
	struct fixture *f = *state;
	wr(f->r, RTC_REG_A, 0x20); /* periodic rate 0: only update flags here */
	/* Update flag without its enable: set, but no IRQF and no interrupt. */
	f->clk.mono = FIRST_UPDATE;
	assert_int_equal(rd(f->r, RTC_REG_C), RTC_C_UF);
	assert_int_equal(rd(f->r, RTC_REG_C), 0);
	assert_int_equal(f->irq.n, 0);

	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	assert_int_equal(rtc_poll(f->r), FIRST_UPDATE + NS); /* next update */
	f->clk.mono = FIRST_UPDATE + NS;
	assert_int_equal(rtc_poll(f->r), RTC_NO_DEADLINE); /* line high until C is read */
	assert_true(f->irq.level);
	assert_int_equal(f->irq.gsi, RTC_IRQ);
	assert_int_equal(f->irq.raised, 1);
	assert_int_equal(rd(f->r, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	assert_false(f->irq.level);
	assert_int_equal(rd(f->r, RTC_REG_C), 0);
	assert_int_equal(f->irq.n, 2);

	/* A flag already set raises the line the moment its enable is written. */
	wr(f->r, RTC_REG_B, RTC_B_24H);
	f->clk.mono += NS;
	rtc_poll(f->r);
	assert_false(f->irq.level);
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
	assert_true(f->irq.level);
	/* C is read-only. */
	wr(f->r, RTC_REG_C, 0);
	assert_true(f->irq.level);
	assert_int_equal(rd(f->r, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	assert_false(f->irq.level);
	/* SET going high clears UIE. */
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_UIE | RTC_B_SET);
	assert_int_equal(rd(f->r, RTC_REG_B), RTC_B_24H | RTC_B_SET);
}

/* Follows rtc_poll's deadlines for one second of fake time with the periodic interrupt on,
 * acknowledging each; returns the interrupts seen. */
static unsigned periodic_count(struct fixture *f, uint8_t reg_a)
{
	wr(f->r, RTC_REG_A, reg_a);
	rd(f->r, RTC_REG_C);
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	unsigned start = f->irq.raised, n = 0;
	uint64_t end = f->clk.mono + NS;
	for (;;) {
		uint64_t d = rtc_poll(f->r);
		assert_int_not_equal(d, RTC_NO_DEADLINE);
		assert_true(d > f->clk.mono);
		if (d > end)
			break;
		f->clk.mono = d - 1;
		rtc_poll(f->r);
		assert_false(f->irq.level); /* not a nanosecond early */
		f->clk.mono = d;
		rtc_poll(f->r);
		assert_true(f->irq.level);
		/* UF comes and goes with the seconds; IRQF and PF are the periodic interrupt's. */
		assert_int_equal(rd(f->r, RTC_REG_C) & (RTC_C_IRQF | RTC_C_PF | RTC_C_AF), RTC_C_IRQF | RTC_C_PF);
		n++;
	}
	assert_int_equal(f->irq.raised - start, n);
	wr(f->r, RTC_REG_B, RTC_B_24H);
	return n;
}

static void test_periodic_rates(void **state)
{
	struct fixture *f = *state;
	f->clk.mono = FIRST_UPDATE; /* on a second boundary: whole periods fit in the second */
	assert_int_equal(periodic_count(f, 0x26), 1024);
	assert_int_equal(periodic_count(f, 0x2f), 2);
	assert_int_equal(periodic_count(f, 0x2a), 64);
	assert_int_equal(periodic_count(f, 0x23), 8192);
	assert_int_equal(periodic_count(f, 0x21), 256); /* rates 1 and 2 act as 8 and 9 */
	assert_int_equal(periodic_count(f, 0x22), 128);

	/* Rate 0, or the divider held in reset: no periodic interrupt, no deadline. */
	wr(f->r, RTC_REG_A, 0x20);
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
	assert_int_equal(rtc_poll(f->r), RTC_NO_DEADLINE);
	wr(f->r, RTC_REG_A, 0x66);
	assert_int_equal(rtc_poll(f->r), RTC_NO_DEADLINE);
	f->clk.mono += 10 * NS;
	assert_int_equal(rtc_poll(f->r), RTC_NO_DEADLINE);
	assert_int_equal(rd(f->r, RTC_REG_C), 0);

	/* PF is set without PIE, too (only IRQF needs the enable). */
	wr(f->r, RTC_REG_A, 0x26);
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	f->clk.mono += NS / 100;
	assert_int_equal(rd(f->r, RTC_REG_C), RTC_C_PF); /* SET does not stop the divider */
}

static void test_divider_reset(void **state)
{
	struct fixture *f = *state;
	f->clk.mono = MONO0 + NS / 10;
	wr(f->r, RTC_REG_A, 0x76); /* hold the divider in reset: the clock stops */
	f->clk.mono += 5 * NS;
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x07);
	assert_int_equal(rd(f->r, RTC_REG_A) & RTC_A_UIP, 0);
	uint64_t release = f->clk.mono;
	wr(f->r, RTC_REG_A, 0x26); /* released: the first update comes 500 ms later */
	f->clk.mono = release + NS / 2 - 1;
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x07);
	f->clk.mono = release + NS / 2;
	assert_int_equal(rd(f->r, RTC_REG_SEC), 0x08);
}

static void test_alarm(void **state)
{
	struct fixture *f = *state;
	wr(f->r, RTC_REG_A, 0x20); /* periodic rate 0: only update and alarm flags here */
	wr(f->r, RTC_REG_SEC_ALARM, 0x10); /* 13:45:10 */
	wr(f->r, RTC_REG_MIN_ALARM, 0x45);
	wr(f->r, RTC_REG_HOUR_ALARM, 0xff); /* any hour */
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
	assert_int_equal(rtc_poll(f->r), FIRST_UPDATE);
	f->clk.mono = FIRST_UPDATE + NS; /* 13:45:09 */
	assert_int_equal(rtc_poll(f->r), FIRST_UPDATE + 2 * NS);
	assert_false(f->irq.level);
	f->clk.mono = FIRST_UPDATE + 2 * NS; /* 13:45:10 */
	assert_int_equal(rtc_poll(f->r), RTC_NO_DEADLINE);
	assert_true(f->irq.level);
	assert_int_equal(rd(f->r, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	assert_false(f->irq.level);

	/* An hour later, any hour matches again: polled late, the alarm is still found. */
	f->clk.mono += 3600 * NS + 30 * NS;
	rtc_poll(f->r);
	assert_true(f->irq.level);
	assert_int_equal(rd(f->r, RTC_REG_C) & RTC_C_AF, RTC_C_AF);

	/* A fixed time of day, found after a two-day pause without polls. */
	wr(f->r, RTC_REG_HOUR_ALARM, 0x03);
	rd(f->r, RTC_REG_C);
	f->clk.mono += 2 * 86400 * NS;
	rtc_poll(f->r);
	assert_int_equal(rd(f->r, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);

	/* An alarm that can never match (seconds 0x77 in BCD) never fires. */
	wr(f->r, RTC_REG_SEC_ALARM, 0x77);
	f->clk.mono += 2 * 86400 * NS;
	rtc_poll(f->r);
	assert_int_equal(rd(f->r, RTC_REG_C), RTC_C_UF);

	/* Nor one whose minute cannot match, though every hour and second can (the search skips
	 * such minutes and hours whole: it must still look at every one). */
	wr(f->r, RTC_REG_SEC_ALARM, 0xff);
	wr(f->r, RTC_REG_MIN_ALARM, 0x60);
	f->clk.mono += 2 * 86400 * NS;
	rtc_poll(f->r);
	assert_int_equal(rd(f->r, RTC_REG_C), RTC_C_UF);
	/* Any second of 03:59 matches: the last minute of a skipped-to hour is found. */
	wr(f->r, RTC_REG_MIN_ALARM, 0x59);
	f->clk.mono += 86400 * NS;
	rtc_poll(f->r);
	assert_int_equal(rd(f->r, RTC_REG_C), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
}

static void test_cmos_memory(void **state)
{
	struct fixture *f = *state;
	const uint64_t mib = 1ull << 20, gib = 1ull << 30;
	struct { uint64_t below, above; uint16_t ext, above16; uint32_t high; } cases[] = {
		{ 8 * mib, 0, 7168, 0, 0 },
		{ 256 * mib, 0, 0xffff, 3840, 0 },
		{ 3 * gib, 0, 0xffff, 48896, 0 },
		{ 3 * gib, 3 * gib, 0xffff, 48896, 49152 }, /* 6 GiB: 3 below the hole, 3 above 4 GiB */
		{ 3 * gib + 960 * mib, 2048 * gib, 0xffff, 64256, 0xffffff }, /* 3 bytes cap at 1 TiB */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rtc_set_memory(f->r, cases[i].below, cases[i].above);
		assert_int_equal(rd(f->r, 0x15) | rd(f->r, 0x16) << 8, 640);
		assert_int_equal(rd(f->r, 0x17) | rd(f->r, 0x18) << 8, cases[i].ext);
		assert_int_equal(rd(f->r, 0x30) | rd(f->r, 0x31) << 8, cases[i].ext);
		assert_int_equal(rd(f->r, 0x34) | rd(f->r, 0x35) << 8, cases[i].above16);
		assert_int_equal(rd(f->r, 0x5b) | rd(f->r, 0x5c) << 8 | rd(f->r, 0x5d) << 16, cases[i].high);
	}
	rtc_set_memory(f->r, 512 * 1024, 0);
	assert_int_equal(rd(f->r, 0x15) | rd(f->r, 0x16) << 8, 512);
	assert_int_equal(rd(f->r, 0x17), 0);
}

static void test_index_port(void **state)
{
	struct fixture *f = *state;
	/* Bit 7 is the NMI mask, not part of the index. */
	uint64_t v = 0x80 | RTC_REG_A;
	assert_int_equal(rtc_access(f->r, 0, 1, true, &v), 0);
	assert_int_equal(rtc_access(f->r, 1, 1, false, &v), 0);
	assert_int_equal(v, 0x26);
	/* The index port is write-only. */
	assert_int_equal(rtc_access(f->r, 0, 1, false, &v), 0);
	assert_int_equal(v, 0xff);
	/* NVRAM keeps what is written; a 16-bit write is an index and a data byte. */
	v = 0x5a << 8 | 0x40;
	assert_int_equal(rtc_access(f->r, 0, 2, true, &v), 0);
	assert_int_equal(rd(f->r, 0x40), 0x5a);
	wr(f->r, 0x7f, 0xa5);
	assert_int_equal(rd(f->r, 0x7f), 0xa5);
	/* Accesses outside the two ports are refused. */
	v = 0;
	assert_int_equal(rtc_access(f->r, 2, 1, false, &v), -EINVAL);
	assert_int_equal(v & 0xff, 0xff);
	assert_int_equal(rtc_access(f->r, 1, 2, false, &v), -EINVAL);
	/* D is read-only. */
	wr(f->r, RTC_REG_D, 0);
	assert_int_equal(rd(f->r, RTC_REG_D), RTC_D_VRT);
}

static void test_hostile_values(void **state)
{
	struct fixture *f = *state;
	/* Garbage in every calendar byte, in BCD and binary, then let it run: no crash, and the
	 * clock reads something and keeps counting. */
	for (unsigned mode = 0; mode < 4; mode++) {
		uint8_t b = (mode & 1 ? RTC_B_DM : 0) | (mode & 2 ? RTC_B_24H : 0);
		wr(f->r, RTC_REG_B, b | RTC_B_SET);
		for (unsigned idx = 0; idx <= RTC_REG_YEAR; idx++)
			wr(f->r, (uint8_t)idx, 0xff);
		wr(f->r, RTC_REG_CENTURY, 0xff);
		wr(f->r, RTC_REG_B, b);
		f->clk.mono += 3 * NS;
		rd(f->r, RTC_REG_SEC);
		rtc_poll(f->r);
		wr(f->r, RTC_REG_B, b | RTC_B_SET);
		wr(f->r, RTC_REG_MONTH, 0);
		wr(f->r, RTC_REG_MDAY, 0);
		wr(f->r, RTC_REG_B, b);
		rd(f->r, RTC_REG_YEAR);
	}
	/* Every register, every value. */
	for (unsigned idx = 0; idx < 0x80; idx++)
		for (unsigned val = 0; val < 0x100; val += 7) {
			wr(f->r, (uint8_t)idx, (uint8_t)val);
			rd(f->r, (uint8_t)idx);
		}
	rtc_poll(f->r);
	/* A time source that runs backwards is held where it was. */
	f->clk.mono = 0;
	rd(f->r, RTC_REG_SEC);
	rtc_poll(f->r);
}

static void test_reset(void **state)
{
	struct fixture *f = *state;
	wr(f->r, RTC_REG_B, RTC_B_DM | RTC_B_UIE | RTC_B_PIE | RTC_B_AIE);
	wr(f->r, 0x50, 0x42);
	f->clk.mono = FIRST_UPDATE;
	rtc_poll(f->r);
	assert_true(f->irq.level);
	rtc_reset(f->r);
	assert_false(f->irq.level);
	assert_int_equal(rd(f->r, RTC_REG_B), RTC_B_DM); /* data mode survives */
	assert_int_equal(rd(f->r, RTC_REG_C), 0);
	assert_int_equal(rd(f->r, 0x50), 0x42);
	assert_int_equal(rd(f->r, RTC_REG_SEC), 8);
	assert_int_equal(rtc_poll(f->r), RTC_NO_DEADLINE);
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rtc_save(f->r, NULL, 0), RTC_STATE_SIZE);
	uint8_t img[RTC_STATE_SIZE], small[RTC_STATE_SIZE - 1];
	assert_int_equal(rtc_save(f->r, small, sizeof(small)), 0);

	rtc_set_memory(f->r, 256 << 20, 0);
	wr(f->r, RTC_REG_A, 0x20);
	wr(f->r, RTC_REG_B, RTC_B_24H | RTC_B_DM | RTC_B_UIE);
	wr(f->r, 0x60, 0x77);
	f->clk.mono = FIRST_UPDATE + NS / 4; /* 13:45:08.25, an update pending */
	rtc_poll(f->r);
	assert_true(f->irq.level);
	wr(f->r, RTC_REG_SEC_ALARM, 0x22); /* leaves the index at 1 */
	assert_int_equal(rtc_save(f->r, img, sizeof(img)), RTC_STATE_SIZE);

	/* Into a fresh RTC on another day and another monotonic clock: the clock goes on from
	 * the saved time, with its flags, data mode, NVRAM and the same sub-second phase. */
	struct fixture g = { .clk = { 77 * NS, 1000 * (int64_t)NS, 0 } };
	g.r = make(&g, false);
	assert_non_null(g.r);
	assert_int_equal(rtc_load(g.r, img, sizeof(img)), 0);
	assert_true(g.irq.level);
	uint64_t v = 0;
	assert_int_equal(rtc_access(g.r, 1, 1, false, &v), 0); /* the saved index */
	assert_int_equal(v, 0x22);
	assert_int_equal(rd(g.r, RTC_REG_C), RTC_C_IRQF | RTC_C_UF);
	assert_false(g.irq.level);
	expect_time(g.r, 20, 24, 2, 29, 13, 45, 8);
	assert_int_equal(rd(g.r, 0x60), 0x77);
	assert_int_equal(rd(g.r, 0x34) | rd(g.r, 0x35) << 8, 3840);
	g.clk.mono += 3 * NS / 4 - 1;
	assert_int_equal(rd(g.r, RTC_REG_SEC), 8);
	g.clk.mono += 1;
	assert_int_equal(rd(g.r, RTC_REG_SEC), 9);

	/* Saving the loaded device gives the same image at the same instant. */
	struct fixture h = { .clk = { 5 * NS, 0, 0 } };
	h.r = make(&h, false);
	assert_int_equal(rtc_load(h.r, img, sizeof(img)), 0);
	uint8_t again[RTC_STATE_SIZE];
	assert_int_equal(rtc_save(h.r, again, sizeof(again)), RTC_STATE_SIZE);
	assert_memory_equal(img, again, RTC_STATE_SIZE);
	rtc_destroy(h.r);

	/* A frozen clock (SET) round-trips its written registers. */
	wr(g.r, RTC_REG_B, RTC_B_24H | RTC_B_SET);
	wr(g.r, RTC_REG_YEAR, 0x42);
	assert_int_equal(rtc_save(g.r, img, sizeof(img)), RTC_STATE_SIZE);
	g.clk.mono += 100 * NS;
	assert_int_equal(rtc_load(f->r, img, sizeof(img)), 0);
	assert_int_equal(rd(f->r, RTC_REG_YEAR), 0x42);
	rtc_destroy(g.r);
}

static void test_bad_load(void **state)
{
	struct fixture *f = *state;
	uint8_t good[RTC_STATE_SIZE], bad[RTC_STATE_SIZE], before[RTC_STATE_SIZE], after[RTC_STATE_SIZE];
	wr(f->r, 0x40, 0x99);
	assert_int_equal(rtc_save(f->r, good, sizeof(good)), RTC_STATE_SIZE);
	assert_int_equal(rtc_save(f->r, before, sizeof(before)), RTC_STATE_SIZE);

	struct { unsigned off; uint8_t val; } breaks[] = {
		{ 0, 2 },                        /* version */
		{ 1, 0x80 },                     /* index */
		{ 2, 0x02 },                     /* flags */
		{ 3, 1 },                        /* reserved */
		{ 4 + RTC_REG_A, 0xa6 },         /* UIP is never stored */
		{ 4 + RTC_REG_C, RTC_C_IRQF },   /* IRQF without a flag and its enable */
		{ 4 + RTC_REG_C, 0x01 },         /* low bits of C */
		{ 4 + RTC_REG_D, 0x00 },         /* VRT */
		{ 4 + RTC_REG_B, RTC_B_SET | RTC_B_UIE },
		{ 143, 0x3c },                   /* phase >= 1 s */
		{ 139, 0x7f },                   /* seconds out of any range */
	};
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		memcpy(bad, good, sizeof(bad));
		bad[breaks[i].off] = breaks[i].val;
		assert_int_equal(rtc_load(f->r, bad, sizeof(bad)), -EINVAL);
	}
	assert_int_equal(rtc_load(f->r, good, sizeof(good) - 1), -EINVAL);
	assert_int_equal(rtc_load(f->r, NULL, sizeof(good)), -EINVAL);
	/* A flag with its enable but no IRQF is inconsistent too. */
	memcpy(bad, good, sizeof(bad));
	bad[4 + RTC_REG_B] |= RTC_B_PIE;
	bad[4 + RTC_REG_C] = RTC_C_PF;
	assert_int_equal(rtc_load(f->r, bad, sizeof(bad)), -EINVAL);

	assert_int_equal(rtc_save(f->r, after, sizeof(after)), RTC_STATE_SIZE);
	assert_memory_equal(before, after, RTC_STATE_SIZE);
	assert_int_equal(f->irq.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_power_on_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bcd_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_localtime, setup_local, teardown),
		cmocka_unit_test_setup_teardown(test_twelve_hour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_advances_with_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_freezes_and_offsets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_keeps_divider_phase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_without_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uip_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_c_clears_and_lowers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_periodic_rates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_divider_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alarm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmos_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_load, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
