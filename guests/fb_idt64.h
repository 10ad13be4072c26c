/* What the fallback test guests share: an IDT whose 256 stubs call one C dispatcher with the
 * CPU's frame, a GDT with ring-3 segments and a TSS (RSP0, IST1), and PASS/FAIL lines. */
#ifndef DHYVE_GUESTS_FB_IDT64_H
#define DHYVE_GUESTS_FB_IDT64_H

#include <stdbool.h>

#include "guest.h"

#define FB_SEL_KCODE 0x08
#define FB_SEL_KDATA 0x10
#define FB_SEL_UDATA 0x23 /* DPL 3 */
#define FB_SEL_UCODE 0x2b /* DPL 3, 64-bit */
#define FB_SEL_TSS   0x30

#define FB_GATE_INT  0xe
#define FB_GATE_TRAP 0xf

/* The stack an interrupt leaves for fb_dispatch: saved registers, then what the stub pushed
 * (vector and an error code, 0 when the CPU pushes none), then the CPU's own frame. */
struct fb_frame {
	uint64_t rbx, r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*fb_handler_fn)(struct fb_frame *f);

/* Loads our GDT (and reloads CS/SS/DS), a TSS with RSP0 = rsp0 and IST1 = ist1, and an IDT with
 * every vector's stub in an interrupt gate, DPL 0, present. */
void fb_idt_init(uint64_t rsp0, uint64_t ist1);
/* Rewrites gate vec: type FB_GATE_INT or FB_GATE_TRAP (or anything, to test refusals). */
void fb_idt_set_gate(unsigned vec, unsigned type, unsigned dpl, unsigned ist, bool present);
void fb_idt_set_handler(unsigned vec, fb_handler_fn fn);
/* Marks the first 2 MiB (code, data, stacks) user-accessible, for ring-3 tests. */
void fb_user_pages(void);
/* iretq into ring 3 at rip with stack rsp and RFLAGS rflags; does not return. */
__attribute__((noreturn)) void fb_enter_ring3(uint64_t rip, uint64_t rsp, uint64_t rflags);

/* Points IST1 at top (a test may make it unmapped). */
void fb_set_ist1(uint64_t top);

/* "<name>: PASS what" or "<name>: FAIL what"; fb_failures counts the FAILs. */
extern const char *fb_test_name;
extern unsigned fb_failures;
void fb_check(const char *what, bool ok);
void fb_puthex(uint64_t v);
/* "<name>: done, N failures" and power off. */
__attribute__((noreturn)) void fb_finish(void);

static inline uint64_t fb_rflags(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f) : : "memory");
	return f;
}

#endif
