/* Delivering an interrupt or exception through the guest's IDT in user space, as the CPU does
 * (64-bit IA-32e gates and 32-bit protected-mode gates), including the faults delivery raises. */
#ifndef DHYVE_FALLBACK_IDT_DELIVER_H
#define DHYVE_FALLBACK_IDT_DELIVER_H

#include "fallback/cpu_state.h"

enum fb_event_kind {
	FB_EVENT_SOFTWARE,      /* int n, int3: the gate's DPL must allow CPL; next RIP pushed */
	FB_EVENT_PRIV_SOFTWARE, /* int1 (icebp): no DPL check; next RIP pushed */
	FB_EVENT_EXCEPTION,     /* a fault: the RIP of the faulting instruction pushed */
};

struct fb_event {
	uint8_t vector;
	enum fb_event_kind kind;
	bool has_error;
	uint32_t error;
	uint64_t cr2;        /* #PF: the faulting address, loaded into CR2 */
	uint64_t return_rip; /* what the frame's RIP slot gets */
};

/* One delivery: on FB_STEP_OK regs/sregs hold the handler's state; on FB_STEP_FAULT c->exc is
 * the fault delivery raised and regs/sregs (and guest memory) are as before. */
enum fb_step fb_idt_deliver_once(struct fb_cpu *c, const struct fb_event *ev);

enum fb_delivery {
	FB_DELIVERED,           /* the event asked for */
	FB_DELIVERED_FAULT,     /* delivering it faulted, and that fault (or #DF) was delivered */
	FB_TRIPLE_FAULT,        /* delivering the double fault faulted: the CPU shuts down */
	FB_DELIVERY_UNHANDLED,  /* a gate or TSS we do not emulate (task gate, 16-bit, v8086) */
};

/* Delivers ev; a fault raised while delivering it is delivered instead, two faults that do not
 * combine serially become #DF (SDM vol. 3, table 6-5), and a fault while delivering #DF is a
 * triple fault. */
enum fb_delivery fb_deliver(struct fb_cpu *c, const struct fb_event *ev);
/* Delivers c->exc, raised by the instruction at regs.rip. */
enum fb_delivery fb_deliver_exception(struct fb_cpu *c);

#endif
