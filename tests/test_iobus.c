/* Unit tests for the port-I/O/MMIO bus: registration rules, lookup at region bounds, overlap
 * refusal messages, and how unclaimed, straddling and odd-sized accesses are answered. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devmodel/iobus.h"

/* A device that records its last access and answers reads with a fixed pattern. */
struct fake_dev {
	uint64_t last_off, last_val;
	unsigned last_size, calls;
	bool last_write;
	uint64_t read_value;
	int rc;
};

static int fake_access(void *owner, uint64_t offset, unsigned size, bool is_write, uint64_t *value)
{
	struct fake_dev *d = owner;
	d->calls++;
	d->last_off = offset;
	d->last_size = size;
	d->last_write = is_write;
	if (is_write)
		d->last_val = *value;
	else
		*value = d->read_value;
	return d->rc;
}

static void test_register_and_find_bounds(void **state)
{
	(void)state;
	struct iobus bus;
	struct errmsg e = { "" };
	struct fake_dev a = { 0 }, b = { 0 };
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0x3f8, 8, "com1", fake_access, &a, &e), 0);
	assert_int_equal(iobus_register(&bus, 0x2f8, 8, "com2", fake_access, &b, &e), 0);
	assert_int_equal(bus.nregions, 2);
	assert_true(bus.regions[0].base < bus.regions[1].base); /* kept sorted */

	assert_null(iobus_find(&bus, 0x3f7));
	const struct iobus_region *r = iobus_find(&bus, 0x3f8);
	assert_non_null(r);
	assert_string_equal(r->name, "com1");
	assert_ptr_equal(iobus_find(&bus, 0x3ff), r);
	assert_null(iobus_find(&bus, 0x400));
	assert_string_equal(iobus_find(&bus, 0x2f8)->name, "com2");
	assert_string_equal(iobus_find(&bus, 0x2ff)->name, "com2");
	assert_null(iobus_find(&bus, 0x2f7));
	assert_null(iobus_find(&bus, 0));
	assert_null(iobus_find(&bus, UINT64_MAX));
	iobus_destroy(&bus);
}

static void test_name_is_copied(void **state)
{
	(void)state;
	struct iobus bus;
	struct fake_dev a = { 0 };
	char name[16];
	strcpy(name, "com1");
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0x3f8, 8, name, fake_access, &a, NULL), 0);
	strcpy(name, "XXXX");
	assert_string_equal(iobus_find(&bus, 0x3f8)->name, "com1");
	iobus_destroy(&bus);
}

static void test_overlap_refused_with_message(void **state)
{
	(void)state;
	struct iobus bus;
	struct errmsg e = { "" };
	struct fake_dev a = { 0 };
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0x404, 2, "pm1a_cnt", fake_access, &a, &e), 0);

	/* Overlap from below, from above, containing and contained. */
	assert_int_equal(iobus_register(&bus, 0x400, 5, "pm1a_evt", fake_access, &a, &e), -EEXIST);
	assert_string_equal(e.text, "pio: pm1a_evt [0x400,0x405) overlaps pm1a_cnt [0x404,0x406)");
	assert_int_equal(iobus_register(&bus, 0x405, 4, "x", fake_access, &a, &e), -EEXIST);
	assert_non_null(strstr(e.text, "pm1a_cnt"));
	assert_int_equal(iobus_register(&bus, 0x300, 0x200, "big", fake_access, &a, &e), -EEXIST);
	assert_non_null(strstr(e.text, "big [0x300,0x500)"));
	assert_int_equal(iobus_register(&bus, 0x405, 1, "in", fake_access, &a, &e), -EEXIST);
	assert_int_equal(bus.nregions, 1);

	/* Touching is fine on both sides. */
	assert_int_equal(iobus_register(&bus, 0x400, 4, "pm1a_evt", fake_access, &a, &e), 0);
	assert_int_equal(iobus_register(&bus, 0x406, 2, "after", fake_access, &a, &e), 0);
	assert_int_equal(bus.nregions, 3);

	/* The message names both regions the way the brief shows. */
	assert_int_equal(iobus_register(&bus, 0x3f8, 0x10, "com1", fake_access, &a, &e), -EEXIST);
	assert_string_equal(e.text, "pio: com1 [0x3f8,0x408) overlaps pm1a_evt [0x400,0x404)");
	iobus_destroy(&bus);
}

static void test_bad_ranges_refused(void **state)
{
	(void)state;
	struct iobus bus;
	struct errmsg e = { "" };
	struct fake_dev a = { 0 };
	iobus_init(&bus, "mmio");
	assert_int_equal(iobus_register(&bus, 0x1000, 0, "empty", fake_access, &a, &e), -EINVAL);
	assert_non_null(strstr(e.text, "empty"));
	assert_int_equal(iobus_register(&bus, UINT64_MAX - 3, 8, "wrap", fake_access, &a, &e), -EINVAL);
	assert_non_null(strstr(e.text, "wrap"));
	assert_int_equal(iobus_register(&bus, 1ull << 63, 1ull << 63, "top", fake_access, &a, &e), -EINVAL);
	assert_int_equal(iobus_register(&bus, 0x1000, 4, "nofn", NULL, &a, &e), -EINVAL);
	assert_int_equal(bus.nregions, 0);
	/* The last representable byte is fine. */
	assert_int_equal(iobus_register(&bus, UINT64_MAX - 7, 7, "last", fake_access, &a, &e), 0);
	assert_non_null(iobus_find(&bus, UINT64_MAX - 1));
	assert_null(iobus_find(&bus, UINT64_MAX));
	iobus_destroy(&bus);
}

static void test_dispatch_offsets_and_masking(void **state)
{
	(void)state;
	struct iobus bus;
	struct fake_dev d = { .read_value = 0x1122334455667788ull };
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0x500, 16, "dev", fake_access, &d, NULL), 0);

	uint64_t v = 0;
	assert_int_equal(iobus_access(&bus, 0x504, 2, false, &v), 0);
	assert_int_equal(d.last_off, 4);
	assert_int_equal(d.last_size, 2);
	assert_false(d.last_write);
	assert_int_equal(v, 0x7788); /* a device's stray high bits never reach the guest */

	assert_int_equal(iobus_access(&bus, 0x500, 1, false, &v), 0);
	assert_int_equal(v, 0x88);
	assert_int_equal(iobus_access(&bus, 0x500, 4, false, &v), 0);
	assert_int_equal(v, 0x55667788);
	assert_int_equal(iobus_access(&bus, 0x508, 8, false, &v), 0);
	assert_int_equal(v, 0x1122334455667788ull);

	v = 0xdeadbeefcafef00dull;
	assert_int_equal(iobus_access(&bus, 0x50f, 1, true, &v), 0);
	assert_true(d.last_write);
	assert_int_equal(d.last_off, 15);
	assert_int_equal(d.last_val, 0x0d); /* writes are masked to the access size too */
	assert_int_equal(bus.unclaimed, 0);
	iobus_destroy(&bus);
}

static void test_unclaimed_reads_all_ones(void **state)
{
	(void)state;
	struct iobus bus;
	struct fake_dev d = { .read_value = 0 };
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0x500, 4, "dev", fake_access, &d, NULL), 0);

	uint64_t v = 0;
	assert_int_equal(iobus_access(&bus, 0x80, 1, false, &v), -ENOENT);
	assert_int_equal(v, 0xff);
	assert_int_equal(iobus_access(&bus, 0x80, 2, false, &v), -ENOENT);
	assert_int_equal(v, 0xffff);
	assert_int_equal(iobus_access(&bus, 0x80, 4, false, &v), -ENOENT);
	assert_int_equal(v, 0xffffffffull);
	assert_int_equal(iobus_access(&bus, 0x80, 8, false, &v), -ENOENT);
	assert_int_equal(v, UINT64_MAX);
	v = 5;
	assert_int_equal(iobus_access(&bus, 0x80, 1, true, &v), -ENOENT);
	assert_int_equal(bus.unclaimed, 5);

	/* Straddling the end of a region: nobody's, and the device never sees it. */
	assert_int_equal(iobus_access(&bus, 0x502, 4, false, &v), -ENOENT);
	assert_int_equal(v, 0xffffffffull);
	assert_int_equal(iobus_access(&bus, 0x503, 2, true, &v), -ENOENT);
	/* Starting just before the region. */
	assert_int_equal(iobus_access(&bus, 0x4ff, 2, false, &v), -ENOENT);
	assert_int_equal(d.calls, 0);
	assert_int_equal(bus.unclaimed, 8);

	/* Sizes the CPU cannot produce. */
	assert_int_equal(iobus_access(&bus, 0x500, 3, false, &v), -EINVAL);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(iobus_access(&bus, 0x500, 0, false, &v), -EINVAL);
	assert_int_equal(iobus_access(&bus, 0x500, 16, true, &v), -EINVAL);
	assert_int_equal(d.calls, 0);

	/* Access at the very top of the address space must not wrap into a low region. */
	assert_int_equal(iobus_register(&bus, 0, 4, "low", fake_access, &d, NULL), 0);
	assert_int_equal(iobus_access(&bus, UINT64_MAX, 2, false, &v), -ENOENT);
	assert_int_equal(d.calls, 0);
	iobus_destroy(&bus);
}

static void test_device_error(void **state)
{
	(void)state;
	struct iobus bus;
	struct fake_dev d = { .read_value = 0x12, .rc = -EIO };
	iobus_init(&bus, "pio");
	assert_int_equal(iobus_register(&bus, 0x10, 1, "bad", fake_access, &d, NULL), 0);
	uint64_t v = 0;
	assert_int_equal(iobus_access(&bus, 0x10, 1, false, &v), -EIO);
	assert_int_equal(v, 0xff);
	assert_int_equal(bus.device_errors, 1);
	assert_int_equal(bus.unclaimed, 0);
	iobus_destroy(&bus);
}

/* Each region's owner is its own index, so dispatch can be checked for every address. */
static int index_access(void *owner, uint64_t offset, unsigned size, bool is_write, uint64_t *value)
{
	(void)size;
	if (!is_write)
		*value = (uintptr_t)owner * 0x100 + offset;
	return 0;
}

static void test_many_regions(void **state)
{
	(void)state;
	struct iobus bus;
	struct errmsg e = { "" };
	enum { N = 1000 };
	iobus_init(&bus, "mmio");
	/* Register in a scrambled order: region i is [i*16, i*16+8). */
	for (unsigned k = 0; k < N; k++) {
		unsigned i = (k * 397) % N;
		char name[32];
		snprintf(name, sizeof(name), "r%u", i);
		assert_int_equal(iobus_register(&bus, (uint64_t)i * 16, 8, name, index_access,
						(void *)(uintptr_t)i, &e), 0);
	}
	assert_int_equal(bus.nregions, N);
	for (unsigned i = 1; i < N; i++)
		assert_true(bus.regions[i - 1].base + bus.regions[i - 1].len <= bus.regions[i].base);

	for (uint64_t a = 0; a < (uint64_t)N * 16 + 32; a++) {
		const struct iobus_region *r = iobus_find(&bus, a);
		/* Two-byte reads: the value names region and offset; the last byte of a region
		 * straddles its end. */
		uint64_t v = 0;
		int rc = iobus_access(&bus, a, 2, false, &v);
		if (a < (uint64_t)N * 16 && a % 16 < 8) {
			assert_non_null(r);
			assert_int_equal(r->base, a & ~15ull);
		} else {
			assert_null(r);
		}
		if (a < (uint64_t)N * 16 && a % 16 < 7) {
			assert_int_equal(rc, 0);
			assert_int_equal(v, ((a / 16) * 0x100 + a % 16) & 0xffff);
		} else {
			assert_int_equal(rc, -ENOENT);
			assert_int_equal(v, 0xffff);
		}
	}
	/* Every gap is still free, every region still taken. */
	assert_int_equal(iobus_register(&bus, 8 * 16 + 8, 8, "gap", index_access, NULL, &e), 0);
	assert_int_equal(iobus_register(&bus, 500 * 16 + 7, 2, "clash", index_access, NULL, &e), -EEXIST);
	assert_string_equal(e.text, "mmio: clash [0x1f47,0x1f49) overlaps r500 [0x1f40,0x1f48)");
	iobus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_and_find_bounds),
		cmocka_unit_test(test_name_is_copied),
		cmocka_unit_test(test_overlap_refused_with_message),
		cmocka_unit_test(test_bad_ranges_refused),
		cmocka_unit_test(test_dispatch_offsets_and_masking),
		cmocka_unit_test(test_unclaimed_reads_all_ones),
		cmocka_unit_test(test_device_error),
		cmocka_unit_test(test_many_regions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
