/* Statistics over traces built in memory (percentiles, summaries, top ports, histograms, time
 * series, decoded instructions) and what each report format makes of them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace/report.h"
#include "trace/stats.h"

/* ---- building traces ---- */

#define MAX_RECS 256

struct builder {
	struct trace_data d;
	struct trace_vcpu_data v[2];
	struct trace_record r[2][MAX_RECS];
	struct trace_insn insns[4];
};

static struct builder *new_trace(uint32_t nvcpus)
{
	struct builder *b = calloc(1, sizeof(*b));
	assert_non_null(b);
	b->d.nvcpus = nvcpus;
	b->d.vcpus = b->v;
	for (uint32_t i = 0; i < nvcpus; i++)
		b->v[i] = (struct trace_vcpu_data){ .index = i, .records = b->r[i] };
	snprintf(b->d.vm_name, sizeof(b->d.vm_name), "statvm");
	return b;
}

static struct trace_record *add(struct builder *b, uint32_t vcpu, uint8_t kind, uint64_t t, uint32_t ns)
{
	struct trace_vcpu_data *v = &b->v[vcpu];
	assert_true(v->nrecords < MAX_RECS);
	struct trace_record *r = &b->r[vcpu][v->nrecords++];
	*r = (struct trace_record){ .time_ns = t, .handle_ns = ns, .kind = kind, .count = 1, .vcpu = (uint8_t)vcpu,
				    .mode = VCPU_MODE_LONG64, .rip = 0x1000 };
	return r;
}

static struct trace_record *add_io(struct builder *b, uint32_t vcpu, uint8_t kind, uint64_t addr, uint8_t write,
				   uint64_t t, uint32_t ns)
{
	struct trace_record *r = add(b, vcpu, kind, t, ns);
	r->addr = addr;
	r->is_write = write;
	return r;
}

static void compute(const struct builder *b, bool decode, unsigned nbins, struct trace_stats *s)
{
	struct stats_options o = { .decode = decode, .nbins = nbins };
	struct errmsg e = { "" };
	assert_int_equal(stats_compute(&b->d, &o, s, &e), 0);
}

/* ---- statistics ---- */

static void test_percentiles_nearest_rank(void **state)
{
	(void)state;
	struct builder *b = new_trace(1);
	for (uint32_t i = 0; i < 100; i++) /* 1..100 in a scrambled order: 37 is coprime to 100 */
		add(b, 0, VMEXIT_PIO, i, (i * 37) % 100 + 1);
	struct trace_stats s;
	compute(b, false, 0, &s);
	const struct stats_summary *p = &s.kinds[VMEXIT_PIO].s;
	assert_int_equal(p->count, 100);
	assert_int_equal(p->p50_ns, 50);
	assert_int_equal(p->p90_ns, 90);
	assert_int_equal(p->p99_ns, 99);
	assert_int_equal(p->min_ns, 1);
	assert_int_equal(p->max_ns, 100);
	assert_int_equal(p->total_ns, 5050);
	assert_true(p->avg_ns == 50.5);
	assert_true(fabs(p->stddev_ns - sqrt(833.25)) < 1e-9); /* population: (n^2 - 1) / 12 */
	assert_true(s.kinds[VMEXIT_PIO].count_pct == 100.0);
	assert_true(s.kinds[VMEXIT_PIO].time_pct == 100.0);
	assert_int_equal(s.all.p99_ns, 99);
	stats_free(&s);
	free(b);

	b = new_trace(1);
	add(b, 0, VMEXIT_MMIO, 0, 30);
	add(b, 0, VMEXIT_MMIO, 1, 10);
	add(b, 0, VMEXIT_MMIO, 2, 20);
	add(b, 0, VMEXIT_HLT, 3, 7);
	compute(b, false, 0, &s);
	p = &s.kinds[VMEXIT_MMIO].s;
	assert_int_equal(p->p50_ns, 20); /* rank ceil(1.5) = 2 */
	assert_int_equal(p->p90_ns, 30); /* rank ceil(2.7) = 3 */
	assert_int_equal(p->p99_ns, 30);
	assert_true(fabs(p->stddev_ns - sqrt(200.0 / 3)) < 1e-9);
	p = &s.kinds[VMEXIT_HLT].s;
	assert_int_equal(p->p50_ns, 7);
	assert_int_equal(p->p99_ns, 7);
	assert_true(p->stddev_ns == 0);
	assert_int_equal(s.kinds[VMEXIT_PIO].s.count, 0);
	assert_true(s.kinds[VMEXIT_MMIO].count_pct == 75.0);
	assert_true(fabs(s.kinds[VMEXIT_HLT].time_pct - 700.0 / 67) < 1e-9);
	stats_free(&s);
	free(b);
}

static void test_per_kind_and_per_vcpu(void **state)
{
	(void)state;
	struct builder *b = new_trace(2);
	for (unsigned i = 0; i < 6; i++)
		add(b, 0, VMEXIT_PIO, 100 + i, 1000);
	for (unsigned i = 0; i < 2; i++)
		add(b, 0, VMEXIT_MMIO, 200 + i, 4000);
	for (unsigned i = 0; i < 3; i++)
		add(b, 1, VMEXIT_PIO, 150 + i, 2000);
	add(b, 1, VMEXIT_HLT, 300, 50000);
	b->v[1].lost = 5;
	struct trace_stats s;
	compute(b, false, 0, &s);
	assert_int_equal(s.nrecords, 12);
	assert_int_equal(s.lost, 5);
	assert_int_equal(s.first_ns, 100);
	assert_int_equal(s.last_ns, 300);
	assert_int_equal(s.kinds[VMEXIT_PIO].s.count, 9);
	assert_int_equal(s.kinds[VMEXIT_PIO].s.total_ns, 12000);
	assert_int_equal(s.kinds[VMEXIT_MMIO].s.count, 2);
	assert_int_equal(s.kinds[VMEXIT_HLT].s.count, 1);
	assert_int_equal(s.nvcpus, 2);
	assert_int_equal(s.vcpus[0].all.count, 8);
	assert_int_equal(s.vcpus[0].kinds[VMEXIT_PIO].s.count, 6);
	assert_true(s.vcpus[0].kinds[VMEXIT_PIO].count_pct == 75.0);
	assert_int_equal(s.vcpus[1].all.count, 4);
	assert_int_equal(s.vcpus[1].kinds[VMEXIT_PIO].s.min_ns, 2000);
	assert_int_equal(s.vcpus[1].kinds[VMEXIT_HLT].s.max_ns, 50000);
	assert_int_equal(s.vcpus[1].lost, 5);

	enum vmexit_kind order[VMEXIT__COUNT];
	assert_int_equal(stats_kind_order(s.kinds, false, order), 3);
	assert_int_equal(order[0], VMEXIT_PIO);
	assert_int_equal(order[1], VMEXIT_MMIO);
	assert_int_equal(order[2], VMEXIT_HLT);
	assert_int_equal(stats_kind_order(s.kinds, true, order), 3);
	assert_int_equal(order[0], VMEXIT_HLT);
	assert_int_equal(order[1], VMEXIT_PIO);
	assert_int_equal(order[2], VMEXIT_MMIO);
	stats_free(&s);
	free(b);
}

static void test_top_ports_and_mmio(void **state)
{
	(void)state;
	struct builder *b = new_trace(2);
	for (unsigned i = 0; i < 5; i++)
		add_io(b, 0, VMEXIT_PIO, 0x3f8, 1, i, 100);
	for (unsigned i = 0; i < 3; i++)
		add_io(b, 1, VMEXIT_PIO, 0x3fd, 0, i, 100);
	for (unsigned i = 0; i < 3; i++)
		add_io(b, 0, VMEXIT_PIO, 0x3f8, 0, 10 + i, 900); /* same port, other direction: another key */
	add_io(b, 0, VMEXIT_PIO, 0x80, 1, 20, 10000);
	add_io(b, 1, VMEXIT_MMIO, 0xfee000b0, 1, 30, 300);
	add_io(b, 1, VMEXIT_MMIO, 0xfee000b0, 0, 31, 300);
	add_io(b, 1, VMEXIT_MMIO, 0xfee00300, 1, 32, 300);
	struct trace_stats s;
	compute(b, false, 0, &s);
	assert_int_equal(s.nports, 4);
	assert_int_equal(s.ports[0].addr, 0x3f8);
	assert_int_equal(s.ports[0].is_write, 1);
	assert_int_equal(s.ports[0].count, 5);
	assert_int_equal(s.ports[1].addr, 0x3f8); /* 3 exits and 2700 ns beat 3 exits and 300 ns */
	assert_int_equal(s.ports[1].is_write, 0);
	assert_int_equal(s.ports[1].total_ns, 2700);
	assert_int_equal(s.ports[2].addr, 0x3fd);
	assert_int_equal(s.ports[3].addr, 0x80);
	assert_int_equal(s.nmmio, 2);
	assert_int_equal(s.mmio[0].addr, 0xfee000b0);
	assert_int_equal(s.mmio[0].count, 2);
	assert_int_equal(s.mmio[0].writes, 1);
	assert_int_equal(s.mmio[1].addr, 0xfee00300);
	stats_free(&s);

	struct stats_options o = { .by_time = true };
	struct errmsg e;
	assert_int_equal(stats_compute(&b->d, &o, &s, &e), 0);
	assert_int_equal(s.ports[0].addr, 0x80);
	assert_int_equal(s.ports[1].addr, 0x3f8);
	assert_int_equal(s.ports[1].is_write, 0);
	stats_free(&s);
	free(b);
}

static void test_histogram_buckets(void **state)
{
	(void)state;
	assert_int_equal(stats_bucket(0), 0);
	assert_int_equal(stats_bucket(1), 0);
	assert_int_equal(stats_bucket(2), 1);
	assert_int_equal(stats_bucket(3), 1);
	assert_int_equal(stats_bucket(1000), 9);
	assert_int_equal(stats_bucket(1023), 9);
	assert_int_equal(stats_bucket(1024), 10);
	assert_int_equal(stats_bucket(UINT32_MAX), 31);
	struct builder *b = new_trace(1);
	add(b, 0, VMEXIT_PIO, 0, 1000);
	add(b, 0, VMEXIT_PIO, 1, 600);
	add(b, 0, VMEXIT_PIO, 2, 5000);
	add(b, 0, VMEXIT_MMIO, 3, 1000);
	struct trace_stats s;
	compute(b, false, 0, &s);
	assert_int_equal(s.hist[VMEXIT_PIO][9], 2);
	assert_int_equal(s.hist[VMEXIT_PIO][12], 1);
	assert_int_equal(s.hist[VMEXIT_MMIO][9], 1);
	assert_int_equal(s.hist[VMEXIT_MMIO][10], 0);
	stats_free(&s);
	free(b);
}

static void test_time_series(void **state)
{
	(void)state;
	struct builder *b = new_trace(2);
	for (unsigned t = 0; t < 200; t++)
		add(b, t % 2, t < 100 ? VMEXIT_PIO : VMEXIT_MMIO, 5000 + t * 5, 10); /* 5000 .. 5995 */
	struct trace_stats s;
	compute(b, false, 10, &s);
	assert_int_equal(s.series.nbins, 10);
	assert_int_equal(s.series.start_ns, 5000);
	assert_int_equal(s.series.bin_ns, 100); /* 995 / 10 + 1 */
	for (unsigned i = 0; i < 10; i++) {
		assert_int_equal(s.series.counts[i][VMEXIT_PIO], i < 5 ? 20 : 0);
		assert_int_equal(s.series.counts[i][VMEXIT_MMIO], i < 5 ? 0 : 20);
	}
	stats_free(&s);

	struct stats_options o = { .nbins = STATS_MAX_BINS + 1 };
	struct errmsg e = { "" };
	assert_true(stats_compute(&b->d, &o, &s, &e) < 0);
	assert_non_null(strstr(e.text, "time bins"));
	free(b);
}

/* One exit at an "in al, dx", two at an address the file has no bytes for, one unmapped. */
static struct builder *decode_trace(void)
{
	struct builder *b = new_trace(1);
	add_io(b, 0, VMEXIT_PIO, 0x3f8, 0, 1, 100)->rip = 0x2000;
	add(b, 0, VMEXIT_HLT, 2, 100)->rip = 0x3000;
	add(b, 0, VMEXIT_HLT, 3, 100)->rip = 0x3000;
	add(b, 0, VMEXIT_MMIO, 4, 100)->rip = 0x4000;
	b->insns[0] = (struct trace_insn){ .rip = 0x2000, .mode = VCPU_MODE_LONG64, .len = 1, .bytes = { 0xec } };
	b->insns[1] = (struct trace_insn){ .rip = 0x4000, .mode = VCPU_MODE_LONG64, .len = 0 };
	b->d.insns = b->insns;
	b->d.ninsns = 2;
	return b;
}

static void test_decode_groups_by_instruction(void **state)
{
	(void)state;
	struct builder *b = decode_trace();
	struct trace_stats s;
	compute(b, true, 0, &s);
	assert_int_equal(s.ninsns, 3);
	assert_int_equal(s.insns[0].rip, 0x3000);
	assert_int_equal(s.insns[0].count, 2);
	assert_int_equal(s.insns[0].kind, VMEXIT_HLT);
	assert_false(s.insns[0].recorded);
	assert_string_equal(s.insns[0].text, "(not in the trace file)");
	assert_int_equal(s.insns[1].rip, 0x2000);
	assert_true(s.insns[1].recorded);
	assert_string_equal(s.insns[1].text, "in al, dx");
	assert_non_null(strstr(s.insns[1].line, "0x0000000000002000"));
	assert_string_equal(s.insns[2].text, "(unmapped when the trace was dumped)");
	stats_free(&s);
	compute(b, false, 0, &s);
	assert_int_equal(s.ninsns, 0);
	assert_null(s.insns);
	stats_free(&s);
	free(b);
}

/* Emulation failures group by mnemonic (whatever the RIP), with or without --decode, and the
 * text, JSON and HTML reports show them: 3 popcnt at two RIPs, 1 vpaddd, 1 without bytes. */
static void test_emulated_by_mnemonic(void **state)
{
	(void)state;
	struct builder *b = new_trace(2);
	add(b, 0, VMEXIT_EMULATION_FAIL, 1, 4000)->rip = 0x2000;
	add(b, 1, VMEXIT_EMULATION_FAIL, 2, 6000)->rip = 0x2000;
	add(b, 0, VMEXIT_EMULATION_FAIL, 3, 5000)->rip = 0x3000;
	add(b, 0, VMEXIT_EMULATION_FAIL, 4, 30000)->rip = 0x4000;
	add(b, 0, VMEXIT_EMULATION_FAIL, 5, 1000)->rip = 0x5000;
	add_io(b, 0, VMEXIT_PIO, 0x3f8, 1, 6, 100)->rip = 0x2000; /* not an emulation failure */
	b->insns[0] = (struct trace_insn){ .rip = 0x2000, .mode = VCPU_MODE_LONG64, .len = 5, .bytes = { 0xf3, 0x48, 0x0f, 0xb8, 0xc3 } };
	b->insns[1] = (struct trace_insn){ .rip = 0x3000, .mode = VCPU_MODE_LONG64, .len = 4, .bytes = { 0xf3, 0x0f, 0xb8, 0xc3 } };
	b->insns[2] = (struct trace_insn){ .rip = 0x4000, .mode = VCPU_MODE_LONG64, .len = 4, .bytes = { 0xc5, 0xf5, 0xfe, 0xc2 } };
	b->d.insns = b->insns;
	b->d.ninsns = 3;
	struct trace_stats s;
	compute(b, false, 0, &s);
	assert_int_equal(s.nemulated, 3);
	assert_string_equal(s.emulated[0].mnemonic, "popcnt");
	assert_int_equal(s.emulated[0].count, 3);
	assert_int_equal(s.emulated[0].total_ns, 15000);
	/* ties on count: more time first */
	assert_string_equal(s.emulated[1].mnemonic, "vpaddd");
	assert_int_equal(s.emulated[1].total_ns, 30000);
	assert_string_equal(s.emulated[2].mnemonic, "(not in the trace file)");
	struct report_options o = { .top = 10 };
	char *text = NULL;
	size_t n;
	FILE *f = open_memstream(&text, &n);
	report_text(f, &b->d, &s, &o);
	fclose(f);
	assert_non_null(strstr(text, "completed in user space"));
	assert_non_null(strstr(text, "         3        15.00       5.00  popcnt"));
	free(text);
	f = open_memstream(&text, &n);
	report_json(f, &b->d, &s, &o);
	fclose(f);
	assert_non_null(strstr(text, "{\"insn\":\"popcnt\",\"count\":3,\"time_ns\":15000}"));
	free(text);
	f = open_memstream(&text, &n);
	report_html(f, &b->d, &s, &o);
	fclose(f);
	assert_non_null(strstr(text, "<table id=\"emulated\">"));
	assert_non_null(strstr(text, "vpaddd"));
	free(text);
	stats_free(&s);
	free(b);
}

static void test_empty_trace(void **state)
{
	(void)state;
	struct trace_data d = { .nvcpus = 0 };
	struct trace_stats s;
	struct errmsg e;
	struct stats_options o = { .decode = true };
	assert_int_equal(stats_compute(&d, &o, &s, &e), 0);
	assert_int_equal(s.nrecords, 0);
	assert_int_equal(s.all.count, 0);
	assert_int_equal(s.nports, 0);
	stats_free(&s);
}

/* ---- reports ---- */

static char *report(const struct trace_data *d, enum report_format f, bool decode)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	struct report_options o = { .format = f, .sort = REPORT_SORT_COUNT, .decode = decode, .top = 10 };
	struct errmsg e = { "" };
	int rc = report_write(out, d, &o, &e);
	fclose(out);
	if (rc < 0)
		fail_msg("report_write: %s", e.text);
	return buf;
}

static unsigned occurrences(const char *s, const char *needle)
{
	unsigned n = 0;
	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Not a JSON parser: strings are skipped (with their escapes) and brackets must nest and close. */
static void assert_json_balanced(const char *s)
{
	char stack[64];
	int depth = 0;
	bool in_string = false;
	for (const char *p = s; *p; p++) {
		if (in_string) {
			if ((unsigned char)*p < 0x20)
				fail_msg("raw control character in a JSON string at %td", p - s);
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_string = false;
			continue;
		}
		if (*p == '"')
			in_string = true;
		else if (*p == '{' || *p == '[') {
			assert_true(depth < 64);
			stack[depth++] = *p;
		} else if (*p == '}' || *p == ']') {
			assert_true(depth > 0);
			assert_int_equal(stack[--depth], *p == '}' ? '{' : '[');
		}
	}
	assert_false(in_string);
	assert_int_equal(depth, 0);
}

static struct builder *report_trace(void)
{
	struct builder *b = decode_trace();
	for (unsigned i = 0; i < 7; i++)
		add_io(b, 0, VMEXIT_PIO, 0x3f8, 1, 10 + i, 1200)->rip = 0x2000;
	add(b, 0, VMEXIT_MSR, 20, 800);
	b->d.nvcpus = 2;
	b->v[1] = (struct trace_vcpu_data){ .index = 1, .records = b->r[1] };
	add_io(b, 1, VMEXIT_PIO, 0x80, 1, 15, 3000);
	add_io(b, 1, VMEXIT_MMIO, 0xfee000b0, 1, 16, 3000);
	snprintf(b->d.vm_name, sizeof(b->d.vm_name), "q\"b\\s\n<&>");
	return b; /* vCPU 0: 8 pio, 2 hlt, 1 mmio, 1 msr; vCPU 1: 1 pio, 1 mmio; 14 in all */
}

static void test_report_text(void **state)
{
	(void)state;
	struct builder *b = report_trace();
	char *t = report(&b->d, REPORT_TEXT, true);
	assert_non_null(strstr(t, "2 vCPUs, 14 records, 0 lost"));
	assert_non_null(strstr(t, "q\"b\\s?<&>")); /* the newline made harmless */
	assert_non_null(strstr(t, "Event name    Samples  Sample%    Time%"));
	const char *row = strstr(t, "\n               pio ");
	assert_non_null(row);
	unsigned long count = 0;
	assert_int_equal(sscanf(row, " pio %lu", &count), 1);
	assert_int_equal(count, 9);
	assert_non_null(strstr(t, "Total"));
	assert_non_null(strstr(t, "Per vCPU"));
	assert_non_null(strstr(t, "Top I/O ports"));
	assert_non_null(strstr(t, "0x03f8  out"));
	assert_non_null(strstr(t, "Top MMIO addresses"));
	assert_non_null(strstr(t, "0x00000000fee000b0"));
	assert_non_null(strstr(t, "Latency histogram: pio"));
	assert_non_null(strstr(t, "#"));
	assert_non_null(strstr(t, "Top instructions at exits"));
	assert_non_null(strstr(t, "in al, dx"));
	free(t);
	free(b);
}

static void test_report_json(void **state)
{
	(void)state;
	struct builder *b = report_trace();
	char *j = report(&b->d, REPORT_JSON, true);
	assert_json_balanced(j);
	static const char *const keys[] = { "\"dhyve_report\":1", "\"vm\":\"q\\\"b\\\\s\\u000a<&>\"", "\"records\":14",
					    "\"kinds\":[", "\"kind\":\"pio\",\"count\":9", "\"p99_ns\":", "\"histogram\":[",
					    "\"vcpus\":[", "\"ports\":[", "\"port\":1016,\"direction\":\"out\",\"count\":7",
					    "\"mmio\":[", "\"address\":\"0xfee000b0\"", "\"series\":{", "\"instructions\":[",
					    "\"text\":\"in al, dx\"" };
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strstr(j, keys[i]))
			fail_msg("%s not in the JSON report:\n%s", keys[i], j);
	free(j);
	j = report(&b->d, REPORT_JSON, false);
	assert_json_balanced(j);
	assert_null(strstr(j, "\"instructions\""));
	free(j);
	free(b);
}

static void test_report_csv(void **state)
{
	(void)state;
	struct builder *b = report_trace();
	char *c = report(&b->d, REPORT_CSV, false);
	const char header[] = "vcpu,kind,samples,sample_pct,time_ns,time_pct,min_ns,max_ns,avg_ns,p50_ns,p90_ns,p99_ns,stddev_ns\n";
	assert_memory_equal(c, header, strlen(header));
	assert_int_equal(occurrences(c, "\n"), 1 + 6); /* vCPU 0: pio, hlt, mmio, msr; vCPU 1: pio, mmio */
	for (char *line = strchr(c, '\n') + 1; *line; line = strchr(line, '\n') + 1) {
		unsigned commas = 0;
		for (char *p = line; *p != '\n'; p++)
			commas += *p == ',';
		assert_int_equal(commas, 12);
	}
	assert_non_null(strstr(c, "\n0,pio,8,"));
	assert_non_null(strstr(c, "\n1,mmio,1,50.0000,3000,"));
	free(c);
	free(b);
}

static void test_report_perfetto(void **state)
{
	(void)state;
	struct builder *b = report_trace();
	char *p = report(&b->d, REPORT_PERFETTO, false);
	assert_json_balanced(p);
	assert_non_null(strstr(p, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":["));
	assert_int_equal(occurrences(p, "\"ph\":\"X\""), 14);
	assert_non_null(strstr(p, "\"name\":\"process_name\""));
	assert_non_null(strstr(p, "\"tid\":1,\"args\":{\"name\":\"vCPU 0\"}"));
	assert_non_null(strstr(p, "\"tid\":2,\"args\":{\"name\":\"vCPU 1\"}"));
	assert_non_null(strstr(p, "\"port\":\"0x03f8\",\"dir\":\"out\""));
	assert_non_null(strstr(p, "\"ts\":0.000,\"dur\":0.100")); /* the first exit: time 1, 100 ns */
	free(p);
	free(b);
}

static void test_report_html(void **state)
{
	(void)state;
	struct builder *b = report_trace();
	char *h = report(&b->d, REPORT_HTML, true);
	assert_memory_equal(h, "<!DOCTYPE html>", 15);
	assert_non_null(strstr(h, "<svg id=\"exits-over-time\""));
	assert_non_null(strstr(h, "<svg class=\"latency-histogram\" data-kind=\"pio\""));
	assert_non_null(strstr(h, "<svg class=\"latency-histogram\" data-kind=\"msr\""));
	assert_int_equal(occurrences(h, "class=\"latency-histogram\""), 4);
	assert_non_null(strstr(h, "<rect"));
	assert_non_null(strstr(h, "<table id=\"summary\""));
	assert_non_null(strstr(h, "<table id=\"instructions\""));
	assert_non_null(strstr(h, "q&quot;b\\s?&lt;&amp;&gt;"));
	assert_null(strstr(h, "<script"));
	assert_non_null(strstr(h, "</html>"));
	free(h);
	free(b);
}

static void test_reports_of_an_empty_trace(void **state)
{
	(void)state;
	struct trace_data d = { .nvcpus = 0 };
	for (int f = REPORT_TEXT; f <= REPORT_HTML; f++) {
		char *r = report(&d, (enum report_format)f, true);
		if (f == REPORT_JSON || f == REPORT_PERFETTO)
			assert_json_balanced(r);
		if (f == REPORT_HTML)
			assert_non_null(strstr(r, "no exits in this trace"));
		free(r);
	}
}

static void test_report_errors(void **state)
{
	(void)state;
	struct builder *b = report_trace();
	struct errmsg e = { "" };
	struct report_options o = { .format = (enum report_format)42 };
	assert_true(report_write(stdout, &b->d, &o, &e) < 0);
	assert_non_null(strstr(e.text, "unknown report format"));
	FILE *full = fopen("/dev/full", "w");
	if (full) {
		o.format = REPORT_PERFETTO;
		assert_true(report_write(full, &b->d, &o, &e) < 0);
		assert_non_null(strstr(e.text, "write error"));
		fclose(full);
	}
	enum report_format f;
	enum report_sort s;
	assert_int_equal(report_parse_format("html", &f), 0);
	assert_int_equal(f, REPORT_HTML);
	assert_true(report_parse_format("xml", &f) < 0);
	assert_int_equal(report_parse_sort("time", &s), 0);
	assert_int_equal(s, REPORT_SORT_TIME);
	assert_true(report_parse_sort("size", &s) < 0);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles_nearest_rank),
		cmocka_unit_test(test_per_kind_and_per_vcpu),
		cmocka_unit_test(test_top_ports_and_mmio),
		cmocka_unit_test(test_histogram_buckets),
		cmocka_unit_test(test_time_series),
		cmocka_unit_test(test_decode_groups_by_instruction),
		cmocka_unit_test(test_empty_trace),
		cmocka_unit_test(test_report_text),
		cmocka_unit_test(test_report_json),
		cmocka_unit_test(test_report_csv),
		cmocka_unit_test(test_report_perfetto),
		cmocka_unit_test(test_report_html),
		cmocka_unit_test(test_reports_of_an_empty_trace),
		cmocka_unit_test(test_report_errors),
		cmocka_unit_test(test_emulated_by_mnemonic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
