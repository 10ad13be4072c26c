/* Completing, in user space, the instructions this KVM fails to emulate: the decoded form of
 * such an instruction, the dispatch by instruction, and the per-family completions. */
#ifndef DHYVE_FALLBACK_COMPLETE_H
#define DHYVE_FALLBACK_COMPLETE_H

#include <stddef.h>

#include <capstone/capstone.h>

#include "fallback/cpu_state.h"
#include "fallback/simd_rewrite.h"
#include "vmm/exit.h"

/* What we complete; the counters and reports use these names (the mnemonics). */
enum fb_op {
	FB_OP_INT3,
	FB_OP_INT,
	FB_OP_INT1,
	FB_OP_IRET,
	FB_OP_CLAC,
	FB_OP_STAC,
	FB_OP_XGETBV,
	FB_OP_XSETBV,
	FB_OP_XSAVE,
	FB_OP_XSAVEOPT,
	FB_OP_XSAVEC,
	FB_OP_XRSTOR,
	FB_OP_CMPXCHG16B,
	FB_OP_CLWB,
	FB_OP_CLFLUSHOPT,
	FB_OP_CLFLUSH,
	FB_OP_INVPCID,
	FB_OP_RDPRU,  /* #UD: CPUID does not offer it */
	FB_OP_MOVBE,  /* the register form, #UD */
	FB_OP_VMCALL, /* hypercalls (an exit, or the watchdog finding the live-lock) */
	FB_OP_VMMCALL,
	FB_OP_LDMXCSR,   /* and vldmxcsr */
	FB_OP_STMXCSR,   /* and vstmxcsr */
	FB_OP_FWAIT,
	FB_OP_RDTSCP,
	/* SSE..AVX-512, AES, PCLMUL, SHA, F16C, FMA, and popcnt, lzcnt, tzcnt, crc32, BMI1/2, ADX:
	 * run on the host CPU (host_exec.c); counted by capstone's mnemonic, not under this name. */
	FB_OP_HOST_EXEC,
	FB_OP__COUNT
};

const char *fb_op_name(enum fb_op op);

/* Counter slots: one per fb_op, then one per capstone instruction id for FB_OP_HOST_EXEC, then
 * one per instruction of decode_raw_simd.c's table (those capstone 4 does not know). */
#define FB_RAW_SLOTS 128
#define FB_STAT_SLOTS (FB_OP__COUNT + X86_INS_ENDING + FB_RAW_SLOTS)
unsigned fb_stat_slot(enum fb_op op, unsigned capstone_id, unsigned raw_id);
const char *fb_slot_name(unsigned slot); /* NULL for a slot that names nothing */

/* A memory operand: capstone's x86_reg numbers (0 = none). */
struct fb_mem {
	int segment, base, index;
	int scale;
	int64_t disp;
};

struct fb_insn {
	enum fb_op op;
	uint8_t len;
	bool rex_w;         /* the 64-bit forms (xsave64, cmpxchg16b) */
	bool opsize16;      /* a 0x66 prefix on iret: the 16-bit form */
	bool vex;           /* vldmxcsr/vstmxcsr */
	uint8_t addr_size;  /* 2, 4 or 8 */
	uint8_t vector;     /* int n */
	bool has_mem;
	struct fb_mem mem;
	int reg;            /* invpcid: the type register (capstone x86_reg) */
	/* FB_OP_HOST_EXEC: what host_exec.c needs. */
	unsigned capstone_id;
	unsigned raw_id;    /* decoded without capstone: 1 + index of its name, 0: none */
	uint8_t bytes[FB_SIMD_MAX_INSN];
	uint8_t mem_size;   /* bytes of the memory operand */
	bool mem_written;   /* the instruction may store to it (write access is checked first) */
	bool simd;          /* touches vector state (else only general registers and flags) */
	bool avx512;        /* needs the opmask and ZMM components enabled in XCR0 */
	uint8_t mem_align;  /* the operand must be aligned to this (#GP(0) otherwise); 0: any */
	bool sse_align16;   /* ... to 16 bytes, when legacy-encoded (not VEX/EVEX) */
};

/* Decodes bytes[0..len) in mode. Returns 0, or -ENOENT when the instruction is not one we
 * complete, -EINVAL when the bytes are not an instruction. */
int fb_decode(enum vcpu_mode mode, const uint8_t *bytes, size_t len, struct fb_insn *out);
/* Fetches the instruction at CS:RIP through the guest's page tables and decodes it. */
int fb_fetch_decode(struct fb_cpu *c, struct fb_insn *out);

/* What completing one instruction came to. */
enum fb_outcome {
	FB_COMPLETED,   /* done: regs/sregs hold the state after it */
	FB_RAISED,      /* it raised an exception, delivered through the guest's IDT */
	FB_TRIPLE,      /* delivering that exception faulted twice: shutdown */
	FB_NOT_OURS,    /* cannot complete: leave it to the previous handler (the oops report) */
	FB_HOST_ERROR,  /* a vCPU ioctl failed */
};

enum fb_outcome fb_complete(struct fb_cpu *c, const struct fb_insn *in);

/* Pieces fb_complete dispatches to; each leaves RIP alone (the dispatcher advances it). */
enum fb_step fb_linear_address(struct fb_cpu *c, const struct fb_insn *in, uint64_t *la);
bool fb_reg_value(const struct fb_cpu *c, int reg, uint64_t *value);
enum fb_step fb_iret32(struct fb_cpu *c); /* sets RIP itself */
enum fb_step fb_cmpxchg16b(struct fb_cpu *c, uint64_t la);
enum fb_step fb_xgetbv(struct fb_cpu *c);
enum fb_step fb_xsetbv(struct fb_cpu *c);
enum fb_xsave_form { FB_XSAVE_STANDARD, FB_XSAVE_COMPACTED };
enum fb_step fb_xsave(struct fb_cpu *c, uint64_t la, enum fb_xsave_form form, bool rex_w);
enum fb_step fb_xrstor(struct fb_cpu *c, uint64_t la, bool rex_w);
/* ldmxcsr/stmxcsr (vex: their VEX forms) and fwait on KVM's XSAVE image, rdtscp from the
 * vCPU's TSC and TSC_AUX (mxcsr.c, rdtscp.c). */
enum fb_step fb_ldmxcsr(struct fb_cpu *c, uint64_t la, bool vex);
enum fb_step fb_stmxcsr(struct fb_cpu *c, uint64_t la, bool vex);
enum fb_step fb_fwait(struct fb_cpu *c);
enum fb_step fb_rdtscp(struct fb_cpu *c);
/* FB_OP_HOST_EXEC (host_exec.c). */
enum fb_step fb_host_exec(struct fb_cpu *c, const struct fb_insn *in);
/* Whether capstone's decoding of an instruction is one fb_host_exec runs, filling in's
 * FB_OP_HOST_EXEC fields (decode_host.c). */
bool fb_decode_host_exec(const cs_insn *insn, enum vcpu_mode mode, struct fb_insn *in);
/* The same for the VEX/EVEX/GFNI instructions capstone 4 cannot decode (decode_raw_simd.c):
 * register forms of opcode maps 1-3 and the memory forms its table knows. */
bool fb_decode_host_raw(enum vcpu_mode mode, const uint8_t *bytes, size_t len, struct fb_insn *in);
unsigned fb_raw_op_count(void);
const char *fb_raw_op_name(unsigned i);
/* The XSAVE layout of the host CPU (CPUID leaf 0xD), which is what guests see. */
void fb_xlayout_host(struct fb_xlayout *l);

#endif
