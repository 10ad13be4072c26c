/* Unit tests for dhyve's bhyve-style command line (cli/options.c): argv → configuration
 * variables (options_parse_argv) → checked machine description (options_from_config), and the
 * message every refusal gives. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/config.h"
#include "cli/options.h"
#include "vmm/vm.h"

#define MiB (1ull << 20)

/* One parse: a config, the result and the message of whichever step failed. */
struct run {
	struct config cfg;
	struct dhyve_options o;
	struct errmsg e;
	int parse_rc; /* options_parse_argv */
	int rc;       /* options_from_config, or parse_rc when parsing failed */
};

static int count_args(char **argv)
{
	int n = 0;
	while (argv[n])
		n++;
	return n;
}

/* Parses argv (NULL-terminated) and, when that succeeds with 0, checks it. */
static void run_argv(struct run *r, char **argv)
{
	memset(r, 0, sizeof(*r));
	config_init(&r->cfg);
	r->parse_rc = options_parse_argv(count_args(argv), argv, &r->cfg, &r->e);
	r->rc = r->parse_rc;
	if (r->parse_rc == 0)
		r->rc = options_from_config(&r->cfg, &r->o, &r->e);
}

#define RUN(r, ...) run_argv((r), (char *[]){ "dhyve", __VA_ARGS__, NULL })

static void done(struct run *r)
{
	config_free(&r->cfg);
}

/* Asserts the run failed with err and a message containing want. */
static void expect_fail(struct run *r, int err, const char *want)
{
	if (r->rc != -err)
		fail_msg("rc %d (parse %d), want %d; message '%s'", r->rc, r->parse_rc, -err, r->e.text);
	if (!strstr(r->e.text, want))
		fail_msg("message '%s' does not contain '%s'", r->e.text, want);
}

static void expect_ok(struct run *r)
{
	if (r->rc != 0)
		fail_msg("rc %d (parse %d): %s", r->rc, r->parse_rc, r->e.text);
}

static void test_demo_line(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-c", "2", "-m", "256M", "-s", "0:0,hostbridge", "-s", "31,lpc", "-l", "com1,stdio", "-o",
	    "kernel=k.elf", "vm0");
	expect_ok(&r);
	assert_int_equal(r.o.ncpus, 2);
	assert_int_equal(r.o.sockets * r.o.cores * r.o.threads, 2);
	assert_true(r.o.mem_bytes == 256 * MiB);
	assert_int_equal(r.o.nslots, 2);
	/* The slots come out in the order they were given. */
	assert_int_equal(r.o.slots[0].bus, 0);
	assert_int_equal(r.o.slots[0].slot, 0);
	assert_int_equal(r.o.slots[0].func, 0);
	assert_string_equal(r.o.slots[0].emulation, "hostbridge");
	assert_string_equal(r.o.slots[0].conf, "");
	assert_int_equal(r.o.slots[1].bus, 0);
	assert_int_equal(r.o.slots[1].slot, 31);
	assert_int_equal(r.o.slots[1].func, 0);
	assert_string_equal(r.o.slots[1].emulation, "lpc");
	assert_non_null(r.o.com[0]);
	assert_string_equal(r.o.com[0], "stdio");
	assert_null(r.o.com[1]);
	assert_non_null(r.o.kernel);
	assert_string_equal(r.o.kernel, "k.elf");
	assert_null(r.o.cmdline);
	assert_string_equal(r.o.name, "vm0");
	assert_int_equal(r.o.debugexit_port, -1);
	/* The flags became bhyve's variable names. */
	assert_string_equal(config_get(&r.cfg, "cpus"), "2");
	assert_string_equal(config_get(&r.cfg, "memory.size"), "256M");
	assert_string_equal(config_get(&r.cfg, "pci.0.0.0.device"), "hostbridge");
	assert_string_equal(config_get(&r.cfg, "pci.0.31.0.device"), "lpc");
	assert_string_equal(config_get(&r.cfg, "lpc.com1.path"), "stdio");
	assert_string_equal(config_get(&r.cfg, "name"), "vm0");
	done(&r);
}

static void test_defaults(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-o", "kernel=/k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.ncpus, 1);
	assert_int_equal(r.o.sockets, 1);
	assert_int_equal(r.o.cores, 1);
	assert_int_equal(r.o.threads, 1);
	assert_true(r.o.mem_bytes == 256 * MiB);
	assert_int_equal(r.o.nslots, 0);
	assert_null(r.o.com[0]);
	assert_null(r.o.com[1]);
	assert_int_equal(r.o.debugexit_port, -1);
	assert_false(r.o.acpi);
	assert_false(r.o.yield_on_hlt);
	assert_false(r.o.exit_on_pause);
	assert_true(r.o.strict_msr);
	assert_true(r.o.rtc_localtime);
	done(&r);
}

static void test_cpus_forms(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-c", "4", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.ncpus, 4);
	assert_int_equal(r.o.sockets, 4); /* bhyve: sockets = cpus / (cores * threads) */
	assert_int_equal(r.o.cores, 1);
	assert_int_equal(r.o.threads, 1);
	done(&r);

	RUN(&r, "-c", "cpus=4", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.ncpus, 4);
	done(&r);

	RUN(&r, "-c", "cpus=4,sockets=2,cores=2", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.ncpus, 4);
	assert_int_equal(r.o.sockets, 2);
	assert_int_equal(r.o.cores, 2);
	assert_int_equal(r.o.threads, 1);
	done(&r);

	RUN(&r, "-c", "8,cores=2,threads=2", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.ncpus, 8);
	assert_int_equal(r.o.sockets, 2);
	assert_int_equal(r.o.cores, 2);
	assert_int_equal(r.o.threads, 2);
	done(&r);

	/* Later -c wins. */
	RUN(&r, "-c", "2", "-c", "3", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.ncpus, 3);
	done(&r);
}

static void test_cpus_refused(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-c", "cpus=4,sockets=3", "-o", "kernel=k", "vm");
	assert_int_equal(r.parse_rc, 0); /* the topology is checked later */
	expect_fail(&r, EINVAL, "must equal cpus");
	done(&r);

	/* fuzz/regressions/cmdline: a zero here divided by zero. */
	RUN(&r, "-c", "cpus=4,cores=0", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "cores and threads must be at least 1");
	done(&r);
	RUN(&r, "-c", "cpus=4,threads=0", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "cores and threads must be at least 1");
	done(&r);

	RUN(&r, "-c", "0", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "at least one vCPU");
	done(&r);

	RUN(&r, "-c", "65", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "cpus:");
	done(&r);

	RUN(&r, "-c", "two", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "'two'");
	done(&r);

	RUN(&r, "-c", "cpus=2,dies=2", "-o", "kernel=k", "vm");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, EINVAL, "unknown topology key 'dies'");
	done(&r);
}

static void test_memory_forms(void **state)
{
	(void)state;
	static const struct {
		const char *arg;
		uint64_t want;
	} good[] = {
		{ "256M", 256 * MiB }, { "512", 512 * MiB }, { "1G", 1ull << 30 }, { "1g", 1ull << 30 },
		{ "2M", 2 * MiB },     { "65536K", 64 * MiB }, { "1T", 1ull << 40 }, { "64MiB", 64 * MiB },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct run r;
		RUN(&r, "-m", (char *)good[i].arg, "-o", "kernel=k", "vm");
		if (r.rc != 0)
			fail_msg("-m %s: %s", good[i].arg, r.e.text);
		if (r.o.mem_bytes != good[i].want)
			fail_msg("-m %s: %llu bytes, want %llu", good[i].arg, (unsigned long long)r.o.mem_bytes,
				 (unsigned long long)good[i].want);
		done(&r);
	}
}

static void test_memory_refused(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-m", "abc", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "-m abc: not a size");
	done(&r);

	RUN(&r, "-m", "1M", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "between 2M and 1T");
	done(&r);

	RUN(&r, "-m", "0", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "between 2M and 1T");
	done(&r);

	RUN(&r, "-m", "2T", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "between 2M and 1T");
	done(&r);

	RUN(&r, "-m", "4097K", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "multiple of 4K");
	done(&r);

	RUN(&r, "-m", "12Q", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "not a size");
	done(&r);
}

static void test_slot_forms(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-s", "1:0,hostbridge", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.nslots, 1);
	assert_int_equal(r.o.slots[0].bus, 0);
	assert_int_equal(r.o.slots[0].slot, 1);
	assert_int_equal(r.o.slots[0].func, 0);
	assert_string_equal(r.o.slots[0].emulation, "hostbridge");
	done(&r);

	RUN(&r, "-s", "0:31:7,lpc", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.nslots, 1);
	assert_int_equal(r.o.slots[0].bus, 0);
	assert_int_equal(r.o.slots[0].slot, 31);
	assert_int_equal(r.o.slots[0].func, 7);
	assert_string_equal(r.o.slots[0].emulation, "lpc");
	assert_non_null(config_get(&r.cfg, "pci.0.31.7.device"));
	done(&r);

	RUN(&r, "-s", "31,lpc", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.nslots, 1);
	assert_int_equal(r.o.slots[0].slot, 31);
	assert_int_equal(r.o.slots[0].func, 0);
	done(&r);

	/* A bus, and a configuration string after the emulation. */
	RUN(&r, "-s", "2:3:1,amd_hostbridge,some=conf,more", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.nslots, 1);
	assert_int_equal(r.o.slots[0].bus, 2);
	assert_int_equal(r.o.slots[0].slot, 3);
	assert_int_equal(r.o.slots[0].func, 1);
	assert_string_equal(r.o.slots[0].emulation, "amd_hostbridge");
	assert_string_equal(r.o.slots[0].conf, "some=conf,more");
	done(&r);

	/* The same slot on different functions is fine. */
	RUN(&r, "-s", "3:0,lpc", "-s", "3:1,hostbridge", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.nslots, 2);
	done(&r);
}

static void test_slot_refused(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-s", "32,lpc", "-o", "kernel=k", "vm");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, EINVAL, "slot 0-31");
	done(&r);

	RUN(&r, "-s", "1:8,lpc", "-o", "kernel=k", "vm");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, EINVAL, "function 0-7");
	done(&r);

	RUN(&r, "-s", "256:0:0,lpc", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "bus must be 0-255");
	done(&r);

	RUN(&r, "-s", "3,lpc", "-s", "3,hostbridge", "-o", "kernel=k", "vm");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, EEXIST, "already used");
	assert_non_null(strstr(r.e.text, "lpc")); /* says by what */
	done(&r);

	/* 3 and 0:3:0 are the same slot. */
	RUN(&r, "-s", "3,lpc", "-s", "0:3:0,hostbridge", "-o", "kernel=k", "vm");
	expect_fail(&r, EEXIST, "already used");
	done(&r);

	RUN(&r, "-s", "5,virtio-rnd", "-o", "kernel=k", "vm");
	assert_int_equal(r.parse_rc, 0);
	expect_fail(&r, ENOTSUP, "not implemented");
	assert_non_null(strstr(r.e.text, "virtio-rnd"));
	done(&r);

	RUN(&r, "-s", "5,bogus", "-o", "kernel=k", "vm");
	assert_int_equal(r.parse_rc, 0);
	expect_fail(&r, EINVAL, "unknown device emulation 'bogus'");
	done(&r);

	RUN(&r, "-s", "5", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "expected slot,emulation");
	done(&r);

	RUN(&r, "-s", "5,", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "expected slot,emulation");
	done(&r);

	RUN(&r, "-s", "x,lpc", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "is not a slot number");
	done(&r);

	RUN(&r, "-s", "0:1:2:3,lpc", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "more than bus:slot:func");
	done(&r);

	/* -o can name a slot too, and is checked the same way. */
	RUN(&r, "-o", "pci.0.40.0.device=lpc", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "slot 0-31");
	done(&r);
}

static void test_lpc(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-l", "com1,stdio", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_string_equal(r.o.com[0], "stdio");
	assert_null(r.o.com[1]);
	done(&r);

	RUN(&r, "-l", "com2,pty", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_null(r.o.com[0]);
	assert_string_equal(r.o.com[1], "pty");
	done(&r);

	RUN(&r, "-l", "com1,file=/tmp/a,b", "-l", "com2,null", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_string_equal(r.o.com[0], "file=/tmp/a,b");
	assert_string_equal(r.o.com[1], "null");
	done(&r);

	RUN(&r, "-l", "com3,stdio", "-o", "kernel=k", "vm");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, EINVAL, "unknown LPC device 'com3'");
	done(&r);

	RUN(&r, "-l", "com1", "-o", "kernel=k", "vm");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, EINVAL, "expected com1,BACKEND");
	done(&r);

	RUN(&r, "-l", "com1,", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "expected com1,BACKEND");
	done(&r);

	RUN(&r, "-l", "com10,stdio", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "unknown LPC device");
	done(&r);
}

static void test_debugexit_port(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-o", "debugexit.port=0xf4", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.debugexit_port, 0xf4);
	done(&r);

	RUN(&r, "-o", "debugexit.port=0", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.debugexit_port, 0);
	done(&r);

	RUN(&r, "-o", "debugexit.port=65535", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.debugexit_port, 65535);
	done(&r);

	RUN(&r, "-o", "debugexit.port=70000", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "debugexit.port");
	done(&r);

	RUN(&r, "-o", "debugexit.port=", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "debugexit.port");
	done(&r);
}

static void test_kernel_and_cmdline(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-o", "kernel=/boot/k", "-o", "cmdline=console=ttyS0 quiet", "vm");
	expect_ok(&r);
	assert_string_equal(r.o.kernel, "/boot/k");
	assert_string_equal(r.o.cmdline, "console=ttyS0 quiet");
	assert_null(r.o.initrd);
	done(&r);

	/* A Linux kernel with its initrd, as the issue spells it. */
	RUN(&r, "-A", "-o", "kernel=bzImage", "-o", "initrd=/tmp/initrd.img", "-o", "cmdline=console=ttyS0", "vm");
	expect_ok(&r);
	assert_string_equal(r.o.kernel, "bzImage");
	assert_string_equal(r.o.initrd, "/tmp/initrd.img");
	assert_true(r.o.acpi);
	done(&r);

	RUN(&r, "-o", "kernel=bzImage", "-o", "initrd=", "vm");
	expect_fail(&r, EINVAL, "initrd: empty path");
	done(&r);

	RUN(&r, "-c", "2", "vm");
	assert_int_equal(r.parse_rc, 0);
	expect_fail(&r, EINVAL, "kernel");
	done(&r);

	RUN(&r, "-o", "=x", "vm");
	expect_fail(&r, EINVAL, "expected name=value");
	done(&r);
}

static void test_name(void **state)
{
	(void)state;
	struct run r;
	/* No name at all: refused by the parser. */
	RUN(&r, "-o", "kernel=k");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, EINVAL, "no VM name");
	done(&r);

	/* An empty name. */
	RUN(&r, "-o", "kernel=k", "");
	expect_fail(&r, EINVAL, "no VM name");
	done(&r);

	/* A name from -o alone is enough. */
	RUN(&r, "-o", "kernel=k", "-o", "name=fromvar");
	expect_ok(&r);
	assert_string_equal(r.o.name, "fromvar");
	done(&r);

	char name31[] = "abcdefghijklmnopqrstuvwxyz01234";
	assert_int_equal(strlen(name31), VM_NAME_MAX);
	RUN(&r, "-o", "kernel=k", name31);
	expect_ok(&r);
	assert_string_equal(r.o.name, name31);
	done(&r);

	char name32[] = "abcdefghijklmnopqrstuvwxyz012345";
	RUN(&r, "-o", "kernel=k", name32);
	expect_fail(&r, ENAMETOOLONG, "31");
	done(&r);

	RUN(&r, "-o", "kernel=k", "a/b");
	expect_fail(&r, EINVAL, "may not contain '/'");
	done(&r);

	RUN(&r, "-o", "kernel=k", "a b");
	expect_fail(&r, EINVAL, "may not contain");
	done(&r);

	/* getopt permutes: the name may come before the flags. */
	RUN(&r, "vmfirst", "-o", "kernel=k", "-c", "2");
	expect_ok(&r);
	assert_string_equal(r.o.name, "vmfirst");
	assert_int_equal(r.o.ncpus, 2);
	done(&r);
}

static void test_bad_flags(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-Z", "-o", "kernel=k", "vm");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, EINVAL, "-Z: unknown option");
	done(&r);

	RUN(&r, "-o", "kernel=k", "vm", "-m");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, EINVAL, "-m: needs an argument");
	done(&r);

	RUN(&r, "-o", "kernel=k", "vm", "extra");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, EINVAL, "unexpected argument");
	assert_non_null(strstr(r.e.text, "extra"));
	done(&r);
}

static void test_config_file_and_override(void **state)
{
	(void)state;
	char path[] = "/tmp/dhyve-test-options-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "cpus=3\nmemory.size=128M\nkernel=/x\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);

	struct run r;
	/* -m after -k: the flag wins. */
	RUN(&r, "-k", path, "-m", "64M", "vm");
	expect_ok(&r);
	assert_int_equal(r.o.ncpus, 3);
	assert_true(r.o.mem_bytes == 64 * MiB);
	assert_string_equal(r.o.kernel, "/x");
	done(&r);

	/* -m before -k: the file wins. */
	RUN(&r, "-m", "64M", "-k", path, "vm");
	expect_ok(&r);
	assert_true(r.o.mem_bytes == 128 * MiB);
	done(&r);

	/* Only the file and a name. */
	RUN(&r, "-k", path, "vm");
	expect_ok(&r);
	assert_int_equal(r.o.ncpus, 3);
	assert_true(r.o.mem_bytes == 128 * MiB);
	done(&r);
	unlink(path);

	/* A missing file is refused with its name. */
	RUN(&r, "-k", path, "vm");
	assert_true(r.parse_rc < 0);
	expect_fail(&r, ENOENT, path);
	done(&r);
}

static void test_help(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-h");
	assert_int_equal(r.parse_rc, 1);
	done(&r);

	RUN(&r, "-c", "2", "-h", "vm");
	assert_int_equal(r.parse_rc, 1);
	done(&r);

	/* The usage text names every flag. */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	options_usage(f);
	fclose(f);
	assert_non_null(strstr(buf, "usage: dhyve"));
	assert_non_null(strstr(buf, "-s: PCI slot"));
	free(buf);
}

static void test_boolean_flags(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-A", "-H", "-P", "-u", "-w", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_true(r.o.acpi);
	assert_true(r.o.yield_on_hlt);
	assert_true(r.o.exit_on_pause);
	assert_false(r.o.strict_msr);
	assert_false(r.o.rtc_localtime);
	done(&r);

	/* Grouped, as getopt allows. */
	RUN(&r, "-AHPuw", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_true(r.o.acpi);
	assert_true(r.o.yield_on_hlt);
	assert_true(r.o.exit_on_pause);
	assert_false(r.o.strict_msr);
	assert_false(r.o.rtc_localtime);
	done(&r);

	/* The same variables through -o, and a bad boolean. */
	RUN(&r, "-o", "acpi_tables=yes", "-o", "x86.strictmsr=off", "-o", "kernel=k", "vm");
	expect_ok(&r);
	assert_true(r.o.acpi);
	assert_false(r.o.strict_msr);
	done(&r);

	RUN(&r, "-o", "acpi_tables=perhaps", "-o", "kernel=k", "vm");
	expect_fail(&r, EINVAL, "acpi_tables");
	done(&r);
}

/* options_parse_argv says it resets getopt itself, so each call must parse only its own argv:
 * nothing of an earlier argv (here a flag grouped after -h) may leak into the next parse. */
static void test_parse_twice_no_stale_getopt_state(void **state)
{
	(void)state;
	struct run r;
	RUN(&r, "-hA", "vm0");
	assert_int_equal(r.parse_rc, 1);
	done(&r);

	RUN(&r, "-o", "kernel=k", "vm1");
	expect_ok(&r);
	assert_null(config_get(&r.cfg, "acpi_tables"));
	assert_false(r.o.acpi);
	assert_string_equal(r.o.name, "vm1");
	assert_string_equal(r.o.kernel, "k");
	done(&r);
}

/* -r FILE (bhyve's resume flag): the VM name may come from the snapshot; record and replay not. */
static void test_restore(void **state)
{
	(void)state;
	struct run r;
	run_argv(&r, (char *[]){ "dhyve", "-r", "vm0.snap", NULL });
	assert_int_equal(r.parse_rc, 0);
	assert_string_equal(config_get(&r.cfg, "restore.file"), "vm0.snap");
	assert_null(config_get(&r.cfg, "name")); /* dhyve fills it in from the snapshot */
	done(&r);

	RUN(&r, "-r", "vm0.snap", "-o", "kernel=k", "other");
	expect_ok(&r);
	assert_string_equal(r.o.restore_file, "vm0.snap");
	assert_string_equal(r.o.name, "other");
	done(&r);

	RUN(&r, "-r", "vm0.snap", "-o", "kernel=k", "-o", "record=dir", "vm");
	expect_fail(&r, EINVAL, "cannot be combined with record= or replay=");
	done(&r);

	RUN(&r, "-r");
	expect_fail(&r, EINVAL, "-r: needs an argument");
	done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_demo_line),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_cpus_forms),
		cmocka_unit_test(test_cpus_refused),
		cmocka_unit_test(test_memory_forms),
		cmocka_unit_test(test_memory_refused),
		cmocka_unit_test(test_slot_forms),
		cmocka_unit_test(test_slot_refused),
		cmocka_unit_test(test_lpc),
		cmocka_unit_test(test_debugexit_port),
		cmocka_unit_test(test_kernel_and_cmdline),
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_bad_flags),
		cmocka_unit_test(test_config_file_and_override),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_boolean_flags),
		cmocka_unit_test(test_parse_twice_no_stale_getopt_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
