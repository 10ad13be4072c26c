/* Percentiles from a log-linear histogram (see latency_hist.h). */
#include "base/latency_hist.h"

#include <math.h>

uint64_t lhist_percentile(const uint64_t *buckets, uint64_t total, double p, uint64_t min, uint64_t max)
{
	if (total == 0)
		return 0;
	uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)total);
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < LHIST_BUCKETS; b++) {
		seen += buckets[b];
		if (seen >= rank) {
			uint64_t v = lhist_bucket_low(b);
			return v < min ? min : v > max ? max : v;
		}
	}
	return max;
}
