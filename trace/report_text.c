/* The text report, laid out like `perf kvm stat report`: an event table, the same per vCPU, the
 * busiest ports and MMIO addresses, latency histograms as bars and, decoded, instructions. */
#include "trace/report.h"

#include <inttypes.h>

#define BAR_WIDTH 40

static double us(double ns) { return ns / 1000.0; }

static void summary_columns(FILE *out, const struct stats_summary *s, double count_pct, double time_pct)
{
	fprintf(out, " %10" PRIu64 " %7.2f%% %7.2f%% %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f\n", s->count, count_pct,
		time_pct, us(s->min_ns), us(s->max_ns), us(s->avg_ns), us(s->p50_ns), us(s->p99_ns), us(s->stddev_ns));
}

static const char columns[] = " %10s %8s %8s %10s %10s %10s %10s %10s %10s\n";

/* The name comes from a file: control characters must not reach the terminal. */
static void print_name(FILE *out, const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		fputc(*p >= 0x20 && *p < 0x7f ? *p : '?', out);
}

static void print_header(FILE *out, const struct trace_data *d, const struct trace_stats *s)
{
	fputs("Analyze events for VM \"", out);
	print_name(out, d->vm_name);
	fprintf(out, "\": %" PRIu32 " vCPU%s, %" PRIu64 " records, %" PRIu64 " lost, span %.6f s\n\n", s->nvcpus,
		s->nvcpus == 1 ? "" : "s", s->nrecords, s->lost, (double)(s->last_ns - s->first_ns) / 1e9);
}

static void print_events(FILE *out, const struct trace_stats *s, const struct report_options *o)
{
	enum vmexit_kind order[VMEXIT__COUNT];
	unsigned n = stats_kind_order(s->kinds, o->sort == REPORT_SORT_TIME, order);
	fprintf(out, "%18s", "Event name");
	fprintf(out, columns, "Samples", "Sample%", "Time%", "Min_us", "Max_us", "Avg_us", "p50_us", "p99_us", "Stddev_us");
	for (unsigned i = 0; i < n; i++) {
		const struct stats_kind *k = &s->kinds[order[i]];
		fprintf(out, "%18s", vmexit_kind_name(order[i]));
		summary_columns(out, &k->s, k->count_pct, k->time_pct);
	}
	fprintf(out, "%18s", "Total");
	summary_columns(out, &s->all, s->all.count ? 100.0 : 0.0, s->all.total_ns ? 100.0 : 0.0);
}

/* A vCPU's "all" row gives its share of the trace; its kind rows, shares of that vCPU. */
static void print_vcpus(FILE *out, const struct trace_stats *s, const struct report_options *o)
{
	fprintf(out, "\nPer vCPU (the all row: share of the trace; kind rows: share of the vCPU):\n%6s %18s", "vCPU",
		"Event name");
	fprintf(out, columns, "Samples", "Sample%", "Time%", "Min_us", "Max_us", "Avg_us", "p50_us", "p99_us", "Stddev_us");
	for (uint32_t i = 0; i < s->nvcpus; i++) {
		const struct stats_vcpu *v = &s->vcpus[i];
		fprintf(out, "%6" PRIu32 " %18s", v->index, "all");
		summary_columns(out, &v->all, s->all.count ? 100.0 * (double)v->all.count / (double)s->all.count : 0.0,
				s->all.total_ns ? 100.0 * (double)v->all.total_ns / (double)s->all.total_ns : 0.0);
		enum vmexit_kind order[VMEXIT__COUNT];
		unsigned n = stats_kind_order(v->kinds, o->sort == REPORT_SORT_TIME, order);
		for (unsigned k = 0; k < n; k++) {
			fprintf(out, "%6s %18s", "", vmexit_kind_name(order[k]));
			summary_columns(out, &v->kinds[order[k]].s, v->kinds[order[k]].count_pct, v->kinds[order[k]].time_pct);
		}
		if (v->lost)
			fprintf(out, "%6s %18s %10" PRIu64 " (overwritten before the dump)\n", "", "lost", v->lost);
	}
}

static void print_ports(FILE *out, const struct trace_stats *s, const struct report_options *o)
{
	size_t n = report_top_rows(o, s->nports);
	if (n == 0)
		return;
	uint64_t all = s->kinds[VMEXIT_PIO].s.count;
	fprintf(out, "\nTop I/O ports (%zu of %zu):\n%8s %4s %10s %8s %12s %10s\n", n, s->nports, "Port", "Dir", "Samples",
		"of pio", "Time_us", "Avg_us");
	for (size_t i = 0; i < n; i++) {
		const struct stats_site *p = &s->ports[i];
		fprintf(out, "  0x%04" PRIx64 " %4s %10" PRIu64 " %7.2f%% %12.2f %10.2f\n", p->addr, p->is_write ? "out" : "in",
			p->count, 100.0 * (double)p->count / (double)all, us((double)p->total_ns),
			us((double)p->total_ns / (double)p->count));
	}
}

static void print_mmio(FILE *out, const struct trace_stats *s, const struct report_options *o)
{
	size_t n = report_top_rows(o, s->nmmio);
	if (n == 0)
		return;
	uint64_t all = s->kinds[VMEXIT_MMIO].s.count;
	fprintf(out, "\nTop MMIO addresses (%zu of %zu):\n%18s %10s %10s %8s %12s %10s\n", n, s->nmmio, "Address", "Samples",
		"Writes", "of mmio", "Time_us", "Avg_us");
	for (size_t i = 0; i < n; i++) {
		const struct stats_site *m = &s->mmio[i];
		fprintf(out, "0x%016" PRIx64 " %10" PRIu64 " %10" PRIu64 " %7.2f%% %12.2f %10.2f\n", m->addr, m->count, m->writes,
			100.0 * (double)m->count / (double)all, us((double)m->total_ns), us((double)m->total_ns / (double)m->count));
	}
}

/* Bars for the buckets from the lowest to the highest one used, scaled to the fullest. */
static void print_histogram(FILE *out, const uint64_t hist[STATS_HIST_BUCKETS], enum vmexit_kind kind, uint64_t count)
{
	unsigned lo, hi;
	uint64_t peak;
	stats_hist_range(hist, &lo, &hi, &peak);
	fprintf(out, "\nLatency histogram: %s (%" PRIu64 " exits; handling time in us)\n", vmexit_kind_name(kind), count);
	for (unsigned b = lo; b <= hi && peak; b++) {
		unsigned w = (unsigned)((hist[b] * BAR_WIDTH + peak - 1) / peak);
		fprintf(out, "  [%12.3f, %12.3f) %10" PRIu64 " |", us(b ? (double)(1ull << b) : 0.0), us((double)(2ull << b)), hist[b]);
		for (unsigned i = 0; i < BAR_WIDTH; i++)
			fputc(i < w ? '#' : ' ', out);
		fputs("|\n", out);
	}
}

static void print_insns(FILE *out, const struct trace_stats *s, const struct report_options *o)
{
	size_t n = report_top_rows(o, s->ninsns);
	fprintf(out, "\nTop instructions at exits (%zu of %zu):\n%10s %8s %12s %-18s %s\n", n, s->ninsns, "Samples", "Sample%",
		"Time_us", "Event name", "Instruction");
	for (size_t i = 0; i < n; i++) {
		const struct stats_insn *in = &s->insns[i];
		fprintf(out, "%10" PRIu64 " %7.2f%% %12.2f %-18s %s (%s)\n", in->count,
			100.0 * (double)in->count / (double)s->all.count, us((double)in->total_ns),
			vmexit_kind_name((enum vmexit_kind)in->kind), in->line, stats_mode_name(in->mode));
	}
}

static void print_emulated(FILE *out, const struct trace_stats *s)
{
	fprintf(out, "\nInstructions KVM could not emulate, completed in user space by dhyve's fallback (%zu):\n"
		     "%10s %12s %10s  %s\n", s->nemulated, "Samples", "Time_us", "Avg_us", "Instruction");
	for (size_t i = 0; i < s->nemulated; i++) {
		const struct stats_emulated *m = &s->emulated[i];
		fprintf(out, "%10" PRIu64 " %12.2f %10.2f  %s\n", m->count, us((double)m->total_ns),
			us((double)m->total_ns / (double)m->count), m->mnemonic);
	}
}

void report_text(FILE *out, const struct trace_data *d, const struct trace_stats *s, const struct report_options *o)
{
	print_header(out, d, s);
	print_events(out, s, o);
	print_vcpus(out, s, o);
	print_ports(out, s, o);
	print_mmio(out, s, o);
	enum vmexit_kind order[VMEXIT__COUNT];
	unsigned n = stats_kind_order(s->kinds, o->sort == REPORT_SORT_TIME, order);
	for (unsigned i = 0; i < n; i++)
		print_histogram(out, s->hist[order[i]], order[i], s->kinds[order[i]].s.count);
	if (s->nemulated)
		print_emulated(out, s);
	if (o->decode)
		print_insns(out, s, o);
}
