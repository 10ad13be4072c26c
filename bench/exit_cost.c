/* bench/exit_cost: the cost of one guest exit through dhyve's whole path (run loop, exit record,
 * dispatch, I/O bus, counters, console glue) against a bare KVM_RUN loop, on the same guest
 * (guests/exitloop.elf: 100000 port writes, 20000 MMIO writes) in the same run. Prints both
 * and the ratio; the target is dhyve/bare <= 1.10. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "cli/machine.h"
#include "cli/options.h"
#include "devmodel/power.h"
#include "vmm/vcpu.h"

#define PIO_EXITS 100000.0  /* guests/exitloop.c: EXITLOOP_PIO_COUNT */
#define MMIO_EXITS 20000.0  /* EXITLOOP_MMIO_COUNT */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int build(struct machine *m, struct config *cfg, const char *kernel, const char *name)
{
	struct dhyve_options o;
	struct errmsg e = { "" };
	config_init(cfg);
	config_set(cfg, "name", name);
	config_set(cfg, "kernel", kernel);
	config_set(cfg, "memory.size", "64M");
	config_set(cfg, "lpc.com1.path", "null");
	if (options_from_config(cfg, &o, &e) < 0 || machine_create(m, &o, &e) < 0) {
		fprintf(stderr, "exit_cost: %s\n", e.text);
		return -1;
	}
	return 0;
}

/* dhyve's path: vCPU threads, handler table, buses, counters: everything dhyve does. */
static double run_dhyve(const char *kernel, double *exits)
{
	struct config cfg;
	struct machine m;
	struct errmsg e;
	if (build(&m, &cfg, kernel, "bench-dhyve") < 0)
		exit(1);
	double t0 = now_s();
	if (vm_start(m.vm, &e) < 0) {
		fprintf(stderr, "exit_cost: %s\n", e.text);
		exit(1);
	}
	int status = vm_wait(m.vm);
	double t = now_s() - t0;
	struct vcpu_stats st;
	vcpu_read_stats(vm_vcpu(m.vm, 0), &st);
	*exits = 0;
	for (unsigned k = 0; k < VMEXIT__COUNT; k++)
		*exits += st.count[k];
	machine_destroy(&m);
	config_free(&cfg);
	if (status != VM_END_POWEROFF) {
		fprintf(stderr, "exit_cost: the guest ended with status %d, not a power-off\n", status);
		exit(1);
	}
	return t;
}

/* The baseline: the same VM and guest, but a minimal KVM_RUN loop on the calling thread that
 * answers port reads with zeroes and stops at the power-off write. */
static double run_bare(const char *kernel, double *exits)
{
	struct config cfg;
	struct machine m;
	if (build(&m, &cfg, kernel, "bench-bare") < 0)
		exit(1);
	struct vcpu *v = vm_vcpu(m.vm, 0);
	struct kvm_run *run = vcpu_run_page(v);
	int fd = vcpu_fd(v);
	*exits = 0;
	double t0 = now_s();
	for (;;) {
		if (ioctl(fd, KVM_RUN, 0) < 0) {
			perror("exit_cost: KVM_RUN");
			exit(1);
		}
		*exits += 1;
		if (run->exit_reason == KVM_EXIT_IO) {
			if (run->io.direction == KVM_EXIT_IO_IN)
				memset((char *)run + run->io.data_offset, 0x60, run->io.size * run->io.count); /* LSR: THR empty */
			else if (run->io.port == PM1A_CNT_PORT)
				break;
		} else if (run->exit_reason != KVM_EXIT_MMIO) {
			fprintf(stderr, "exit_cost: bare loop: unexpected exit %u\n", run->exit_reason);
			exit(1);
		}
	}
	double t = now_s() - t0;
	machine_destroy(&m);
	config_free(&cfg);
	return t;
}

int main(int argc, char **argv)
{
	const char *kernel = argc > 1 ? argv[1] : "build/guests/exitloop.elf";
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	double best_bare = 1e9, best_dhyve = 1e9, ex_bare = 0, ex_dhyve = 0;
	/* Interleaved rounds, best of each: the machines are noisy and the two paths should see
	 * the same noise. */
	for (int r = 0; r < rounds; r++) {
		double b = run_bare(kernel, &ex_bare), d = run_dhyve(kernel, &ex_dhyve);
		printf("round %d: bare %.3f s (%.0f exits), dhyve %.3f s (%.0f exits)\n", r, b, ex_bare, d, ex_dhyve);
		best_bare = b < best_bare ? b : best_bare;
		best_dhyve = d < best_dhyve ? d : best_dhyve;
	}
	double n = PIO_EXITS + MMIO_EXITS;
	printf("exits per run: %.0f port + %.0f MMIO (+%.0f for boot and console)\n", PIO_EXITS, MMIO_EXITS, ex_dhyve - n);
	printf("bare KVM_RUN loop: %.2f us per exit (best of %d)\n", best_bare / ex_bare * 1e6, rounds);
	printf("dhyve full path:   %.2f us per exit (best of %d)\n", best_dhyve / ex_dhyve * 1e6, rounds);
	printf("ratio dhyve/bare:  %.3f (target <= 1.10)\n", (best_dhyve / ex_dhyve) / (best_bare / ex_bare));
	return 0;
}
