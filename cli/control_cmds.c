/* The control requests a running VM serves. Registers are read with the VM paused so that all
 * vCPUs are shown at instruction boundaries; statistics are read live (relaxed counters). */
#include "cli/control_cmds.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <string.h>

#include "cli/config.h"
#include "cli/machine.h"
#include "cli/machine_snapshot.h"
#include "fallback/fallback.h"
#include "trace/disas.h"
#include "trace/tracer.h"
#include "vmm/kvm_stats.h"
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

/* Per-vCPU and total counters; the total's histogram is the sum, so its percentiles are
 * over all exits of that kind. */
struct stats_view {
	struct vcpu_stats user;              /* exits handled in user space, with latencies */
	struct kvm_stat_counter kvm[128];    /* KVM's own counters (kernel side) */
	int nkvm;
};

static void add_stats(struct vcpu_stats *sum, const struct vcpu_stats *st)
{
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		sum->count[k] += st->count[k];
		sum->ns[k] += st->ns[k];
		if (st->count[k] && st->min_ns[k] < sum->min_ns[k])
			sum->min_ns[k] = st->min_ns[k];
		if (st->max_ns[k] > sum->max_ns[k])
			sum->max_ns[k] = st->max_ns[k];
		for (unsigned b = 0; b < LHIST_BUCKETS; b++)
			sum->hist[k][b] += st->hist[k][b];
	}
}

static void add_kvm(struct stats_view *sum, const struct stats_view *v)
{
	for (int i = 0; i < v->nkvm; i++) {
		int j = 0;
		while (j < sum->nkvm && strcmp(sum->kvm[j].name, v->kvm[i].name) != 0)
			j++;
		if (j == sum->nkvm) {
			if (sum->nkvm == (int)(sizeof(sum->kvm) / sizeof(sum->kvm[0])))
				continue;
			sum->kvm[sum->nkvm++] = (struct kvm_stat_counter){ .value = 0 };
			memcpy(sum->kvm[j].name, v->kvm[i].name, KVM_STAT_NAME_MAX);
		}
		sum->kvm[j].value += v->kvm[i].value;
	}
}

static uint64_t user_total(const struct vcpu_stats *st)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < VMEXIT__COUNT; k++)
		n += st->count[k];
	return n;
}

static uint64_t kvm_value(const struct stats_view *v, const char *name, bool *found)
{
	for (int i = 0; i < v->nkvm; i++)
		if (strcmp(v->kvm[i].name, name) == 0) {
			*found = true;
			return v->kvm[i].value;
		}
	*found = false;
	return 0;
}

static double pct_us(const struct vcpu_stats *st, unsigned k, double p)
{
	return lhist_percentile(st->hist[k], st->count[k], p, st->min_ns[k], st->max_ns[k]) / 1e3;
}

/* KVM counters worth a line in the text report (JSON carries them all). */
static const char *const kvm_highlights[] = {
	"exits", "io_exits", "mmio_exits", "halt_exits", "irq_exits", "signal_exits", "irq_window_exits",
	"insn_emulation", "insn_emulation_fail", "hypercalls", "irq_injections", "nmi_injections",
};

static void print_stats_text(FILE *out, const char *title, const struct stats_view *v)
{
	const struct vcpu_stats *st = &v->user;
	bool found;
	uint64_t kexits = kvm_value(v, "exits", &found);
	fprintf(out, "%s: %" PRIu64 " exits handled in user space", title, user_total(st));
	if (found)
		fprintf(out, ", %" PRIu64 " exits in all (KVM's count, including those it handled itself)", kexits);
	fprintf(out, "\n  %-18s %12s %12s %9s %9s %9s %9s %9s\n", "exit", "count", "total_us", "avg_us", "min_us",
		"p50_us", "p99_us", "max_us");
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		if (!st->count[k])
			continue;
		fprintf(out, "  %-18s %12" PRIu64 " %12.1f %9.2f %9.2f %9.2f %9.2f %9.2f\n", vmexit_kind_name(k),
			st->count[k], st->ns[k] / 1e3, st->ns[k] / 1e3 / st->count[k], st->min_ns[k] / 1e3,
			pct_us(st, k, 50), pct_us(st, k, 99), st->max_ns[k] / 1e3);
	}
	for (size_t i = 0; i < sizeof(kvm_highlights) / sizeof(kvm_highlights[0]); i++) {
		uint64_t val = kvm_value(v, kvm_highlights[i], &found);
		if (found && val)
			fprintf(out, "  kvm.%-24s %12" PRIu64 "\n", kvm_highlights[i], val);
	}
}

static void print_stats_json(FILE *out, const char *title, const struct stats_view *v)
{
	const struct vcpu_stats *st = &v->user;
	fprintf(out, "{\"name\": \"%s\", \"user_exits\": %" PRIu64 ", \"by_reason\": {", title, user_total(st));
	const char *sep = "";
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		if (!st->count[k])
			continue;
		fprintf(out, "%s\"%s\": {\"count\": %" PRIu64 ", \"total_us\": %.3f, \"avg_us\": %.3f, \"min_us\": %.3f, "
			     "\"p50_us\": %.3f, \"p99_us\": %.3f, \"max_us\": %.3f}",
			sep, vmexit_kind_name(k), st->count[k], st->ns[k] / 1e3, st->ns[k] / 1e3 / st->count[k],
			st->min_ns[k] / 1e3, pct_us(st, k, 50), pct_us(st, k, 99), st->max_ns[k] / 1e3);
		sep = ", ";
	}
	fprintf(out, "}, \"kvm\": {");
	for (int i = 0; i < v->nkvm; i++)
		fprintf(out, "%s\"%s\": %" PRIu64, i ? ", " : "", v->kvm[i].name, v->kvm[i].value);
	fprintf(out, "}}");
}

static int get_stats(struct machine *m, FILE *out, bool json)
{
	static struct stats_view sum, view; /* large; the main loop serves one request at a time */
	memset(&sum, 0, sizeof(sum));
	for (unsigned k = 0; k < VMEXIT__COUNT; k++)
		sum.user.min_ns[k] = UINT64_MAX;
	if (json)
		fprintf(out, "{\"vm\": \"%s\", \"vcpus\": [", vm_name(m->vm));
	for (unsigned i = 0; i < vm_ncpus(m->vm); i++) {
		struct vcpu *v = vm_vcpu(m->vm, i);
		vcpu_read_stats(v, &view.user);
		view.nkvm = vcpu_kvm_stats(v, view.kvm, (int)(sizeof(view.kvm) / sizeof(view.kvm[0])));
		if (view.nkvm < 0)
			view.nkvm = 0;
		char title[32];
		snprintf(title, sizeof(title), "vcpu%u", i);
		if (json) {
			fputs(i ? ", " : "", out);
			print_stats_json(out, title, &view);
		} else {
			print_stats_text(out, title, &view);
		}
		add_stats(&sum.user, &view.user);
		add_kvm(&sum, &view);
	}
	if (json) {
		fprintf(out, "], \"total\": ");
		print_stats_json(out, "total", &sum);
		fprintf(out, ", \"fallback\": ");
		fallback_print_stats(m->fallback, out, true);
		fprintf(out, "}\n");
	} else {
		print_stats_text(out, "total", &sum);
		fallback_print_stats(m->fallback, out, false);
	}
	return 0;
}

static int trace_dump(struct machine *m, const char *path, FILE *out)
{
	if (!m->tracer) {
		fprintf(out, "error: tracing is off for %s (start it with -o trace.entries=N)\n", vm_name(m->vm));
		return -ENOENT;
	}
	if (path[0] != '/') {
		fprintf(out, "error: trace-dump needs an absolute path\n");
		return -EINVAL;
	}
	struct errmsg e;
	if (tracer_dump(m->tracer, path, &e) < 0) {
		fprintf(out, "error: %s: %s\n", path, e.text);
		return -EIO;
	}
	fprintf(out, "%s: trace written to %s\n", vm_name(m->vm), path);
	return 0;
}

/* "disas VCPU ADDR COUNT": ADDR "rip" means the vCPU's current RIP. */
static int disas(struct machine *m, const char *args, FILE *out)
{
	unsigned vcpu, count;
	char addr[32];
	if (sscanf(args, "%u %31s %u", &vcpu, addr, &count) != 3 || count == 0 || count > 1000) {
		fprintf(out, "error: usage: disas VCPU ADDR|rip COUNT (1-1000)\n");
		return -EINVAL;
	}
	struct vcpu *v = vm_vcpu(m->vm, vcpu);
	if (!v) {
		fprintf(out, "error: no vCPU %u (the VM has %u)\n", vcpu, vm_ncpus(m->vm));
		return -EINVAL;
	}
	vm_pause_all(m->vm);
	struct kvm_regs r;
	struct kvm_sregs s;
	int rc = vcpu_get_regs(v, &r);
	if (rc == 0)
		rc = vcpu_get_sregs(v, &s);
	vm_resume_all(m->vm);
	if (rc < 0) {
		fprintf(out, "error: vCPU %u: reading registers: %s\n", vcpu, strerror(-rc));
		return rc;
	}
	uint64_t gva;
	enum vcpu_mode mode = vcpu_mode_of(&s);
	if (strcmp(addr, "rip") == 0) {
		gva = mode == VCPU_MODE_LONG64 ? r.rip : s.cs.base + r.rip;
	} else if (parse_uint(addr, UINT64_MAX, &gva) < 0) {
		fprintf(out, "error: '%s' is not an address\n", addr);
		return -EINVAL;
	}
	struct paging_regs pr = { .cr0 = s.cr0, .cr3 = s.cr3, .cr4 = s.cr4, .efer = s.efer };
	disas_print_around(out, vm_gmem(m->vm), &pr, mode, gva, (int)count);
	return 0;
}

/* "checkpoint PATH" (the VM runs on) and "suspend PATH" (it ends once the file is written). */
static int checkpoint(struct machine *m, const char *path, bool stop, FILE *out)
{
	if (path[0] != '/') {
		fprintf(out, "error: %s needs an absolute path\n", stop ? "suspend" : "checkpoint");
		return -EINVAL;
	}
	struct errmsg e;
	struct snapshot_figures fig;
	int rc = machine_checkpoint(m, path, stop, &fig, &e);
	if (rc < 0) {
		fprintf(out, "error: %s: %s\n", path, e.text);
		return rc;
	}
	fprintf(out, "%s: %s written to %s (%.1f KiB for %.0f MiB of RAM; vCPUs paused %.2f ms, written in %.1f ms)%s\n",
		vm_name(m->vm), stop ? "suspended, snapshot" : "checkpoint", path, fig.bytes / 1024.0,
		fig.ram_bytes / 1048576.0, fig.pause_ns / 1e6, fig.write_ns / 1e6, stop ? "; the VM has stopped" : "");
	return 0;
}

int control_cmds_handle(void *machine, const char *request, FILE *out)
{
	struct machine *m = machine;
	if (strncmp(request, "checkpoint ", 11) == 0)
		return checkpoint(m, request + 11, false, out);
	if (strncmp(request, "suspend ", 8) == 0)
		return checkpoint(m, request + 8, true, out);
	if (strncmp(request, "trace-dump ", 11) == 0)
		return trace_dump(m, request + 11, out);
	if (strncmp(request, "disas ", 6) == 0)
		return disas(m, request + 6, out);
	if (strcmp(request, "get-all") == 0)
		return get_all(m, out);
	if (strcmp(request, "get-stats") == 0 || strcmp(request, "get-stats json") == 0)
		return get_stats(m, out, strcmp(request, "get-stats json") == 0);
	if (strcmp(request, "destroy") == 0) {
		vm_request_end(m->vm, VM_END_POWEROFF, 0, "destroyed by dhyvectl");
		fprintf(out, "%s: destroyed\n", vm_name(m->vm));
		return 0;
	}
	fprintf(out, "error: unknown request '%s' (get-all, get-stats [json], trace-dump PATH, disas VCPU ADDR COUNT, checkpoint PATH, suspend PATH, destroy)\n", request);
	return -EINVAL;
}
