/* dhyve-report: reads a trace file that dhyve dumped and prints a report on its exits as text,
 * JSON, CSV, a Perfetto/Chrome trace or an HTML page. Needs no KVM; see dhyve-report(1). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/report.h"
#include "trace/tracefile.h"

static const char usage[] =
	"usage: dhyve-report [--format=text|json|csv|perfetto|html] [--sort=count|time] [--decode]\n"
	"                    [--top=N] [-o OUTFILE] TRACEFILE\n";

struct args {
	struct report_options opt;
	const char *outfile; /* NULL: stdout */
	const char *tracefile;
};

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "dhyve-report: %s: %s\n", what, why);
	return 1;
}

static int bad_value(const char *option, const char *value, const char *why)
{
	fprintf(stderr, "dhyve-report: --%s=%s: %s\n", option, value, why);
	return 1;
}

static int parse_top(const char *s, unsigned *top)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > UINT_MAX)
		return -EINVAL;
	*top = (unsigned)v;
	return 0;
}

/* Returns 0 to go on, 1 after an error message, 2 after --help. */
static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' }, { "sort", required_argument, NULL, 's' },
		{ "decode", no_argument, NULL, 'd' },       { "top", required_argument, NULL, 't' },
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*a = (struct args){ .opt = { .format = REPORT_TEXT, .sort = REPORT_SORT_COUNT, .top = 10 } };
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", longopts, NULL)) != -1) {
		if (c == 'f' && report_parse_format(optarg, &a->opt.format) < 0)
			return bad_value("format", optarg, "expected text, json, csv, perfetto or html");
		if (c == 's' && report_parse_sort(optarg, &a->opt.sort) < 0)
			return bad_value("sort", optarg, "expected count or time");
		if (c == 't' && parse_top(optarg, &a->opt.top) < 0)
			return bad_value("top", optarg, "expected a number of rows (0: all)");
		if (c == 'd')
			a->opt.decode = true;
		if (c == 'o')
			a->outfile = optarg;
		if (c == 'h') {
			fputs(usage, stdout);
			return 2;
		}
		if (c == ':' || c == '?') {
			fprintf(stderr, "dhyve-report: %s: %s\n%s", argv[optind - 1],
				c == ':' ? "option needs an argument" : "unknown option", usage);
			return 1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "dhyve-report: %s\n%s", optind == argc ? "no trace file given" : "more than one trace file given", usage);
		return 1;
	}
	a->tracefile = argv[optind];
	return 0;
}

/* Writes the report to an open stream and closes it; the message says what failed. */
static int write_and_close(FILE *f, const struct args *a, const struct trace_data *d, struct errmsg *e)
{
	int rc = report_write(f, d, &a->opt, e);
	if (fclose(f) != 0 && rc == 0)
		rc = errmsg_set(e, errno, "write error: %s", strerror(errno));
	return rc;
}

/* -o writes a temporary file beside OUTFILE and renames it, so that a failed or interrupted run
 * never leaves a half report under the name a browser or script will open. An existing
 * OUTFILE that is not a regular file (/dev/stdout, a FIFO) is written in place: renaming onto
 * a device node would replace the device. */
static int write_outfile(const struct args *a, const struct trace_data *d)
{
	struct errmsg e = { "" };
	struct stat st;
	if (stat(a->outfile, &st) == 0 && !S_ISREG(st.st_mode)) {
		FILE *f = fopen(a->outfile, "w");
		if (!f)
			return fail(a->outfile, strerror(errno));
		return write_and_close(f, a, d, &e) < 0 ? fail(a->outfile, e.text) : 0;
	}
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", a->outfile, (int)getpid()) >= (int)sizeof(tmp))
		return fail(a->outfile, "file name too long");
	FILE *f = fopen(tmp, "w");
	if (!f)
		return fail(tmp, strerror(errno));
	int rc = write_and_close(f, a, d, &e);
	if (rc == 0 && rename(tmp, a->outfile) != 0)
		rc = errmsg_set(&e, errno, "cannot rename %s into place: %s", tmp, strerror(errno));
	if (rc < 0) {
		unlink(tmp);
		return fail(a->outfile, e.text);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct args a;
	int rc = parse_args(argc, argv, &a);
	if (rc)
		return rc == 2 ? 0 : 1;
	const char *path = strcmp(a.tracefile, "-") == 0 ? "/dev/stdin" : a.tracefile;
	struct trace_data d;
	struct errmsg e = { "" };
	if (tracefile_read(path, &d, &e) < 0)
		return fail(a.tracefile, e.text);
	int status = 0;
	if (a.outfile)
		status = write_outfile(&a, &d);
	else if (report_write(stdout, &d, &a.opt, &e) < 0)
		status = fail("standard output", e.text);
	trace_data_free(&d);
	return status;
}
