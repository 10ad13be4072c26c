/* syscall3.elf: the first thing every Linux user process does, alone: SYSCALL from ring 3 must
 * arrive at LSTAR in ring 0 with CS from STAR. Prints "syscall3: at LSTAR, cs=..." and, where
 * the CPU stays in ring 3 there (this software KVM does: Linux's /init then faults at
 * entry_SYSCALL_64), the fault the first privileged instruction takes; powers off either way. */
#include "fb_idt64.h"

#define MSR_EFER  0xc0000080u
#define MSR_STAR  0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u

static uint8_t user_stack[4096] __attribute__((aligned(16)));
volatile uint64_t syscall3_cs, syscall3_rcx;

/* The user code, then the LSTAR target, which records CS and RCX before it touches anything
 * privileged, so it works in either ring. */
__asm__(".text\n"
	"syscall3_user:\n\t"
	"syscall\n"
	"syscall3_after:\n\t"
	"ud2\n"
	"syscall3_lstar:\n\t"
	"mov %cs, %rax\n\t"
	"mov %rax, syscall3_cs(%rip)\n\t"
	"mov %rcx, syscall3_rcx(%rip)\n\t"
	"jmp syscall3_report\n");
extern char syscall3_user[], syscall3_after[], syscall3_lstar[];

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

/* Reached from ring 0 (serial output works) or from ring 3 (the port access faults first). */
void syscall3_report(void)
{
	serial_puts("syscall3: at LSTAR, cs=");
	fb_puthex(syscall3_cs);
	serial_puts("\n");
	fb_check("RCX holds the return address", syscall3_rcx == (uint64_t)(uintptr_t)syscall3_after);
	fb_finish();
}

static void on_fault(struct fb_frame *f)
{
	serial_puts("syscall3: at LSTAR, cs=");
	fb_puthex(syscall3_cs);
	serial_puts("; then vector ");
	fb_puthex(f->vector);
	serial_puts(" from cs ");
	fb_puthex(f->cs);
	serial_puts("\n");
	fb_check("RCX holds the return address", syscall3_rcx == (uint64_t)(uintptr_t)syscall3_after);
	fb_finish();
}

void kmain(void)
{
	fb_test_name = "syscall3";
	fb_idt_init(0x9f000, 0x9f000);
	for (unsigned v = 0; v < 32; v++)
		fb_idt_set_handler(v, on_fault);
	fb_user_pages();
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1); /* SCE */
	wrmsr(MSR_STAR, (uint64_t)(FB_SEL_UDATA - 8) << 48 | (uint64_t)FB_SEL_KCODE << 32);
	wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall3_lstar);
	wrmsr(MSR_FMASK, 0x200);
	fb_enter_ring3((uint64_t)(uintptr_t)syscall3_user, (uint64_t)(uintptr_t)(user_stack + sizeof(user_stack)), 0x2);
}
