/* Exit tracing for a running VM: one ring per vCPU filled by an exit hook, and the dump that
 * turns the rings (plus the instruction bytes at each RIP seen) into a trace file. */
#ifndef DHYVE_TRACE_TRACER_H
#define DHYVE_TRACE_TRACER_H

#include <stdint.h>

#include "base/errmsg.h"
#include "trace/ring.h"
#include "trace/tracefile.h"
#include "vmm/vm.h"

#define TRACE_DEFAULT_ENTRIES 65536

struct tracer {
	struct vm *vm;
	unsigned nvcpus;
	struct trace_ring rings[VM_MAX_VCPUS];
};

/* Allocates a ring of `entries` records per vCPU and hooks the VM's exits (before vm_start). */
struct tracer *tracer_create(struct vm *vm, uint64_t entries, struct errmsg *e);
void tracer_destroy(struct tracer *t);
/* Copies the rings into d (which the caller frees with trace_data_free), the VM paused for the
 * copy, and fetches the instruction bytes at every (RIP, mode) seen through the page tables of
 * the vCPU that exited there. */
int tracer_collect(struct tracer *t, struct trace_data *d, struct errmsg *e);
/* tracer_collect + tracefile_write. */
int tracer_dump(struct tracer *t, const char *path, struct errmsg *e);

#endif
