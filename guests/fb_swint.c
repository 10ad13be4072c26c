/* fb_swint.elf: software interrupts at CPL0, which this KVM cannot emulate (dhyve's fallback
 * delivers them): int3 and int n through interrupt and trap gates, the frame pushed, 16-byte
 * alignment, IST, and the faults delivery raises (#NP, #GP on a bad gate, #PF on the stack). */
#include "fb_idt64.h"

#define IST_UNMAPPED 0x8000000000ull /* PML4 entry 1: not present in the loader's map */

static uint8_t ist_stack[4096] __attribute__((aligned(16)));
static volatile struct fb_frame last;
static volatile uint64_t in_rflags, frame_top, hits, fixup, cr2;

static void on_record(struct fb_frame *f)
{
	last = *f;
	in_rflags = fb_rflags();
	frame_top = (uint64_t)(uintptr_t)&f->ss + 8;
	hits++;
	f->rip += fixup; /* faults return to the int instruction: skip it */
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
}

/* int3 with interrupts on: the frame is the CPU's, IF is off in the handler (interrupt gate). */
static void test_int3(void)
{
	uint64_t ret, rsp, before;
	hits = 0;
	__asm__ volatile("sti\n\t"
			 "nop\n\t"
			 "pushfq\n\t"
			 "popq %2\n\t"
			 "mov %%rsp, %1\n\t"
			 "lea 1f(%%rip), %0\n\t"
			 "int3\n"
			 "1:\n\t"
			 "cli"
			 : "=&r"(ret), "=&r"(rsp), "=&r"(before) : : "memory");
	fb_check("int3 reached its handler once", hits == 1 && last.vector == 3);
	fb_check("int3 frame: RIP after the instruction", last.rip == ret);
	fb_check("int3 frame: CS and SS", last.cs == FB_SEL_KCODE && last.ss == FB_SEL_KDATA);
	fb_check("int3 frame: RFLAGS as before (IF set)", last.rflags == before && (before & 0x200));
	fb_check("int3 frame: RSP as before", last.rsp == rsp);
	fb_check("int3 interrupt gate: IF clear in the handler", !(in_rflags & 0x200));
	fb_check("int3 frame 16-byte aligned", (frame_top & 15) == 0);
}

/* int $0x80 through a trap gate: IF stays on; a misaligned RSP is aligned down first. */
static void test_int80_trap(void)
{
	uint64_t ret, rsp;
	hits = 0;
	fb_idt_set_gate(0x80, FB_GATE_TRAP, 0, 0, true);
	__asm__ volatile("sub $8, %%rsp\n\t"
			 "sti\n\t"
			 "nop\n\t"
			 "mov %%rsp, %1\n\t"
			 "lea 1f(%%rip), %0\n\t"
			 "int $0x80\n"
			 "1:\n\t"
			 "cli\n\t"
			 "add $8, %%rsp"
			 : "=&r"(ret), "=&r"(rsp) : : "memory");
	fb_check("int $0x80 reached its handler", hits == 1 && last.vector == 0x80);
	fb_check("int $0x80 frame: RIP and RSP", last.rip == ret && last.rsp == rsp && (rsp & 15) == 8);
	fb_check("int $0x80 trap gate: IF still set in the handler", (in_rflags & 0x200) != 0);
	fb_check("int $0x80 frame aligned down to 16 bytes", frame_top == (rsp & ~15ull));
}

static void test_dpl3_gate(void)
{
	hits = 0;
	fb_idt_set_gate(0x84, FB_GATE_INT, 3, 0, true);
	__asm__ volatile("int $0x84" : : : "memory");
	fb_check("int $0x84 with a DPL 3 gate from CPL0", hits == 1 && last.vector == 0x84);
}

static void test_ist(void)
{
	hits = 0;
	fb_idt_set_gate(0x81, FB_GATE_INT, 0, 1, true);
	__asm__ volatile("int $0x81" : : : "memory");
	fb_check("int $0x81 with IST1: frame on the IST stack",
		 hits == 1 && frame_top == (uint64_t)(uintptr_t)(ist_stack + sizeof(ist_stack)));
}

/* Faults while delivering: they replace the interrupt, and return to the int instruction. */
static void expect_fault(const char *what, unsigned gate_vec, unsigned vector, uint64_t error)
{
	uint64_t at;
	hits = 0;
	fixup = 2;
	switch (gate_vec) { /* int needs an immediate */
	case 0x82: __asm__ volatile("lea 1f(%%rip), %0\n1:\tint $0x82" : "=r"(at) : : "memory"); break;
	case 0x83: __asm__ volatile("lea 1f(%%rip), %0\n1:\tint $0x83" : "=r"(at) : : "memory"); break;
	default: __asm__ volatile("lea 1f(%%rip), %0\n1:\tint $0x81" : "=r"(at) : : "memory"); break;
	}
	fixup = 0;
	fb_check(what, hits == 1 && last.vector == vector && last.error == error && last.rip == at);
}

void kmain(void)
{
	fb_test_name = "fb_swint";
	fb_idt_init(0x9f000, (uint64_t)(uintptr_t)(ist_stack + sizeof(ist_stack)));
	static const unsigned recorded[] = { 3, 11, 13, 14, 0x80, 0x81, 0x84 };
	for (unsigned i = 0; i < sizeof(recorded) / sizeof(recorded[0]); i++)
		fb_idt_set_handler(recorded[i], on_record);
	test_int3();
	test_int80_trap();
	test_dpl3_gate();
	test_ist();

	fb_idt_set_gate(0x82, FB_GATE_INT, 0, 0, false);
	expect_fault("not-present gate raises #NP(0x82*8+2)", 0x82, 11, 0x82 * 8 + 2);
	fb_idt_set_gate(0x83, 0x5 /* a task gate: invalid in long mode */, 0, 0, true);
	expect_fault("task gate in long mode raises #GP(0x83*8+2)", 0x83, 13, 0x83 * 8 + 2);
	/* An IST stack that is not mapped: the pushes fault with #PF (write, not present). */
	fb_set_ist1(IST_UNMAPPED);
	expect_fault("unmapped IST stack raises #PF (error 2)", 0x81, 14, 2);
	fb_check("#PF from the pushes: CR2 in the frame's page", (cr2 & ~0xfffull) == IST_UNMAPPED - 4096);
	fb_finish();
}
