/* fb_busy3.elf: ring-3 code that computes for several seconds without an exit (a counting loop,
 * native here, so neither exits nor emulated instructions move): dhyve's watchdog must see the
 * registers change and leave it alone. The loop ends in ud2; the #UD comes back to ring 0
 * through the TSS, which reports and powers off. */
#include "fb_idt64.h"

#define ITERATIONS 20000000000ull /* about 5 s at the ~0.25 ns per iteration measured here */

static uint8_t user_stack[4096] __attribute__((aligned(16)));

__asm__(".text\n"
	"fb_busy3_user:\n\t"
	"movabs $20000000000, %rcx\n"
	"1:\tdec %rcx\n\t"
	"jnz 1b\n\t"
	"ud2\n");
extern char fb_busy3_user[];

static void on_ud(struct fb_frame *f)
{
	fb_check("ring-3 loop ran to its end: #UD from ring 3", (f->cs & 3) == 3 && f->rcx == 0);
	fb_finish();
}

void kmain(void)
{
	fb_test_name = "fb_busy3";
	fb_idt_init(0x9f000, 0x9f000);
	fb_idt_set_handler(6, on_ud);
	fb_user_pages();
	serial_puts("fb_busy3: ring-3 loop of ");
	serial_putu((uint32_t)(ITERATIONS / 1000000));
	serial_puts(" million iterations\n");
	fb_enter_ring3((uint64_t)(uintptr_t)fb_busy3_user, (uint64_t)(uintptr_t)(user_stack + sizeof(user_stack)), 0x2);
}
