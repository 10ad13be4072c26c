/* Chrome trace-event JSON, as ui.perfetto.dev and chrome://tracing load it: one complete ("X")
 * event per exit on its vCPU's track, from KVM_RUN's return for as long as dhyve handled it. */
#include "trace/report.h"

#include <inttypes.h>

/* Thread ids are vCPU index + 1: Perfetto has merged tid 0 into tid 1 (perfetto PR #2278), and
 * the track names say which vCPU each is. */
static unsigned tid_of(uint32_t vcpu) { return vcpu + 1; }

static void metadata(FILE *out, const struct trace_data *d)
{
	fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,\"args\":{\"name\":", out);
	report_json_string(out, d->vm_name[0] ? d->vm_name : "VM");
	fputs("}}", out);
	for (uint32_t i = 0; i < d->nvcpus; i++) {
		unsigned idx = d->vcpus[i].index, tid = tid_of(idx);
		fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"args\":{\"name\":\"vCPU %u\"}}", tid, idx);
		fprintf(out, ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":%u,\"args\":{\"sort_index\":%u}}", tid,
			idx);
	}
}

/* What identifies the exit beyond its kind, as the event's args. */
static void args(FILE *out, const struct trace_record *r)
{
	fprintf(out, "\"rip\":\"0x%" PRIx64 "\",\"cpl\":%u", r->rip, r->cpl);
	switch (r->kind) {
	case VMEXIT_PIO:
		fprintf(out, ",\"port\":\"0x%04" PRIx64 "\",\"dir\":\"%s\",\"size\":%u,\"value\":\"0x%" PRIx64 "\",\"count\":%" PRIu32,
			r->addr, r->is_write ? "out" : "in", r->size, r->value, r->count);
		break;
	case VMEXIT_MMIO:
		fprintf(out, ",\"address\":\"0x%" PRIx64 "\",\"dir\":\"%s\",\"size\":%u,\"value\":\"0x%" PRIx64 "\"", r->addr,
			r->is_write ? "write" : "read", r->size, r->value);
		break;
	case VMEXIT_MSR:
		fprintf(out, ",\"msr\":\"0x%" PRIx64 "\",\"dir\":\"%s\",\"value\":\"0x%" PRIx64 "\"", r->addr,
			r->is_write ? "wrmsr" : "rdmsr", r->value);
		break;
	default:
		fprintf(out, ",\"value\":\"0x%" PRIx64 "\",\"kvm_reason\":%u", r->value, r->kvm_reason);
		break;
	}
}

void report_perfetto(FILE *out, const struct trace_data *d, const struct trace_stats *s, const struct report_options *o)
{
	(void)o;
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n", out);
	metadata(out, d);
	for (uint32_t i = 0; i < d->nvcpus; i++)
		for (uint64_t k = 0; k < d->vcpus[i].nrecords; k++) {
			const struct trace_record *r = &d->vcpus[i].records[k];
			/* ts and dur are microseconds; three decimals keep nanoseconds. */
			fprintf(out, ",\n{\"name\":\"%s\",\"cat\":\"exit\",\"ph\":\"X\",\"pid\":1,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,\"args\":{",
				vmexit_kind_name((enum vmexit_kind)r->kind), tid_of(d->vcpus[i].index),
				(double)(r->time_ns - s->first_ns) / 1000.0, (double)r->handle_ns / 1000.0);
			args(out, r);
			fputs("}}", out);
		}
	fputs("\n]}\n", out);
}
