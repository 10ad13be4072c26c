/* Unit tests for fw_cfg over a malloc'd guest memory: numbered items, the file directory's
 * big-endian format, files by key, hostile selectors, DMA (good and wild addresses), snapshots. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/gmem.h"
#include "devmodel/fw_cfg.h"

#define RAM_SIZE (1u << 20)
#define ACC_GPA  0x1000 /* where the tests put DMA access structures */
#define BUF_GPA  0x2000 /* and where DMA reads land */

struct fixture {
	uint8_t *ram;
	struct gmem mem;
	struct fw_cfg *fw;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f || !(f->ram = calloc(1, RAM_SIZE)))
		return -1;
	gmem_init_flat(&f->mem, f->ram, RAM_SIZE);
	f->fw = fw_cfg_create(&f->mem);
	if (!f->fw)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fw_cfg_destroy(f->fw);
	free(f->ram);
	free(f);
	return 0;
}

static void sel(struct fw_cfg *fw, uint16_t key)
{
	uint64_t v = key;
	assert_int_equal(fw_cfg_access(fw, 0, 2, true, &v), 0);
}

static uint8_t rdb(struct fw_cfg *fw)
{
	uint64_t v = 0xdead;
	assert_int_equal(fw_cfg_access(fw, 1, 1, false, &v), 0);
	assert_true(v <= 0xff);
	return (uint8_t)v;
}

static void rdn(struct fw_cfg *fw, uint16_t key, void *buf, size_t n)
{
	sel(fw, key);
	for (size_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = rdb(fw);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* What a guest's outl(cpu_to_be32(x)) puts on the bus: x's bytes big-endian, read as a number. */
static uint64_t outl_be(uint32_t x)
{
	return __builtin_bswap32(x);
}

/* Writes a DMA access structure at acc and starts it the way Linux and SeaBIOS do. */
static void dma(struct fixture *f, uint64_t acc, uint32_t ctl, uint32_t len, uint64_t gpa)
{
	uint8_t *p = gmem_map(&f->mem, acc, 16);
	if (p) {
		put_be32(p, ctl);
		put_be32(p + 4, len);
		put_be32(p + 8, (uint32_t)(gpa >> 32));
		put_be32(p + 12, (uint32_t)gpa);
	}
	uint64_t v = outl_be((uint32_t)(acc >> 32));
	assert_int_equal(fw_cfg_dma_access(f->fw, 0, 4, true, &v), 0);
	v = outl_be((uint32_t)acc);
	assert_int_equal(fw_cfg_dma_access(f->fw, 4, 4, true, &v), 0);
}

static uint32_t dma_status(struct fixture *f)
{
	return be32(f->ram + ACC_GPA);
}

static void test_signature_and_id(void **state)
{
	struct fixture *f = *state;
	uint8_t b[6];
	rdn(f->fw, FW_CFG_SIGNATURE, b, sizeof(b));
	assert_memory_equal(b, "QEMU\0\0", 6);
	rdn(f->fw, FW_CFG_ID, b, 4);
	assert_int_equal(le(b, 4), FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);

	/* Without a memory view there is no DMA: the ID says so and its ports are refused. */
	struct fw_cfg *nodma = fw_cfg_create(NULL);
	assert_non_null(nodma);
	rdn(nodma, FW_CFG_ID, b, 4);
	assert_int_equal(le(b, 4), FW_CFG_ID_TRADITIONAL);
	uint64_t v = 0;
	assert_int_equal(fw_cfg_dma_access(nodma, 4, 4, true, &v), -EINVAL);
	assert_int_equal(fw_cfg_dma_access(nodma, 0, 4, false, &v), -EINVAL);
	fw_cfg_destroy(nodma);

	/* The DMA register reads "QEMU CFG", as firmware probes it. */
	assert_int_equal(fw_cfg_dma_access(f->fw, 0, 4, false, &v), 0);
	assert_int_equal(v, le((const uint8_t *)"QEMU", 4));
	assert_int_equal(fw_cfg_dma_access(f->fw, 4, 4, false, &v), 0);
	assert_int_equal(v, le((const uint8_t *)" CFG", 4));
}

static void test_numbered_items(void **state)
{
	struct fixture *f = *state;
	uint8_t b[8];
	assert_int_equal(fw_cfg_set_u64(f->fw, FW_CFG_RAM_SIZE, 0x180000000ull), 0);
	assert_int_equal(fw_cfg_set_u16(f->fw, FW_CFG_NB_CPUS, 4), 0);
	assert_int_equal(fw_cfg_set_u16(f->fw, FW_CFG_MAX_CPUS, 16), 0);
	assert_int_equal(fw_cfg_set_u32(f->fw, FW_CFG_KERNEL_SIZE, 0x12345678), 0);
	rdn(f->fw, FW_CFG_RAM_SIZE, b, 8);
	assert_int_equal(le(b, 8), 0x180000000ull);
	rdn(f->fw, FW_CFG_NB_CPUS, b, 3);
	assert_int_equal(le(b, 3), 4); /* two bytes, then the end */
	rdn(f->fw, FW_CFG_MAX_CPUS, b, 2);
	assert_int_equal(le(b, 2), 16);
	rdn(f->fw, FW_CFG_KERNEL_SIZE, b, 4);
	assert_memory_equal(b, "\x78\x56\x34\x12", 4);
	/* Setting again replaces. */
	assert_int_equal(fw_cfg_set_u16(f->fw, FW_CFG_NB_CPUS, 2), 0);
	rdn(f->fw, FW_CFG_NB_CPUS, b, 2);
	assert_int_equal(le(b, 2), 2);
	/* An item never set reads as zeroes. */
	rdn(f->fw, FW_CFG_UUID, b, 4);
	assert_int_equal(le(b, 4), 0);
	/* The device's own items, and keys that are not numbered items, are refused. */
	assert_int_equal(fw_cfg_set_u32(f->fw, FW_CFG_SIGNATURE, 0), -EINVAL);
	assert_int_equal(fw_cfg_set_u32(f->fw, FW_CFG_ID, 0), -EINVAL);
	assert_int_equal(fw_cfg_set_u32(f->fw, FW_CFG_FILE_DIR, 0), -EINVAL);
	assert_int_equal(fw_cfg_set_u32(f->fw, FW_CFG_FILE_FIRST, 0), -EINVAL);
	assert_int_equal(fw_cfg_set_u32(f->fw, 0xffff, 0), -EINVAL);
}

static void test_file_dir(void **state)
{
	struct fixture *f = *state;
	uint8_t e820[20];
	for (unsigned i = 0; i < sizeof(e820); i++)
		e820[i] = (uint8_t)(0xe0 + i);
	uint8_t b[4 + 3 * FW_CFG_FILE_ENTRY_SIZE + 4];

	rdn(f->fw, FW_CFG_FILE_DIR, b, 8);
	assert_int_equal(be32(b), 0); /* empty: just the count */
	assert_int_equal(be32(b + 4), 0);

	assert_int_equal(fw_cfg_add_file(f->fw, "etc/dhyve/name", "vm0", 3), FW_CFG_FILE_FIRST);
	assert_int_equal(fw_cfg_add_file(f->fw, "etc/e820", e820, sizeof(e820)), FW_CFG_FILE_FIRST + 1);
	assert_int_equal(fw_cfg_add_file(f->fw, "etc/empty", NULL, 0), FW_CFG_FILE_FIRST + 2);

	rdn(f->fw, FW_CFG_FILE_DIR, b, sizeof(b));
	assert_int_equal(be32(b), 3);
	const uint8_t *e = b + 4;
	assert_int_equal(be32(e), 3);                     /* size */
	assert_int_equal(e[4] << 8 | e[5], FW_CFG_FILE_FIRST); /* select */
	assert_int_equal(e[6] | e[7], 0);                 /* reserved */
	assert_string_equal((const char *)e + 8, "etc/dhyve/name");
	for (unsigned i = 8 + sizeof("etc/dhyve/name"); i < FW_CFG_FILE_ENTRY_SIZE; i++)
		assert_int_equal(e[i], 0); /* the name is NUL-padded */
	e += FW_CFG_FILE_ENTRY_SIZE;
	assert_int_equal(be32(e), sizeof(e820));
	assert_int_equal(e[4] << 8 | e[5], FW_CFG_FILE_FIRST + 1);
	assert_string_equal((const char *)e + 8, "etc/e820");
	e += FW_CFG_FILE_ENTRY_SIZE;
	assert_int_equal(be32(e), 0);
	assert_int_equal(e[4] << 8 | e[5], FW_CFG_FILE_FIRST + 2);
	assert_int_equal(be32(b + 4 + 3 * FW_CFG_FILE_ENTRY_SIZE), 0); /* past the end */

	/* Contents by the key the directory gives. */
	uint8_t c[sizeof(e820)];
	rdn(f->fw, FW_CFG_FILE_FIRST + 1, c, sizeof(c));
	assert_memory_equal(c, e820, sizeof(e820));
	rdn(f->fw, FW_CFG_FILE_FIRST, c, 4);
	assert_memory_equal(c, "vm0\0", 4);
	rdn(f->fw, FW_CFG_FILE_FIRST + 2, c, 2);
	assert_int_equal(c[0] | c[1], 0);
}

static void test_read_past_end_and_reselect(void **state)
{
	struct fixture *f = *state;
	sel(f->fw, FW_CFG_SIGNATURE);
	for (int i = 0; i < 4; i++)
		rdb(f->fw);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rdb(f->fw), 0);
	/* Selecting (even the same key) starts at offset 0 again. */
	sel(f->fw, FW_CFG_SIGNATURE);
	assert_int_equal(rdb(f->fw), 'Q');
	assert_int_equal(rdb(f->fw), 'E');
	/* A byte read at the selector port reads data too (QEMU's combined region). */
	uint64_t v = 0;
	assert_int_equal(fw_cfg_access(f->fw, 0, 1, false, &v), 0);
	assert_int_equal(v, 'M');
	/* Data writes are ignored and do not move the offset. */
	v = 0x55;
	assert_int_equal(fw_cfg_access(f->fw, 1, 1, true, &v), 0);
	assert_int_equal(fw_cfg_access(f->fw, 0, 1, true, &v), 0);
	assert_int_equal(rdb(f->fw), 'U');
}

static void test_add_file_errors(void **state)
{
	struct fixture *f = *state;
	char name[64];
	assert_int_equal(fw_cfg_add_file(f->fw, "etc/dhyve/name", "a", 1), FW_CFG_FILE_FIRST);
	assert_int_equal(fw_cfg_add_file(f->fw, "etc/dhyve/name", "bb", 2), -EEXIST);
	memset(name, 'x', 56);
	name[56] = 0;
	assert_int_equal(fw_cfg_add_file(f->fw, name, "c", 1), -EINVAL); /* 56 characters */
	name[55] = 0;
	assert_int_equal(fw_cfg_add_file(f->fw, name, "c", 1), FW_CFG_FILE_FIRST + 1); /* 55 fit */
	assert_int_equal(fw_cfg_add_file(f->fw, "", "c", 1), -EINVAL);
	assert_int_equal(fw_cfg_add_file(f->fw, NULL, "c", 1), -EINVAL);

	/* The duplicate left the first file and the directory as they were. */
	uint8_t b[4 + FW_CFG_FILE_ENTRY_SIZE * 2];
	rdn(f->fw, FW_CFG_FILE_DIR, b, sizeof(b));
	assert_int_equal(be32(b), 2);
	assert_int_equal(be32(b + 4), 1);
	assert_memory_equal(b + 4 + FW_CFG_FILE_ENTRY_SIZE + 8, name, 56);
	rdn(f->fw, FW_CFG_FILE_FIRST, b, 2);
	assert_memory_equal(b, "a\0", 2);

	/* The table is bounded. */
	unsigned n = 2;
	for (; n < FW_CFG_MAX_FILES; n++) {
		snprintf(name, sizeof(name), "opt/f%u", n);
		assert_int_equal(fw_cfg_add_file(f->fw, name, &n, sizeof(n)), FW_CFG_FILE_FIRST + (int)n);
	}
	assert_int_equal(fw_cfg_add_file(f->fw, "opt/one-too-many", "x", 1), -ENOSPC);
	rdn(f->fw, FW_CFG_FILE_DIR, b, 4);
	assert_int_equal(be32(b), FW_CFG_MAX_FILES);
	rdn(f->fw, FW_CFG_FILE_FIRST + FW_CFG_MAX_FILES - 1, b, 4);
	assert_int_equal(le(b, 4), FW_CFG_MAX_FILES - 1);
}

static void test_hostile_selectors(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fw_cfg_add_file(f->fw, "etc/dhyve/name", "vm0", 3), FW_CFG_FILE_FIRST);
	uint16_t keys[] = { 0xffff, 0x8000, 0x8003, 0x3fff, FW_CFG_FILE_FIRST + 1, 0x1234, 0xc000 };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		sel(f->fw, keys[i]);
		for (int j = 0; j < 100; j++)
			assert_int_equal(rdb(f->fw), 0);
	}
	/* The write-channel bit selects the same item (and writes stay ignored). */
	uint8_t b[4];
	rdn(f->fw, FW_CFG_WRITE_CHANNEL | FW_CFG_SIGNATURE, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	rdn(f->fw, FW_CFG_WRITE_CHANNEL | FW_CFG_FILE_FIRST, b, 3);
	assert_memory_equal(b, "vm0", 3);
	/* Sizes and offsets the ports do not have are refused; reads give all-ones. */
	uint64_t v = 0;
	assert_int_equal(fw_cfg_access(f->fw, 0, 2, false, &v), -EINVAL);
	assert_int_equal(v & 0xffff, 0xffff);
	assert_int_equal(fw_cfg_access(f->fw, 0, 4, true, &v), -EINVAL);
	assert_int_equal(fw_cfg_access(f->fw, 2, 1, false, &v), -EINVAL);
	assert_int_equal(fw_cfg_dma_access(f->fw, 2, 4, true, &v), -EINVAL);
	assert_int_equal(fw_cfg_dma_access(f->fw, 8, 1, false, &v), -EINVAL);
	assert_int_equal(fw_cfg_dma_access(f->fw, 4, 8, false, &v), -EINVAL);
}

static void test_dma_read_skip_select(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fw_cfg_add_file(f->fw, "etc/dhyve/name", "vm-under-test", 13), FW_CFG_FILE_FIRST);
	fw_cfg_set_u64(f->fw, FW_CFG_RAM_SIZE, RAM_SIZE);

	/* Select and read in one go. */
	memset(f->ram + BUF_GPA, 0xaa, 64);
	dma(f, ACC_GPA, (uint32_t)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ, 6, BUF_GPA);
	assert_int_equal(dma_status(f), 0);
	assert_memory_equal(f->ram + BUF_GPA, "vm-und", 6);
	assert_int_equal(f->ram[BUF_GPA + 6], 0xaa); /* not a byte more */
	/* The offset moved: a skip, then the rest, then zeroes past the end. */
	dma(f, ACC_GPA, FW_CFG_DMA_CTL_SKIP, 4, 0);
	assert_int_equal(dma_status(f), 0);
	dma(f, ACC_GPA, FW_CFG_DMA_CTL_READ, 8, BUF_GPA);
	assert_int_equal(dma_status(f), 0);
	assert_memory_equal(f->ram + BUF_GPA, "est\0\0\0\0\0", 8);
	/* And the port interface sees the same offset (at the end now). */
	assert_int_equal(rdb(f->fw), 0);

	/* Select only: the port interface reads the item from its start. */
	dma(f, ACC_GPA, (uint32_t)FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT, 0, 0);
	assert_int_equal(dma_status(f), 0);
	assert_int_equal(rdb(f->fw), 'Q');

	/* A 64-bit write of the whole address starts a transfer at once. */
	uint8_t *p = f->ram + ACC_GPA;
	put_be32(p, (uint32_t)FW_CFG_RAM_SIZE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ);
	put_be32(p + 4, 8);
	put_be32(p + 8, 0);
	put_be32(p + 12, BUF_GPA);
	uint64_t v = __builtin_bswap64(ACC_GPA);
	assert_int_equal(fw_cfg_dma_access(f->fw, 0, 8, true, &v), 0);
	assert_int_equal(dma_status(f), 0);
	assert_int_equal(le(f->ram + BUF_GPA, 8), RAM_SIZE);

	/* Writes: nothing is writable, so the error bit, and guest memory is left alone. */
	dma(f, ACC_GPA, (uint32_t)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE, 4, BUF_GPA);
	assert_int_equal(dma_status(f), FW_CFG_DMA_CTL_ERROR);
	sel(f->fw, FW_CFG_FILE_FIRST);
	assert_int_equal(rdb(f->fw), 'v');
}

static void test_dma_wild_addresses(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fw_cfg_add_file(f->fw, "etc/dhyve/name", "vm0", 3), FW_CFG_FILE_FIRST);
	uint32_t rd_file = (uint32_t)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ;

	/* Data address outside RAM, or running off its end: error bit, nothing written. */
	dma(f, ACC_GPA, rd_file, 3, 0xffffffff00000000ull);
	assert_int_equal(dma_status(f), FW_CFG_DMA_CTL_ERROR);
	dma(f, ACC_GPA, rd_file, 3, RAM_SIZE - 2);
	assert_int_equal(dma_status(f), FW_CFG_DMA_CTL_ERROR);
	assert_int_equal(f->ram[RAM_SIZE - 2], 0);
	dma(f, ACC_GPA, rd_file, 3, UINT64_MAX);
	assert_int_equal(dma_status(f), FW_CFG_DMA_CTL_ERROR);
	/* Zero-filling past the item's end with a huge length fails the same way. */
	dma(f, ACC_GPA, rd_file, 0xffffffff, BUF_GPA);
	assert_int_equal(dma_status(f), FW_CFG_DMA_CTL_ERROR);

	/* The access structure itself outside RAM: nothing happens, nothing crashes. */
	uint8_t before[64];
	memcpy(before, f->ram + RAM_SIZE - 64, 64);
	dma(f, 0xdead00000000ull, rd_file, 3, BUF_GPA);
	dma(f, UINT64_MAX - 3, rd_file, 3, BUF_GPA);
	/* Straddling the end of RAM: unreadable, but its control word is RAM: the error lands there. */
	dma(f, RAM_SIZE - 8, rd_file, 3, BUF_GPA);
	assert_int_equal(be32(f->ram + RAM_SIZE - 8), FW_CFG_DMA_CTL_ERROR);
	assert_memory_equal(f->ram + RAM_SIZE - 64, before, 56);

	/* After all that the device still works. */
	dma(f, ACC_GPA, rd_file, 3, BUF_GPA);
	assert_int_equal(dma_status(f), 0);
	assert_memory_equal(f->ram + BUF_GPA, "vm0", 3);
}

static void test_reset_and_snapshot(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fw_cfg_add_file(f->fw, "etc/dhyve/name", "snapshot", 8), FW_CFG_FILE_FIRST);
	assert_int_equal(fw_cfg_save(f->fw, NULL, 0), FW_CFG_STATE_SIZE);
	uint8_t img[FW_CFG_STATE_SIZE], small[FW_CFG_STATE_SIZE - 1], bad[FW_CFG_STATE_SIZE];
	assert_int_equal(fw_cfg_save(f->fw, small, sizeof(small)), 0);

	sel(f->fw, FW_CFG_FILE_FIRST);
	rdb(f->fw);
	rdb(f->fw);
	uint64_t v = outl_be(0x12);
	assert_int_equal(fw_cfg_dma_access(f->fw, 0, 4, true, &v), 0); /* a half-written address */
	assert_int_equal(fw_cfg_save(f->fw, img, sizeof(img)), FW_CFG_STATE_SIZE);

	/* A machine rebuilt with the same items goes on where the guest was. */
	struct fw_cfg *g = fw_cfg_create(&f->mem);
	assert_int_equal(fw_cfg_add_file(g, "etc/dhyve/name", "snapshot", 8), FW_CFG_FILE_FIRST);
	assert_int_equal(fw_cfg_load(g, img, sizeof(img)), 0);
	assert_int_equal(rdb(g), 'a');
	uint8_t again[FW_CFG_STATE_SIZE];
	fw_cfg_reset(g);
	assert_int_equal(rdb(g), 'Q');
	assert_int_equal(fw_cfg_load(g, img, sizeof(img)), 0);
	assert_int_equal(fw_cfg_save(g, again, sizeof(again)), FW_CFG_STATE_SIZE);
	assert_memory_equal(img, again, sizeof(img));

	/* Bad images change nothing. */
	struct { unsigned off; uint8_t val; } breaks[] = {
		{ 0, 2 }, { 1, 1 }, { 15, 1 },
		{ 4, 9 }, /* offset 9 in an 8-byte file */
	};
	for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
		memcpy(bad, img, sizeof(bad));
		bad[breaks[i].off] = breaks[i].val;
		assert_int_equal(fw_cfg_load(g, bad, sizeof(bad)), -EINVAL);
	}
	memcpy(bad, img, sizeof(bad));
	bad[2] = 0x00;
	bad[3] = 0x10; /* key 0x1000: no such item, so only offset 0 fits */
	assert_int_equal(fw_cfg_load(g, bad, sizeof(bad)), -EINVAL);
	assert_int_equal(fw_cfg_load(g, img, sizeof(img) - 1), -EINVAL);
	assert_int_equal(fw_cfg_load(g, NULL, sizeof(img)), -EINVAL);
	assert_int_equal(fw_cfg_save(g, again, sizeof(again)), FW_CFG_STATE_SIZE);
	assert_memory_equal(img, again, sizeof(img));
	fw_cfg_destroy(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signature_and_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numbered_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_past_end_and_reselect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_selectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_read_skip_select, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_wild_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_and_snapshot, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
