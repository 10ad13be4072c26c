/* replaysmp.elf: two vCPUs take turns at one spinlock and append their id to a shared sequence;
 * the sequence's hash and the number of hand-overs depend on exactly how the vCPUs interleaved,
 * so only a replay that switches vCPUs where the recording did prints the same line. Run -c 2. */
#include "fb_idt64.h"
#include "smp_start.h"

#define ROUNDS 1500

static uint8_t ap_stack[8192] __attribute__((aligned(16)));
static volatile int ap_alive, go, done[2];
static volatile unsigned lock, last = 2, handovers;
static volatile uint64_t seq = 0xcbf29ce484222325ull;

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
		smp_delay(50 + (i & 7) * 10);
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


void kmain(void)
{
	fb_test_name = "replaysmp";
	fb_idt_init(0x9f000, 0x9f000);
	if (!smp_start_ap(ap_main, ap_stack + sizeof(ap_stack), &ap_alive)) {
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
