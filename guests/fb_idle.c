/* fb_idle.elf: a vCPU that waits (sti; hlt) for 3 seconds until its local APIC timer fires: idle,
 * not hung. dhyve's watchdog (-o watchdog=1 or 2) must leave it alone. */
#include "fb_idt64.h"

#define LAPIC 0xfee00000ul
#define TIMER_VECTOR 0x40
#define TIMER_COUNT 187500000u /* 3 s: KVM's APIC bus runs at 1 GHz, divided by 16 */

static volatile int fired;

static void lapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

static void on_timer(struct fb_frame *f)
{
	(void)f;
	fired = 1;
	lapic_write(0xb0, 0); /* EOI */
}

void kmain(void)
{
	fb_test_name = "fb_idle";
	fb_idt_init(0x9f000, 0x9f000);
	fb_idt_set_handler(TIMER_VECTOR, on_timer);
	lapic_write(0xf0, 0x1ff);          /* software enable, spurious vector 0xff */
	lapic_write(0x3e0, 0x3);           /* divide by 16 */
	lapic_write(0x320, TIMER_VECTOR);  /* one-shot */
	lapic_write(0x380, TIMER_COUNT);
	serial_puts("fb_idle: sti; hlt until the timer\n");
	while (!fired)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	fb_check("woke from hlt by the LAPIC timer, not stopped as hung", fired);
	fb_finish();
}
