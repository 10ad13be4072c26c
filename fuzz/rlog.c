/* Fuzz target rlog: replay logs (docs/replay-format.md) through the reader and the dump. The input's
 * first byte picks how it becomes a file:
 *   bit 0 clear: the rest is the file as it is (framing, CRCs, zstd frames as given);
 *   bit 0 set:   the rest is raw event bytes, which the harness writes as a well-formed file (header,
 *                chunks of at most RLOG_CHUNK_RAW_MAX bytes, zstd, right CRCs and sequence numbers),
 *                so the fuzzer reaches event parsing behind the checksums it cannot guess.
 * What the reader accepts must keep the format's promises. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "base/bytes.h"
#include "base/crc32.h"
#include "fuzz/fuzz_check.h"
#include "replay/rlog.h"
#include "replay/rlog_dump.h"

/* Frames raw event bytes as the writer would; the chunk's first sequence number counts events
 * as the reader will split them (an unparsable tail still goes in: the reader must refuse it). */
static size_t frame(const uint8_t *raw, size_t len, uint8_t *out, size_t cap)
{
	if (cap < RLOG_HEADER_BYTES)
		return 0;
	memset(out, 0, RLOG_HEADER_BYTES);
	memcpy(out, RLOG_MAGIC, 8);
	put_le(out + 8, RLOG_VERSION, 4);
	put_le(out + 12, RLOG_HEADER_BYTES, 4);
	put_le(out + 28, crc32_update(0, out, 28), 4);
	size_t off = RLOG_HEADER_BYTES, pos = 0;
	uint64_t seq = 0;
	while (pos < len) {
		size_t n = len - pos < RLOG_CHUNK_RAW_MAX ? len - pos : RLOG_CHUNK_RAW_MAX;
		size_t bound = ZSTD_compressBound(n);
		if (cap - off < RLOG_CHUNK_HEADER_BYTES + bound)
			return off;
		size_t c = ZSTD_compress(out + off + RLOG_CHUNK_HEADER_BYTES, bound, raw + pos, n, 1);
		if (ZSTD_isError(c))
			return off;
		put_le(out + off, RLOG_CHUNK_MAGIC, 4);
		put_le(out + off + 4, n, 4);
		put_le(out + off + 8, c, 4);
		put_le(out + off + 12, crc32_update(0, out + off + RLOG_CHUNK_HEADER_BYTES, c), 4);
		put_le(out + off + 16, seq, 8);
		for (size_t p = pos; p + RLOG_EVENT_HEADER_BYTES <= pos + n;) {
			seq++;
			p += RLOG_EVENT_HEADER_BYTES + get_le(raw + p + 2, 2);
		}
		off += RLOG_CHUNK_HEADER_BYTES + c;
		pos += n;
	}
	return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *body = data + 1;
	size_t len = size - 1, cap = RLOG_HEADER_BYTES + 64 + 2 * len + 4096;
	uint8_t *file = malloc(cap);
	FUZZ_CHECK(file != NULL, "out of memory");
	if (data[0] & 1)
		len = frame(body, len, file, cap);
	else
		memcpy(file, body, len);
	int fd = memfd_create("rlog", 0);
	FUZZ_CHECK(fd >= 0 && write(fd, file, len) == (ssize_t)len, "memfd");
	free(file);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	struct errmsg e = { "" };
	struct rlog_reader *r = rlog_reader_open(path, &e);
	if (!r) {
		FUZZ_CHECK(e.text[0] != '\0', "a refusal without a message");
	} else {
		FILE *out = fopen("/dev/null", "w");
		struct rlog_event ev, peek;
		uint64_t expect = 0;
		int rc;
		while ((rc = rlog_peek(r, &peek, &e)) == 1) {
			FUZZ_CHECK(rlog_next(r, &ev, &e) == 1, "next after peek");
			FUZZ_CHECK(ev.seq == peek.seq && ev.type == peek.type && ev.len == peek.len, "peek and next differ");
			FUZZ_CHECK(ev.seq == expect++, "sequence numbers");
			FUZZ_CHECK(ev.type > 0 && ev.type < RLOG__TYPES, "type");
			FUZZ_CHECK(ev.offset >= RLOG_HEADER_BYTES && ev.offset < len, "offset");
			rlog_print_event(out, &ev); /* reads every payload byte it shows: ASan checks the bounds */
		}
		FUZZ_CHECK(rc == 0 || e.text[0] != '\0', "an error without a message");
		fclose(out);
		rlog_reader_close(r);
	}
	close(fd);
	return 0;
}
