/* The tracing exit hook (one 48-byte store per exit, no lock) and the dump of all rings into
 * a trace_data with the instruction bytes at each RIP, ready for a trace file. */
#include "trace/tracer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/pagewalk.h"
#include "vmm/vcpu.h"

static void trace_exit_hook(struct vcpu *v, const struct vm_exit *ex, uint64_t handle_ns, void *opaque)
{
	struct tracer *t = opaque;
	unsigned i = vcpu_index(v);
	struct trace_record rec = {
		.time_ns = ex->time_ns, .rip = ex->rip, .addr = ex->addr, .value = ex->value,
		.handle_ns = handle_ns > UINT32_MAX ? UINT32_MAX : (uint32_t)handle_ns, .count = ex->count,
		.kind = (uint8_t)ex->kind, .size = ex->size, .is_write = ex->is_write, .cpl = ex->cpl,
		.mode = ex->mode, .vcpu = (uint8_t)i, .kvm_reason = (uint16_t)ex->kvm_reason,
	};
	trace_ring_push(&t->rings[i], &rec);
}

struct tracer *tracer_create(struct vm *vm, uint64_t entries, struct errmsg *e)
{
	struct tracer *t = calloc(1, sizeof(*t));
	if (!t) {
		errmsg_set(e, ENOMEM, "trace: out of memory");
		return NULL;
	}
	t->vm = vm;
	t->nvcpus = vm_ncpus(vm);
	for (unsigned i = 0; i < t->nvcpus; i++) {
		int rc = trace_ring_init(&t->rings[i], entries);
		if (rc < 0) {
			errmsg_set(e, rc, "trace.entries=%llu: %s", (unsigned long long)entries,
				   rc == -EINVAL ? "must be between 16 and 67108864" : "out of memory");
			tracer_destroy(t);
			return NULL;
		}
	}
	if (vm_add_exit_hook(vm, trace_exit_hook, t) < 0) {
		errmsg_set(e, ENOSPC, "trace: too many exit hooks");
		tracer_destroy(t);
		return NULL;
	}
	return t;
}

void tracer_destroy(struct tracer *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->nvcpus; i++)
		trace_ring_free(&t->rings[i]);
	free(t);
}

static int copy_rings(struct tracer *t, struct trace_data *d)
{
	d->vcpus = calloc(t->nvcpus, sizeof(*d->vcpus));
	if (!d->vcpus)
		return -ENOMEM;
	d->nvcpus = t->nvcpus;
	for (unsigned i = 0; i < t->nvcpus; i++) {
		struct trace_vcpu_data *vd = &d->vcpus[i];
		vd->index = i;
		vd->records = malloc(t->rings[i].capacity * sizeof(*vd->records));
		if (!vd->records)
			return -ENOMEM;
		vd->nrecords = trace_ring_snapshot(&t->rings[i], vd->records, t->rings[i].capacity, true, &vd->lost);
	}
	return 0;
}

struct seen_rip {
	uint64_t rip;
	uint8_t mode;
	uint8_t vcpu;
};

static int cmp_seen(const void *a, const void *b)
{
	const struct seen_rip *x = a, *y = b;
	if (x->rip != y->rip)
		return x->rip < y->rip ? -1 : 1;
	return (int)x->mode - (int)y->mode;
}

/* One entry per distinct (rip, mode), fetched through the page tables of a vCPU that exited
 * there. Code can change later (a module unloaded, a page remapped): that is a known limit. */
static int fetch_insns(struct tracer *t, struct trace_data *d, const struct paging_regs *pr)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < d->nvcpus; i++)
		total += d->vcpus[i].nrecords;
	struct seen_rip *seen = malloc((total ? total : 1) * sizeof(*seen));
	if (!seen)
		return -ENOMEM;
	uint64_t n = 0;
	for (unsigned i = 0; i < d->nvcpus; i++)
		for (uint64_t k = 0; k < d->vcpus[i].nrecords; k++)
			seen[n++] = (struct seen_rip){ d->vcpus[i].records[k].rip, d->vcpus[i].records[k].mode, (uint8_t)i };
	qsort(seen, n, sizeof(*seen), cmp_seen);
	d->insns = calloc(n ? n : 1, sizeof(*d->insns));
	if (!d->insns) {
		free(seen);
		return -ENOMEM;
	}
	uint32_t u = 0;
	for (uint64_t k = 0; k < n; k++) {
		if (k > 0 && seen[k - 1].rip == seen[k].rip && seen[k - 1].mode == seen[k].mode)
			continue;
		struct trace_insn *in = &d->insns[u++];
		in->rip = seen[k].rip;
		in->mode = seen[k].mode;
		in->len = (uint8_t)pagewalk_read(vm_gmem(t->vm), &pr[seen[k].vcpu], in->rip, in->bytes, TRACE_INSN_MAX);
	}
	d->ninsns = u;
	free(seen);
	return 0;
}

int tracer_collect(struct tracer *t, struct trace_data *d, struct errmsg *e)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->vm_name, sizeof(d->vm_name), "%s", vm_name(t->vm));
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	d->dump_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;

	/* Paused, the rings are copied whole and consistent with the page tables read here; a
	 * copy of 64 Ki records per vCPU takes about a millisecond. */
	struct paging_regs pr[VM_MAX_VCPUS];
	vm_pause_all(t->vm);
	for (unsigned i = 0; i < t->nvcpus; i++)
		if (vcpu_get_paging(vm_vcpu(t->vm, i), &pr[i], NULL) < 0)
			memset(&pr[i], 0, sizeof(pr[i]));
	int rc = copy_rings(t, d);
	vm_resume_all(t->vm);
	if (rc == 0)
		rc = fetch_insns(t, d, pr);
	if (rc < 0) {
		trace_data_free(d);
		return errmsg_set(e, rc, "trace dump: out of memory");
	}
	return 0;
}

int tracer_dump(struct tracer *t, const char *path, struct errmsg *e)
{
	struct trace_data d;
	int rc = tracer_collect(t, &d, e);
	if (rc < 0)
		return rc;
	rc = tracefile_write(path, &d, e);
	trace_data_free(&d);
	return rc;
}
