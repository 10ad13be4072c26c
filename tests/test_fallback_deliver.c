/* Unit tests for the fallback's interrupt delivery and 32-bit iret, on a hand-built guest in
 * malloc'd RAM (test_fallback_fixture.h): frames, gates, IST and the TSS stack switch, 32-bit
 * protected mode, the faults delivery raises, #DF and the triple fault of a garbage IDT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fallback/idt_deliver.h"
#include "test_fallback_fixture.h"

static const uint8_t INT3[] = { 0xcc };
static const uint8_t INT80[] = { 0xcd, 0x80 };
static const uint8_t IRET[] = { 0xcf };

static void test_int3_frame_64(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_gate(f, true, 3, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	assert_int_equal(fx_run(f, INT3, 1), FB_COMPLETED);
	struct fb_cpu *c = &f->cpu;
	assert_int_equal(c->regs.rip, FX_HANDLER);
	assert_int_equal(c->regs.rsp, FX_STACK - 40);
	assert_int_equal(fx_r64(f, FX_STACK - 40), FX_CODE + 1); /* RIP after the int3 */
	assert_int_equal(fx_r64(f, FX_STACK - 32), SEL_KCODE);
	assert_int_equal(fx_r64(f, FX_STACK - 24), 0x202);
	assert_int_equal(fx_r64(f, FX_STACK - 16), FX_STACK);
	assert_int_equal(fx_r64(f, FX_STACK - 8), SEL_KDATA);
	assert_int_equal(c->regs.rflags & FB_RFLAGS_IF, 0); /* interrupt gate */
	assert_int_equal(c->sregs.cs.selector, SEL_KCODE);
	assert_true(c->sregs_changed);
	fx_free(f);
}

static void test_trap_gate_keeps_if_and_aligns(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_gate(f, true, 0x80, FX_HANDLER, SEL_KCODE, 0xf, 0, 0, true);
	f->cpu.regs.rsp = FX_STACK - 8;         /* not 16-byte aligned */
	f->cpu.regs.rflags = 0x202 | FB_RFLAGS_TF | FB_RFLAGS_RF | FB_RFLAGS_NT;
	assert_int_equal(fx_run(f, INT80, 2), FB_COMPLETED);
	assert_int_equal(f->cpu.regs.rsp, FX_STACK - 16 - 40); /* aligned down first */
	assert_int_equal(fx_r64(f, f->cpu.regs.rsp), FX_CODE + 2);
	assert_int_equal(fx_r64(f, f->cpu.regs.rsp + 24), FX_STACK - 8);
	assert_int_equal(f->cpu.regs.rflags, 0x202); /* IF kept; TF, RF, NT cleared */
	fx_free(f);
}

static void test_ist(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_gate(f, true, 3, FX_HANDLER, SEL_KCODE, 0xe, 0, 1, true);
	assert_int_equal(fx_run(f, INT3, 1), FB_COMPLETED);
	assert_int_equal(f->cpu.regs.rsp, FX_IST1 - 40);
	assert_int_equal(fx_r64(f, FX_IST1 - 16), FX_STACK); /* the old RSP */
	fx_free(f);
}

static void test_ring3_to_ring0_stack_switch(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_ring3(f);
	fx_gate(f, true, 0x80, FX_HANDLER, SEL_KCODE, 0xe, 3, 0, true);
	assert_int_equal(fx_run(f, INT80, 2), FB_COMPLETED);
	struct fb_cpu *c = &f->cpu;
	assert_int_equal(c->regs.rsp, FX_RSP0 - 40);
	assert_int_equal(fx_r64(f, FX_RSP0 - 32), SEL_UCODE);
	assert_int_equal(fx_r64(f, FX_RSP0 - 16), FX_STACK);
	assert_int_equal(fx_r64(f, FX_RSP0 - 8), SEL_UDATA);
	assert_int_equal(c->sregs.cs.dpl, 0);
	assert_int_equal(c->sregs.ss.dpl, 0);      /* KVM takes the CPL from SS.DPL */
	assert_int_equal(c->sregs.ss.selector, 0); /* null SS, RPL 0 */
	assert_int_equal(fb_cpl(c), 0);
	fx_free(f);
}

/* int n from ring 3 through a DPL 0 gate: #GP(n*8+2) instead, the int's own RIP pushed. */
static void test_dpl_check_raises_gp(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_ring3(f);
	fx_gate(f, true, 0x80, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	fx_gate(f, true, 13, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 0, true);
	assert_int_equal(fx_run(f, INT80, 2), FB_RAISED);
	assert_int_equal(f->cpu.regs.rip, FX_HANDLER + 0x100);
	assert_int_equal(f->cpu.regs.rsp, FX_RSP0 - 48);
	assert_int_equal(fx_r64(f, FX_RSP0 - 48), 0x80 * 8 + 2); /* error code */
	assert_int_equal(fx_r64(f, FX_RSP0 - 40), FX_CODE);      /* the int itself */
	fx_free(f);
}

static void test_not_present_and_bad_type(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_gate(f, true, 0x80, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, false);
	fx_gate(f, true, 11, FX_HANDLER + 0x200, SEL_KCODE, 0xe, 0, 0, true);
	assert_int_equal(fx_run(f, INT80, 2), FB_RAISED);
	assert_int_equal(f->cpu.regs.rip, FX_HANDLER + 0x200);
	assert_int_equal(fx_r64(f, f->cpu.regs.rsp), 0x80 * 8 + 2);
	fx_free(f);

	f = fx_new(true);
	fx_gate(f, true, 0x80, FX_HANDLER, SEL_KCODE, 0x5 /* task gate */, 0, 0, true);
	fx_gate(f, true, 13, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 0, true);
	assert_int_equal(fx_run(f, INT80, 2), FB_RAISED);
	assert_int_equal(f->cpu.regs.rip, FX_HANDLER + 0x100);
	assert_int_equal(fx_r64(f, f->cpu.regs.rsp), 0x80 * 8 + 2);
	fx_free(f);
}

static void test_idt_limit_and_bad_selector(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_gate(f, true, 13, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 0, true);
	f->cpu.sregs.idt.limit = 0x80 * 16 - 1; /* ends before gate 0x80 */
	assert_int_equal(fx_run(f, INT80, 2), FB_RAISED);
	assert_int_equal(fx_r64(f, f->cpu.regs.rsp), 0x80 * 8 + 2);
	fx_free(f);

	/* A gate whose selector is a data segment: #GP(selector). */
	f = fx_new(true);
	fx_gate(f, true, 0x80, FX_HANDLER, SEL_KDATA, 0xe, 0, 0, true);
	fx_gate(f, true, 13, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 0, true);
	assert_int_equal(fx_run(f, INT80, 2), FB_RAISED);
	assert_int_equal(fx_r64(f, f->cpu.regs.rsp), SEL_KDATA);
	fx_free(f);
}

/* The stack is not mapped: #PF (CR2 = the frame's address), whose delivery on the same stack
 * faults again: #DF, delivered on IST1. */
static void test_stack_fault_becomes_double_fault(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_gate(f, true, 3, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	fx_gate(f, true, 14, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 0, true);
	fx_gate(f, true, 8, FX_HANDLER + 0x200, SEL_KCODE, 0xe, 0, 1, true);
	f->cpu.regs.rsp = FX_HOLE + 0x1000;
	assert_int_equal(fx_run(f, INT3, 1), FB_RAISED);
	assert_int_equal(f->cpu.regs.rip, FX_HANDLER + 0x200);
	assert_int_equal(f->cpu.regs.rsp, FX_IST1 - 48);
	assert_int_equal(fx_r64(f, FX_IST1 - 48), 0); /* #DF's error code */
	assert_int_equal(f->cpu.sregs.cr2, FX_HOLE + 0x1000 - 48); /* the #PF's push */
	fx_free(f);
}

/* A #PF on the stack with a working #PF handler on IST1: delivered with CR2 and error code. */
static void test_stack_fault_delivered(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_gate(f, true, 3, FX_HANDLER, SEL_KCODE, 0xe, 0, 0, true);
	fx_gate(f, true, 14, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 1, true);
	f->cpu.regs.rsp = FX_HOLE + 0x1000;
	assert_int_equal(fx_run(f, INT3, 1), FB_RAISED);
	assert_int_equal(f->cpu.regs.rip, FX_HANDLER + 0x100);
	assert_int_equal(fx_r64(f, FX_IST1 - 48), 2); /* write, not present, supervisor */
	assert_int_equal(fx_r64(f, FX_IST1 - 40), FX_CODE);
	assert_int_equal(f->cpu.sregs.cr2, FX_HOLE + 0x1000 - 40);
	fx_free(f);
}

/* An IDT in unmapped memory: every delivery faults, #DF too: a triple fault. */
static void test_garbage_idt_triple_faults(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	f->cpu.sregs.idt.base = FX_HOLE;
	struct fb_regs_copy { struct kvm_regs r; } before = { f->cpu.regs };
	assert_int_equal(fx_run(f, INT3, 1), FB_TRIPLE);
	assert_memory_equal(&before.r, &f->cpu.regs, sizeof(before.r)); /* nothing committed */

	/* An IDT outside RAM altogether, and a non-canonical one: the same, never a host fault. */
	f->cpu.sregs.idt.base = 0x7fff00000000ull;
	assert_int_equal(fx_run(f, INT3, 1), FB_TRIPLE);
	f->cpu.sregs.idt.base = 0x8000000000000000ull;
	assert_int_equal(fx_run(f, INT3, 1), FB_TRIPLE);
	fx_free(f);
}

static void test_tss_limit_raises_ts(void **state)
{
	(void)state;
	struct fx *f = fx_new(true);
	fx_gate(f, true, 3, FX_HANDLER, SEL_KCODE, 0xe, 0, 1, true);
	fx_gate(f, true, 10, FX_HANDLER + 0x100, SEL_KCODE, 0xe, 0, 0, true);
	f->cpu.sregs.tr.limit = 20; /* too short for IST1 */
	assert_int_equal(fx_run(f, INT3, 1), FB_RAISED);
	assert_int_equal(f->cpu.regs.rip, FX_HANDLER + 0x100);
	assert_int_equal(fx_r64(f, f->cpu.regs.rsp), SEL_TSS | 0); /* #TS(TR selector), EXT 0 */
	fx_free(f);
}

/* 32-bit protected mode: 8-byte gates, 12-byte frame; iret pops it back. */
static void test_prot32_int_and_iret(void **state)
{
	(void)state;
	struct fx *f = fx_new(false);
	fx_gate(f, false, 0x30, FX_HANDLER, SEL_CODE32, 0xe, 0, 0, true);
	f->cpu.regs.rflags = 0x246;
	static const uint8_t INT30[] = { 0xcd, 0x30 };
	assert_int_equal(fx_run(f, INT30, 2), FB_COMPLETED);
	struct fb_cpu *c = &f->cpu;
	assert_int_equal(c->regs.rip, FX_HANDLER);
	assert_int_equal(c->regs.rsp, FX_STACK - 12);
	assert_int_equal(fx_r32(f, FX_STACK - 12), FX_CODE + 2);
	assert_int_equal(fx_r32(f, FX_STACK - 8), SEL_CODE32);
	assert_int_equal(fx_r32(f, FX_STACK - 4), 0x246);
	assert_int_equal(c->regs.rflags & FB_RFLAGS_IF, 0);
	/* The handler's iret. */
	assert_int_equal(fx_run(f, IRET, 1), FB_COMPLETED);
	assert_int_equal(c->regs.rip, FX_CODE + 2);
	assert_int_equal(c->regs.rsp, FX_STACK);
	assert_int_equal(c->regs.rflags, 0x246);
	assert_int_equal(c->sregs.cs.selector, SEL_CODE32);
	fx_free(f);
}

/* iret from ring 0 to ring 3: SS:ESP popped, CS/SS loaded from the GDT, DS (DPL 0) made null. */
static void test_iret32_to_ring3(void **state)
{
	(void)state;
	struct fx *f = fx_new(false);
	uint32_t frame[5] = { 0x400000, SEL_UCODE32, 0x3202 /* IOPL 3, IF */, 0x300000, SEL_UDATA };
	memcpy(f->ram + FX_STACK, frame, sizeof(frame));
	assert_int_equal(fx_run(f, IRET, 1), FB_COMPLETED);
	struct fb_cpu *c = &f->cpu;
	assert_int_equal(c->regs.rip, 0x400000);
	assert_int_equal(c->regs.rsp, 0x300000);
	assert_int_equal(c->regs.rflags, 0x3202);
	assert_int_equal(c->sregs.cs.selector, SEL_UCODE32);
	assert_int_equal(c->sregs.cs.dpl, 3);
	assert_int_equal(c->sregs.ss.selector, SEL_UDATA);
	assert_int_equal(c->sregs.ss.dpl, 3);
	assert_true(c->sregs.ds.unusable);
	assert_int_equal(fb_cpl(c), 3);
	fx_free(f);
}

static void test_iret32_refusals(void **state)
{
	(void)state;
	/* A null CS: #GP(0), delivered through gate 13. */
	struct fx *f = fx_new(false);
	fx_gate(f, false, 13, FX_HANDLER, SEL_CODE32, 0xe, 0, 0, true);
	uint32_t frame[3] = { 0x400000, 0, 0x202 };
	memcpy(f->ram + FX_STACK, frame, sizeof(frame));
	assert_int_equal(fx_run(f, IRET, 1), FB_RAISED);
	assert_int_equal(f->cpu.regs.rip, FX_HANDLER);
	fx_free(f);
	/* A nested-task return (NT set) is not ours. */
	f = fx_new(false);
	f->cpu.regs.rflags |= FB_RFLAGS_NT;
	assert_int_equal(fx_run(f, IRET, 1), FB_NOT_OURS);
	fx_free(f);
	/* In long mode iretq is KVM's business. */
	f = fx_new(true);
	static const uint8_t IRETQ[] = { 0x48, 0xcf };
	assert_int_equal(fx_run(f, IRETQ, 2), FB_NOT_OURS);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int3_frame_64),
		cmocka_unit_test(test_trap_gate_keeps_if_and_aligns),
		cmocka_unit_test(test_ist),
		cmocka_unit_test(test_ring3_to_ring0_stack_switch),
		cmocka_unit_test(test_dpl_check_raises_gp),
		cmocka_unit_test(test_not_present_and_bad_type),
		cmocka_unit_test(test_idt_limit_and_bad_selector),
		cmocka_unit_test(test_stack_fault_becomes_double_fault),
		cmocka_unit_test(test_stack_fault_delivered),
		cmocka_unit_test(test_garbage_idt_triple_faults),
		cmocka_unit_test(test_tss_limit_raises_ts),
		cmocka_unit_test(test_prot32_int_and_iret),
		cmocka_unit_test(test_iret32_to_ring3),
		cmocka_unit_test(test_iret32_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
