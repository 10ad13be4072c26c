/* fuzz_seeds_from_log: turns a replay log (a recorded guest's real traffic) into seeds for a device
 * harness. Every access the guest made inside one device's window becomes a guest operation (the
 * byte code of README.md), preceded by the guest memory the device read while serving it (as
 * MEM_WRITE) and interleaved with host time and console input, in the order they happened.
 *
 *   fuzz_seeds_from_log LOG pio:BASE:LEN|mmio:BASE:LEN OUTDIR [OPS_PER_SEED]
 *
 * Offsets in the seeds are relative to BASE, as the harnesses place their device at their own base. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "fuzz/guest_ops.h"
#include "replay/rlog.h"
#include "replay/rlog_dump.h"
#include "vmm/exit.h"

struct window {
	bool mmio;
	uint64_t base, len;
};

struct seed_writer {
	const char *dir;
	unsigned ops_per_seed, ops, files;
	uint8_t *buf;
	size_t len, cap;
	uint64_t last_time;
};

static void put(struct seed_writer *s, const void *p, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->buf = realloc(s->buf, s->cap);
		if (!s->buf) {
			perror("fuzz_seeds_from_log");
			exit(1);
		}
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void put_le_n(struct seed_writer *s, uint64_t v, unsigned n)
{
	uint8_t b[8];
	put_le(b, v, n);
	put(s, b, n);
}

static unsigned log2_of(unsigned n)
{
	return n >= 8 ? 3 : n >= 4 ? 2 : n >= 2 ? 1 : 0;
}

static void flush(struct seed_writer *s)
{
	if (!s->len)
		return;
	char path[4096];
	snprintf(path, sizeof(path), "%s/replay-%04u", s->dir, s->files++);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f) != 0) {
		fprintf(stderr, "fuzz_seeds_from_log: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	s->len = 0;
	s->ops = 0;
}

static void op_done(struct seed_writer *s)
{
	if (++s->ops >= s->ops_per_seed)
		flush(s);
}

/* An access at off (W = 8 bytes, the widest, so any window fits). */
static void emit_access(struct seed_writer *s, const struct window *w, const struct rlog_exit *x)
{
	enum guest_op_kind k = w->mmio ? (x->is_write ? GOP_MMIO_WRITE : GOP_MMIO_READ)
				       : (x->is_write ? GOP_PIO_WRITE : GOP_PIO_READ);
	unsigned size = x->size ? x->size : 1;
	put_le_n(s, (uint64_t)k | log2_of(size) << GOP_SIZE_SHIFT | 3u << GOP_WIDTH_SHIFT, 1);
	put_le_n(s, x->addr - w->base, 8);
	if (x->is_write)
		put_le_n(s, x->value, 1u << log2_of(size));
	op_done(s);
}

/* What the device read from guest RAM, put there first (255 bytes per operation). */
static void emit_memory(struct seed_writer *s, uint64_t gpa, const uint8_t *p, size_t n)
{
	while (n) {
		size_t chunk = n < 255 ? n : 255;
		put_le_n(s, GOP_MEM_WRITE | 3u << GOP_WIDTH_SHIFT, 1);
		put_le_n(s, gpa, 8);
		put_le_n(s, chunk, 1);
		put(s, p, chunk);
		op_done(s);
		gpa += chunk;
		p += chunk;
		n -= chunk;
	}
}

static void emit_time(struct seed_writer *s, uint64_t ns)
{
	if (s->last_time && ns > s->last_time) {
		put_le_n(s, GOP_TIME | 3u << GOP_WIDTH_SHIFT, 1);
		put_le_n(s, ns - s->last_time, 8);
		op_done(s);
	}
	s->last_time = ns;
}

static void emit_input(struct seed_writer *s, const uint8_t *p, size_t n)
{
	while (n) {
		size_t chunk = n < 255 ? n : 255;
		put_le_n(s, GOP_HOST_INPUT, 1);
		put_le_n(s, chunk, 1);
		put(s, p, chunk);
		op_done(s);
		p += chunk;
		n -= chunk;
	}
}

static bool parse_window(const char *arg, struct window *w)
{
	char kind[8];
	unsigned long long base, len;
	if (sscanf(arg, "%7[a-z]:%lli:%lli", kind, &base, &len) != 3 || len == 0)
		return false;
	w->mmio = strcmp(kind, "mmio") == 0;
	w->base = base;
	w->len = len;
	return w->mmio || strcmp(kind, "pio") == 0;
}

static bool in_window(const struct window *w, const struct rlog_exit *x)
{
	enum vmexit_kind k = (enum vmexit_kind)x->kind;
	return (w->mmio ? k == VMEXIT_MMIO : k == VMEXIT_PIO) && x->addr >= w->base && x->addr - w->base < w->len;
}

int main(int argc, char **argv)
{
	struct window w;
	if (argc < 4 || !parse_window(argv[2], &w)) {
		fprintf(stderr, "usage: fuzz_seeds_from_log LOG pio:BASE:LEN|mmio:BASE:LEN OUTDIR [OPS_PER_SEED]\n");
		return 2;
	}
	struct seed_writer s = { .dir = argv[3], .ops_per_seed = argc > 4 ? (unsigned)atoi(argv[4]) : 512 };
	if (s.ops_per_seed == 0)
		s.ops_per_seed = 512;
	struct errmsg e = { "" };
	struct rlog_reader *r = rlog_reader_open(argv[1], &e);
	if (!r) {
		fprintf(stderr, "fuzz_seeds_from_log: %s\n", e.text);
		return 1;
	}
	struct rlog_event ev;
	struct rlog_exit pending; /* an access in the window whose DMA reads are still coming */
	bool have_pending = false;
	int rc;
	unsigned accesses = 0;
	while ((rc = rlog_next(r, &ev, &e)) == 1) {
		if (!rlog_event_well_formed(&ev))
			continue;
		if ((ev.type == RLOG_EXIT || ev.type == RLOG_ASYNC || ev.type == RLOG_END) && have_pending) {
			emit_access(&s, &w, &pending);
			have_pending = false;
		}
		switch (ev.type) {
		case RLOG_EXIT: {
			struct rlog_exit x;
			memcpy(&x, ev.data, sizeof(x));
			if (in_window(&w, &x)) {
				pending = x;
				have_pending = true;
				accesses++;
			}
			break;
		}
		case RLOG_DMA_READ:
			if (have_pending)
				emit_memory(&s, get_le(ev.data, 8), ev.data + 8, ev.len - 8u);
			break;
		case RLOG_TIME:
			if (get_le(ev.data, 4) == 0)
				emit_time(&s, get_le(ev.data + 8, 8));
			break;
		case RLOG_INPUT: emit_input(&s, ev.data + 4, ev.len - 4u); break;
		default: break;
		}
	}
	if (have_pending)
		emit_access(&s, &w, &pending);
	flush(&s);
	rlog_reader_close(r);
	if (rc < 0) {
		fprintf(stderr, "fuzz_seeds_from_log: %s\n", e.text);
		return 1;
	}
	printf("%u accesses in %s into %u seeds in %s\n", accesses, argv[2], s.files, s.dir);
	free(s.buf);
	return accesses ? 0 : 1;
}
