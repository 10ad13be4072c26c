/* INIT-SIPI-SIPI for the test guests (smp_start.h). */
#include "smp_start.h"

#include <stdint.h>

#define TRAMP_BASE 0x60000ul
#define LAPIC 0xfee00000ul
#define ICR_LOW 0x300
#define ICR_HIGH 0x310

extern char cx16_tramp_start[], cx16_tramp_end[], cx16_tramp_stack[], cx16_tramp_entry[];

static void lapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

void smp_delay(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

bool smp_start_ap(void (*entry)(void), void *stack_top, volatile int *alive)
{
	uint8_t *dst = (uint8_t *)TRAMP_BASE;
	for (char *p = cx16_tramp_start; p < cx16_tramp_end; p++)
		*dst++ = (uint8_t)*p;
	*(uint64_t *)(TRAMP_BASE + (cx16_tramp_stack - cx16_tramp_start)) = (uint64_t)(uintptr_t)stack_top;
	*(uint64_t *)(TRAMP_BASE + (cx16_tramp_entry - cx16_tramp_start)) = (uint64_t)(uintptr_t)entry;
	/* "All excluding self": on this KVM an INIT/SIPI sent to physical APIC ID 1 never reaches
	 * vCPU 1 (it stays in its reset state); the shorthand does. */
	lapic_write(ICR_HIGH, 0);
	lapic_write(ICR_LOW, 0x000c4500); /* INIT, assert, all excluding self */
	smp_delay(2000);
	for (int i = 0; i < 2 && !*alive; i++) {
		lapic_write(ICR_LOW, 0x000c4600 | (TRAMP_BASE >> 12)); /* STARTUP at 0x60000 */
		smp_delay(2000);
	}
	for (int i = 0; i < 100000 && !*alive; i++)
		smp_delay(10);
	return *alive;
}
