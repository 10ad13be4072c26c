/* Re-encoding one SSE/AVX/AVX-512 instruction so that the host can run it in place of the guest:
 * the prefixes that would reach host state (segment overrides, address size) go, and a memory
 * operand becomes RIP-relative, pointing at a host buffer that holds the guest's bytes. */
#ifndef DHYVE_FALLBACK_SIMD_REWRITE_H
#define DHYVE_FALLBACK_SIMD_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FB_SIMD_MAX_INSN 15

enum fb_simd_encoding { FB_SIMD_LEGACY, FB_SIMD_VEX, FB_SIMD_EVEX };

struct fb_simd_form {
	enum fb_simd_encoding enc;
	unsigned map;    /* opcode map: 1 = 0F, 2 = 0F 38, 3 = 0F 3A */
	uint8_t opcode;
	bool has_mem;    /* a ModRM memory operand (mod != 3) */
	uint8_t len;     /* of the rewritten instruction */
	uint8_t disp_at; /* offset of its disp32 (memory forms): RIP-relative from the end */
	uint8_t bytes[FB_SIMD_MAX_INSN];
};

/* Parses the 64-bit-mode instruction in[0..len) (len: its length as the decoder found it) and
 * writes the rewritten form. Returns 0; -EINVAL for bytes that do not parse as a 0F-escaped,
 * VEX or EVEX instruction of exactly len bytes; -ENOTSUP for a LOCK prefix, REX before VEX/EVEX,
 * or a rewritten form longer than 15 bytes. */
int fb_simd_rewrite(const uint8_t *in, size_t len, struct fb_simd_form *f);

/* Points the rewritten memory operand at target, for the instruction placed at host address at. */
void fb_simd_set_target(struct fb_simd_form *f, uint64_t at, uint64_t target);

#endif
