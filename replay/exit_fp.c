/* Exit fingerprints, shared by the recorder and the replayer so that both compute them alike. */
#include "replay/exit_fp.h"

#include <inttypes.h>
#include <linux/kvm.h>
#include <string.h>

#include "vmm/kvm_stats.h"
#include "vmm/vcpu.h"

#define RFLAGS_TF 0x100ull
#define RFLAGS_RF 0x10000ull

bool exit_is_natural(enum vmexit_kind kind)
{
	return kind != VMEXIT_KICK && kind != VMEXIT_DEBUG && kind != VMEXIT_IRQ_WINDOW;
}

/* A multiply-xor hash over the 18 words: computed at every recorded exit, so it must cost next
 * to nothing (a byte-wise CRC of the 144 bytes cost ~0.2 us here). */
uint32_t regs_fingerprint(const struct kvm_regs *r)
{
	struct kvm_regs c = *r;
	c.rflags &= ~(RFLAGS_TF | RFLAGS_RF);
	uint64_t w[sizeof(c) / 8], h = 0x9e3779b97f4a7c15ull;
	memcpy(w, &c, sizeof(w));
	for (size_t i = 0; i < sizeof(w) / 8; i++) {
		h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	return (uint32_t)(h ^ h >> 32);
}

void exit_fingerprint(struct vcpu *vcpu, const struct vm_exit *ex, uint64_t index, struct rlog_exit *x)
{
	struct kvm_regs r;
	memset(x, 0, sizeof(*x));
	x->index = index;
	x->kind = (uint8_t)ex->kind;
	x->rip = ex->rip;
	x->addr = ex->addr;
	x->size = ex->size;
	x->is_write = ex->is_write;
	x->cpl = ex->cpl;
	if (ex->is_write && (ex->kind == VMEXIT_PIO || ex->kind == VMEXIT_MMIO))
		x->value = ex->value;
	if (vcpu_get_regs(vcpu, &r) == 0)
		x->regs_hash = regs_fingerprint(&r);
	uint64_t insn;
	x->insn = vcpu_insn_count(vcpu, &insn) == 0 ? insn : 0;
}

void exit_fingerprint_print(FILE *out, const char *label, const struct rlog_exit *x)
{
	fprintf(out, "  %-8s %s rip=0x%" PRIx64 " addr=0x%" PRIx64 " size=%u %s", label,
		vmexit_kind_name((enum vmexit_kind)x->kind), x->rip, x->addr, x->size, x->is_write ? "write" : "read");
	if (x->is_write)
		fprintf(out, " value=0x%" PRIx64, x->value);
	fprintf(out, " insn=%" PRIu64 " regs=%08x\n", x->insn, x->regs_hash);
}

bool interrupt_can_enter(struct vcpu *vcpu, const struct kvm_regs *regs)
{
	struct kvm_vcpu_events ev;
	if (!(regs->rflags & 0x200))
		return false;
	return vcpu_get_events(vcpu, &ev) == 0 && !ev.interrupt.shadow;
}
