/* Unit tests for the capstone decoder: exact text in 16-, 32- and 64-bit modes, invalid bytes,
 * fetching through guest page tables across and into unmapped pages, the oops-style listing. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <capstone/capstone.h>

#include "trace/disas.h"

#define RAM_SIZE (4u << 20)
#define P 0x1ull
#define RW 0x2ull

static uint8_t *ram;
static struct gmem mem;

/* 4-level paging: gva 0x400000 + n pages -> PT[n] (PML4 0x1000, PDPT 0x2000, PD 0x3000 entry 2,
 * PT 0x4000). Page 0 maps 0x9000 and page 1 maps 0x5000: virtually adjacent, physically not. */
static const struct paging_regs long4 = { .cr0 = (1ull << 31) | 1, .cr3 = 0x1000, .cr4 = 1ull << 5,
					  .efer = (1ull << 8) | (1ull << 10) | (1ull << 11) };

static void put64(uint64_t gpa, uint64_t v)
{
	assert_int_equal(gmem_write(&mem, gpa, &v, sizeof(v)), 0);
}

static int setup(void **state)
{
	(void)state;
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		return -1;
	gmem_init_flat(&mem, ram, RAM_SIZE);
	put64(0x1000, 0x2000 | P | RW);
	put64(0x2000, 0x3000 | P | RW);
	put64(0x3000 + 2 * 8, 0x4000 | P | RW);
	put64(0x4000, 0x9000 | P | RW);
	put64(0x4008, 0x5000 | P | RW);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(ram);
	ram = NULL;
	return 0;
}

/* Decodes bytes and checks length, mnemonic and operands exactly. */
static void check(enum vcpu_mode mode, const char *bytes, size_t n, int len, const char *mnemonic,
		  const char *operands)
{
	struct disas_insn in;
	int rc = disas_one(mode, 0x1000, (const uint8_t *)bytes, n, &in);
	assert_int_equal(rc, len);
	assert_int_equal(in.len, len);
	assert_int_equal(in.address, 0x1000);
	assert_memory_equal(in.bytes, bytes, (size_t)len);
	assert_string_equal(in.mnemonic, mnemonic);
	assert_string_equal(in.operands, operands);
}

#define CHECK(mode, bytes, len, mn, ops) check(mode, bytes, sizeof(bytes) - 1, len, mn, ops)

static void test_long_mode(void **state)
{
	(void)state;
	CHECK(VCPU_MODE_LONG64, "\x48\x89\xe5", 3, "mov", "rbp, rsp");
	CHECK(VCPU_MODE_LONG64, "\x0f\x01\xc1", 3, "vmcall", "");
	CHECK(VCPU_MODE_LONG64, "\x0f\x01\xd9", 3, "vmmcall", "");
	CHECK(VCPU_MODE_LONG64, "\xcc", 1, "int3", "");
	CHECK(VCPU_MODE_LONG64, "\x0f\x0b", 2, "ud2", "");
	CHECK(VCPU_MODE_LONG64, "\xf0\x48\x0f\xc7\x0e", 5, "lock cmpxchg16b", "xmmword ptr [rsi]");
	CHECK(VCPU_MODE_LONG64, "\x0f\x01\xca", 3, "clac", "");
	CHECK(VCPU_MODE_LONG64, "\x48\xcf", 2, "iretq", "");
	CHECK(VCPU_MODE_LONG64, "\x48\xb8\x88\x77\x66\x55\x44\x33\x22\x11", 10, "movabs", "rax, 0x1122334455667788");
	/* Relative targets are computed from the address given. */
	CHECK(VCPU_MODE_LONG64, "\xe8\x00\x00\x00\x00", 5, "call", "0x1005");
	/* Only the first instruction is decoded. */
	CHECK(VCPU_MODE_LONG64, "\x90\x0f\x0b", 1, "nop", "");

	struct disas_insn in;
	assert_int_equal(disas_one(VCPU_MODE_LONG64, 0, (const uint8_t *)"\x0f\x0b", 2, &in), 2);
	assert_int_equal(in.capstone_id, X86_INS_UD2);
	assert_int_equal(disas_one(VCPU_MODE_LONG64, 0, (const uint8_t *)"\x0f\x01\xc1", 3, &in), 3);
	assert_int_equal(in.capstone_id, X86_INS_VMCALL);
}

static void test_32_and_16_bit(void **state)
{
	(void)state;
	CHECK(VCPU_MODE_PROT32, "\x89\xe5", 2, "mov", "ebp, esp");
	CHECK(VCPU_MODE_PROT32, "\xcf", 1, "iretd", "");
	/* REX does not exist outside long mode: 48 is "dec eax". */
	CHECK(VCPU_MODE_PROT32, "\x48\x89\xe5", 1, "dec", "eax");
	CHECK(VCPU_MODE_PROT16, "\x89\xe5", 2, "mov", "bp, sp");
	CHECK(VCPU_MODE_REAL, "\x89\xe5", 2, "mov", "bp, sp");
	CHECK(VCPU_MODE_REAL, "\xb8\x34\x12", 3, "mov", "ax, 0x1234");
	/* An operand-size prefix makes it 32-bit in a 16-bit mode. */
	CHECK(VCPU_MODE_REAL, "\x66\xb8\x78\x56\x34\x12", 6, "mov", "eax, 0x12345678");
	CHECK(VCPU_MODE_REAL, "\xea\x00\x00\x00\xf0", 5, "ljmp", "0xf000:0");
}

static void test_invalid(void **state)
{
	(void)state;
	struct disas_insn in;
	/* push es (06) and 3DNow! with an undefined suffix (0f 0f ..  ff) do not exist in 64-bit mode;
	 * a 0f alone is cut short; 16 bytes exceed the 15-byte limit. */
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{ "\x06", 1 },
		{ "\xd6", 1 },
		{ "\x0f\x0f\xff", 3 },
		{ "\x0f", 1 },
		{ "\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x66\x90", 16 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&in, 0x5a, sizeof(in));
		assert_int_equal(disas_one(VCPU_MODE_LONG64, 0x2000, (const uint8_t *)bad[i].bytes, bad[i].len, &in),
				 -EINVAL);
		assert_string_equal(in.mnemonic, "(bad)");
		assert_string_equal(in.operands, "");
		assert_int_equal(in.len, 1);
		assert_int_equal(in.bytes[0], (uint8_t)bad[i].bytes[0]);
		assert_int_equal(in.address, 0x2000);
	}
	/* The same 06 is fine in 32-bit mode. */
	CHECK(VCPU_MODE_PROT32, "\x06", 1, "push", "es");
	/* Nothing to decode, or a mode that is not one of enum vcpu_mode. */
	assert_int_equal(disas_one(VCPU_MODE_LONG64, 0, (const uint8_t *)"", 0, &in), -EINVAL);
	assert_string_equal(in.mnemonic, "(bad)");
	assert_int_equal(disas_one((enum vcpu_mode)7, 0, (const uint8_t *)"\x90", 1, &in), -EINVAL);
	assert_string_equal(in.mnemonic, "(bad)");
}

static void test_format(void **state)
{
	(void)state;
	struct disas_insn in;
	char line[128];
	assert_int_equal(disas_one(VCPU_MODE_LONG64, 0xffffffff81000000ull, (const uint8_t *)"\x0f\x01\xc1", 3, &in), 3);
	disas_format(&in, line, sizeof(line));
	assert_string_equal(line, "0xffffffff81000000: 0f 01 c1                vmcall");
	assert_int_equal(disas_one(VCPU_MODE_LONG64, 0x10, (const uint8_t *)"\x48\x89\xe5", 3, &in), 3);
	disas_format(&in, line, sizeof(line));
	assert_string_equal(line, "0x0000000000000010: 48 89 e5                mov rbp, rsp");
	/* A 10-byte instruction pushes the mnemonic right. */
	assert_int_equal(disas_one(VCPU_MODE_LONG64, 0, (const uint8_t *)"\x48\xb8\x88\x77\x66\x55\x44\x33\x22\x11", 10, &in),
			 10);
	disas_format(&in, line, sizeof(line));
	assert_string_equal(line, "0x0000000000000000: 48 b8 88 77 66 55 44 33 22 11 movabs rax, 0x1122334455667788");
	/* Truncated safely to a small buffer. */
	char small[24];
	memset(small, 'x', sizeof(small));
	disas_format(&in, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "0x0000000000000000: 48 ", sizeof(small) - 1);
	char one[1] = { 'x' };
	disas_format(&in, one, sizeof(one));
	assert_int_equal(one[0], '\0');
}

static void test_guest_across_pages(void **state)
{
	(void)state;
	/* mov rbp, rsp split 2+1 over the two pages, then ud2 and nop on the second page. */
	memcpy(ram + 0x9ffe, "\x48\x89", 2);
	memcpy(ram + 0x5000, "\xe5\x0f\x0b\x90", 4);
	struct disas_insn in[3];
	assert_int_equal(disas_guest(&mem, &long4, VCPU_MODE_LONG64, 0x400ffe, in, 3), 3);
	assert_int_equal(in[0].address, 0x400ffe);
	assert_int_equal(in[0].len, 3);
	assert_string_equal(in[0].mnemonic, "mov");
	assert_string_equal(in[0].operands, "rbp, rsp");
	assert_int_equal(in[1].address, 0x401001);
	assert_string_equal(in[1].mnemonic, "ud2");
	assert_int_equal(in[2].address, 0x401003);
	assert_string_equal(in[2].mnemonic, "nop");
	/* count limits the work. */
	assert_int_equal(disas_guest(&mem, &long4, VCPU_MODE_LONG64, 0x400ffe, in, 1), 1);
	assert_int_equal(disas_guest(&mem, &long4, VCPU_MODE_LONG64, 0x400ffe, in, 0), 0);
}

static void test_guest_stops_at_unmapped(void **state)
{
	(void)state;
	/* Two nops at the end of the second page and the first byte of ud2; the third page is not
	 * mapped, so the cut-off instruction is not decoded. */
	memcpy(ram + 0x5ffd, "\x90\x90\x0f", 3);
	struct disas_insn in[4];
	assert_int_equal(disas_guest(&mem, &long4, VCPU_MODE_LONG64, 0x401ffd, in, 4), 2);
	assert_string_equal(in[0].mnemonic, "nop");
	assert_string_equal(in[1].mnemonic, "nop");
	assert_int_equal(in[1].address, 0x401ffe);
	/* A whole instruction just before the unmapped page is decoded. */
	memcpy(ram + 0x5ffd, "\x90\x0f\x0b", 3);
	assert_int_equal(disas_guest(&mem, &long4, VCPU_MODE_LONG64, 0x401ffd, in, 4), 2);
	assert_string_equal(in[1].mnemonic, "ud2");
	/* Nothing at all at an unmapped or non-canonical address. */
	assert_int_equal(disas_guest(&mem, &long4, VCPU_MODE_LONG64, 0x402000, in, 4), 0);
	assert_int_equal(disas_guest(&mem, &long4, VCPU_MODE_LONG64, 0x0000800000000000ull, in, 4), 0);
	/* Invalid bytes stop the listing too. */
	memcpy(ram + 0x9000, "\x90\x06\x90", 3);
	assert_int_equal(disas_guest(&mem, &long4, VCPU_MODE_LONG64, 0x400000, in, 4), 1);
}

/* Runs disas_print_around into a string; the caller frees it. */
static char *print_around(const struct paging_regs *pr, enum vcpu_mode mode, uint64_t rip, int count)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	assert_non_null(f);
	disas_print_around(f, &mem, pr, mode, rip, count);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void test_print_around(void **state)
{
	(void)state;
	/* push rbp; mov rbp, rsp; ud2 at rip; nop; nop. */
	memcpy(ram + 0x5100 - 4, "\x55\x48\x89\xe5\x0f\x0b\x90\x90", 8);
	char *text = print_around(&long4, VCPU_MODE_LONG64, 0x401100, 3);
	assert_non_null(strstr(text, "Code:"));
	assert_non_null(strstr(text, " 55 48 89 e5 <0f> 0b 90 90"));
	/* 32 bytes before rip: 28 zeroes, then the four above. */
	assert_non_null(strstr(text, "Code: 00 00"));
	assert_non_null(strstr(text, "=> 0x0000000000401100: 0f 0b"));
	assert_non_null(strstr(text, "ud2\n"));
	assert_non_null(strstr(text, "\n   0x0000000000401102: 90"));
	assert_non_null(strstr(text, "\n   0x0000000000401103: 90"));
	assert_null(strstr(text, "not mapped"));
	free(text);
}

static void test_print_around_edges(void **state)
{
	(void)state;
	/* rip at the start of the first page: the page before is unmapped, so no bytes before rip. */
	memcpy(ram + 0x9000, "\x0f\x0b", 2);
	char *text = print_around(&long4, VCPU_MODE_LONG64, 0x400000, 1);
	assert_non_null(strstr(text, "Code: <0f> 0b 00"));
	assert_non_null(strstr(text, "=> 0x0000000000400000: 0f 0b"));
	free(text);

	/* rip unmapped: one line with the page-walk failure and its level. */
	text = print_around(&long4, VCPU_MODE_LONG64, 0x402000, 3);
	assert_string_equal(text, "rip 0x0000000000402000: not mapped (not present, level 1)\n");
	free(text);
	text = print_around(&long4, VCPU_MODE_LONG64, 0xffff800000000000ull, 3);
	assert_string_equal(text, "rip 0xffff800000000000: not mapped (not present, level 4)\n");
	free(text);
	text = print_around(&long4, VCPU_MODE_LONG64, 0x8000000000000000ull, 3);
	assert_string_equal(text, "rip 0x8000000000000000: not mapped (non-canonical address, level 0)\n");
	free(text);

	/* The listing runs into the unmapped third page in the middle of an instruction. */
	memcpy(ram + 0x5ffe, "\x90\x0f", 2);
	text = print_around(&long4, VCPU_MODE_LONG64, 0x401ffe, 3);
	assert_non_null(strstr(text, "Code:"));
	assert_non_null(strstr(text, "<90> 0f\n"));
	assert_non_null(strstr(text, "=> 0x0000000000401ffe: 90"));
	assert_non_null(strstr(text, "\n   0x0000000000401fff: 0f, then 0x0000000000402000: not mapped "
				     "(not present, level 1)\n"));
	free(text);

	/* Invalid bytes end the listing with a "(bad)" line. */
	memcpy(ram + 0x9000, "\x90\x06\x90", 3);
	text = print_around(&long4, VCPU_MODE_LONG64, 0x400000, 3);
	assert_non_null(strstr(text, "\n   0x0000000000400001: 06                      (bad)\n"));
	assert_null(strstr(text, "0x0000000000400002"));
	free(text);

	/* Real mode without paging: the linear address is the physical one. */
	memcpy(ram + 0x7c00, "\xb8\x34\x12\xf4", 4);
	struct paging_regs off = { 0 };
	text = print_around(&off, VCPU_MODE_REAL, 0x7c00, 2);
	assert_non_null(strstr(text, "=> 0x0000000000007c00: b8 34 12                mov ax, 0x1234\n"));
	assert_non_null(strstr(text, "   0x0000000000007c03: f4                      hlt\n"));
	free(text);
	/* rip beyond RAM with paging off: it translates, but there is no RAM there. */
	text = print_around(&off, VCPU_MODE_PROT32, 0xfffffff0, 1);
	assert_string_equal(text, "rip 0x00000000fffffff0: not mapped (gpa 0xfffffff0 is not RAM)\n");
	free(text);
}

/* Decodes on several threads at once: each has its own capstone handles. */
static void *decode_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		struct disas_insn in;
		if (disas_one(VCPU_MODE_LONG64, 0, (const uint8_t *)"\x48\x89\xe5", 3, &in) != 3 ||
		    strcmp(in.operands, "rbp, rsp") != 0)
			return (void *)1;
		if (disas_one(VCPU_MODE_PROT32, 0, (const uint8_t *)"\x48\x89\xe5", 3, &in) != 1 ||
		    strcmp(in.mnemonic, "dec") != 0)
			return (void *)1;
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, decode_many, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *ret;
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_mode),
		cmocka_unit_test(test_32_and_16_bit),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_format),
		cmocka_unit_test_setup_teardown(test_guest_across_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_stops_at_unmapped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_print_around, setup, teardown),
		cmocka_unit_test_setup_teardown(test_print_around_edges, setup, teardown),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
