/* exitloop.elf: the exit-cost benchmark's guest. Between its two lines it makes exactly
 * EXITLOOP_PIO_COUNT one-byte writes to I/O port EXITLOOP_PIO_PORT (each a port exit), then
 * exactly EXITLOOP_MMIO_COUNT 32-bit writes to guest-physical EXITLOOP_MMIO_ADDR, which is not
 * RAM, so each is an MMIO exit. Then it powers off (dhyve exit status 1). The benchmark divides
 * by these counts: change them only together with it.
 *
 * The accesses are in asm, unrolled EXITLOOP_UNROLL times so that the loop's own instructions
 * (emulated, about 1 us each here) add little to the ~8 us per exit being measured. */
#include "guest.h"

#define EXITLOOP_PIO_COUNT  100000
#define EXITLOOP_MMIO_COUNT 20000
#define EXITLOOP_PIO_PORT   0x510
#define EXITLOOP_MMIO_ADDR  0xd0000000u
#define EXITLOOP_UNROLL     10

#define STR_(x) #x
#define STR(x)  STR_(x)

_Static_assert(EXITLOOP_PIO_COUNT % EXITLOOP_UNROLL == 0, "PIO count must divide by the unroll");
_Static_assert(EXITLOOP_MMIO_COUNT % EXITLOOP_UNROLL == 0, "MMIO count must divide by the unroll");

static void pio_loop(void)
{
	uint32_t n = EXITLOOP_PIO_COUNT / EXITLOOP_UNROLL;

	__asm__ volatile("1:\n\t"
			 ".rept " STR(EXITLOOP_UNROLL) "\n\t"
			 "outb %%al, %%dx\n\t"
			 ".endr\n\t"
			 "dec %0\n\t"
			 "jnz 1b"
			 : "+r"(n)
			 : "a"(0), "d"(EXITLOOP_PIO_PORT)
			 : "cc", "memory");
}

static void mmio_loop(void)
{
	uint32_t n = EXITLOOP_MMIO_COUNT / EXITLOOP_UNROLL;

	__asm__ volatile("1:\n\t"
			 ".rept " STR(EXITLOOP_UNROLL) "\n\t"
			 "movl %%eax, (%2)\n\t"
			 ".endr\n\t"
			 "dec %0\n\t"
			 "jnz 1b"
			 : "+r"(n)
			 : "a"(0), "r"((uintptr_t)EXITLOOP_MMIO_ADDR)
			 : "cc", "memory");
}

void kmain(void)
{
	serial_puts("exitloop: start\n");
	pio_loop();
	mmio_loop();
	serial_puts("exitloop: done\n");
	power_off();
}
