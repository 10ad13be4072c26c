/* Statistics over a trace_data: exact percentiles from sorted copies of the handling times, log2
 * histograms, top ports and MMIO addresses, a time series, and exits grouped by instruction. */
#include "trace/stats.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace/disas.h"

/* A kind outside the enum (possible only for a trace_data built in memory: the reader refuses
 * them) counts as "other" rather than indexing past the arrays. */
static unsigned kind_of(const struct trace_record *r)
{
	return r->kind < VMEXIT__COUNT ? r->kind : VMEXIT_OTHER;
}

unsigned stats_bucket(uint32_t ns)
{
	return ns < 2 ? 0 : 31u - (unsigned)__builtin_clz(ns);
}

const char *stats_mode_name(unsigned mode)
{
	static const char *const names[] = { "real", "prot16", "prot32", "long64" };
	return mode < 4 ? names[mode] : "mode-?";
}

/* ---- summaries ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Nearest rank: the value at 1-based rank ceil(p * n / 100) of the sorted values. */
static uint32_t percentile(const uint32_t *sorted, uint64_t n, unsigned p)
{
	uint64_t rank = (p * n + 99) / 100;
	return sorted[rank ? rank - 1 : 0];
}

/* Sorts v in place (the percentiles need it) and summarizes it. */
static void summarize(uint32_t *v, uint64_t n, struct stats_summary *s)
{
	memset(s, 0, sizeof(*s));
	if (n == 0)
		return;
	qsort(v, n, sizeof(*v), cmp_u32);
	for (uint64_t i = 0; i < n; i++)
		s->total_ns += v[i];
	s->count = n;
	s->min_ns = v[0];
	s->max_ns = v[n - 1];
	s->avg_ns = (double)s->total_ns / (double)n;
	double sq = 0;
	for (uint64_t i = 0; i < n; i++)
		sq += ((double)v[i] - s->avg_ns) * ((double)v[i] - s->avg_ns);
	s->stddev_ns = sqrt(sq / (double)n);
	s->p50_ns = percentile(v, n, 50);
	s->p90_ns = percentile(v, n, 90);
	s->p99_ns = percentile(v, n, 99);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Summaries of vcpus[0..nv) as a whole and per kind. buf holds at least all their records: the
 * handling times are laid out by kind in it (a counting sort) and each slice summarized. */
static void summarize_set(const struct trace_vcpu_data *vcpus, uint32_t nv, uint32_t *buf, struct stats_summary *all,
			  struct stats_kind kinds[VMEXIT__COUNT])
{
	uint64_t start[VMEXIT__COUNT + 1] = { 0 }, pos[VMEXIT__COUNT];
	for (uint32_t i = 0; i < nv; i++)
		for (uint64_t k = 0; k < vcpus[i].nrecords; k++)
			start[kind_of(&vcpus[i].records[k]) + 1]++;
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		start[k + 1] += start[k];
		pos[k] = start[k];
	}
	for (uint32_t i = 0; i < nv; i++)
		for (uint64_t k = 0; k < vcpus[i].nrecords; k++) {
			const struct trace_record *r = &vcpus[i].records[k];
			buf[pos[kind_of(r)]++] = r->handle_ns;
		}
	uint64_t n = start[VMEXIT__COUNT];
	for (unsigned k = 0; k < VMEXIT__COUNT; k++)
		summarize(buf + start[k], start[k + 1] - start[k], &kinds[k].s);
	/* The per-kind slices are sorted now; summarizing the whole re-sorts it, which is fine. */
	summarize(buf, n, all);
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		kinds[k].count_pct = pct(kinds[k].s.count, all->count);
		kinds[k].time_pct = pct(kinds[k].s.total_ns, all->total_ns);
	}
}

static int compute_summaries(const struct trace_data *d, struct trace_stats *s)
{
	uint32_t *buf = malloc((s->nrecords ? s->nrecords : 1) * sizeof(*buf));
	s->vcpus = calloc(d->nvcpus ? d->nvcpus : 1, sizeof(*s->vcpus));
	if (!buf || !s->vcpus) {
		free(buf);
		return -ENOMEM;
	}
	s->nvcpus = d->nvcpus;
	summarize_set(d->vcpus, d->nvcpus, buf, &s->all, s->kinds);
	for (uint32_t i = 0; i < d->nvcpus; i++) {
		s->vcpus[i].index = d->vcpus[i].index;
		s->vcpus[i].lost = d->vcpus[i].lost;
		summarize_set(&d->vcpus[i], 1, buf, &s->vcpus[i].all, s->vcpus[i].kinds);
	}
	free(buf);
	return 0;
}

/* ---- histograms and the time series ---- */

static void compute_histograms(const struct trace_data *d, struct trace_stats *s)
{
	for (uint32_t i = 0; i < d->nvcpus; i++)
		for (uint64_t k = 0; k < d->vcpus[i].nrecords; k++) {
			const struct trace_record *r = &d->vcpus[i].records[k];
			s->hist[kind_of(r)][stats_bucket(r->handle_ns)]++;
		}
}

static void find_span(const struct trace_data *d, struct trace_stats *s)
{
	uint64_t first = UINT64_MAX, last = 0;
	for (uint32_t i = 0; i < d->nvcpus; i++)
		for (uint64_t k = 0; k < d->vcpus[i].nrecords; k++) {
			uint64_t t = d->vcpus[i].records[k].time_ns;
			first = t < first ? t : first;
			last = t > last ? t : last;
		}
	s->first_ns = s->nrecords ? first : 0;
	s->last_ns = s->nrecords ? last : 0;
}

/* bin_ns = span / nbins + 1 keeps the last record inside bin nbins - 1 without a special case. */
static int compute_series(const struct trace_data *d, unsigned nbins, struct trace_stats *s)
{
	struct stats_series *ts = &s->series;
	ts->nbins = nbins;
	ts->start_ns = s->first_ns;
	ts->bin_ns = (s->last_ns - s->first_ns) / nbins + 1;
	ts->counts = calloc(nbins, sizeof(*ts->counts));
	if (!ts->counts)
		return -ENOMEM;
	for (uint32_t i = 0; i < d->nvcpus; i++)
		for (uint64_t k = 0; k < d->vcpus[i].nrecords; k++) {
			const struct trace_record *r = &d->vcpus[i].records[k];
			ts->counts[(r->time_ns - ts->start_ns) / ts->bin_ns][kind_of(r)]++;
		}
	return 0;
}

/* ---- top ports and MMIO addresses ---- */

struct site_rec {
	uint64_t addr;
	uint8_t dir;      /* part of the key for ports only */
	uint8_t is_write;
	uint32_t ns;
};

static int cmp_site_rec(const void *a, const void *b)
{
	const struct site_rec *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)x->dir - (int)y->dir;
}

/* Descending by count then time, or by time then count. */
static int cmp_busier(uint64_t xc, uint64_t xt, uint64_t yc, uint64_t yt, bool by_time)
{
	uint64_t x1 = by_time ? xt : xc, y1 = by_time ? yt : yc, x2 = by_time ? xc : xt, y2 = by_time ? yc : yt;
	if (x1 != y1)
		return x1 > y1 ? -1 : 1;
	if (x2 != y2)
		return x2 > y2 ? -1 : 1;
	return 0;
}

static int cmp_site(const void *a, const void *b, void *by_time)
{
	const struct stats_site *x = a, *y = b;
	int c = cmp_busier(x->count, x->total_ns, y->count, y->total_ns, *(bool *)by_time);
	if (c)
		return c;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (int)x->is_write - (int)y->is_write;
}

/* Groups the exits of one kind by address (and direction, for ports), busiest first. */
static int compute_sites(const struct trace_data *d, const struct trace_stats *s, unsigned kind, bool by_dir,
			 bool by_time, struct stats_site **out, size_t *nout)
{
	uint64_t n = s->kinds[kind].s.count;
	struct site_rec *recs = malloc((n ? n : 1) * sizeof(*recs));
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!recs || !*out) {
		free(recs);
		return -ENOMEM;
	}
	uint64_t m = 0;
	for (uint32_t i = 0; i < d->nvcpus; i++)
		for (uint64_t k = 0; k < d->vcpus[i].nrecords; k++) {
			const struct trace_record *r = &d->vcpus[i].records[k];
			uint8_t w = r->is_write != 0;
			if (kind_of(r) == kind)
				recs[m++] = (struct site_rec){ r->addr, by_dir ? w : 0, w, r->handle_ns };
		}
	qsort(recs, m, sizeof(*recs), cmp_site_rec);
	size_t u = 0;
	for (uint64_t k = 0; k < m; k++) {
		if (k == 0 || cmp_site_rec(&recs[k - 1], &recs[k]) != 0)
			(*out)[u++] = (struct stats_site){ .addr = recs[k].addr, .is_write = recs[k].dir };
		struct stats_site *st = &(*out)[u - 1];
		st->count++;
		st->writes += recs[k].is_write;
		st->total_ns += recs[k].ns;
	}
	free(recs);
	qsort_r(*out, u, sizeof(**out), cmp_site, &by_time);
	*nout = u;
	return 0;
}

/* ---- instructions at exits ---- */

struct insn_rec {
	uint64_t rip;
	uint8_t mode;
	uint8_t kind;
	uint32_t ns;
};

static int cmp_insn_rec(const void *a, const void *b)
{
	const struct insn_rec *x = a, *y = b;
	if (x->rip != y->rip)
		return x->rip < y->rip ? -1 : 1;
	if (x->mode != y->mode)
		return (int)x->mode - (int)y->mode;
	return (int)x->kind - (int)y->kind;
}

static int cmp_insn(const void *a, const void *b, void *by_time)
{
	const struct stats_insn *x = a, *y = b;
	int c = cmp_busier(x->count, x->total_ns, y->count, y->total_ns, *(bool *)by_time);
	if (c)
		return c;
	if (x->rip != y->rip)
		return x->rip < y->rip ? -1 : 1;
	return (int)x->mode - (int)y->mode;
}

/* The text of the instruction at (rip, mode) as the trace file recorded it. */
static void decode_insn(const struct trace_data *d, struct stats_insn *si)
{
	const struct trace_insn *ti = trace_data_find_insn(d, si->rip, si->mode);
	if (!ti || ti->len == 0) {
		snprintf(si->text, sizeof(si->text), "%s",
			 ti ? "(unmapped when the trace was dumped)" : "(not in the trace file)");
		snprintf(si->line, sizeof(si->line), "0x%016llx: %s", (unsigned long long)si->rip, si->text);
		return;
	}
	si->recorded = true;
	si->len = ti->len;
	memcpy(si->bytes, ti->bytes, ti->len);
	struct disas_insn in;
	disas_one((enum vcpu_mode)si->mode, si->rip, ti->bytes, ti->len, &in);
	snprintf(si->text, sizeof(si->text), "%s%s%s", in.mnemonic, in.operands[0] ? " " : "", in.operands);
	disas_format(&in, si->line, sizeof(si->line));
}

/* Folds a run of records at one (rip, mode), sorted by kind, into si; the kind seen most often
 * wins (ties: the lower kind). Returns the index after the run. */
static uint64_t fold_insn_run(const struct insn_rec *recs, uint64_t k, uint64_t m, struct stats_insn *si)
{
	*si = (struct stats_insn){ .rip = recs[k].rip, .mode = recs[k].mode, .kind = recs[k].kind };
	uint64_t best = 0, run = 0;
	uint64_t j = k;
	for (; j < m && recs[j].rip == si->rip && recs[j].mode == si->mode; j++) {
		run = (j > k && recs[j].kind == recs[j - 1].kind) ? run + 1 : 1;
		if (run > best) {
			best = run;
			si->kind = recs[j].kind;
		}
		si->count++;
		si->total_ns += recs[j].ns;
	}
	return j;
}

static int compute_insns(const struct trace_data *d, bool by_time, struct trace_stats *s)
{
	uint64_t n = s->nrecords;
	struct insn_rec *recs = malloc((n ? n : 1) * sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	uint64_t m = 0;
	for (uint32_t i = 0; i < d->nvcpus; i++)
		for (uint64_t k = 0; k < d->vcpus[i].nrecords; k++) {
			const struct trace_record *r = &d->vcpus[i].records[k];
			recs[m++] = (struct insn_rec){ r->rip, r->mode, (uint8_t)kind_of(r), r->handle_ns };
		}
	qsort(recs, m, sizeof(*recs), cmp_insn_rec);
	/* Counted before allocating: an entry is ~500 bytes, one per record would be gigabytes. */
	size_t groups = 0;
	for (uint64_t k = 0; k < m; k++)
		groups += k == 0 || recs[k].rip != recs[k - 1].rip || recs[k].mode != recs[k - 1].mode;
	s->insns = calloc(groups ? groups : 1, sizeof(*s->insns));
	if (!s->insns) {
		free(recs);
		return -ENOMEM;
	}
	size_t u = 0;
	for (uint64_t k = 0; k < m; u++)
		k = fold_insn_run(recs, k, m, &s->insns[u]);
	free(recs);
	qsort_r(s->insns, u, sizeof(*s->insns), cmp_insn, &by_time);
	s->ninsns = u;
	for (size_t i = 0; i < u; i++)
		decode_insn(d, &s->insns[i]);
	return 0;
}

/* ---- emulation failures by mnemonic ---- */

static int cmp_emulated(const void *a, const void *b, void *by_time)
{
	const struct stats_emulated *x = a, *y = b;
	int c = cmp_busier(x->count, x->total_ns, y->count, y->total_ns, *(bool *)by_time);
	return c ? c : strcmp(x->mnemonic, y->mnemonic);
}

/* Few distinct mnemonics fail to emulate, and these exits are rare next to port and MMIO exits:
 * a decode and a linear search per record is enough. */
static int compute_emulated(const struct trace_data *d, bool by_time, struct trace_stats *s)
{
	size_t cap = 0;
	for (uint32_t i = 0; i < d->nvcpus; i++)
		for (uint64_t k = 0; k < d->vcpus[i].nrecords; k++) {
			const struct trace_record *r = &d->vcpus[i].records[k];
			if (kind_of(r) != VMEXIT_EMULATION_FAIL)
				continue;
			char name[32] = "(not in the trace file)";
			const struct trace_insn *ti = trace_data_find_insn(d, r->rip, r->mode);
			if (ti && ti->len) {
				struct disas_insn in;
				/* Capstone 4 cannot decode some AVX-512/GFNI/VAES forms the fallback runs. */
				if (disas_one((enum vcpu_mode)r->mode, r->rip, ti->bytes, ti->len, &in) < 0)
					snprintf(name, sizeof(name), "(not known to capstone)");
				else
					snprintf(name, sizeof(name), "%s", in.mnemonic);
			}
			size_t j = 0;
			while (j < s->nemulated && strcmp(s->emulated[j].mnemonic, name) != 0)
				j++;
			if (j == s->nemulated) {
				if (j == cap) {
					size_t ncap = cap ? 2 * cap : 16;
					struct stats_emulated *ne = realloc(s->emulated, ncap * sizeof(*ne));
					if (!ne)
						return -ENOMEM;
					s->emulated = ne;
					cap = ncap;
				}
				s->emulated[j] = (struct stats_emulated){ .count = 0 };
				snprintf(s->emulated[j].mnemonic, sizeof(s->emulated[j].mnemonic), "%s", name);
				s->nemulated++;
			}
			s->emulated[j].count++;
			s->emulated[j].total_ns += r->handle_ns;
		}
	if (s->nemulated)
		qsort_r(s->emulated, s->nemulated, sizeof(*s->emulated), cmp_emulated, &by_time);
	return 0;
}

/* ---- the whole ---- */

int stats_compute(const struct trace_data *d, const struct stats_options *o, struct trace_stats *s, struct errmsg *e)
{
	memset(s, 0, sizeof(*s));
	struct stats_options defaults = { 0 };
	if (!o)
		o = &defaults;
	unsigned nbins = o->nbins ? o->nbins : STATS_DEFAULT_BINS;
	if (nbins > STATS_MAX_BINS)
		return errmsg_set(e, EINVAL, "%u time bins, at most %d", nbins, STATS_MAX_BINS);
	for (uint32_t i = 0; i < d->nvcpus; i++) {
		s->nrecords += d->vcpus[i].nrecords;
		s->lost += d->vcpus[i].lost;
	}
	find_span(d, s);
	compute_histograms(d, s);
	int rc = compute_summaries(d, s);
	if (rc == 0)
		rc = compute_series(d, nbins, s);
	if (rc == 0)
		rc = compute_sites(d, s, VMEXIT_PIO, true, o->by_time, &s->ports, &s->nports);
	if (rc == 0)
		rc = compute_sites(d, s, VMEXIT_MMIO, false, o->by_time, &s->mmio, &s->nmmio);
	if (rc == 0 && o->decode)
		rc = compute_insns(d, o->by_time, s);
	if (rc == 0)
		rc = compute_emulated(d, o->by_time, s);
	if (rc < 0) {
		unsigned long long n = (unsigned long long)s->nrecords;
		stats_free(s);
		return errmsg_set(e, rc, "out of memory for the statistics of %llu records", n);
	}
	return 0;
}

void stats_free(struct trace_stats *s)
{
	free(s->vcpus);
	free(s->ports);
	free(s->mmio);
	free(s->series.counts);
	free(s->insns);
	free(s->emulated);
	memset(s, 0, sizeof(*s));
}

/* ---- ordering for the reports ---- */

static bool kind_after(const struct stats_kind *a, const struct stats_kind *b, bool by_time)
{
	uint64_t x = by_time ? a->s.total_ns : a->s.count, y = by_time ? b->s.total_ns : b->s.count;
	if (x != y)
		return x < y;
	return by_time ? a->s.count < b->s.count : a->s.total_ns < b->s.total_ns;
}

unsigned stats_kind_order(const struct stats_kind kinds[VMEXIT__COUNT], bool by_time, enum vmexit_kind out[VMEXIT__COUNT])
{
	unsigned n = 0;
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		if (kinds[k].s.count == 0)
			continue;
		/* Insertion sort: 13 kinds at most, and it keeps equal kinds in enum order. */
		unsigned j = n++;
		while (j > 0 && kind_after(&kinds[out[j - 1]], &kinds[k], by_time)) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = (enum vmexit_kind)k;
	}
	return n;
}

bool stats_hist_range(const uint64_t hist[STATS_HIST_BUCKETS], unsigned *lo, unsigned *hi, uint64_t *peak)
{
	*lo = STATS_HIST_BUCKETS;
	*hi = 0;
	*peak = 0;
	for (unsigned b = 0; b < STATS_HIST_BUCKETS; b++)
		if (hist[b]) {
			*lo = b < *lo ? b : *lo;
			*hi = b;
			*peak = hist[b] > *peak ? hist[b] : *peak;
		}
	return *lo <= *hi;
}
