/* fb_noemul.elf: executes popcnt at CPL0, which this KVM cannot emulate and dhyve's fallback
 * does not complete either: dhyve must stop the VM with a report (exit status 4), never hang. */
#include "fb_idt64.h"

void kmain(void)
{
	uint64_t v = 0xff;
	serial_puts("fb_noemul: popcnt at CPL0\n");
	__asm__ volatile("popcnt %0, %0" : "+r"(v));
	serial_puts("fb_noemul: FAIL popcnt completed\n");
	power_off();
}
