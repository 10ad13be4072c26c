/* Completing, on the host CPU, the computing instructions this KVM offers in CPUID but fails to
 * emulate at CPL0 (SSE..AVX-512, AES, PCLMUL, SHA, F16C, FMA, popcnt, crc32, BMI1/2, ADX): the
 * CPU's checks first (#UD, #NM, #GP for alignment, #PF for the operand), then the instruction
 * itself runs on the guest's registers (simd_exec.c), and the results are written back in an
 * order that leaves the guest untouched when the store faults.
 *
 * Why the host's instruction and not our own code: the guest sees the host's CPUID here (this
 * KVM forces it through), so the host CPU *is* the guest's CPU model; running its instruction
 * gives the exact result, the exact flags (the SDM's "undefined" ones as this CPU sets them),
 * MXCSR rounding and exception flags, for hundreds of instructions no emulator of ours or
 * Debian's (unicorn has no AVX) covers. The whitelist (decode_host.c) keeps it to pure
 * computation; a host that lacks an instruction raises SIGILL, which becomes the guest's #UD. */
#include <signal.h>
#include <string.h>

#include "fallback/complete.h"
#include "fallback/simd_exec.h"

#define XSTATE_BV 512
#define MXCSR_OFF 24
#define MXCSR_FLAGS 0x3fu
#define MXCSR_MASKS (0x3fu << 7)
#define CR0_EM (1ull << 2)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define FB_XM 19
#define SIMD_COMPONENTS 0xe7ull

/* kvm_regs in the hardware's register order, as the stub loads them. */
static void regs_to_gpr(const struct kvm_regs *r, uint64_t g[16])
{
	const uint64_t v[16] = { r->rax, r->rcx, r->rdx, r->rbx, r->rsp, r->rbp, r->rsi, r->rdi,
				 r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
	memcpy(g, v, sizeof(v));
}

static void gpr_to_regs(const uint64_t g[16], struct kvm_regs *r)
{
	r->rax = g[0], r->rcx = g[1], r->rdx = g[2], r->rbx = g[3], r->rbp = g[5], r->rsi = g[6], r->rdi = g[7];
	r->r8 = g[8], r->r9 = g[9], r->r10 = g[10], r->r11 = g[11], r->r12 = g[12], r->r13 = g[13];
	r->r14 = g[14], r->r15 = g[15];
}

/* #UD/#NM as the CPU checks them for the encoding (SDM vol. 2, 2.8 and the VEX/EVEX tables). */
static enum fb_step state_checks(struct fb_cpu *c, const struct fb_insn *in, enum fb_simd_encoding enc, uint64_t xcr0)
{
	const struct kvm_sregs *s = &c->sregs;
	if (!in->simd)
		return FB_STEP_OK;
	if (enc == FB_SIMD_LEGACY) {
		if ((s->cr0 & CR0_EM) || !(s->cr4 & CR4_OSFXSR))
			return fb_raise(c, FB_UD, false, 0);
	} else {
		uint64_t need = in->avx512 || enc == FB_SIMD_EVEX ? 0xe6 : 6;
		if (!(s->cr4 & FB_CR4_OSXSAVE) || (xcr0 & need) != need)
			return fb_raise(c, FB_UD, false, 0);
	}
	if (s->cr0 & FB_CR0_TS)
		return fb_raise(c, FB_NM, false, 0);
	return FB_STEP_OK;
}

static enum fb_step operand_in(struct fb_cpu *c, const struct fb_insn *in, enum fb_simd_encoding enc,
			       uint64_t *la, uint8_t *buf)
{
	enum fb_step st = fb_linear_address(c, in, la);
	if (st != FB_STEP_OK)
		return st;
	unsigned align = in->mem_align ? in->mem_align : (in->sse_align16 && enc == FB_SIMD_LEGACY) ? 16 : 0;
	if (align && (*la & (align - 1)))
		return fb_raise(c, FB_GP, true, 0);
	if (in->mem_written && (st = fb_probe_linear(c, *la, in->mem_size, fb_data_access(c, true))) != FB_STEP_OK)
		return st;
	return fb_read_linear(c, *la, buf, in->mem_size, fb_data_access(c, false));
}

/* Only the bytes that changed go back: a masked store leaves the others alone, and so do we. */
static enum fb_step operand_out(struct fb_cpu *c, const struct fb_insn *in, uint64_t la, const uint8_t *before,
				const uint8_t *after)
{
	unsigned lo = 0, hi = in->mem_size;
	while (lo < hi && before[lo] == after[lo])
		lo++;
	while (hi > lo && before[hi - 1] == after[hi - 1])
		hi--;
	if (lo == hi)
		return FB_STEP_OK;
	return fb_write_linear(c, la + lo, after + lo, hi - lo, fb_data_access(c, true));
}

enum fb_step fb_host_exec(struct fb_cpu *c, const struct fb_insn *in)
{
	static __thread struct kvm_xsave kx __attribute__((aligned(64)));
	static __thread struct kvm_xsave orig __attribute__((aligned(64)));
	struct fb_simd_form form;
	if (!fb_code64(c) || fb_simd_rewrite(in->bytes, in->len, &form) < 0 || form.has_mem != in->has_mem)
		return FB_STEP_UNHANDLED;
	/* Legacy SSE touches x87/MMX, XMM and MXCSR only, whatever XCR0 says: it needs no XCR0 (one
	 * vCPU ioctl less), and loads and saves just those components (the upper halves of the YMM
	 * registers, which it keeps, stay in KVM's image untouched). */
	uint64_t xcr0 = 3;
	if (in->simd) {
		if (!c->xs || !c->xl)
			return FB_STEP_UNHANDLED;
		if (form.enc != FB_SIMD_LEGACY && c->xs->get_xcr0(c->xs_ctx, &xcr0) < 0)
			return FB_STEP_ERROR;
	}
	enum fb_step st = state_checks(c, in, form.enc, xcr0);
	if (st != FB_STEP_OK)
		return st;

	struct fb_simd_job job = { .form = &form };
	uint8_t before[FB_SIMD_MEM_MAX] = { 0 };
	uint64_t la = 0;
	if (in->has_mem && (st = operand_in(c, in, form.enc, &la, before)) != FB_STEP_OK)
		return st;
	memcpy(job.mem, before, sizeof(before));
	regs_to_gpr(&c->regs, job.gpr);
	job.rflags = c->regs.rflags;

	uint32_t mxcsr = 0;
	if (in->simd) {
		if (xcr0 & SIMD_COMPONENTS & ~fb_simd_host_xcr0())
			return FB_STEP_UNHANDLED;
		if (c->xs->get_xsave(c->xs_ctx, &kx) < 0)
			return FB_STEP_ERROR;
		orig = kx;
		uint8_t *k = (uint8_t *)kx.region;
		memset(k + XSTATE_BV + 8, 0, 56); /* the standard form: XCOMP_BV and the rest are 0 */
		memcpy(&mxcsr, k + MXCSR_OFF, 4);
		if (mxcsr & ~c->xl->mxcsr_mask)
			return FB_STEP_UNHANDLED; /* xrstor would fault; KVM never holds such a value */
		/* Run with every exception masked and no flags, to see which ones this instruction
		 * raises: one the guest left unmasked is its #XM (or #UD without OSXMMEXCPT). */
		uint32_t run = (mxcsr | MXCSR_MASKS) & ~MXCSR_FLAGS;
		memcpy(k + MXCSR_OFF, &run, 4);
		job.xsave = kx.region;
		/* Only what an instruction can touch: x87/MMX, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM.
		 * Never PKRU (the guest's would govern the host's own accesses inside the stub) nor
		 * anything beyond KVM's 4 KiB image. */
		job.rfbm = (xcr0 | 3) & SIMD_COMPONENTS;
	}
	if (fb_simd_exec(&job) < 0)
		return FB_STEP_UNHANDLED;
	if (job.signal == SIGILL)
		return fb_raise(c, FB_UD, false, 0);
	if (job.signal)
		return FB_STEP_UNHANDLED;

	if (in->simd) {
		uint8_t *k = (uint8_t *)kx.region;
		uint32_t after;
		memcpy(&after, k + MXCSR_OFF, 4);
		uint32_t raised = after & MXCSR_FLAGS;
		if (raised & ~(mxcsr >> 7) & MXCSR_FLAGS) {
			/* An unmasked exception: the destination is not written, MXCSR's flags are. */
			uint32_t flagged = mxcsr | raised;
			memcpy((uint8_t *)orig.region + MXCSR_OFF, &flagged, 4);
			if (c->xs->set_xsave(c->xs_ctx, &orig) < 0)
				return FB_STEP_ERROR;
			return fb_raise(c, (c->sregs.cr4 & CR4_OSXMMEXCPT) ? FB_XM : FB_UD, false, 0);
		}
		after = mxcsr | raised; /* the guest's masks and sticky flags, plus the new ones */
		memcpy(k + MXCSR_OFF, &after, 4);
	}
	if (in->has_mem && (st = operand_out(c, in, la, before, job.mem)) != FB_STEP_OK)
		return st;
	gpr_to_regs(job.gpr, &c->regs);
	c->regs.rflags = job.rflags;
	if (in->simd && memcmp(kx.region, orig.region, sizeof(kx.region)) != 0 && c->xs->set_xsave(c->xs_ctx, &kx) < 0)
		return FB_STEP_ERROR;
	return FB_STEP_OK;
}
