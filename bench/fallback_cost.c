/* bench/fallback_cost: microseconds per instruction that dhyve's fallback completes in user space
 * (int3, int n, clac/stac, xgetbv, xsave/xsavec/xrstor, cmpxchg16b, clwb, invpcid, rdpru's #UD,
 * popcnt, crc32, an SSE and an AVX instruction run on the host CPU, a hypercall live-lock), beside a plain port-I/O exit, all in one run of guests/fb_bench.elf.
 * The guest marks each loop on port 0x520; the empty loop's cost is subtracted from the others. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/machine.h"
#include "cli/options.h"
#include "fallback/fallback.h"
#include "vmm/vcpu.h"

#define MARK_PORT 0x520
/* guests/fb_bench.c's families, in its order, with its loop counts. */
static const struct { const char *name, *insn; unsigned n; } families[] = {
	{ "port I/O exit", NULL, 2000 }, { "(empty loop)", NULL, 2000 }, { "int3", "int3", 2000 },
	{ "int $0x80", "int", 2000 }, { "clac", "clac", 2000 }, { "stac", "stac", 2000 },
	{ "xgetbv", "xgetbv", 2000 }, { "xsave", "xsave", 2000 }, { "xsavec", "xsavec", 2000 },
	{ "xrstor", "xrstor", 2000 }, { "cmpxchg16b", "cmpxchg16b", 2000 }, { "clwb", "clwb", 2000 },
	{ "invpcid", "invpcid", 2000 }, { "rdpru (#UD)", "rdpru", 2000 }, { "popcnt (host)", "popcnt", 2000 },
	{ "crc32 (host)", "crc32", 2000 }, { "paddd xmm (host)", "paddd", 2000 }, { "vpaddd ymm (host)", "vpaddd", 2000 },
	{ "vmcall (watchdog)", "vmcall", 5 },
};
#define NFAM (sizeof(families) / sizeof(families[0]))

static double t_start[NFAM], t_end[NFAM];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int on_mark(void *owner, uint64_t offset, unsigned size, bool is_write, uint64_t *value)
{
	(void)owner, (void)offset, (void)size;
	if (!is_write)
		return 0;
	unsigned f = *value & 0xff;
	if (f < NFAM)
		(*value & 0x100 ? t_end : t_start)[f] = now_s();
	return 0;
}

static int run_once(const char *kernel, struct fallback_count *counts, int *ncounts)
{
	struct config cfg;
	struct dhyve_options o;
	struct machine m;
	struct errmsg e = { "" };
	config_init(&cfg);
	config_set(&cfg, "name", "fallback-cost");
	config_set(&cfg, "kernel", kernel);
	config_set(&cfg, "memory.size", "64M");
	config_set(&cfg, "lpc.com1.path", "null");
	if (options_from_config(&cfg, &o, &e) < 0 || machine_create(&m, &o, &e) < 0 ||
	    iobus_register(&m.pio, MARK_PORT, 4, "bench-mark", on_mark, NULL, &e) < 0) {
		fprintf(stderr, "fallback_cost: %s\n", e.text);
		return -1;
	}
	struct fallback_config fc;
	fallback_config_init(&fc);
	struct fallback *fb = fallback_install(m.vm, &fc, &e);
	if (!fb || vm_start(m.vm, &e) < 0) {
		fprintf(stderr, "fallback_cost: %s\n", e.text);
		return -1;
	}
	int status = vm_wait(m.vm);
	*ncounts = fallback_stats(fb, 0, counts, 64);
	fallback_destroy(fb);
	machine_destroy(&m);
	config_free(&cfg);
	if (status != VM_END_POWEROFF) {
		fprintf(stderr, "fallback_cost: the guest ended with status %d, not a power-off\n", status);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *kernel = argc > 1 ? argv[1] : "build/guests/fb_bench.elf";
	int rounds = argc > 2 ? atoi(argv[2]) : 3;
	double best[NFAM];
	struct fallback_count counts[64];
	int ncounts = 0;
	for (unsigned f = 0; f < NFAM; f++)
		best[f] = 1e9;
	/* Best of a few rounds: the machines are noisy, and all families see the same noise. */
	for (int r = 0; r < rounds; r++) {
		if (run_once(kernel, counts, &ncounts) < 0)
			return 1;
		for (unsigned f = 0; f < NFAM; f++) {
			double us = (t_end[f] - t_start[f]) / families[f].n * 1e6;
			best[f] = us < best[f] ? us : best[f];
		}
	}
	double loop = best[1], pio = best[0] - loop;
	printf("%-20s %8s %12s %12s %10s %14s\n", "family", "n", "us/iter", "us net", "x port I/O", "in handler us");
	for (unsigned f = 0; f < NFAM; f++) {
		double handler = 0;
		for (int i = 0; i < ncounts && i < 64; i++) {
			uint64_t n = counts[i].completed + counts[i].raised + counts[i].refused;
			if (n && families[f].insn && strcmp(counts[i].insn, families[f].insn) == 0)
				handler = counts[i].total_ns / 1e3 / n;
		}
		double net = f == 1 ? best[f] : best[f] - loop;
		printf("%-20s %8u %12.2f %12.2f %10.2f %14.2f\n", families[f].name, families[f].n, best[f], net,
		       f == 1 ? 0.0 : net / pio, handler);
	}
	printf("(us/iter: the loop as run; us net: minus the empty loop's dec/jnz, emulated at ~1 us each here;\n"
	       " in handler: from KVM_RUN's return to the end of the completion, averaged over the last round;\n best of %d rounds)\n", rounds);
	return 0;
}
