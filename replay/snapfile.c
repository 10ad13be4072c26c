/* Snapshot files: writing sections (zstd where it pays) behind a header rewritten at the end,
 * and reading them back through a read-only mapping that is checked whole before anything in
 * it is used, so a damaged snapshot never reaches a VM half applied. */
#include "replay/snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "base/bytes.h"
#include "base/crc32.h"
#include "base/fdio.h"

#define MAGIC "DHYVSNAP"
#define PAGE 4096u
#define FLAG_ZSTD 1u
#define RAW_MAX (256ull << 20) /* no section unpacks to more (a RAM chunk is ~16 MiB) */
#define ZSTD_LEVEL 1           /* fast: a snapshot is written while the guest waits */

/* Header: magic[8], u32 version, u32 header size, u64 time (ns), build[48], u32 sections
 * (END included), u32 CRC-32 of the 76 bytes before it.
 * Section header: u32 type, u32 flags, name[32], u64 stored bytes, u64 raw bytes, u32 CRC-32 of
 * the stored bytes, u32 CRC-32 of the 60 bytes before it. */

struct snapfile_writer {
	int fd;
	char path[4096], tmp[4096 + 8];
	char build[SNAPFILE_BUILD_MAX + 1];
	uint64_t off;
	uint32_t nsec;
	void *zbuf;
	size_t zcap;
	ZSTD_CCtx *zctx;
};

struct snapfile_writer *snapfile_create(const char *path, const char *build_id, struct errmsg *e)
{
	struct snapfile_writer *w = calloc(1, sizeof(*w));
	if (!w) {
		errmsg_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	if (snprintf(w->path, sizeof(w->path), "%s", path) >= (int)sizeof(w->path) || strlen(build_id) > SNAPFILE_BUILD_MAX) {
		errmsg_set(e, ENAMETOOLONG, "%s: path or build id too long", path);
		free(w);
		return NULL;
	}
	snprintf(w->tmp, sizeof(w->tmp), "%s.tmp", path);
	snprintf(w->build, sizeof(w->build), "%s", build_id);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (w->fd < 0) {
		errmsg_set(e, errno, "%s: %s", w->tmp, strerror(errno));
		free(w);
		return NULL;
	}
	uint8_t zero[SNAPFILE_HEADER_SIZE] = { 0 }; /* the real header comes at commit */
	int rc = fd_write_all(w->fd, zero, sizeof(zero));
	if (rc < 0) {
		errmsg_set(e, -rc, "%s: %s", w->tmp, strerror(-rc));
		snapfile_abort(w);
		return NULL;
	}
	w->off = SNAPFILE_HEADER_SIZE;
	return w;
}

uint64_t snapfile_written(const struct snapfile_writer *w)
{
	return w->off;
}

static int add_stored(struct snapfile_writer *w, enum snap_section_type type, const char *name, uint32_t flags,
		      const void *data, size_t stored, size_t raw, struct errmsg *e)
{
	if (strlen(name) > SNAPFILE_NAME_MAX)
		return errmsg_set(e, ENAMETOOLONG, "section name '%s' longer than %d", name, SNAPFILE_NAME_MAX);
	uint8_t h[SNAPFILE_SECTION_HEADER] = { 0 };
	put_le(h, type, 4);
	put_le(h + 4, flags, 4);
	memcpy(h + 8, name, strlen(name));
	put_le(h + 40, stored, 8);
	put_le(h + 48, raw, 8);
	put_le(h + 56, crc32_update(0, data, stored), 4);
	put_le(h + 60, crc32_update(0, h, 60), 4);
	int rc = fd_write_all(w->fd, h, sizeof(h));
	if (rc == 0 && stored)
		rc = fd_write_all(w->fd, data, stored);
	if (rc < 0)
		return errmsg_set(e, -rc, "%s: %s", w->tmp, strerror(-rc));
	w->off += sizeof(h) + stored;
	w->nsec++;
	return 0;
}

int snapfile_add(struct snapfile_writer *w, enum snap_section_type type, const char *name, const void *data,
		 size_t len, bool compress, struct errmsg *e)
{
	if (len > RAW_MAX)
		return errmsg_set(e, E2BIG, "section '%s': %zu bytes, at most %llu", name, len, (unsigned long long)RAW_MAX);
	if (compress && len > 256) {
		size_t bound = ZSTD_compressBound(len);
		if (bound > w->zcap) {
			void *nb = realloc(w->zbuf, bound);
			if (!nb)
				return errmsg_set(e, ENOMEM, "out of memory");
			w->zbuf = nb;
			w->zcap = bound;
		}
		if (!w->zctx && !(w->zctx = ZSTD_createCCtx()))
			return errmsg_set(e, ENOMEM, "out of memory");
		size_t z = ZSTD_compressCCtx(w->zctx, w->zbuf, w->zcap, data, len, ZSTD_LEVEL);
		if (!ZSTD_isError(z) && z < len)
			return add_stored(w, type, name, FLAG_ZSTD, w->zbuf, z, len, e);
	}
	return add_stored(w, type, name, 0, data, len, len, e);
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;
	uint64_t acc = 0;
	for (unsigned i = 0; i < PAGE / 8; i++)
		acc |= q[i];
	return acc == 0;
}

/* Pages the process never touched (neither present nor swapped out, per /proc/self/pagemap)
 * are zero: skipping them saves reading them, which on a nested KVM costs a page fault each
 * (~10 µs: most of a mostly-empty guest's snapshot time). untouched[i] for page i of [host,
 * host + n pages); false everywhere when pagemap cannot be read (then every page is read). */
static void find_untouched(const uint8_t *host, uint64_t n, bool *untouched)
{
	memset(untouched, 0, n * sizeof(*untouched));
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	uint64_t ent[512];
	for (uint64_t i = 0; i < n; i += 512) {
		uint64_t k = n - i < 512 ? n - i : 512;
		off_t off = (off_t)(((uintptr_t)host / PAGE + i) * 8);
		if (pread(fd, ent, k * 8, off) != (ssize_t)(k * 8))
			break;
		for (uint64_t j = 0; j < k; j++)
			untouched[i + j] = !(ent[j] & (3ull << 62)); /* bit 63 present, bit 62 swapped */
	}
	close(fd);
}

/* One chunk: u64 gpa, u64 pages, bitmap (whole u64 words), then the pages whose bit is set. */
int snapfile_add_ram(struct snapfile_writer *w, const struct gmem *mem, struct errmsg *e)
{
	size_t words = SNAPFILE_RAM_CHUNK_PAGES / 64;
	uint8_t *buf = malloc(16 + words * 8 + (size_t)SNAPFILE_RAM_CHUNK_PAGES * PAGE);
	bool *untouched = malloc(SNAPFILE_RAM_CHUNK_PAGES * sizeof(bool));
	if (!buf || !untouched) {
		free(buf);
		free(untouched);
		return errmsg_set(e, ENOMEM, "out of memory for a RAM chunk");
	}
	int rc = 0;
	for (unsigned s = 0; s < mem->nslots && rc == 0; s++) {
		const struct gmem_slot *sl = &mem->slot[s];
		uint64_t pages = sl->size / PAGE;
		for (uint64_t first = 0; first < pages && rc == 0; first += SNAPFILE_RAM_CHUNK_PAGES) {
			uint64_t n = pages - first < SNAPFILE_RAM_CHUNK_PAGES ? pages - first : SNAPFILE_RAM_CHUNK_PAGES;
			uint64_t nwords = (n + 63) / 64;
			memset(buf, 0, 16 + nwords * 8);
			put_le(buf, sl->gpa + first * PAGE, 8);
			put_le(buf + 8, n, 8);
			uint8_t *bm = buf + 16, *out = buf + 16 + nwords * 8;
			find_untouched(sl->host + first * PAGE, n, untouched);
			for (uint64_t i = 0; i < n; i++) {
				const uint8_t *pg = sl->host + (first + i) * PAGE;
				if (untouched[i] || page_is_zero(pg))
					continue;
				bm[i / 8] |= (uint8_t)(1u << (i % 8));
				memcpy(out, pg, PAGE);
				out += PAGE;
			}
			rc = snapfile_add(w, SNAP_SEC_RAM, "ram", buf, (size_t)(out - buf), true, e);
		}
	}
	free(buf);
	free(untouched);
	return rc;
}

void snapfile_abort(struct snapfile_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0) {
		close(w->fd);
		unlink(w->tmp);
	}
	ZSTD_freeCCtx(w->zctx);
	free(w->zbuf);
	free(w);
}

int snapfile_commit(struct snapfile_writer *w, struct errmsg *e)
{
	int rc = add_stored(w, SNAP_SEC_END, "end", 0, "", 0, 0, e);
	if (rc == 0) {
		uint8_t h[SNAPFILE_HEADER_SIZE] = { 0 };
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(h, MAGIC, 8);
		put_le(h + 8, SNAPFILE_VERSION, 4);
		put_le(h + 12, SNAPFILE_HEADER_SIZE, 4);
		put_le(h + 16, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec, 8);
		memcpy(h + 24, w->build, strlen(w->build));
		put_le(h + 72, w->nsec, 4);
		put_le(h + 76, crc32_update(0, h, 76), 4);
		if (pwrite(w->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || fsync(w->fd) < 0)
			rc = errmsg_set(e, errno ? errno : EIO, "%s: %s", w->tmp, strerror(errno ? errno : EIO));
	}
	if (rc == 0 && close(w->fd) < 0)
		rc = errmsg_set(e, errno, "%s: %s", w->tmp, strerror(errno));
	else if (rc == 0)
		w->fd = -1;
	if (rc == 0 && rename(w->tmp, w->path) < 0) {
		rc = errmsg_set(e, errno, "renaming %s to %s: %s", w->tmp, w->path, strerror(errno));
		unlink(w->tmp);
	}
	snapfile_abort(w);
	return rc;
}

/* ---- reading ---- */

static int parse(struct snapfile *f, const char *path, const char *build_id, struct errmsg *e)
{
	const uint8_t *p = f->map;
	if (f->size < 8 || memcmp(p, MAGIC, 8) != 0)
		return errmsg_set(e, EINVAL, "%s: not a dhyve snapshot (no DHYVSNAP magic)", path);
	if (f->size < SNAPFILE_HEADER_SIZE)
		return errmsg_set(e, EINVAL, "%s: truncated: %zu bytes, the header alone is %d", path, f->size,
				  SNAPFILE_HEADER_SIZE);
	if (get_le(p + 76, 4) != crc32_update(0, p, 76))
		return errmsg_set(e, EINVAL, "%s: damaged: the header fails its CRC", path);
	uint32_t version = (uint32_t)get_le(p + 8, 4);
	if (version != SNAPFILE_VERSION || get_le(p + 12, 4) != SNAPFILE_HEADER_SIZE)
		return errmsg_set(e, EINVAL, "%s: snapshot format version %u, this dhyve reads version %d", path, version,
				  SNAPFILE_VERSION);
	memcpy(f->build, p + 24, SNAPFILE_BUILD_MAX);
	f->build[SNAPFILE_BUILD_MAX] = '\0';
	f->time_ns = get_le(p + 16, 8);
	if (build_id && strcmp(f->build, build_id) != 0)
		return errmsg_set(e, EINVAL, "%s: made by another dhyve build ('%s'; this is '%s'): device and vCPU images may differ",
				  path, f->build, build_id);
	uint32_t nsec = (uint32_t)get_le(p + 72, 4);
	if (nsec == 0 || nsec > (f->size - SNAPFILE_HEADER_SIZE) / SNAPFILE_SECTION_HEADER + 1)
		return errmsg_set(e, EINVAL, "%s: truncated: the header announces %u sections, which %zu bytes cannot hold", path,
				  nsec, f->size);
	f->sec = calloc(nsec, sizeof(*f->sec));
	if (!f->sec)
		return errmsg_set(e, ENOMEM, "out of memory");
	uint64_t off = SNAPFILE_HEADER_SIZE;
	for (uint32_t i = 0; i < nsec; i++) {
		if (f->size - off < SNAPFILE_SECTION_HEADER)
			return errmsg_set(e, EINVAL, "%s: truncated at byte %" PRIu64 ": section %u of %u is missing", path, off,
					  i + 1, nsec);
		const uint8_t *h = p + off;
		if (get_le(h + 60, 4) != crc32_update(0, h, 60))
			return errmsg_set(e, EINVAL, "%s: damaged: the header of section %u (byte %" PRIu64 ") fails its CRC",
					  path, i + 1, off);
		struct snap_section *s = &f->sec[i];
		s->type = (enum snap_section_type)get_le(h, 4);
		s->flags = (uint32_t)get_le(h + 4, 4);
		memcpy(s->name, h + 8, SNAPFILE_NAME_MAX);
		s->name[SNAPFILE_NAME_MAX] = '\0';
		s->stored = get_le(h + 40, 8);
		s->raw = get_le(h + 48, 8);
		s->offset = off + SNAPFILE_SECTION_HEADER;
		if (s->type < SNAP_SEC_CONFIG || s->type > SNAP_SEC_END || (s->flags & ~FLAG_ZSTD) || h[8 + SNAPFILE_NAME_MAX] ||
		    s->raw > RAW_MAX || (!(s->flags & FLAG_ZSTD) && s->raw != s->stored))
			return errmsg_set(e, EINVAL, "%s: section %u ('%s'): unknown type %u or bad sizes", path, i + 1, s->name,
					  (unsigned)s->type);
		if (s->stored > f->size - s->offset)
			return errmsg_set(e, EINVAL, "%s: truncated: section %u ('%s') needs %" PRIu64 " bytes at byte %" PRIu64
					  ", the file has %" PRIu64, path, i + 1, s->name, s->stored, s->offset,
					  (uint64_t)f->size - s->offset);
		if (get_le(h + 56, 4) != crc32_update(0, p + s->offset, s->stored))
			return errmsg_set(e, EINVAL, "%s: damaged: section %u ('%s', byte %" PRIu64 ") fails its CRC", path,
					  i + 1, s->name, s->offset);
		off = s->offset + s->stored;
		if (s->type == SNAP_SEC_END) {
			if (i + 1 != nsec)
				return errmsg_set(e, EINVAL, "%s: damaged: the end marker is section %u of %u", path, i + 1, nsec);
			if (off != f->size)
				return errmsg_set(e, EINVAL, "%s: %zu bytes after the end marker", path, f->size - (size_t)off);
			f->nsec = nsec;
			return 0;
		}
	}
	return errmsg_set(e, EINVAL, "%s: damaged: no end marker after %u sections", path, nsec);
}

int snapfile_open(struct snapfile *f, const char *path, const char *build_id, struct errmsg *e)
{
	memset(f, 0, sizeof(*f));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(e, errno, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errmsg_set(e, EINVAL, "%s: not a regular file", path);
	}
	f->size = (size_t)st.st_size;
	if (f->size == 0) {
		close(fd);
		return errmsg_set(e, EINVAL, "%s: empty file, not a dhyve snapshot", path);
	}
	f->map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f->map == MAP_FAILED) {
		f->map = NULL;
		return errmsg_set(e, errno, "%s: mmap: %s", path, strerror(errno));
	}
	int rc = parse(f, path, build_id, e);
	if (rc < 0)
		snapfile_close(f);
	return rc;
}

void snapfile_close(struct snapfile *f)
{
	if (f->map)
		munmap(f->map, f->size);
	free(f->sec);
	memset(f, 0, sizeof(*f));
}

const struct snap_section *snapfile_find(const struct snapfile *f, enum snap_section_type type, const char *name)
{
	for (unsigned i = 0; i < f->nsec; i++)
		if (f->sec[i].type == type && (!name || strcmp(f->sec[i].name, name) == 0))
			return &f->sec[i];
	return NULL;
}

int snapfile_payload(const struct snapfile *f, const struct snap_section *s, uint8_t **out, size_t *len,
		     struct errmsg *e)
{
	uint8_t *buf = malloc(s->raw + 1);
	if (!buf)
		return errmsg_set(e, ENOMEM, "section '%s': out of memory for %" PRIu64 " bytes", s->name, s->raw);
	const uint8_t *src = (const uint8_t *)f->map + s->offset;
	if (s->flags & FLAG_ZSTD) {
		size_t n = ZSTD_decompress(buf, s->raw, src, s->stored);
		if (ZSTD_isError(n) || n != s->raw) {
			free(buf);
			return errmsg_set(e, EINVAL, "section '%s': does not decompress to its %" PRIu64 " bytes", s->name, s->raw);
		}
	} else {
		memcpy(buf, src, s->raw);
	}
	buf[s->raw] = '\0';
	*out = buf;
	*len = s->raw;
	return 0;
}

static int load_chunk(const struct gmem *mem, uint8_t **covered, bool *untouched, const uint8_t *c, size_t len,
		      struct errmsg *e)
{
	if (len < 16)
		return errmsg_set(e, EINVAL, "RAM section: %zu bytes, shorter than its header", len);
	uint64_t gpa = get_le(c, 8), n = get_le(c + 8, 8);
	uint64_t nwords = (n + 63) / 64;
	if (n == 0 || n > SNAPFILE_RAM_CHUNK_PAGES || gpa % PAGE || len < 16 + nwords * 8)
		return errmsg_set(e, EINVAL, "RAM section at 0x%" PRIx64 ": bad page count %" PRIu64, gpa, n);
	unsigned s = 0;
	while (s < mem->nslots && !(gpa >= mem->slot[s].gpa && gpa - mem->slot[s].gpa < mem->slot[s].size))
		s++;
	if (s == mem->nslots || n * PAGE > mem->slot[s].size - (gpa - mem->slot[s].gpa))
		return errmsg_set(e, EINVAL, "RAM section at 0x%" PRIx64 " (%" PRIu64 " pages) lies outside this VM's RAM", gpa, n);
	const uint8_t *bm = c + 16, *data = c + 16 + nwords * 8;
	uint64_t set = 0;
	for (uint64_t i = 0; i < n; i++)
		set += (bm[i / 8] >> (i % 8)) & 1;
	if (len != 16 + nwords * 8 + set * PAGE)
		return errmsg_set(e, EINVAL, "RAM section at 0x%" PRIx64 ": %zu bytes for %" PRIu64 " pages", gpa, len, set);
	uint64_t first = (gpa - mem->slot[s].gpa) / PAGE;
	find_untouched(mem->slot[s].host + first * PAGE, n, untouched);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pg = first + i;
		if (covered[s][pg / 8] & (1u << (pg % 8)))
			return errmsg_set(e, EINVAL, "RAM page 0x%" PRIx64 " appears twice", gpa + i * PAGE);
		covered[s][pg / 8] |= (uint8_t)(1u << (pg % 8));
		uint8_t *host = mem->slot[s].host + pg * PAGE;
		if ((bm[i / 8] >> (i % 8)) & 1) {
			memcpy(host, data, PAGE);
			data += PAGE;
		} else if (!untouched[i] && !page_is_zero(host)) { /* a fresh VM's pages stay unallocated */
			memset(host, 0, PAGE);
		}
	}
	return 0;
}

int snapfile_load_ram(const struct snapfile *f, const struct gmem *mem, struct errmsg *e)
{
	uint8_t *covered[GMEM_MAX_SLOTS] = { NULL };
	bool *untouched = malloc(SNAPFILE_RAM_CHUNK_PAGES * sizeof(bool));
	int rc = untouched ? 0 : errmsg_set(e, ENOMEM, "out of memory");
	for (unsigned s = 0; s < mem->nslots && rc == 0; s++)
		if (!(covered[s] = calloc(1, mem->slot[s].size / PAGE / 8 + 1)))
			rc = errmsg_set(e, ENOMEM, "out of memory");
	for (unsigned i = 0; i < f->nsec && rc == 0; i++) {
		if (f->sec[i].type != SNAP_SEC_RAM)
			continue;
		uint8_t *buf;
		size_t len;
		rc = snapfile_payload(f, &f->sec[i], &buf, &len, e);
		if (rc == 0) {
			rc = load_chunk(mem, covered, untouched, buf, len, e);
			free(buf);
		}
	}
	for (unsigned s = 0; s < mem->nslots && rc == 0; s++)
		for (uint64_t pg = 0; pg < mem->slot[s].size / PAGE; pg++)
			if (!(covered[s][pg / 8] & (1u << (pg % 8)))) {
				rc = errmsg_set(e, EINVAL, "the snapshot's RAM does not cover 0x%" PRIx64 " (the VM has %" PRIu64
							   " MiB; was it made with another -m?)",
						mem->slot[s].gpa + pg * PAGE, mem->ram_size >> 20);
				break;
			}
	for (unsigned s = 0; s < mem->nslots; s++)
		free(covered[s]);
	free(untouched);
	return rc;
}
