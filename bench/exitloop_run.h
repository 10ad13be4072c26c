/* Shared by the benchmarks: run guests/exitloop.elf (100000 port writes, 20000 MMIO writes)
 * through dhyve's whole path or through a bare KVM_RUN loop, timing the run. */
#ifndef DHYVE_BENCH_EXITLOOP_RUN_H
#define DHYVE_BENCH_EXITLOOP_RUN_H

#define EXITLOOP_PIO_EXITS 100000.0 /* guests/exitloop.c: EXITLOOP_PIO_COUNT */
#define EXITLOOP_MMIO_EXITS 20000.0 /* EXITLOOP_MMIO_COUNT */

double bench_now_s(void);
/* dhyve's path: vCPU threads, handler table, buses, counters, and the tracer when
 * trace_entries is not NULL. Returns seconds; *exits gets the exits counted. */
double bench_run_dhyve(const char *kernel, const char *trace_entries, double *exits);
/* The baseline: the same VM and guest, but a minimal KVM_RUN loop on the calling thread that
 * answers port reads and stops at the power-off write. */
double bench_run_bare(const char *kernel, double *exits);

#endif
