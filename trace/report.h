/* Reports over a trace file: a perf-kvm-stat-like text table, JSON, CSV, a Chrome/Perfetto
 * trace-event file and a self-contained HTML page with SVG charts. */
#ifndef DHYVE_TRACE_REPORT_H
#define DHYVE_TRACE_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "base/errmsg.h"
#include "trace/stats.h"
#include "trace/tracefile.h"

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_CSV, REPORT_PERFETTO, REPORT_HTML };
enum report_sort { REPORT_SORT_COUNT, REPORT_SORT_TIME };

struct report_options {
	enum report_format format;
	enum report_sort sort;
	bool decode;   /* decode the instruction at each exit's RIP and group by instruction */
	unsigned top;  /* rows in the top-ports/addresses/instructions tables (default 10) */
};

/* Computes the statistics of d and writes the report in o->format; fails on a write error. */
int report_write(FILE *out, const struct trace_data *d, const struct report_options *o, struct errmsg *e);

/* "text", "json", "csv", "perfetto", "html" / "count", "time": -EINVAL for anything else. */
int report_parse_format(const char *name, enum report_format *f);
int report_parse_sort(const char *name, enum report_sort *s);

/* The formats, over statistics computed once (with o->decode and o->sort applied). top == 0
 * means no limit. Write errors are left in ferror(out) for report_write to find. */
void report_text(FILE *out, const struct trace_data *d, const struct trace_stats *s, const struct report_options *o);
void report_json(FILE *out, const struct trace_data *d, const struct trace_stats *s, const struct report_options *o);
void report_csv(FILE *out, const struct trace_data *d, const struct trace_stats *s, const struct report_options *o);
void report_perfetto(FILE *out, const struct trace_data *d, const struct trace_stats *s, const struct report_options *o);
void report_html(FILE *out, const struct trace_data *d, const struct trace_stats *s, const struct report_options *o);

/* s as a quoted JSON string. Control characters and bytes >= 0x80 become \u00XX, so any VM name
 * or instruction text yields valid JSON (at the price of showing UTF-8 as Latin-1). */
void report_json_string(FILE *out, const char *s);

/* How many of n rows a "top" table shows. */
size_t report_top_rows(const struct report_options *o, size_t n);

#endif
