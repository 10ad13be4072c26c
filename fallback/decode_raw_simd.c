/* Decoding, without capstone, the VEX/EVEX (and legacy GFNI) instructions capstone 4.0.2 does not
 * know although this CPU has them and this KVM shows them to guests (AVX-512 BW/VBMI/VBMI2/VNNI/
 * BITALG/VPOPCNTDQ/IFMA/BF16, GFNI, VAES, VPCLMULQDQ): vpternlogd, vpshufb zmm, vpcmpeqb to a
 * mask, vaesenc zmm, vpclmulqdq zmm, gf2p8affineqb, vpdpbusd... Their layout is regular: prefix,
 * VEX/EVEX, opcode, ModRM, SIB, displacement, and an imm8 in map 3 (and at a few map 1 opcodes).
 * A register form computes on registers only, so any of maps 1-3 may run on the host; a memory
 * form needs its operand's size and EVEX's disp8 scale (the tuple type), which only the table
 * below knows: other memory forms stay refused. */
#include <string.h>

#include "fallback/complete.h"

enum tuple {
	T_FV,  /* full vector: VL/8 bytes, or one element with EVEX.b (broadcast) */
	T_FVM, /* full vector memory: VL/8 bytes, no broadcast */
	T_T1S, /* one element (W: 2 bytes, else 1), compressed disp8 by the element */
	T_T1S_VL, /* the same scale, VL/8 bytes of operand (compress, expand) */
};

#define ANY_W 2
#define PP_66 1
#define PP_F3 2
#define PP_F2 3

struct raw_op {
	uint8_t map, opcode, pp, w; /* w: 0, 1 or ANY_W */
	uint8_t tuple;
	bool store;                 /* the memory operand is written */
	const char *name[2];        /* by W (one name when both are the same) */
};

static const struct raw_op raw_ops[] = {
	{ 3, 0x25, PP_66, ANY_W, T_FV, false, { "vpternlogd", "vpternlogq" } },
	{ 2, 0x00, PP_66, ANY_W, T_FVM, false, { "vpshufb", "vpshufb" } },
	{ 1, 0x74, PP_66, ANY_W, T_FVM, false, { "vpcmpeqb", "vpcmpeqb" } },
	{ 1, 0x75, PP_66, ANY_W, T_FVM, false, { "vpcmpeqw", "vpcmpeqw" } },
	{ 1, 0x64, PP_66, ANY_W, T_FVM, false, { "vpcmpgtb", "vpcmpgtb" } },
	{ 1, 0x65, PP_66, ANY_W, T_FVM, false, { "vpcmpgtw", "vpcmpgtw" } },
	{ 3, 0x3f, PP_66, ANY_W, T_FVM, false, { "vpcmpb", "vpcmpw" } },
	{ 3, 0x3e, PP_66, ANY_W, T_FVM, false, { "vpcmpub", "vpcmpuw" } },
	{ 2, 0x8d, PP_66, ANY_W, T_FVM, false, { "vpermb", "vpermw" } },
	{ 2, 0x75, PP_66, ANY_W, T_FVM, false, { "vpermi2b", "vpermi2w" } },
	{ 2, 0x7d, PP_66, ANY_W, T_FVM, false, { "vpermt2b", "vpermt2w" } },
	{ 2, 0x83, PP_66, 1, T_FV, false, { "vpmultishiftqb", "vpmultishiftqb" } },
	{ 3, 0x70, PP_66, 1, T_FVM, false, { "vpshldw", "vpshldw" } },
	{ 3, 0x71, PP_66, ANY_W, T_FV, false, { "vpshldd", "vpshldq" } },
	{ 3, 0x72, PP_66, 1, T_FVM, false, { "vpshrdw", "vpshrdw" } },
	{ 3, 0x73, PP_66, ANY_W, T_FV, false, { "vpshrdd", "vpshrdq" } },
	{ 2, 0x70, PP_66, 1, T_FVM, false, { "vpshldvw", "vpshldvw" } },
	{ 2, 0x71, PP_66, ANY_W, T_FV, false, { "vpshldvd", "vpshldvq" } },
	{ 2, 0x72, PP_66, 1, T_FVM, false, { "vpshrdvw", "vpshrdvw" } },
	{ 2, 0x73, PP_66, ANY_W, T_FV, false, { "vpshrdvd", "vpshrdvq" } },
	{ 2, 0x50, PP_66, 0, T_FV, false, { "vpdpbusd", "vpdpbusd" } },
	{ 2, 0x51, PP_66, 0, T_FV, false, { "vpdpbusds", "vpdpbusds" } },
	{ 2, 0x52, PP_66, 0, T_FV, false, { "vpdpwssd", "vpdpwssd" } },
	{ 2, 0x53, PP_66, 0, T_FV, false, { "vpdpwssds", "vpdpwssds" } },
	{ 2, 0x54, PP_66, ANY_W, T_FVM, false, { "vpopcntb", "vpopcntw" } },
	{ 2, 0x55, PP_66, ANY_W, T_FV, false, { "vpopcntd", "vpopcntq" } },
	{ 2, 0x8f, PP_66, 0, T_FVM, false, { "vpshufbitqmb", "vpshufbitqmb" } },
	{ 2, 0xcf, PP_66, 0, T_FVM, false, { "gf2p8mulb", "gf2p8mulb" } },
	{ 3, 0xce, PP_66, 1, T_FV, false, { "gf2p8affineqb", "gf2p8affineqb" } },
	{ 3, 0xcf, PP_66, 1, T_FV, false, { "gf2p8affineinvqb", "gf2p8affineinvqb" } },
	{ 2, 0xdc, PP_66, ANY_W, T_FVM, false, { "vaesenc", "vaesenc" } },
	{ 2, 0xdd, PP_66, ANY_W, T_FVM, false, { "vaesenclast", "vaesenclast" } },
	{ 2, 0xde, PP_66, ANY_W, T_FVM, false, { "vaesdec", "vaesdec" } },
	{ 2, 0xdf, PP_66, ANY_W, T_FVM, false, { "vaesdeclast", "vaesdeclast" } },
	{ 3, 0x44, PP_66, ANY_W, T_FVM, false, { "vpclmulqdq", "vpclmulqdq" } },
	{ 2, 0xb4, PP_66, 1, T_FV, false, { "vpmadd52luq", "vpmadd52luq" } },
	{ 2, 0xb5, PP_66, 1, T_FV, false, { "vpmadd52huq", "vpmadd52huq" } },
	{ 2, 0x52, PP_F3, 0, T_FV, false, { "vdpbf16ps", "vdpbf16ps" } },
	{ 2, 0x72, PP_F2, 0, T_FV, false, { "vcvtne2ps2bf16", "vcvtne2ps2bf16" } },
	{ 2, 0x12, PP_66, 1, T_FVM, false, { "vpsllvw", "vpsllvw" } },
	{ 2, 0x10, PP_66, 1, T_FVM, false, { "vpsrlvw", "vpsrlvw" } },
	{ 2, 0x11, PP_66, 1, T_FVM, false, { "vpsravw", "vpsravw" } },
	{ 2, 0x78, PP_66, 0, T_T1S, false, { "vpbroadcastb", "vpbroadcastb" } },
	{ 2, 0x79, PP_66, 0, T_T1S, false, { "vpbroadcastw", "vpbroadcastw" } },
	{ 2, 0x63, PP_66, ANY_W, T_T1S_VL, true, { "vpcompressb", "vpcompressw" } },
	{ 2, 0x62, PP_66, ANY_W, T_T1S_VL, false, { "vpexpandb", "vpexpandw" } },
};
#define NRAW (sizeof(raw_ops) / sizeof(raw_ops[0]))

unsigned fb_raw_op_count(void)
{
	return NRAW * 2;
}

const char *fb_raw_op_name(unsigned i)
{
	return i < NRAW * 2 ? raw_ops[i / 2].name[i & 1] : NULL;
}

/* w: VEX/EVEX.W, or ANY_W for a legacy encoding (which has none). */
static const struct raw_op *find(unsigned map, uint8_t opcode, unsigned pp, unsigned w)
{
	for (size_t i = 0; i < NRAW; i++) {
		const struct raw_op *r = &raw_ops[i];
		if (r->map == map && r->opcode == opcode && r->pp == pp && (r->w == ANY_W || w == ANY_W || r->w == w))
			return r;
	}
	return NULL;
}

static bool has_imm8(unsigned map, uint8_t op)
{
	return map == 3 || (map == 1 && ((op >= 0x70 && op <= 0x73) || op == 0xc2 || (op >= 0xc4 && op <= 0xc6)));
}

static const int gpr64[16] = {
	X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP, X86_REG_RSI, X86_REG_RDI,
	X86_REG_R8,  X86_REG_R9,  X86_REG_R10, X86_REG_R11, X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15,
};

bool fb_decode_host_raw(enum vcpu_mode mode, const uint8_t *b, size_t len, struct fb_insn *in)
{
	if (mode != VCPU_MODE_LONG64)
		return false;
	if (len > FB_SIMD_MAX_INSN)
		len = FB_SIMD_MAX_INSN;
	size_t i = 0;
	int segment = 0;
	unsigned pp = 0;
	uint8_t addr_size = 8;
	for (; i < len; i++) {
		uint8_t p = b[i];
		if (p == 0x64 || p == 0x65)
			segment = p == 0x64 ? X86_REG_FS : X86_REG_GS;
		else if (p == 0x66)
			pp = PP_66;
		else if (p == 0xf3 || p == 0xf2)
			pp = p == 0xf3 ? PP_F3 : PP_F2;
		else if (p == 0x67)
			addr_size = 4;
		else if (!(p == 0x2e || p == 0x36 || p == 0x3e || p == 0x26))
			break;
	}
	uint8_t rex = 0;
	if (i < len && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i + 1 >= len)
		return false;
	bool evex = false, legacy = false;
	unsigned map, w, L = 0, bcst = 0, rx = 0, bx = 0; /* rx, bx: the index and base extensions */
	if (b[i] == 0xc5 || b[i] == 0xc4 || b[i] == 0x62) {
		if (rex || pp)
			return false; /* #UD on the CPU: leave it to the oops report */
		if (b[i] == 0xc5) {
			map = 1, w = 0, L = b[i + 1] >> 2 & 1, pp = b[i + 1] & 3;
			i += 2;
		} else if (b[i] == 0xc4) {
			if (i + 2 >= len)
				return false;
			rx = !(b[i + 1] & 0x40), bx = !(b[i + 1] & 0x20), map = b[i + 1] & 0x1f;
			w = b[i + 2] >> 7, L = b[i + 2] >> 2 & 1, pp = b[i + 2] & 3;
			i += 3;
		} else {
			if (i + 3 >= len || (b[i + 1] & 0x08) || !(b[i + 2] & 0x04))
				return false;
			evex = true;
			rx = !(b[i + 1] & 0x40), bx = !(b[i + 1] & 0x20), map = b[i + 1] & 0x07;
			w = b[i + 2] >> 7, pp = b[i + 2] & 3, L = b[i + 3] >> 5 & 3, bcst = b[i + 3] >> 4 & 1;
			i += 4;
		}
	} else {
		/* Legacy encodings capstone lacks: only GFNI's three. */
		legacy = true;
		if (b[i] != 0x0f || i + 2 >= len || pp != PP_66)
			return false;
		map = b[i + 1] == 0x38 ? 2 : b[i + 1] == 0x3a ? 3 : 0;
		w = rex >> 3 & 1, rx = rex >> 1 & 1, bx = rex & 1;
		i += 2;
		if (!((map == 2 && b[i] == 0xcf) || (map == 3 && (b[i] == 0xce || b[i] == 0xcf))))
			return false;
	}
	if (map < 1 || map > 3 || i + 1 >= len)
		return false;
	uint8_t opcode = b[i++];
	/* Refused whatever the form: the MXCSR group, vzeroupper/vzeroall (no ModRM; capstone knows
	 * them), vmaskmovdqu (its register form stores to [rdi], which on the host would be a host
	 * address), and the VSIB (gather, scatter) opcodes. */
	if ((map == 1 && (opcode == 0xae || opcode == 0x77 || opcode == 0xf7)) ||
	    (map == 2 && ((opcode >= 0x90 && opcode <= 0x93) || (opcode >= 0xa0 && opcode <= 0xa3) || opcode == 0xc6 || opcode == 0xc7)))
		return false;
	uint8_t modrm = b[i++];
	unsigned mod = modrm >> 6, rm = modrm & 7;
	const struct raw_op *op = find(map, opcode, pp, legacy ? ANY_W : w);
	struct fb_mem mem = { .segment = segment, .scale = 1 };
	size_t disp_len = 0;
	if (mod != 3) {
		if (!op)
			return false; /* its operand size and disp8 scale are unknown */
		if (rm == 4) {
			if (i >= len)
				return false;
			uint8_t sib = b[i++];
			unsigned index = (sib >> 3 & 7) | rx << 3, base = (sib & 7) | bx << 3;
			mem.index = index == 4 ? 0 : gpr64[index];
			mem.scale = 1 << (sib >> 6);
			if (mod == 0 && (sib & 7) == 5)
				disp_len = 4;
			else
				mem.base = gpr64[base];
		} else if (mod == 0 && rm == 5) {
			mem.base = X86_REG_RIP;
			disp_len = 4;
		} else {
			mem.base = gpr64[rm | bx << 3];
		}
		if (mod == 1)
			disp_len = 1;
		else if (mod == 2)
			disp_len = 4;
	}
	if (i + disp_len > len)
		return false;
	int64_t disp = 0;
	if (disp_len == 1) {
		disp = (int8_t)b[i];
	} else if (disp_len == 4) {
		int32_t d;
		memcpy(&d, b + i, 4);
		disp = d;
	}
	i += disp_len;
	if (has_imm8(map, opcode))
		i++;
	if (i > len)
		return false;

	memset(in, 0, sizeof(*in));
	in->op = FB_OP_HOST_EXEC;
	in->len = (uint8_t)i;
	in->addr_size = addr_size;
	memcpy(in->bytes, b, i);
	in->simd = true;
	in->avx512 = evex;
	in->capstone_id = X86_INS_INVALID;
	in->raw_id = op ? (unsigned)(op - raw_ops) * 2 + (op->name[0] != op->name[1] && w) + 1 : 0;
	if (mod == 3)
		return true;
	unsigned vl = legacy ? 16 : 16u << L, elem = op->tuple == T_FV ? (w ? 8 : 4) : (w ? 2 : 1);
	if (L == 3)
		return false; /* reserved vector length */
	unsigned n = vl, size = vl;
	if (op->tuple == T_FV && evex && bcst)
		n = size = elem;
	else if (op->tuple == T_T1S)
		n = size = elem;
	else if (op->tuple == T_T1S_VL)
		n = elem;
	if (evex && disp_len == 1)
		disp *= n;
	mem.disp = disp;
	in->has_mem = true;
	in->mem = mem;
	in->mem_size = (uint8_t)size;
	in->mem_written = op->store;
	in->sse_align16 = legacy;
	return true;
}
