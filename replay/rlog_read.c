/* Reading the replay log: the framing of the whole file is checked at open (so a damaged log is
 * refused with the offset where it broke, before anything runs); chunks are decompressed lazily. */
#include "replay/rlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "base/bytes.h"
#include "base/crc32.h"

struct rlog_reader {
	char path[256];
	const uint8_t *map;  /* the whole file */
	size_t size;
	size_t next_chunk;   /* file offset of the chunk after the current one */
	size_t chunk_off;    /* file offset of the current chunk */
	uint8_t *raw;        /* the current chunk, decompressed */
	size_t raw_len, pos;
	uint64_t seq;        /* sequence number of the next event */
	bool peeked;
	struct rlog_event peek;
};

static const char *const type_names[RLOG__TYPES] = {
	[RLOG_CONFIG] = "config", [RLOG_EXIT] = "exit", [RLOG_IO_READ] = "io-read",
	[RLOG_DMA_WRITE] = "dma-write", [RLOG_DMA_READ] = "dma-read", [RLOG_IRQ] = "irq",
	[RLOG_MSI] = "msi", [RLOG_TIME] = "time", [RLOG_INPUT] = "input",
	[RLOG_ASYNC] = "async", [RLOG_END] = "end", [RLOG_NOTE] = "note",
};

const char *rlog_type_name(unsigned type)
{
	return type < RLOG__TYPES && type_names[type] ? type_names[type] : "unknown";
}

/* Header and every chunk frame: lengths inside the file, CRCs right. */
static int check_framing(struct rlog_reader *r, struct errmsg *e)
{
	const uint8_t *h = r->map;
	if (r->size < RLOG_HEADER_BYTES || memcmp(h, RLOG_MAGIC, 8) != 0)
		return errmsg_set(e, EINVAL, "%s: not a dhyve replay log (no %s header)", r->path, RLOG_MAGIC);
	if (get_le(h + 28, 4) != crc32_update(0, h, 28))
		return errmsg_set(e, EINVAL, "%s: offset 0: header checksum mismatch", r->path);
	if (get_le(h + 8, 4) != RLOG_VERSION)
		return errmsg_set(e, EINVAL, "%s: log format version %u, this dhyve reads version %u", r->path,
				  (unsigned)get_le(h + 8, 4), RLOG_VERSION);
	size_t off = RLOG_HEADER_BYTES;
	while (off < r->size) {
		if (r->size - off < RLOG_CHUNK_HEADER_BYTES)
			return errmsg_set(e, EINVAL, "%s: offset %zu: truncated (a chunk header cut short)", r->path, off);
		const uint8_t *c = r->map + off;
		if (get_le(c, 4) != RLOG_CHUNK_MAGIC)
			return errmsg_set(e, EINVAL, "%s: offset %zu: corrupt (no chunk header)", r->path, off);
		uint64_t raw = get_le(c + 4, 4), comp = get_le(c + 8, 4);
		if (raw == 0 || raw > RLOG_CHUNK_RAW_MAX)
			return errmsg_set(e, EINVAL, "%s: offset %zu: corrupt (chunk of %llu bytes)", r->path, off,
					  (unsigned long long)raw);
		if (comp > r->size - off - RLOG_CHUNK_HEADER_BYTES)
			return errmsg_set(e, EINVAL, "%s: offset %zu: truncated (chunk needs %llu bytes, %zu left)", r->path,
					  off, (unsigned long long)comp, r->size - off - RLOG_CHUNK_HEADER_BYTES);
		if (get_le(c + 12, 4) != crc32_update(0, c + RLOG_CHUNK_HEADER_BYTES, comp))
			return errmsg_set(e, EINVAL, "%s: offset %zu: corrupt (chunk checksum mismatch)", r->path, off);
		off += RLOG_CHUNK_HEADER_BYTES + comp;
	}
	return 0;
}

struct rlog_reader *rlog_reader_open(const char *path, struct errmsg *e)
{
	struct rlog_reader *r = calloc(1, sizeof(*r));
	if (!r || !(r->raw = malloc(RLOG_CHUNK_RAW_MAX))) {
		free(r);
		errmsg_set(e, ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	snprintf(r->path, sizeof(r->path), "%s", path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		errmsg_set(e, errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	r->size = (size_t)st.st_size;
	if (r->size) {
		r->map = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (r->map == MAP_FAILED) {
			r->map = NULL;
			errmsg_set(e, errno, "%s: %s", path, strerror(errno));
			goto fail;
		}
	}
	close(fd);
	fd = -1;
	if (check_framing(r, e) < 0)
		goto fail;
	r->next_chunk = RLOG_HEADER_BYTES;
	return r;
fail:
	if (fd >= 0)
		close(fd);
	rlog_reader_close(r);
	return NULL;
}

static int load_chunk(struct rlog_reader *r, struct errmsg *e)
{
	const uint8_t *c = r->map + r->next_chunk;
	size_t raw = get_le(c + 4, 4), comp = get_le(c + 8, 4);
	size_t n = ZSTD_decompress(r->raw, RLOG_CHUNK_RAW_MAX, c + RLOG_CHUNK_HEADER_BYTES, comp);
	if (ZSTD_isError(n) || n != raw)
		return errmsg_set(e, EINVAL, "%s: offset %zu: corrupt (chunk does not decompress to its %zu bytes)", r->path,
				  r->next_chunk, raw);
	if (get_le(c + 16, 8) != r->seq)
		return errmsg_set(e, EINVAL, "%s: offset %zu: corrupt (chunk starts at event %llu, expected %llu)", r->path,
				  r->next_chunk, (unsigned long long)get_le(c + 16, 8), (unsigned long long)r->seq);
	r->chunk_off = r->next_chunk;
	r->next_chunk += RLOG_CHUNK_HEADER_BYTES + comp;
	r->raw_len = raw;
	r->pos = 0;
	return 0;
}

static int read_event(struct rlog_reader *r, struct rlog_event *ev, struct errmsg *e)
{
	while (r->pos == r->raw_len) {
		if (r->next_chunk >= r->size)
			return 0;
		int rc = load_chunk(r, e);
		if (rc < 0)
			return rc;
	}
	if (r->raw_len - r->pos < RLOG_EVENT_HEADER_BYTES)
		return errmsg_set(e, EINVAL, "%s: offset %zu: corrupt (event %llu cut short)", r->path, r->chunk_off,
				  (unsigned long long)r->seq);
	const uint8_t *p = r->raw + r->pos;
	size_t len = get_le(p + 2, 2);
	if (p[0] == 0 || p[0] >= RLOG__TYPES || len > r->raw_len - r->pos - RLOG_EVENT_HEADER_BYTES)
		return errmsg_set(e, EINVAL, "%s: offset %zu: corrupt (event %llu: type %u, %zu bytes)", r->path,
				  r->chunk_off, (unsigned long long)r->seq, p[0], len);
	*ev = (struct rlog_event){ .type = p[0], .vcpu = p[1], .len = (uint16_t)len,
				   .data = p + RLOG_EVENT_HEADER_BYTES, .seq = r->seq, .offset = r->chunk_off };
	r->pos += RLOG_EVENT_HEADER_BYTES + len;
	r->seq++;
	return 1;
}

int rlog_peek(struct rlog_reader *r, struct rlog_event *ev, struct errmsg *e)
{
	if (!r->peeked) {
		int rc = read_event(r, &r->peek, e);
		if (rc <= 0)
			return rc;
		r->peeked = true;
	}
	*ev = r->peek;
	return 1;
}

int rlog_next(struct rlog_reader *r, struct rlog_event *ev, struct errmsg *e)
{
	int rc = rlog_peek(r, ev, e);
	if (rc == 1)
		r->peeked = false;
	return rc;
}

void rlog_reader_close(struct rlog_reader *r)
{
	if (!r)
		return;
	if (r->map)
		munmap((void *)r->map, r->size);
	free(r->raw);
	free(r);
}
