/* cpuid.elf: prints the CPUID feature words a ring-0 guest sees (leaf 1 ECX/EDX, leaf 7 EBX/
 * ECX/EDX) in hex, then powers off: lets a test check that the features this KVM cannot
 * emulate (CX16, XSAVE, ...) really stay hidden from guest kernels. */
#include "guest.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static void put_hex(const char *name, uint32_t v)
{
	static const char digits[] = "0123456789abcdef";
	serial_puts(name);
	serial_puts("=0x");
	for (int shift = 28; shift >= 0; shift -= 4)
		serial_putc(digits[(v >> shift) & 0xf]);
	serial_putc('\n');
}

void kmain(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	uint32_t max_leaf = r[0];
	cpuid(1, 0, r);
	put_hex("cpuid.1.ecx", r[2]);
	put_hex("cpuid.1.edx", r[3]);
	if (max_leaf >= 7) {
		cpuid(7, 0, r);
		put_hex("cpuid.7.ebx", r[1]);
		put_hex("cpuid.7.ecx", r[2]);
		put_hex("cpuid.7.edx", r[3]);
	}
	power_off();
}
