/* replaysmp.elf: two vCPUs take turns at one spinlock and append their id to a shared sequence;
 * the sequence's hash and the number of hand-overs depend on exactly how the vCPUs interleaved,
 * so only a replay that switches vCPUs where the recording did prints the same line. Run -c 2. */
#include "fb_idt64.h"

#define TRAMP_BASE 0x60000ul
#define LAPIC 0xfee00000ul
#define ICR_LOW 0x300
#define ICR_HIGH 0x310
#define ROUNDS 1500

extern char cx16_tramp_start[], cx16_tramp_end[], cx16_tramp_stack[], cx16_tramp_entry[];

static uint8_t ap_stack[8192] __attribute__((aligned(16)));
static volatile int ap_alive, go, done[2];
static volatile unsigned lock, last = 2, handovers;
static volatile uint64_t seq = 0xcbf29ce484222325ull;

static void lapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

static void delay(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

static void take_turns(unsigned cpu)
{
	for (unsigned i = 0; i < ROUNDS; i++) {
		while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
			__asm__ volatile("pause");
		seq = (seq ^ (cpu + 1) ^ (uint64_t)i << 8) * 0x100000001b3ull;
		if (last != cpu)
			handovers++;
		last = cpu;
		__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
		delay(50 + (i & 7) * 10);
	}
	done[cpu] = 1;
}

void ap_main(void);
void ap_main(void)
{
	ap_alive = 1;
	while (!go)
		__asm__ volatile("pause");
	take_turns(1);
	halt_forever();
}

static bool start_ap(void)
{
	uint8_t *dst = (uint8_t *)TRAMP_BASE;
	for (char *p = cx16_tramp_start; p < cx16_tramp_end; p++)
		*dst++ = (uint8_t)*p;
	*(uint64_t *)(TRAMP_BASE + (cx16_tramp_stack - cx16_tramp_start)) = (uint64_t)(uintptr_t)(ap_stack + sizeof(ap_stack));
	*(uint64_t *)(TRAMP_BASE + (cx16_tramp_entry - cx16_tramp_start)) = (uint64_t)(uintptr_t)ap_main;
	lapic_write(ICR_HIGH, 0);
	lapic_write(ICR_LOW, 0x000c4500); /* INIT, all excluding self (see smp_cx16.c) */
	delay(2000);
	for (int i = 0; i < 2 && !ap_alive; i++) {
		lapic_write(ICR_LOW, 0x000c4600 | (TRAMP_BASE >> 12));
		delay(2000);
	}
	for (int i = 0; i < 100000 && !ap_alive; i++)
		delay(10);
	return ap_alive;
}

void kmain(void)
{
	fb_test_name = "replaysmp";
	fb_idt_init(0x9f000, 0x9f000);
	if (!start_ap()) {
		serial_puts("replaysmp: the AP did not start\n");
		fb_finish();
	}
	go = 1;
	take_turns(0);
	while (!done[1])
		__asm__ volatile("pause");
	serial_puts("replaysmp: handovers ");
	serial_putu(handovers);
	serial_puts(" sequence ");
	fb_puthex(seq);
	serial_puts("\n");
	power_off();
}
