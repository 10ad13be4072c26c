/* bench/trace_overhead: exit cost with the exit rings on (-o trace.entries) against the same
 * path with them off, interleaved in one run; the target is a ratio <= 1.03. */
#include <stdio.h>
#include <stdlib.h>

#include "bench/exitloop_run.h"

int main(int argc, char **argv)
{
	const char *kernel = argc > 1 ? argv[1] : "build/guests/exitloop.elf";
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	const char *entries = "65536";
	double best_off = 1e9, best_on = 1e9, ex_off = 0, ex_on = 0;
	for (int r = 0; r < rounds; r++) {
		double off = bench_run_dhyve(kernel, NULL, &ex_off), on = bench_run_dhyve(kernel, entries, &ex_on);
		printf("round %d: tracing off %.3f s, on %.3f s (%.0f exits)\n", r, off, on, ex_on);
		best_off = off < best_off ? off : best_off;
		best_on = on < best_on ? on : best_on;
	}
	printf("tracing off: %.3f us per exit (best of %d)\n", best_off / ex_off * 1e6, rounds);
	printf("tracing on:  %.3f us per exit (best of %d, %s-record rings)\n", best_on / ex_on * 1e6, rounds, entries);
	printf("ratio on/off: %.3f (target <= 1.03)\n", (best_on / ex_on) / (best_off / ex_off));
	return 0;
}
