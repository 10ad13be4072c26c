/* Unit tests for the power/reset registers: each register's read-back and the power_sink
 * requests a guest's writes produce (S5 off, 0xcf9 and KBC reset, isa-debug-exit). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "devmodel/iobus.h"
#include "devmodel/power.h"

struct events {
	unsigned n;
	enum power_event ev[32];
	uint32_t code[32];
};

static void record(void *ctx, enum power_event ev, uint32_t code)
{
	struct events *e = ctx;
	if (e->n < 32) {
		e->ev[e->n] = ev;
		e->code[e->n] = code;
	}
	e->n++;
}

struct fixture {
	struct events ev;
	struct power_ctl *p;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->p = power_ctl_create((struct power_sink){ record, &f->ev });
	if (!f->p)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	power_ctl_destroy(f->p);
	free(f);
	return 0;
}

typedef int (*access_fn)(void *, uint64_t, unsigned, bool, uint64_t *);

static uint64_t rd(access_fn fn, struct power_ctl *p, uint64_t off, unsigned size)
{
	uint64_t v = 0xdeadbeefdeadbeefull;
	assert_int_equal(fn(p, off, size, false, &v), 0);
	return v;
}

static void wr(access_fn fn, struct power_ctl *p, uint64_t off, unsigned size, uint64_t val)
{
	assert_int_equal(fn(p, off, size, true, &val), 0);
}

#define SLP_S5 ((PM1_SLP_TYP_S5 << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN)

static void test_pm1a_cnt_s5(void **state)
{
	struct fixture *f = *state;
	/* No SMI_CMD: always in ACPI mode. */
	assert_int_equal(rd(power_pm1a_cnt_access, f->p, 0, 2), 0x0001);
	/* SLP_TYP without SLP_EN: just stored. */
	wr(power_pm1a_cnt_access, f->p, 0, 2, PM1_SLP_TYP_S5 << PM1_SLP_TYP_SHIFT);
	assert_int_equal(f->ev.n, 0);
	assert_int_equal(rd(power_pm1a_cnt_access, f->p, 0, 2), 0x1401);
	/* SLP_EN with S5: power off. SLP_EN itself never reads back. */
	wr(power_pm1a_cnt_access, f->p, 0, 2, SLP_S5);
	assert_int_equal(f->ev.n, 1);
	assert_int_equal(f->ev.ev[0], POWER_OFF);
	assert_int_equal(rd(power_pm1a_cnt_access, f->p, 0, 2) & PM1_SLP_EN, 0);
	/* SCI_EN cannot be cleared by the guest. */
	wr(power_pm1a_cnt_access, f->p, 0, 2, 0);
	assert_int_equal(rd(power_pm1a_cnt_access, f->p, 0, 2), 0x0001);
	assert_int_equal(f->ev.n, 1);
}

static void test_pm1a_cnt_other_sleep_states(void **state)
{
	struct fixture *f = *state;
	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ == PM1_SLP_TYP_S5)
			continue;
		wr(power_pm1a_cnt_access, f->p, 0, 2, (typ << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN);
	}
	assert_int_equal(f->ev.n, 0);
}

static void test_pm1a_cnt_byte_access(void **state)
{
	struct fixture *f = *state;
	/* High byte alone: SLP_TYP=5 and SLP_EN are both in bits 8..15. */
	wr(power_pm1a_cnt_access, f->p, 1, 1, SLP_S5 >> 8);
	assert_int_equal(f->ev.n, 1);
	assert_int_equal(f->ev.ev[0], POWER_OFF);
	assert_int_equal(rd(power_pm1a_cnt_access, f->p, 0, 1), 0x01);
	assert_int_equal(rd(power_pm1a_cnt_access, f->p, 1, 1), 0x14);
	/* A write of the low byte keeps the SLP_TYP already there (and does not sleep). */
	wr(power_pm1a_cnt_access, f->p, 0, 1, 0x00);
	assert_int_equal(rd(power_pm1a_cnt_access, f->p, 0, 2), 0x1401);
	assert_int_equal(f->ev.n, 1);
	/* Outside the 2-byte register: refused, reads all-ones. */
	uint64_t v = 0;
	assert_int_equal(power_pm1a_cnt_access(f->p, 1, 2, false, &v), -EINVAL);
	assert_int_equal(v, 0xffff);
	assert_int_equal(power_pm1a_cnt_access(f->p, 0, 4, true, &v), -EINVAL);
	assert_int_equal(f->ev.n, 1);
}

static void test_pm1a_evt(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(power_pm1a_evt_access, f->p, 0, 4), 0);
	/* PM1_EN (offset 2) is a plain register. */
	wr(power_pm1a_evt_access, f->p, 2, 2, 0x0120);
	assert_int_equal(rd(power_pm1a_evt_access, f->p, 2, 2), 0x0120);
	assert_int_equal(rd(power_pm1a_evt_access, f->p, 0, 4), 0x01200000);
	assert_int_equal(rd(power_pm1a_evt_access, f->p, 3, 1), 0x01);
	/* Status is write-1-to-clear: writing ones to nothing pending leaves it 0, and a 4-byte
	 * write updates the enable half. */
	wr(power_pm1a_evt_access, f->p, 0, 4, 0x0000ffff);
	assert_int_equal(rd(power_pm1a_evt_access, f->p, 0, 4), 0x00000000);
	wr(power_pm1a_evt_access, f->p, 0, 4, 0x0100ffff);
	assert_int_equal(rd(power_pm1a_evt_access, f->p, 0, 2), 0);
	assert_int_equal(rd(power_pm1a_evt_access, f->p, 2, 2), 0x0100);
	/* A byte write touches only its byte. */
	wr(power_pm1a_evt_access, f->p, 2, 1, 0x21);
	assert_int_equal(rd(power_pm1a_evt_access, f->p, 2, 2), 0x0121);
	uint64_t v = 0;
	assert_int_equal(power_pm1a_evt_access(f->p, 2, 4, false, &v), -EINVAL);
	assert_int_equal(v, 0xffffffffull);
	assert_int_equal(f->ev.n, 0);
	power_ctl_reset(f->p);
	assert_int_equal(rd(power_pm1a_evt_access, f->p, 0, 4), 0);
}

static void test_reset_ctl(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(power_reset_ctl_access, f->p, 0, 1), 0);
	/* Bits 1 and 3 select the reset kind and read back; no reset yet. */
	wr(power_reset_ctl_access, f->p, 0, 1, 0x0a);
	assert_int_equal(f->ev.n, 0);
	assert_int_equal(rd(power_reset_ctl_access, f->p, 0, 1), 0x0a);
	wr(power_reset_ctl_access, f->p, 0, 1, 0xf1);
	assert_int_equal(rd(power_reset_ctl_access, f->p, 0, 1), 0x00);
	assert_int_equal(f->ev.n, 0);
	/* RST_CPU: the usual 0x06 (hard reset) and 0x0e (full reset). */
	wr(power_reset_ctl_access, f->p, 0, 1, 0x06);
	assert_int_equal(f->ev.n, 1);
	assert_int_equal(f->ev.ev[0], POWER_RESET);
	assert_int_equal(rd(power_reset_ctl_access, f->p, 0, 1), 0x02);
	wr(power_reset_ctl_access, f->p, 0, 1, 0x0e);
	assert_int_equal(f->ev.n, 2);
	assert_int_equal(f->ev.ev[1], POWER_RESET);
	power_ctl_reset(f->p);
	assert_int_equal(rd(power_reset_ctl_access, f->p, 0, 1), 0);
}

static void test_kbc(void **state)
{
	struct fixture *f = *state;
	uint64_t st = rd(power_kbc_access, f->p, 0, 1);
	assert_int_equal(st & 0x03, 0); /* no data, input buffer empty */
	assert_true(st & 0x04);         /* system flag: self-test passed */
	wr(power_kbc_access, f->p, 0, 1, 0xad); /* disable keyboard: ignored */
	wr(power_kbc_access, f->p, 0, 1, 0xd1); /* write output port: ignored */
	wr(power_kbc_access, f->p, 0, 1, 0xff);
	assert_int_equal(f->ev.n, 0);
	wr(power_kbc_access, f->p, 0, 1, 0xfe);
	assert_int_equal(f->ev.n, 1);
	assert_int_equal(f->ev.ev[0], POWER_RESET);
	assert_int_equal(rd(power_kbc_access, f->p, 0, 1), st);
}

static void test_debugexit(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(power_debugexit_access, f->p, 0, 4), 0);
	wr(power_debugexit_access, f->p, 0, 1, 0x31);
	wr(power_debugexit_access, f->p, 0, 1, 0x1ff); /* masked to the access size */
	wr(power_debugexit_access, f->p, 0, 2, 0x12345);
	wr(power_debugexit_access, f->p, 0, 4, 0x123456789ull);
	wr(power_debugexit_access, f->p, 0, 4, 0);
	assert_int_equal(f->ev.n, 5);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(f->ev.ev[i], POWER_DEBUG_EXIT);
	assert_int_equal(f->ev.code[0], 0x31);
	assert_int_equal(f->ev.code[1], 0xff);
	assert_int_equal(f->ev.code[2], 0x2345);
	assert_int_equal(f->ev.code[3], 0x23456789);
	assert_int_equal(f->ev.code[4], 0);
}

/* Through the bus, as the VM wires it: straddling the 2-byte PM1a_CNT never reaches it. */
static void test_on_bus(void **state)
{
	struct fixture *f = *state;
	struct iobus bus;
	struct errmsg e = { "" };
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, PM1A_EVT_PORT, 4, "pm1a_evt", power_pm1a_evt_access, f->p, &e), 0);
	assert_int_equal(iobus_register(&bus, PM1A_CNT_PORT, 2, "pm1a_cnt", power_pm1a_cnt_access, f->p, &e), 0);
	assert_int_equal(iobus_register(&bus, RESET_CTL_PORT, 1, "reset_ctl", power_reset_ctl_access, f->p, &e), 0);
	assert_int_equal(iobus_register(&bus, KBC_CMD_PORT, 1, "kbc", power_kbc_access, f->p, &e), 0);
	uint64_t v = SLP_S5;
	assert_int_equal(iobus_access(&bus, PM1A_CNT_PORT, 2, true, &v), 0);
	assert_int_equal(f->ev.n, 1);
	v = 0;
	assert_int_equal(iobus_access(&bus, PM1A_CNT_PORT + 1, 2, false, &v), -ENOENT);
	assert_int_equal(v, 0xffff);
	v = 0xfe;
	assert_int_equal(iobus_access(&bus, KBC_CMD_PORT, 1, true, &v), 0);
	v = 0x06;
	assert_int_equal(iobus_access(&bus, RESET_CTL_PORT, 1, true, &v), 0);
	assert_int_equal(f->ev.n, 3);
	assert_int_equal(f->ev.ev[1], POWER_RESET);
	assert_int_equal(f->ev.ev[2], POWER_RESET);
	iobus_destroy(&bus);
}

static void test_no_sink(void **state)
{
	(void)state;
	/* A power_ctl without a sink (tests, fuzzing) must simply ignore the requests. */
	struct power_ctl *p = power_ctl_create((struct power_sink){ NULL, NULL });
	assert_non_null(p);
	wr(power_pm1a_cnt_access, p, 0, 2, SLP_S5);
	wr(power_reset_ctl_access, p, 0, 1, 0x06);
	wr(power_kbc_access, p, 0, 1, 0xfe);
	wr(power_debugexit_access, p, 0, 1, 1);
	power_ctl_destroy(p);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_pm1a_cnt_s5),
		T(test_pm1a_cnt_other_sleep_states),
		T(test_pm1a_cnt_byte_access),
		T(test_pm1a_evt),
		T(test_reset_ctl),
		T(test_kbc),
		T(test_debugexit),
		T(test_on_bus),
		cmocka_unit_test(test_no_sink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
