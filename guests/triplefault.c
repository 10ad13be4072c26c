/* triplefault.elf: loads an IDT with limit 0 and executes ud2. #UD cannot be delivered, nor the
 * #GP/#DF that follow, so the CPU shuts down: a triple fault (dhyve exit status 3). */
#include "guest.h"

struct __attribute__((packed)) idtr {
	uint16_t limit;
	uint64_t base;
};

void kmain(void)
{
	static const struct idtr empty = { 0, 0 };

	serial_puts("triplefault: loading an empty IDT\n");
	__asm__ volatile("lidt %0\n\t"
			 "ud2"
			 : : "m"(empty) : "memory");
	__builtin_unreachable();
}
