/* bench/exit_cost: the cost of one guest exit through dhyve's whole path (run loop, exit record,
 * dispatch, I/O bus, counters, console glue) against a bare KVM_RUN loop, on the same guest
 * (guests/exitloop.elf) in the same run. Prints both and the ratio; the target is <= 1.10. */
#include <stdio.h>
#include <stdlib.h>

#include "bench/exitloop_run.h"

int main(int argc, char **argv)
{
	const char *kernel = argc > 1 ? argv[1] : "build/guests/exitloop.elf";
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	double best_bare = 1e9, best_dhyve = 1e9, ex_bare = 0, ex_dhyve = 0;
	/* Interleaved rounds, best of each: the machines are noisy and the two paths should see
	 * the same noise. */
	for (int r = 0; r < rounds; r++) {
		double b = bench_run_bare(kernel, &ex_bare), d = bench_run_dhyve(kernel, NULL, &ex_dhyve);
		printf("round %d: bare %.3f s (%.0f exits), dhyve %.3f s (%.0f exits)\n", r, b, ex_bare, d, ex_dhyve);
		best_bare = b < best_bare ? b : best_bare;
		best_dhyve = d < best_dhyve ? d : best_dhyve;
	}
	double n = EXITLOOP_PIO_EXITS + EXITLOOP_MMIO_EXITS;
	printf("exits per run: %.0f port + %.0f MMIO (+%.0f for boot and console)\n", EXITLOOP_PIO_EXITS, EXITLOOP_MMIO_EXITS, ex_dhyve - n);
	printf("bare KVM_RUN loop: %.2f us per exit (best of %d)\n", best_bare / ex_bare * 1e6, rounds);
	printf("dhyve full path:   %.2f us per exit (best of %d)\n", best_dhyve / ex_dhyve * 1e6, rounds);
	printf("ratio dhyve/bare:  %.3f (target <= 1.10)\n", (best_dhyve / ex_dhyve) / (best_bare / ex_bare));
	return 0;
}
