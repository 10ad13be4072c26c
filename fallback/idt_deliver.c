/* Interrupt and exception delivery through the guest's IDT (SDM vol. 3, 6.12 and 6.14): gate
 * checks, the TSS stack switch and IST, the frame pushed, CS:RIP and RFLAGS loaded, nested faults. */
#include "fallback/idt_deliver.h"

#include <string.h>

#define GATE_INT32 0xe  /* interrupt gate (64-bit in IA-32e mode): clears IF */
#define GATE_TRAP32 0xf /* trap gate: leaves IF alone */
#define GATE_TASK 0x5
#define GATE_INT16 0x6
#define GATE_TRAP16 0x7
#define SEG_CODE 0x8      /* type bit 3: code segment */
#define SEG_CONFORMING 0x4
#define SEG_WRITABLE 0x2
#define TSS32_AVAIL 0x9
#define TSS32_BUSY 0xb

/* The gate fields common to both formats. */
struct gate {
	unsigned type, dpl, present, ist;
	uint16_t selector;
	uint64_t offset;
};

static bool has_error_code(uint8_t vector)
{
	return vector == FB_DF || vector == FB_TS || vector == FB_NP || vector == FB_SS || vector == FB_GP ||
	       vector == FB_PF || vector == 17 /* #AC */ || vector == 21 /* #CP */ || vector == 29 || vector == 30;
}

/* Error code of a fault on the IDT entry itself: index, IDT bit, EXT. */
static uint32_t idt_error(uint8_t vector, unsigned ext)
{
	return (uint32_t)vector * 8 + 2 + ext;
}

static enum fb_step read_gate(struct fb_cpu *c, const struct fb_event *ev, unsigned ext, struct gate *g)
{
	bool ia32e = fb_long_mode(c);
	unsigned size = ia32e ? 16 : 8;
	uint64_t raw[2] = { 0, 0 };
	if ((uint32_t)ev->vector * size + size - 1 > c->sregs.idt.limit)
		return fb_raise(c, FB_GP, true, idt_error(ev->vector, ext));
	enum fb_step st = fb_read_linear(c, c->sregs.idt.base + (uint64_t)ev->vector * size, raw, size, FB_ACC_IMPLICIT);
	if (st != FB_STEP_OK)
		return st;
	uint64_t lo = raw[0];
	g->type = (lo >> 40) & 0xf;
	g->dpl = (lo >> 45) & 3;
	g->present = (lo >> 47) & 1;
	g->ist = ia32e ? (lo >> 32) & 7 : 0;
	g->selector = (uint16_t)(lo >> 16);
	g->offset = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull);
	if (ia32e)
		g->offset |= (raw[1] & 0xffffffffull) << 32;
	/* The checks in the CPU's order: type, DPL (software interrupts only), present. */
	bool type_ok = g->type == GATE_INT32 || g->type == GATE_TRAP32;
	if (!ia32e && (g->type == GATE_TASK || g->type == GATE_INT16 || g->type == GATE_TRAP16))
		type_ok = true; /* valid gates, but not ones we emulate: refused below */
	if (!type_ok)
		return fb_raise(c, FB_GP, true, idt_error(ev->vector, ext));
	if (ev->kind == FB_EVENT_SOFTWARE && g->dpl < fb_cpl(c))
		return fb_raise(c, FB_GP, true, idt_error(ev->vector, ext));
	if (!g->present)
		return fb_raise(c, FB_NP, true, idt_error(ev->vector, ext));
	if (g->type != GATE_INT32 && g->type != GATE_TRAP32)
		return FB_STEP_UNHANDLED;
	return FB_STEP_OK;
}

/* The handler's code segment: checked as the CPU does before anything is pushed. */
static enum fb_step load_handler_cs(struct fb_cpu *c, const struct gate *g, unsigned ext, struct kvm_segment *cs,
				    unsigned *new_cpl, uint64_t *desc)
{
	uint32_t sel_err = (g->selector & 0xfffcu) | ext;
	if ((g->selector & ~3u) == 0)
		return fb_raise(c, FB_GP, true, ext);
	enum fb_step st = fb_read_descriptor(c, g->selector, ext, desc);
	if (st != FB_STEP_OK)
		return st;
	struct kvm_segment s;
	fb_segment_from_descriptor(&s, g->selector, *desc);
	bool code64_ok = fb_long_mode(c) ? (s.l && !s.db) : true;
	if (!s.s || !(s.type & SEG_CODE) || !code64_ok || s.dpl > fb_cpl(c))
		return fb_raise(c, FB_GP, true, sel_err);
	if (!s.present)
		return fb_raise(c, FB_NP, true, sel_err);
	*new_cpl = (s.type & SEG_CONFORMING) ? fb_cpl(c) : s.dpl;
	s.selector = (uint16_t)((g->selector & ~3u) | *new_cpl);
	*cs = s;
	return FB_STEP_OK;
}

static enum fb_step read_tss(struct fb_cpu *c, uint32_t off, void *dst, size_t len, unsigned ext)
{
	if (off + len - 1 > c->sregs.tr.limit || c->sregs.tr.unusable)
		return fb_raise(c, FB_TS, true, (c->sregs.tr.selector & 0xfffcu) | ext);
	return fb_read_linear(c, c->sregs.tr.base + off, dst, len, FB_ACC_IMPLICIT);
}

static void commit(struct fb_cpu *c, const struct gate *g, const struct kvm_segment *cs, uint64_t rsp)
{
	c->sregs.cs = *cs;
	c->regs.rip = g->offset;
	c->regs.rsp = rsp;
	c->regs.rflags &= ~(FB_RFLAGS_TF | FB_RFLAGS_NT | FB_RFLAGS_RF | FB_RFLAGS_VM);
	if (g->type == GATE_INT32)
		c->regs.rflags &= ~FB_RFLAGS_IF;
	c->sregs_changed = true;
}

/* IA-32e: 16-byte gates, 64-bit pushes, RSP aligned to 16, RSPn/IST from the 64-bit TSS. */
static enum fb_step deliver64(struct fb_cpu *c, const struct fb_event *ev, const struct gate *g, unsigned ext)
{
	struct kvm_segment cs, ss = c->sregs.ss;
	unsigned cpl = fb_cpl(c), new_cpl;
	uint64_t desc, rsp = c->regs.rsp;
	enum fb_step st = load_handler_cs(c, g, ext, &cs, &new_cpl, &desc);
	if (st != FB_STEP_OK)
		return st;
	bool switch_stack = new_cpl < cpl;
	if (switch_stack && (st = read_tss(c, 4 + 8 * new_cpl, &rsp, 8, ext)) != FB_STEP_OK)
		return st;
	if (g->ist && (st = read_tss(c, 36 + 8 * (g->ist - 1), &rsp, 8, ext)) != FB_STEP_OK)
		return st;
	if (switch_stack) {
		/* A null SS with RPL = new CPL; KVM takes the CPL from SS.DPL. */
		fb_segment_null(&ss, (uint16_t)new_cpl);
		ss.dpl = (uint8_t)new_cpl;
	}
	uint64_t frame[6];
	unsigned n = 0;
	if (ev->has_error)
		frame[n++] = ev->error;
	frame[n++] = ev->return_rip;
	frame[n++] = c->sregs.cs.selector;
	frame[n++] = c->regs.rflags;
	frame[n++] = c->regs.rsp;
	frame[n++] = c->sregs.ss.selector;
	uint64_t new_rsp = (rsp & ~0xfull) - 8ull * n;
	if (!fb_canonical(new_rsp) || !fb_canonical(new_rsp + 8ull * n - 1))
		return fb_raise(c, FB_SS, true, ext);
	if ((st = fb_write_linear(c, new_rsp, frame, 8ull * n, FB_ACC_IMPLICIT)) != FB_STEP_OK)
		return st;
	if (!fb_canonical(g->offset)) /* the CPU checks after the pushes: the frame stays written */
		return fb_raise(c, FB_GP, true, ext);
	fb_mark_descriptor_accessed(c, g->selector, desc);
	c->sregs.ss = ss;
	commit(c, g, &cs, new_rsp);
	return FB_STEP_OK;
}

/* The inner stack of a 32-bit TSS for new_cpl, with the checks of SDM "Interrupt Procedure Call":
 * #TS for a bad SS selector or descriptor, #SS for a not-present one. */
static enum fb_step inner_stack32(struct fb_cpu *c, unsigned new_cpl, unsigned ext, struct kvm_segment *ss,
				  uint32_t *esp)
{
	unsigned tr_type = c->sregs.tr.type;
	if (tr_type != TSS32_AVAIL && tr_type != TSS32_BUSY)
		return FB_STEP_UNHANDLED; /* a 16-bit TSS */
	uint16_t ss_sel = 0;
	enum fb_step st = read_tss(c, 4 + 8 * new_cpl, esp, 4, ext);
	if (st == FB_STEP_OK)
		st = read_tss(c, 8 + 8 * new_cpl, &ss_sel, 2, ext);
	if (st != FB_STEP_OK)
		return st;
	uint32_t err = (ss_sel & 0xfffcu) | ext;
	if ((ss_sel & ~3u) == 0)
		return fb_raise(c, FB_TS, true, ext);
	uint64_t desc;
	if ((st = fb_read_descriptor(c, ss_sel, ext, &desc)) != FB_STEP_OK)
		return st == FB_STEP_FAULT && c->exc.vector == FB_GP ? fb_raise(c, FB_TS, true, err) : st;
	fb_segment_from_descriptor(ss, ss_sel, desc);
	if ((ss_sel & 3u) != new_cpl || ss->dpl != new_cpl || !ss->s || (ss->type & SEG_CODE) ||
	    !(ss->type & SEG_WRITABLE))
		return fb_raise(c, FB_TS, true, err);
	if (!ss->present)
		return fb_raise(c, FB_SS, true, err);
	fb_mark_descriptor_accessed(c, ss_sel, desc);
	return FB_STEP_OK;
}

/* 32-bit protected mode: 8-byte gates, 32-bit pushes, SS:ESP from the TSS on a privilege change. */
static enum fb_step deliver32(struct fb_cpu *c, const struct fb_event *ev, const struct gate *g, unsigned ext)
{
	struct kvm_segment cs, ss = c->sregs.ss;
	unsigned cpl = fb_cpl(c), new_cpl;
	uint64_t desc;
	uint32_t esp = (uint32_t)c->regs.rsp;
	if (c->regs.rflags & FB_RFLAGS_VM)
		return FB_STEP_UNHANDLED; /* virtual-8086 mode */
	enum fb_step st = load_handler_cs(c, g, ext, &cs, &new_cpl, &desc);
	if (st != FB_STEP_OK)
		return st;
	bool switch_stack = new_cpl < cpl;
	if (switch_stack && (st = inner_stack32(c, new_cpl, ext, &ss, &esp)) != FB_STEP_OK)
		return st;
	if (!ss.db)
		return FB_STEP_UNHANDLED; /* a 16-bit stack segment */
	uint32_t frame[6];
	unsigned n = 0;
	if (ev->has_error)
		frame[n++] = ev->error;
	frame[n++] = (uint32_t)ev->return_rip;
	frame[n++] = c->sregs.cs.selector;
	frame[n++] = (uint32_t)c->regs.rflags;
	if (switch_stack) {
		frame[n++] = (uint32_t)c->regs.rsp;
		frame[n++] = c->sregs.ss.selector;
	}
	uint32_t new_esp = esp - 4 * n;
	if ((st = fb_write_linear(c, ss.base + new_esp, frame, 4ull * n, FB_ACC_IMPLICIT)) != FB_STEP_OK)
		return st;
	if (g->offset > cs.limit)
		return fb_raise(c, FB_GP, true, 0);
	fb_mark_descriptor_accessed(c, g->selector, desc);
	c->sregs.ss = ss;
	c->regs.rsp = (c->regs.rsp & ~0xffffffffull) | new_esp;
	commit(c, g, &cs, c->regs.rsp);
	c->regs.rip = (uint32_t)g->offset;
	return FB_STEP_OK;
}

enum fb_step fb_idt_deliver_once(struct fb_cpu *c, const struct fb_event *ev)
{
	/* EXT marks faults raised while delivering an event the program did not ask for by int n. */
	unsigned ext = ev->kind == FB_EVENT_SOFTWARE ? 0 : 1;
	if (!(c->sregs.cr0 & FB_CR0_PE))
		return FB_STEP_UNHANDLED; /* real mode: the IVT (KVM emulates real mode fully) */
	struct gate g;
	enum fb_step st = read_gate(c, ev, ext, &g);
	if (st != FB_STEP_OK)
		return st;
	return fb_long_mode(c) ? deliver64(c, ev, &g, ext) : deliver32(c, ev, &g, ext);
}

enum fault_class { BENIGN, CONTRIBUTORY, PAGE_FAULT, DOUBLE_FAULT };

static enum fault_class class_of(const struct fb_event *ev)
{
	if (ev->kind != FB_EVENT_EXCEPTION)
		return BENIGN;
	switch (ev->vector) {
	case FB_DE: case FB_TS: case FB_NP: case FB_SS: case FB_GP: return CONTRIBUTORY;
	case FB_PF: return PAGE_FAULT;
	case FB_DF: return DOUBLE_FAULT;
	default: return BENIGN;
	}
}

static struct fb_event exception_event(const struct fb_cpu *c, uint8_t vector, uint32_t error, uint64_t cr2)
{
	return (struct fb_event){ .vector = vector, .kind = FB_EVENT_EXCEPTION, .has_error = has_error_code(vector),
				  .error = error, .cr2 = cr2, .return_rip = c->regs.rip };
}

/* CR2 is loaded when a #PF is detected, whatever becomes of its delivery. */
static void load_cr2(struct fb_cpu *c, uint64_t la)
{
	c->sregs.cr2 = la;
	c->sregs_changed = true;
}

enum fb_delivery fb_deliver(struct fb_cpu *c, const struct fb_event *first)
{
	struct fb_event ev = *first;
	if (ev.kind == FB_EVENT_EXCEPTION && ev.vector == FB_PF)
		load_cr2(c, ev.cr2);
	/* Each round either delivers, or turns into a fault of a higher class; at most #DF. */
	for (int round = 0; round < 8; round++) {
		enum fb_step st = fb_idt_deliver_once(c, &ev);
		if (st == FB_STEP_OK)
			return round == 0 ? FB_DELIVERED : FB_DELIVERED_FAULT;
		if (st != FB_STEP_FAULT)
			return FB_DELIVERY_UNHANDLED;
		enum fault_class first_class = class_of(&ev);
		struct fb_event second = exception_event(c, c->exc.vector, c->exc.error, c->exc.cr2);
		if (second.vector == FB_PF)
			load_cr2(c, second.cr2); /* even when it turns into #DF */
		enum fault_class second_class = class_of(&second);
		if (first_class == DOUBLE_FAULT)
			return FB_TRIPLE_FAULT;
		if ((first_class == CONTRIBUTORY && second_class == CONTRIBUTORY) ||
		    (first_class == PAGE_FAULT && (second_class == CONTRIBUTORY || second_class == PAGE_FAULT)))
			ev = exception_event(c, FB_DF, 0, 0);
		else
			ev = second;
	}
	return FB_TRIPLE_FAULT;
}

enum fb_delivery fb_deliver_exception(struct fb_cpu *c)
{
	struct fb_event ev = exception_event(c, c->exc.vector, c->exc.error, c->exc.cr2);
	ev.has_error = c->exc.has_error;
	return fb_deliver(c, &ev);
}
