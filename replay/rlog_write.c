/* Streaming the replay log to disk: events gather in one bounded chunk buffer, a full chunk is
 * compressed with zstd and written with its length and CRC, so memory stays at one chunk. */
#include "replay/rlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "base/bytes.h"
#include "base/crc32.h"
#include "base/fdio.h"

struct rlog_writer {
	pthread_mutex_t lock;
	int fd;
	uint8_t *raw;      /* RLOG_CHUNK_RAW_MAX bytes of events not yet written */
	size_t used;
	uint8_t *packed;   /* chunk header + compressed chunk */
	size_t packed_cap;
	uint64_t seq;      /* events appended so far */
	uint64_t chunk_seq; /* seq of the first event in raw */
	uint64_t chunks;
	uint64_t bytes;    /* written to the file */
	int err;           /* first error, sticky */
	char why[160];
};

static void fail(struct rlog_writer *w, int err, const char *what)
{
	if (w->err)
		return;
	w->err = err;
	snprintf(w->why, sizeof(w->why), "%s: %s", what, strerror(err));
}

static void flush_chunk(struct rlog_writer *w)
{
	if (w->used == 0 || w->err)
		return;
	/* Level 1: the log is written on the vCPU thread, speed matters more than the last 10%. */
	size_t n = ZSTD_compress(w->packed + RLOG_CHUNK_HEADER_BYTES, w->packed_cap - RLOG_CHUNK_HEADER_BYTES, w->raw,
				 w->used, 1);
	if (ZSTD_isError(n)) {
		fail(w, EIO, ZSTD_getErrorName(n));
		return;
	}
	uint8_t *h = w->packed;
	put_le(h, RLOG_CHUNK_MAGIC, 4);
	put_le(h + 4, w->used, 4);
	put_le(h + 8, n, 4);
	put_le(h + 12, crc32_update(0, h + RLOG_CHUNK_HEADER_BYTES, n), 4);
	put_le(h + 16, w->chunk_seq, 8);
	int rc = fd_write_all(w->fd, h, RLOG_CHUNK_HEADER_BYTES + n);
	if (rc < 0) {
		fail(w, -rc, "write");
		return;
	}
	w->bytes += RLOG_CHUNK_HEADER_BYTES + n;
	w->used = 0;
	w->chunk_seq = w->seq;
	w->chunks++;
}

struct rlog_writer *rlog_writer_open(const char *path, struct errmsg *e)
{
	struct rlog_writer *w = calloc(1, sizeof(*w));
	size_t cap = RLOG_CHUNK_HEADER_BYTES + ZSTD_compressBound(RLOG_CHUNK_RAW_MAX);
	if (w) {
		w->raw = malloc(RLOG_CHUNK_RAW_MAX);
		w->packed = malloc(cap);
		w->packed_cap = cap;
	}
	if (!w || !w->raw || !w->packed) {
		if (w) {
			free(w->raw);
			free(w->packed);
		}
		free(w);
		errmsg_set(e, ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		errmsg_set(e, errno, "%s: %s", path, strerror(errno));
		free(w->raw);
		free(w->packed);
		free(w);
		return NULL;
	}
	uint8_t h[RLOG_HEADER_BYTES] = { 0 };
	memcpy(h, RLOG_MAGIC, 8);
	put_le(h + 8, RLOG_VERSION, 4);
	put_le(h + 12, RLOG_HEADER_BYTES, 4);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	put_le(h + 16, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, 8);
	put_le(h + 28, crc32_update(0, h, 28), 4);
	int rc = fd_write_all(w->fd, h, sizeof(h));
	if (rc < 0) {
		errmsg_set(e, -rc, "%s: %s", path, strerror(-rc));
		close(w->fd);
		free(w->raw);
		free(w->packed);
		free(w);
		return NULL;
	}
	w->bytes = sizeof(h);
	pthread_mutex_init(&w->lock, NULL);
	return w;
}

int rlog_append(struct rlog_writer *w, unsigned type, unsigned vcpu, const void *a, size_t alen, const void *b,
		size_t blen)
{
	size_t len = alen + blen;
	if (len > RLOG_PAYLOAD_MAX)
		return -E2BIG;
	pthread_mutex_lock(&w->lock);
	if (w->used + RLOG_EVENT_HEADER_BYTES + len > RLOG_CHUNK_RAW_MAX)
		flush_chunk(w);
	uint8_t *p = w->raw + w->used;
	p[0] = (uint8_t)type;
	p[1] = (uint8_t)vcpu;
	put_le(p + 2, len, 2);
	if (alen)
		memcpy(p + RLOG_EVENT_HEADER_BYTES, a, alen);
	if (blen)
		memcpy(p + RLOG_EVENT_HEADER_BYTES + alen, b, blen);
	w->used += RLOG_EVENT_HEADER_BYTES + len;
	w->seq++;
	int err = w->err;
	pthread_mutex_unlock(&w->lock);
	return -err;
}

struct rlog_mark rlog_mark(struct rlog_writer *w)
{
	pthread_mutex_lock(&w->lock);
	struct rlog_mark m = { w->seq, w->used, w->chunks };
	pthread_mutex_unlock(&w->lock);
	return m;
}

bool rlog_rollback(struct rlog_writer *w, struct rlog_mark m)
{
	pthread_mutex_lock(&w->lock);
	bool ok = m.chunk == w->chunks && m.seq <= w->seq && m.used <= w->used;
	if (ok) {
		w->seq = m.seq;
		w->used = m.used;
	}
	pthread_mutex_unlock(&w->lock);
	return ok;
}

uint64_t rlog_events(struct rlog_writer *w)
{
	pthread_mutex_lock(&w->lock);
	uint64_t n = w->seq;
	pthread_mutex_unlock(&w->lock);
	return n;
}

uint64_t rlog_bytes_written(struct rlog_writer *w)
{
	pthread_mutex_lock(&w->lock);
	uint64_t n = w->bytes;
	pthread_mutex_unlock(&w->lock);
	return n;
}

int rlog_writer_close(struct rlog_writer *w, struct errmsg *e)
{
	if (!w)
		return 0;
	flush_chunk(w);
	int rc = 0;
	if (!w->err && fsync(w->fd) < 0 && errno != EINVAL)
		fail(w, errno, "fsync");
	if (close(w->fd) < 0)
		fail(w, errno, "close");
	if (w->err)
		rc = errmsg_set(e, w->err, "%s", w->why);
	pthread_mutex_destroy(&w->lock);
	free(w->raw);
	free(w->packed);
	free(w);
	return rc;
}
