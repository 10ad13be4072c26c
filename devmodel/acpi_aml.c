/* AML encoding (ACPI 6.4, chapter 20 "ACPI Machine Language Specification" and 6.4 "Resource
 * Data Types"): enough for a DSDT of scopes, devices, names, packages and resource templates. */
#include "devmodel/acpi_aml.h"

#include <stdlib.h>
#include <string.h>

#define AML_ZERO         0x00
#define AML_ONE          0x01
#define AML_NAME         0x08
#define AML_BYTE_PREFIX  0x0a
#define AML_WORD_PREFIX  0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING       0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE        0x10
#define AML_BUFFER       0x11
#define AML_PACKAGE      0x12
#define AML_METHOD       0x14
#define AML_DUAL_NAME    0x2e
#define AML_MULTI_NAME   0x2f
#define AML_EXT_PREFIX   0x5b
#define AML_DEVICE       0x82 /* after AML_EXT_PREFIX */
#define AML_ROOT         0x5c /* '\' */
#define AML_RETURN       0xa4

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

static bool reserve(struct aml *a, size_t n)
{
	if (a->failed)
		return false;
	if (a->len + n <= a->cap)
		return true;
	size_t cap = a->cap ? a->cap * 2 : 1024;
	while (cap < a->len + n)
		cap *= 2;
	uint8_t *p = realloc(a->buf, cap);
	if (!p) {
		a->failed = true;
		return false;
	}
	a->buf = p;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

static bool seg_char_ok(char c, bool first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (!first && c >= '0' && c <= '9');
}

void aml_name_string(struct aml *a, const char *path)
{
	char segs[8][4];
	unsigned n = 0;
	if (*path == '\\') {
		aml_byte(a, AML_ROOT);
		path++;
	}
	while (*path) {
		if (n == 8) {
			a->failed = true;
			return;
		}
		unsigned i = 0;
		memset(segs[n], '_', 4);
		for (; *path && *path != '.'; path++, i++) {
			if (i == 4 || !seg_char_ok(*path, i == 0)) {
				a->failed = true;
				return;
			}
			segs[n][i] = *path;
		}
		if (i == 0) {
			a->failed = true;
			return;
		}
		n++;
		if (*path == '.')
			path++;
	}
	if (n == 2)
		aml_byte(a, AML_DUAL_NAME);
	else if (n > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)n);
	} else if (n == 0) {
		aml_byte(a, 0x00); /* NullName */
		return;
	}
	aml_bytes(a, segs, 4 * n);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO);
	else if (v == 1)
		aml_byte(a, AML_ONE);
	else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD_PREFIX);
		le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, strlen(s) + 1);
}

static unsigned hexval(char c)
{
	return c >= '0' && c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'A' + 10);
}

/* Three letters in 5 bits each, then four hex digits, stored big-endian in the DWord. */
void aml_eisaid(struct aml *a, const char *id)
{
	if (strlen(id) != 7) {
		a->failed = true;
		return;
	}
	uint16_t vendor = (uint16_t)(((id[0] - 0x40) & 0x1f) << 10 | ((id[1] - 0x40) & 0x1f) << 5 | ((id[2] - 0x40) & 0x1f));
	uint16_t product = (uint16_t)(hexval(id[3]) << 12 | hexval(id[4]) << 8 | hexval(id[5]) << 4 | hexval(id[6]));
	aml_byte(a, AML_DWORD_PREFIX);
	uint8_t b[4] = { (uint8_t)(vendor >> 8), (uint8_t)vendor, (uint8_t)(product >> 8), (uint8_t)product };
	aml_bytes(a, b, 4);
}

/* The PkgLength goes in front of what follows the opcode; it is inserted at aml_end, when the
 * length is known, so the mark is just the offset after the opcode. */
static size_t open_pkg(struct aml *a, const uint8_t *op, size_t oplen)
{
	aml_bytes(a, op, oplen);
	return a->len;
}

size_t aml_scope(struct aml *a, const char *name)
{
	const uint8_t op = AML_SCOPE;
	size_t m = open_pkg(a, &op, 1);
	aml_name_string(a, name);
	return m;
}

size_t aml_device(struct aml *a, const char *name)
{
	const uint8_t op[2] = { AML_EXT_PREFIX, AML_DEVICE };
	size_t m = open_pkg(a, op, 2);
	aml_name_string(a, name);
	return m;
}

size_t aml_package(struct aml *a, uint8_t nelem)
{
	const uint8_t op = AML_PACKAGE;
	size_t m = open_pkg(a, &op, 1);
	aml_byte(a, nelem);
	return m;
}

/* A buffer's BufferSize term is also unknown until the end: a DWord placeholder is kept so the
 * fixup never changes the length of what it patches. */
size_t aml_buffer(struct aml *a)
{
	const uint8_t op = AML_BUFFER;
	size_t m = open_pkg(a, &op, 1);
	aml_byte(a, AML_DWORD_PREFIX);
	le(a, 0, 4);
	return m;
}

size_t aml_method(struct aml *a, const char *name, uint8_t nargs)
{
	const uint8_t op = AML_METHOD;
	size_t m = open_pkg(a, &op, 1);
	aml_name_string(a, name);
	aml_byte(a, nargs & 7); /* not serialized, sync level 0 */
	return m;
}

void aml_end(struct aml *a, size_t mark)
{
	if (a->failed || mark > a->len)
		return;
	/* A buffer (opcode right before the mark) gets its size: bytes after the DWord size term. */
	if (mark >= 1 && a->buf[mark - 1] == AML_BUFFER && a->len >= mark + 5 && a->buf[mark] == AML_DWORD_PREFIX) {
		uint32_t n = (uint32_t)(a->len - (mark + 5));
		for (unsigned i = 0; i < 4; i++)
			a->buf[mark + 1 + i] = (uint8_t)(n >> (8 * i));
	}
	size_t body = a->len - mark;
	uint8_t enc[4];
	unsigned n;
	/* PkgLength counts its own bytes: one byte holds up to 63, n bytes 4 + 8 (n - 1) bits. */
	if (body + 1 <= 0x3f) {
		n = 1;
		enc[0] = (uint8_t)(body + 1);
	} else {
		size_t total;
		if (body + 2 <= 0xfff)
			n = 2;
		else if (body + 3 <= 0xfffff)
			n = 3;
		else if (body + 4 <= 0xfffffff)
			n = 4;
		else {
			a->failed = true;
			return;
		}
		total = body + n;
		enc[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (!reserve(a, n))
		return;
	memmove(a->buf + mark + n, a->buf + mark, body);
	memcpy(a->buf + mark, enc, n);
	a->len += n;
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME);
	aml_name_string(a, name);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN);
}

/* Address space descriptors (ACPI 6.4, 6.4.3.5): general flags MaxFixed | MinFixed, positive
 * decode, producer: the root bridge hands these ranges to the devices below it. */
#define RES_WORD_ADDR   0x88
#define RES_DWORD_ADDR  0x87
#define RES_TYPE_MEM    0
#define RES_TYPE_IO     1
#define RES_TYPE_BUS    2
#define RES_FIXED_PRODUCER 0x0c

static void word_addr(struct aml *a, uint8_t type, uint8_t tflags, uint16_t min, uint16_t max)
{
	aml_byte(a, RES_WORD_ADDR);
	le(a, 13, 2);
	aml_byte(a, type);
	aml_byte(a, RES_FIXED_PRODUCER);
	aml_byte(a, tflags);
	le(a, 0, 2);                         /* granularity */
	le(a, min, 2);
	le(a, max, 2);
	le(a, 0, 2);                         /* translation */
	le(a, (uint32_t)max - min + 1, 2);  /* length */
}

void aml_res_bus_range(struct aml *a, uint16_t min, uint16_t max)
{
	word_addr(a, RES_TYPE_BUS, 0, min, max);
}

void aml_res_io_window(struct aml *a, uint16_t min, uint16_t max)
{
	word_addr(a, RES_TYPE_IO, 0x03, min, max); /* ISA and non-ISA ranges */
}

void aml_res_mem_window(struct aml *a, uint32_t min, uint32_t max)
{
	aml_byte(a, RES_DWORD_ADDR);
	le(a, 23, 2);
	aml_byte(a, RES_TYPE_MEM);
	aml_byte(a, RES_FIXED_PRODUCER);
	aml_byte(a, 0x01);                   /* read/write, non-cacheable: device registers */
	le(a, 0, 4);
	le(a, min, 4);
	le(a, max, 4);
	le(a, 0, 4);
	le(a, (uint64_t)max - min + 1, 4);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t align, uint8_t len)
{
	aml_byte(a, 0x47);                   /* I/O port descriptor, small, 7 bytes */
	aml_byte(a, 0x01);                   /* 16-bit decode */
	le(a, base, 2);
	le(a, base, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_res_irq(struct aml *a, unsigned irq)
{
	aml_byte(a, 0x22);                   /* IRQ descriptor, 2 bytes: edge, active high */
	le(a, irq < 16 ? 1u << irq : 0, 2);
}

void aml_res_end(struct aml *a)
{
	aml_byte(a, 0x79);                   /* end tag; checksum 0 means "treat as valid" */
	aml_byte(a, 0x00);
}
