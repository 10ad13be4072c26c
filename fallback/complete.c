/* The dispatch by instruction: each family this KVM cannot emulate at CPL0 is completed with its
 * architectural result, or raises the exception the CPU would; RIP advances past completed ones.
 *
 * Why our own code and not an emulator library (Debian's unicorn 2.0.1 was measured for this):
 * these are system instructions whose semantics live outside a CPU model's registers. Unicorn
 * stops on int3/int n with UC_ERR_EXCEPTION instead of delivering through the guest's IDT and TSS;
 * it knows nothing of KVM's XSAVE state and XCR0 (and its CPU has no AVX, so YMM could not pass
 * through it); its cmpxchg16b is not atomic against other vCPUs (a single-threaded TCG doing
 * load/compare/store), where the host's own lock cmpxchg16b on the guest page is; clac/stac/clwb/
 * invpcid/rdpru are a few lines each. Syncing registers and mapping guest memory into it would
 * also cost more than the whole completion (its first uc_mem_map alone took 3.6 ms here). It
 * would fit the pure arithmetic instructions this KVM also fails at CPL0 (popcnt, SSE, x87),
 * which are outside this set: see fallback/README.md. */
#include "fallback/complete.h"

#include <stddef.h>

#include <capstone/capstone.h>

#include "fallback/hypercall.h"
#include "fallback/idt_deliver.h"
#include "trace/disas.h"

static const char *const op_names[FB_OP__COUNT] = {
	[FB_OP_INT3] = "int3",         [FB_OP_INT] = "int",
	[FB_OP_INT1] = "int1",         [FB_OP_IRET] = "iretd",
	[FB_OP_CLAC] = "clac",         [FB_OP_STAC] = "stac",
	[FB_OP_XGETBV] = "xgetbv",     [FB_OP_XSETBV] = "xsetbv",
	[FB_OP_XSAVE] = "xsave",       [FB_OP_XSAVEOPT] = "xsaveopt",
	[FB_OP_XSAVEC] = "xsavec",     [FB_OP_XRSTOR] = "xrstor",
	[FB_OP_CMPXCHG16B] = "cmpxchg16b", [FB_OP_CLWB] = "clwb",
	[FB_OP_CLFLUSHOPT] = "clflushopt", [FB_OP_CLFLUSH] = "clflush",
	[FB_OP_INVPCID] = "invpcid",   [FB_OP_RDPRU] = "rdpru",
	[FB_OP_MOVBE] = "movbe",       [FB_OP_VMCALL] = "vmcall",
	[FB_OP_VMMCALL] = "vmmcall",   [FB_OP_HOST_EXEC] = "(host-executed)",
	[FB_OP_LDMXCSR] = "ldmxcsr",   [FB_OP_STMXCSR] = "stmxcsr",
	[FB_OP_FWAIT] = "fwait",       [FB_OP_RDTSCP] = "rdtscp",
};

const char *fb_op_name(enum fb_op op)
{
	return (unsigned)op < FB_OP__COUNT ? op_names[op] : "?";
}

unsigned fb_stat_slot(enum fb_op op, unsigned capstone_id, unsigned raw_id)
{
	if (op != FB_OP_HOST_EXEC)
		return (unsigned)op;
	if (capstone_id > X86_INS_INVALID && capstone_id < X86_INS_ENDING)
		return FB_OP__COUNT + capstone_id;
	if (raw_id > 0 && raw_id <= fb_raw_op_count() && raw_id < FB_RAW_SLOTS)
		return FB_OP__COUNT + X86_INS_ENDING + raw_id;
	return (unsigned)op;
}

const char *fb_slot_name(unsigned slot)
{
	if (slot < FB_OP__COUNT)
		return op_names[slot];
	if (slot >= FB_OP__COUNT + X86_INS_ENDING)
		return slot < FB_STAT_SLOTS ? fb_raw_op_name(slot - FB_OP__COUNT - X86_INS_ENDING - 1) : NULL;
	if (slot == FB_OP__COUNT)
		return NULL;
	csh *h = disas_detail_handle(VCPU_MODE_LONG64);
	return h ? cs_insn_name(*h, slot - FB_OP__COUNT) : NULL;
}

/* General registers by capstone number (the 32- and 16-bit names read the low bits). RIP and
 * "no register" are the callers' to handle, so they are refused here. */
bool fb_reg_value(const struct fb_cpu *c, int reg, uint64_t *value)
{
	if (reg == X86_REG_INVALID || reg == X86_REG_RIP || reg == X86_REG_EIP)
		return false;
	return disas_reg_value(&c->regs, (unsigned)reg, 0, value);
}

static bool stack_register(int reg)
{
	return reg == X86_REG_RSP || reg == X86_REG_ESP || reg == X86_REG_SP || reg == X86_REG_RBP ||
	       reg == X86_REG_EBP || reg == X86_REG_BP;
}

/* Segment base + effective address, truncated to the address size; in 64-bit code only FS and
 * GS have bases and the result must be canonical (#GP(0), #SS(0) for the stack segment). */
enum fb_step fb_linear_address(struct fb_cpu *c, const struct fb_insn *in, uint64_t *la)
{
	const struct fb_mem *m = &in->mem;
	uint64_t ea = (uint64_t)m->disp, v;
	if (m->base == X86_REG_RIP || m->base == X86_REG_EIP)
		ea += c->regs.rip + in->len;
	else if (m->base && fb_reg_value(c, m->base, &v))
		ea += v;
	else if (m->base)
		return FB_STEP_UNHANDLED;
	if (m->index) {
		if (!fb_reg_value(c, m->index, &v))
			return FB_STEP_UNHANDLED;
		ea += v * (uint64_t)m->scale;
	}
	if (in->addr_size == 4)
		ea = (uint32_t)ea;
	else if (in->addr_size == 2)
		ea = (uint16_t)ea;
	int seg = m->segment ? m->segment : stack_register(m->base) ? X86_REG_SS : X86_REG_DS;
	const struct kvm_sregs *s = &c->sregs;
	uint64_t base = seg == X86_REG_FS ? s->fs.base : seg == X86_REG_GS ? s->gs.base : 0;
	if (!fb_code64(c)) {
		base = seg == X86_REG_ES ? s->es.base : seg == X86_REG_CS ? s->cs.base : seg == X86_REG_SS ? s->ss.base
		       : seg == X86_REG_DS ? s->ds.base : base;
		*la = (uint32_t)(base + ea);
		return FB_STEP_OK;
	}
	*la = base + ea;
	if (!fb_canonical(*la))
		return fb_raise(c, seg == X86_REG_SS ? FB_SS : FB_GP, true, 0);
	return FB_STEP_OK;
}

static enum fb_step flag_ac(struct fb_cpu *c, bool set)
{
	if (fb_cpl(c) > 0)
		return fb_raise(c, FB_UD, false, 0);
	c->regs.rflags = set ? c->regs.rflags | FB_RFLAGS_AC : c->regs.rflags & ~FB_RFLAGS_AC;
	return FB_STEP_OK;
}

/* clwb/clflushopt/clflush: guest RAM is coherent host memory, so there is nothing to write back;
 * only the address checks remain (#PF for an unmapped line, as the CPU raises). */
static enum fb_step cache_line(struct fb_cpu *c, const struct fb_insn *in)
{
	uint64_t la;
	enum fb_step st = fb_linear_address(c, in, &la);
	if (st != FB_STEP_OK)
		return st;
	st = fb_probe_linear(c, la, 1, fb_data_access(c, false) | FB_ACC_FETCH /* no SMAP check */);
	return st == FB_STEP_UNHANDLED ? FB_STEP_OK : st; /* flushing an MMIO line does nothing either */
}

/* invpcid: the checks of SDM vol. 2, then a flush of what KVM caches of the guest's page tables
 * (c->flush_tlb; the caller asks vmm for it). Flushing more than asked is always correct. */
static enum fb_step invpcid(struct fb_cpu *c, const struct fb_insn *in)
{
	uint64_t type, la, desc[2];
	if (fb_cpl(c) > 0)
		return fb_raise(c, FB_GP, true, 0);
	if (!fb_reg_value(c, in->reg, &type))
		return FB_STEP_UNHANDLED;
	enum fb_step st = fb_linear_address(c, in, &la);
	if (st == FB_STEP_OK)
		st = fb_read_linear(c, la, desc, sizeof(desc), fb_data_access(c, false));
	if (st != FB_STEP_OK)
		return st;
	uint64_t pcid = desc[0] & 0xfff;
	bool pcide = (c->sregs.cr4 & FB_CR4_PCIDE) != 0;
	if (type > 3 || (desc[0] >> 12) != 0 || (type == 0 && !fb_canonical(desc[1])) ||
	    (type <= 1 && pcid != 0 && !pcide))
		return fb_raise(c, FB_GP, true, 0);
	c->flush_tlb = true;
	return FB_STEP_OK;
}

static enum fb_step xsave_family(struct fb_cpu *c, const struct fb_insn *in)
{
	if (!c->xs)
		return FB_STEP_UNHANDLED;
	if (in->op == FB_OP_XGETBV)
		return fb_xgetbv(c);
	if (in->op == FB_OP_XSETBV)
		return fb_xsetbv(c);
	uint64_t la;
	enum fb_step st = fb_linear_address(c, in, &la);
	if (st != FB_STEP_OK)
		return st;
	if (in->op == FB_OP_XRSTOR)
		return fb_xrstor(c, la, in->rex_w);
	/* XSAVEOPT may skip unmodified components; writing them all is the same memory result. */
	return fb_xsave(c, la, in->op == FB_OP_XSAVEC ? FB_XSAVE_COMPACTED : FB_XSAVE_STANDARD, in->rex_w);
}

/* An exception raised by the instruction, delivered through the guest's IDT. */
static enum fb_outcome raise_exception(struct fb_cpu *c)
{
	enum fb_delivery d = fb_deliver_exception(c);
	return d == FB_TRIPLE_FAULT ? FB_TRIPLE : d == FB_DELIVERY_UNHANDLED ? FB_NOT_OURS : FB_RAISED;
}

/* int n / int3 / int1: a software interrupt through the IDT, returning after the instruction. */
static enum fb_outcome software_interrupt(struct fb_cpu *c, const struct fb_insn *in)
{
	struct fb_event ev = {
		.vector = in->vector,
		.kind = in->op == FB_OP_INT1 ? FB_EVENT_PRIV_SOFTWARE : FB_EVENT_SOFTWARE,
		.return_rip = fb_code64(c) ? c->regs.rip + in->len : (uint32_t)(c->regs.rip + in->len),
	};
	switch (fb_deliver(c, &ev)) {
	case FB_DELIVERED: return FB_COMPLETED;
	case FB_DELIVERED_FAULT: return FB_RAISED;
	case FB_TRIPLE_FAULT: return FB_TRIPLE;
	default: return FB_NOT_OURS;
	}
}

static enum fb_step step_of(struct fb_cpu *c, const struct fb_insn *in)
{
	switch (in->op) {
	case FB_OP_CLAC: return flag_ac(c, false);
	case FB_OP_STAC: return flag_ac(c, true);
	case FB_OP_XGETBV: case FB_OP_XSETBV: case FB_OP_XSAVE: case FB_OP_XSAVEOPT: case FB_OP_XSAVEC:
	case FB_OP_XRSTOR:
		return xsave_family(c, in);
	case FB_OP_CMPXCHG16B: {
		uint64_t la;
		enum fb_step st = fb_linear_address(c, in, &la);
		return st == FB_STEP_OK ? fb_cmpxchg16b(c, la) : st;
	}
	case FB_OP_CLWB: case FB_OP_CLFLUSHOPT: case FB_OP_CLFLUSH: return cache_line(c, in);
	case FB_OP_INVPCID: return invpcid(c, in);
	/* CPUID offers neither rdpru nor a register form of movbe: the CPU raises #UD. */
	case FB_OP_RDPRU: case FB_OP_MOVBE: return fb_raise(c, FB_UD, false, 0);
	case FB_OP_VMCALL: case FB_OP_VMMCALL:
		fb_hypercall_answer(&c->regs, fb_code64(c));
		return FB_STEP_OK;
	case FB_OP_HOST_EXEC: return fb_host_exec(c, in);
	case FB_OP_LDMXCSR: case FB_OP_STMXCSR: {
		uint64_t la;
		enum fb_step st = fb_linear_address(c, in, &la);
		if (st != FB_STEP_OK)
			return st;
		return in->op == FB_OP_LDMXCSR ? fb_ldmxcsr(c, la, in->vex) : fb_stmxcsr(c, la, in->vex);
	}
	case FB_OP_FWAIT: return fb_fwait(c);
	case FB_OP_RDTSCP: return fb_rdtscp(c);
	default: return FB_STEP_UNHANDLED;
	}
}

enum fb_outcome fb_complete(struct fb_cpu *c, const struct fb_insn *in)
{
	enum fb_step st;
	switch (in->op) {
	case FB_OP_INT3: case FB_OP_INT: case FB_OP_INT1:
		return software_interrupt(c, in);
	case FB_OP_IRET:
		/* 64-bit iretq works on this KVM; the 16-bit and compatibility-mode forms stay KVM's. */
		if (in->opsize16 || fb_long_mode(c) || !(c->sregs.cr0 & FB_CR0_PE))
			return FB_NOT_OURS;
		st = fb_iret32(c);
		break;
	default:
		st = step_of(c, in);
		if (st == FB_STEP_OK && in->op != FB_OP_VMCALL && in->op != FB_OP_VMMCALL)
			c->regs.rip = fb_code64(c) ? c->regs.rip + in->len : (uint32_t)(c->regs.rip + in->len);
		break;
	}
	switch (st) {
	case FB_STEP_OK:
		/* RF is cleared once an instruction completes. */
		if (in->op != FB_OP_IRET)
			c->regs.rflags &= ~FB_RFLAGS_RF;
		return FB_COMPLETED;
	case FB_STEP_FAULT: return raise_exception(c);
	case FB_STEP_ERROR: return FB_HOST_ERROR;
	default: return FB_NOT_OURS;
	}
}
