/* Snapshot files: a round trip of every kind of section through a real file (sparse RAM
 * included), and the refusal, with a message naming the problem, of files that are not
 * snapshots, damaged, truncated, from another build or format version, or that do not fit the
 * VM; and the vCPU and irqchip images' own checks. No KVM needed. */
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
#include "replay/snapfile.h"
#include "vmm/vcpu_state.h"

#define RAM_SIZE (20u << 20) /* more than one 16 MiB RAM chunk */
#define BUILD "test-build-1"

static char path[64];
static uint8_t *ram;

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/test_snapfile.%d", (int)getpid());
	ram = calloc(1, RAM_SIZE);
	return ram ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	free(ram);
	return 0;
}

static void fill_ram(void)
{
	memset(ram, 0, RAM_SIZE);
	for (unsigned pg = 0; pg < RAM_SIZE / 4096; pg += 37) /* sparse: most pages stay zero */
		for (unsigned i = 0; i < 4096; i += 512)
			ram[(size_t)pg * 4096 + i] = (uint8_t)(pg * 7 + i + 1);
}

static void write_sample(void)
{
	struct errmsg e = { "" };
	fill_ram();
	struct gmem mem;
	gmem_init_flat(&mem, ram, RAM_SIZE);
	struct snapfile_writer *w = snapfile_create(path, BUILD, &e);
	assert_non_null(w);
	const char *cfg = "name=vm0\nmemory.size=20M\n";
	assert_int_equal(snapfile_add(w, SNAP_SEC_CONFIG, "config", cfg, strlen(cfg), false, &e), 0);
	static uint8_t dev[5000];
	for (unsigned i = 0; i < sizeof(dev); i++)
		dev[i] = (uint8_t)(i % 13);
	assert_int_equal(snapfile_add(w, SNAP_SEC_DEVICE, "com1", dev, sizeof(dev), true, &e), 0);
	assert_int_equal(snapfile_add(w, SNAP_SEC_DEVICE, "empty", "", 0, true, &e), 0);
	assert_int_equal(snapfile_add_ram(w, &mem, &e), 0);
	assert_int_equal(snapfile_commit(w, &e), 0);
}

static void expect_refused(const char *build, const char *what)
{
	struct errmsg e = { "" };
	struct snapfile f;
	assert_true(snapfile_open(&f, path, build, &e) < 0);
	if (!strstr(e.text, what))
		fail_msg("expected '%s' in: %s", what, e.text);
}

static void round_trip(void **state)
{
	(void)state;
	write_sample();
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size < RAM_SIZE / 8); /* zero pages are not written, the rest compressed */
	struct errmsg e = { "" };
	struct snapfile f;
	assert_int_equal(snapfile_open(&f, path, BUILD, &e), 0);
	assert_string_equal(f.build, BUILD);
	const struct snap_section *s = snapfile_find(&f, SNAP_SEC_CONFIG, "config");
	assert_non_null(s);
	uint8_t *p;
	size_t len;
	assert_int_equal(snapfile_payload(&f, s, &p, &len, &e), 0);
	assert_string_equal((char *)p, "name=vm0\nmemory.size=20M\n");
	free(p);
	s = snapfile_find(&f, SNAP_SEC_DEVICE, "com1");
	assert_non_null(s);
	assert_true(s->stored < s->raw); /* compressed */
	assert_int_equal(snapfile_payload(&f, s, &p, &len, &e), 0);
	assert_int_equal(len, 5000);
	assert_int_equal(p[4999], 4999 % 13);
	free(p);
	s = snapfile_find(&f, SNAP_SEC_DEVICE, "empty");
	assert_non_null(s);
	assert_int_equal(s->raw, 0);
	assert_null(snapfile_find(&f, SNAP_SEC_DEVICE, "com2"));

	/* RAM into a buffer full of garbage: every page comes back, zero pages zeroed. */
	uint8_t *copy = malloc(RAM_SIZE);
	assert_non_null(copy);
	memset(copy, 0xa5, RAM_SIZE);
	struct gmem mem;
	gmem_init_flat(&mem, copy, RAM_SIZE);
	assert_int_equal(snapfile_load_ram(&f, &mem, &e), 0);
	assert_memory_equal(copy, ram, RAM_SIZE);

	/* A VM with another amount of RAM is refused. */
	gmem_init_flat(&mem, copy, RAM_SIZE - 4096 * 16);
	assert_true(snapfile_load_ram(&f, &mem, &e) < 0);
	assert_non_null(strstr(e.text, "outside this VM's RAM"));
	gmem_init_flat(&mem, copy, RAM_SIZE);
	mem.slot[0].size = RAM_SIZE; /* same size, but a 2nd slot the snapshot never covered */
	uint8_t extra[4096];
	assert_int_equal(gmem_add_slot(&mem, 1ull << 32, sizeof(extra), extra), 0);
	assert_true(snapfile_load_ram(&f, &mem, &e) < 0);
	assert_non_null(strstr(e.text, "does not cover"));
	free(copy);
	snapfile_close(&f);
}

static void flip_byte(long off)
{
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void refuses_damage(void **state)
{
	(void)state;
	struct stat st;
	write_sample();
	flip_byte(SNAPFILE_HEADER_SIZE + SNAPFILE_SECTION_HEADER + 3); /* inside the config's bytes */
	expect_refused(BUILD, "section 1 ('config', byte 144) fails its CRC");

	write_sample();
	flip_byte(SNAPFILE_HEADER_SIZE + 9); /* a section header: its name */
	expect_refused(BUILD, "the header of section 1 (byte 80) fails its CRC");

	write_sample();
	flip_byte(30); /* the file header (build id) */
	expect_refused(BUILD, "the header fails its CRC");

	write_sample();
	assert_int_equal(stat(path, &st), 0);
	flip_byte(st.st_size / 2); /* somewhere in the RAM */
	expect_refused(BUILD, "fails its CRC");
}

static void refuses_truncation(void **state)
{
	(void)state;
	struct stat st;
	write_sample();
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(truncate(path, st.st_size - 1), 0); /* into the end marker */
	expect_refused(BUILD, "truncated at byte");
	write_sample();
	assert_int_equal(truncate(path, st.st_size / 2), 0); /* in the middle of a RAM section */
	expect_refused(BUILD, "truncated: section");
	assert_int_equal(truncate(path, 50), 0);
	expect_refused(BUILD, "truncated: 50 bytes");
	/* Bytes after the end are refused too (two files run together, say). */
	write_sample();
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	expect_refused(BUILD, "1 bytes after the end marker");
}

static void rewrite_header(void (*edit)(uint8_t *h))
{
	int fd = open(path, O_RDWR);
	uint8_t h[SNAPFILE_HEADER_SIZE];
	assert_int_equal(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	edit(h);
	put_le(h + 76, crc32_update(0, h, 76), 4);
	assert_int_equal(pwrite(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	close(fd);
}

static void set_version_9(uint8_t *h) { put_le(h + 8, 9, 4); }

static void refuses_foreign(void **state)
{
	(void)state;
	write_sample();
	expect_refused("test-build-2", "made by another dhyve build ('test-build-1'; this is 'test-build-2')");
	rewrite_header(set_version_9);
	expect_refused(BUILD, "snapshot format version 9, this dhyve reads version 1");
	int fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "#!/bin/sh\necho hello\n", 21), 21);
	close(fd);
	expect_refused(BUILD, "not a dhyve snapshot");
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	expect_refused(BUILD, "empty file");
	struct errmsg e;
	struct snapfile f;
	assert_int_equal(snapfile_open(&f, "/nonexistent/snap", BUILD, &e), -ENOENT);
}

/* A writer that fails (here: its directory vanished) leaves no file behind. */
static void no_partial_file(void **state)
{
	(void)state;
	struct errmsg e;
	assert_null(snapfile_create("/nonexistent/dir/snap", BUILD, &e));
	struct snapfile_writer *w = snapfile_create(path, BUILD, &e);
	unlink(path);
	assert_non_null(w);
	assert_int_equal(snapfile_add(w, SNAP_SEC_CONFIG, "config", "a=b\n", 4, false, &e), 0);
	snapfile_abort(w);
	assert_int_equal(access(path, F_OK), -1);
	char tmp[80];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_int_equal(access(tmp, F_OK), -1);
}

static void vcpu_image(void **state)
{
	(void)state;
	static struct vcpu_state s, t;
	memset(&s, 0, sizeof(s));
	s.regs.rip = 0x1234;
	s.regs.rflags = 0x202;
	s.sregs.cr0 = 0x80000011;
	s.lapic.regs[0x20] = 7;
	s.has_xsave = true;
	s.xsave[3] = 0xdeadbeef;
	s.has_xcrs = true;
	s.xcrs.nr_xcrs = 1;
	s.nmsrs = 3;
	for (unsigned i = 0; i < 3; i++)
		s.msrs[i] = (struct kvm_msr_entry){ .index = 0xc0000080 + i, .data = i * 11 };
	size_t n = vcpu_state_encode(&s, NULL, 0);
	uint8_t *buf = malloc(n);
	assert_int_equal(vcpu_state_encode(&s, buf, n - 1), 0);
	assert_int_equal(vcpu_state_encode(&s, buf, n), n);
	struct errmsg e = { "" };
	assert_int_equal(vcpu_state_decode(&t, buf, n, &e), 0);
	assert_memory_equal(&s, &t, sizeof(s));
	assert_true(vcpu_state_decode(&t, buf, n - 8, &e) < 0);
	assert_non_null(strstr(e.text, "vCPU image"));
	/* The first part (general registers) with another length: another KVM's structure. */
	put_le(buf + 16 + 4, sizeof(s.regs) - 8, 4);
	assert_true(vcpu_state_decode(&t, buf, n, &e) < 0);
	put_le(buf + 16 + 4, sizeof(s.regs), 4);
	put_le(buf + 16, 99, 4);
	assert_true(vcpu_state_decode(&t, buf, n, &e) < 0);
	assert_non_null(strstr(e.text, "unknown part (tag 99)"));
	put_le(buf + 16, 1, 4);
	put_le(buf + 4, 2, 4);
	assert_true(vcpu_state_decode(&t, buf, n, &e) < 0);
	assert_non_null(strstr(e.text, "version 2"));
	free(buf);

	struct vm_chip_state c, d;
	memset(&c, 0, sizeof(c));
	c.pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	c.pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	c.ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	c.has_pit = true;
	c.pit.channels[0].count = 1193;
	n = vm_chip_state_encode(&c, NULL, 0);
	buf = malloc(n);
	assert_int_equal(vm_chip_state_encode(&c, buf, n), n);
	assert_int_equal(vm_chip_state_decode(&d, buf, n, &e), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_true(vm_chip_state_decode(&d, buf, 12, &e) < 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_damage, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_foreign, setup, teardown),
		cmocka_unit_test_setup_teardown(no_partial_file, setup, teardown),
		cmocka_unit_test(vcpu_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
