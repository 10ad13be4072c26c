/* Taking the recorded interrupts at the recorded instruction: single-stepping until an interrupt
 * raised under IF=0 can enter (as the recorder does), and handing an interrupt to a debugger that
 * single-steps across the point where it was delivered. */
#include <errno.h>
#include <linux/kvm.h>

#include "base/bytes.h"
#include "base/pagewalk.h"
#include "replay/exit_fp.h"
#include "replay/replayer_impl.h"
#include "vmm/vcpu.h"

#define RFLAGS_IF 0x200ull

void replay_update_debug(struct replayer *r, struct vcpu *vcpu)
{
	bool step = r->ifstep || r->mode == AP_STEP_OVER;
	uint64_t bp = r->handoff ? r->handoff : r->mode == AP_BREAK ? r->target.rip : 0;
	if (vcpu_replay_debug(vcpu, step, bp, r->handoff != 0) < 0)
		replay_diverged(r, vcpu, "cannot set the replay breakpoint or single-step");
}

/* The handler the guest's IDT names for vector (flat code segment, as guests run). */
static int idt_handler(struct replayer *r, struct vcpu *vcpu, uint8_t vector, uint64_t *addr)
{
	struct kvm_sregs sr;
	struct paging_regs pr;
	enum vcpu_mode mode;
	if (vcpu_get_sregs(vcpu, &sr) < 0 || vcpu_get_paging(vcpu, &pr, &mode) < 0)
		return -EIO;
	bool lma = pr.efer & (1ull << 10);
	unsigned size = lma ? 16 : 8;
	uint8_t g[16];
	if ((uint64_t)vector * size + size - 1 > sr.idt.limit ||
	    pagewalk_read(vm_gmem(r->cfg.vm), &pr, sr.idt.base + (uint64_t)vector * size, g, size) != size)
		return -EFAULT;
	*addr = get_le(g, 2) | get_le(g + 6, 2) << 16 | (lma ? get_le(g + 8, 4) << 32 : 0);
	return 0;
}

/* A debugger single-steps (holding interrupts back) where the recording delivered one: this KVM
 * would push TF into the interrupt frame if the step let it in, and holding it back puts it
 * elsewhere. So the debugger's step is set aside, the guest runs into the handler (a breakpoint
 * there, DR3), and the debugger sees its step end on the handler's first instruction, as a step
 * on hardware would. */
void replay_handoff_if_stepping(struct replayer *r, struct vcpu *vcpu)
{
	struct kvm_regs regs;
	uint8_t vector = r->deliver_vector;
	uint64_t handler;
	if (!r->deliver_pending || r->ifstep) /* IF-stepping: the interrupt waits for IF, so does this */
		return;
	r->deliver_pending = false; /* taken at the next entry, whatever happens here */
	if (!(vcpu_guest_debug_control(vcpu) & KVM_GUESTDBG_SINGLESTEP) || vcpu_get_regs(vcpu, &regs) < 0 ||
	    !(regs.rflags & RFLAGS_IF))
		return;
	if ((!r->deliver_msi && vm_irq_vector(r->cfg.vm, r->deliver_gsi, &vector) < 0) ||
	    idt_handler(r, vcpu, vector, &handler) < 0 || !handler)
		return; /* masked, or no handler to stop at: nothing will be taken */
	r->handoff = handler;
	replay_update_debug(r, vcpu);
}

/* As the recorder does (recorder.c, start_ifstep): an interrupt raised while IF is clear is
 * taken at the first instruction boundary with IF set, found by single steps. */
void replay_start_ifstep(struct replayer *r, struct vcpu *vcpu)
{
	struct kvm_regs regs;
	bool raised = r->raised;
	r->raised = false;
	if (!raised || r->ifstep || vcpu_get_regs(vcpu, &regs) < 0 || interrupt_can_enter(vcpu, &regs))
		return;
	r->ifstep = true;
	r->ifstep_left = IFSTEP_MAX;
	replay_update_debug(r, vcpu);
}
