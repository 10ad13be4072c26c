/* gdbtest.elf: a target for the gdb stub's tests. A loop calls gdb_tick() (breakpoints, steps),
 * writes gdb_counter (write watchpoints) and reads gdb_input (read watchpoints); it prints
 * "gdbtest: alive" every 65536 rounds and powers off once gdb sets gdb_quit. */
#include "guest.h"

volatile uint32_t gdb_counter;
volatile uint32_t gdb_input = 7;
volatile uint32_t gdb_quit;
volatile uint64_t gdb_sum;

__attribute__((noinline)) void gdb_tick(uint32_t i)
{
	gdb_sum += i + gdb_input;
}

void kmain(void)
{
	serial_puts("gdbtest: ready\n");
	for (uint32_t i = 1;; i++) {
		gdb_tick(i);
		gdb_counter = i;
		if ((i & 0xffff) == 0)
			serial_puts("gdbtest: alive\n");
		if (gdb_quit)
			power_off();
	}
}
