/* A guest for the fallback's unit tests, built by hand in malloc'd RAM: page tables (identity,
 * 2 MiB pages, with a hole and a read-only page), GDT with ring-3 segments and TSS, an IDT, and
 * a fb_cpu in 64-bit long mode or 32-bit protected mode. No KVM involved. */
#ifndef DHYVE_TESTS_FALLBACK_FIXTURE_H
#define DHYVE_TESTS_FALLBACK_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "fallback/complete.h"
#include "fallback/cpu_state.h"

#define FX_RAM (8u << 20)
#define FX_PML4 0x1000ull
#define FX_PDPT 0x2000ull
#define FX_PD 0x3000ull
#define FX_PT 0x4000ull      /* 4 KiB pages for 6-8 MiB: 0x600000 read-only, 0x601000 user, rest supervisor */
#define FX_GDT 0x10000ull
#define FX_TSS 0x11000ull
#define FX_IDT 0x20000ull
#define FX_RSP0 0x80000ull
#define FX_IST1 0x90000ull
#define FX_STACK 0x70000ull
#define FX_CODE 0x100000ull
#define FX_HANDLER 0x180000ull
#define FX_RO_PAGE 0x600000ull
#define FX_USER_PAGE 0x601000ull
#define FX_HOLE 0x400000ull  /* 4-6 MiB: not present */

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_CODE32 0x18
#define SEL_UDATA 0x23
#define SEL_UCODE 0x2b
#define SEL_TSS 0x30
#define SEL_UCODE32 0x3b

struct fx {
	uint8_t *ram;
	struct gmem mem;
	struct fb_cpu cpu;
};

static inline void fx_w64(struct fx *f, uint64_t gpa, uint64_t v)
{
	memcpy(f->ram + gpa, &v, 8);
}

static inline uint64_t fx_r64(struct fx *f, uint64_t gpa)
{
	uint64_t v;
	memcpy(&v, f->ram + gpa, 8);
	return v;
}

static inline uint32_t fx_r32(struct fx *f, uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, f->ram + gpa, 4);
	return v;
}

static inline void fx_code(struct fx *f, uint64_t gpa, const void *bytes, size_t n)
{
	memcpy(f->ram + gpa, bytes, n);
}

static inline void fx_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t dpl, bool l, bool db)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
				   .dpl = dpl, .db = db, .s = 1, .l = l, .g = 1 };
}

/* 64-bit: 16-byte gate; 32-bit: 8-byte gate (ia32e false). */
static inline void fx_gate(struct fx *f, bool ia32e, unsigned vec, uint64_t off, uint16_t sel, unsigned type,
			   unsigned dpl, unsigned ist, bool present)
{
	uint64_t lo = (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)ist << 32) | ((uint64_t)type << 40) |
		      ((uint64_t)dpl << 45) | ((uint64_t)present << 47) | ((off >> 16 & 0xffff) << 48);
	if (ia32e) {
		fx_w64(f, FX_IDT + 16ull * vec, lo);
		fx_w64(f, FX_IDT + 16ull * vec + 8, off >> 32);
	} else {
		fx_w64(f, FX_IDT + 8ull * vec, lo);
	}
}

static inline struct fx *fx_new(bool ia32e)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (posix_memalign((void **)&f->ram, 4096, FX_RAM) != 0)
		abort();
	memset(f->ram, 0, FX_RAM);
	gmem_init_flat(&f->mem, f->ram, FX_RAM);
	/* Page tables: 0-4 MiB as two 2 MiB user pages, 4-6 MiB absent, 6-8 MiB as 4 KiB pages. */
	fx_w64(f, FX_PML4, FX_PDPT | 7);
	fx_w64(f, FX_PDPT, FX_PD | 7);
	fx_w64(f, FX_PD, 0x000000 | 0x87); /* user pages: ring-3 tests run code and stacks here */
	fx_w64(f, FX_PD + 8, 0x200000 | 0x87);
	fx_w64(f, FX_PD + 24, FX_PT | 7);
	for (unsigned i = 0; i < 512; i++)
		fx_w64(f, FX_PT + 8ull * i, (0x600000ull + 4096ull * i) | 3);
	fx_w64(f, FX_PT, FX_RO_PAGE | 1);        /* present, read-only */
	fx_w64(f, FX_PT + 8, FX_USER_PAGE | 7); /* user */
	/* GDT */
	fx_w64(f, FX_GDT + 0x08, 0x00af9b000000ffffull);
	fx_w64(f, FX_GDT + 0x10, 0x00cf93000000ffffull);
	fx_w64(f, FX_GDT + 0x18, 0x00cf9b000000ffffull);
	fx_w64(f, FX_GDT + 0x20, 0x00cff3000000ffffull);
	fx_w64(f, FX_GDT + 0x28, 0x00affb000000ffffull);
	fx_w64(f, FX_GDT + 0x38, 0x00cffb000000ffffull); /* 32-bit user code */
	/* TSS: 64-bit RSP0/IST1; the 32-bit layout's ESP0/SS0 share the first bytes. */
	if (ia32e) {
		fx_w64(f, FX_TSS + 4, FX_RSP0);
		fx_w64(f, FX_TSS + 36, FX_IST1);
	} else {
		uint32_t esp0 = FX_RSP0, ss0 = SEL_KDATA;
		memcpy(f->ram + FX_TSS + 4, &esp0, 4);
		memcpy(f->ram + FX_TSS + 8, &ss0, 4);
	}
	struct fb_cpu *c = &f->cpu;
	c->mem = &f->mem;
	c->regs.rip = FX_CODE;
	c->regs.rsp = FX_STACK;
	c->regs.rflags = 0x202;
	struct kvm_sregs *s = &c->sregs;
	if (ia32e) {
		s->cr0 = FB_CR0_PE | FB_CR0_WP | FB_CR0_PG;
		s->cr3 = FX_PML4;
		s->cr4 = 0x20;
		s->efer = 0x500;
		fx_segment(&s->cs, SEL_KCODE, 0xb, 0, true, false);
	} else {
		s->cr0 = FB_CR0_PE;
		fx_segment(&s->cs, SEL_CODE32, 0xb, 0, false, true);
	}
	fx_segment(&s->ss, SEL_KDATA, 0x3, 0, false, true);
	s->ds = s->es = s->fs = s->gs = s->ss;
	s->gdt = (struct kvm_dtable){ .base = FX_GDT, .limit = 0x3f };
	s->idt = (struct kvm_dtable){ .base = FX_IDT, .limit = ia32e ? 0xfff : 0x7ff };
	s->tr = (struct kvm_segment){ .base = FX_TSS, .limit = 103, .selector = SEL_TSS, .type = 0xb, .present = 1 };
	s->ldt = (struct kvm_segment){ .unusable = 1 };
	return f;
}

static inline void fx_free(struct fx *f)
{
	free(f->ram);
	free(f);
}

/* Puts code at RIP, decodes and completes it. */
static inline enum fb_outcome fx_run(struct fx *f, const void *code, size_t n)
{
	uint64_t pc = f->cpu.sregs.cs.base + f->cpu.regs.rip;
	fx_code(f, pc, code, n);
	struct fb_insn in;
	if (fb_fetch_decode(&f->cpu, &in) != 0)
		return FB_NOT_OURS;
	return fb_complete(&f->cpu, &in);
}

/* Into ring 3 with 64-bit user segments. */
static inline void fx_ring3(struct fx *f)
{
	fx_segment(&f->cpu.sregs.cs, SEL_UCODE, 0xb, 3, true, false);
	fx_segment(&f->cpu.sregs.ss, SEL_UDATA, 0x3, 3, false, true);
}

#endif
