/* Tests for devmodel/virtqueue.c: chains taken from a split virtqueue in a malloc'd guest memory,
 * and every way a hostile driver can break the rings ending in -EIO, never a fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>

#include "devmodel/virtqueue.h"

#define RAM 0x10000
#define QSIZE 8
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000

struct fx {
	uint8_t *ram;
	struct gmem mem;
	struct virtqueue vq;
	struct vq_chain c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->ram = calloc(1, RAM);
	gmem_init_flat(&f->mem, f->ram, RAM);
	f->vq = (struct virtqueue){ .size = QSIZE, .enabled = 1, .desc = DESC, .avail = AVAIL, .used = USED };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	free(f->ram);
	free(f);
	return 0;
}

static void put_desc(struct fx *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	uint8_t *d = f->ram + table + 16 * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Puts head in the next avail slot and publishes it. */
static void post(struct fx *f, uint16_t head)
{
	uint16_t idx;
	memcpy(&idx, f->ram + AVAIL + 2, 2);
	memcpy(f->ram + AVAIL + 4 + 2 * (idx % QSIZE), &head, 2);
	idx++;
	memcpy(f->ram + AVAIL + 2, &idx, 2);
}

static uint16_t u16_at(struct fx *f, uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, f->ram + gpa, 2);
	return v;
}

static uint32_t u32_at(struct fx *f, uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, f->ram + gpa, 4);
	return v;
}

static void test_pop_push(void **state)
{
	struct fx *f = *state;
	assert_int_equal(vq_pop(&f->vq, &f->mem, false, &f->c), 0); /* empty */
	put_desc(f, DESC, 2, 0x4000, 16, VIRTQ_DESC_F_NEXT, 5);
	put_desc(f, DESC, 5, 0x5000, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(f, DESC, 1, 0x6000, 1, VIRTQ_DESC_F_WRITE, 0);
	post(f, 2);
	assert_int_equal(vq_pop(&f->vq, &f->mem, false, &f->c), 1);
	assert_int_equal(f->c.head, 2);
	assert_int_equal(f->c.nseg, 3);
	assert_ptr_equal(f->c.seg[0].host, f->ram + 0x4000);
	assert_false(f->c.seg[0].writable);
	assert_int_equal(f->c.seg[1].len, 512);
	assert_true(f->c.seg[1].writable);
	assert_ptr_equal(f->c.seg[2].host, f->ram + 0x6000);
	assert_int_equal(vq_pop(&f->vq, &f->mem, false, &f->c), 0);
	assert_int_equal(vq_push(&f->vq, &f->mem, 2, 513), 0);
	assert_int_equal(u16_at(f, USED + 2), 1);
	assert_int_equal(u32_at(f, USED + 4), 2);
	assert_int_equal(u32_at(f, USED + 8), 513);
}

static void test_index_wraps(void **state)
{
	struct fx *f = *state;
	f->vq.last_avail = f->vq.used_idx = 0xffff;
	uint16_t idx = 0xffff;
	memcpy(f->ram + AVAIL + 2, &idx, 2);
	put_desc(f, DESC, 0, 0x4000, 8, 0, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->mem, false, &f->c), 1);
	assert_int_equal(f->vq.last_avail, 0);
	assert_int_equal(vq_push(&f->vq, &f->mem, 0, 0), 0);
	assert_int_equal(u16_at(f, USED + 2), 0);
}

static void expect_eio(struct fx *f)
{
	assert_int_equal(vq_pop(&f->vq, &f->mem, true, &f->c), -EIO);
}

static void test_outside_ram(void **state)
{
	struct fx *f = *state;
	put_desc(f, DESC, 0, RAM - 4, 8, 0, 0); /* straddles the end */
	post(f, 0);
	expect_eio(f);
}

static void test_length_overflow(void **state)
{
	struct fx *f = *state;
	put_desc(f, DESC, 0, UINT64_MAX - 16, 0xffffffff, 0, 0); /* addr + len wraps */
	post(f, 0);
	expect_eio(f);
	f->vq.last_avail = 0;
	put_desc(f, DESC, 0, 0x4000, 0xffffffff, 0, 0);
	expect_eio(f);
}

static void test_loop(void **state)
{
	struct fx *f = *state;
	put_desc(f, DESC, 0, 0x4000, 8, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, DESC, 1, 0x4000, 8, VIRTQ_DESC_F_NEXT, 0);
	post(f, 0);
	expect_eio(f);
}

static void test_chain_longer_than_queue(void **state)
{
	struct fx *f = *state;
	/* Every descriptor links on, the last back to the first: QSIZE + 1 steps are needed. */
	for (unsigned i = 0; i < QSIZE; i++)
		put_desc(f, DESC, i, 0x4000, 8, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % QSIZE));
	post(f, 3);
	expect_eio(f);
}

static void test_next_out_of_table(void **state)
{
	struct fx *f = *state;
	put_desc(f, DESC, 0, 0x4000, 8, VIRTQ_DESC_F_NEXT, QSIZE);
	post(f, 0);
	expect_eio(f);
}

static void test_head_out_of_table(void **state)
{
	struct fx *f = *state;
	post(f, QSIZE);
	expect_eio(f);
}

static void test_avail_jump(void **state)
{
	struct fx *f = *state;
	uint16_t idx = QSIZE + 1;
	memcpy(f->ram + AVAIL + 2, &idx, 2);
	expect_eio(f);
}

static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;
	put_desc(f, DESC, 0, 0x4000, 8, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	put_desc(f, DESC, 1, 0x5000, 8, 0, 0);
	post(f, 0);
	expect_eio(f);
}

static void test_indirect(void **state)
{
	struct fx *f = *state;
	put_desc(f, 0x7000, 0, 0x4000, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 0x7000, 1, 0x5000, 4, VIRTQ_DESC_F_WRITE, 0);
	put_desc(f, DESC, 0, 0x7000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	post(f, 0);
	assert_int_equal(vq_pop(&f->vq, &f->mem, false, &f->c), -EIO); /* not negotiated */
	f->vq.last_avail = 0;
	assert_int_equal(vq_pop(&f->vq, &f->mem, true, &f->c), 1);
	assert_int_equal(f->c.nseg, 2);
	assert_ptr_equal(f->c.seg[1].host, f->ram + 0x5000);
	assert_true(f->c.seg[1].writable);
}

static void test_indirect_hostile(void **state)
{
	struct fx *f = *state;
	/* A loop inside the table. */
	put_desc(f, 0x7000, 0, 0x4000, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 0x7000, 1, 0x4000, 16, VIRTQ_DESC_F_NEXT, 0);
	put_desc(f, DESC, 0, 0x7000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	post(f, 0);
	expect_eio(f);
	/* Nested indirect, a table length that is not whole descriptors, a table outside RAM. */
	f->vq.last_avail = 0;
	put_desc(f, 0x7000, 0, 0x7000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_eio(f);
	f->vq.last_avail = 0;
	put_desc(f, DESC, 0, 0x7000, 17, VIRTQ_DESC_F_INDIRECT, 0);
	expect_eio(f);
	f->vq.last_avail = 0;
	put_desc(f, DESC, 0, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_eio(f);
}

static void test_rings_outside_ram(void **state)
{
	struct fx *f = *state;
	assert_int_equal(vq_check(&f->vq, &f->mem), 0);
	struct virtqueue bad = f->vq;
	bad.used = RAM - 8;
	assert_int_equal(vq_check(&bad, &f->mem), -EINVAL);
	bad = f->vq;
	bad.size = 6;
	assert_int_equal(vq_check(&bad, &f->mem), -EINVAL);
	bad = f->vq;
	bad.desc = DESC + 8;
	assert_int_equal(vq_check(&bad, &f->mem), -EINVAL);
	/* Even an unchecked queue whose rings leave RAM only gets -EIO. */
	bad = f->vq;
	bad.avail = RAM - 1;
	assert_int_equal(vq_pop(&bad, &f->mem, true, &f->c), -EIO);
	bad = f->vq;
	bad.used = UINT64_MAX - 3;
	assert_int_equal(vq_push(&bad, &f->mem, 0, 0), -EIO);
}

static void test_no_interrupt_flag(void **state)
{
	struct fx *f = *state;
	assert_true(vq_wants_interrupt(&f->vq, &f->mem));
	uint16_t flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	memcpy(f->ram + AVAIL, &flags, 2);
	assert_false(vq_wants_interrupt(&f->vq, &f->mem));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pop_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_wraps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_length_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chain_longer_than_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_out_of_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_out_of_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rings_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
