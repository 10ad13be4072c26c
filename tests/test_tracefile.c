/* Trace files: a round trip through a real file, and the reader's refusal of every kind of
 * damage (empty, foreign, other version, truncated anywhere, flipped bytes, lying counts). */
#include <dirent.h>
#include <errno.h>
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

#include "base/crc32.h"
#include "trace/tracefile.h"

/* The sample's layout, for tests that damage one part: header 72, vCPU 0 header at 0x48 and
 * 5 records at 0x68, vCPU 1 header at 0x158 and 3 records at 0x178, instruction table header at
 * 0x208 and 3 entries at 0x218, trailer at 0x278; 0x280 bytes in all. */
#define OFF_VCPU0 0x48
#define OFF_RECS0 0x68
#define OFF_VCPU1 0x158
#define OFF_RECS1 0x178
#define OFF_INSN 0x208
#define OFF_ENTRIES 0x218
#define OFF_TRAILER 0x278
#define FILE_SIZE 0x280

static struct trace_record recs0[5], recs1[3];
static struct trace_vcpu_data vcpus[2];
static struct trace_insn insns[3];

static struct trace_record rec(uint8_t vcpu, uint8_t kind, uint64_t t, uint64_t rip, uint64_t addr, uint32_t ns)
{
	return (struct trace_record){ .time_ns = t, .rip = rip, .addr = addr, .value = 0x41 + t, .handle_ns = ns, .count = 1,
				      .kind = kind, .size = 1, .is_write = (uint8_t)(t & 1), .cpl = 0, .mode = VCPU_MODE_LONG64,
				      .vcpu = vcpu, .kvm_reason = 2 };
}

static struct trace_data sample(void)
{
	for (unsigned i = 0; i < 5; i++)
		recs0[i] = rec(0, i % 2 ? VMEXIT_MMIO : VMEXIT_PIO, 1000 + i * 100, 0xffffffff81000000ull + i % 3, 0x3f8 + i, 500 + i);
	for (unsigned i = 0; i < 3; i++)
		recs1[i] = rec(1, VMEXIT_HLT, 1050 + i * 100, 0x1000, 0, 20000);
	vcpus[0] = (struct trace_vcpu_data){ .index = 0, .lost = 7, .nrecords = 5, .records = recs0 };
	vcpus[1] = (struct trace_vcpu_data){ .index = 1, .lost = 0, .nrecords = 3, .records = recs1 };
	insns[0] = (struct trace_insn){ .rip = 0x1000, .mode = VCPU_MODE_LONG64, .len = 1, .bytes = { 0xf4 } };
	insns[1] = (struct trace_insn){ .rip = 0xffffffff81000000ull, .mode = VCPU_MODE_LONG64, .len = 1, .bytes = { 0xee } };
	insns[2] = (struct trace_insn){ .rip = 0xffffffff81000001ull, .mode = VCPU_MODE_LONG64, .len = 0 };
	struct trace_data d = { .dump_ns = 123456789, .nvcpus = 2, .vcpus = vcpus, .ninsns = 3, .insns = insns };
	snprintf(d.vm_name, sizeof(d.vm_name), "testvm");
	return d;
}

/* ---- files ---- */

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/dhyve-tracefile.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *path_in_dir(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static unsigned files_in(const char *d)
{
	DIR *h = opendir(d);
	unsigned n = 0;
	for (struct dirent *de; h && (de = readdir(h));)
		n += de->d_name[0] != '.';
	if (h)
		closedir(h);
	return n;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	static uint8_t buf[1 << 16];
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	uint8_t *copy = malloc(*len + 64);
	assert_non_null(copy);
	memcpy(copy, buf, *len);
	return copy;
}

/* The sample as file bytes, through tracefile_write. */
static uint8_t *sample_bytes(size_t *len)
{
	struct trace_data d = sample();
	struct errmsg e = { "" };
	const char *p = path_in_dir("sample.trace");
	assert_int_equal(tracefile_write(p, &d, &e), 0);
	uint8_t *b = slurp(p, len);
	unlink(p);
	assert_int_equal(*len, FILE_SIZE);
	return b;
}

static uint32_t get32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Recomputes every checksum after a deliberate change, so the change reaches the later checks. */
static void fix_crcs(uint8_t *b)
{
	size_t off = 72;
	for (uint32_t i = 0; i < get32(b + 20); i++) {
		size_t n = get32(b + off + 16); /* the sample's counts fit 32 bits */
		put32(b + off + 24, crc32_update(0, b + off + 32, n * 48));
		off += 32 + n * 48;
	}
	size_t n = get32(b + off + 4);
	put32(b + off + 8, crc32_update(0, b + off + 16, n * 32));
	off += 16 + n * 32;
	put32(b + off + 4, crc32_update(0, b, off));
}

/* Parses and expects a refusal whose message contains want; d must come back empty. */
static void expect_refusal(const uint8_t *b, size_t len, const char *want)
{
	struct trace_data d;
	struct errmsg e = { "" };
	int rc = tracefile_parse(b, len, &d, &e);
	if (rc >= 0 || !strstr(e.text, want))
		fail_msg("parse of %zu bytes: rc %d, message \"%s\", wanted \"%s\"", len, rc, e.text, want);
	assert_null(d.vcpus);
	assert_null(d.insns);
	assert_int_equal(d.nvcpus, 0);
}

/* ---- tests ---- */

static void test_crc32_is_standard(void **state)
{
	(void)state;
	assert_int_equal(crc32_update(0, "123456789", 9), 0xCBF43926u);
	assert_int_equal(crc32_update(crc32_update(0, "1234", 4), "56789", 5), 0xCBF43926u);
	assert_int_equal(crc32_update(0, "", 0), 0);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct trace_data w = sample(), r;
	struct errmsg e = { "" };
	const char *p = path_in_dir("rt.trace");
	assert_int_equal(tracefile_write(p, &w, &e), 0);
	assert_int_equal(files_in(dir), 1); /* no temporary file left */
	assert_int_equal(tracefile_read(p, &r, &e), 0);
	assert_string_equal(r.vm_name, "testvm");
	assert_int_equal(r.dump_ns, w.dump_ns);
	assert_int_equal(r.nvcpus, 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(r.vcpus[i].index, w.vcpus[i].index);
		assert_int_equal(r.vcpus[i].lost, w.vcpus[i].lost);
		assert_int_equal(r.vcpus[i].nrecords, w.vcpus[i].nrecords);
		assert_memory_equal(r.vcpus[i].records, w.vcpus[i].records, w.vcpus[i].nrecords * sizeof(struct trace_record));
	}
	assert_int_equal(r.ninsns, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(r.insns[i].rip, w.insns[i].rip);
		assert_int_equal(r.insns[i].mode, w.insns[i].mode);
		assert_int_equal(r.insns[i].len, w.insns[i].len);
		assert_memory_equal(r.insns[i].bytes, w.insns[i].bytes, TRACE_INSN_MAX);
	}
	const struct trace_insn *in = trace_data_find_insn(&r, 0xffffffff81000000ull, VCPU_MODE_LONG64);
	assert_non_null(in);
	assert_int_equal(in->bytes[0], 0xee);
	assert_null(trace_data_find_insn(&r, 0xffffffff81000000ull, VCPU_MODE_PROT32));
	assert_null(trace_data_find_insn(&r, 0x999, VCPU_MODE_LONG64));
	trace_data_free(&r);
	assert_null(r.vcpus);
	unlink(p);
}

static void test_round_trip_empty(void **state)
{
	(void)state;
	struct trace_data w = { .dump_ns = 1 }, r;
	struct errmsg e = { "" };
	const char *p = path_in_dir("empty.trace");
	assert_int_equal(tracefile_write(p, &w, &e), 0);
	assert_int_equal(tracefile_read(p, &r, &e), 0);
	assert_int_equal(r.nvcpus, 0);
	assert_int_equal(r.ninsns, 0);
	assert_string_equal(r.vm_name, "");
	trace_data_free(&r);
	unlink(p);
}

static void test_write_replaces_atomically(void **state)
{
	(void)state;
	struct trace_data w = sample(), r;
	struct errmsg e = { "" };
	const char *p = path_in_dir("replace.trace");
	assert_int_equal(tracefile_write(p, &w, &e), 0);
	snprintf(w.vm_name, sizeof(w.vm_name), "second");
	assert_int_equal(tracefile_write(p, &w, &e), 0);
	assert_int_equal(tracefile_read(p, &r, &e), 0);
	assert_string_equal(r.vm_name, "second");
	trace_data_free(&r);
	assert_int_equal(files_in(dir), 1);
	unlink(p);
}

static void test_write_to_missing_dir_leaves_nothing(void **state)
{
	(void)state;
	struct trace_data w = sample();
	struct errmsg e = { "" };
	char p[128];
	snprintf(p, sizeof(p), "%s/no/such/dir/x.trace", dir);
	assert_true(tracefile_write(p, &w, &e) < 0);
	assert_non_null(strstr(e.text, "cannot create"));
	assert_non_null(strstr(e.text, "No such file or directory"));
	assert_int_equal(files_in(dir), 0);
}

static void test_write_refuses_what_readers_refuse(void **state)
{
	(void)state;
	struct errmsg e = { "" };
	const char *p = path_in_dir("bad.trace");
	struct trace_data w = sample();
	insns[1].rip = 0x10; /* now below insns[0] */
	assert_true(tracefile_write(p, &w, &e) < 0);
	assert_non_null(strstr(e.text, "sorted"));
	w = sample();
	recs1[2].kind = 99;
	assert_true(tracefile_write(p, &w, &e) < 0);
	assert_non_null(strstr(e.text, "exit kind 99 is unknown"));
	w = sample();
	w.nvcpus = TRACEFILE_MAX_VCPUS + 1;
	assert_true(tracefile_write(p, &w, &e) < 0);
	w = sample();
	memset(w.vm_name, 'x', sizeof(w.vm_name));
	assert_true(tracefile_write(p, &w, &e) < 0);
	assert_int_equal(files_in(dir), 0);
}

static void test_read_missing_and_empty_files(void **state)
{
	(void)state;
	struct trace_data d;
	struct errmsg e = { "" };
	assert_int_equal(tracefile_read(path_in_dir("missing"), &d, &e), -ENOENT);
	assert_non_null(strstr(e.text, "No such file"));
	FILE *f = fopen(path_in_dir("empty"), "w");
	assert_non_null(f);
	fclose(f);
	assert_true(tracefile_read(path_in_dir("empty"), &d, &e) < 0);
	assert_non_null(strstr(e.text, "empty file"));
	assert_true(tracefile_read(dir, &d, &e) < 0); /* a directory */
	unlink(path_in_dir("empty"));
	expect_refusal((const uint8_t *)"", 0, "empty file");
}

static void test_wrong_magic_and_version(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = sample_bytes(&len);
	b[0] = 'X';
	expect_refusal(b, len, "not a dhyve trace file");
	b[0] = 'D';
	put32(b + 8, 2);
	expect_refusal(b, len, "trace file version 2, this dhyve reads version 1");
	put32(b + 8, 1);
	put32(b + 12, 80);
	expect_refusal(b, len, "header size 80 at offset 0xc");
	put32(b + 12, 72);
	put32(b + 16, 40);
	expect_refusal(b, len, "record size 40 at offset 0x10");
	free(b);
}

static void test_truncated_at_every_length(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = sample_bytes(&len);
	for (size_t n = 0; n < len; n++) {
		/* A copy of exactly n bytes, so valgrind sees any read past the end. */
		uint8_t *t = malloc(n ? n : 1);
		memcpy(t, b, n);
		struct trace_data d;
		struct errmsg e = { "" };
		if (tracefile_parse(t, n, &d, &e) >= 0)
			fail_msg("a file cut to %zu of %zu bytes was accepted", n, len);
		assert_true(e.text[0] != '\0');
		assert_null(d.vcpus);
		free(t);
	}
	expect_refusal(b, OFF_RECS0 + 10, "vCPU 0 section at offset 0x48: claims 5 records but only 10 bytes remain (truncated?)");
	expect_refusal(b, OFF_VCPU1 + 4, "vCPU section #1 at offset 0x158: header truncated");
	expect_refusal(b, OFF_ENTRIES + 40, "instruction table at offset 0x208: claims 3 entries but only 40 bytes remain");
	expect_refusal(b, OFF_TRAILER + 5, "trailer at offset 0x278 truncated");
	expect_refusal(b, 40, "header truncated");
	free(b);
}

static void test_flipped_byte_in_each_section(void **state)
{
	(void)state;
	static const struct {
		size_t off;
		const char *want;
	} cases[] = {
		{ 35, "file checksum in the trailer at offset 0x278 does not match" },    /* dump_ns */
		{ 44, "file checksum in the trailer" },                                   /* vm_name */
		{ OFF_VCPU0 + 9, "file checksum in the trailer" },                        /* vCPU 0 lost */
		{ OFF_RECS0 + 50, "records of vCPU 0 at offset 0x68 fail their checksum (corrupt)" },
		{ OFF_RECS1 + 3, "records of vCPU 1 at offset 0x178 fail their checksum (corrupt)" },
		{ OFF_INSN + 12, "file checksum in the trailer" },                        /* reserved */
		{ OFF_ENTRIES + 40, "instruction table at offset 0x208 fails its checksum (corrupt)" },
		{ OFF_TRAILER + 1, "trailer at offset 0x278: magic" },
		{ OFF_TRAILER + 6, "file checksum in the trailer" },
	};
	size_t len;
	uint8_t *b = sample_bytes(&len);
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b[cases[i].off] ^= 0x10;
		expect_refusal(b, len, cases[i].want);
		b[cases[i].off] ^= 0x10;
	}
	/* Every byte is covered by some check: no single flip goes unnoticed. */
	for (size_t off = 0; off < len; off++) {
		struct trace_data d;
		struct errmsg e = { "" };
		b[off] ^= 0x01;
		if (tracefile_parse(b, len, &d, &e) >= 0)
			fail_msg("a flipped bit at offset 0x%zx was accepted", off);
		b[off] ^= 0x01;
	}
	free(b);
}

static void test_counts_larger_than_the_file(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = sample_bytes(&len);
	put32(b + OFF_VCPU0 + 16, 1000);
	expect_refusal(b, len, "vCPU 0 section at offset 0x48: claims 1000 records but only 536 bytes remain (truncated?)");
	put32(b + OFF_VCPU0 + 20, 0x80000000u); /* the high half of the u64: 2^63 + 1000 */
	expect_refusal(b, len, "claims 9223372036854776808 records");
	free(b);
	b = sample_bytes(&len);
	put32(b + 24, 0x7fffffff);
	put32(b + OFF_INSN + 4, 0x7fffffff);
	expect_refusal(b, len, "instruction table at offset 0x208: claims 2147483647 entries but only 104 bytes remain");
	put32(b + 24, 3);
	expect_refusal(b, len, "2147483647 entries, the file header says 3");
	put32(b + 20, 300);
	expect_refusal(b, len, "header at offset 0x14 claims 300 vCPUs");
	put32(b + 20, 3); /* one section more than there are */
	expect_refusal(b, len, "vCPU section #2 at offset 0x208: magic 0x4e534e49, expected 0x55504356");
	free(b);
}

static void test_bad_contents_with_good_checksums(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = sample_bytes(&len);
	uint8_t *e0 = b + OFF_ENTRIES, *e1 = e0 + 32, swap[32];
	memcpy(swap, e0, 32);
	memcpy(e0, e1, 32);
	memcpy(e1, swap, 32);
	fix_crcs(b);
	expect_refusal(b, len, "instruction 1 at offset 0x238 (rip 0x1000, mode 3) does not follow rip 0xffffffff81000000");
	free(b);

	static const struct {
		size_t off;
		uint8_t value;
		const char *want;
	} cases[] = {
		{ OFF_RECS1 + 48 + 40, 200, "vCPU 1 record 1 at offset 0x1a8: exit kind 200 is unknown" },
		{ OFF_RECS0 + 44, 4, "vCPU 0 record 0 at offset 0x68: CPU mode 4 is not 0-3" },
		{ OFF_RECS0 + 45, 1, "vCPU 0 record 0 at offset 0x68: names vCPU 1" },
		{ OFF_ENTRIES + 8, 9, "instruction 0 at offset 0x218: CPU mode 9 is not 0-3" },
		{ OFF_ENTRIES + 9, 16, "instruction 0 at offset 0x218: length 16 exceeds 15" },
		{ OFF_ENTRIES + 32 + 8, 3, "does not follow" }, /* unchanged mode: see below */
		{ OFF_VCPU1 + 4, 0, "vCPU section #1 at offset 0x158: index 0 is not above the previous one" },
		{ 40 + 31, 'x', NULL }, /* the last vm_name byte: accepted, "testvm" ends before it */
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = sample_bytes(&len);
		if (i == 5)
			memcpy(b + OFF_ENTRIES + 32, b + OFF_ENTRIES, 8); /* a duplicate (rip, mode) */
		b[cases[i].off] = cases[i].value;
		fix_crcs(b);
		if (cases[i].want) {
			expect_refusal(b, len, cases[i].want);
		} else {
			struct trace_data d;
			struct errmsg e = { "" };
			assert_int_equal(tracefile_parse(b, len, &d, &e), 0);
			assert_string_equal(d.vm_name, "testvm");
			trace_data_free(&d);
		}
		free(b);
	}
	b = sample_bytes(&len);
	memset(b + 40, 'x', 32);
	fix_crcs(b);
	expect_refusal(b, len, "VM name at offset 0x28 is not NUL-terminated");
	free(b);
}

static void test_trailing_garbage(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = sample_bytes(&len);
	memcpy(b + len, "junk", 4);
	expect_refusal(b, len + 4, "4 bytes of trailing garbage at offset 0x280, after the trailer");
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32_is_standard),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_empty),
		cmocka_unit_test(test_write_replaces_atomically),
		cmocka_unit_test(test_write_to_missing_dir_leaves_nothing),
		cmocka_unit_test(test_write_refuses_what_readers_refuse),
		cmocka_unit_test(test_read_missing_and_empty_files),
		cmocka_unit_test(test_wrong_magic_and_version),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_flipped_byte_in_each_section),
		cmocka_unit_test(test_counts_larger_than_the_file),
		cmocka_unit_test(test_bad_contents_with_good_checksums),
		cmocka_unit_test(test_trailing_garbage),
	};
	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
