/* fb_ud.elf: instructions the CPU answers with #UD that this KVM fails to emulate at CPL0:
 * rdpru (CPUID does not offer it) and movbe with a register operand. dhyve's fallback raises the
 * #UD; the handler here sees the faulting RIP and skips the instruction. */
#include "fb_idt64.h"

static volatile uint64_t hits, ud_rip, skip;

static void on_ud(struct fb_frame *f)
{
	hits++;
	ud_rip = f->rip;
	f->rip += skip;
}

void kmain(void)
{
	uint64_t at;
	fb_test_name = "fb_ud";
	fb_idt_init(0x9f000, 0x9f000);
	fb_idt_set_handler(6, on_ud);

	skip = 3;
	__asm__ volatile("lea 1f(%%rip), %0\n1:\t.byte 0x0f, 0x01, 0xfd /* rdpru */" : "=r"(at) : "c"(0) : "rax", "rdx", "memory");
	fb_check("rdpru raises #UD at its own RIP", hits == 1 && ud_rip == at);

	skip = 4;
	__asm__ volatile("lea 1f(%%rip), %0\n1:\t.byte 0x0f, 0x38, 0xf0, 0xc1 /* movbe eax, ecx */" : "=r"(at) : : "rax", "memory");
	fb_check("movbe with a register operand raises #UD", hits == 2 && ud_rip == at);

	fb_finish();
}
