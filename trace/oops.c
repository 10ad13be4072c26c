/* Printing a dying vCPU's state as a kernel developer expects to read it: registers in the
 * Linux oops layout, "Code:" bytes, decoded instructions from RIP, stack words, last exits. */
#include "trace/oops.h"

#include <inttypes.h>
#include <linux/kvm.h>
#include <stdlib.h>

#include "base/pagewalk.h"
#include "trace/disas.h"
#include "trace/tracer.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define OOPS_INSNS 6
#define OOPS_STACK_WORDS 8

static void print_registers(FILE *out, const struct kvm_regs *r, const struct kvm_sregs *s)
{
	fprintf(out, "RIP: %04x:%016llx RFLAGS: %08llx\n", s->cs.selector, r->rip, r->rflags);
	fprintf(out, "RSP: %04x:%016llx\n", s->ss.selector, r->rsp);
	fprintf(out, "RAX: %016llx RBX: %016llx RCX: %016llx\n", r->rax, r->rbx, r->rcx);
	fprintf(out, "RDX: %016llx RSI: %016llx RDI: %016llx\n", r->rdx, r->rsi, r->rdi);
	fprintf(out, "RBP: %016llx R08: %016llx R09: %016llx\n", r->rbp, r->r8, r->r9);
	fprintf(out, "R10: %016llx R11: %016llx R12: %016llx\n", r->r10, r->r11, r->r12);
	fprintf(out, "R13: %016llx R14: %016llx R15: %016llx\n", r->r13, r->r14, r->r15);
	fprintf(out, "FS:  %016llx GS:  %016llx\n", s->fs.base, s->gs.base);
	fprintf(out, "CR0: %016llx CR2: %016llx CR3: %016llx CR4: %016llx\n", s->cr0, s->cr2, s->cr3, s->cr4);
	fprintf(out, "EFER: %016llx GDT: %016llx/%x IDT: %016llx/%x\n", s->efer, s->gdt.base, s->gdt.limit,
		s->idt.base, s->idt.limit);
}

static void print_stack(FILE *out, const struct gmem *m, const struct paging_regs *pr, enum vcpu_mode mode,
			uint64_t rsp)
{
	unsigned word = mode == VCPU_MODE_LONG64 ? 8 : 4;
	fprintf(out, "Stack:\n");
	for (unsigned i = 0; i < OOPS_STACK_WORDS; i++) {
		uint64_t addr = rsp + (uint64_t)i * word, val = 0;
		if (pagewalk_read(m, pr, addr, &val, word) != word) {
			fprintf(out, " %016" PRIx64 ": not mapped\n", addr);
			return;
		}
		fprintf(out, " %016" PRIx64 ": %0*" PRIx64 "\n", addr, (int)word * 2, val);
	}
}

static void print_last_exits(FILE *out, struct tracer *t, unsigned index)
{
	struct trace_record recs[OOPS_LAST_EXITS];
	const struct trace_ring *r = &t->rings[index];
	uint64_t n = r->capacity < OOPS_LAST_EXITS ? r->capacity : OOPS_LAST_EXITS;
	/* Own thread: the ring is not being written while we read it. */
	uint64_t head = r->head, first = head > n ? head - n : 0;
	fprintf(out, "Last exits of vCPU %u (oldest first):\n", index);
	for (uint64_t i = first; i < head; i++) {
		recs[i - first] = r->slots[i & (r->capacity - 1)];
		const struct trace_record *x = &recs[i - first];
		fprintf(out, " %-10s rip %016" PRIx64 " addr %#" PRIx64 " size %u %s value %#" PRIx64 " (%u ns)\n",
			vmexit_kind_name(x->kind), x->rip, x->addr, x->size, x->is_write ? "write" : "read", x->value,
			x->handle_ns);
	}
}

void oops_print(FILE *out, struct vcpu *v, const char *reason, struct tracer *tracer)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	fprintf(out, "dhyve: %s: %s\n", vm_name(vcpu_vm(v)), reason);
	if (vcpu_get_regs(v, &r) < 0 || vcpu_get_sregs(v, &s) < 0) {
		fprintf(out, "(registers of vCPU %u unavailable)\n", vcpu_index(v));
		return;
	}
	enum vcpu_mode mode = vcpu_mode_of(&s);
	struct paging_regs pr = { .cr0 = s.cr0, .cr3 = s.cr3, .cr4 = s.cr4, .efer = s.efer };
	static const char *const mode_names[] = { "real mode", "16-bit protected mode", "32-bit protected mode",
						  "64-bit long mode" };
	fprintf(out, "vCPU %u, %s, CPL %u\n", vcpu_index(v), mode_names[mode], mode == VCPU_MODE_REAL ? 0 : s.ss.dpl);
	print_registers(out, &r, &s);
	struct gmem *m = vm_gmem(vcpu_vm(v));
	/* Real mode addresses are CS.base + IP; the walker sees linear addresses. */
	uint64_t pc = mode == VCPU_MODE_LONG64 ? r.rip : s.cs.base + r.rip;
	disas_print_around(out, m, &pr, mode, pc, OOPS_INSNS);
	print_stack(out, m, &pr, mode, mode == VCPU_MODE_LONG64 ? r.rsp : s.ss.base + r.rsp);
	if (tracer)
		print_last_exits(out, tracer, vcpu_index(v));
}
