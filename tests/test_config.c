/* Unit tests for the configuration variable store (cli/config.c): set/get/override, name=value
 * assignments and their refusals, -k files (comments, blank lines, trimming, errors naming
 * file:line), the typed readers, and the size/number parsers every option shares. */
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

#define MiB (1ull << 20)

/* Writes text to a fresh temporary file; the caller unlinks path. */
static void write_temp(char *path, size_t len, const char *text)
{
	snprintf(path, len, "/tmp/dhyve-test-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

static void test_set_get_override(void **state)
{
	(void)state;
	struct config c;
	config_init(&c);
	assert_null(config_get(&c, "cpus"));
	assert_string_equal(config_get_default(&c, "cpus", "dflt"), "dflt");

	assert_int_equal(config_set(&c, "cpus", "2"), 0);
	assert_int_equal(config_set(&c, "memory.size", "256M"), 0);
	assert_string_equal(config_get(&c, "cpus"), "2");
	assert_string_equal(config_get(&c, "memory.size"), "256M");
	assert_string_equal(config_get_default(&c, "cpus", "dflt"), "2");
	assert_int_equal(c.n, 2);

	/* Later wins, and does not add a second variable. */
	assert_int_equal(config_set(&c, "cpus", "4"), 0);
	assert_string_equal(config_get(&c, "cpus"), "4");
	assert_int_equal(c.n, 2);

	/* Names are exact, not prefixes. */
	assert_null(config_get(&c, "cpu"));
	assert_null(config_get(&c, "memory"));

	/* Many variables: the table grows and keeps every value. */
	for (int i = 0; i < 100; i++) {
		char name[32], value[32];
		snprintf(name, sizeof(name), "v%d", i);
		snprintf(value, sizeof(value), "%d", i * 7);
		assert_int_equal(config_set(&c, name, value), 0);
	}
	for (int i = 0; i < 100; i++) {
		char name[32], value[32];
		snprintf(name, sizeof(name), "v%d", i);
		snprintf(value, sizeof(value), "%d", i * 7);
		assert_string_equal(config_get(&c, name), value);
	}
	assert_int_equal(c.n, 102);
	config_free(&c);
	assert_int_equal(c.n, 0);
	assert_null(c.vars);
}

static void test_set_assignment_good(void **state)
{
	(void)state;
	struct config c;
	struct errmsg e = { "" };
	config_init(&c);
	assert_int_equal(config_set_assignment(&c, "a.b=c", &e), 0);
	assert_string_equal(config_get(&c, "a.b"), "c");

	/* Empty value. */
	assert_int_equal(config_set_assignment(&c, "x=", &e), 0);
	assert_non_null(config_get(&c, "x"));
	assert_string_equal(config_get(&c, "x"), "");

	/* Only the first '=' splits; the value keeps the rest. */
	assert_int_equal(config_set_assignment(&c, "cmdline=console=ttyS0 a=b", &e), 0);
	assert_string_equal(config_get(&c, "cmdline"), "console=ttyS0 a=b");

	/* Every allowed name character. */
	assert_int_equal(config_set_assignment(&c, "pci.0.31.0-x_Y9=lpc", &e), 0);
	assert_string_equal(config_get(&c, "pci.0.31.0-x_Y9"), "lpc");

	/* Override through an assignment. */
	assert_int_equal(config_set_assignment(&c, "a.b=d", &e), 0);
	assert_string_equal(config_get(&c, "a.b"), "d");
	config_free(&c);
}

static void test_set_assignment_refused(void **state)
{
	(void)state;
	struct config c;
	struct errmsg e = { "" };
	config_init(&c);

	assert_int_equal(config_set_assignment(&c, "=v", &e), -EINVAL);
	assert_non_null(strstr(e.text, "expected name=value"));
	assert_non_null(strstr(e.text, "'=v'"));

	e.text[0] = '\0';
	assert_int_equal(config_set_assignment(&c, "novalue", &e), -EINVAL);
	assert_non_null(strstr(e.text, "expected name=value"));
	assert_non_null(strstr(e.text, "novalue"));

	e.text[0] = '\0';
	assert_int_equal(config_set_assignment(&c, "a b=c", &e), -EINVAL);
	assert_non_null(strstr(e.text, "bad character in variable name"));
	assert_non_null(strstr(e.text, "'a b'"));

	e.text[0] = '\0';
	assert_int_equal(config_set_assignment(&c, "a/b=c", &e), -EINVAL);
	assert_non_null(strstr(e.text, "bad character"));

	e.text[0] = '\0';
	assert_int_equal(config_set_assignment(&c, "na$me=1", &e), -EINVAL);
	assert_non_null(strstr(e.text, "bad character"));

	/* A name too long for the internal buffer is refused, not truncated. */
	char longname[400];
	memset(longname, 'n', 300);
	snprintf(longname + 300, sizeof(longname) - 300, "=1");
	e.text[0] = '\0';
	assert_int_equal(config_set_assignment(&c, longname, &e), -EINVAL);
	assert_non_null(strstr(e.text, "too long"));

	/* Nothing was stored by the refusals. */
	assert_int_equal(c.n, 0);
	config_free(&c);
}

static void test_load_file(void **state)
{
	(void)state;
	char path[64];
	write_temp(path, sizeof(path),
		   "# a comment\n"
		   "\n"
		   "   \t \n"
		   "cpus=3\n"
		   "   memory.size=128M   \n"
		   "\t# indented comment\n"
		   "kernel=/boot/k.elf\t\n"
		   "cmdline=a=b c\n"
		   "cpus=5\n"
		   "empty=\n"
		   "last=novalue-newline");
	struct config c;
	struct errmsg e = { "" };
	config_init(&c);
	assert_int_equal(config_load_file(&c, path, &e), 0);
	assert_string_equal(config_get(&c, "cpus"), "5"); /* later line wins */
	assert_string_equal(config_get(&c, "memory.size"), "128M");
	assert_string_equal(config_get(&c, "kernel"), "/boot/k.elf");
	assert_string_equal(config_get(&c, "cmdline"), "a=b c");
	assert_string_equal(config_get(&c, "empty"), "");
	assert_string_equal(config_get(&c, "last"), "novalue-newline"); /* no final newline */
	assert_null(config_get(&c, "# a comment"));
	assert_int_equal(c.n, 6);
	config_free(&c);
	unlink(path);
}

static void test_load_file_bad_line(void **state)
{
	(void)state;
	char path[64];
	write_temp(path, sizeof(path), "# header\ncpus=2\n\nthis line is wrong\nmemory.size=1G\n");
	struct config c;
	struct errmsg e = { "" };
	config_init(&c);
	assert_int_equal(config_load_file(&c, path, &e), -EINVAL);
	char where[96];
	snprintf(where, sizeof(where), "%s:4:", path);
	assert_non_null(strstr(e.text, where));
	assert_non_null(strstr(e.text, "expected name=value"));
	/* Lines before the bad one were applied, the one after was not read. */
	assert_string_equal(config_get(&c, "cpus"), "2");
	assert_null(config_get(&c, "memory.size"));
	config_free(&c);
	unlink(path);

	/* A bad character in a name, on line 1. */
	write_temp(path, sizeof(path), "bad name=1\n");
	config_init(&c);
	assert_int_equal(config_load_file(&c, path, &e), -EINVAL);
	snprintf(where, sizeof(where), "%s:1:", path);
	assert_non_null(strstr(e.text, where));
	assert_non_null(strstr(e.text, "bad character"));
	config_free(&c);
	unlink(path);
}

static void test_load_file_missing(void **state)
{
	(void)state;
	struct config c;
	struct errmsg e = { "" };
	config_init(&c);
	const char *path = "/tmp/dhyve-test-config-does-not-exist/none.conf";
	assert_int_equal(config_load_file(&c, path, &e), -ENOENT);
	assert_non_null(strstr(e.text, path));
	assert_non_null(strstr(e.text, strerror(ENOENT)));
	assert_int_equal(c.n, 0);
	config_free(&c);
}

static void test_get_bool(void **state)
{
	(void)state;
	static const char *const yes[] = { "true", "yes", "on", "1", "TRUE", "Yes", "ON" };
	static const char *const no[] = { "false", "no", "off", "0", "FALSE", "No", "Off" };
	struct config c;
	struct errmsg e = { "" };
	bool b;
	config_init(&c);

	b = false;
	assert_int_equal(config_get_bool(&c, "flag", true, &b, &e), 0); /* missing: default */
	assert_true(b);
	assert_int_equal(config_get_bool(&c, "flag", false, &b, &e), 0);
	assert_false(b);

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		assert_int_equal(config_set(&c, "flag", yes[i]), 0);
		b = false;
		assert_int_equal(config_get_bool(&c, "flag", false, &b, &e), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		assert_int_equal(config_set(&c, "flag", no[i]), 0);
		b = true;
		assert_int_equal(config_get_bool(&c, "flag", true, &b, &e), 0);
		assert_false(b);
	}

	static const char *const bad[] = { "maybe", "", "2", "tru", "yess", " true" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(config_set(&c, "flag", bad[i]), 0);
		e.text[0] = '\0';
		assert_int_equal(config_get_bool(&c, "flag", true, &b, &e), -EINVAL);
		assert_non_null(strstr(e.text, "flag:"));
		assert_non_null(strstr(e.text, "is not a boolean"));
	}
	config_free(&c);
}

static void test_get_uint(void **state)
{
	(void)state;
	struct config c;
	struct errmsg e = { "" };
	uint64_t v = 0;
	config_init(&c);

	assert_int_equal(config_get_uint(&c, "n", 42, 100, &v, &e), 0); /* missing: default */
	assert_int_equal(v, 42);

	assert_int_equal(config_set(&c, "n", "100"), 0);
	assert_int_equal(config_get_uint(&c, "n", 0, 100, &v, &e), 0);
	assert_int_equal(v, 100);

	assert_int_equal(config_set(&c, "n", "0"), 0);
	assert_int_equal(config_get_uint(&c, "n", 7, 100, &v, &e), 0);
	assert_int_equal(v, 0);

	assert_int_equal(config_set(&c, "n", "0x40"), 0);
	assert_int_equal(config_get_uint(&c, "n", 0, 100, &v, &e), 0);
	assert_int_equal(v, 0x40);

	v = 12345;
	assert_int_equal(config_set(&c, "n", "101"), 0);
	assert_int_equal(config_get_uint(&c, "n", 0, 100, &v, &e), -EINVAL);
	assert_non_null(strstr(e.text, "n: '101' is not a number between 0 and 100"));
	assert_int_equal(v, 12345); /* untouched on failure */

	assert_int_equal(config_set(&c, "n", "abc"), 0);
	assert_int_equal(config_get_uint(&c, "n", 0, 100, &v, &e), -EINVAL);
	assert_non_null(strstr(e.text, "'abc'"));

	assert_int_equal(config_set(&c, "n", "-1"), 0);
	assert_int_equal(config_get_uint(&c, "n", 0, UINT64_MAX, &v, &e), -EINVAL);

	assert_int_equal(config_set(&c, "n", "18446744073709551615"), 0);
	assert_int_equal(config_get_uint(&c, "n", 0, UINT64_MAX, &v, &e), 0);
	assert_true(v == UINT64_MAX);
	config_free(&c);
}

static void test_parse_size_good(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		uint64_t want;
	} cases[] = {
		{ "256M", 256 * MiB },
		{ "256m", 256 * MiB },
		{ "1G", 1ull << 30 },
		{ "1g", 1ull << 30 },
		{ "512K", 512ull << 10 },
		{ "512k", 512ull << 10 },
		{ "2T", 2ull << 40 },
		{ "256", 256 * MiB }, /* default unit */
		{ "1MiB", MiB },
		{ "1MB", MiB },
		{ "1mb", MiB },
		{ "1GiB", 1ull << 30 },
		{ "0", 0 },
		{ "0M", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0xdeadbeef;
		if (parse_size(cases[i].s, MiB, &v) != 0)
			fail_msg("parse_size(\"%s\") refused", cases[i].s);
		if (v != cases[i].want)
			fail_msg("parse_size(\"%s\") = %llu, want %llu", cases[i].s, (unsigned long long)v,
				 (unsigned long long)cases[i].want);
	}
	uint64_t v = 0;
	/* The default unit is the caller's. */
	assert_int_equal(parse_size("4096", 1, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("3", 1ull << 10, &v), 0);
	assert_int_equal(v, 3072);
	/* The largest T count that fits in 64 bits. */
	assert_int_equal(parse_size("16777215T", MiB, &v), 0);
	assert_true(v == 16777215ull << 40);
}

static void test_parse_size_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "M", "-1", "12Q", "1Mx", "99999999999999999999G", "99999999999999999999",
		"16777216T", " 1M", "1 M", "1M ", "0x10M", "1.5G", "1MiBx", "+1M", "1KK",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 0x1234;
		int rc = parse_size(bad[i], MiB, &v);
		if (rc != -EINVAL)
			fail_msg("parse_size(\"%s\") = %d (value %llu), want -EINVAL", bad[i], rc, (unsigned long long)v);
		if (v != 0x1234)
			fail_msg("parse_size(\"%s\") wrote its output on failure", bad[i]);
	}
	uint64_t v;
	assert_int_equal(parse_size(NULL, MiB, &v), -EINVAL);
}

static void test_parse_uint(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_int_equal(parse_uint("0", 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("123", 1000, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(parse_uint("0x10", 1000, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(parse_uint("0XfF", 1000, &v), 0);
	assert_int_equal(v, 255);
	assert_int_equal(parse_uint("0xf4", 0xffff, &v), 0);
	assert_int_equal(v, 0xf4);

	/* The bound is inclusive. */
	assert_int_equal(parse_uint("65535", 0xffff, &v), 0);
	assert_int_equal(v, 65535);
	assert_int_equal(parse_uint("0xffff", 0xffff, &v), 0);
	assert_int_equal(v, 0xffff);
	v = 77;
	assert_int_equal(parse_uint("65536", 0xffff, &v), -EINVAL);
	assert_int_equal(parse_uint("0x10000", 0xffff, &v), -EINVAL);
	assert_int_equal(v, 77);
	assert_int_equal(parse_uint("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(parse_uint("18446744073709551616", UINT64_MAX, &v), -EINVAL);

	static const char *const bad[] = { "-1", " 1", "1 ", "", "+1", "abc", "1a", "0x", "12k", "\t1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 99;
		int rc = parse_uint(bad[i], UINT64_MAX, &v);
		if (rc != -EINVAL)
			fail_msg("parse_uint(\"%s\") = %d (value %llu), want -EINVAL", bad[i], rc, (unsigned long long)v);
		if (v != 99)
			fail_msg("parse_uint(\"%s\") wrote its output on failure", bad[i]);
	}
	assert_int_equal(parse_uint(NULL, 10, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_override),
		cmocka_unit_test(test_set_assignment_good),
		cmocka_unit_test(test_set_assignment_refused),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_load_file_bad_line),
		cmocka_unit_test(test_load_file_missing),
		cmocka_unit_test(test_get_bool),
		cmocka_unit_test(test_get_uint),
		cmocka_unit_test(test_parse_size_good),
		cmocka_unit_test(test_parse_size_bad),
		cmocka_unit_test(test_parse_uint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
