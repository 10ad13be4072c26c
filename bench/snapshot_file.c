/* snapshot_file: size, write time and restore time of a snapshot file of a 256 MiB machine
 * (hostbridge, LPC, virtio-blk, UART, RTC, fw_cfg, power; one vCPU), with its RAM as a booted
 * test guest leaves it (almost all zero), a quarter of it and all of it filled with random
 * bytes (incompressible: the worst case). Written and restored through the same calls as
 * dhyvectl --checkpoint and dhyve -r.
 * usage: snapshot_file GUEST [DIR]   (DIR: where the file goes, default /tmp) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_machine.h"
#include "cli/machine.h"
#include "cli/machine_snapshot.h"
#include "cli/options.h"

static char disk[64];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "snapshot_file: %s: %s\n", what, why);
	unlink(disk);
	exit(1);
}

static void build(struct machine *m, struct config *cfg, struct dhyve_options *o, const char *kernel)
{
	struct errmsg e = { "" };
	if (bench_build_machine(m, cfg, o, "bench-snapfile", kernel, "256M", disk, &e) < 0)
		die("building the machine", e.text);
	m->cfg = cfg;
}

static void fill(struct machine *m, double fraction)
{
	const struct gmem_slot *s = &vm_gmem(m->vm)->slot[0];
	uint64_t pages = s->size / 4096, x = 88172645463325252ull;
	for (uint64_t p = 0; p < pages; p++) {
		if ((double)(p % 1000) >= fraction * 1000)
			continue;
		uint64_t *w = (uint64_t *)(s->host + p * 4096);
		for (unsigned i = 0; i < 512; i++) { /* xorshift64 */
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			w[i] = x;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: snapshot_file GUEST [DIR]\n");
		return 2;
	}
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	char path[4096];
	snprintf(path, sizeof(path), "%s/snapshot_file.%d.snap", dir, (int)getpid());
	snprintf(disk, sizeof(disk), "/tmp/snapshot_file.%d.img", (int)getpid());
	FILE *f = fopen(disk, "w");
	if (!f || ftruncate(fileno(f), 1 << 20) < 0)
		die(disk, strerror(errno));
	fclose(f);
	printf("snapshot_file: 256 MiB guest, file in %s\n", dir);
	printf("%-26s %10s %10s %12s %12s\n", "RAM", "file MiB", "write ms", "open+check ms", "restore ms");
	static const struct { const char *what; double fraction; } cases[] = {
		{ "as booted (mostly zero)", 0 }, { "25% random", 0.25 }, { "100% random", 1.0 },
	};
	for (unsigned c = 0; c < 3; c++) {
		struct config cfg;
		struct machine m;
		struct dhyve_options o;
		struct errmsg e = { "" };
		build(&m, &cfg, &o, argv[1]);
		fill(&m, cases[c].fraction);
		struct snapshot_figures w, r;
		if (machine_checkpoint(&m, path, false, &w, &e) < 0)
			die("checkpoint", e.text);
		machine_destroy(&m);
		config_free(&cfg);
		/* Resume as dhyve -r does: the configuration from the file, a new machine, the state. */
		struct snapfile snap;
		config_init(&cfg);
		config_set(&cfg, "restore.file", path);
		double t0 = now_ms();
		if (snapshot_open_for_resume(&snap, &cfg, &e) < 0)
			die("resume", e.text);
		double t_open = now_ms() - t0;
		if (options_from_config(&cfg, &o, &e) < 0 || machine_create(&m, &o, &e) < 0)
			die("resume", e.text);
		if (machine_restore(&m, &snap, &o, &r, &e) < 0)
			die("restore", e.text);
		struct stat st;
		stat(path, &st);
		printf("%-26s %10.1f %10.1f %12.1f %12.1f\n", cases[c].what, st.st_size / 1048576.0, w.write_ns / 1e6,
		       t_open, r.write_ns / 1e6);
		snapfile_close(&snap);
		machine_destroy(&m);
		config_free(&cfg);
		unlink(path);
	}
	printf("(write: with the vCPUs paused, including fsync; open+check: mapping the file and checking every CRC\n"
	       " (it is in the page cache then); restore: disks, RAM, irqchip, devices, vCPUs)\n");
	unlink(disk);
	return 0;
}
