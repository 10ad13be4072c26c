/* The GDB remote serial protocol's framing: "$body#cs" packets with '}' escapes, '+'/'-' acks
 * and the 0x03 interrupt byte, plus the hex helpers every command uses. Pure code: the decoder
 * is fed bytes and never trusts a length or a digit it did not check. */
#ifndef DHYVE_GDBSTUB_PACKET_H
#define DHYVE_GDBSTUB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GDB_PACKET_MAX 16384 /* what we announce as PacketSize; longer packets are refused */

enum gdb_decode_event {
	GDB_DEC_NONE,         /* byte consumed, nothing complete yet */
	GDB_DEC_PACKET,       /* a packet with a good checksum: body in dec->body[0..len) (NUL added) */
	GDB_DEC_BAD_CHECKSUM, /* answer '-' (unless no-ack mode) */
	GDB_DEC_OVERFLOW,     /* longer than GDB_PACKET_MAX: dropped; answer '-' */
	GDB_DEC_INTERRUPT,    /* a 0x03 outside a packet: the user pressed Ctrl-C */
	GDB_DEC_ACK,          /* '+' */
	GDB_DEC_NACK,         /* '-': resend the last packet */
};

/* The decoder already undoes '}' escapes (gdb only sends them in binary data: X, vFile:pwrite,
 * qSearch:memory), so body holds the real bytes and may contain NULs: use len, not strlen, for
 * binary packets, and do not run gdb_binary_unescape() over body again. */
struct gdb_decoder {
	int state;
	char body[GDB_PACKET_MAX + 1]; /* unescaped body, NUL-terminated */
	size_t len;
	uint8_t sum;      /* running checksum of the raw (escaped) body bytes */
	uint8_t csum;     /* the two checksum digits received */
	bool escape;      /* previous raw byte was '}' */
	bool overflow;
};

void gdb_decoder_init(struct gdb_decoder *dec);
enum gdb_decode_event gdb_decode_byte(struct gdb_decoder *dec, uint8_t byte);

/* Frames body[0..len) as "$...#cs", escaping '$', '#', '}' and '*' (so gdb never mistakes our
 * data for run-length encoding). Returns the framed length, or 0 if it does not fit in cap
 * (nothing written then); a NUL is added only when cap has room for it. */
size_t gdb_encode_packet(const void *body, size_t len, char *out, size_t cap);

/* Hex helpers. Encoders write 2*len chars + NUL. Decoders accept upper and lower case, return
 * the bytes decoded or -1 on an odd length, a non-hex digit or more than cap bytes (dst is
 * untouched then). */
void gdb_hex_encode(const void *src, size_t len, char *out);
long gdb_hex_decode(const char *hex, size_t hexlen, void *dst, size_t cap);
/* Parses a hex number at *p (at least one digit, at most 16), advancing *p past it. Returns 0,
 * or -1 (with *p and *out unchanged) when there is no digit or more than 16. */
int gdb_parse_hex(const char **p, uint64_t *out);
/* Undoes the '}' escaping of binary data in place; returns the length or -1 (a trailing lone
 * '}'). For raw data only: gdb_decode_byte() has already unescaped a decoded body. */
long gdb_binary_unescape(char *buf, size_t len);

#endif
