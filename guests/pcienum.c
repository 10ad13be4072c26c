/* pcienum.elf: scans PCI bus 0 as a kernel does (0xcf8/0xcfc, functions 1-7 only behind the
 * multi-function bit), prints each function, checks ECAM agrees, powers off (status 1). */
#include <stdbool.h>

#include "guest.h"

#define CFG_ADDR   0xcf8
#define CFG_DATA   0xcfc
#define CFG_ENABLE 0x80000000u
#define ECAM_BASE  0xe0000000ul
#define HEADER_DWORDS 16 /* the standard header, 0x00-0x3f */

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static uint32_t cfg_read(unsigned slot, unsigned fn, unsigned reg)
{
	outl(CFG_ADDR, CFG_ENABLE | slot << 11 | fn << 8 | (reg & 0xfc));
	return inl(CFG_DATA);
}

static uint32_t ecam_read(unsigned slot, unsigned fn, unsigned reg)
{
	return *(volatile uint32_t *)(ECAM_BASE | slot << 15 | fn << 12 | reg);
}

static void put_hex(uint32_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
		serial_putc(hex[(v >> shift) & 0xf]);
}

static void put_bdf(unsigned slot, unsigned fn)
{
	serial_puts("00:");
	put_hex(slot, 2);
	serial_putc('.');
	put_hex(fn, 1);
}

/* "pci 00:SS.F VVVV:DDDD class CCCCCC" */
static void print_function(unsigned slot, unsigned fn, uint32_t id)
{
	serial_puts("pci ");
	put_bdf(slot, fn);
	serial_putc(' ');
	put_hex(id & 0xffff, 4);
	serial_putc(':');
	put_hex(id >> 16, 4);
	serial_puts(" class ");
	put_hex(cfg_read(slot, fn, 0x08) >> 8, 6);
	serial_putc('\n');
}

/* Returns the number of header dwords where ECAM and mechanism #1 disagree. */
static unsigned compare_ecam(unsigned slot, unsigned fn)
{
	unsigned bad = 0;
	for (unsigned reg = 0; reg < HEADER_DWORDS * 4; reg += 4) {
		if (ecam_read(slot, fn, reg) != cfg_read(slot, fn, reg)) {
			serial_puts("pcienum: ecam differs at ");
			put_bdf(slot, fn);
			serial_puts(" reg 0x");
			put_hex(reg, 2);
			serial_putc('\n');
			bad++;
		}
	}
	return bad;
}

void kmain(void)
{
	/* Linux's type-1 probe: the latch must read back what was written. */
	outl(CFG_ADDR, CFG_ENABLE);
	if (inl(CFG_ADDR) != CFG_ENABLE) {
		serial_puts("pcienum: no config mechanism #1\n");
		power_off();
	}
	unsigned found = 0, ecam_bad = 0;
	for (unsigned slot = 0; slot < 32; slot++) {
		if ((cfg_read(slot, 0, 0) & 0xffff) == 0xffff)
			continue;
		bool multi = (cfg_read(slot, 0, 0x0c) >> 16) & 0x80;
		for (unsigned fn = 0; fn < (multi ? 8u : 1u); fn++) {
			uint32_t id = cfg_read(slot, fn, 0);
			if ((id & 0xffff) == 0xffff)
				continue;
			print_function(slot, fn, id);
			ecam_bad += compare_ecam(slot, fn);
			found++;
		}
	}
	serial_puts("pcienum: ");
	serial_putu(found);
	serial_puts(" functions, ecam ");
	serial_puts(ecam_bad ? "differs\n" : "matches\n");
	power_off();
}
