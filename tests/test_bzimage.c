/* Unit tests for loader/bzimage.c and loader/e820.c: minimal bzImages (a setup header and a
 * patterned "kernel") built by hand, loaded into malloc'd guest RAM; boot_params, the e820 map,
 * the initrd placement, the entry state, and every refusal with its reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "loader/loader.h"

#define MIB       (1ull << 20)
#define RAM_SIZE  (16 * MIB)
#define SETUP_SECTS 3
#define KOFF      ((SETUP_SECTS + 1) * 512)
#define KLEN      0x3000
#define IMG_LEN   (KOFF + KLEN)
#define LOAD      0x200000ull
#define INIT_SIZE 0x400000ull
#define POISON    0xaa

struct fx {
	uint8_t *ram, *high; /* [0, 16 MiB) and, for two-slot tests, 1 MiB at 4 GiB */
	struct gmem m;
	uint8_t img[IMG_LEN];
	uint8_t initrd[0x2345];
	struct boot_state bs;
	struct kernel_info info;
	struct errmsg e;
};

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A protocol-2.15 x86-64 bzImage header as Debian's kernels have it, scaled down. */
static void build(uint8_t *img, uint16_t version)
{
	memset(img, 0, IMG_LEN);
	img[0x1f1] = SETUP_SECTS;
	put(img + 0x1fe, 0xaa55, 2);
	img[0x200] = 0xeb;
	img[0x201] = 0x6a;                      /* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	put(img + 0x206, version, 2);
	img[0x211] = 0x81;                      /* LOADED_HIGH | CAN_USE_HEAP */
	put(img + 0x214, 0x100000, 4);          /* code32_start */
	put(img + 0x22c, 0x7fffffff, 4);        /* initrd_addr_max */
	put(img + 0x230, 0x200000, 4);          /* kernel_alignment */
	img[0x234] = 1;                         /* relocatable */
	put(img + 0x236, 0x7f, 2);              /* xloadflags: KERNEL_64 and more */
	put(img + 0x238, 0x7ff, 4);             /* cmdline_size */
	put(img + 0x258, LOAD, 8);              /* pref_address */
	put(img + 0x260, INIT_SIZE, 4);         /* init_size */
	put(img + 0x268, 0x1234, 4);            /* kernel_info_offset: copied verbatim */
	for (unsigned i = 0; i < KLEN; i++)
		img[KOFF + i] = (uint8_t)(i * 13 + 7);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f || !(f->ram = malloc(RAM_SIZE)) || !(f->high = malloc(MIB)))
		return -1;
	memset(f->ram, POISON, RAM_SIZE);
	memset(f->high, POISON, MIB);
	gmem_init_flat(&f->m, f->ram, RAM_SIZE);
	build(f->img, 0x20f);
	for (size_t i = 0; i < sizeof(f->initrd); i++)
		f->initrd[i] = (uint8_t)(i * 5 + 3);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	free(f->ram);
	free(f->high);
	free(f);
	return 0;
}

static int load(struct fx *f, const struct loader_opts *o, size_t len)
{
	memset(&f->e, 0, sizeof(f->e));
	return loader_load_image_opts(&f->m, f->img, len, o, &f->bs, &f->info, &f->e);
}

#define assert_refused(f, r, word)                                                              \
	do {                                                                                      \
		int r_ = (r);                                                                     \
		if (r_ >= 0 || !strstr((f)->e.text, (word)))                                      \
			print_error("rc %d, message \"%s\", expected \"%s\"\n", r_, (f)->e.text, (word)); \
		assert_true(r_ < 0);                                                              \
		assert_non_null(strstr((f)->e.text, (word)));                                     \
	} while (0)

static const uint8_t *bp(struct fx *f)
{
	return f->ram + BOOT_ZEROPAGE_GPA;
}

static void assert_e820(struct fx *f, unsigned i, uint64_t addr, uint64_t size, uint32_t type)
{
	const uint8_t *p = bp(f) + 0x2d0 + i * 20;
	if (get(p, 8) != addr || get(p + 8, 8) != size || get(p + 16, 4) != type)
		fail_msg("e820[%u] = [0x%llx, +0x%llx) type %u, expected [0x%llx, +0x%llx) type %u", i,
			 (unsigned long long)get(p, 8), (unsigned long long)get(p + 8, 8), (unsigned)get(p + 16, 4),
			 (unsigned long long)addr, (unsigned long long)size, type);
}

static void assert_kernel_copied(struct fx *f)
{
	for (unsigned i = 0; i < KLEN; i++)
		if (f->ram[LOAD + i] != (uint8_t)(i * 13 + 7))
			fail_msg("kernel byte %u at 0x%llx is 0x%02x", i, LOAD + i, f->ram[LOAD + i]);
	assert_int_equal(f->ram[LOAD + KLEN], POISON); /* nothing past it: decompression clears */
}

static void assert_initrd_at(const uint8_t *where, const uint8_t *initrd, size_t len)
{
	assert_memory_equal(where, initrd, len);
}

/* ---- successful loads ---------------------------------------------------------------------- */

static void test_64bit_entry(void **state)
{
	struct fx *f = *state;
	struct loader_opts o = { .cmdline = "console=ttyS0 quiet", .initrd = f->initrd, .initrd_len = sizeof(f->initrd) };
	assert_int_equal(load(f, &o, IMG_LEN), 0);

	/* Entry: startup_64 at +0x200 in long mode with an identity map, RSI = boot_params. */
	assert_int_equal(f->bs.mode, BOOT_MODE_LONG64);
	assert_int_equal(f->bs.rip, LOAD + 0x200);
	assert_int_equal(f->bs.rsi, BOOT_ZEROPAGE_GPA);
	assert_int_equal(f->bs.cr3, BOOT_PML4_GPA);
	assert_int_equal(f->bs.efer & 0x500, 0x500);
	assert_int_equal(f->bs.rflags, 0x2);
	assert_int_equal(f->bs.cs.selector, 0x10);
	assert_int_equal(f->bs.cs.l, 1);
	assert_int_equal(f->bs.ds.selector, 0x18);
	assert_int_equal(f->bs.gdt_base, BOOT_GDT_GPA);
	assert_int_equal(get(f->ram + BOOT_GDT_GPA + 0x10, 8), 0x00af9b000000ffffull);
	assert_int_equal(get(f->ram + BOOT_GDT_GPA + 0x18, 8), 0x00cf93000000ffffull);
	assert_int_equal(get(f->ram + BOOT_PML4_GPA, 8) & ~0xfffull, BOOT_PDPT_GPA);
	assert_kernel_copied(f);

	/* boot_params: the header copied, our fields filled, everything else zero. */
	assert_memory_equal(bp(f) + 0x202, "HdrS", 4);
	assert_int_equal(bp(f)[0x1f1], SETUP_SECTS);
	assert_int_equal(get(bp(f) + 0x206, 2), 0x20f);
	assert_int_equal(get(bp(f) + 0x268, 4), 0x1234);
	assert_int_equal(bp(f)[0x210], 0xff);                      /* type_of_loader */
	assert_int_equal(bp(f)[0x211], 0x01);                      /* CAN_USE_HEAP cleared */
	assert_int_equal(get(bp(f) + 0x214, 4), LOAD);             /* code32_start = where it is */
	assert_int_equal(get(bp(f) + 0x228, 4), BOOT_CMDLINE_GPA); /* cmd_line_ptr */
	assert_string_equal((char *)f->ram + BOOT_CMDLINE_GPA, "console=ttyS0 quiet");
	assert_int_equal(bp(f)[0x1ef], 0);                         /* sentinel: no stale fields */
	assert_int_equal(get(bp(f) + 0x0c0, 4), 0);
	assert_int_equal(get(bp(f) + 0x1e0, 4), (RAM_SIZE - MIB) / 1024); /* alt_mem_k */

	/* initrd: as high as RAM goes, page aligned, bytes intact. */
	uint64_t at = (RAM_SIZE - sizeof(f->initrd)) & ~0xfffull;
	assert_int_equal(get(bp(f) + 0x218, 4), at);
	assert_int_equal(get(bp(f) + 0x21c, 4), sizeof(f->initrd));
	assert_initrd_at(f->ram + at, f->initrd, sizeof(f->initrd));

	/* e820: low RAM, the legacy hole left out, RAM from 1 MiB. */
	assert_int_equal(bp(f)[0x1e8], 2);
	assert_e820(f, 0, 0, 0xa0000, 1);
	assert_e820(f, 1, MIB, RAM_SIZE - MIB, 1);

	assert_int_equal(f->info.format, KERNEL_BZIMAGE);
	assert_int_equal(f->info.entry, LOAD + 0x200);
	assert_int_equal(f->info.load_lo, LOAD);
	assert_int_equal(f->info.load_hi, LOAD + INIT_SIZE);
	assert_int_equal(f->info.initrd_lo, at);
	assert_int_equal(f->info.initrd_hi, at + sizeof(f->initrd));
	assert_int_equal(f->info.boot_params, BOOT_ZEROPAGE_GPA);
	assert_int_equal(f->info.protocol, 0x20f);
}

/* Without XLF_KERNEL_64 (or before protocol 2.12) the only entry is the 32-bit one. */
static void test_32bit_entry(void **state)
{
	struct fx *f = *state;
	build(f->img, 0x20b);
	struct loader_opts o = { .cmdline = NULL };
	assert_int_equal(load(f, &o, IMG_LEN), 0);
	assert_int_equal(f->bs.mode, BOOT_MODE_PROT32);
	assert_int_equal(f->bs.rip, LOAD);
	assert_int_equal(f->bs.rsi, BOOT_ZEROPAGE_GPA);
	assert_int_equal(f->bs.cr0 & 0x80000001, 1); /* PE, no paging */
	assert_int_equal(f->bs.cs.selector, 0x10);
	assert_int_equal(f->bs.cs.db, 1);
	assert_int_equal(f->bs.cs.l, 0);
	assert_int_equal(f->bs.ds.selector, 0x18);
	assert_int_equal(get(f->ram + BOOT_GDT_GPA + 0x10, 8), 0x00cf9b000000ffffull);
	assert_int_equal(get(bp(f) + 0x218, 4), 0); /* no initrd */
	assert_int_equal(get(bp(f) + 0x21c, 4), 0);
	assert_string_equal((char *)f->ram + BOOT_CMDLINE_GPA, "");
	assert_kernel_copied(f);

	build(f->img, 0x20f);
	put(f->img + 0x236, 0x7e, 2); /* 2.15 but no 64-bit entry offered */
	assert_int_equal(load(f, &o, IMG_LEN), 0);
	assert_int_equal(f->bs.mode, BOOT_MODE_PROT32);
}

/* Protocol 2.06-2.09: no pref_address; the kernel goes to code32_start. */
static void test_old_protocol_code32_start(void **state)
{
	struct fx *f = *state;
	build(f->img, 0x206);
	put(f->img + 0x214, LOAD, 4);
	put(f->img + 0x258, 0x5000000, 8); /* not a field yet in 2.06: must be ignored */
	struct loader_opts o = { .cmdline = "x" };
	assert_int_equal(load(f, &o, IMG_LEN), 0);
	assert_int_equal(f->bs.rip, LOAD);
	assert_int_equal(f->info.load_hi, LOAD + KLEN);
	assert_kernel_copied(f);
}

/* Two slots, reserved ranges inside and outside RAM, and initrd_addr_max below the top. */
static void test_e820_and_initrd_limit(void **state)
{
	struct fx *f = *state;
	assert_int_equal(gmem_add_slot(&f->m, 1ull << 32, MIB, f->high), 0);
	const struct loader_range res[] = {
		{ 0xe0000000, MIB }, { 0xe0000, 0x20000 }, { 0x800000, 0x1000 },
	};
	put(f->img + 0x22c, 0x7fffff, 4); /* initrd below 8 MiB */
	struct loader_opts o = { .initrd = f->initrd, .initrd_len = sizeof(f->initrd), .reserved = res, .nreserved = 3 };
	assert_int_equal(load(f, &o, IMG_LEN), 0);
	assert_int_equal(bp(f)[0x1e8], 7);
	assert_e820(f, 0, 0, 0xa0000, 1);
	assert_e820(f, 1, 0xe0000, 0x20000, 2);
	assert_e820(f, 2, MIB, 0x800000 - MIB, 1);
	assert_e820(f, 3, 0x800000, 0x1000, 2);
	assert_e820(f, 4, 0x801000, RAM_SIZE - 0x801000, 1);
	assert_e820(f, 5, 0xe0000000, MIB, 2);
	assert_e820(f, 6, 1ull << 32, MIB, 1);
	uint64_t at = (0x800000 - sizeof(f->initrd)) & ~0xfffull;
	assert_int_equal(get(bp(f) + 0x218, 4), at);
	assert_initrd_at(f->ram + at, f->initrd, sizeof(f->initrd));
	assert_int_equal(f->high[0], POISON); /* nothing above 4 GiB: the identity map stops there */
}

static int write_tmp(char *path, const void *buf, size_t len)
{
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -1;
}

static void test_load_file_with_initrd(void **state)
{
	struct fx *f = *state;
	char kpath[] = "/tmp/dhyve-test-bz-XXXXXX", ipath[] = "/tmp/dhyve-test-initrd-XXXXXX";
	assert_int_equal(write_tmp(kpath, f->img, IMG_LEN), 0);
	assert_int_equal(write_tmp(ipath, f->initrd, sizeof(f->initrd)), 0);
	struct loader_opts o = { .cmdline = "root=/dev/ram0", .initrd_path = ipath };
	int r = loader_load_file_opts(&f->m, kpath, &o, &f->bs, &f->info, &f->e);
	assert_int_equal(r, 0);
	assert_initrd_at(f->ram + f->info.initrd_lo, f->initrd, sizeof(f->initrd));

	/* A missing initrd is named. */
	o.initrd_path = "/nonexistent/initrd.img";
	r = loader_load_file_opts(&f->m, kpath, &o, &f->bs, &f->info, &f->e);
	assert_int_equal(r, -ENOENT);
	assert_non_null(strstr(f->e.text, "initrd /nonexistent/initrd.img"));

	/* An initrd larger than all of guest RAM is refused before it is read. */
	struct gmem small;
	gmem_init_flat(&small, f->ram, 0x2000);
	o.initrd_path = ipath;
	r = loader_load_file_opts(&small, kpath, &o, &f->bs, &f->info, &f->e);
	assert_int_equal(r, -EFBIG);
	assert_non_null(strstr(f->e.text, ipath));
	assert_non_null(strstr(f->e.text, "larger than guest RAM"));

	/* An empty one too. */
	assert_int_equal(truncate(ipath, 0), 0);
	r = loader_load_file_opts(&f->m, kpath, &o, &f->bs, &f->info, &f->e);
	assert_true(r < 0);
	assert_non_null(strstr(f->e.text, "empty"));
	unlink(kpath);
	unlink(ipath);
}

/* ---- refusals ------------------------------------------------------------------------------ */

static void test_bad_initrd_without_bzimage(void **state)
{
	struct fx *f = *state;
	memset(f->img + 0x202, 0, 4);
	struct loader_opts o = { .initrd = f->initrd, .initrd_len = 16 };
	assert_refused(f, load(f, &o, IMG_LEN), "only be given with a Linux bzImage");
}

static void test_bad_old_protocol(void **state)
{
	struct fx *f = *state;
	build(f->img, 0x205);
	struct loader_opts o = { 0 };
	assert_refused(f, load(f, &o, IMG_LEN), "protocol 2.05 is older than 2.06");
}

static void test_bad_zimage(void **state)
{
	struct fx *f = *state;
	f->img[0x211] = 0;
	struct loader_opts o = { 0 };
	assert_refused(f, load(f, &o, IMG_LEN), "zImage");
}

static void test_bad_truncated(void **state)
{
	struct fx *f = *state;
	struct loader_opts o = { 0 };
	assert_refused(f, load(f, &o, 0x230), "needs");
	assert_refused(f, load(f, &o, KOFF), "past the end");
	f->img[0x1f1] = 0; /* 0 means 4 sectors: the kernel then starts at 0xa00 */
	assert_int_equal(load(f, &o, IMG_LEN), 0);
	assert_int_equal(f->ram[LOAD], f->img[5 * 512]);
}

static void test_bad_kernel_does_not_fit(void **state)
{
	struct fx *f = *state;
	put(f->img + 0x260, 64 * MIB, 4); /* init_size as Debian's 6.1 has it */
	struct loader_opts o = { 0 };
	assert_refused(f, load(f, &o, IMG_LEN), "kernel does not fit");
	assert_non_null(strstr(f->e.text, "16 MiB"));
	put(f->img + 0x260, INIT_SIZE, 4);
	put(f->img + 0x258, 0x80000, 8);
	assert_refused(f, load(f, &o, IMG_LEN), "below 1 MiB");
	put(f->img + 0x258, 0xfffff000, 8);
	assert_refused(f, load(f, &o, IMG_LEN), "above 4 GiB");
}

static void test_bad_initrd_too_big(void **state)
{
	struct fx *f = *state;
	/* The kernel needs up to 6 MiB; 10 MiB more do not fit in 16 MiB. */
	uint8_t *big = calloc(1, 10 * MIB + 1);
	assert_non_null(big);
	struct loader_opts o = { .initrd = big, .initrd_len = 10 * MIB + 1, .initrd_path = "big.img" };
	assert_refused(f, load(f, &o, IMG_LEN), "initrd big.img (10485761 bytes) does not fit");
	o.initrd_len = 10 * MIB; /* fits exactly between the kernel and the top */
	assert_int_equal(load(f, &o, IMG_LEN), 0);
	assert_int_equal(f->info.initrd_lo, LOAD + INIT_SIZE);
	/* initrd_addr_max can make it impossible although RAM is free. */
	put(f->img + 0x22c, 0x7fffff, 4);
	o.initrd_len = 3 * MIB;
	assert_refused(f, load(f, &o, IMG_LEN), "initrd_addr_max");
	free(big);
}

static void test_bad_cmdline_size(void **state)
{
	struct fx *f = *state;
	put(f->img + 0x238, 8, 4);
	struct loader_opts o = { .cmdline = "console=ttyS0" };
	assert_refused(f, load(f, &o, IMG_LEN), "cmdline_size (8)");
	o.cmdline = "12345678";
	assert_int_equal(load(f, &o, IMG_LEN), 0);
}

/* Random header mutations: an answer (0, or an errno with a reason), never a crash (ASan). */
static void test_mutations(void **state)
{
	struct fx *f = *state;
	uint32_t x = 4242;
	for (unsigned round = 0; round < 3000; round++) {
		build(f->img, 0x20f);
		for (unsigned k = 0; k < 4; k++) {
			x = x * 1103515245u + 12345u;
			unsigned off = 0x1f1 + (x >> 8) % (0x270 - 0x1f1);
			x = x * 1103515245u + 12345u;
			f->img[off] = (uint8_t)(x >> 16);
		}
		struct loader_opts o = { .initrd = f->initrd, .initrd_len = sizeof(f->initrd) };
		f->e.text[0] = 0;
		int r = load(f, &o, IMG_LEN);
		if (r < 0 && f->e.text[0] == 0)
			fail_msg("refusal %d without a reason", r);
		if (r == 0) {
			assert_true(f->info.load_lo >= MIB && f->info.load_hi <= RAM_SIZE);
			assert_true(f->info.initrd_lo >= f->info.load_hi && f->info.initrd_hi <= RAM_SIZE);
		}
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_64bit_entry),
		T(test_32bit_entry),
		T(test_old_protocol_code32_start),
		T(test_e820_and_initrd_limit),
		T(test_load_file_with_initrd),
		T(test_bad_initrd_without_bzimage),
		T(test_bad_old_protocol),
		T(test_bad_zimage),
		T(test_bad_truncated),
		T(test_bad_kernel_does_not_fit),
		T(test_bad_initrd_too_big),
		T(test_bad_cmdline_size),
		T(test_mutations),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
