/* The one instruction decoder (capstone) of DESIGN.md: mode-aware, reading guest code through
 * the guest's page tables. Used by trace reports, dhyvectl --disas, gdb's monitor disas,
 * crash reports and the completion of instructions KVM cannot emulate. */
#ifndef DHYVE_TRACE_DISAS_H
#define DHYVE_TRACE_DISAS_H

#include <capstone/capstone.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/gmem.h"
#include "base/pagewalk.h"
#include "vmm/exit.h"

#define DISAS_MAX_INSN 15

struct disas_insn {
	uint64_t address;
	uint8_t len;
	uint8_t bytes[DISAS_MAX_INSN];
	char mnemonic[32];
	char operands[160];
	unsigned capstone_id; /* capstone's x86_insn id, for callers that complete instructions */
};

/* Decodes one instruction from bytes[0..len) as at address in the given mode. Returns its
 * length, or -EINVAL when the bytes are not a valid (or a complete) instruction: then
 * out->mnemonic is "(bad)" and out->len is 1, so that a caller can step over the byte.
 * Safe to call from any thread (each thread keeps its own capstone handles). */
int disas_one(enum vcpu_mode mode, uint64_t address, const uint8_t *bytes, size_t len, struct disas_insn *out);

/* Decodes up to count instructions starting at guest-virtual gva, fetching through the page
 * tables. Returns how many were decoded (fewer at unmapped memory or invalid bytes; a
 * "(bad)" instruction or one cut off by an unmapped page is not counted). */
int disas_guest(const struct gmem *m, const struct paging_regs *pr, enum vcpu_mode mode, uint64_t gva,
		struct disas_insn *out, int count);

/* This thread's capstone handle for mode with operand details on, for the callers that need
 * an instruction's operands (completing instructions, read and access watchpoints): the same
 * per-thread, lazily opened handles as the decoder itself. NULL when capstone cannot open. */
csh *disas_detail_handle(enum vcpu_mode mode);

/* The value of a general register by capstone's name for it (the 32- and 16-bit names read the
 * low bits; RIP/EIP, as RIP-relative operands use it, is next_rip; X86_REG_INVALID is 0, as an
 * absent base or index). False for any other register. */
bool disas_reg_value(const struct kvm_regs *r, unsigned reg, uint64_t next_rip, uint64_t *out);

/* One line, Intel syntax: "0x%016llx: ", the bytes in hex padded to 24 columns (longer
 * instructions push the rest right), the mnemonic and the operands:
 * "0xffffffff81000000: 0f 01 c1                vmcall". Always terminated, truncated to len. */
void disas_format(const struct disas_insn *in, char *buf, size_t len);

/* Prints "Code:" with up to 32 bytes before rip (those that are readable) and 16 from rip, the
 * byte at rip in <>, as a Linux oops does; then count instructions from rip, one line each, rip's
 * marked "=> " and the others indented "   ". An unmapped rip prints only
 * "rip 0x...: not mapped (<pagewalk_result_name>, level N)"; a listing that runs into unmapped
 * memory or invalid bytes ends with a line saying so. rip is a linear address (CS base added). */
void disas_print_around(FILE *out, const struct gmem *m, const struct paging_regs *pr, enum vcpu_mode mode,
			uint64_t rip, int count);

#endif
