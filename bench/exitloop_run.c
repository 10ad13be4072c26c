/* The two ways of running the exit-loop guest that the benchmarks compare (exitloop_run.h). */
#include "bench/exitloop_run.h"

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

double bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int build(struct machine *m, struct config *cfg, const char *kernel, const char *name, const char *trace_entries)
{
	struct dhyve_options o;
	struct errmsg e = { "" };
	config_init(cfg);
	config_set(cfg, "name", name);
	config_set(cfg, "kernel", kernel);
	config_set(cfg, "memory.size", "64M");
	config_set(cfg, "lpc.com1.path", "null");
	config_set(cfg, "watchdog", "0"); /* its looks would kick the bare loop, which has no handler */
	if (trace_entries)
		config_set(cfg, "trace.entries", trace_entries);
	if (options_from_config(cfg, &o, &e) < 0 || machine_create(m, &o, &e) < 0) {
		fprintf(stderr, "exit_cost: %s\n", e.text);
		return -1;
	}
	return 0;
}

double bench_run_dhyve(const char *kernel, const char *trace_entries, double *exits)
{
	struct config cfg;
	struct machine m;
	struct errmsg e;
	if (build(&m, &cfg, kernel, "bench-dhyve", trace_entries) < 0)
		exit(1);
	double t0 = bench_now_s();
	if (vm_start(m.vm, &e) < 0) {
		fprintf(stderr, "exit_cost: %s\n", e.text);
		exit(1);
	}
	int status = vm_wait(m.vm);
	double t = bench_now_s() - t0;
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

double bench_run_bare(const char *kernel, double *exits)
{
	struct config cfg;
	struct machine m;
	if (build(&m, &cfg, kernel, "bench-bare", NULL) < 0)
		exit(1);
	struct vcpu *v = vm_vcpu(m.vm, 0);
	struct kvm_run *run = vcpu_run_page(v);
	int fd = vcpu_fd(v);
	*exits = 0;
	double t0 = bench_now_s();
	for (;;) {
		if (ioctl(fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR) { /* a kick (the fallback's hypercall watch looks now and then) */
				run->immediate_exit = 0;
				continue;
			}
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
	double t = bench_now_s() - t0;
	machine_destroy(&m);
	config_free(&cfg);
	return t;
}

