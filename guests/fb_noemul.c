/* fb_noemul.elf: executes vpgatherdd at CPL0, which this KVM cannot emulate and dhyve's fallback
 * does not complete either (a vector of addresses is outside what the host may run for it):
 * dhyve must stop the VM with a report (exit status 4), never hang. */
#include "fb_probe.h"

static const uint32_t table[8];

void kmain(void)
{
	fb_test_name = "fb_noemul";
	fb_idt_init(0x9f000, 0x9f000);
	fb_probe_enable_simd();
	serial_puts("fb_noemul: vpgatherdd at CPL0\n");
	__asm__ volatile("vpgatherdd %%ymm2, (%0,%%ymm1,4), %%ymm0" : : "r"(table) : "memory");
	serial_puts("fb_noemul: FAIL vpgatherdd completed\n");
	power_off();
}
