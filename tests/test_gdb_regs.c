/* Unit tests for the gdb register file: the target description (parsed here and, when gdb is
 * installed, loaded into gdb), g/G/p/P encodings over kvm_regs/sregs/fpu, dirty bits, x87 tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gdbstub/regs.h"

#define NREGS 66
#define G_CHARS 1216 /* 608 bytes: what gdb computes from the description (see test_with_gdb) */

struct xml_reg {
	char name[32];
	unsigned bitsize;
	int regnum;
};

/* Copies attribute attr of the element [el, end) into out; accepts either quote style. */
static int xml_attr(const char *el, const char *end, const char *attr, char *out, size_t cap)
{
	size_t alen = strlen(attr);
	for (const char *p = el; p + alen + 2 < end; p++) {
		if (p[-1] != ' ' || strncmp(p, attr, alen) != 0 || p[alen] != '=')
			continue;
		char q = p[alen + 1];
		if (q != '\'' && q != '"')
			return -1;
		const char *v = p + alen + 2, *ve = memchr(v, q, (size_t)(end - v));
		if (!ve || (size_t)(ve - v) >= cap)
			return -1;
		memcpy(out, v, (size_t)(ve - v));
		out[ve - v] = '\0';
		return 0;
	}
	return -1;
}

/* Every <reg .../> of the description, in document order. */
static int parse_regs(const char *xml, struct xml_reg *regs, int max)
{
	int n = 0;
	const char *p = xml;
	while ((p = strstr(p, "<reg ")) != NULL) {
		const char *end = strstr(p, "/>");
		char buf[32];
		assert_non_null(end);
		assert_true(n < max);
		assert_int_equal(xml_attr(p + 1, end, "name", regs[n].name, sizeof(regs[n].name)), 0);
		assert_int_equal(xml_attr(p + 1, end, "bitsize", buf, sizeof(buf)), 0);
		regs[n].bitsize = (unsigned)strtoul(buf, NULL, 10);
		assert_int_equal(xml_attr(p + 1, end, "regnum", buf, sizeof(buf)), 0);
		regs[n].regnum = atoi(buf);
		assert_int_equal(xml_attr(p + 1, end, "type", buf, sizeof(buf)), 0);
		n++;
		p = end;
	}
	return n;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void test_xml_shape(void **state)
{
	size_t len = 0;
	(void)state;
	const char *xml = gdb_target_xml("target.xml", &len);
	assert_non_null(xml);
	assert_int_equal(len, strlen(xml));
	assert_memory_equal(xml, "<?xml", 5);
	assert_int_equal(count(xml, "<target"), 1);
	assert_int_equal(count(xml, "</target>"), 1);
	assert_non_null(strstr(xml, "<architecture>i386:x86-64</architecture>"));
	assert_int_equal(count(xml, "<feature "), 4);
	assert_int_equal(count(xml, "</feature>"), 4);
	assert_int_equal(count(xml, "<flags "), count(xml, "</flags>"));
	assert_int_equal(count(xml, "<union "), count(xml, "</union>"));
	assert_int_equal(count(xml, "<"), count(xml, ">")); /* no '<' or '>' inside attributes */
	assert_non_null(strstr(xml, "name='org.gnu.gdb.i386.core'"));
	assert_non_null(strstr(xml, "name='org.gnu.gdb.i386.sse'"));
	assert_non_null(strstr(xml, "name='org.gnu.gdb.i386.segments'"));
	assert_non_null(strstr(xml, "name='org.dhyve.gdb.x86.sys'"));
	assert_non_null(strstr(xml, "<union id='vec128'>"));
	assert_null(strstr(xml, "xi:include"));

	assert_null(gdb_target_xml("i386-64bit.xml", &len));
	assert_null(gdb_target_xml("", &len));
	assert_null(gdb_target_xml(NULL, &len));
	assert_null(gdb_target_xml("target.xml/../x", &len));
}

static void test_xml_registers(void **state)
{
	struct xml_reg regs[NREGS + 1];
	static struct gdb_cpu_state st;
	static char hex[G_CHARS + 1];
	size_t len;
	unsigned bits = 0;
	(void)state;

	int n = parse_regs(gdb_target_xml("target.xml", &len), regs, NREGS + 1);
	assert_int_equal(n, NREGS);
	assert_int_equal(gdb_reg_count(), NREGS);
	for (int i = 0; i < n; i++) {
		/* regnum contiguous from 0 in document order, so gdb's g order is our table order. */
		assert_int_equal(regs[i].regnum, i);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(regs[i].name, regs[j].name);
		/* The table in regs.c agrees with the document. */
		assert_string_equal(regs[i].name, gdb_reg_name((unsigned)i));
		assert_int_equal(regs[i].bitsize % 8, 0);
		assert_int_equal(regs[i].bitsize / 8, gdb_reg_size((unsigned)i));
		bits += regs[i].bitsize;
	}
	assert_null(gdb_reg_name(NREGS));
	assert_int_equal(gdb_reg_size(NREGS), -1);

	static const struct {
		const char *name;
		int regnum;
		unsigned bits;
	} spot[] = { { "rax", 0, 64 },     { "rip", 16, 64 },     { "eflags", 17, 32 },  { "cs", 18, 32 },
		     { "gs", 23, 32 },     { "st0", 24, 80 },     { "st7", 31, 80 },     { "fctrl", 32, 32 },
		     { "fop", 39, 32 },    { "xmm0", 40, 128 },   { "xmm15", 55, 128 },  { "mxcsr", 56, 32 },
		     { "fs_base", 57, 64 }, { "gs_base", 58, 64 }, { "k_gs_base", 59, 64 }, { "cr0", 60, 64 },
		     { "cr2", 61, 64 },    { "cr3", 62, 64 },     { "cr4", 63, 64 },     { "cr8", 64, 64 },
		     { "efer", 65, 64 } };
	for (size_t i = 0; i < sizeof(spot) / sizeof(spot[0]); i++) {
		assert_string_equal(regs[spot[i].regnum].name, spot[i].name);
		assert_int_equal(regs[spot[i].regnum].bitsize, spot[i].bits);
	}

	/* A 'g' reply is exactly as long as gdb expects from the description. */
	assert_int_equal(bits * 2 / 8, G_CHARS);
	assert_int_equal(gdb_regs_encode_all(&st, hex, sizeof(hex)), (long)(bits * 2 / 8));
	assert_int_equal(strlen(hex), G_CHARS);
}

/* Distinct bytes everywhere, so a field read from the wrong place shows. */
static void fill(struct gdb_cpu_state *st, uint8_t seed)
{
	uint8_t *p = (uint8_t *)st;
	for (size_t i = 0; i < sizeof(*st); i++)
		p[i] = (uint8_t)(seed + i * 13 + (i >> 8));
}

static void test_roundtrip(void **state)
{
	static struct gdb_cpu_state a, b, b0;
	static char ha[G_CHARS + 1], hb[G_CHARS + 1];
	unsigned dirty = 0;
	(void)state;

	fill(&a, 1);
	fill(&b, 99);
	b0 = b;
	assert_int_equal(gdb_regs_encode_all(&a, ha, sizeof(ha)), G_CHARS);
	assert_int_equal(gdb_regs_decode_all(&b, ha, G_CHARS, &dirty), 0);
	assert_int_equal(dirty, GDB_DIRTY_REGS | GDB_DIRTY_SREGS | GDB_DIRTY_FPU | GDB_DIRTY_KGSBASE);
	assert_int_equal(gdb_regs_encode_all(&b, hb, sizeof(hb)), G_CHARS);
	assert_string_equal(ha, hb);

	/* Every field gdb sees came across ... */
	assert_memory_equal(&a.regs, &b.regs, offsetof(struct kvm_regs, rflags));
	assert_int_equal(a.regs.rip, b.regs.rip);
	assert_int_equal((uint32_t)a.regs.rflags, (uint32_t)b.regs.rflags);
	assert_int_equal(a.sregs.cs.selector, b.sregs.cs.selector);
	assert_int_equal(a.sregs.gs.selector, b.sregs.gs.selector);
	assert_int_equal(a.sregs.fs.base, b.sregs.fs.base);
	assert_int_equal(a.sregs.gs.base, b.sregs.gs.base);
	assert_int_equal(a.sregs.cr0, b.sregs.cr0);
	assert_int_equal(a.sregs.cr2, b.sregs.cr2);
	assert_int_equal(a.sregs.cr3, b.sregs.cr3);
	assert_int_equal(a.sregs.cr4, b.sregs.cr4);
	assert_int_equal(a.sregs.cr8, b.sregs.cr8);
	assert_int_equal(a.sregs.efer, b.sregs.efer);
	for (int i = 0; i < 8; i++)
		assert_memory_equal(a.fpu.fpr[i], b.fpu.fpr[i], 10);
	assert_int_equal(a.fpu.fcw, b.fpu.fcw);
	assert_int_equal(a.fpu.fsw, b.fpu.fsw);
	assert_int_equal(a.fpu.ftwx, b.fpu.ftwx);
	assert_int_equal(a.fpu.last_opcode, b.fpu.last_opcode);
	assert_int_equal(a.fpu.last_ip, b.fpu.last_ip);
	assert_int_equal(a.fpu.last_dp, b.fpu.last_dp);
	assert_memory_equal(a.fpu.xmm, b.fpu.xmm, sizeof(a.fpu.xmm));
	assert_int_equal(a.fpu.mxcsr, b.fpu.mxcsr);
	assert_int_equal(a.k_gs_base, b.k_gs_base);

	/* ... and what gdb does not see was left alone: descriptor caches, tables, APIC base,
	 * pending interrupts, the reserved tail of each x87 slot. */
	assert_int_equal(b.sregs.cs.base, b0.sregs.cs.base);
	assert_int_equal(b.sregs.cs.limit, b0.sregs.cs.limit);
	assert_int_equal(b.sregs.ss.type, b0.sregs.ss.type);
	assert_int_equal(b.sregs.fs.limit, b0.sregs.fs.limit);
	assert_memory_equal(&b.sregs.tr, &b0.sregs.tr, sizeof(b.sregs.tr));
	assert_memory_equal(&b.sregs.gdt, &b0.sregs.gdt, sizeof(b.sregs.gdt));
	assert_int_equal(b.sregs.apic_base, b0.sregs.apic_base);
	assert_memory_equal(b.sregs.interrupt_bitmap, b0.sregs.interrupt_bitmap, sizeof(b.sregs.interrupt_bitmap));
	assert_int_equal(b.regs.rflags >> 32, b0.regs.rflags >> 32);
	assert_memory_equal(b.fpu.fpr[3] + 10, b0.fpu.fpr[3] + 10, 6);

	/* Writing back what is already there dirties nothing. */
	dirty = 0;
	assert_int_equal(gdb_regs_decode_all(&b, hb, G_CHARS, &dirty), 0);
	assert_int_equal(dirty, 0);
	assert_int_equal(gdb_regs_decode_all(&b, hb, G_CHARS, NULL), 0);
}

static void test_g_encode_cap(void **state)
{
	static struct gdb_cpu_state st;
	static char out[G_CHARS + 8];
	(void)state;
	assert_int_equal(gdb_regs_encode_all(&st, out, G_CHARS), -1); /* no room for the NUL */
	assert_int_equal(gdb_regs_encode_all(&st, out, 0), -1);
	assert_int_equal(gdb_regs_encode_all(&st, out, G_CHARS + 1), G_CHARS);
}

static void test_G_rejects(void **state)
{
	static struct gdb_cpu_state st, st0, other;
	static char hex[G_CHARS + 4];
	unsigned dirty = 0;
	(void)state;

	fill(&other, 5);
	assert_int_equal(gdb_regs_encode_all(&other, hex, sizeof(hex)), G_CHARS);
	hex[G_CHARS] = '0';
	hex[G_CHARS + 1] = '0';
	fill(&st, 77);
	st0 = st;

	static const size_t lens[] = { 0, 1, 2, G_CHARS - 2, G_CHARS - 1, G_CHARS + 1, G_CHARS + 2 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(gdb_regs_decode_all(&st, hex, lens[i], &dirty), -1);
		assert_memory_equal(&st, &st0, sizeof(st));
		assert_int_equal(dirty, 0);
	}

	/* Right length, bad content: an 'x' (unavailable) or a non-hex digit, at the start, the
	 * middle or the very end, and nothing is applied (no partial G). */
	static const size_t pos[] = { 0, 300, G_CHARS - 1 };
	for (size_t i = 0; i < sizeof(pos) / sizeof(pos[0]); i++) {
		for (int k = 0; k < 2; k++) {
			char save = hex[pos[i]];
			hex[pos[i]] = k ? 'x' : 'g';
			assert_int_equal(gdb_regs_decode_all(&st, hex, G_CHARS, &dirty), -1);
			assert_memory_equal(&st, &st0, sizeof(st));
			assert_int_equal(dirty, 0);
			hex[pos[i]] = save;
		}
	}
	assert_int_equal(gdb_regs_decode_all(&st, hex, G_CHARS, &dirty), 0);
	assert_int_not_equal(dirty, 0);
}

/* p regno must give want; then P with newhex must succeed and dirty exactly want_dirty. */
static void check_p(const struct gdb_cpu_state *st, unsigned regno, const char *want)
{
	char out[40];
	assert_int_equal(gdb_reg_read(st, regno, out, sizeof(out)), (long)strlen(want));
	assert_string_equal(out, want);
}

static void check_P(struct gdb_cpu_state *st, unsigned regno, const char *hex, unsigned want_dirty)
{
	unsigned dirty = 0;
	assert_int_equal(gdb_reg_write(st, regno, hex, strlen(hex), &dirty), 0);
	assert_int_equal(dirty, want_dirty);
	check_p(st, regno, hex); /* and it reads back */
}

static void test_p_P(void **state)
{
	static struct gdb_cpu_state st, before;
	(void)state;
	fill(&st, 3);

	/* rip */
	st.regs.rip = 0x1122334455667788ull;
	check_p(&st, 16, "8877665544332211");
	before = st;
	check_P(&st, 16, "efcdab8967452301", GDB_DIRTY_REGS);
	assert_int_equal(st.regs.rip, 0x0123456789abcdefull);
	before.regs.rip = st.regs.rip;
	assert_memory_equal(&st, &before, sizeof(st)); /* nothing else moved */

	/* rsp (7) and rbp (6) are in gdb's order, not kvm_regs' (rsp before rbp there) */
	st.regs.rsp = 0x7777;
	st.regs.rbp = 0x6666;
	check_p(&st, 7, "7777000000000000");
	check_p(&st, 6, "6666000000000000");

	/* eflags: the low 32 bits of rflags; the upper (reserved) half is kept on write */
	st.regs.rflags = 0xdead000000000246ull;
	check_p(&st, 17, "46020000");
	check_P(&st, 17, "02010000", GDB_DIRTY_REGS);
	assert_int_equal(st.regs.rflags, 0xdead000000000102ull);

	/* cs: the selector only; the descriptor cache is not touched */
	st.sregs.cs.selector = 0x10;
	st.sregs.cs.base = 0xabcdef;
	st.sregs.cs.limit = 0xfffff;
	check_p(&st, 18, "10000000");
	check_P(&st, 18, "33000000", GDB_DIRTY_SREGS);
	assert_int_equal(st.sregs.cs.selector, 0x33);
	assert_int_equal(st.sregs.cs.base, 0xabcdef);
	assert_int_equal(st.sregs.cs.limit, 0xfffff);
	st.sregs.gs.selector = 0x2b;
	check_p(&st, 23, "2b000000");

	/* st0: the first 10 bytes of fpr[0]; the reserved 6 are untouched */
	for (int i = 0; i < 16; i++)
		st.fpu.fpr[0][i] = (uint8_t)(0xa0 + i);
	check_p(&st, 24, "a0a1a2a3a4a5a6a7a8a9");
	check_P(&st, 24, "0000000000000080ff3f", GDB_DIRTY_FPU); /* 1.0 */
	assert_int_equal(st.fpu.fpr[0][7], 0x80);
	assert_int_equal(st.fpu.fpr[0][8], 0xff);
	assert_int_equal(st.fpu.fpr[0][9], 0x3f);
	assert_int_equal(st.fpu.fpr[0][10], 0xaa);
	assert_int_equal(st.fpu.fpr[0][15], 0xaf);
	st.fpu.fpr[7][0] = 0x42;
	assert_int_equal(gdb_reg_read(&st, 31, (char[32]){ 0 }, 32), 20);

	/* x87 control/status, opcode, instruction and operand pointers */
	st.fpu.fcw = 0x037f;
	st.fpu.fsw = 0x3800;
	st.fpu.last_opcode = 0x7ff;
	check_p(&st, 32, "7f030000");
	check_p(&st, 33, "00380000");
	check_p(&st, 39, "ff070000");
	check_P(&st, 32, "7f020000", GDB_DIRTY_FPU);
	assert_int_equal(st.fpu.fcw, 0x027f);
	st.fpu.last_ip = 0xffffffff81234567ull;
	st.fpu.last_dp = 0x00007fff00001000ull;
	check_p(&st, 35, "ffffffff"); /* fiseg: upper half, as gdb's amd64 FXSAVE code does */
	check_p(&st, 36, "67452381"); /* fioff: lower half */
	check_p(&st, 37, "ff7f0000");
	check_p(&st, 38, "00100000");
	check_P(&st, 36, "00000080", GDB_DIRTY_FPU);
	assert_int_equal(st.fpu.last_ip, 0xffffffff80000000ull);
	check_P(&st, 35, "00000000", GDB_DIRTY_FPU);
	assert_int_equal(st.fpu.last_ip, 0x80000000ull);

	/* xmm0 */
	for (int i = 0; i < 16; i++)
		st.fpu.xmm[0][i] = (uint8_t)i;
	check_p(&st, 40, "000102030405060708090a0b0c0d0e0f");
	check_P(&st, 40, "ffeeddccbbaa99887766554433221100", GDB_DIRTY_FPU);
	assert_int_equal(st.fpu.xmm[0][0], 0xff);
	assert_int_equal(st.fpu.xmm[0][15], 0x00);
	st.fpu.xmm[15][15] = 0x5a;
	char x15[40];
	assert_int_equal(gdb_reg_read(&st, 55, x15, sizeof(x15)), 32);
	assert_memory_equal(x15 + 30, "5a", 2);

	/* mxcsr */
	st.fpu.mxcsr = 0x1f80;
	check_p(&st, 56, "801f0000");
	check_P(&st, 56, "a01f0000", GDB_DIRTY_FPU);
	assert_int_equal(st.fpu.mxcsr, 0x1fa0);

	/* fs_base, gs_base come from the segment caches */
	st.sregs.fs.base = 0x00007f0012345678ull;
	st.sregs.fs.selector = 0;
	check_p(&st, 57, "78563412007f0000");
	check_P(&st, 57, "0010000000000000", GDB_DIRTY_SREGS);
	assert_int_equal(st.sregs.fs.base, 0x1000);
	assert_int_equal(st.sregs.fs.selector, 0);
	st.sregs.gs.base = 0xffff888000000000ull;
	check_p(&st, 58, "000000008088ffff");

	/* k_gs_base has its own dirty bit (it is an MSR, not part of sregs) */
	st.k_gs_base = 0x1122;
	check_p(&st, 59, "2211000000000000");
	check_P(&st, 59, "3344000000000000", GDB_DIRTY_KGSBASE);
	assert_int_equal(st.k_gs_base, 0x4433);

	/* control registers and EFER */
	st.sregs.cr0 = 0x80050033;
	st.sregs.cr3 = 0x1234000;
	st.sregs.cr4 = 0x3406f0;
	st.sregs.cr8 = 0xf;
	st.sregs.efer = 0xd01;
	check_p(&st, 60, "3300058000000000");
	check_p(&st, 62, "0040230100000000");
	check_p(&st, 63, "f006340000000000");
	check_p(&st, 64, "0f00000000000000");
	check_p(&st, 65, "010d000000000000");
	check_P(&st, 62, "00f0ffff00000000", GDB_DIRTY_SREGS);
	assert_int_equal(st.sregs.cr3, 0xfffff000ull);
	check_P(&st, 65, "0005000000000000", GDB_DIRTY_SREGS);
	assert_int_equal(st.sregs.efer, 0x500);
	check_P(&st, 61, "efbeadde00000000", GDB_DIRTY_SREGS);
	assert_int_equal(st.sregs.cr2, 0xdeadbeef);

	/* The same value again: nothing to write back. */
	unsigned dirty = 0;
	assert_int_equal(gdb_reg_write(&st, 65, "0005000000000000", 16, &dirty), 0);
	assert_int_equal(dirty, 0);
	/* Upper-case digits are fine, and dirty accumulates across writes. */
	assert_int_equal(gdb_reg_write(&st, 0, "FFFFFFFFFFFFFFFF", 16, &dirty), 0);
	assert_int_equal(gdb_reg_write(&st, 64, "0100000000000000", 16, &dirty), 0);
	assert_int_equal(dirty, GDB_DIRTY_REGS | GDB_DIRTY_SREGS);
	assert_true(st.regs.rax == UINT64_MAX);
}

static void test_p_P_rejects(void **state)
{
	static struct gdb_cpu_state st, st0;
	char out[64];
	unsigned dirty = 0;
	(void)state;
	fill(&st, 11);
	st0 = st;

	/* Unknown register numbers. */
	static const unsigned bad[] = { NREGS, NREGS + 1, 1000, 0xffffffffu };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(gdb_reg_read(&st, bad[i], out, sizeof(out)), -1);
		assert_int_equal(gdb_reg_write(&st, bad[i], "00000000", 8, &dirty), -1);
	}
	/* Wrong lengths, 'x', non-hex. */
	assert_int_equal(gdb_reg_write(&st, 16, "00", 2, &dirty), -1);
	assert_int_equal(gdb_reg_write(&st, 16, "000000000000000", 15, &dirty), -1);
	assert_int_equal(gdb_reg_write(&st, 16, "000000000000000000", 18, &dirty), -1);
	assert_int_equal(gdb_reg_write(&st, 16, "", 0, &dirty), -1);
	assert_int_equal(gdb_reg_write(&st, 16, "xxxxxxxxxxxxxxxx", 16, &dirty), -1);
	assert_int_equal(gdb_reg_write(&st, 16, "000000000000000g", 16, &dirty), -1);
	assert_int_equal(gdb_reg_write(&st, 17, "0000000000000000", 16, &dirty), -1); /* eflags is 4 bytes */
	assert_int_equal(gdb_reg_write(&st, 40, "0000000000000000", 16, &dirty), -1); /* xmm is 16 */
	assert_memory_equal(&st, &st0, sizeof(st));
	assert_int_equal(dirty, 0);

	/* p needs room for the digits and a NUL. */
	assert_int_equal(gdb_reg_read(&st, 40, out, 32), -1);
	assert_int_equal(gdb_reg_read(&st, 40, out, 33), 32);
	assert_int_equal(gdb_reg_read(&st, 17, out, 8), -1);
	assert_int_equal(gdb_reg_read(&st, 17, out, 9), 8);
}

/* An 80-bit value: 64-bit significand (integer bit at 63) and 15-bit exponent. */
static void set_ext(uint8_t *slot, uint64_t mant, uint16_t exp)
{
	for (int i = 0; i < 8; i++)
		slot[i] = (uint8_t)(mant >> (8 * i));
	slot[8] = (uint8_t)exp;
	slot[9] = (uint8_t)(exp >> 8);
}

static void test_ftag(void **state)
{
	static struct gdb_cpu_state st;
	char out[16];
	unsigned dirty = 0;
	(void)state;

	/* All empty. */
	st.fpu.ftwx = 0;
	assert_int_equal(gdb_ftag_from_abridged(&st.fpu), 0xffff);
	check_p(&st, 34, "ffff0000");

	/* TOP = 3: ST(i) is physical register (3 + i) & 7. */
	st.fpu.fsw = 3 << 11;
	set_ext(st.fpu.fpr[0], 0x8000000000000000ull, 0x3fff); /* ST0 = R3: 1.0, valid (00) */
	set_ext(st.fpu.fpr[1], 0, 0);                           /* ST1 = R4: +0, zero (01) */
	set_ext(st.fpu.fpr[2], 0x8000000000000000ull, 0x7fff); /* ST2 = R5: infinity, special (10) */
	set_ext(st.fpu.fpr[3], 1, 0);                           /* ST3 = R6: denormal, special (10) */
	set_ext(st.fpu.fpr[4], 0x4000000000000000ull, 0x3fff); /* ST4 = R7: unnormal, special (10) */
	set_ext(st.fpu.fpr[5], 0x8000000000000000ull, 0x8000 | 0x4000); /* ST5 = R0: -2.0, valid */
	set_ext(st.fpu.fpr[6], 0, 0x8000);                               /* ST6 = R1: -0, zero */
	set_ext(st.fpu.fpr[7], 0x8000000000000000ull, 0x3fff);          /* ST7 = R2: left empty */
	st.fpu.ftwx = 0xfb; /* all but R2 in use */
	uint16_t want = (uint16_t)(0u << 0 | 1u << 2 | 3u << 4 | 0u << 6 | 1u << 8 | 2u << 10 | 2u << 12 | 2u << 14);
	assert_int_equal(gdb_ftag_from_abridged(&st.fpu), want);
	snprintf(out, sizeof(out), "%02x%02x0000", want & 0xff, want >> 8);
	check_p(&st, 34, out);
	assert_int_equal(gdb_ftag_to_abridged(want), 0xfb);

	/* P ftag: only empty / not empty reaches ftwx. */
	assert_int_equal(gdb_reg_write(&st, 34, "00000000", 8, &dirty), 0);
	assert_int_equal(st.fpu.ftwx, 0xff);
	assert_int_equal(dirty, GDB_DIRTY_FPU);
	assert_int_equal(gdb_reg_write(&st, 34, "ffff0000", 8, &dirty), 0);
	assert_int_equal(st.fpu.ftwx, 0x00);
	/* 0xc03f: R0-R2 and R7 empty, R3-R6 tagged valid whatever they hold */
	assert_int_equal(gdb_reg_write(&st, 34, "3fc00000", 8, &dirty), 0);
	assert_int_equal(st.fpu.ftwx, 0x78);

	/* Every abridged value survives full and back, whatever the registers hold and TOP is. */
	for (unsigned top = 0; top < 8; top++) {
		st.fpu.fsw = (uint16_t)(top << 11);
		for (unsigned v = 0; v < 256; v++) {
			st.fpu.ftwx = (uint8_t)v;
			uint16_t full = gdb_ftag_from_abridged(&st.fpu);
			assert_int_equal(gdb_ftag_to_abridged(full), v);
			for (unsigned j = 0; j < 8; j++)
				assert_int_equal(((full >> (2 * j)) & 3) == 3, !(v & (1u << j)));
		}
	}
}

/* The description as gdb itself reads it: remote numbers and g offsets must match ours. */
static void test_with_gdb(void **state)
{
	char path[] = "/tmp/dhyve-tdesc-XXXXXX";
	char cmd[512], line[512];
	size_t len;
	int found = 0;
	(void)state;

	if (system("command -v gdb >/dev/null 2>&1") != 0) {
		skip();
		return;
	}
	const char *xml = gdb_target_xml("target.xml", &len);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, xml, len), (ssize_t)len);
	close(fd);

	snprintf(cmd, sizeof(cmd),
		 "gdb -nx -batch -ex 'set tdesc filename %s' -ex 'maint print remote-registers' 2>&1", path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char name[64], *tok[16];
		int n = 0;
		for (char *t = strtok(line, " \t\n"); t && n < 16; t = strtok(NULL, " \t\n"))
			tok[n++] = t;
		/* Name Nr Rel Offset Size Type RmtNr g/G-Offset: registers on the wire have 8 columns. */
		if (n != 8)
			continue;
		snprintf(name, sizeof(name), "%s", tok[0]);
		for (unsigned r = 0; r < gdb_reg_count(); r++) {
			if (strcmp(name, gdb_reg_name(r)) != 0)
				continue;
			unsigned off = 0;
			for (unsigned k = 0; k < r; k++)
				off += (unsigned)gdb_reg_size(k);
			assert_int_equal(atoi(tok[4]), gdb_reg_size(r));
			assert_int_equal(atoi(tok[6]), r);
			assert_int_equal(atoi(tok[7]), off);
			found++;
		}
	}
	int rc = pclose(f);
	unlink(path);
	assert_int_equal(rc, 0);
	/* gdb knew every one of our registers (cr3, fs_base, xmm0, ... all included). */
	assert_int_equal(found, NREGS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xml_shape),
		cmocka_unit_test(test_xml_registers),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_g_encode_cap),
		cmocka_unit_test(test_G_rejects),
		cmocka_unit_test(test_p_P),
		cmocka_unit_test(test_p_P_rejects),
		cmocka_unit_test(test_ftag),
		cmocka_unit_test(test_with_gdb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
