/* gdbsmp.elf: an SMP target for the gdb stub's tests. The BSP starts every AP with
 * INIT-SIPI-SIPI through its local APIC; then the BSP loops in bsp_tick() and each AP in
 * ap_tick(), each counting its rounds, so a test can tell which vCPU hit what and which ran. */
#include "guest.h"

#define AP_TRAMPOLINE_GPA 0x60000
#define LAPIC_SVR 0xfee000f0
#define LAPIC_ICR_LO 0xfee00300
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_ASSERT (1u << 14)
#define ICR_INIT (5u << 8)
#define ICR_SIPI (6u << 8)

extern const char ap_trampoline[], ap_trampoline_end[];

volatile uint32_t bsp_counter;
volatile uint32_t ap_counter;
volatile uint32_t aps_up;

static void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

__attribute__((noinline)) void bsp_tick(void)
{
	bsp_counter++;
}

__attribute__((noinline)) void ap_tick(void)
{
	ap_counter++;
}

void ap_main(uint32_t apic_id)
{
	(void)apic_id;
	__atomic_add_fetch(&aps_up, 1, __ATOMIC_SEQ_CST);
	for (;;)
		ap_tick();
}

static void start_aps(void)
{
	volatile char *dst = (volatile char *)AP_TRAMPOLINE_GPA;
	for (const char *p = ap_trampoline; p < ap_trampoline_end; p++)
		*dst++ = *p;
	mmio_write32(LAPIC_SVR, 0x1ff); /* APIC software-enabled, spurious vector 0xff */
	mmio_write32(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_INIT);
	for (int i = 0; i < 2; i++)
		mmio_write32(LAPIC_ICR_LO, ICR_ALL_BUT_SELF | ICR_ASSERT | ICR_SIPI | (AP_TRAMPOLINE_GPA >> 12));
}

void kmain(void)
{
	serial_puts("gdbsmp: starting APs\n");
	start_aps();
	/* However many APs there are: wait for the first, then until no more arrive for a while. */
	uint32_t seen;
	do {
		seen = aps_up;
		for (int i = 0; i < 50000 || aps_up == 0; i++)
			__asm__ volatile("pause");
	} while (aps_up != seen);
	serial_puts("gdbsmp: ready, APs up: ");
	serial_putu(aps_up);
	serial_puts("\n");
	for (;;)
		bsp_tick();
}
