/* GDB remote protocol framing: a byte-at-a-time decoder for "$body#cs" packets, the encoder for
 * our replies, and hex/binary helpers. Every input is hostile: lengths and digits are checked. */
#include "gdbstub/packet.h"

#include <limits.h>

enum {
	ST_IDLE,  /* between packets: only '$', 0x03, '+' and '-' mean anything */
	ST_BODY,  /* inside "$...": collecting body bytes until '#' */
	ST_CSUM1, /* after '#': first checksum digit */
	ST_CSUM2, /* second checksum digit */
};

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char hexdig[] = "0123456789abcdef";

void gdb_decoder_init(struct gdb_decoder *dec)
{
	dec->state = ST_IDLE;
	dec->len = 0;
	dec->body[0] = '\0';
	dec->sum = 0;
	dec->csum = 0;
	dec->escape = false;
	dec->overflow = false;
}

static void start_packet(struct gdb_decoder *dec)
{
	dec->state = ST_BODY;
	dec->len = 0;
	dec->body[0] = '\0';
	dec->sum = 0;
	dec->csum = 0;
	dec->escape = false;
	dec->overflow = false;
}

/* Appends one unescaped byte; past GDB_PACKET_MAX we only remember that the packet was too long,
 * so the rest of it is still consumed up to its checksum and the stream stays in sync. */
static void put_body(struct gdb_decoder *dec, uint8_t c)
{
	if (dec->len >= GDB_PACKET_MAX) {
		dec->overflow = true;
		return;
	}
	dec->body[dec->len++] = (char)c;
}

enum gdb_decode_event gdb_decode_byte(struct gdb_decoder *dec, uint8_t byte)
{
	int v;

	switch (dec->state) {
	case ST_BODY:
		if (byte == '$') {
			/* gdb resends the whole packet after a timeout; '$' must always be escaped inside
			 * a body, so a raw one can only be the start of that resend. */
			start_packet(dec);
			return GDB_DEC_NONE;
		}
		if (byte == '#') {
			/* '#' is always escaped in a body too, so it ends the body even right after a '}':
			 * such a dangling escape is kept as a literal '}' rather than eating the '#'. */
			if (dec->escape) {
				put_body(dec, '}');
				dec->escape = false;
			}
			dec->state = ST_CSUM1;
			return GDB_DEC_NONE;
		}
		dec->sum = (uint8_t)(dec->sum + byte); /* the checksum covers the raw bytes, '}' included */
		if (dec->escape) {
			dec->escape = false;
			put_body(dec, byte ^ 0x20);
		} else if (byte == '}') {
			dec->escape = true;
		} else {
			/* '*' (run-length encoding) is only ever sent by stubs, so it is a literal here. */
			put_body(dec, byte);
		}
		return GDB_DEC_NONE;

	case ST_CSUM1:
	case ST_CSUM2:
		if (byte == '$') {
			/* A truncated packet followed by a resend: report the broken one (so we answer
			 * '-') but do not lose the new one. */
			start_packet(dec);
			return GDB_DEC_BAD_CHECKSUM;
		}
		v = hexval(byte);
		if (v < 0) {
			dec->state = ST_IDLE;
			dec->len = 0;
			dec->body[0] = '\0';
			return GDB_DEC_BAD_CHECKSUM;
		}
		if (dec->state == ST_CSUM1) {
			dec->csum = (uint8_t)(v << 4);
			dec->state = ST_CSUM2;
			return GDB_DEC_NONE;
		}
		dec->csum = (uint8_t)(dec->csum | v);
		dec->state = ST_IDLE;
		if (dec->overflow) {
			dec->len = 0;
			dec->body[0] = '\0';
			return GDB_DEC_OVERFLOW;
		}
		if (dec->csum != dec->sum) {
			dec->len = 0;
			dec->body[0] = '\0';
			return GDB_DEC_BAD_CHECKSUM;
		}
		dec->body[dec->len] = '\0'; /* len <= GDB_PACKET_MAX and body has one spare byte */
		return GDB_DEC_PACKET;

	default: /* ST_IDLE, or a corrupted state: resynchronise on the next '$' */
		dec->state = ST_IDLE;
		switch (byte) {
		case '$':
			start_packet(dec);
			return GDB_DEC_NONE;
		case 0x03:
			return GDB_DEC_INTERRUPT;
		case '+':
			return GDB_DEC_ACK;
		case '-':
			return GDB_DEC_NACK;
		default:
			return GDB_DEC_NONE; /* line noise, or the tail of a packet we gave up on */
		}
	}
}

static bool needs_escape(uint8_t c)
{
	return c == '$' || c == '#' || c == '}' || c == '*';
}

size_t gdb_encode_packet(const void *body, size_t len, char *out, size_t cap)
{
	const uint8_t *src = body;
	size_t need = 4; /* '$', '#' and two checksum digits */
	size_t i, o;
	uint8_t sum = 0;

	if (!out || (len && !src))
		return 0;
	/* Size first, so nothing is written when it does not fit; each step is checked against cap
	 * rather than summed, so a huge len cannot wrap the arithmetic. */
	for (i = 0; i < len; i++) {
		size_t n = needs_escape(src[i]) ? 2 : 1;
		if (need > cap || cap - need < n)
			return 0;
		need += n;
	}
	if (need > cap)
		return 0;

	o = 0;
	out[o++] = '$';
	for (i = 0; i < len; i++) {
		uint8_t c = src[i];
		if (needs_escape(c)) {
			out[o++] = '}';
			sum = (uint8_t)(sum + '}');
			c ^= 0x20;
		}
		out[o++] = (char)c;
		sum = (uint8_t)(sum + c);
	}
	out[o++] = '#';
	out[o++] = hexdig[sum >> 4];
	out[o++] = hexdig[sum & 0xf];
	if (o < cap)
		out[o] = '\0'; /* a convenience for logging; the length is what counts */
	return o;
}

void gdb_hex_encode(const void *src, size_t len, char *out)
{
	const uint8_t *s = src;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = hexdig[s[i] >> 4];
		out[2 * i + 1] = hexdig[s[i] & 0xf];
	}
	out[2 * len] = '\0';
}

long gdb_hex_decode(const char *hex, size_t hexlen, void *dst, size_t cap)
{
	uint8_t *d = dst;
	size_t n = hexlen / 2, i;

	if (hexlen % 2 || n > cap || n > (size_t)LONG_MAX)
		return -1;
	/* Validate everything before writing, so a bad digit leaves dst untouched. */
	for (i = 0; i < hexlen; i++)
		if (hexval((uint8_t)hex[i]) < 0)
			return -1;
	for (i = 0; i < n; i++)
		d[i] = (uint8_t)(hexval((uint8_t)hex[2 * i]) << 4 | hexval((uint8_t)hex[2 * i + 1]));
	return (long)n;
}

int gdb_parse_hex(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0, d;

	while ((d = hexval((uint8_t)s[n])) >= 0) {
		if (n == 16)
			return -1; /* a 17th digit would shift bits out of 64 */
		v = v << 4 | (uint64_t)d;
		n++;
	}
	if (n == 0)
		return -1;
	*out = v;
	*p = s + n;
	return 0;
}

long gdb_binary_unescape(char *buf, size_t len)
{
	size_t i, o = 0;

	if (len > (size_t)LONG_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		if (buf[i] == '}') {
			if (++i == len)
				return -1; /* an escape with nothing to escape */
			buf[o++] = (char)(buf[i] ^ 0x20);
		} else {
			buf[o++] = buf[i];
		}
	}
	return (long)o;
}
