/* Which instructions the host may run for the guest (host_exec.c): a whitelist of pure
 * computations on general registers, flags, vector registers and at most one ModRM memory
 * operand. Whatever else this KVM fails to emulate stays refused (the oops report). */
#include <string.h>

#include "fallback/complete.h"

/* Families whose instructions compute only: the capstone groups. */
static const uint8_t vector_groups[] = {
	X86_GRP_SSE1, X86_GRP_SSE2, X86_GRP_SSE3, X86_GRP_SSSE3, X86_GRP_SSE41, X86_GRP_SSE42, X86_GRP_SSE4A,
	X86_GRP_AVX, X86_GRP_AVX2, X86_GRP_AVX512, X86_GRP_FMA, X86_GRP_F16C, X86_GRP_AES, X86_GRP_PCLMUL,
	X86_GRP_SHA, X86_GRP_CDI, X86_GRP_DQI, X86_GRP_BWI, X86_GRP_VLX,
};
static const uint8_t integer_groups[] = { X86_GRP_BMI, X86_GRP_BMI2, X86_GRP_ADX };
static const unsigned integer_ids[] = { X86_INS_POPCNT, X86_INS_LZCNT, X86_INS_TZCNT, X86_INS_CRC32 };
/* Outside those groups but as plain: emms (capstone's MMX group, which is otherwise left out). */
static const unsigned vector_ids[] = { X86_INS_EMMS };

/* In those groups, but reaching beyond registers and one operand, or changing how the host
 * runs (MXCSR), or with an implicit memory operand or a vector of addresses (VSIB). */
static const unsigned refused_ids[] = {
	X86_INS_LDMXCSR, X86_INS_VLDMXCSR, X86_INS_STMXCSR, X86_INS_VSTMXCSR, X86_INS_MONITOR, X86_INS_MWAIT,
	X86_INS_MASKMOVDQU, X86_INS_VMASKMOVDQU, X86_INS_MASKMOVQ, X86_INS_LFENCE, X86_INS_MFENCE,
	X86_INS_SFENCE, X86_INS_CLFLUSH, X86_INS_PREFETCHNTA, X86_INS_PREFETCHT0, X86_INS_PREFETCHT1,
	X86_INS_PREFETCHT2, X86_INS_FXSAVE, X86_INS_FXRSTOR, X86_INS_FXSAVE64, X86_INS_FXRSTOR64,
};

/* Legacy-SSE 16-byte operands must be aligned, except for these; VEX/EVEX ones need not be,
 * except for the explicitly aligned moves (aligned_vex). */
static const unsigned unaligned_sse[] = {
	X86_INS_MOVDQU, X86_INS_MOVUPS, X86_INS_MOVUPD, X86_INS_LDDQU, X86_INS_PCMPESTRI, X86_INS_PCMPESTRM,
	X86_INS_PCMPISTRI, X86_INS_PCMPISTRM,
};
static const unsigned aligned_vex[] = {
	X86_INS_VMOVDQA, X86_INS_VMOVDQA32, X86_INS_VMOVDQA64, X86_INS_VMOVAPS, X86_INS_VMOVAPD,
	X86_INS_VMOVNTDQ, X86_INS_VMOVNTDQA, X86_INS_VMOVNTPS, X86_INS_VMOVNTPD,
};

static bool in_ids(const unsigned *ids, size_t n, unsigned id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

static bool in_groups(const cs_detail *d, const uint8_t *groups, size_t n)
{
	for (unsigned i = 0; i < d->groups_count; i++)
		for (size_t j = 0; j < n; j++)
			if (d->groups[i] == groups[j])
				return true;
	return false;
}

static bool is_stack_register(unsigned r)
{
	return r == X86_REG_RSP || r == X86_REG_ESP || r == X86_REG_SP || r == X86_REG_SPL;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

bool fb_decode_host_exec(const cs_insn *insn, enum vcpu_mode mode, struct fb_insn *in)
{
	const cs_detail *d = insn->detail;
	/* Only 64-bit code: its encodings (REX, VEX.RXB, 16 registers) are what the host runs. */
	if (mode != VCPU_MODE_LONG64 || !d || insn->size > FB_SIMD_MAX_INSN)
		return false;
	bool integer = in_groups(d, integer_groups, N(integer_groups)) || in_ids(integer_ids, N(integer_ids), insn->id);
	bool vector = !integer && (in_groups(d, vector_groups, N(vector_groups)) || in_ids(vector_ids, N(vector_ids), insn->id));
	if ((!integer && !vector) || in_ids(refused_ids, N(refused_ids), insn->id) ||
	    strstr(insn->mnemonic, "gather") || strstr(insn->mnemonic, "scatter"))
		return false;
	const cs_x86 *x = &d->x86;
	unsigned mems = 0;
	for (unsigned i = 0; i < x->op_count; i++) {
		const cs_x86_op *o = &x->operands[i];
		if (o->type == X86_OP_REG && is_stack_register(o->reg))
			return false; /* the host's stack pointer is not the guest's */
		if (o->type != X86_OP_MEM)
			continue;
		if (++mems > 1 || o->size == 0 || o->size > 64 || o->mem.index == X86_REG_RSP)
			return false;
		in->has_mem = true;
		in->mem = (struct fb_mem){ .segment = o->mem.segment, .base = o->mem.base, .index = o->mem.index,
					   .scale = o->mem.scale, .disp = o->mem.disp };
		in->mem_size = o->size;
		/* Capstone 4 marks many vector stores (vextracti128, vpmovdb, vcompressps to memory) as
		 * reads: a memory operand that comes first is the destination. This only decides the
		 * early write check; what the instruction changed is written back either way. */
		in->mem_written = (o->access & CS_AC_WRITE) || i == 0;
	}
	in->op = FB_OP_HOST_EXEC;
	in->capstone_id = insn->id;
	in->len = (uint8_t)insn->size;
	in->addr_size = x->addr_size;
	memcpy(in->bytes, insn->bytes, insn->size);
	in->simd = vector;
	in->avx512 = in_groups(d, (const uint8_t[]){ X86_GRP_AVX512 }, 1);
	in->mem_align = in->has_mem && in_ids(aligned_vex, N(aligned_vex), insn->id) ? in->mem_size : 0;
	in->sse_align16 = in->has_mem && vector && in->mem_size == 16 && !in_ids(unaligned_sse, N(unaligned_sse), insn->id);
	return true;
}
