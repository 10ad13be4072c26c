/* gdb's x86-64 register file over KVM's kvm_regs/kvm_sregs/kvm_fpu: one table in remote register
 * order (matching target_xml.c), and the g/G/p/P hex encodings built on it. */
#include "gdbstub/regs.h"

#include <stdbool.h>
#include <string.h>

#include "base/bytes.h"
#include "gdbstub/packet.h"

/* How a register is stored in gdb_cpu_state; the kind also says which part a write dirties. */
enum reg_kind {
	K_REGS64,  /* a __u64 in kvm_regs at off */
	K_EFLAGS,  /* low 32 bits of kvm_regs.rflags */
	K_SEL,     /* the selector of the kvm_segment at off in kvm_sregs */
	K_SREGS64, /* a __u64 in kvm_sregs at off (segment bases, control registers, EFER) */
	K_ST,      /* fpu.fpr[idx], 10 bytes of the 16-byte FXSAVE slot */
	K_FCW,
	K_FSW,
	K_FTAG,
	K_FISEG,
	K_FIOFF,
	K_FOSEG,
	K_FOOFF,
	K_FOP,
	K_XMM, /* fpu.xmm[idx] */
	K_MXCSR,
	K_KGSBASE,
};

struct reg_desc {
	const char *name;
	uint8_t size; /* bytes on the wire */
	uint8_t kind;
	uint16_t off; /* byte offset for K_REGS64/K_SEL/K_SREGS64, index for K_ST/K_XMM */
};

#define GPR(n) { #n, 8, K_REGS64, offsetof(struct kvm_regs, n) }
#define SEL(n) { #n, 4, K_SEL, offsetof(struct kvm_sregs, n) }
#define SR64(n, field) { n, 8, K_SREGS64, offsetof(struct kvm_sregs, field) }

/* Index == remote register number == regnum in target_xml.c; test_gdb_regs checks they agree. */
static const struct reg_desc reg_table[] = {
	GPR(rax), GPR(rbx), GPR(rcx), GPR(rdx), GPR(rsi), GPR(rdi), GPR(rbp), GPR(rsp),
	GPR(r8), GPR(r9), GPR(r10), GPR(r11), GPR(r12), GPR(r13), GPR(r14), GPR(r15),
	GPR(rip),
	{ "eflags", 4, K_EFLAGS, 0 },
	SEL(cs), SEL(ss), SEL(ds), SEL(es), SEL(fs), SEL(gs),
	{ "st0", 10, K_ST, 0 }, { "st1", 10, K_ST, 1 }, { "st2", 10, K_ST, 2 }, { "st3", 10, K_ST, 3 },
	{ "st4", 10, K_ST, 4 }, { "st5", 10, K_ST, 5 }, { "st6", 10, K_ST, 6 }, { "st7", 10, K_ST, 7 },
	{ "fctrl", 4, K_FCW, 0 }, { "fstat", 4, K_FSW, 0 }, { "ftag", 4, K_FTAG, 0 },
	{ "fiseg", 4, K_FISEG, 0 }, { "fioff", 4, K_FIOFF, 0 },
	{ "foseg", 4, K_FOSEG, 0 }, { "fooff", 4, K_FOOFF, 0 }, { "fop", 4, K_FOP, 0 },
	{ "xmm0", 16, K_XMM, 0 }, { "xmm1", 16, K_XMM, 1 }, { "xmm2", 16, K_XMM, 2 },
	{ "xmm3", 16, K_XMM, 3 }, { "xmm4", 16, K_XMM, 4 }, { "xmm5", 16, K_XMM, 5 },
	{ "xmm6", 16, K_XMM, 6 }, { "xmm7", 16, K_XMM, 7 }, { "xmm8", 16, K_XMM, 8 },
	{ "xmm9", 16, K_XMM, 9 }, { "xmm10", 16, K_XMM, 10 }, { "xmm11", 16, K_XMM, 11 },
	{ "xmm12", 16, K_XMM, 12 }, { "xmm13", 16, K_XMM, 13 }, { "xmm14", 16, K_XMM, 14 },
	{ "xmm15", 16, K_XMM, 15 },
	{ "mxcsr", 4, K_MXCSR, 0 },
	SR64("fs_base", fs.base), SR64("gs_base", gs.base),
	{ "k_gs_base", 8, K_KGSBASE, 0 },
	SR64("cr0", cr0), SR64("cr2", cr2), SR64("cr3", cr3), SR64("cr4", cr4), SR64("cr8", cr8),
	SR64("efer", efer),
};

#define NREGS (sizeof(reg_table) / sizeof(reg_table[0]))
#define MAX_REG_SIZE 16

_Static_assert(NREGS == 66, "remote register numbers 0..65 are an ABI with target_xml.c");

unsigned gdb_reg_count(void)
{
	return NREGS;
}

const char *gdb_reg_name(unsigned regno)
{
	return regno < NREGS ? reg_table[regno].name : NULL;
}

int gdb_reg_size(unsigned regno)
{
	return regno < NREGS ? reg_table[regno].size : -1;
}

/* Wire values are little-endian (the target's byte order): base/bytes.h spells them out byte by
 * byte, so the code does not depend on the host's. */
static uint64_t load64(const void *base, size_t off)
{
	uint64_t v;
	memcpy(&v, (const char *)base + off, sizeof(v));
	return v;
}

static void store64(void *base, size_t off, uint64_t v)
{
	memcpy((char *)base + off, &v, sizeof(v));
}

/* gdb's i387_tag(): classifies an 80-bit value as valid (0), zero (1) or special (2). */
static unsigned x87_class(const uint8_t *raw)
{
	unsigned exponent = (unsigned)(raw[9] & 0x7f) << 8 | raw[8];
	bool integer = raw[7] & 0x80;
	bool fraction_zero = !(raw[0] | raw[1] | raw[2] | raw[3] | raw[4] | raw[5] | raw[6] | (raw[7] & 0x7f));

	if (exponent == 0x7fff)
		return 2; /* infinity or NaN */
	if (exponent == 0)
		return (fraction_zero && !integer) ? 1 : 2; /* zero, or denormal */
	return integer ? 0 : 2;                             /* normal, or unnormal */
}

uint16_t gdb_ftag_from_abridged(const struct kvm_fpu *fpu)
{
	/* The abridged (FXSAVE) tag has one bit per physical register R0..R7, set when not empty;
	 * the full tag word has two bits per physical register. fpr[] is in stack order ST0..ST7,
	 * and ST(i) is physical register (TOP + i) mod 8, so physical Rj lives in fpr[(j - TOP) & 7].
	 * Computing valid/zero/special from the contents is what gdb itself does for FXSAVE data,
	 * so 'info float' looks the same as with a native process. */
	unsigned top = (fpu->fsw >> 11) & 7;
	uint16_t tag = 0;

	for (unsigned j = 0; j < 8; j++) {
		unsigned t = 3; /* empty */
		if (fpu->ftwx & (1u << j))
			t = x87_class(fpu->fpr[(j - top) & 7]);
		tag |= (uint16_t)(t << (2 * j));
	}
	return tag;
}

uint8_t gdb_ftag_to_abridged(uint16_t tag)
{
	/* Only empty (11) versus not empty survives: the CPU recomputes valid/zero/special itself
	 * on FXRSTOR, exactly as gdb's own i387_collect_fxsave() assumes. */
	uint8_t ab = 0;

	for (unsigned j = 0; j < 8; j++)
		if (((tag >> (2 * j)) & 3) != 3)
			ab |= (uint8_t)(1u << j);
	return ab;
}

/* Reads register d into buf (d->size bytes, little-endian). */
static void reg_get(const struct gdb_cpu_state *st, const struct reg_desc *d, uint8_t *buf)
{
	const struct kvm_fpu *fpu = &st->fpu;
	struct kvm_segment seg;

	switch (d->kind) {
	case K_REGS64:
		put_le(buf, load64(&st->regs, d->off), 8);
		break;
	case K_EFLAGS:
		put_le(buf, st->regs.rflags, 4);
		break;
	case K_SEL:
		memcpy(&seg, (const char *)&st->sregs + d->off, sizeof(seg));
		put_le(buf, seg.selector, 4);
		break;
	case K_SREGS64:
		put_le(buf, load64(&st->sregs, d->off), 8);
		break;
	case K_ST:
		memcpy(buf, fpu->fpr[d->off], 10);
		break;
	case K_FCW:
		put_le(buf, fpu->fcw, 4);
		break;
	case K_FSW:
		put_le(buf, fpu->fsw, 4);
		break;
	case K_FTAG:
		put_le(buf, gdb_ftag_from_abridged(fpu), 4);
		break;
	/* KVM gives the 64-bit FXSAVE layout, where the FPU IP/DP are 64-bit and there are no
	 * selectors. gdb's amd64 code (amd64_supply_fxsave) puts the upper 32 bits in fiseg/foseg
	 * and the lower in fioff/fooff; doing the same keeps the whole value and round-trips. */
	case K_FISEG:
		put_le(buf, fpu->last_ip >> 32, 4);
		break;
	case K_FIOFF:
		put_le(buf, fpu->last_ip, 4);
		break;
	case K_FOSEG:
		put_le(buf, fpu->last_dp >> 32, 4);
		break;
	case K_FOOFF:
		put_le(buf, fpu->last_dp, 4);
		break;
	case K_FOP:
		put_le(buf, fpu->last_opcode, 4);
		break;
	case K_XMM:
		memcpy(buf, fpu->xmm[d->off], 16);
		break;
	case K_MXCSR:
		put_le(buf, fpu->mxcsr, 4);
		break;
	case K_KGSBASE:
		put_le(buf, st->k_gs_base, 8);
		break;
	}
}

/* Stores buf (d->size bytes) into register d. Fields narrower than the wire value (selectors,
 * fcw, fsw, fop) keep the low bits: gdb sends them zero-extended. */
static void reg_set(struct gdb_cpu_state *st, const struct reg_desc *d, const uint8_t *buf)
{
	struct kvm_fpu *fpu = &st->fpu;
	uint64_t v = d->size <= 8 ? get_le(buf, d->size) : 0;
	struct kvm_segment seg;

	switch (d->kind) {
	case K_REGS64:
		store64(&st->regs, d->off, v);
		break;
	case K_EFLAGS:
		/* Bits 32..63 of RFLAGS are reserved (zero); keep whatever KVM had there. */
		st->regs.rflags = (st->regs.rflags & ~0xffffffffull) | v;
		break;
	case K_SEL:
		/* Only the selector changes: the hidden base/limit/attributes (the descriptor cache)
		 * are not reloaded from the GDT, just as when a debugger pokes a selector on bare
		 * metal. Change fs_base/gs_base explicitly if that is what you want. */
		memcpy(&seg, (const char *)&st->sregs + d->off, sizeof(seg));
		seg.selector = (uint16_t)v;
		memcpy((char *)&st->sregs + d->off, &seg, sizeof(seg));
		break;
	case K_SREGS64:
		store64(&st->sregs, d->off, v);
		break;
	case K_ST:
		memcpy(fpu->fpr[d->off], buf, 10); /* bytes 10..15 of the slot are reserved: untouched */
		break;
	case K_FCW:
		fpu->fcw = (uint16_t)v;
		break;
	case K_FSW:
		fpu->fsw = (uint16_t)v;
		break;
	case K_FTAG:
		fpu->ftwx = gdb_ftag_to_abridged((uint16_t)v);
		break;
	case K_FISEG:
		fpu->last_ip = (fpu->last_ip & 0xffffffffull) | v << 32;
		break;
	case K_FIOFF:
		fpu->last_ip = (fpu->last_ip & ~0xffffffffull) | v;
		break;
	case K_FOSEG:
		fpu->last_dp = (fpu->last_dp & 0xffffffffull) | v << 32;
		break;
	case K_FOOFF:
		fpu->last_dp = (fpu->last_dp & ~0xffffffffull) | v;
		break;
	case K_FOP:
		fpu->last_opcode = (uint16_t)v;
		break;
	case K_XMM:
		memcpy(fpu->xmm[d->off], buf, 16);
		break;
	case K_MXCSR:
		fpu->mxcsr = (uint32_t)v;
		break;
	case K_KGSBASE:
		st->k_gs_base = v;
		break;
	}
}

/* Dirty bits for the parts that differ between old and new. Comparing instead of recording
 * which registers were written means a G that changes nothing in kvm_sregs does not cost a
 * KVM_SET_SREGS (which also resets KVM's MMU context). The copy is made with memcpy, so any
 * padding bytes compare equal. */
static unsigned changed_parts(const struct gdb_cpu_state *a, const struct gdb_cpu_state *b)
{
	unsigned d = 0;

	if (memcmp(&a->regs, &b->regs, sizeof(a->regs)))
		d |= GDB_DIRTY_REGS;
	if (memcmp(&a->sregs, &b->sregs, sizeof(a->sregs)))
		d |= GDB_DIRTY_SREGS;
	if (memcmp(&a->fpu, &b->fpu, sizeof(a->fpu)))
		d |= GDB_DIRTY_FPU;
	if (a->k_gs_base != b->k_gs_base)
		d |= GDB_DIRTY_KGSBASE;
	return d;
}

static size_t total_size(void)
{
	size_t n = 0;
	for (size_t i = 0; i < NREGS; i++)
		n += reg_table[i].size;
	return n;
}

long gdb_regs_encode_all(const struct gdb_cpu_state *st, char *out, size_t cap)
{
	uint8_t buf[MAX_REG_SIZE];
	size_t o = 0;

	if (cap < 2 * total_size() + 1)
		return -1;
	for (size_t i = 0; i < NREGS; i++) {
		reg_get(st, &reg_table[i], buf);
		gdb_hex_encode(buf, reg_table[i].size, out + o);
		o += 2 * (size_t)reg_table[i].size;
	}
	return (long)o;
}

int gdb_regs_decode_all(struct gdb_cpu_state *st, const char *hex, size_t len, unsigned *dirty)
{
	struct gdb_cpu_state tmp;
	uint8_t buf[MAX_REG_SIZE];
	size_t o = 0;

	/* gdb sends exactly the size it computed from our description; anything else means we
	 * disagree about the layout, and guessing which registers are meant would corrupt them. */
	if (len != 2 * total_size())
		return -1;
	memcpy(&tmp, st, sizeof(tmp)); /* memcpy, not =, so padding compares equal later */
	for (size_t i = 0; i < NREGS; i++) {
		size_t n = reg_table[i].size;
		/* 'x' (unavailable) is only used by stubs in g replies; hex_decode refuses it. */
		if (gdb_hex_decode(hex + o, 2 * n, buf, sizeof(buf)) != (long)n)
			return -1;
		reg_set(&tmp, &reg_table[i], buf);
		o += 2 * n;
	}
	if (dirty)
		*dirty |= changed_parts(st, &tmp);
	*st = tmp;
	return 0;
}

long gdb_reg_read(const struct gdb_cpu_state *st, unsigned regno, char *out, size_t cap)
{
	uint8_t buf[MAX_REG_SIZE];

	if (regno >= NREGS || cap < 2 * (size_t)reg_table[regno].size + 1)
		return -1;
	reg_get(st, &reg_table[regno], buf);
	gdb_hex_encode(buf, reg_table[regno].size, out);
	return 2 * (long)reg_table[regno].size;
}

int gdb_reg_write(struct gdb_cpu_state *st, unsigned regno, const char *hex, size_t len, unsigned *dirty)
{
	struct gdb_cpu_state tmp;
	uint8_t buf[MAX_REG_SIZE];
	size_t n;

	if (regno >= NREGS)
		return -1;
	n = reg_table[regno].size;
	if (len != 2 * n || gdb_hex_decode(hex, len, buf, sizeof(buf)) != (long)n)
		return -1;
	memcpy(&tmp, st, sizeof(tmp));
	reg_set(&tmp, &reg_table[regno], buf);
	if (dirty)
		*dirty |= changed_parts(st, &tmp);
	*st = tmp;
	return 0;
}
