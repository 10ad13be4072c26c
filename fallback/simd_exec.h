/* Running one guest SSE/AVX/AVX-512 instruction on the host CPU: the guest's general registers,
 * arithmetic flags and XSAVE image are loaded into the host's registers, the rewritten
 * instruction runs in an executable buffer with its memory operand in a host buffer, and
 * everything is saved back. The host's own vector state is saved and restored around it. */
#ifndef DHYVE_FALLBACK_SIMD_EXEC_H
#define DHYVE_FALLBACK_SIMD_EXEC_H

#include <stdint.h>

#include "fallback/simd_rewrite.h"

#define FB_SIMD_MEM_MAX 64 /* the largest memory operand: a ZMM register */

struct fb_simd_job {
	uint64_t gpr[16];  /* rax, rcx, rdx, rbx, rsp (not used), rbp, rsi, rdi, r8-r15 */
	uint64_t rflags;   /* in and out; only CF, PF, AF, ZF, SF and OF reach the host */
	void *xsave;       /* 64-byte aligned XSAVE image in the standard form (KVM's), in and out */
	uint64_t rfbm;     /* the components loaded from and saved to it; 0: the instruction uses
			    * general registers only, and no vector state is switched (xsave unused) */
	uint8_t mem[FB_SIMD_MEM_MAX]; /* the memory operand's bytes, in and out */
	const struct fb_simd_form *form;
	int signal;        /* out: the signal the host instruction raised (0: none) */
};

/* The XCR0 of this process (what the host's XSAVE covers). */
uint64_t fb_simd_host_xcr0(void);

/* Runs job->form. Our handlers for SIGILL, SIGFPE, SIGSEGV and SIGBUS pass every signal not
 * raised by the guest's instruction to the handler that was there before; that they are still
 * the ones installed is checked at the first run, every 256 runs and after a caught signal (a
 * check is four sigaction() calls, ~1.5 us here). Returns 0 (job->signal says whether the CPU refused it: SIGILL, SIGFPE,
 * SIGSEGV or SIGBUS, caught and turned back into a return; nothing of the guest's state is then
 * saved back), or -ENOMEM when no executable page can be had, -ENOTSUP when the host lacks XSAVE. */
int fb_simd_exec(struct fb_simd_job *job);

/* Checks the handlers at this thread's next run: for code that installs its own handlers for
 * those signals after a run (cmocka does before each test). */
void fb_simd_exec_recheck_guard(void);

#endif
