/* JSON and CSV reports: the text report's data for programs. Addresses and RIPs are hex strings
 * because JSON readers often hold numbers as doubles, which lose bits above 2^53. */
#include "trace/report.h"

#include <inttypes.h>

static void json_summary(FILE *out, const struct stats_summary *s)
{
	fprintf(out,
		"\"count\":%" PRIu64 ",\"time_ns\":%" PRIu64 ",\"min_ns\":%" PRIu32 ",\"max_ns\":%" PRIu32
		",\"avg_ns\":%.3f,\"stddev_ns\":%.3f,\"p50_ns\":%" PRIu32 ",\"p90_ns\":%" PRIu32 ",\"p99_ns\":%" PRIu32,
		s->count, s->total_ns, s->min_ns, s->max_ns, s->avg_ns, s->stddev_ns, s->p50_ns, s->p90_ns, s->p99_ns);
}

static void json_kind(FILE *out, enum vmexit_kind k, const struct stats_kind *sk)
{
	fprintf(out, "{\"kind\":\"%s\",", vmexit_kind_name(k));
	json_summary(out, &sk->s);
	fprintf(out, ",\"count_pct\":%.4f,\"time_pct\":%.4f", sk->count_pct, sk->time_pct);
}

/* Only buckets that hold exits; bucket b covers [lo_ns, hi_ns). */
static void json_histogram(FILE *out, const uint64_t hist[STATS_HIST_BUCKETS])
{
	fputs(",\"histogram\":[", out);
	const char *sep = "";
	for (unsigned b = 0; b < STATS_HIST_BUCKETS; b++) {
		if (!hist[b])
			continue;
		fprintf(out, "%s{\"bucket\":%u,\"lo_ns\":%llu,\"hi_ns\":%llu,\"count\":%" PRIu64 "}", sep, b, b ? 1ull << b : 0ull,
			2ull << b, hist[b]);
		sep = ",";
	}
	fputc(']', out);
}

static void json_kinds(FILE *out, const struct trace_stats *s, bool by_time)
{
	enum vmexit_kind order[VMEXIT__COUNT];
	unsigned n = stats_kind_order(s->kinds, by_time, order);
	fputs(",\n\"kinds\":[", out);
	for (unsigned i = 0; i < n; i++) {
		fputs(i ? ",\n " : "\n ", out);
		json_kind(out, order[i], &s->kinds[order[i]]);
		json_histogram(out, s->hist[order[i]]);
		fputc('}', out);
	}
	fputs("]", out);
}

static void json_vcpus(FILE *out, const struct trace_stats *s, bool by_time)
{
	fputs(",\n\"vcpus\":[", out);
	for (uint32_t i = 0; i < s->nvcpus; i++) {
		const struct stats_vcpu *v = &s->vcpus[i];
		fprintf(out, "%s{\"vcpu\":%" PRIu32 ",\"lost\":%" PRIu64 ",\"total\":{", i ? ",\n " : "\n ", v->index, v->lost);
		json_summary(out, &v->all);
		fputs("},\"kinds\":[", out);
		enum vmexit_kind order[VMEXIT__COUNT];
		unsigned n = stats_kind_order(v->kinds, by_time, order);
		for (unsigned k = 0; k < n; k++) {
			fputs(k ? "," : "", out);
			json_kind(out, order[k], &v->kinds[order[k]]);
			fputc('}', out);
		}
		fputs("]}", out);
	}
	fputs("]", out);
}

static void json_sites(FILE *out, const struct trace_stats *s, const struct report_options *o)
{
	fputs(",\n\"ports\":[", out);
	for (size_t i = 0; i < report_top_rows(o, s->nports); i++) {
		const struct stats_site *p = &s->ports[i];
		fprintf(out, "%s{\"port\":%" PRIu64 ",\"direction\":\"%s\",\"count\":%" PRIu64 ",\"time_ns\":%" PRIu64 ",\"avg_ns\":%.3f}",
			i ? ",\n " : "\n ", p->addr, p->is_write ? "out" : "in", p->count, p->total_ns,
			(double)p->total_ns / (double)p->count);
	}
	fputs("],\n\"mmio\":[", out);
	for (size_t i = 0; i < report_top_rows(o, s->nmmio); i++) {
		const struct stats_site *m = &s->mmio[i];
		fprintf(out,
			"%s{\"address\":\"0x%" PRIx64 "\",\"count\":%" PRIu64 ",\"writes\":%" PRIu64 ",\"time_ns\":%" PRIu64
			",\"avg_ns\":%.3f}",
			i ? ",\n " : "\n ", m->addr, m->count, m->writes, m->total_ns, (double)m->total_ns / (double)m->count);
	}
	fputs("]", out);
}

static void json_series(FILE *out, const struct trace_stats *s)
{
	const struct stats_series *ts = &s->series;
	fprintf(out, ",\n\"series\":{\"start_ns\":%" PRIu64 ",\"bin_ns\":%" PRIu64 ",\"nbins\":%u,\"kinds\":{", ts->start_ns,
		ts->bin_ns, ts->nbins);
	const char *sep = "";
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		if (!s->kinds[k].s.count)
			continue;
		fprintf(out, "%s\n \"%s\":[", sep, vmexit_kind_name((enum vmexit_kind)k));
		for (unsigned b = 0; b < ts->nbins; b++)
			fprintf(out, "%s%" PRIu64, b ? "," : "", ts->counts[b][k]);
		fputc(']', out);
		sep = ",";
	}
	fputs("}}", out);
}

static void json_insns(FILE *out, const struct trace_stats *s, const struct report_options *o)
{
	fputs(",\n\"instructions\":[", out);
	for (size_t i = 0; i < report_top_rows(o, s->ninsns); i++) {
		const struct stats_insn *in = &s->insns[i];
		fprintf(out, "%s{\"rip\":\"0x%" PRIx64 "\",\"mode\":\"%s\",\"kind\":\"%s\",\"count\":%" PRIu64 ",\"time_ns\":%" PRIu64
			",\"bytes\":\"",
			i ? ",\n " : "\n ", in->rip, stats_mode_name(in->mode), vmexit_kind_name((enum vmexit_kind)in->kind),
			in->count, in->total_ns);
		for (unsigned b = 0; b < in->len; b++)
			fprintf(out, "%s%02x", b ? " " : "", in->bytes[b]);
		fputs("\",\"text\":", out);
		report_json_string(out, in->text);
		fputc('}', out);
	}
	fputs("]", out);
}

static void json_emulated(FILE *out, const struct trace_stats *s)
{
	fputs(",\n\"emulated\":[", out);
	for (size_t i = 0; i < s->nemulated; i++) {
		const struct stats_emulated *m = &s->emulated[i];
		fprintf(out, "%s{\"insn\":", i ? ",\n " : "\n ");
		report_json_string(out, m->mnemonic);
		fprintf(out, ",\"count\":%" PRIu64 ",\"time_ns\":%" PRIu64 "}", m->count, m->total_ns);
	}
	fputs("]", out);
}

void report_json(FILE *out, const struct trace_data *d, const struct trace_stats *s, const struct report_options *o)
{
	bool by_time = o->sort == REPORT_SORT_TIME;
	fputs("{\"dhyve_report\":1,\"vm\":", out);
	report_json_string(out, d->vm_name);
	fprintf(out,
		",\"nvcpus\":%" PRIu32 ",\"records\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"dump_ns\":%" PRIu64 ",\"first_ns\":%" PRIu64
		",\"last_ns\":%" PRIu64 ",\"span_ns\":%" PRIu64 ",\"sort\":\"%s\",\n\"total\":{",
		s->nvcpus, s->nrecords, s->lost, d->dump_ns, s->first_ns, s->last_ns, s->last_ns - s->first_ns,
		by_time ? "time" : "count");
	json_summary(out, &s->all);
	fputc('}', out);
	json_kinds(out, s, by_time);
	json_vcpus(out, s, by_time);
	json_sites(out, s, o);
	json_series(out, s);
	json_emulated(out, s);
	if (o->decode)
		json_insns(out, s, o);
	fputs("\n}\n", out);
}

/* One row per (vCPU, kind) with exits; shares are of that vCPU's exits and handling time. */
void report_csv(FILE *out, const struct trace_data *d, const struct trace_stats *s, const struct report_options *o)
{
	(void)d;
	fputs("vcpu,kind,samples,sample_pct,time_ns,time_pct,min_ns,max_ns,avg_ns,p50_ns,p90_ns,p99_ns,stddev_ns\n", out);
	for (uint32_t i = 0; i < s->nvcpus; i++) {
		const struct stats_vcpu *v = &s->vcpus[i];
		enum vmexit_kind order[VMEXIT__COUNT];
		unsigned n = stats_kind_order(v->kinds, o->sort == REPORT_SORT_TIME, order);
		for (unsigned k = 0; k < n; k++) {
			const struct stats_kind *sk = &v->kinds[order[k]];
			fprintf(out,
				"%" PRIu32 ",%s,%" PRIu64 ",%.4f,%" PRIu64 ",%.4f,%" PRIu32 ",%" PRIu32 ",%.3f,%" PRIu32 ",%" PRIu32
				",%" PRIu32 ",%.3f\n",
				v->index, vmexit_kind_name(order[k]), sk->s.count, sk->count_pct, sk->s.total_ns, sk->time_pct,
				sk->s.min_ns, sk->s.max_ns, sk->s.avg_ns, sk->s.p50_ns, sk->s.p90_ns, sk->s.p99_ns, sk->s.stddev_ns);
		}
	}
}
