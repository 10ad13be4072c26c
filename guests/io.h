/* Port I/O and machine-control helpers for the freestanding test guests (32- and 64-bit). */
#ifndef DHYVE_GUESTS_IO_H
#define DHYVE_GUESTS_IO_H

#include <stdint.h>

#define PM1A_CNT_PORT 0x404                      /* ACPI PM1a control (devmodel/power.h) */
#define PM1A_CNT_S5   ((5u << 10) | (1u << 13)) /* SLP_TYP=5 (soft off) | SLP_EN = 0x3400 */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/* cli; hlt forever: a halted machine. */
static inline __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt" : : : "memory");
}

/* ACPI S5 through PM1a control: dhyve exits with status 1. Halts if that ever returns. */
static inline __attribute__((noreturn)) void power_off(void)
{
	outw(PM1A_CNT_PORT, PM1A_CNT_S5);
	halt_forever();
}

#endif
