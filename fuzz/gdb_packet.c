/* Fuzz target gdb_packet: a byte stream from "gdb" through the packet decoder; every decoded packet
 * goes through the hex helpers and back through the encoder and a second decoder, which must agree. */
#include <ctype.h>
#include <string.h>

#include "fuzz/fuzz_check.h"
#include "gdbstub/packet.h"

static const char hexdig[] = "0123456789abcdef";

/* The first input byte holds flags, the rest is the stream. With flag bit 0 the harness writes the right checksum after every "$...#", so the fuzzer
 * reaches the packet consumers instead of stopping at a checksum it cannot guess. */
static void fix_checksums(uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '$')
			continue;
		uint8_t sum = 0;
		size_t j = i + 1;
		for (; j < n && s[j] != '#' && s[j] != '$'; j++)
			sum = (uint8_t)(sum + s[j]);
		if (j + 2 < n && s[j] == '#') {
			s[j + 1] = (uint8_t)hexdig[sum >> 4];
			s[j + 2] = (uint8_t)hexdig[sum & 0xf];
		}
		i = j - 1;
	}
}

/* What the command layer does with a body: numbers ("m addr,len"), hex payloads ("M", "P",
 * "qRcmd") and escaped binary ("X"). Each helper must stay inside its buffers and agree with itself. */
static void check_helpers(const char *body, size_t len, char *scratch, size_t cap)
{
	for (size_t i = 0; i < len; i++) {
		if (i > 0 && isxdigit((unsigned char)body[i - 1]))
			continue; /* numbers start after a separator, as in "m addr,len" */
		const char *p = body + i, *start = p;
		uint64_t v = 0x1234;
		int rc = gdb_parse_hex(&p, &v);
		FUZZ_CHECK(rc == 0 ? p > start && p - start <= 16 : (p == start && v == 0x1234), "gdb_parse_hex");
	}
	long n = gdb_hex_decode(body, len, scratch, cap);
	if (n >= 0) {
		FUZZ_CHECK((size_t)n * 2 == len, "hex decode of %zu chars gave %ld", len, n);
		char *again = malloc(2 * (size_t)n + 1);
		if (again) {
			gdb_hex_encode(scratch, (size_t)n, again);
			for (size_t i = 0; i < len; i++)
				FUZZ_CHECK(again[i] == (body[i] | 0x20) || again[i] == body[i], "hex round trip at %zu", i);
			free(again);
		}
	}
	memcpy(scratch, body, len);
	long u = gdb_binary_unescape(scratch, len);
	FUZZ_CHECK(u <= (long)len, "unescape grew %zu to %ld", len, u);
}

/* Our encoder's frame of the body must decode to the same body. */
static void check_round_trip(const char *body, size_t len, char *frame, size_t cap, struct gdb_decoder *dec)
{
	size_t n = gdb_encode_packet(body, len, frame, cap);
	FUZZ_CHECK(n > 0, "a %zu-byte body does not fit a %zu-byte frame", len, cap);
	gdb_decoder_init(dec);
	for (size_t i = 0; i < n; i++) {
		enum gdb_decode_event ev = gdb_decode_byte(dec, (uint8_t)frame[i]);
		FUZZ_CHECK(ev == (i + 1 == n ? GDB_DEC_PACKET : GDB_DEC_NONE), "event %d at byte %zu of our frame", ev, i);
	}
	FUZZ_CHECK(dec->len == len && memcmp(dec->body, body, len) == 0, "round trip changed the body");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t flags = data[0];
	size_t n = size - 1;
	uint8_t *in = malloc(n + 1);
	struct gdb_decoder *dec = malloc(sizeof(*dec)), *dec2 = malloc(sizeof(*dec2));
	size_t frame_cap = 2 * GDB_PACKET_MAX + 8;
	char *frame = malloc(frame_cap), *scratch = malloc(GDB_PACKET_MAX + 1);
	if (in && dec && dec2 && frame && scratch) {
		memcpy(in, data + 1, n);
		if (flags & 1)
			fix_checksums(in, n);
		gdb_decoder_init(dec);
		for (size_t i = 0; i < n; i++) {
			enum gdb_decode_event ev = gdb_decode_byte(dec, in[i]);
			FUZZ_CHECK(ev >= GDB_DEC_NONE && ev <= GDB_DEC_NACK, "event %d", ev);
			FUZZ_CHECK(dec->len <= GDB_PACKET_MAX, "body of %zu bytes", dec->len);
			if (ev != GDB_DEC_PACKET)
				continue;
			FUZZ_CHECK(dec->body[dec->len] == '\0', "body not terminated");
			/* Flag bit 1: a small hex buffer (bits 7:2 bytes), for the "does not fit" paths. */
			check_helpers(dec->body, dec->len, scratch, (flags & 2) ? flags >> 2 : GDB_PACKET_MAX / 2);
			check_round_trip(dec->body, dec->len, frame, frame_cap, dec2);
		}
	}
	free(in);
	free(dec);
	free(dec2);
	free(frame);
	free(scratch);
	return 0;
}
