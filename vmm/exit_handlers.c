/* The default exit handlers: I/O goes to the bus the VM was given; the ways a guest can die
 * end the VM with a status and a message that says where. Upper layers replace what they own. */
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/vmm_impl.h"

__attribute__((format(printf, 3, 4)))
static enum vmexit_action end_vm(struct vcpu *v, enum vm_end how, const char *fmt, ...)
{
	char why[256], detail[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(why, sizeof(why), "vCPU %u: %s", v->index, detail);
	vm_request_end(v->vm, how, 0, why);
	return VMEXIT_STOP;
}

static enum vmexit_action handle_pio(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	(void)opaque;
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	const struct vm_io_ops *io = &v->vm->io;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		uint64_t val = 0;
		if (ex->is_write)
			memcpy(&val, data, run->io.size);
		if (io->pio)
			io->pio(io->opaque, v, run->io.port, run->io.size, ex->is_write, &val);
		else if (!ex->is_write)
			val = ~0ull;
		if (!ex->is_write)
			memcpy(data, &val, run->io.size);
		if (i == 0)
			ex->value = val;
	}
	return vm_ended(v->vm) ? VMEXIT_STOP : VMEXIT_RESUME;
}

static enum vmexit_action handle_mmio(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	(void)opaque;
	struct kvm_run *run = v->run;
	unsigned len = run->mmio.len <= 8 ? run->mmio.len : 8;
	uint64_t val = 0;
	const struct vm_io_ops *io = &v->vm->io;
	if (ex->is_write)
		memcpy(&val, run->mmio.data, len);
	if (io->mmio)
		io->mmio(io->opaque, v, run->mmio.phys_addr, len, ex->is_write, &val);
	else if (!ex->is_write)
		val = ~0ull;
	if (!ex->is_write)
		memcpy(run->mmio.data, &val, len);
	ex->value = val;
	return vm_ended(v->vm) ? VMEXIT_STOP : VMEXIT_RESUME;
}

static enum vmexit_action handle_shutdown(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	(void)opaque;
	return end_vm(v, VM_END_TRIPLEFAULT, "triple fault (shutdown) at rip 0x%" PRIx64, ex->rip);
}

static enum vmexit_action handle_emulation_fail(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	(void)opaque;
	struct kvm_run *run = v->run;
	char bytes[3 * 16 + 1] = "";
	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned n = run->emulation_failure.insn_size <= 15 ? run->emulation_failure.insn_size : 15;
		for (unsigned i = 0; i < n; i++)
			snprintf(bytes + 3 * i, 4, " %02x", run->emulation_failure.insn_bytes[i]);
	}
	char why[256];
	snprintf(why, sizeof(why), "vCPU %u: KVM could not emulate the instruction at rip 0x%" PRIx64
		 " (internal error, suberror %" PRIu64 ")%s%s", v->index, ex->rip, ex->value,
		 bytes[0] ? ", bytes:" : "", bytes);
	vm_request_end(v->vm, VM_END_ERROR, 0, why);
	return VMEXIT_STOP;
}

static enum vmexit_action handle_fail_entry(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	(void)opaque;
	return end_vm(v, VM_END_ERROR, "KVM refused to enter the guest (hardware reason 0x%" PRIx64 ") at rip 0x%" PRIx64,
		      ex->value, ex->rip);
}

static enum vmexit_action handle_system_event(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	(void)opaque;
	switch (ex->value) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		return end_vm(v, VM_END_POWEROFF, "system event: power off");
	case KVM_SYSTEM_EVENT_RESET:
		return end_vm(v, VM_END_RESET, "system event: reset");
	default:
		return end_vm(v, VM_END_ERROR, "system event %" PRIu64 " at rip 0x%" PRIx64, ex->value, ex->rip);
	}
}

static enum vmexit_action handle_hlt(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	(void)opaque;
	/* Only seen without an in-kernel irqchip: with interrupts off nothing can wake it. */
	if (v->synced && !(v->run->s.regs.regs.rflags & 0x200))
		return end_vm(v, VM_END_HALT, "halted with interrupts disabled at rip 0x%" PRIx64, ex->rip);
	return VMEXIT_RESUME;
}

static enum vmexit_action handle_hypercall(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	(void)ex;
	(void)opaque;
	v->run->hypercall.ret = (uint64_t)-1000; /* -KVM_ENOSYS: no hypercalls implemented */
	return VMEXIT_RESUME;
}

static enum vmexit_action handle_unexpected(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	(void)opaque;
	return end_vm(v, VM_END_ERROR, "unhandled exit (KVM reason %u) at rip 0x%" PRIx64,
		      ex->kvm_reason, ex->rip);
}

static enum vmexit_action handle_resume(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	(void)ex;
	(void)opaque;
	return vm_ended(v->vm) ? VMEXIT_STOP : VMEXIT_RESUME;
}

/* The table every new VM starts with. */
static const vmexit_handler_fn defaults[VMEXIT__COUNT] = {
	[VMEXIT_PIO] = handle_pio,
	[VMEXIT_MMIO] = handle_mmio,
	[VMEXIT_HLT] = handle_hlt,
	[VMEXIT_SHUTDOWN] = handle_shutdown,
	[VMEXIT_DEBUG] = handle_unexpected,
	[VMEXIT_EMULATION_FAIL] = handle_emulation_fail,
	[VMEXIT_FAIL_ENTRY] = handle_fail_entry,
	[VMEXIT_SYSTEM_EVENT] = handle_system_event,
	[VMEXIT_KICK] = handle_resume,
	[VMEXIT_IRQ_WINDOW] = handle_resume,
	[VMEXIT_HYPERCALL] = handle_hypercall,
	[VMEXIT_MSR] = handle_unexpected,
	[VMEXIT_OTHER] = handle_unexpected,
};

enum vmexit_action vm_default_exit_handler(struct vcpu *vcpu, struct vm_exit *ex)
{
	return defaults[ex->kind](vcpu, ex, NULL);
}

void vm_install_default_handlers(struct vm *vm)
{
	for (unsigned k = 0; k < VMEXIT__COUNT; k++)
		vm->handlers[k] = (struct exit_handler){ defaults[k], NULL };
}
