/* fb_hang.elf: a hang that no counter sees: ring-3 code spinning on one instruction (it runs
 * natively here: no exits, no emulated instructions, registers unchanged). dhyve's watchdog must
 * stop the VM with a report (exit status 4) after its limit (-o watchdog=N). */
#include "fb_idt64.h"

static uint8_t user_stack[4096] __attribute__((aligned(16)));

__asm__(".text\n"
	"fb_hang_user: jmp fb_hang_user\n");
extern char fb_hang_user[];

void kmain(void)
{
	fb_test_name = "fb_hang";
	fb_idt_init(0x9f000, 0x9f000);
	fb_user_pages();
	serial_puts("fb_hang: entering ring 3: jmp .\n");
	fb_enter_ring3((uint64_t)(uintptr_t)fb_hang_user, (uint64_t)(uintptr_t)(user_stack + sizeof(user_stack)), 0x2);
}
