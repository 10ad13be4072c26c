/* Statistics over a trace, computed once for every report format: per exit kind and per vCPU,
 * busiest ports and MMIO addresses, log2 latency histograms, exits over time, instructions. */
#ifndef DHYVE_TRACE_STATS_H
#define DHYVE_TRACE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "trace/tracefile.h"
#include "vmm/exit.h"

/* Bucket i holds handling times in [2^i, 2^(i+1)) ns; bucket 0 also holds 0 ns. handle_ns is a
 * u32, so 32 buckets cover every value. */
#define STATS_HIST_BUCKETS 32
#define STATS_DEFAULT_BINS 100
#define STATS_MAX_BINS 10000

/* Handling times (handle_ns) of a set of exits. Percentiles are nearest-rank: pN is the value
 * at 1-based rank ceil(N/100 * count) in ascending order, so it is always a measured value.
 * stddev is the population standard deviation (divides by count). All zero when count is 0. */
struct stats_summary {
	uint64_t count;
	uint64_t total_ns;
	uint32_t min_ns, max_ns;
	double avg_ns, stddev_ns;
	uint32_t p50_ns, p90_ns, p99_ns;
};

struct stats_kind {
	struct stats_summary s;
	double count_pct; /* of all exits in the set (trace or vCPU) */
	double time_pct;  /* of all handling time in the set */
};

struct stats_vcpu {
	uint32_t index;
	uint64_t lost;
	struct stats_summary all;
	struct stats_kind kinds[VMEXIT__COUNT];
};

/* A port (key: port and direction) or an MMIO address (key: address; both directions). */
struct stats_site {
	uint64_t addr;
	uint8_t is_write; /* ports: the direction of the key; MMIO: 0 */
	uint64_t count;
	uint64_t writes;  /* MMIO: how many of count were writes; ports: count or 0 */
	uint64_t total_ns;
};

/* Exits per kind in nbins bins of bin_ns each from start_ns (the first record's time): bin b
 * covers [start_ns + b * bin_ns, start_ns + (b + 1) * bin_ns). */
struct stats_series {
	unsigned nbins;
	uint64_t start_ns, bin_ns;
	uint64_t (*counts)[VMEXIT__COUNT]; /* [nbins] */
};

/* The exits at one (rip, mode), with the instruction there as decoded from the trace file. */
struct stats_insn {
	uint64_t rip;
	uint8_t mode;
	uint8_t kind;       /* the exit kind most often seen at this rip */
	uint64_t count;
	uint64_t total_ns;
	bool recorded;      /* the file holds bytes for it */
	uint8_t len;
	uint8_t bytes[TRACE_INSN_MAX];
	char text[200];     /* "in al, dx", or why there is none: "(not in the trace file)" */
	char line[256];     /* disas_format()'s line: address, bytes, text */
};

/* Emulation failures (exits KVM could not emulate, which dhyve's fallback completes in user
 * space unless the VM ended there) grouped by the mnemonic at their RIP, as the file recorded it. */
struct stats_emulated {
	char mnemonic[32];  /* "popcnt", "vpaddd", ...; "(not in the trace file)" without bytes */
	uint64_t count;
	uint64_t total_ns;  /* handling time: the completion, in the fallback's case */
};

struct stats_options {
	bool decode;        /* fill insns */
	bool by_time;       /* order ports, addresses and instructions by handling time, not count */
	unsigned nbins;     /* bins of the time series; 0: STATS_DEFAULT_BINS */
};

struct trace_stats {
	uint64_t nrecords, lost;
	uint64_t first_ns, last_ns; /* times of the earliest and latest record (0 without records) */
	struct stats_summary all;
	struct stats_kind kinds[VMEXIT__COUNT];
	uint64_t hist[VMEXIT__COUNT][STATS_HIST_BUCKETS];
	uint32_t nvcpus;
	struct stats_vcpu *vcpus;        /* in the order of the trace file */
	size_t nports, nmmio, ninsns;
	struct stats_site *ports;        /* most exits (by_time: most time) first, then lowest key */
	struct stats_site *mmio;
	struct stats_series series;
	struct stats_insn *insns;        /* with decode only; ordered as ports */
	size_t nemulated;
	struct stats_emulated *emulated; /* always; ordered as ports */
};

int stats_compute(const struct trace_data *d, const struct stats_options *o, struct trace_stats *s, struct errmsg *e);
void stats_free(struct trace_stats *s);

/* The histogram bucket of a handling time. */
unsigned stats_bucket(uint32_t ns);
/* The first and last non-empty bucket and the largest count; false when all are empty. */
bool stats_hist_range(const uint64_t hist[STATS_HIST_BUCKETS], unsigned *lo, unsigned *hi, uint64_t *peak);

/* The kinds with at least one exit, most exits (or most handling time) first; returns how many. */
unsigned stats_kind_order(const struct stats_kind kinds[VMEXIT__COUNT], bool by_time, enum vmexit_kind out[VMEXIT__COUNT]);

/* "real", "prot16", "prot32", "long64" (or "mode-N"). */
const char *stats_mode_name(unsigned mode);

#endif
