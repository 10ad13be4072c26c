/* Unit tests for the GDB remote protocol framing: the byte-at-a-time decoder (checksums, escapes,
 * acks, interrupts, resync, overflow, random noise), the packet encoder and the hex helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gdbstub/packet.h"

/* The decoder is 16 KiB; one static instance keeps the tests off the stack. */
static struct gdb_decoder dec;

static int setup(void **state)
{
	(void)state;
	gdb_decoder_init(&dec);
	return 0;
}

/* Feeds len bytes; every byte but the last must give NONE, and the last one's event is returned.
 * That checks both the final result and that nothing fired early. */
static enum gdb_decode_event feed_expect_last(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	enum gdb_decode_event ev = GDB_DEC_NONE;

	for (size_t i = 0; i < len; i++) {
		ev = gdb_decode_byte(&dec, p[i]);
		if (i + 1 < len)
			assert_int_equal(ev, GDB_DEC_NONE);
	}
	return ev;
}

static enum gdb_decode_event feed_str(const char *s)
{
	return feed_expect_last(s, strlen(s));
}

static uint8_t raw_sum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* Frames raw (already escaped) body bytes by hand, independently of gdb_encode_packet. */
static size_t frame_raw(const void *raw, size_t len, char *out)
{
	static const char hx[] = "0123456789abcdef";
	uint8_t s = raw_sum(raw, len);

	out[0] = '$';
	memcpy(out + 1, raw, len);
	out[len + 1] = '#';
	out[len + 2] = hx[s >> 4];
	out[len + 3] = hx[s & 15];
	out[len + 4] = '\0';
	return len + 4;
}

static void test_simple_packet(void **state)
{
	(void)state;
	assert_int_equal(feed_str("$g#67"), GDB_DEC_PACKET);
	assert_int_equal(dec.len, 1);
	assert_string_equal(dec.body, "g");

	/* Upper-case checksum digits are accepted too ("m0,4" sums to 0xfd). */
	assert_int_equal(feed_str("$m0,4#FD"), GDB_DEC_PACKET);
	assert_string_equal(dec.body, "m0,4");

	/* An empty packet. */
	assert_int_equal(feed_str("$#00"), GDB_DEC_PACKET);
	assert_int_equal(dec.len, 0);
	assert_string_equal(dec.body, "");
}

static void test_bad_checksum(void **state)
{
	(void)state;
	assert_int_equal(feed_str("$g#68"), GDB_DEC_BAD_CHECKSUM);
	assert_int_equal(feed_str("$g#76"), GDB_DEC_BAD_CHECKSUM);
	/* And the stream is back in sync. */
	assert_int_equal(feed_str("$g#67"), GDB_DEC_PACKET);
	assert_string_equal(dec.body, "g");
}

static void test_nonhex_checksum_digit(void **state)
{
	(void)state;
	/* Second digit bad: reported on that byte. */
	assert_int_equal(feed_str("$g#6z"), GDB_DEC_BAD_CHECKSUM);
	/* First digit bad: reported at once, and the would-be second digit is just noise. */
	assert_int_equal(feed_str("$g#z"), GDB_DEC_BAD_CHECKSUM);
	assert_int_equal(gdb_decode_byte(&dec, '7'), GDB_DEC_NONE);
	assert_int_equal(feed_str("$g#67"), GDB_DEC_PACKET);
	/* A '$' where a digit should be: the broken packet is reported and the new one decoded. */
	assert_int_equal(feed_str("$g#6$"), GDB_DEC_BAD_CHECKSUM);
	assert_int_equal(feed_str("?#3f"), GDB_DEC_PACKET);
	assert_string_equal(dec.body, "?");
}

static void test_escapes(void **state)
{
	char frame[64];
	size_t n;
	(void)state;

	/* "}]" is 0x7d 0x5d: the escaped byte is 0x5d ^ 0x20 = 0x7d; the checksum covers both raw bytes. */
	n = frame_raw("X}]", 3, frame);
	assert_int_equal(raw_sum("X}]", 3), (uint8_t)('X' + 0x7d + 0x5d));
	assert_int_equal(feed_expect_last(frame, n), GDB_DEC_PACKET);
	assert_int_equal(dec.len, 2);
	assert_int_equal((uint8_t)dec.body[0], 'X');
	assert_int_equal((uint8_t)dec.body[1], 0x7d);
	assert_int_equal(dec.body[2], '\0');

	/* '#', '$', '*' and a NUL byte, all escaped. */
	static const char raw[] = { 'a', '}', 0x03, '}', 0x04, '}', 0x0a, '}', 0x20, 'b' };
	n = frame_raw(raw, sizeof(raw), frame);
	assert_int_equal(feed_expect_last(frame, n), GDB_DEC_PACKET);
	assert_int_equal(dec.len, 6);
	assert_memory_equal(dec.body, "a#$*\0b", 6);

	/* A checksum over the unescaped bytes instead of the raw ones is wrong. */
	uint8_t wrong = raw_sum("X\x7d", 2);
	char bad[16];
	static const char hx[] = "0123456789abcdef";
	memcpy(bad, "$X}]#", 5);
	bad[5] = hx[wrong >> 4];
	bad[6] = hx[wrong & 15];
	assert_int_not_equal(wrong, raw_sum("X}]", 3));
	assert_int_equal(feed_expect_last(bad, 7), GDB_DEC_BAD_CHECKSUM);

	/* '*' is a literal in incoming packets: gdb never sends run-length encoding. */
	assert_int_equal(feed_expect_last(frame, frame_raw("a*3", 3, frame)), GDB_DEC_PACKET);
	assert_string_equal(dec.body, "a*3");

	/* A dangling '}' before '#': '#' still ends the packet, the '}' is kept literally. */
	assert_int_equal(feed_expect_last(frame, frame_raw("a}", 2, frame)), GDB_DEC_PACKET);
	assert_string_equal(dec.body, "a}");
}

static void test_interrupt(void **state)
{
	char frame[32];
	(void)state;
	assert_int_equal(gdb_decode_byte(&dec, 0x03), GDB_DEC_INTERRUPT);
	assert_int_equal(gdb_decode_byte(&dec, 0x03), GDB_DEC_INTERRUPT);
	/* Inside a packet it is just data. */
	assert_int_equal(feed_expect_last(frame, frame_raw("a\x03" "b", 3, frame)), GDB_DEC_PACKET);
	assert_int_equal(dec.len, 3);
	assert_memory_equal(dec.body, "a\x03" "b", 3);
}

static void test_ack_nack(void **state)
{
	char frame[32];
	(void)state;
	assert_int_equal(gdb_decode_byte(&dec, '+'), GDB_DEC_ACK);
	assert_int_equal(gdb_decode_byte(&dec, '-'), GDB_DEC_NACK);
	assert_int_equal(feed_expect_last(frame, frame_raw("+-", 2, frame)), GDB_DEC_PACKET);
	assert_string_equal(dec.body, "+-");
	/* An ack right after a packet, as gdb sends in ack mode. */
	assert_int_equal(gdb_decode_byte(&dec, '+'), GDB_DEC_ACK);
}

static void test_garbage_between_packets(void **state)
{
	(void)state;
	static const char noise[] = "hello#12\r\n\xff\x00}*abc#";
	for (size_t i = 0; i < sizeof(noise); i++)
		assert_int_equal(gdb_decode_byte(&dec, (uint8_t)noise[i]), GDB_DEC_NONE);
	assert_int_equal(feed_str("$g#67"), GDB_DEC_PACKET);
	assert_string_equal(dec.body, "g");
	for (size_t i = 0; i < sizeof(noise); i++)
		assert_int_equal(gdb_decode_byte(&dec, (uint8_t)noise[i]), GDB_DEC_NONE);
	assert_int_equal(feed_str("$?#3f"), GDB_DEC_PACKET);
	assert_string_equal(dec.body, "?");
}

static void test_dollar_restarts(void **state)
{
	(void)state;
	/* A half packet, then gdb's resend after a timeout. */
	assert_int_equal(feed_str("$m10,4$g#67"), GDB_DEC_PACKET);
	assert_string_equal(dec.body, "g");
	assert_int_equal(feed_str("$}$g#67"), GDB_DEC_PACKET); /* even right after an escape */
	assert_string_equal(dec.body, "g");
}

static void test_overflow(void **state)
{
	size_t n = GDB_PACKET_MAX + 100;
	char *frame = malloc(n + 8);
	char *body = malloc(n);
	(void)state;
	assert_non_null(frame);
	assert_non_null(body);
	memset(body, 'a', n);

	/* Correct checksum, too long: OVERFLOW only at the last checksum digit. */
	size_t fl = frame_raw(body, n, frame);
	assert_int_equal(feed_expect_last(frame, fl), GDB_DEC_OVERFLOW);
	assert_true(dec.len <= GDB_PACKET_MAX);
	assert_int_equal(feed_str("$g#67"), GDB_DEC_PACKET);
	assert_string_equal(dec.body, "g");

	/* One byte too many. */
	fl = frame_raw(body, GDB_PACKET_MAX + 1, frame);
	assert_int_equal(feed_expect_last(frame, fl), GDB_DEC_OVERFLOW);

	/* Exactly the maximum fits, NUL-terminated. */
	fl = frame_raw(body, GDB_PACKET_MAX, frame);
	assert_int_equal(feed_expect_last(frame, fl), GDB_DEC_PACKET);
	assert_int_equal(dec.len, GDB_PACKET_MAX);
	assert_int_equal(dec.body[GDB_PACKET_MAX], '\0');

	/* The limit is on unescaped bytes: MAX escaped bytes take 2*MAX raw bytes and still fit. */
	char *big = malloc(2 * GDB_PACKET_MAX + 8);
	char *braw = malloc(2 * GDB_PACKET_MAX);
	assert_non_null(big);
	assert_non_null(braw);
	for (size_t i = 0; i < GDB_PACKET_MAX; i++) {
		braw[2 * i] = '}';
		braw[2 * i + 1] = 0x5d;
	}
	fl = frame_raw(braw, 2 * GDB_PACKET_MAX, big);
	assert_int_equal(feed_expect_last(big, fl), GDB_DEC_PACKET);
	assert_int_equal(dec.len, GDB_PACKET_MAX);
	assert_int_equal((uint8_t)dec.body[GDB_PACKET_MAX - 1], 0x7d);

	/* An overlong packet with a bad checksum digit is still dropped and resynchronises. */
	memset(body, 'b', n);
	for (size_t i = 0; i < n; i++)
		gdb_decode_byte(&dec, i == 0 ? '$' : 'b');
	assert_int_equal(gdb_decode_byte(&dec, '#'), GDB_DEC_NONE);
	assert_int_equal(gdb_decode_byte(&dec, 'q'), GDB_DEC_BAD_CHECKSUM);
	assert_int_equal(feed_str("$g#67"), GDB_DEC_PACKET);

	free(braw);
	free(big);
	free(body);
	free(frame);
}

static void test_encode_known(void **state)
{
	char out[32];
	(void)state;
	assert_int_equal(gdb_encode_packet("OK", 2, out, sizeof(out)), 6);
	assert_string_equal(out, "$OK#9a");
	assert_int_equal(gdb_encode_packet(NULL, 0, out, sizeof(out)), 4);
	assert_string_equal(out, "$#00");
	/* Every special byte escaped; checksum over the escaped bytes. */
	assert_int_equal(gdb_encode_packet("$#}*", 4, out, sizeof(out)), 12);
	assert_memory_equal(out, "$}\x04}\x03}]}\x0a#", 10);
	uint8_t s = raw_sum("}\x04}\x03}]}\x0a", 8);
	char want[3];
	static const char hx[] = "0123456789abcdef";
	want[0] = hx[s >> 4];
	want[1] = hx[s & 15];
	want[2] = '\0';
	assert_memory_equal(out + 10, want, 2);
}

static void test_encode_small_cap(void **state)
{
	char out[16];
	(void)state;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(gdb_encode_packet("OK", 2, out, 5), 0);
	assert_int_equal(out[0], 'Z'); /* nothing written */
	assert_int_equal(gdb_encode_packet("OK", 2, out, 6), 6); /* exact fit, no room for a NUL */
	assert_memory_equal(out, "$OK#9a", 6);
	assert_int_equal(out[6], 'Z');
	assert_int_equal(gdb_encode_packet("}", 1, out, 5), 0); /* the escape needs 6 */
	assert_int_equal(gdb_encode_packet("}", 1, out, 6), 6);
	assert_int_equal(gdb_encode_packet("", 0, out, 3), 0);
	assert_int_equal(gdb_encode_packet("", 0, out, 0), 0);
	/* A huge length is refused once cap runs out, without reading further or wrapping. */
	char src[16] = { 0 };
	assert_int_equal(gdb_encode_packet(src, SIZE_MAX / 2 + 3, out, 8), 0);
}

static void test_encode_roundtrip_all_bytes(void **state)
{
	uint8_t body[256];
	char out[2 * 256 + 8];
	(void)state;
	for (int i = 0; i < 256; i++)
		body[i] = (uint8_t)i;
	size_t n = gdb_encode_packet(body, sizeof(body), out, sizeof(out));
	assert_int_equal(n, 4 + 256 + 4); /* four bytes need escaping */
	/* Between the framing, no raw '$', '#' or '*' (gdb would take '*' as run-length encoding). */
	for (size_t i = 1; i < n - 3; i++) {
		assert_int_not_equal(out[i], '$');
		assert_int_not_equal(out[i], '#');
		assert_int_not_equal(out[i], '*');
	}
	assert_int_equal(feed_expect_last(out, n), GDB_DEC_PACKET);
	assert_int_equal(dec.len, 256);
	assert_memory_equal(dec.body, body, 256);
}

static void test_hex(void **state)
{
	uint8_t bytes[4] = { 0x00, 0xab, 0x7f, 0xff }, got[4];
	char hex[9];
	(void)state;
	gdb_hex_encode(bytes, 4, hex);
	assert_string_equal(hex, "00ab7fff");
	gdb_hex_encode(bytes, 0, hex);
	assert_string_equal(hex, "");

	assert_int_equal(gdb_hex_decode("00AB7fFf", 8, got, sizeof(got)), 4);
	assert_memory_equal(got, bytes, 4);
	assert_int_equal(gdb_hex_decode("", 0, got, sizeof(got)), 0);

	memset(got, 0x55, sizeof(got));
	assert_int_equal(gdb_hex_decode("0g", 2, got, sizeof(got)), -1);
	assert_int_equal(gdb_hex_decode("00xx", 4, got, sizeof(got)), -1);
	assert_int_equal(gdb_hex_decode("abc", 3, got, sizeof(got)), -1);
	assert_int_equal(gdb_hex_decode("0011223344", 10, got, sizeof(got)), -1); /* 5 > cap */
	assert_int_equal(gdb_hex_decode("ab\0d", 4, got, sizeof(got)), -1);       /* NUL is not hex */
	for (int i = 0; i < 4; i++)
		assert_int_equal(got[i], 0x55); /* untouched on failure */
	/* Only hexlen characters are read. */
	assert_int_equal(gdb_hex_decode("12zz", 2, got, 1), 1);
	assert_int_equal(got[0], 0x12);
}

static void test_parse_hex(void **state)
{
	const char *p, *s;
	uint64_t v = 42;
	(void)state;

	s = p = "";
	assert_int_equal(gdb_parse_hex(&p, &v), -1);
	assert_ptr_equal(p, s);
	assert_int_equal(v, 42);

	s = p = ",1";
	assert_int_equal(gdb_parse_hex(&p, &v), -1);
	assert_ptr_equal(p, s);

	s = p = "ffffffffffffffff";
	assert_int_equal(gdb_parse_hex(&p, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_ptr_equal(p, s + 16);

	s = p = "FFFFFFFFFFFFFFFF:x";
	assert_int_equal(gdb_parse_hex(&p, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(*p, ':');

	v = 7;
	s = p = "10000000000000000"; /* 17 digits: 2^64 */
	assert_int_equal(gdb_parse_hex(&p, &v), -1);
	assert_ptr_equal(p, s);
	assert_int_equal(v, 7);

	s = p = "1a,4";
	assert_int_equal(gdb_parse_hex(&p, &v), 0);
	assert_int_equal(v, 0x1a);
	assert_ptr_equal(p, s + 2);
	p++;
	assert_int_equal(gdb_parse_hex(&p, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(*p, '\0');

	s = p = "0";
	assert_int_equal(gdb_parse_hex(&p, &v), 0);
	assert_int_equal(v, 0);
}

static void test_binary_unescape(void **state)
{
	char buf[16];
	(void)state;
	memcpy(buf, "a}]b}\x03}\x04}\x0a", 10);
	assert_int_equal(gdb_binary_unescape(buf, 10), 6);
	assert_memory_equal(buf, "a}b#$*", 6);

	memcpy(buf, "ab}", 3);
	assert_int_equal(gdb_binary_unescape(buf, 3), -1);
	assert_int_equal(gdb_binary_unescape(buf, 0), 0);
	memcpy(buf, "}}", 2); /* '}' escaping '}' ^ 0x20 = ']' */
	assert_int_equal(gdb_binary_unescape(buf, 2), 1);
	assert_int_equal(buf[0], ']');
}

/* xorshift64: deterministic, so a failure reproduces. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_fuzz(void **state)
{
	/* Bytes the decoder treats specially come up often, so all the states get exercised. */
	static const uint8_t special[] = { '$', '#', '}', 0x03, '+', '-', '*', '0', 'a', 'F' };
	size_t packets = 0, resyncs = 0;
	(void)state;

	for (int i = 0; i < 100000; i++) {
		uint64_t r = next_rand();
		uint8_t b = (r & 1) ? special[(r >> 8) % sizeof(special)] : (uint8_t)(r >> 16);
		enum gdb_decode_event ev = gdb_decode_byte(&dec, b);
		assert_true(ev >= GDB_DEC_NONE && ev <= GDB_DEC_NACK);
		assert_true(dec.len <= GDB_PACKET_MAX);
		if (ev == GDB_DEC_PACKET) {
			packets++;
			assert_int_equal(dec.body[dec.len], '\0');
		}

		/* Now and then a well-formed packet: whatever state the noise left, its '$' resyncs. */
		if (i % 1000 == 999) {
			uint8_t body[64];
			char frame[2 * sizeof(body) + 8];
			size_t blen = next_rand() % sizeof(body);
			for (size_t k = 0; k < blen; k++)
				body[k] = (uint8_t)next_rand();
			size_t n = gdb_encode_packet(body, blen, frame, sizeof(frame));
			assert_true(n > 0);
			for (size_t k = 0; k < n; k++)
				ev = gdb_decode_byte(&dec, (uint8_t)frame[k]);
			assert_int_equal(ev, GDB_DEC_PACKET);
			assert_int_equal(dec.len, blen);
			assert_memory_equal(dec.body, body, blen);
			assert_int_equal(dec.body[blen], '\0');
			resyncs++;
		}
	}
	assert_int_equal(resyncs, 100);
	(void)packets; /* random checksums rarely match; the property is that nothing breaks */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_simple_packet, setup),
		cmocka_unit_test_setup(test_bad_checksum, setup),
		cmocka_unit_test_setup(test_nonhex_checksum_digit, setup),
		cmocka_unit_test_setup(test_escapes, setup),
		cmocka_unit_test_setup(test_interrupt, setup),
		cmocka_unit_test_setup(test_ack_nack, setup),
		cmocka_unit_test_setup(test_garbage_between_packets, setup),
		cmocka_unit_test_setup(test_dollar_restarts, setup),
		cmocka_unit_test_setup(test_overflow, setup),
		cmocka_unit_test_setup(test_encode_known, setup),
		cmocka_unit_test_setup(test_encode_small_cap, setup),
		cmocka_unit_test_setup(test_encode_roundtrip_all_bytes, setup),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_parse_hex),
		cmocka_unit_test(test_binary_unescape),
		cmocka_unit_test_setup(test_fuzz, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
