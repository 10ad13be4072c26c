/* lock cmpxchg16b on guest memory, which this KVM cannot emulate at CPL0: done with the host's
 * own lock cmpxchg16b on the mapped guest page, so it stays atomic against every other vCPU. */
#include "fallback/complete.h"

#include <stdint.h>

enum fb_step fb_cmpxchg16b(struct fb_cpu *c, uint64_t la)
{
	if (la & 15)
		return fb_raise(c, FB_GP, true, 0);
	void *host;
	/* The CPU always writes (the old value back on a mismatch): a read-only page faults. */
	enum fb_step st = fb_map_linear(c, la, 16, fb_data_access(c, true), &host);
	if (st != FB_STEP_OK)
		return st;
	if ((uintptr_t)host & 15)
		return FB_STEP_UNHANDLED; /* only a test's odd buffer: the host instruction would fault */
	uint64_t rax = c->regs.rax, rdx = c->regs.rdx;
	bool equal;
	/* gmem maps guest pages page-aligned, so a 16-byte-aligned guest address is one here too. */
	__asm__ volatile("lock cmpxchg16b %[m]"
			 : [m] "+m"(*(volatile unsigned __int128 *)host), "+a"(rax), "+d"(rdx), "=@ccz"(equal)
			 : "b"(c->regs.rbx), "c"(c->regs.rcx)
			 : "memory");
	if (equal) {
		c->regs.rflags |= FB_RFLAGS_ZF;
	} else {
		c->regs.rflags &= ~FB_RFLAGS_ZF;
		c->regs.rax = rax;
		c->regs.rdx = rdx;
	}
	return FB_STEP_OK;
}
