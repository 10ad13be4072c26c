/* report_write: computes the statistics once and hands them to the chosen format; also the
 * small pieces the formats share (format and sort names, JSON strings, "top" limits). */
#include "trace/report.h"

#include <errno.h>
#include <string.h>

static const char *const format_names[] = {
	[REPORT_TEXT] = "text", [REPORT_JSON] = "json", [REPORT_CSV] = "csv",
	[REPORT_PERFETTO] = "perfetto", [REPORT_HTML] = "html",
};

int report_parse_format(const char *name, enum report_format *f)
{
	for (unsigned i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(name, format_names[i]) == 0) {
			*f = (enum report_format)i;
			return 0;
		}
	return -EINVAL;
}

int report_parse_sort(const char *name, enum report_sort *s)
{
	if (strcmp(name, "count") == 0)
		*s = REPORT_SORT_COUNT;
	else if (strcmp(name, "time") == 0)
		*s = REPORT_SORT_TIME;
	else
		return -EINVAL;
	return 0;
}

size_t report_top_rows(const struct report_options *o, size_t n)
{
	return o->top && o->top < n ? o->top : n;
}

void report_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

int report_write(FILE *out, const struct trace_data *d, const struct report_options *o, struct errmsg *e)
{
	static void (*const formats[])(FILE *, const struct trace_data *, const struct trace_stats *,
				       const struct report_options *) = {
		[REPORT_TEXT] = report_text, [REPORT_JSON] = report_json, [REPORT_CSV] = report_csv,
		[REPORT_PERFETTO] = report_perfetto, [REPORT_HTML] = report_html,
	};
	if ((unsigned)o->format >= sizeof(formats) / sizeof(formats[0]))
		return errmsg_set(e, EINVAL, "unknown report format %d", (int)o->format);
	struct stats_options so = { .decode = o->decode, .by_time = o->sort == REPORT_SORT_TIME };
	struct trace_stats s;
	int rc = stats_compute(d, &so, &s, e);
	if (rc < 0)
		return rc;
	formats[o->format](out, d, &s, o);
	stats_free(&s);
	if (fflush(out) != 0 || ferror(out))
		return errmsg_set(e, errno ? errno : EIO, "write error: %s", strerror(errno ? errno : EIO));
	return 0;
}
