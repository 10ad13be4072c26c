/* The HTML report: one self-contained page (no scripts, fonts or style sheets from elsewhere, so
 * it can be mailed or attached to a bug) with inline SVG charts and the tables of the text report. */
#include "trace/report.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Colours by exit kind, the same in every chart (Tableau 10, then three more). */
static const char *const kind_colors[VMEXIT__COUNT] = {
	[VMEXIT_PIO] = "#4e79a7", [VMEXIT_MMIO] = "#f28e2b", [VMEXIT_HLT] = "#e15759",
	[VMEXIT_SHUTDOWN] = "#76b7b2", [VMEXIT_DEBUG] = "#59a14f", [VMEXIT_EMULATION_FAIL] = "#edc948",
	[VMEXIT_FAIL_ENTRY] = "#b07aa1", [VMEXIT_SYSTEM_EVENT] = "#ff9da7", [VMEXIT_KICK] = "#9c755f",
	[VMEXIT_IRQ_WINDOW] = "#bab0ac", [VMEXIT_HYPERCALL] = "#17becf", [VMEXIT_MSR] = "#bcbd22",
	[VMEXIT_OTHER] = "#7f7f7f",
};

static const char *color(unsigned kind)
{
	return kind < VMEXIT__COUNT && kind_colors[kind] ? kind_colors[kind] : "#7f7f7f";
}

static const char style[] =
	"body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#222;"
	"max-width:1100px;margin:24px auto;padding:0 16px;background:#fff}\n"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}\n"
	".meta{color:#555;margin:0 0 16px}\n"
	"table{border-collapse:collapse;font-size:13px;margin:4px 0}\n"
	"th,td{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:left;white-space:nowrap}\n"
	"th{background:#f3f3f3;font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
	"tr:nth-child(even) td{background:#fafafa}tr.total td{font-weight:600;border-top:2px solid #bbb}\n"
	"td.code{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,monospace}\n"
	".swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}\n"
	".hists{display:flex;flex-wrap:wrap;gap:12px}\n"
	"figure{margin:0;border:1px solid #e4e4e4;border-radius:4px;padding:6px}\n"
	"figcaption{font-weight:600;margin:0 0 2px 4px}\n"
	"svg text{font:11px system-ui,Helvetica,Arial,sans-serif;fill:#333}\n"
	"svg .axis{stroke:#444;stroke-width:1}svg .grid{stroke:#e6e6e6;stroke-width:1}\n"
	"svg .title{font-size:12px;fill:#222}\n";

/* ---- escaping and numbers ---- */

/* Text from the trace file (VM name, instruction text) as HTML: markup characters become
 * entities, control characters '?', other bytes their Latin-1 character, as the JSON does. */
static void html_text(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fputc('?', out);
			else if (*p >= 0x80)
				fprintf(out, "&#%u;", *p);
			else
				fputc(*p, out);
		}
	}
}

/* Microseconds as an axis label: three significant digits, no exponent. */
static void fmt_us(double v, char *buf, size_t len)
{
	if (v == 0)
		snprintf(buf, len, "0");
	else if (v < 1)
		snprintf(buf, len, "%.3f", v);
	else if (v < 1000)
		snprintf(buf, len, "%.3g", v);
	else
		snprintf(buf, len, "%.0f", v);
}

/* A round step (1, 2 or 5 times a power of ten) giving at most about n ticks up to max. */
static double nice_step(double max, int n)
{
	if (max <= 0)
		return 1;
	double raw = max / n, p = pow(10, floor(log10(raw))), f = raw / p;
	double step = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
	return step * p < 1 ? 1 : step * p; /* counts: no fractional ticks */
}

/* ---- chart frame: plot area, y grid with count labels, axis titles ---- */

struct frame {
	double x, y, w, h; /* plot area in SVG units */
	double ymax;       /* the count at the top */
};

static void y_axis(FILE *out, const struct frame *f, const char *title)
{
	double step = nice_step(f->ymax, 5);
	for (double v = 0; v <= f->ymax + step / 2; v += step) {
		double y = f->y + f->h - v / f->ymax * f->h;
		fprintf(out, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", f->x, y, f->x + f->w, y);
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", f->x - 6, y + 4, v);
	}
	fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", f->x, f->y, f->x, f->y + f->h);
	fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", f->x, f->y + f->h, f->x + f->w,
		f->y + f->h);
	fprintf(out, "<text class=\"title\" transform=\"translate(%.1f,%.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
		f->x - 44, f->y + f->h / 2, title);
}

/* ymax rounded up to a whole tick, so the top grid line is labelled. */
static double round_up(uint64_t max)
{
	double step = nice_step((double)max, 5);
	double top = ceil((double)max / step) * step;
	return top > 0 ? top : 1;
}

/* ---- (a) exits over time: stacked bars per time bin, one colour per kind ---- */

/* Time unit for the x axis, from the span. */
static void time_unit(double span_ns, double *div, const char **name)
{
	if (span_ns >= 2e9)
		*div = 1e9, *name = "s";
	else if (span_ns >= 2e6)
		*div = 1e6, *name = "ms";
	else
		*div = 1e3, *name = "\xc2\xb5s";
}

static void time_axis(FILE *out, const struct frame *f, const struct stats_series *ts)
{
	double div;
	const char *unit;
	double span = (double)ts->nbins * (double)ts->bin_ns; /* as a double: cannot wrap */
	time_unit(span, &div, &unit);
	for (unsigned i = 0; i <= 5; i++) {
		double x = f->x + f->w * i / 5;
		fprintf(out, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", x, f->y + f->h, x, f->y + f->h + 4);
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.3g</text>\n", x, f->y + f->h + 16,
			span * i / 5 / div);
	}
	fprintf(out, "<text class=\"title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time since the first exit (%s)</text>\n",
		f->x + f->w / 2, f->y + f->h + 34, unit);
}

static void legend(FILE *out, double x, double y, const enum vmexit_kind *order, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>", x, y + 18.0 * i,
			color(order[i]));
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x + 18, y + 18.0 * i + 10, vmexit_kind_name(order[i]));
	}
}

static void chart_over_time(FILE *out, const struct trace_stats *s, const enum vmexit_kind *order, unsigned n)
{
	const struct stats_series *ts = &s->series;
	uint64_t peak = 0;
	for (unsigned b = 0; b < ts->nbins; b++) {
		uint64_t sum = 0;
		for (unsigned k = 0; k < VMEXIT__COUNT; k++)
			sum += ts->counts[b][k];
		peak = sum > peak ? sum : peak;
	}
	struct frame f = { .x = 70, .y = 14, .w = 780, .h = 260, .ymax = round_up(peak) };
	fputs("<svg id=\"exits-over-time\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 1000 330\" width=\"1000\" height=\"330\" "
	      "role=\"img\" aria-label=\"exits over time, stacked by kind\">\n", out);
	y_axis(out, &f, "exits per bin");
	time_axis(out, &f, ts);
	double bw = f.w / ts->nbins;
	for (unsigned b = 0; b < ts->nbins; b++) {
		double y = f.y + f.h;
		for (unsigned i = 0; i < n; i++) {
			uint64_t c = ts->counts[b][order[i]];
			if (!c)
				continue;
			double h = (double)c / f.ymax * f.h;
			y -= h;
			fprintf(out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"><title>%s: %" PRIu64
				     " exits in bin %u</title></rect>\n",
				f.x + b * bw, y, bw > 1.5 ? bw - 0.5 : bw, h, color(order[i]), vmexit_kind_name(order[i]), c, b);
		}
	}
	if (n == 0)
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no exits in this trace</text>\n", f.x + f.w / 2,
			f.y + f.h / 2);
	legend(out, f.x + f.w + 24, f.y, order, n);
	fputs("</svg>\n", out);
}

/* ---- (b) one latency histogram per kind: a bar per log2 bucket from the lowest used ---- */

static void histogram_chart(FILE *out, const uint64_t hist[STATS_HIST_BUCKETS], enum vmexit_kind kind)
{
	unsigned lo, hi;
	uint64_t peak;
	if (!stats_hist_range(hist, &lo, &hi, &peak))
		return;
	/* At least six buckets wide, so one busy bucket is not a wall of colour. */
	while (hi - lo < 5 && (hi < STATS_HIST_BUCKETS - 1 || lo > 0))
		hi < STATS_HIST_BUCKETS - 1 ? hi++ : lo--;
	unsigned nb = hi - lo + 1;
	struct frame f = { .x = 62, .y = 12, .w = 440, .h = 170, .ymax = round_up(peak) };
	fprintf(out, "<figure><figcaption><span class=\"swatch\" style=\"background:%s\"></span>%s</figcaption>\n", color(kind),
		vmexit_kind_name(kind));
	fprintf(out, "<svg class=\"latency-histogram\" data-kind=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 520 250\" "
		     "width=\"520\" height=\"250\" role=\"img\" aria-label=\"handling-time histogram of %s exits\">\n",
		vmexit_kind_name(kind), vmexit_kind_name(kind));
	y_axis(out, &f, "exits");
	double bw = f.w / nb;
	unsigned every = nb > 12 ? 2 : 1;
	for (unsigned b = lo; b <= hi; b++) {
		double x = f.x + (b - lo) * bw, h = (double)hist[b] / f.ymax * f.h;
		char lo_us[32], hi_us[32];
		fmt_us(b ? (double)(1ull << b) / 1000 : 0, lo_us, sizeof(lo_us));
		fmt_us((double)(2ull << b) / 1000, hi_us, sizeof(hi_us));
		if (hist[b])
			fprintf(out, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"><title>[%s, %s) \xc2\xb5s: %" PRIu64
				     " exits</title></rect>\n",
				x + 1, f.y + f.h - h, bw - 2, h, color(kind), lo_us, hi_us, hist[b]);
		if ((b - lo) % every == 0)
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" transform=\"rotate(-40 %.1f %.1f)\">%s</text>\n", x + 4,
				f.y + f.h + 14, x + 4, f.y + f.h + 14, lo_us);
	}
	fprintf(out, "<text class=\"title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">handling time (\xc2\xb5s, log2 buckets; lower bounds)</text>\n",
		f.x + f.w / 2, f.y + f.h + 56);
	fputs("</svg></figure>\n", out);
}

/* ---- (c) tables ---- */

static void num_cells(FILE *out, const struct stats_summary *s, double count_pct, double time_pct)
{
	fprintf(out,
		"<td class=\"num\">%" PRIu64 "</td><td class=\"num\">%.2f%%</td><td class=\"num\">%.2f%%</td>"
		"<td class=\"num\">%.2f</td><td class=\"num\">%.2f</td><td class=\"num\">%.2f</td><td class=\"num\">%.2f</td>"
		"<td class=\"num\">%.2f</td><td class=\"num\">%.2f</td><td class=\"num\">%.2f</td>",
		s->count, count_pct, time_pct, s->min_ns / 1e3, s->max_ns / 1e3, s->avg_ns / 1e3, s->p50_ns / 1e3, s->p90_ns / 1e3,
		s->p99_ns / 1e3, s->stddev_ns / 1e3);
}

static const char summary_heads[] =
	"<th class=\"num\">Samples</th><th class=\"num\">Sample%</th><th class=\"num\">Time%</th><th class=\"num\">Min \xc2\xb5s</th>"
	"<th class=\"num\">Max \xc2\xb5s</th><th class=\"num\">Avg \xc2\xb5s</th><th class=\"num\">p50 \xc2\xb5s</th>"
	"<th class=\"num\">p90 \xc2\xb5s</th><th class=\"num\">p99 \xc2\xb5s</th><th class=\"num\">Stddev \xc2\xb5s</th>";

static void kind_cell(FILE *out, enum vmexit_kind k)
{
	fprintf(out, "<td><span class=\"swatch\" style=\"background:%s\"></span>%s</td>", color(k), vmexit_kind_name(k));
}

static void summary_table(FILE *out, const struct trace_stats *s, const enum vmexit_kind *order, unsigned n)
{
	fprintf(out, "<table id=\"summary\"><thead><tr><th>Event name</th>%s</tr></thead><tbody>\n", summary_heads);
	for (unsigned i = 0; i < n; i++) {
		fputs("<tr>", out);
		kind_cell(out, order[i]);
		num_cells(out, &s->kinds[order[i]].s, s->kinds[order[i]].count_pct, s->kinds[order[i]].time_pct);
		fputs("</tr>\n", out);
	}
	fputs("<tr class=\"total\"><td>Total</td>", out);
	num_cells(out, &s->all, s->all.count ? 100 : 0, s->all.total_ns ? 100 : 0);
	fputs("</tr></tbody></table>\n", out);
}

static void vcpu_table(FILE *out, const struct trace_stats *s, bool by_time)
{
	fprintf(out, "<h2>Per vCPU</h2>\n<p class=\"meta\">The all row gives the vCPU's share of the trace; kind rows, shares of "
		     "the vCPU.</p>\n<table id=\"vcpus\"><thead><tr><th>vCPU</th><th>Event name</th>%s<th class=\"num\">Lost</th></tr>"
		     "</thead><tbody>\n",
		summary_heads);
	for (uint32_t i = 0; i < s->nvcpus; i++) {
		const struct stats_vcpu *v = &s->vcpus[i];
		fprintf(out, "<tr class=\"total\"><td>%" PRIu32 "</td><td>all</td>", v->index);
		num_cells(out, &v->all, s->all.count ? 100.0 * (double)v->all.count / (double)s->all.count : 0,
			  s->all.total_ns ? 100.0 * (double)v->all.total_ns / (double)s->all.total_ns : 0);
		fprintf(out, "<td class=\"num\">%" PRIu64 "</td></tr>\n", v->lost);
		enum vmexit_kind order[VMEXIT__COUNT];
		unsigned n = stats_kind_order(v->kinds, by_time, order);
		for (unsigned k = 0; k < n; k++) {
			fprintf(out, "<tr><td>%" PRIu32 "</td>", v->index);
			kind_cell(out, order[k]);
			num_cells(out, &v->kinds[order[k]].s, v->kinds[order[k]].count_pct, v->kinds[order[k]].time_pct);
			fputs("<td></td></tr>\n", out);
		}
	}
	fputs("</tbody></table>\n", out);
}

static void site_tables(FILE *out, const struct trace_stats *s, const struct report_options *o)
{
	size_t n = report_top_rows(o, s->nports);
	if (n) {
		fprintf(out, "<h2>Top I/O ports (%zu of %zu)</h2>\n<table id=\"ports\"><thead><tr><th>Port</th><th>Dir</th>"
			     "<th class=\"num\">Samples</th><th class=\"num\">Time \xc2\xb5s</th><th class=\"num\">Avg \xc2\xb5s</th>"
			     "</tr></thead><tbody>\n",
			n, s->nports);
		for (size_t i = 0; i < n; i++) {
			const struct stats_site *p = &s->ports[i];
			fprintf(out, "<tr><td class=\"code\">0x%04" PRIx64 "</td><td>%s</td><td class=\"num\">%" PRIu64
				     "</td><td class=\"num\">%.2f</td><td class=\"num\">%.2f</td></tr>\n",
				p->addr, p->is_write ? "out" : "in", p->count, p->total_ns / 1e3, (double)p->total_ns / (double)p->count / 1e3);
		}
		fputs("</tbody></table>\n", out);
	}
	n = report_top_rows(o, s->nmmio);
	if (n) {
		fprintf(out, "<h2>Top MMIO addresses (%zu of %zu)</h2>\n<table id=\"mmio\"><thead><tr><th>Address</th>"
			     "<th class=\"num\">Samples</th><th class=\"num\">Writes</th><th class=\"num\">Time \xc2\xb5s</th>"
			     "<th class=\"num\">Avg \xc2\xb5s</th></tr></thead><tbody>\n",
			n, s->nmmio);
		for (size_t i = 0; i < n; i++) {
			const struct stats_site *m = &s->mmio[i];
			fprintf(out, "<tr><td class=\"code\">0x%016" PRIx64 "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64
				     "</td><td class=\"num\">%.2f</td><td class=\"num\">%.2f</td></tr>\n",
				m->addr, m->count, m->writes, m->total_ns / 1e3, (double)m->total_ns / (double)m->count / 1e3);
		}
		fputs("</tbody></table>\n", out);
	}
}

static void emulated_table(FILE *out, const struct trace_stats *s)
{
	if (!s->nemulated)
		return;
	fprintf(out, "<h2>Instructions KVM could not emulate, completed in user space (%zu)</h2>\n<table id=\"emulated\">"
		     "<thead><tr><th class=\"num\">Samples</th><th class=\"num\">Time \xc2\xb5s</th><th class=\"num\">Avg \xc2\xb5s"
		     "</th><th>Instruction</th></tr></thead><tbody>\n", s->nemulated);
	for (size_t i = 0; i < s->nemulated; i++) {
		const struct stats_emulated *m = &s->emulated[i];
		fprintf(out, "<tr><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%.2f</td><td class=\"num\">%.2f</td>"
			     "<td class=\"code\">", m->count, m->total_ns / 1e3, (double)m->total_ns / (double)m->count / 1e3);
		html_text(out, m->mnemonic);
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody></table>\n", out);
}

static void insn_table(FILE *out, const struct trace_stats *s, const struct report_options *o)
{
	size_t n = report_top_rows(o, s->ninsns);
	fprintf(out, "<h2>Top instructions at exits (%zu of %zu)</h2>\n<table id=\"instructions\"><thead><tr><th class=\"num\">"
		     "Samples</th><th class=\"num\">Time \xc2\xb5s</th><th>Event name</th><th>RIP</th><th>Mode</th><th>Bytes</th>"
		     "<th>Instruction</th></tr></thead><tbody>\n",
		n, s->ninsns);
	for (size_t i = 0; i < n; i++) {
		const struct stats_insn *in = &s->insns[i];
		fprintf(out, "<tr><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%.2f</td>", in->count, in->total_ns / 1e3);
		kind_cell(out, (enum vmexit_kind)in->kind);
		fprintf(out, "<td class=\"code\">0x%016" PRIx64 "</td><td>%s</td><td class=\"code\">", in->rip, stats_mode_name(in->mode));
		for (unsigned b = 0; b < in->len; b++)
			fprintf(out, "%s%02x", b ? " " : "", in->bytes[b]);
		fputs("</td><td class=\"code\">", out);
		html_text(out, in->text);
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody></table>\n", out);
}

/* ---- the page ---- */

static void page_head(FILE *out, const struct trace_data *d, const struct trace_stats *s)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>VM exits of ", out);
	html_text(out, d->vm_name);
	fprintf(out, " \xe2\x80\x94 dhyve-report</title>\n<style>\n%s</style></head>\n<body>\n<h1>VM exits of <q>", style);
	html_text(out, d->vm_name);
	fprintf(out, "</q></h1>\n<p class=\"meta\">%" PRIu32 " vCPU%s \xc2\xb7 %" PRIu64 " records \xc2\xb7 %" PRIu64
		     " lost (overwritten before the dump) \xc2\xb7 span %.6f s</p>\n",
		s->nvcpus, s->nvcpus == 1 ? "" : "s", s->nrecords, s->lost, (double)(s->last_ns - s->first_ns) / 1e9);
}

void report_html(FILE *out, const struct trace_data *d, const struct trace_stats *s, const struct report_options *o)
{
	bool by_time = o->sort == REPORT_SORT_TIME;
	enum vmexit_kind order[VMEXIT__COUNT];
	unsigned n = stats_kind_order(s->kinds, by_time, order);
	page_head(out, d, s);
	fputs("<h2>Exits over time</h2>\n", out);
	chart_over_time(out, s, order, n);
	fputs("<h2>Summary</h2>\n", out);
	summary_table(out, s, order, n);
	fputs("<h2>Handling-time histograms</h2>\n<div class=\"hists\">\n", out);
	for (unsigned i = 0; i < n; i++)
		histogram_chart(out, s->hist[order[i]], order[i]);
	fputs("</div>\n", out);
	vcpu_table(out, s, by_time);
	site_tables(out, s, o);
	emulated_table(out, s);
	if (o->decode)
		insn_table(out, s, o);
	fputs("<p class=\"meta\">Made by dhyve-report. Times are dhyve's handling time per exit (from KVM_RUN's return to "
	      "the next entry).</p>\n</body></html>\n", out);
}
