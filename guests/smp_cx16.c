/* smp_cx16.elf: lock cmpxchg16b at CPL0, which this KVM cannot emulate (dhyve's fallback does it
 * with the host's own lock cmpxchg16b on guest memory): its semantics on one vCPU, then two vCPUs
 * incrementing one 128-bit counter (low half n, high half ~n) under contention. The BSP starts
 * the AP with INIT-SIPI-SIPI through the in-kernel local APIC and smp_cx16_tramp.S. Run it with
 * two vCPUs (-c 2). */
#include "fb_idt64.h"
#include "smp_start.h"

#define INCREMENTS 3000

static unsigned __int128 counter __attribute__((aligned(16)));
static uint8_t ap_stack[8192] __attribute__((aligned(16)));
static volatile int ap_alive, go, ap_done;
static volatile uint64_t retries[2];

static bool cmpxchg16b(volatile unsigned __int128 *m, uint64_t *lo, uint64_t *hi, uint64_t new_lo, uint64_t new_hi)
{
	bool ok;
	__asm__ volatile("lock cmpxchg16b %[m]"
			 : [m] "+m"(*m), "+a"(*lo), "+d"(*hi), "=@ccz"(ok)
			 : "b"(new_lo), "c"(new_hi)
			 : "memory");
	return ok;
}

static void increment(unsigned cpu)
{
	uint64_t lo = 0, hi = 0;
	/* On a mismatch RDX:RAX hold what memory had: the next try starts from there. */
	while (!cmpxchg16b(&counter, &lo, &hi, lo + 1, ~(lo + 1)))
		retries[cpu]++;
}

void ap_main(void);
void ap_main(void)
{
	ap_alive = 1;
	while (!go)
		__asm__ volatile("pause");
	for (int i = 0; i < INCREMENTS; i++)
		increment(1);
	ap_done = 1;
	halt_forever();
}

static void test_semantics(void)
{
	static unsigned __int128 m __attribute__((aligned(16)));
	m = ((unsigned __int128)0x2222 << 64) | 0x1111;
	uint64_t lo = 1, hi = 2;
	bool ok = cmpxchg16b(&m, &lo, &hi, 5, 6);
	fb_check("mismatch: ZF clear, RDX:RAX loaded, memory kept", !ok && lo == 0x1111 && hi == 0x2222 &&
										  m == (((unsigned __int128)0x2222 << 64) | 0x1111));
	ok = cmpxchg16b(&m, &lo, &hi, 5, 6);
	fb_check("match: ZF set, RCX:RBX stored", ok && m == (((unsigned __int128)6 << 64) | 5));
}


void kmain(void)
{
	fb_test_name = "smp_cx16";
	fb_idt_init(0x9f000, 0x9f000);
	test_semantics();
	bool up = smp_start_ap(ap_main, ap_stack + sizeof(ap_stack), &ap_alive);
	fb_check("the AP started (INIT-SIPI-SIPI, trampoline at 0x60000)", up);
	if (up) {
		go = 1;
		for (int i = 0; i < INCREMENTS; i++)
			increment(0);
		while (!ap_done)
			__asm__ volatile("pause");
		uint64_t lo = (uint64_t)counter, hi = (uint64_t)(counter >> 64);
		fb_check("two vCPUs: every increment counted", lo == 2 * INCREMENTS);
		fb_check("two vCPUs: both halves consistent (hi == ~lo)", hi == ~lo);
		serial_puts("smp_cx16: retries after a lost race: bsp ");
		serial_putu((uint32_t)retries[0]);
		serial_puts(", ap ");
		serial_putu((uint32_t)retries[1]);
		serial_putc('\n');
	}
	fb_finish();
}
