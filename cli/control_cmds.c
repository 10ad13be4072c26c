/* The control requests a running VM serves. Registers are read with the VM paused so that all
 * vCPUs are shown at instruction boundaries; statistics are read live (relaxed counters). */
#include "cli/control_cmds.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <string.h>

#include "cli/machine.h"
#include "vmm/vcpu.h"

static void print_segment(FILE *out, const char *name, unsigned i, const struct kvm_segment *s)
{
	fprintf(out, "%s[%u]\tsel 0x%04x base 0x%016llx limit 0x%08x type 0x%x dpl %u%s%s\n", name, i,
		s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl, s->l ? " long" : "",
		s->db ? " 32-bit" : "");
}

static int get_all(struct machine *m, FILE *out)
{
	int rc = 0;
	vm_pause_all(m->vm);
	for (unsigned i = 0; i < vm_ncpus(m->vm) && rc == 0; i++) {
		struct vcpu *v = vm_vcpu(m->vm, i);
		struct kvm_regs r;
		struct kvm_sregs s;
		if ((rc = vcpu_get_regs(v, &r)) < 0 || (rc = vcpu_get_sregs(v, &s)) < 0) {
			fprintf(out, "error: vCPU %u: reading registers: %s\n", i, strerror(-rc));
			break;
		}
		const struct { const char *name; uint64_t val; } gp[] = {
			{ "rax", r.rax }, { "rbx", r.rbx }, { "rcx", r.rcx }, { "rdx", r.rdx }, { "rsi", r.rsi },
			{ "rdi", r.rdi }, { "rbp", r.rbp }, { "rsp", r.rsp }, { "r8", r.r8 }, { "r9", r.r9 },
			{ "r10", r.r10 }, { "r11", r.r11 }, { "r12", r.r12 }, { "r13", r.r13 }, { "r14", r.r14 },
			{ "r15", r.r15 }, { "rip", r.rip }, { "rflags", r.rflags }, { "cr0", s.cr0 }, { "cr2", s.cr2 },
			{ "cr3", s.cr3 }, { "cr4", s.cr4 }, { "efer", s.efer }, { "gdtr_base", s.gdt.base },
			{ "gdtr_limit", s.gdt.limit }, { "idtr_base", s.idt.base }, { "idtr_limit", s.idt.limit },
		};
		for (size_t k = 0; k < sizeof(gp) / sizeof(gp[0]); k++)
			fprintf(out, "%s[%u]\t0x%016" PRIx64 "\n", gp[k].name, i, gp[k].val);
		print_segment(out, "cs", i, &s.cs);
		print_segment(out, "ds", i, &s.ds);
		print_segment(out, "es", i, &s.es);
		print_segment(out, "fs", i, &s.fs);
		print_segment(out, "gs", i, &s.gs);
		print_segment(out, "ss", i, &s.ss);
		print_segment(out, "tr", i, &s.tr);
		print_segment(out, "ldt", i, &s.ldt);
	}
	vm_resume_all(m->vm);
	return rc;
}

static void print_stats_table(FILE *out, const char *title, const struct vcpu_stats *st)
{
	uint64_t total = 0;
	for (unsigned k = 0; k < VMEXIT__COUNT; k++)
		total += st->count[k];
	fprintf(out, "%s: %" PRIu64 " exits handled in user space\n", title, total);
	fprintf(out, "  %-18s %12s %12s %10s %10s %10s\n", "exit", "count", "total_us", "avg_us", "min_us", "max_us");
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		if (!st->count[k])
			continue;
		fprintf(out, "  %-18s %12" PRIu64 " %12.1f %10.2f %10.2f %10.2f\n", vmexit_kind_name(k), st->count[k],
			st->ns[k] / 1e3, st->ns[k] / 1e3 / st->count[k], st->min_ns[k] / 1e3, st->max_ns[k] / 1e3);
	}
}

static int get_stats(struct machine *m, FILE *out)
{
	struct vcpu_stats sum;
	memset(&sum, 0, sizeof(sum));
	for (unsigned k = 0; k < VMEXIT__COUNT; k++)
		sum.min_ns[k] = UINT64_MAX;
	for (unsigned i = 0; i < vm_ncpus(m->vm); i++) {
		struct vcpu_stats st;
		vcpu_read_stats(vm_vcpu(m->vm, i), &st);
		char title[32];
		snprintf(title, sizeof(title), "vcpu%u", i);
		print_stats_table(out, title, &st);
		for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
			sum.count[k] += st.count[k];
			sum.ns[k] += st.ns[k];
			if (st.min_ns[k] < sum.min_ns[k])
				sum.min_ns[k] = st.min_ns[k];
			if (st.max_ns[k] > sum.max_ns[k])
				sum.max_ns[k] = st.max_ns[k];
		}
	}
	print_stats_table(out, "total", &sum);
	return 0;
}

int control_cmds_handle(void *machine, const char *request, FILE *out)
{
	struct machine *m = machine;
	if (strcmp(request, "get-all") == 0)
		return get_all(m, out);
	if (strcmp(request, "get-stats") == 0)
		return get_stats(m, out);
	if (strcmp(request, "destroy") == 0) {
		vm_request_end(m->vm, VM_END_POWEROFF, 0, "destroyed by dhyvectl");
		fprintf(out, "%s: destroyed\n", vm_name(m->vm));
		return 0;
	}
	fprintf(out, "error: unknown request '%s' (get-all, get-stats, destroy)\n", request);
	return -EINVAL;
}
