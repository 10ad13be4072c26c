/* Decoding the instruction an emulation failure stopped on: capstone with operand details (the
 * one decoder of DESIGN.md, here in detail mode), plus the two forms capstone 4 rejects. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#include "fallback/complete.h"
#include "trace/disas.h"
#include "vmm/vcpu.h"

#define MAX_INSN 15

/* rdpru (0f 01 fd) and movbe with a register operand (0f 38 f0/f1, mod = 3) are invalid or
 * unknown to capstone 4; both only raise #UD, so their length does not matter. */
static bool decode_raw(enum vcpu_mode mode, const uint8_t *b, size_t len, struct fb_insn *out)
{
	size_t i = 0;
	bool f2 = false;
	for (; i < len && i < MAX_INSN; i++) {
		uint8_t p = b[i];
		if (p == 0xf0 || p == 0xf2 || p == 0xf3 || p == 0x2e || p == 0x36 || p == 0x3e || p == 0x26 ||
		    p == 0x64 || p == 0x65 || p == 0x66 || p == 0x67)
			f2 |= p == 0xf2;
		else if (!(mode == VCPU_MODE_LONG64 && (p & 0xf0) == 0x40))
			break;
	}
	if (i + 3 <= len && b[i] == 0x0f && b[i + 1] == 0x01 && b[i + 2] == 0xfd) {
		*out = (struct fb_insn){ .op = FB_OP_RDPRU, .len = (uint8_t)(i + 3) };
		return true;
	}
	/* With F2 the same opcode is crc32, a valid register form. */
	if (!f2 && i + 4 <= len && b[i] == 0x0f && b[i + 1] == 0x38 && (b[i + 2] & 0xfe) == 0xf0 &&
	    (b[i + 3] >> 6) == 3) {
		*out = (struct fb_insn){ .op = FB_OP_MOVBE, .len = (uint8_t)(i + 4) };
		return true;
	}
	return false;
}

static bool op_of(unsigned id, enum fb_op *op, bool *rex_w_form)
{
	static const struct { unsigned id; enum fb_op op; bool w; } map[] = {
		{ X86_INS_INT3, FB_OP_INT3, 0 },        { X86_INS_INT, FB_OP_INT, 0 },
		{ X86_INS_INT1, FB_OP_INT1, 0 },        { X86_INS_IRETD, FB_OP_IRET, 0 },
		{ X86_INS_IRET, FB_OP_IRET, 0 },        { X86_INS_CLAC, FB_OP_CLAC, 0 },
		{ X86_INS_STAC, FB_OP_STAC, 0 },        { X86_INS_XGETBV, FB_OP_XGETBV, 0 },
		{ X86_INS_XSETBV, FB_OP_XSETBV, 0 },    { X86_INS_XSAVE, FB_OP_XSAVE, 0 },
		{ X86_INS_XSAVE64, FB_OP_XSAVE, 1 },    { X86_INS_XSAVEOPT, FB_OP_XSAVEOPT, 0 },
		{ X86_INS_XSAVEOPT64, FB_OP_XSAVEOPT, 1 }, { X86_INS_XSAVEC, FB_OP_XSAVEC, 0 },
		{ X86_INS_XSAVEC64, FB_OP_XSAVEC, 1 },  { X86_INS_XRSTOR, FB_OP_XRSTOR, 0 },
		{ X86_INS_XRSTOR64, FB_OP_XRSTOR, 1 },  { X86_INS_CMPXCHG16B, FB_OP_CMPXCHG16B, 1 },
		{ X86_INS_CLWB, FB_OP_CLWB, 0 },        { X86_INS_CLFLUSHOPT, FB_OP_CLFLUSHOPT, 0 },
		{ X86_INS_CLFLUSH, FB_OP_CLFLUSH, 0 },  { X86_INS_INVPCID, FB_OP_INVPCID, 0 },
		{ X86_INS_VMCALL, FB_OP_VMCALL, 0 },    { X86_INS_VMMCALL, FB_OP_VMMCALL, 0 },
		{ X86_INS_LDMXCSR, FB_OP_LDMXCSR, 0 },  { X86_INS_VLDMXCSR, FB_OP_LDMXCSR, 0 },
		{ X86_INS_STMXCSR, FB_OP_STMXCSR, 0 },  { X86_INS_VSTMXCSR, FB_OP_STMXCSR, 0 },
		{ X86_INS_WAIT, FB_OP_FWAIT, 0 },       { X86_INS_RDTSCP, FB_OP_RDTSCP, 0 },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].id == id) {
			*op = map[i].op;
			*rex_w_form = map[i].w;
			return true;
		}
	return false;
}

int fb_decode(enum vcpu_mode mode, const uint8_t *bytes, size_t len, struct fb_insn *out)
{
	memset(out, 0, sizeof(*out));
	if (decode_raw(mode, bytes, len, out))
		return 0;
	csh *h = disas_detail_handle(mode);
	if (!h || len == 0)
		return -EINVAL;
	cs_insn *insn = NULL;
	size_t n = cs_disasm(*h, bytes, len > MAX_INSN ? MAX_INSN : len, 0, 1, &insn);
	if (n != 1) {
		if (n)
			cs_free(insn, n);
		/* Capstone 4 lacks much of AVX-512 and GFNI/VAES/VPCLMULQDQ: our own decoding of those. */
		return fb_decode_host_raw(mode, bytes, len, out) ? 0 : -EINVAL;
	}
	int rc = -ENOENT;
	const cs_x86 *x = &insn->detail->x86;
	if (op_of(insn->id, &out->op, &out->rex_w)) {
		rc = 0;
		out->len = (uint8_t)insn->size;
		out->addr_size = x->addr_size;
		out->opsize16 = insn->id == X86_INS_IRET; /* capstone names the 16-bit form plain iret */
		out->vex = insn->id == X86_INS_VLDMXCSR || insn->id == X86_INS_VSTMXCSR;
		for (unsigned i = 0; i < x->op_count; i++) {
			const cs_x86_op *o = &x->operands[i];
			if (o->type == X86_OP_MEM) {
				out->has_mem = true;
				out->mem = (struct fb_mem){ .segment = o->mem.segment, .base = o->mem.base,
							    .index = o->mem.index, .scale = o->mem.scale,
							    .disp = o->mem.disp };
			} else if (o->type == X86_OP_IMM) {
				out->vector = (uint8_t)o->imm;
			} else if (o->type == X86_OP_REG) {
				out->reg = o->reg;
			}
		}
		if (out->op == FB_OP_INT3 || out->op == FB_OP_INT1)
			out->vector = out->op == FB_OP_INT3 ? FB_BP : FB_DB;
	} else if (fb_decode_host_exec(insn, mode, out)) {
		rc = 0;
	}
	cs_free(insn, n);
	return rc;
}

int fb_fetch_decode(struct fb_cpu *c, struct fb_insn *out)
{
	uint8_t buf[MAX_INSN];
	uint64_t pc = fb_code64(c) ? c->regs.rip : c->sregs.cs.base + (uint32_t)c->regs.rip;
	/* The instruction may end in the next page, or that page may be absent: take what is there. */
	size_t first = 4096 - (pc & 4095);
	if (first > sizeof(buf))
		first = sizeof(buf);
	unsigned acc = FB_ACC_FETCH | (fb_cpl(c) == 3 ? FB_ACC_USER : 0);
	if (fb_read_linear(c, pc, buf, first, acc) != FB_STEP_OK)
		return -EFAULT;
	size_t got = first;
	if (got < sizeof(buf) && fb_read_linear(c, pc + got, buf + got, sizeof(buf) - got, acc) == FB_STEP_OK)
		got = sizeof(buf);
	return fb_decode(vcpu_mode_of(&c->sregs), buf, got, out);
}
