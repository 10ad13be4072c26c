/* Starting the second vCPU of a test guest: the trampoline of smp_cx16_tramp.S copied to a SIPI
 * page, then INIT-SIPI-SIPI through the in-kernel local APIC. */
#ifndef DHYVE_GUESTS_SMP_START_H
#define DHYVE_GUESTS_SMP_START_H

#include <stdbool.h>

/* Runs entry on the AP with the stack ending at stack_top; true once *alive turned nonzero (entry
 * sets it). */
bool smp_start_ap(void (*entry)(void), void *stack_top, volatile int *alive);
void smp_delay(unsigned n);

#endif
