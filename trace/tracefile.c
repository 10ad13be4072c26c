/* Trace files (docs/trace-format.md): the writer, and a reader that trusts nothing: every count
 * is checked against the bytes that remain before anything is allocated from it. */
#include "trace/tracefile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crc32.h"

/* Sizes and magics of docs/trace-format.md. Section magics are four ASCII letters read as a
 * little-endian u32, so a hex dump shows the letters. */
#define FILE_MAGIC "DHYVTRC\n"
#define HEADER_SIZE 72
#define RECORD_SIZE 48
#define VCPU_HEADER_SIZE 32
#define INSN_HEADER_SIZE 16
#define INSN_SIZE 32
#define TRAILER_SIZE 8
#define MAGIC_VCPU 0x55504356u /* "VCPU" */
#define MAGIC_INSN 0x4e534e49u /* "INSN" */
#define MAGIC_TEND 0x444e4554u /* "TEND" */
#define MODE_MAX VCPU_MODE_LONG64

/* ---- little-endian fields: explicit bytes, so the format does not depend on the host ---- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static void encode_record(const struct trace_record *r, uint8_t *p)
{
	put64(p + 0, r->time_ns);
	put64(p + 8, r->rip);
	put64(p + 16, r->addr);
	put64(p + 24, r->value);
	put32(p + 32, r->handle_ns);
	put32(p + 36, r->count);
	p[40] = r->kind;
	p[41] = r->size;
	p[42] = r->is_write;
	p[43] = r->cpl;
	p[44] = r->mode;
	p[45] = r->vcpu;
	put16(p + 46, r->kvm_reason);
}

static void decode_record(const uint8_t *p, struct trace_record *r)
{
	r->time_ns = get64(p + 0);
	r->rip = get64(p + 8);
	r->addr = get64(p + 16);
	r->value = get64(p + 24);
	r->handle_ns = get32(p + 32);
	r->count = get32(p + 36);
	r->kind = p[40];
	r->size = p[41];
	r->is_write = p[42];
	r->cpl = p[43];
	r->mode = p[44];
	r->vcpu = p[45];
	r->kvm_reason = get16(p + 46);
}

static void encode_insn(const struct trace_insn *in, uint8_t *p)
{
	memset(p, 0, INSN_SIZE);
	put64(p, in->rip);
	p[8] = in->mode;
	p[9] = in->len;
	memcpy(p + 10, in->bytes, in->len); /* bytes past len stay zero: files are reproducible */
}

/* ---- the checks both sides share, so the writer never writes what the reader refuses ---- */

static int insn_before(const struct trace_insn *a, const struct trace_insn *b)
{
	return a->rip < b->rip || (a->rip == b->rip && a->mode < b->mode);
}

static int check_record(const struct trace_record *r, uint32_t index, uint64_t k, size_t off, struct errmsg *e)
{
	if (r->kind >= VMEXIT__COUNT)
		return errmsg_set(e, EINVAL, "vCPU %" PRIu32 " record %" PRIu64 " at offset 0x%zx: exit kind %u is unknown (corrupt?)",
				  index, k, off, r->kind);
	if (r->mode > MODE_MAX)
		return errmsg_set(e, EINVAL, "vCPU %" PRIu32 " record %" PRIu64 " at offset 0x%zx: CPU mode %u is not 0-3",
				  index, k, off, r->mode);
	if (r->vcpu != index)
		return errmsg_set(e, EINVAL, "vCPU %" PRIu32 " record %" PRIu64 " at offset 0x%zx: names vCPU %u",
				  index, k, off, r->vcpu);
	return 0;
}

static int check_insn(const struct trace_insn *in, const struct trace_insn *prev, uint32_t k, size_t off,
		      struct errmsg *e)
{
	if (in->mode > MODE_MAX)
		return errmsg_set(e, EINVAL, "instruction %" PRIu32 " at offset 0x%zx: CPU mode %u is not 0-3", k, off, in->mode);
	if (in->len > TRACE_INSN_MAX)
		return errmsg_set(e, EINVAL, "instruction %" PRIu32 " at offset 0x%zx: length %u exceeds %d", k, off, in->len,
				  TRACE_INSN_MAX);
	if (prev && !insn_before(prev, in))
		return errmsg_set(e, EINVAL,
				  "instruction %" PRIu32 " at offset 0x%zx (rip 0x%" PRIx64 ", mode %u) does not follow rip 0x%" PRIx64
				  ", mode %u: the table must be sorted by rip and mode, without duplicates",
				  k, off, in->rip, in->mode, prev->rip, prev->mode);
	return 0;
}

/* Offsets in the writer's messages are where the item would be in the file. */
static int check_data(const struct trace_data *d, struct errmsg *e)
{
	if (d->nvcpus > TRACEFILE_MAX_VCPUS)
		return errmsg_set(e, EINVAL, "%" PRIu32 " vCPUs, a trace file holds at most %d", d->nvcpus, TRACEFILE_MAX_VCPUS);
	if (memchr(d->vm_name, 0, sizeof(d->vm_name)) == NULL)
		return errmsg_set(e, EINVAL, "VM name is not NUL-terminated within 32 bytes");
	size_t off = HEADER_SIZE;
	for (uint32_t i = 0; i < d->nvcpus; i++) {
		const struct trace_vcpu_data *v = &d->vcpus[i];
		if (v->index >= TRACEFILE_MAX_VCPUS || (i > 0 && v->index <= d->vcpus[i - 1].index))
			return errmsg_set(e, EINVAL, "vCPU section #%" PRIu32 ": index %" PRIu32 " is not above the previous one and below %d",
					  i, v->index, TRACEFILE_MAX_VCPUS);
		off += VCPU_HEADER_SIZE;
		for (uint64_t k = 0; k < v->nrecords; k++, off += RECORD_SIZE) {
			int rc = check_record(&v->records[k], v->index, k, off, e);
			if (rc < 0)
				return rc;
		}
	}
	off += INSN_HEADER_SIZE;
	for (uint32_t k = 0; k < d->ninsns; k++, off += INSN_SIZE) {
		int rc = check_insn(&d->insns[k], k ? &d->insns[k - 1] : NULL, k, off, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- writing ---- */

/* A FILE that also keeps the CRC of everything written, for the trailer. */
struct writer {
	FILE *f;
	uint32_t crc;
	int err; /* first errno */
};

static void emit(struct writer *w, const void *p, size_t n)
{
	if (w->err)
		return;
	if (fwrite(p, 1, n, w->f) != n)
		w->err = errno ? errno : EIO;
	w->crc = crc32_update(w->crc, p, n);
}

static void emit_header(struct writer *w, const struct trace_data *d)
{
	uint8_t h[HEADER_SIZE] = { 0 };
	memcpy(h, FILE_MAGIC, 8);
	put32(h + 8, TRACEFILE_VERSION);
	put32(h + 12, HEADER_SIZE);
	put32(h + 16, RECORD_SIZE);
	put32(h + 20, d->nvcpus);
	put32(h + 24, d->ninsns);
	put64(h + 32, d->dump_ns);
	memcpy(h + 40, d->vm_name, strnlen(d->vm_name, sizeof(d->vm_name)));
	emit(w, h, sizeof(h));
}

/* The section header carries the records' CRC, so they are encoded twice: once to sum, once to
 * write. Cheaper than holding a copy of up to gigabytes of records. */
static void emit_vcpu(struct writer *w, const struct trace_vcpu_data *v)
{
	uint8_t rec[RECORD_SIZE];
	uint32_t crc = 0;
	for (uint64_t k = 0; k < v->nrecords; k++) {
		encode_record(&v->records[k], rec);
		crc = crc32_update(crc, rec, sizeof(rec));
	}
	uint8_t h[VCPU_HEADER_SIZE] = { 0 };
	put32(h, MAGIC_VCPU);
	put32(h + 4, v->index);
	put64(h + 8, v->lost);
	put64(h + 16, v->nrecords);
	put32(h + 24, crc);
	emit(w, h, sizeof(h));
	for (uint64_t k = 0; k < v->nrecords; k++) {
		encode_record(&v->records[k], rec);
		emit(w, rec, sizeof(rec));
	}
}

static void emit_insns(struct writer *w, const struct trace_data *d)
{
	uint8_t ent[INSN_SIZE];
	uint32_t crc = 0;
	for (uint32_t k = 0; k < d->ninsns; k++) {
		encode_insn(&d->insns[k], ent);
		crc = crc32_update(crc, ent, sizeof(ent));
	}
	uint8_t h[INSN_HEADER_SIZE] = { 0 };
	put32(h, MAGIC_INSN);
	put32(h + 4, d->ninsns);
	put32(h + 8, crc);
	emit(w, h, sizeof(h));
	for (uint32_t k = 0; k < d->ninsns; k++) {
		encode_insn(&d->insns[k], ent);
		emit(w, ent, sizeof(ent));
	}
}

static int emit_file(FILE *f, const struct trace_data *d)
{
	struct writer w = { .f = f };
	emit_header(&w, d);
	for (uint32_t i = 0; i < d->nvcpus; i++)
		emit_vcpu(&w, &d->vcpus[i]);
	emit_insns(&w, d);
	uint8_t t[TRAILER_SIZE];
	put32(t, MAGIC_TEND);
	put32(t + 4, w.crc);
	emit(&w, t, sizeof(t));
	if (!w.err && fflush(f) != 0)
		w.err = errno;
	/* Durable before the rename makes it visible: a crash must not leave a short file in place. */
	if (!w.err && fsync(fileno(f)) != 0)
		w.err = errno;
	return w.err;
}

int tracefile_write(const char *path, const struct trace_data *d, struct errmsg *e)
{
	int rc = check_data(d, e);
	if (rc < 0)
		return rc;
	char tmp[4096];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return errmsg_set(e, ENAMETOOLONG, "trace file name is too long");
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return errmsg_set(e, errno, "cannot create %s: %s", tmp, strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int err = errno;
		close(fd);
		unlink(tmp);
		return errmsg_set(e, err, "cannot write %s: %s", tmp, strerror(err));
	}
	int err = emit_file(f, d);
	if (fclose(f) != 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) != 0) {
		err = errno;
		unlink(tmp);
		return errmsg_set(e, err, "cannot rename %s to %s: %s", tmp, path, strerror(err));
	}
	if (err) {
		unlink(tmp);
		return errmsg_set(e, err, "cannot write %s: %s", tmp, strerror(err));
	}
	return 0;
}

/* ---- reading ---- */

/* Where the parser is; every read first checks that the bytes are there. */
struct cursor {
	const uint8_t *buf;
	size_t len;
	size_t off;
};

static size_t remaining(const struct cursor *c) { return c->len - c->off; }

/* Fills the header fields of d; returns nvcpus and ninsns through the pointers. */
static int parse_header(struct cursor *c, struct trace_data *d, uint32_t *ninsns, struct errmsg *e)
{
	const uint8_t *h = c->buf;
	if (c->len == 0)
		return errmsg_set(e, EINVAL, "empty file: not a dhyve trace file");
	if (c->len < 8 || memcmp(h, FILE_MAGIC, 8) != 0)
		return errmsg_set(e, EINVAL, "not a dhyve trace file: no \"DHYVTRC\\n\" magic at offset 0x0");
	if (c->len < 12)
		return errmsg_set(e, EINVAL, "header truncated at offset 0x%zx: the file is %zu bytes, the header needs %d (truncated?)",
				  c->len, c->len, HEADER_SIZE);
	uint32_t version = get32(h + 8);
	if (version != TRACEFILE_VERSION)
		return errmsg_set(e, EINVAL, "trace file version %" PRIu32 ", this dhyve reads version %d", version, TRACEFILE_VERSION);
	if (c->len < HEADER_SIZE)
		return errmsg_set(e, EINVAL, "header truncated at offset 0x%zx: the file is %zu bytes, the header needs %d (truncated?)",
				  c->len, c->len, HEADER_SIZE);
	if (get32(h + 12) != HEADER_SIZE)
		return errmsg_set(e, EINVAL, "header size %" PRIu32 " at offset 0xc, version 1 headers are %d bytes", get32(h + 12),
				  HEADER_SIZE);
	if (get32(h + 16) != RECORD_SIZE)
		return errmsg_set(e, EINVAL, "record size %" PRIu32 " at offset 0x10, version 1 records are %d bytes", get32(h + 16),
				  RECORD_SIZE);
	d->nvcpus = get32(h + 20);
	if (d->nvcpus > TRACEFILE_MAX_VCPUS)
		return errmsg_set(e, EINVAL, "header at offset 0x14 claims %" PRIu32 " vCPUs, at most %d are possible (corrupt?)",
				  d->nvcpus, TRACEFILE_MAX_VCPUS);
	*ninsns = get32(h + 24);
	d->dump_ns = get64(h + 32);
	if (memchr(h + 40, 0, 32) == NULL)
		return errmsg_set(e, EINVAL, "VM name at offset 0x28 is not NUL-terminated within 32 bytes (corrupt?)");
	memcpy(d->vm_name, h + 40, 32);
	c->off = HEADER_SIZE;
	return 0;
}

static int parse_records(struct cursor *c, struct trace_vcpu_data *v, uint32_t crc, struct errmsg *e)
{
	const uint8_t *p = c->buf + c->off;
	size_t bytes = (size_t)v->nrecords * RECORD_SIZE;
	if (crc32_update(0, p, bytes) != crc)
		return errmsg_set(e, EINVAL, "records of vCPU %" PRIu32 " at offset 0x%zx fail their checksum (corrupt)", v->index,
				  c->off);
	if (v->nrecords == 0)
		return 0;
	v->records = malloc(bytes / RECORD_SIZE * sizeof(*v->records));
	if (!v->records)
		return errmsg_set(e, ENOMEM, "out of memory for %" PRIu64 " records of vCPU %" PRIu32, v->nrecords, v->index);
	for (uint64_t k = 0; k < v->nrecords; k++) {
		decode_record(p + k * RECORD_SIZE, &v->records[k]);
		int rc = check_record(&v->records[k], v->index, k, c->off + k * RECORD_SIZE, e);
		if (rc < 0)
			return rc;
	}
	c->off += bytes;
	return 0;
}

/* Section ordinal i (#i) names the section until its index field has been checked. */
static int parse_vcpu(struct cursor *c, uint32_t i, struct trace_data *d, struct errmsg *e)
{
	size_t at = c->off;
	if (remaining(c) < VCPU_HEADER_SIZE)
		return errmsg_set(e, EINVAL, "vCPU section #%" PRIu32 " at offset 0x%zx: header truncated, %zu of %d bytes (truncated?)",
				  i, at, remaining(c), VCPU_HEADER_SIZE);
	const uint8_t *h = c->buf + at;
	if (get32(h) != MAGIC_VCPU)
		return errmsg_set(e, EINVAL, "vCPU section #%" PRIu32 " at offset 0x%zx: magic 0x%08" PRIx32 ", expected 0x%08x (\"VCPU\")",
				  i, at, get32(h), MAGIC_VCPU);
	struct trace_vcpu_data *v = &d->vcpus[i];
	v->index = get32(h + 4);
	if (v->index >= TRACEFILE_MAX_VCPUS || (i > 0 && v->index <= d->vcpus[i - 1].index))
		return errmsg_set(e, EINVAL, "vCPU section #%" PRIu32 " at offset 0x%zx: index %" PRIu32 " is not above the previous one and below %d",
				  i, at, v->index, TRACEFILE_MAX_VCPUS);
	v->lost = get64(h + 8);
	v->nrecords = get64(h + 16);
	c->off += VCPU_HEADER_SIZE;
	if (v->nrecords > remaining(c) / RECORD_SIZE) {
		uint64_t claimed = v->nrecords;
		v->nrecords = 0; /* nothing was allocated for them */
		return errmsg_set(e, EINVAL, "vCPU %" PRIu32 " section at offset 0x%zx: claims %" PRIu64 " records but only %zu bytes remain (truncated?)",
				  v->index, at, claimed, remaining(c));
	}
	return parse_records(c, v, get32(h + 24), e);
}

static int parse_insns(struct cursor *c, uint32_t header_count, struct trace_data *d, struct errmsg *e)
{
	size_t at = c->off;
	if (remaining(c) < INSN_HEADER_SIZE)
		return errmsg_set(e, EINVAL, "instruction table at offset 0x%zx: header truncated, %zu of %d bytes (truncated?)", at,
				  remaining(c), INSN_HEADER_SIZE);
	const uint8_t *h = c->buf + at;
	if (get32(h) != MAGIC_INSN)
		return errmsg_set(e, EINVAL, "instruction table at offset 0x%zx: magic 0x%08" PRIx32 ", expected 0x%08x (\"INSN\")", at,
				  get32(h), MAGIC_INSN);
	uint32_t n = get32(h + 4);
	if (n != header_count)
		return errmsg_set(e, EINVAL, "instruction table at offset 0x%zx: %" PRIu32 " entries, the file header says %" PRIu32 " (corrupt?)",
				  at, n, header_count);
	c->off += INSN_HEADER_SIZE;
	if (n > remaining(c) / INSN_SIZE)
		return errmsg_set(e, EINVAL, "instruction table at offset 0x%zx: claims %" PRIu32 " entries but only %zu bytes remain (truncated?)",
				  at, n, remaining(c));
	const uint8_t *p = c->buf + c->off;
	if (crc32_update(0, p, (size_t)n * INSN_SIZE) != get32(h + 8))
		return errmsg_set(e, EINVAL, "instruction table at offset 0x%zx fails its checksum (corrupt)", at);
	if (n == 0)
		return 0;
	d->insns = calloc(n, sizeof(*d->insns));
	if (!d->insns)
		return errmsg_set(e, ENOMEM, "out of memory for %" PRIu32 " instructions", n);
	for (uint32_t k = 0; k < n; k++, p += INSN_SIZE) {
		struct trace_insn *in = &d->insns[k];
		in->rip = get64(p);
		in->mode = p[8];
		in->len = p[9];
		d->ninsns = k + 1; /* counted as they are filled, so a failure frees what exists */
		int rc = check_insn(in, k ? &d->insns[k - 1] : NULL, k, c->off + (size_t)k * INSN_SIZE, e);
		if (rc < 0)
			return rc;
		memcpy(in->bytes, p + 10, in->len);
	}
	c->off += (size_t)n * INSN_SIZE;
	return 0;
}

static int parse_trailer(struct cursor *c, struct errmsg *e)
{
	size_t at = c->off;
	if (remaining(c) < TRAILER_SIZE)
		return errmsg_set(e, EINVAL, "trailer at offset 0x%zx truncated: %zu of %d bytes (truncated?)", at, remaining(c),
				  TRAILER_SIZE);
	const uint8_t *t = c->buf + at;
	if (get32(t) != MAGIC_TEND)
		return errmsg_set(e, EINVAL, "trailer at offset 0x%zx: magic 0x%08" PRIx32 ", expected 0x%08x (\"TEND\")", at, get32(t),
				  MAGIC_TEND);
	if (crc32_update(0, c->buf, at) != get32(t + 4))
		return errmsg_set(e, EINVAL,
				  "file checksum in the trailer at offset 0x%zx does not match: the file header or a section header is corrupt",
				  at);
	c->off += TRAILER_SIZE;
	if (remaining(c) > 0)
		return errmsg_set(e, EINVAL, "%zu bytes of trailing garbage at offset 0x%zx, after the trailer", remaining(c), c->off);
	return 0;
}

int tracefile_parse(const uint8_t *buf, size_t len, struct trace_data *d, struct errmsg *e)
{
	memset(d, 0, sizeof(*d));
	struct cursor c = { .buf = buf, .len = len };
	uint32_t ninsns = 0;
	int rc = parse_header(&c, d, &ninsns, e);
	if (rc < 0) {
		memset(d, 0, sizeof(*d));
		return rc;
	}
	if (d->nvcpus > 0 && !(d->vcpus = calloc(d->nvcpus, sizeof(*d->vcpus)))) {
		memset(d, 0, sizeof(*d));
		return errmsg_set(e, ENOMEM, "out of memory for %" PRIu32 " vCPUs", d->nvcpus);
	}
	for (uint32_t i = 0; i < d->nvcpus && rc == 0; i++)
		rc = parse_vcpu(&c, i, d, e);
	if (rc == 0)
		rc = parse_insns(&c, ninsns, d, e);
	if (rc == 0)
		rc = parse_trailer(&c, e);
	if (rc < 0)
		trace_data_free(d);
	return rc;
}

/* Reads to the end rather than trusting st_size, so pipes (and files that grow) work too. */
static int read_all(int fd, uint8_t **out, size_t *outlen)
{
	struct stat st;
	size_t cap = 1 << 16, len = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < SIZE_MAX / 2)
		cap = (size_t)st.st_size + 1;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return ENOMEM;
	for (;;) {
		if (len == cap) {
			uint8_t *nb = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
			if (!nb) {
				free(buf);
				return ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			free(buf);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

int tracefile_read(const char *path, struct trace_data *d, struct errmsg *e)
{
	memset(d, 0, sizeof(*d));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(e, errno, "%s", strerror(errno));
	uint8_t *buf = NULL;
	size_t len = 0;
	int err = read_all(fd, &buf, &len);
	close(fd);
	if (err)
		return errmsg_set(e, err, "cannot read: %s", strerror(err));
	int rc = tracefile_parse(buf, len, d, e);
	free(buf);
	return rc;
}

void trace_data_free(struct trace_data *d)
{
	if (d->vcpus)
		for (uint32_t i = 0; i < d->nvcpus; i++)
			free(d->vcpus[i].records);
	free(d->vcpus);
	free(d->insns);
	memset(d, 0, sizeof(*d));
}

const struct trace_insn *trace_data_find_insn(const struct trace_data *d, uint64_t rip, uint8_t mode)
{
	const struct trace_insn key = { .rip = rip, .mode = mode };
	size_t lo = 0, hi = d->ninsns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (insn_before(&d->insns[mid], &key))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < d->ninsns && d->insns[lo].rip == rip && d->insns[lo].mode == mode)
		return &d->insns[lo];
	return NULL;
}
