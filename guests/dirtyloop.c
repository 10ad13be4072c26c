/* dirtyloop.elf: bench/snapshot_reset's guest. Forever: an OUT to DIRTYLOOP_READY_PORT (where
 * the benchmark takes its snapshot, after writing the page count to DIRTYLOOP_COUNT_ADDR), one
 * byte written into each of that many pages from DIRTYLOOP_PAGES_ADDR, an OUT to
 * DIRTYLOOP_DONE_PORT (where it resets the VM to the snapshot). Nothing else is written: the
 * loop keeps its state in registers, so exactly `count` pages are dirtied per round. Change the
 * addresses and ports only together with bench/snapshot_reset.c. */
#include "guest.h"

#define DIRTYLOOP_READY_PORT 0xf0
#define DIRTYLOOP_DONE_PORT  0xf1
#define DIRTYLOOP_COUNT_ADDR 0x500000ul
#define DIRTYLOOP_PAGES_ADDR 0x1000000ul

void kmain(void)
{
	for (uint64_t round = 1;; round++) {
		outb(DIRTYLOOP_READY_PORT, 0);
		uint32_t n = *(volatile uint32_t *)DIRTYLOOP_COUNT_ADDR;
		volatile uint8_t *p = (volatile uint8_t *)DIRTYLOOP_PAGES_ADDR;
		for (uint32_t i = 0; i < n; i++)
			p[(uint64_t)i * 4096] = (uint8_t)(round + i);
		outb(DIRTYLOOP_DONE_PORT, 0);
	}
}
