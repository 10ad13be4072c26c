/* Fuzz target rtc: a fresh MC146818A RTC on ports 0x70/0x71 with a fake time source that the TIME
 * operation advances, polled after every operation; checks the IRQ line, status C, deadlines, snapshots. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "base/time_source.h"
#include "devmodel/iobus.h"
#include "devmodel/rtc.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/guest_ops.h"

/* Snapshot layout (rtc.c, version 1). */
enum { S_VER, S_INDEX, S_FLAGS, S_ZERO, S_CMOS };
#define IMG RTC_STATE_SIZE
#define WALL_NS 1795000000123456789ll /* 2026-11-18, not on a second boundary */

/* RTC device actions (GOP_DEVICE sub-operations); fuzz/README.md lists them. */
enum { DEV_RESET, DEV_LOAD, DEV_SAVE, DEV_SET_MEMORY, DEV_CLONE };

struct rtc_fuzz {
	struct rtc *r;
	struct iobus pio;
	uint64_t now;           /* the fake monotonic clock */
	bool line;              /* the IRQ level as the sink last heard it */
	uint64_t deadline;      /* what the last poll returned */
	uint8_t prev[IMG];      /* the state after the previous operation */
};

static uint64_t fake_now(void *ctx)
{
	return ((const struct rtc_fuzz *)ctx)->now;
}

static int64_t fake_wall(void *ctx)
{
	(void)ctx;
	return WALL_NS;
}

static void sink(void *ctx, unsigned gsi, bool level)
{
	fuzz_irq_change(ctx, gsi, RTC_IRQ, level);
}

static void save(struct rtc *r, uint8_t *img)
{
	FUZZ_CHECK(rtc_save(r, img, IMG) == IMG, "save failed");
}

/* What every state the guest can reach satisfies. */
static void check_state(const struct rtc_fuzz *f, const uint8_t *s)
{
	const uint8_t *c = s + S_CMOS;
	FUZZ_CHECK(s[S_VER] == 1 && s[S_INDEX] <= 0x7f && s[S_FLAGS] <= 1 && s[S_ZERO] == 0, "image header");
	FUZZ_CHECK(!(c[RTC_REG_A] & RTC_A_UIP), "UIP saved in A");
	FUZZ_CHECK(!(c[RTC_REG_C] & 0x0f), "C %02x low bits", c[RTC_REG_C]);
	FUZZ_CHECK(c[RTC_REG_D] == RTC_D_VRT, "D %02x", c[RTC_REG_D]);
	bool irqf = c[RTC_REG_C] & c[RTC_REG_B] & (RTC_C_PF | RTC_C_AF | RTC_C_UF);
	FUZZ_CHECK(!!(c[RTC_REG_C] & RTC_C_IRQF) == irqf, "C %02x B %02x: IRQF wrong", c[RTC_REG_C], c[RTC_REG_B]);
	FUZZ_CHECK(f->line == irqf, "IRQ line %d, C says %d", f->line, irqf);
	uint32_t phase = (uint32_t)s[140] | (uint32_t)s[141] << 8 | (uint32_t)s[142] << 16 | (uint32_t)s[143] << 24;
	FUZZ_CHECK(phase < 1000000000u, "phase %u", phase);
}

/* Polls as the VM does at an exit and checks the deadline it gives. */
static void poll(struct rtc_fuzz *f)
{
	f->deadline = rtc_poll(f->r);
	FUZZ_CHECK(f->deadline == RTC_NO_DEADLINE || f->deadline > f->now, "deadline %llu not after now %llu",
		   (unsigned long long)f->deadline, (unsigned long long)f->now);
	if (f->line)
		FUZZ_CHECK(f->deadline == RTC_NO_DEADLINE, "a deadline while the line is high");
}

static void advance(void *ctx, uint64_t ns)
{
	struct rtc_fuzz *f = ctx;
	bool low = !f->line;
	uint64_t deadline = f->deadline;
	f->now = ns > UINT64_MAX - f->now ? UINT64_MAX : f->now + ns;
	poll(f);
	/* Nothing that can raise the line falls before the deadline the last poll returned. */
	if (low && f->now < deadline)
		FUZZ_CHECK(!f->line, "line rose at %llu before the deadline %llu", (unsigned long long)f->now,
			   (unsigned long long)deadline);
}

/* One access of the guest's: reads of the data port answer from the state before it. */
static void check_access(const struct guest_op *op, const uint8_t *a, const uint8_t *b)
{
	bool write = op->kind == GOP_PIO_WRITE;
	uint64_t off = op->addr - RTC_PORT_BASE;
	if (op->addr < RTC_PORT_BASE || off >= RTC_PORT_COUNT || op->size > RTC_PORT_COUNT - off) {
		FUZZ_CHECK(op->rc == -ENOENT, "access at %#llx claimed", (unsigned long long)op->addr);
		return;
	}
	FUZZ_CHECK(op->rc == 0, "access refused: %d", op->rc);
	if (write) {
		if (off == 0)
			FUZZ_CHECK(b[S_INDEX] == (op->value & 0x7f) && b[S_FLAGS] == !!(op->value & 0x80), "index write");
		unsigned idx = off == 0 ? (unsigned)(op->value & 0x7f) : a[S_INDEX];
		uint8_t v = (uint8_t)(op->size == 2 ? op->value >> 8 : op->value);
		if (idx >= 0x0e && idx != RTC_REG_CENTURY && (op->size == 2 || off == 1))
			FUZZ_CHECK(b[S_CMOS + idx] == v, "NVRAM byte %#x not written", idx);
		return;
	}
	unsigned idx = a[S_INDEX];
	uint8_t v = (uint8_t)(off == 0 ? op->value >> 8 : op->value);
	if (off == 0)
		FUZZ_CHECK((op->value & 0xff) == 0xff, "index port read %#llx", (unsigned long long)op->value);
	if (off == 0 && op->size == 1)
		return;
	if (idx == RTC_REG_C) {
		/* The flags go with the read and the line with them, until the next event. */
		FUZZ_CHECK(v == a[S_CMOS + RTC_REG_C], "C read %02x, had %02x", v, a[S_CMOS + RTC_REG_C]);
	} else if (idx == RTC_REG_D) {
		FUZZ_CHECK(v == RTC_D_VRT, "D read %02x", v);
	} else if (idx >= 0x0e && idx != RTC_REG_CENTURY) {
		FUZZ_CHECK(v == a[S_CMOS + idx], "NVRAM %#x read %02x, holds %02x", idx, v, a[S_CMOS + idx]);
		FUZZ_CHECK(b[S_CMOS + idx] == v, "NVRAM read changed it");
	} else if (idx == RTC_REG_B || (idx <= RTC_REG_HOUR_ALARM && idx & 1)) {
		FUZZ_CHECK(v == a[S_CMOS + idx], "register %#x read %02x, holds %02x", idx, v, a[S_CMOS + idx]);
	}
}

static void after_op(void *ctx, const struct guest_op *op)
{
	struct rtc_fuzz *f = ctx;
	uint8_t s[IMG];
	if (op->kind == GOP_PIO_READ || op->kind == GOP_PIO_WRITE) {
		/* Straight after the access, before a poll: a read of C left the line low. */
		uint8_t mid[IMG];
		save(f->r, mid);
		check_state(f, mid);
		check_access(op, f->prev, mid);
		if (op->kind == GOP_PIO_READ && op->rc == 0 && op->addr == RTC_PORT_BASE + 1 && op->size == 1 &&
		    f->prev[S_INDEX] == RTC_REG_C)
			FUZZ_CHECK(!f->line && !(mid[S_CMOS + RTC_REG_C] & 0xf0), "status C read left C %02x line %d",
				   mid[S_CMOS + RTC_REG_C], f->line);
		poll(f);
	} else if (op->kind != GOP_TIME) {
		poll(f);
	}
	save(f->r, s);
	check_state(f, s);
	memcpy(f->prev, s, IMG);
}

/* A second RTC on the same clock, loaded from this one's image, is the same device. */
static void check_clone(struct rtc_fuzz *f)
{
	struct rtc_fuzz g;
	uint8_t a[IMG], b[IMG];
	g.now = f->now;
	g.line = false;
	struct time_source ts = { .now_ns = fake_now, .wall_ns = fake_wall, .ctx = &g };
	g.r = rtc_create(&ts, (struct irq_sink){ sink, &g.line }, RTC_IRQ, false);
	if (!g.r)
		return;
	save(f->r, a);
	FUZZ_CHECK(rtc_load(g.r, a, IMG) == 0, "own image refused");
	save(g.r, b);
	FUZZ_CHECK(memcmp(a, b, IMG) == 0, "a loaded image saves differently");
	FUZZ_CHECK(g.line == f->line, "clone's line %d", g.line);
	for (unsigned i = 0; i < 0x80; i++) {
		uint64_t va = i, vb = i;
		FUZZ_CHECK(rtc_access(f->r, 0, 1, true, &va) == 0 && rtc_access(g.r, 0, 1, true, &vb) == 0, "index");
		FUZZ_CHECK(rtc_access(f->r, 1, 1, false, &va) == 0 && rtc_access(g.r, 1, 1, false, &vb) == 0, "read");
		FUZZ_CHECK(va == vb, "register %#x: %02llx vs clone's %02llx", i, (unsigned long long)va,
			   (unsigned long long)vb);
	}
	FUZZ_CHECK(g.line == f->line, "clone's line %d after reads", g.line);
	rtc_destroy(g.r);
}

static void on_device(void *ctx, unsigned sub, const uint8_t *buf, size_t len)
{
	struct rtc_fuzz *f = ctx;
	uint8_t img[IMG + 1];
	switch (sub) {
	case DEV_RESET:
		rtc_reset(f->r);
		save(f->r, img);
		FUZZ_CHECK(!(img[S_CMOS + RTC_REG_B] & 0x78) && !img[S_CMOS + RTC_REG_C] && !f->line, "after reset");
		break;
	case DEV_LOAD: {
		save(f->r, img);
		int rc = rtc_load(f->r, buf, len);
		uint8_t after[IMG];
		save(f->r, after);
		if (rc == 0) {
			FUZZ_CHECK(len == IMG, "image of %zu bytes accepted", len);
			/* The time and the flags may move on at once; the rest is as loaded. */
			FUZZ_CHECK(after[S_INDEX] == buf[S_INDEX] && after[S_FLAGS] == buf[S_FLAGS], "index");
			for (unsigned i = 0x0e; i < 0x80; i++)
				if (i != RTC_REG_CENTURY)
					FUZZ_CHECK(after[S_CMOS + i] == buf[S_CMOS + i], "NVRAM %#x not loaded", i);
		} else {
			FUZZ_CHECK(rc == -EINVAL, "load rc %d", rc);
			FUZZ_CHECK(memcmp(img, after, IMG) == 0, "a refused image changed the state");
		}
		break;
	}
	case DEV_SAVE: {
		size_t want = len ? buf[0] % sizeof(img) : 0;
		memset(img, 0xa5, sizeof(img));
		size_t n = rtc_save(f->r, img, want);
		FUZZ_CHECK(n == (want >= IMG ? IMG : 0), "save into %zu gave %zu", want, n);
		FUZZ_CHECK(img[IMG] == 0xa5 && (n || img[0] == 0xa5), "save wrote past its length");
		FUZZ_CHECK(rtc_save(f->r, NULL, 0) == IMG, "size query");
		break;
	}
	case DEV_SET_MEMORY: {
		uint64_t lo = 0, hi = 0;
		for (size_t i = 0; i < len && i < 16; i++) {
			if (i < 8)
				lo |= (uint64_t)buf[i] << (8 * i);
			else
				hi |= (uint64_t)buf[i] << (8 * (i - 8));
		}
		rtc_set_memory(f->r, lo, hi);
		break;
	}
	case DEV_CLONE:
		check_clone(f);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtc_fuzz f;
	struct errmsg e;
	f.now = 1000000000ull;
	f.line = false;
	f.deadline = RTC_NO_DEADLINE;
	iobus_init(&f.pio, "pio");
	struct time_source ts = { .now_ns = fake_now, .wall_ns = fake_wall, .ctx = &f };
	f.r = rtc_create(&ts, (struct irq_sink){ sink, &f.line }, RTC_IRQ, false);
	if (f.r && iobus_register(&f.pio, RTC_PORT_BASE, RTC_PORT_COUNT, "rtc", rtc_access, f.r, &e) == 0) {
		save(f.r, f.prev);
		check_state(&f, f.prev);
		poll(&f);
		struct guest_ops_target t = {
			.pio = &f.pio,
			.pio_base = RTC_PORT_BASE,
			.advance_time = advance,
			.device = on_device,
			.after_op = after_op,
			.ctx = &f,
		};
		guest_ops_run(&t, data, size);
		check_clone(&f);
		/* What the input left behind, for the reproducer's self-test (the save costs: only then). */
		if (fuzz_outcome_wanted) {
			uint8_t img[IMG];
			save(f.r, img);
			fuzz_outcome_add(img, IMG);
			fuzz_outcome_u64(f.now ^ f.deadline);
		}
	}
	iobus_destroy(&f.pio);
	rtc_destroy(f.r);
	return 0;
}
