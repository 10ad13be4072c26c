/* What fb_bitops and fb_simd share: a table of one-instruction tests run in order, from the
 * command line's "from=N" on, each announced first ("try N name") when the line says "probe", so
 * that a script can find which instruction stopped the VM and go on past it (fallback/README.md
 * was measured that way, with dhyve completing none of them). */
#ifndef DHYVE_GUESTS_FB_PROBE_H
#define DHYVE_GUESTS_FB_PROBE_H

#include "fb_idt64.h"

struct fb_probe_test {
	const char *name;
	void (*run)(void);
	bool probe_only; /* measured with "probe", skipped in a plain run (nothing completes it) */
};

/* Runs tests[from..n) and fb_finish()es; with "hold" on the command line it prints
 * "<name>: holding" instead and stays up (for dhyvectl). */
__attribute__((noreturn)) void fb_probe_run(const struct fb_probe_test *tests, unsigned n);

/* Arithmetic flags (CF PF AF ZF SF OF). */
#define FB_FL_CF 0x001ull
#define FB_FL_PF 0x004ull
#define FB_FL_AF 0x010ull
#define FB_FL_ZF 0x040ull
#define FB_FL_SF 0x080ull
#define FB_FL_OF 0x800ull
#define FB_FL_ALL 0x8d5ull

/* CR4.OSFXSR/OSXMMEXCPT/OSXSAVE, CR0.MP without EM/TS, and XCR0 = everything the CPU has of
 * x87, SSE, AVX and AVX-512 (xsetbv, which KVM emulates). Returns XCR0. */
uint64_t fb_probe_enable_simd(void);

#endif
