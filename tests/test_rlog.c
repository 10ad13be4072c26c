/* Replay logs: a round trip through a real file over several compressed chunks, rollback of an
 * async point that delivered nothing, and refusal of damaged logs with the offset where they broke. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/bytes.h"
#include "base/crc32.h"
#include "replay/rlog.h"
#include "replay/rlog_dump.h"

static char path[64];

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_rlog.%d", (int)getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

/* 300 exits, each with a read, a DMA write of 3000 bytes of a per-exit pattern and an IRQ:
 * about 1 MB raw, so several chunks. */
#define NEXITS 300
#define DMA_LEN 3000

static void write_sample(void)
{
	struct errmsg e = { "" };
	struct rlog_writer *w = rlog_writer_open(path, &e);
	assert_non_null(w);
	assert_int_equal(rlog_append(w, RLOG_CONFIG, 0, "name=t\n", 7, NULL, 0), 0);
	static uint8_t dma[DMA_LEN];
	for (unsigned i = 0; i < NEXITS; i++) {
		struct rlog_exit x = { .index = i, .rip = 0x1000 + i, .addr = 0x3f8, .kind = 0, .size = 1, .insn = 7 * i };
		assert_int_equal(rlog_append(w, RLOG_EXIT, 0, &x, sizeof(x), NULL, 0), 0);
		uint64_t v = i * 3;
		assert_int_equal(rlog_append(w, RLOG_IO_READ, 0, &v, 8, NULL, 0), 0);
		for (unsigned j = 0; j < DMA_LEN; j++)
			dma[j] = (uint8_t)(i * 7 + j * 13);
		uint64_t gpa = 0x100000 + i;
		assert_int_equal(rlog_append(w, RLOG_DMA_WRITE, 0, &gpa, 8, dma, sizeof(dma)), 0);
		uint32_t irq[2] = { 8, i & 1 };
		assert_int_equal(rlog_append(w, RLOG_IRQ, 0, irq, sizeof(irq), NULL, 0), 0);
	}
	struct rlog_end end = { 1, 0, NEXITS };
	assert_int_equal(rlog_append(w, RLOG_END, 0, &end, sizeof(end), "off", 3), 0);
	assert_int_equal(rlog_events(w), 2 + 4 * NEXITS);
	assert_int_equal(rlog_writer_close(w, &e), 0);
}

static void test_round_trip(void **state)
{
	(void)state;
	write_sample();
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	/* 300 distinct 3000-byte patterns compress, but not to nothing. */
	assert_true(st.st_size > 1000 && st.st_size < 4 * NEXITS * DMA_LEN / 10);
	struct errmsg e = { "" };
	struct rlog_reader *r = rlog_reader_open(path, &e);
	assert_non_null(r);
	struct rlog_event ev;
	assert_int_equal(rlog_next(r, &ev, &e), 1);
	assert_int_equal(ev.type, RLOG_CONFIG);
	assert_memory_equal(ev.data, "name=t\n", 7);
	uint64_t chunks_seen = 0, last_offset = 0;
	for (unsigned i = 0; i < NEXITS; i++) {
		assert_int_equal(rlog_peek(r, &ev, &e), 1);
		assert_int_equal(rlog_next(r, &ev, &e), 1);
		assert_int_equal(ev.type, RLOG_EXIT);
		assert_int_equal(ev.seq, 1 + 4 * i);
		struct rlog_exit x;
		memcpy(&x, ev.data, sizeof(x));
		assert_int_equal(x.index, i);
		assert_int_equal(x.rip, 0x1000 + i);
		assert_int_equal(x.insn, 7 * i);
		assert_int_equal(rlog_next(r, &ev, &e), 1);
		assert_int_equal(ev.type, RLOG_IO_READ);
		uint64_t v;
		memcpy(&v, ev.data, 8);
		assert_int_equal(v, i * 3);
		assert_int_equal(rlog_next(r, &ev, &e), 1);
		assert_int_equal(ev.type, RLOG_DMA_WRITE);
		assert_int_equal(ev.len, 8 + DMA_LEN);
		for (unsigned j = 0; j < DMA_LEN; j += 499)
			assert_int_equal(ev.data[8 + j], (uint8_t)(i * 7 + j * 13));
		if (ev.offset != last_offset)
			chunks_seen++;
		last_offset = ev.offset;
		assert_int_equal(rlog_next(r, &ev, &e), 1);
		assert_int_equal(ev.type, RLOG_IRQ);
	}
	assert_true(chunks_seen >= 3);
	assert_int_equal(rlog_next(r, &ev, &e), 1);
	assert_int_equal(ev.type, RLOG_END);
	assert_int_equal(rlog_next(r, &ev, &e), 0);
	assert_int_equal(rlog_peek(r, &ev, &e), 0);
	rlog_reader_close(r);
}

static void test_rollback(void **state)
{
	(void)state;
	struct errmsg e = { "" };
	struct rlog_writer *w = rlog_writer_open(path, &e);
	assert_non_null(w);
	uint64_t v = 1;
	rlog_append(w, RLOG_IO_READ, 0, &v, 8, NULL, 0);
	struct rlog_mark m = rlog_mark(w);
	struct rlog_async a = { .index = 1, .insn = 99 };
	rlog_append(w, RLOG_ASYNC, 0, &a, sizeof(a), NULL, 0);
	assert_true(rlog_rollback(w, m));
	v = 2;
	rlog_append(w, RLOG_IO_READ, 0, &v, 8, NULL, 0);
	/* A mark whose chunk was written out can no longer be rolled back to. */
	m = rlog_mark(w);
	static uint8_t big[60000];
	for (int i = 0; i < 6; i++)
		rlog_append(w, RLOG_DMA_WRITE, 0, &v, 8, big, sizeof(big));
	assert_false(rlog_rollback(w, m));
	assert_int_equal(rlog_writer_close(w, &e), 0);
	struct rlog_reader *r = rlog_reader_open(path, &e);
	assert_non_null(r);
	struct rlog_event ev;
	assert_int_equal(rlog_next(r, &ev, &e), 1);
	assert_int_equal(ev.type, RLOG_IO_READ);
	assert_int_equal(rlog_next(r, &ev, &e), 1);
	assert_int_equal(ev.type, RLOG_IO_READ); /* the async event is gone */
	assert_int_equal(ev.data[0], 2);
	assert_int_equal(ev.seq, 1);
	rlog_reader_close(r);
}

static void test_too_big_event(void **state)
{
	(void)state;
	struct errmsg e = { "" };
	struct rlog_writer *w = rlog_writer_open(path, &e);
	static uint8_t big[RLOG_PAYLOAD_MAX + 1];
	assert_int_equal(rlog_append(w, RLOG_DMA_WRITE, 0, big, sizeof(big), NULL, 0), -E2BIG);
	assert_int_equal(rlog_writer_close(w, &e), 0);
}

static uint8_t *slurp(size_t *len)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	uint8_t *buf = malloc((size_t)st.st_size);
	FILE *f = fopen(path, "rb");
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

static void spit(const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static void expect_refusal(const char *words)
{
	struct errmsg e = { "" };
	struct rlog_reader *r = rlog_reader_open(path, &e);
	if (r) {
		rlog_reader_close(r);
		fail_msg("damaged log accepted (expected '%s')", words);
	}
	if (!strstr(e.text, words))
		fail_msg("message '%s' lacks '%s'", e.text, words);
}

static void test_damage_refused(void **state)
{
	(void)state;
	write_sample();
	size_t len;
	uint8_t *good = slurp(&len);
	uint8_t *bad = malloc(len);

	spit(good, 0);
	expect_refusal("not a dhyve replay log");
	memcpy(bad, good, len);
	bad[12] ^= 1; /* header length field: the header CRC catches it */
	spit(bad, len);
	expect_refusal("offset 0: header checksum mismatch");
	memcpy(bad, good, len);
	bad[8] = 9; /* another version, with its CRC fixed up: the version is named */
	put_le(bad + 28, crc32_update(0, bad, 28), 4);
	spit(bad, len);
	expect_refusal("log format version 9, this dhyve reads version 1");

	/* One byte changed inside the first chunk's compressed data. */
	memcpy(bad, good, len);
	bad[RLOG_HEADER_BYTES + RLOG_CHUNK_HEADER_BYTES + 100] ^= 0x40;
	spit(bad, len);
	expect_refusal("offset 32: corrupt (chunk checksum mismatch)");

	/* Cut anywhere: inside a chunk header, inside its data, at the last byte. */
	size_t cuts[] = { RLOG_HEADER_BYTES + 5, RLOG_HEADER_BYTES + RLOG_CHUNK_HEADER_BYTES + 10, len - 1 };
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		spit(good, cuts[i]);
		expect_refusal("truncated");
	}
	/* Garbage where the next chunk should start. */
	memcpy(bad, good, len);
	spit(bad, len);
	FILE *f = fopen(path, "ab");
	fwrite("garbage garbage garbage garbage", 1, 31, f);
	fclose(f);
	expect_refusal("corrupt (no chunk header)");
	free(bad);
	free(good);
}

static void test_dump(void **state)
{
	(void)state;
	write_sample();
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	struct errmsg e = { "" };
	assert_int_equal(rlog_dump(out, path, &e), 0);
	fclose(out);
	assert_non_null(strstr(text, "config    \"name=t\\n\""));
	assert_non_null(strstr(text, "exit      #299 pio rip=0x112b addr=0x3f8 size=1 read"));
	assert_non_null(strstr(text, "dma-write gpa=0x100000 len=3000"));
	assert_non_null(strstr(text, "# totals: config=1 exit=300 io-read=300 dma-write=300 irq=300 end=1"));
	free(text);
	/* A payload too short for its type prints as malformed instead of being read past its end. */
	struct rlog_event ev = { .type = RLOG_EXIT, .len = 3, .data = (const uint8_t *)"abc" };
	assert_false(rlog_event_well_formed(&ev));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_big_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
