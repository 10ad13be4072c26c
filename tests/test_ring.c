/* Unit tests for the per-vCPU exit ring: sizes, wrap-around, the lost count, and a snapshot
 * taken while another thread writes (no torn or out-of-order records). */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "base/latency_hist.h"
#include "trace/ring.h"

/* A record whose every field is derived from its sequence number, so a torn copy shows. */
static struct trace_record rec(uint64_t seq)
{
	return (struct trace_record){ .time_ns = seq, .rip = seq * 3, .addr = ~seq, .value = seq ^ 0x5555,
				      .handle_ns = (uint32_t)seq, .count = (uint32_t)(seq >> 32) };
}

static int intact(const struct trace_record *r)
{
	return r->rip == r->time_ns * 3 && r->addr == ~r->time_ns && r->value == (r->time_ns ^ 0x5555) &&
	       r->handle_ns == (uint32_t)r->time_ns;
}

static void test_sizes(void **state)
{
	(void)state;
	struct trace_ring r;
	assert_int_equal(trace_ring_init(&r, 15), -EINVAL);
	assert_int_equal(trace_ring_init(&r, (uint64_t)TRACE_RING_MAX + 1), -EINVAL);
	assert_int_equal(trace_ring_init(&r, 100), 0);
	assert_int_equal(r.capacity, 128); /* rounded up to a power of two */
	trace_ring_free(&r);
	assert_int_equal(trace_ring_init(&r, 16), 0);
	assert_int_equal(r.capacity, 16);
	trace_ring_free(&r);
}

static void test_partial_fill(void **state)
{
	(void)state;
	struct trace_ring r;
	struct trace_record out[16];
	uint64_t lost = 99;
	assert_int_equal(trace_ring_init(&r, 16), 0);
	assert_int_equal(trace_ring_snapshot(&r, out, 16, true, &lost), 0);
	assert_int_equal(lost, 0);
	for (uint64_t i = 0; i < 5; i++)
		trace_ring_push(&r, &(struct trace_record){ .time_ns = i });
	assert_int_equal(trace_ring_snapshot(&r, out, 16, true, &lost), 5);
	assert_int_equal(lost, 0);
	for (uint64_t i = 0; i < 5; i++)
		assert_int_equal(out[i].time_ns, i);
	trace_ring_free(&r);
}

static void test_wrap_and_lost(void **state)
{
	(void)state;
	struct trace_ring r;
	struct trace_record out[16];
	uint64_t lost;
	assert_int_equal(trace_ring_init(&r, 16), 0);
	for (uint64_t i = 0; i < 100; i++) {
		struct trace_record x = rec(i);
		trace_ring_push(&r, &x);
	}
	assert_int_equal(trace_ring_snapshot(&r, out, 16, true, &lost), 16);
	assert_int_equal(lost, 84);
	for (uint64_t i = 0; i < 16; i++) {
		assert_int_equal(out[i].time_ns, 84 + i); /* oldest first */
		assert_true(intact(&out[i]));
	}
	/* A smaller buffer gets the newest records. */
	assert_int_equal(trace_ring_snapshot(&r, out, 4, true, &lost), 4);
	assert_int_equal(out[0].time_ns, 96);
	assert_int_equal(lost, 96);
	/* A running writer may be storing into the oldest slot: that one is not returned. */
	assert_int_equal(trace_ring_snapshot(&r, out, 16, false, &lost), 15);
	assert_int_equal(out[0].time_ns, 85);
	assert_int_equal(lost, 85);
	trace_ring_free(&r);
}

struct writer_arg {
	struct trace_ring *ring;
	uint64_t n;
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	for (uint64_t i = 0; i < a->n; i++) {
		struct trace_record x = rec(i);
		trace_ring_push(a->ring, &x);
	}
	return NULL;
}

static void test_concurrent_snapshot(void **state)
{
	(void)state;
	struct trace_ring r;
	assert_int_equal(trace_ring_init(&r, 64), 0);
	struct trace_record *out = malloc(64 * sizeof(*out));
	struct writer_arg a = { &r, 3000000 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, writer, &a), 0);
	unsigned snapshots = 0, nonempty = 0;
	while (__atomic_load_n(&r.head, __ATOMIC_ACQUIRE) < a.n) {
		uint64_t lost;
		uint64_t n = trace_ring_snapshot(&r, out, 64, false, &lost);
		snapshots++;
		nonempty += n > 0;
		for (uint64_t i = 0; i < n; i++) {
			assert_true(intact(&out[i]));
			assert_int_equal(out[i].time_ns, lost + i); /* consecutive, and lost says where */
		}
	}
	pthread_join(t, NULL);
	assert_true(snapshots > 10);
	assert_true(nonempty > 0);
	free(out);
	trace_ring_free(&r);
}

static void test_latency_histogram(void **state)
{
	(void)state;
	/* Exact below 16 ns, then within 12.5%. */
	for (uint64_t v = 0; v < 16; v++)
		assert_int_equal(lhist_bucket_low(lhist_bucket(v)), v);
	for (uint64_t v = 16; v < 100000000; v = v * 3 / 2 + 1) {
		uint64_t low = lhist_bucket_low(lhist_bucket(v));
		assert_true(low <= v);
		assert_true((double)(v - low) <= 0.125 * (double)v);
	}
	assert_int_equal(lhist_bucket(UINT64_MAX), LHIST_BUCKETS - 1);
	/* Nearest rank over 1..100 ns: p50 is 50, p99 is 99 (to the bucket's low edge). */
	uint64_t h[LHIST_BUCKETS] = { 0 };
	for (uint64_t v = 1; v <= 100; v++)
		h[lhist_bucket(v)]++;
	uint64_t p50 = lhist_percentile(h, 100, 50, 1, 100), p99 = lhist_percentile(h, 100, 99, 1, 100);
	assert_true(p50 <= 50 && p50 >= 44);
	assert_true(p99 <= 99 && p99 >= 88);
	assert_int_equal(lhist_percentile(h, 100, 100, 1, 100), 96);
	assert_int_equal(lhist_percentile(h, 0, 50, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_partial_fill),
		cmocka_unit_test(test_wrap_and_lost),
		cmocka_unit_test(test_concurrent_snapshot),
		cmocka_unit_test(test_latency_histogram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
