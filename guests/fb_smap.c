/* fb_smap.elf: stac/clac at CPL0, which this KVM fails to emulate: dhyve's fallback sets and
 * clears RFLAGS.AC (bit 18); pushf shows it, and nothing else in RFLAGS changes. */
#include "fb_idt64.h"

#define AC (1ull << 18)

void kmain(void)
{
	fb_test_name = "fb_smap";
	fb_idt_init(0x9f000, 0x9f000);
	uint64_t before = fb_rflags(), after_stac, after_clac;
	__asm__ volatile("stac" : : : "memory");
	after_stac = fb_rflags();
	__asm__ volatile("clac" : : : "memory");
	after_clac = fb_rflags();
	fb_check("stac sets RFLAGS.AC", (after_stac & AC) != 0);
	fb_check("stac changes nothing else", (after_stac & ~AC) == (before & ~AC));
	fb_check("clac clears RFLAGS.AC", !(after_clac & AC));
	/* Many in a row (a kernel's uaccess pairs). */
	for (int i = 0; i < 50; i++)
		__asm__ volatile("stac; clac" : : : "memory");
	fb_check("50 stac/clac pairs leave AC clear", !(fb_rflags() & AC));
	fb_finish();
}
