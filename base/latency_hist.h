/* A log-linear latency histogram: exact below 16 ns, then 8 buckets per power of two (each
 * bucket within 12.5% of its values), so percentiles of always-on counters cost one increment. */
#ifndef DHYVE_BASE_LATENCY_HIST_H
#define DHYVE_BASE_LATENCY_HIST_H

#include <stdint.h>

#define LHIST_LINEAR 16
#define LHIST_SUB 8          /* buckets per power of two above LHIST_LINEAR */
#define LHIST_MAX_EXP 39     /* values from 2^40 ns (~18 minutes) up share the last bucket */
#define LHIST_BUCKETS (LHIST_LINEAR + (LHIST_MAX_EXP - 3) * LHIST_SUB)

static inline unsigned lhist_bucket(uint64_t ns)
{
	if (ns < LHIST_LINEAR)
		return (unsigned)ns;
	unsigned e = 63u - (unsigned)__builtin_clzll(ns); /* floor(log2(ns)), >= 4 */
	if (e > LHIST_MAX_EXP)
		return LHIST_BUCKETS - 1;
	unsigned sub = (unsigned)(ns >> (e - 3)) & (LHIST_SUB - 1);
	return LHIST_LINEAR + (e - 4) * LHIST_SUB + sub;
}

/* The smallest value that falls into bucket b. */
static inline uint64_t lhist_bucket_low(unsigned b)
{
	if (b < LHIST_LINEAR)
		return b;
	unsigned e = (b - LHIST_LINEAR) / LHIST_SUB + 4, sub = (b - LHIST_LINEAR) % LHIST_SUB;
	return (1ull << e) + ((uint64_t)sub << (e - 3));
}

/* Nearest-rank percentile p (0 < p <= 100) of a histogram with total samples, as the low
 * edge of the bucket that holds it, clamped to [min, max] seen. 0 when empty. */
uint64_t lhist_percentile(const uint64_t *buckets, uint64_t total, double p, uint64_t min, uint64_t max);

#endif
