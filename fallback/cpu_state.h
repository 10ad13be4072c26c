/* The CPU state the completions work on: registers copied from the vCPU at the exit, guest RAM,
 * and the extended-state door; plain data, so unit tests drive every completion without KVM. */
#ifndef DHYVE_FALLBACK_CPU_STATE_H
#define DHYVE_FALLBACK_CPU_STATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/gmem.h"
#include "base/pagewalk.h"

/* What one step of a completion came to. */
enum fb_step {
	FB_STEP_OK = 0,
	FB_STEP_FAULT,     /* the instruction raises cpu->exc instead of completing */
	FB_STEP_UNHANDLED, /* outside what we complete (MMIO operand, task gate, v8086...) */
	FB_STEP_ERROR,     /* the host failed (a vCPU ioctl): nothing was changed */
};

/* The exception an instruction (or an event delivery) raises. */
struct fb_exception {
	uint8_t vector;
	bool has_error;
	uint32_t error;
	uint64_t cr2; /* #PF only: the faulting linear address */
};

/* The XSAVE layout of this CPU (CPUID leaf 0xD): the guest sees the host's leaf 0xD on every
 * KVM we met (PLATFORM.md), and KVM_GET_XSAVE uses the same standard offsets. */
struct fb_xlayout {
	uint64_t supported;          /* XCR0 bits the CPU supports (leaf 0xD.0 EDX:EAX) */
	uint32_t offset[64], size[64];
	uint64_t align64;            /* components that start 64-byte aligned in the compacted form */
	uint32_t mxcsr_mask;
	bool xsaveopt, xsavec, xgetbv1;
};

/* The extended-state door: KVM_GET/SET_XCRS and KVM_GET/SET_XSAVE on a vCPU, or a fake. */
struct fb_xstate_ops {
	int (*get_xcr0)(void *ctx, uint64_t *xcr0);
	int (*set_xcr0)(void *ctx, uint64_t xcr0); /* -EINVAL when the value is refused */
	int (*get_xsave)(void *ctx, struct kvm_xsave *xs);
	int (*set_xsave)(void *ctx, const struct kvm_xsave *xs);
	/* MSRs of the vCPU (rdtscp reads IA32_TSC and IA32_TSC_AUX); NULL: rdtscp is not completed. */
	int (*get_msr)(void *ctx, uint32_t index, uint64_t *value);
};

struct fb_cpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	const struct gmem *mem;
	const struct fb_xstate_ops *xs; /* NULL: the xsave family is not completed */
	void *xs_ctx;
	const struct fb_xlayout *xl;
	/* Outputs besides regs/sregs. */
	bool sregs_changed; /* write sregs back */
	bool flush_tlb;     /* invpcid: KVM must drop its cached translations */
	struct fb_exception exc;
};

/* RFLAGS bits the completions touch. */
#define FB_RFLAGS_CF (1ull << 0)
#define FB_RFLAGS_ZF (1ull << 6)
#define FB_RFLAGS_TF (1ull << 8)
#define FB_RFLAGS_IF (1ull << 9)
#define FB_RFLAGS_IOPL (3ull << 12)
#define FB_RFLAGS_NT (1ull << 14)
#define FB_RFLAGS_RF (1ull << 16)
#define FB_RFLAGS_VM (1ull << 17)
#define FB_RFLAGS_AC (1ull << 18)

#define FB_CR0_PE (1ull << 0)
#define FB_CR0_TS (1ull << 3)
#define FB_CR0_WP (1ull << 16)
#define FB_CR0_PG (1ull << 31)
#define FB_CR4_PCIDE (1ull << 17)
#define FB_CR4_OSXSAVE (1ull << 18)
#define FB_CR4_SMAP (1ull << 21)
#define FB_EFER_LMA (1ull << 10)

/* Exception vectors. */
enum {
	FB_DE = 0, FB_DB = 1, FB_BP = 3, FB_UD = 6, FB_NM = 7, FB_DF = 8, FB_TS = 10, FB_NP = 11, FB_SS = 12,
	FB_GP = 13, FB_PF = 14,
};

static inline unsigned fb_cpl(const struct fb_cpu *c)
{
	return (c->sregs.cr0 & FB_CR0_PE) ? c->sregs.ss.dpl : 0;
}

static inline bool fb_long_mode(const struct fb_cpu *c)
{
	return (c->sregs.efer & FB_EFER_LMA) != 0;
}

/* 64-bit code (long mode and CS.L): addresses are 64-bit and most segment bases are zero. */
static inline bool fb_code64(const struct fb_cpu *c)
{
	return fb_long_mode(c) && c->sregs.cs.l;
}

/* Raises an exception (always returns FB_STEP_FAULT, for `return fb_raise(...)`). */
enum fb_step fb_raise(struct fb_cpu *c, uint8_t vector, bool has_error, uint32_t error);
enum fb_step fb_raise_pf(struct fb_cpu *c, uint64_t la, uint32_t error);

/* ---- guest linear memory (guest_mem.c) ---------------------------------------------------- */

/* How an access is made: the rights the page tables must grant. */
enum {
	FB_ACC_READ = 0,
	FB_ACC_WRITE = 1 << 0,
	FB_ACC_USER = 1 << 1,     /* an explicit access made at CPL3 */
	FB_ACC_IMPLICIT = 1 << 2, /* a supervisor access of the CPU itself (IDT, GDT, TSS, stack) */
	FB_ACC_FETCH = 1 << 3,    /* an instruction fetch: SMAP does not apply */
};

/* The access rights of the instruction being completed: user at CPL3, else supervisor. */
static inline unsigned fb_data_access(const struct fb_cpu *c, bool write)
{
	return (write ? FB_ACC_WRITE : 0) | (fb_cpl(c) == 3 ? FB_ACC_USER : 0);
}

/* Copies len bytes at linear address la, page by page, after checking every page (so a fault
 * leaves guest memory untouched): #PF (with CR2) when a page is absent or the rights forbid it,
 * FB_STEP_UNHANDLED when a page is not RAM (MMIO: we cannot complete that). */
enum fb_step fb_read_linear(struct fb_cpu *c, uint64_t la, void *dst, size_t len, unsigned acc);
enum fb_step fb_write_linear(struct fb_cpu *c, uint64_t la, const void *src, size_t len, unsigned acc);
/* Host pointer of [la, la+len) when it lies in one page of RAM and the rights allow acc. */
enum fb_step fb_map_linear(struct fb_cpu *c, uint64_t la, size_t len, unsigned acc, void **host);
/* Checks that [la, la+len) could be accessed with acc, without copying anything. */
enum fb_step fb_probe_linear(struct fb_cpu *c, uint64_t la, size_t len, unsigned acc);

static inline bool fb_canonical(uint64_t la)
{
	return (uint64_t)((int64_t)(la << 16) >> 16) == la;
}

/* ---- descriptors (descriptor.c) ----------------------------------------------------------- */

/* Reads the 8-byte descriptor of selector from the GDT or LDT: #GP(selector) when it lies
 * beyond the table's limit (ext: the event was external, EXT bit of the error code). */
enum fb_step fb_read_descriptor(struct fb_cpu *c, uint16_t selector, bool ext, uint64_t *desc);
/* The hidden part of a segment register loaded from a descriptor (KVM's format). */
void fb_segment_from_descriptor(struct kvm_segment *s, uint16_t selector, uint64_t desc);
/* A null selector loaded into a data segment register (unusable). */
void fb_segment_null(struct kvm_segment *s, uint16_t selector);
/* Sets the descriptor's accessed bit in memory, as the CPU does when loading it. */
void fb_mark_descriptor_accessed(struct fb_cpu *c, uint16_t selector, uint64_t desc);

#endif
