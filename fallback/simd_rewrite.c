/* Re-encoding an SSE/AVX/AVX-512 instruction for the host (see simd_rewrite.h). Our own parser of
 * prefixes, VEX/EVEX and ModRM/SIB/displacement, since capstone 4 tells an instruction's length
 * and operands but not where its ModRM, SIB and displacement bytes lie. */
#include "fallback/simd_rewrite.h"

#include <errno.h>
#include <string.h>

#define MODRM_RIP_REL 0x05 /* mod 00, r/m 101: RIP + disp32 in 64-bit mode */

int fb_simd_rewrite(const uint8_t *in, size_t len, struct fb_simd_form *f)
{
	uint8_t out[32];
	size_t i = 0, o = 0;
	memset(f, 0, sizeof(*f));
	if (len > FB_SIMD_MAX_INSN)
		return -EINVAL;
	/* Legacy prefixes: 66/F2/F3 select the instruction and stay; segment overrides and the
	 * address-size prefix only shape the guest's address, which the buffer replaces. */
	for (; i < len; i++) {
		uint8_t p = in[i];
		if (p == 0x66 || p == 0xf2 || p == 0xf3)
			out[o++] = p;
		else if (p == 0xf0)
			return -ENOTSUP;
		else if (!(p == 0x2e || p == 0x36 || p == 0x3e || p == 0x26 || p == 0x64 || p == 0x65 || p == 0x67))
			break;
	}
	uint8_t rex = 0;
	if (i < len && (in[i] & 0xf0) == 0x40)
		rex = in[i++];
	if (i >= len)
		return -EINVAL;
	int rex_at = -1, xb_at = -1; /* where REX, and the VEX/EVEX byte with X/B, go in out */
	if (in[i] == 0xc5 || in[i] == 0xc4 || in[i] == 0x62) {
		if (rex)
			return -ENOTSUP; /* #UD on the CPU */
		size_t n = in[i] == 0xc5 ? 2 : in[i] == 0xc4 ? 3 : 4;
		if (i + n >= len)
			return -EINVAL;
		f->enc = in[i] == 0x62 ? FB_SIMD_EVEX : FB_SIMD_VEX;
		f->map = in[i] == 0xc5 ? 1 : (in[i + 1] & (f->enc == FB_SIMD_EVEX ? 0x07 : 0x1f));
		if (in[i] != 0xc5)
			xb_at = (int)o + 1;
		memcpy(out + o, in + i, n);
		o += n;
		i += n;
	} else {
		if (rex) {
			rex_at = (int)o;
			out[o++] = rex;
		}
		if (in[i] != 0x0f || i + 1 >= len)
			return -EINVAL;
		out[o++] = in[i++];
		f->map = 1;
		if (in[i] == 0x38 || in[i] == 0x3a) {
			f->map = in[i] == 0x38 ? 2 : 3;
			out[o++] = in[i++];
		}
	}
	if (f->map < 1 || f->map > 3 || i >= len)
		return -EINVAL;
	f->opcode = in[i];
	out[o++] = in[i++];
	/* Every instruction of these maps has a ModRM byte but 0F 77 (emms, vzeroupper, vzeroall). */
	if (f->map == 1 && f->opcode == 0x77) {
		if (i != len)
			return -EINVAL;
	} else {
		if (i >= len)
			return -EINVAL;
		uint8_t modrm = in[i++];
		unsigned mod = modrm >> 6, rm = modrm & 7;
		if (mod == 3) {
			out[o++] = modrm;
		} else {
			size_t disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
			if (rm == 4) {
				if (i >= len)
					return -EINVAL;
				if (mod == 0 && (in[i] & 7) == 5)
					disp = 4;
				i++;
			} else if (mod == 0 && rm == 5) {
				disp = 4;
			}
			i += disp;
			if (i > len)
				return -EINVAL;
			f->has_mem = true;
			/* The base and index are gone: their REX/VEX/EVEX extension bits too. */
			if (rex_at >= 0)
				out[rex_at] &= (uint8_t)~0x03;
			if (xb_at >= 0)
				out[xb_at] |= 0x60; /* X and B are stored inverted */
			out[o++] = (uint8_t)((modrm & 0x38) | MODRM_RIP_REL);
			f->disp_at = (uint8_t)o;
			memset(out + o, 0, 4);
			o += 4;
		}
	}
	/* What is left is the immediate. */
	memcpy(out + o, in + i, len - i);
	o += len - i;
	if (o > FB_SIMD_MAX_INSN)
		return -ENOTSUP;
	memcpy(f->bytes, out, o);
	f->len = (uint8_t)o;
	return 0;
}

void fb_simd_set_target(struct fb_simd_form *f, uint64_t at, uint64_t target)
{
	if (!f->has_mem)
		return;
	int32_t d = (int32_t)(int64_t)(target - (at + f->len));
	memcpy(f->bytes + f->disp_at, &d, 4);
}
