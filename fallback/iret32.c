/* The 32-bit protected-mode `iret` this KVM fails to emulate at CPL0: pop EIP, CS, EFLAGS (and
 * ESP, SS when returning to an outer ring), with the checks of SDM vol. 2 IRET "PROTECTED-MODE". */
#include "fallback/complete.h"

#define SEG_CODE 0x8
#define SEG_CONFORMING 0x4
#define SEG_WRITABLE 0x2

/* EFLAGS bits an iret may change at every CPL (besides IF and IOPL below). */
#define IRET_FLAGS (0x1u | 0x4u | 0x10u | 0x40u | 0x80u | 0x100u | 0x400u | 0x800u | 0x4000u | 0x10000u | 0x40000u | 0x200000u)
#define EFLAGS_VIF_VIP (3u << 19)

/* The checks a return code segment must pass (rpl is the popped selector's RPL). */
static enum fb_step load_return_cs(struct fb_cpu *c, uint16_t sel, struct kvm_segment *cs, uint64_t *desc)
{
	unsigned rpl = sel & 3u;
	if ((sel & ~3u) == 0)
		return fb_raise(c, FB_GP, true, 0);
	enum fb_step st = fb_read_descriptor(c, sel, false, desc);
	if (st != FB_STEP_OK)
		return st;
	fb_segment_from_descriptor(cs, sel, *desc);
	if (!cs->s || !(cs->type & SEG_CODE) || rpl < fb_cpl(c) ||
	    ((cs->type & SEG_CONFORMING) ? cs->dpl > rpl : cs->dpl != rpl))
		return fb_raise(c, FB_GP, true, sel & 0xfffcu);
	if (!cs->present)
		return fb_raise(c, FB_NP, true, sel & 0xfffcu);
	return FB_STEP_OK;
}

static enum fb_step load_return_ss(struct fb_cpu *c, uint16_t sel, unsigned rpl, struct kvm_segment *ss,
				   uint64_t *desc)
{
	if ((sel & ~3u) == 0)
		return fb_raise(c, FB_GP, true, 0);
	enum fb_step st = fb_read_descriptor(c, sel, false, desc);
	if (st != FB_STEP_OK)
		return st;
	fb_segment_from_descriptor(ss, sel, *desc);
	if ((sel & 3u) != rpl || ss->dpl != rpl || !ss->s || (ss->type & SEG_CODE) || !(ss->type & SEG_WRITABLE))
		return fb_raise(c, FB_GP, true, sel & 0xfffcu);
	if (!ss->present)
		return fb_raise(c, FB_SS, true, sel & 0xfffcu);
	return FB_STEP_OK;
}

/* Data segment registers the outer ring may not keep (SDM: they become null). */
static void drop_inner_segment(struct kvm_segment *s, unsigned new_cpl)
{
	bool conforming_code = (s->type & SEG_CODE) && (s->type & SEG_CONFORMING);
	if (!s->unusable && (s->selector & ~3u) && !conforming_code && s->dpl < new_cpl)
		fb_segment_null(s, 0);
}

enum fb_step fb_iret32(struct fb_cpu *c)
{
	unsigned cpl = fb_cpl(c);
	/* Nested-task returns, virtual-8086 and 16-bit stacks are outside what we complete. */
	if ((c->regs.rflags & (FB_RFLAGS_NT | FB_RFLAGS_VM)) || !c->sregs.ss.db)
		return FB_STEP_UNHANDLED;
	uint32_t esp = (uint32_t)c->regs.rsp, f[5];
	unsigned acc = fb_data_access(c, false);
	enum fb_step st = fb_read_linear(c, c->sregs.ss.base + esp, f, 12, acc);
	if (st != FB_STEP_OK)
		return st;
	uint32_t eip = f[0], eflags = f[2];
	uint16_t cs_sel = (uint16_t)f[1];
	if (cpl == 0 && (eflags & FB_RFLAGS_VM))
		return FB_STEP_UNHANDLED; /* a return to virtual-8086 mode */
	struct kvm_segment cs, ss = c->sregs.ss;
	uint64_t cs_desc, ss_desc = 0;
	if ((st = load_return_cs(c, cs_sel, &cs, &cs_desc)) != FB_STEP_OK)
		return st;
	unsigned rpl = cs_sel & 3u;
	bool outer = rpl > cpl;
	uint32_t new_esp = esp + 12;
	if (outer) {
		if ((st = fb_read_linear(c, c->sregs.ss.base + (uint32_t)(esp + 12), &f[3], 8, acc)) != FB_STEP_OK)
			return st;
		if ((st = load_return_ss(c, (uint16_t)f[4], rpl, &ss, &ss_desc)) != FB_STEP_OK)
			return st;
		new_esp = f[3];
	}
	if (eip > cs.limit)
		return fb_raise(c, FB_GP, true, 0);

	uint32_t mask = IRET_FLAGS;
	unsigned iopl = (c->regs.rflags & FB_RFLAGS_IOPL) >> 12;
	if (cpl == 0)
		mask |= FB_RFLAGS_IF | FB_RFLAGS_IOPL | EFLAGS_VIF_VIP;
	else if (cpl <= iopl)
		mask |= FB_RFLAGS_IF;
	c->regs.rflags = (c->regs.rflags & ~(uint64_t)mask) | (eflags & mask) | 0x2;

	fb_mark_descriptor_accessed(c, cs_sel, cs_desc);
	c->sregs.cs = cs;
	c->regs.rip = eip;
	if (outer) {
		fb_mark_descriptor_accessed(c, (uint16_t)f[4], ss_desc);
		c->sregs.ss = ss;
		drop_inner_segment(&c->sregs.ds, rpl);
		drop_inner_segment(&c->sregs.es, rpl);
		drop_inner_segment(&c->sregs.fs, rpl);
		drop_inner_segment(&c->sregs.gs, rpl);
	}
	c->regs.rsp = (c->regs.rsp & ~0xffffffffull) | new_esp;
	c->sregs_changed = true;
	return FB_STEP_OK;
}
