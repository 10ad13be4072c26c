/* fb_noemul.elf: executes monitor at CPL0, which this KVM cannot emulate and dhyve's fallback
 * does not complete either (it arms a wait on guest memory that only the CPU's own mwait could
 * honour): dhyve must stop the VM with a report (exit status 4), never hang. */
#include "fb_probe.h"

static const uint32_t table[8];

void kmain(void)
{
	fb_test_name = "fb_noemul";
	fb_idt_init(0x9f000, 0x9f000);
	fb_probe_enable_simd();
	serial_puts("fb_noemul: monitor at CPL0\n");
	__asm__ volatile("monitor" : : "a"(table), "c"(0), "d"(0) : "memory");
	serial_puts("fb_noemul: FAIL monitor completed\n");
	power_off();
}
