/* Tests for devmodel/virtio_blk.c over devmodel/virtio_pci.c: a driver's view through PCI config
 * space and the BAR, with rings and buffers in a malloc'd guest memory and a temp file as the disk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devmodel/pci_devices.h"
#include "devmodel/virtio_blk.h"

#define RAM (1u << 20)
#define SLOT 4
#define GSI (PCI_INTX_GSI_BASE + SLOT)
#define DISK_BYTES (64u * 1024)
#define QSIZE 16
#define DESC 0x10000
#define AVAIL 0x11000
#define USED 0x12000
#define HDR 0x20000
#define DATA 0x21000
#define STATUS 0x30000

struct fx {
	uint8_t *ram;
	struct gmem mem;
	struct pci_bus *bus;
	struct pci_func *f;
	char path[64];
	bool irq_level;
	unsigned irq_changes;
	uint32_t common, notify, isr, devcfg, notify_mult; /* BAR offsets from the capabilities */
	uint16_t next_desc;
};

static void log_irq(void *ctx, unsigned gsi, bool level)
{
	struct fx *f = ctx;
	if (gsi == GSI) {
		f->irq_level = level;
		f->irq_changes++;
	}
}

static uint8_t disk_byte(size_t i)
{
	return (uint8_t)(i * 7 ^ (i >> 9));
}

static int make_fx(void **state, const char *opts)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->ram = calloc(1, RAM);
	gmem_init_flat(&f->mem, f->ram, RAM);
	snprintf(f->path, sizeof(f->path), "/tmp/test_virtio_blk.XXXXXX");
	int fd = mkstemp(f->path);
	assert_true(fd >= 0);
	uint8_t *buf = malloc(DISK_BYTES);
	for (size_t i = 0; i < DISK_BYTES; i++)
		buf[i] = disk_byte(i);
	assert_int_equal(write(fd, buf, DISK_BYTES), DISK_BYTES);
	free(buf);
	close(fd);
	struct errmsg e = { "" };
	f->bus = pci_bus_create(&(struct pci_bus_config){ .irq = { log_irq, f }, .mem = &f->mem }, &e);
	assert_non_null(f->bus);
	char conf[128];
	snprintf(conf, sizeof(conf), "%s%s", f->path, opts);
	int rc = pci_create_device(f->bus, 0, SLOT, 0, "virtio-blk", conf, &e);
	if (rc != 0)
		print_error("%s\n", e.text);
	assert_int_equal(rc, 0);
	f->f = pci_find(f->bus, SLOT, 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return make_fx(state, "");
}

static int setup_ro(void **state)
{
	return make_fx(state, ",ro");
}

static int teardown(void **state)
{
	struct fx *f = *state;
	pci_bus_destroy(f->bus);
	unlink(f->path);
	free(f->ram);
	free(f);
	return 0;
}

/* ---- what a driver does ---- */

static uint32_t cfg_read(struct fx *f, unsigned reg, unsigned size)
{
	uint64_t v = 0;
	pci_ecam_access(f->bus, (SLOT << 15) | reg, size, false, &v);
	return (uint32_t)v;
}

static uint64_t bar_read(struct fx *f, uint32_t off, unsigned size)
{
	uint64_t v = 0;
	uint64_t base = pci_bar_addr(f->f, VIRTIO_PCI_BAR) - PCI_MEM_WINDOW_BASE;
	assert_int_equal(pci_memwin_access(f->bus, base + off, size, false, &v), 0);
	return v;
}

static void bar_write(struct fx *f, uint32_t off, unsigned size, uint64_t v)
{
	uint64_t base = pci_bar_addr(f->f, VIRTIO_PCI_BAR) - PCI_MEM_WINDOW_BASE;
	assert_int_equal(pci_memwin_access(f->bus, base + off, size, true, &v), 0);
}

/* Walks the capability list as virtio_pci_modern does and remembers where each region is. */
static void find_caps(struct fx *f)
{
	assert_true(cfg_read(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	unsigned found = 0;
	for (unsigned c = cfg_read(f, PCI_CAP_PTR, 1); c; c = cfg_read(f, c + 1, 1)) {
		if (cfg_read(f, c, 1) != 0x09)
			continue;
		assert_int_equal(cfg_read(f, c + 4, 1), VIRTIO_PCI_BAR);
		uint32_t off = cfg_read(f, c + 8, 4);
		switch (cfg_read(f, c + 3, 1)) {
		case VIRTIO_PCI_CAP_COMMON_CFG: f->common = off; found |= 1; break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			f->notify = off;
			f->notify_mult = cfg_read(f, c + 16, 4);
			found |= 2;
			break;
		case VIRTIO_PCI_CAP_ISR_CFG: f->isr = off; found |= 4; break;
		case VIRTIO_PCI_CAP_DEVICE_CFG: f->devcfg = off; found |= 8; break;
		}
	}
	assert_int_equal(found, 15);
}

static uint8_t status(struct fx *f)
{
	return (uint8_t)bar_read(f, f->common + 20, 1);
}

static uint64_t device_features(struct fx *f)
{
	bar_write(f, f->common + 0, 4, 0);
	uint64_t lo = bar_read(f, f->common + 4, 4);
	bar_write(f, f->common + 0, 4, 1);
	return lo | bar_read(f, f->common + 4, 4) << 32;
}

/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queue 0, DRIVER_OK. */
static void driver_init(struct fx *f)
{
	find_caps(f);
	memset(f->ram, 0, RAM);
	f->next_desc = 0;
	bar_write(f, f->common + 20, 1, 0);
	bar_write(f, f->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	bar_write(f, f->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	uint64_t want = device_features(f);
	bar_write(f, f->common + 8, 4, 0);
	bar_write(f, f->common + 12, 4, (uint32_t)want);
	bar_write(f, f->common + 8, 4, 1);
	bar_write(f, f->common + 12, 4, want >> 32);
	bar_write(f, f->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(status(f) & VIRTIO_STATUS_FEATURES_OK);
	bar_write(f, f->common + 22, 2, 0);
	assert_int_equal(bar_read(f, f->common + 24, 2), VIRTIO_BLK_QUEUE_SIZE);
	bar_write(f, f->common + 24, 2, QSIZE);
	/* Linux writes the addresses as 32-bit halves. */
	bar_write(f, f->common + 32, 4, DESC);
	bar_write(f, f->common + 36, 4, 0);
	bar_write(f, f->common + 40, 8, AVAIL);
	bar_write(f, f->common + 48, 8, USED);
	bar_write(f, f->common + 28, 2, 1);
	assert_int_equal(bar_read(f, f->common + 28, 2), 1);
	bar_write(f, f->common + 20, 1,
		  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(status(f), 0xf);
}

static void put_desc(struct fx *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = f->ram + DESC + 16 * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static uint16_t used_idx(struct fx *f)
{
	uint16_t v;
	memcpy(&v, f->ram + USED + 2, 2);
	return v;
}

static void post_and_notify(struct fx *f, uint16_t head)
{
	uint16_t idx;
	memcpy(&idx, f->ram + AVAIL + 2, 2);
	memcpy(f->ram + AVAIL + 4 + 2 * (idx % QSIZE), &head, 2);
	idx++;
	memcpy(f->ram + AVAIL + 2, &idx, 2);
	bar_write(f, f->notify + 0 * f->notify_mult, 2, 0);
}

/* header, data (len bytes at DATA, device-writable for reads) and status: one request, completed
 * synchronously; returns the status byte and checks the used element. */
static uint8_t request(struct fx *f, uint32_t type, uint64_t sector, uint32_t len, bool data_writable,
		       uint32_t *used_len)
{
	memcpy(f->ram + HDR, &type, 4);
	memset(f->ram + HDR + 4, 0, 4);
	memcpy(f->ram + HDR + 8, &sector, 8);
	f->ram[STATUS] = 0xee;
	uint16_t h = f->next_desc, d = (uint16_t)(h + 1), s = (uint16_t)(h + (len ? 2 : 1));
	f->next_desc = (uint16_t)((s + 1) % QSIZE);
	put_desc(f, h, HDR, 16, VIRTQ_DESC_F_NEXT, len ? d : s);
	if (len)
		put_desc(f, d, DATA, len, VIRTQ_DESC_F_NEXT | (data_writable ? VIRTQ_DESC_F_WRITE : 0), s);
	put_desc(f, s, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	uint16_t before = used_idx(f);
	post_and_notify(f, h);
	assert_int_equal(used_idx(f), (uint16_t)(before + 1));
	uint32_t id, ulen;
	memcpy(&id, f->ram + USED + 4 + 8 * (before % QSIZE), 4);
	memcpy(&ulen, f->ram + USED + 8 + 8 * (before % QSIZE), 4);
	assert_int_equal(id, h);
	if (used_len)
		*used_len = ulen;
	return f->ram[STATUS];
}

/* ---- tests ---- */

static void test_identity(void **state)
{
	struct fx *f = *state;
	assert_int_equal(cfg_read(f, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(cfg_read(f, PCI_DEVICE_ID, 2), 0x1042);
	assert_int_equal(cfg_read(f, PCI_REVISION_ID, 1), 1);
	assert_int_equal(cfg_read(f, PCI_INTERRUPT_PIN, 1), 1);
	find_caps(f);
	assert_int_equal(f->notify_mult, VIRTIO_PCI_NOTIFY_MULT);
	uint64_t feat = device_features(f);
	assert_true(feat & VIRTIO_F_VERSION_1);
	assert_true(feat & VIRTIO_BLK_F_FLUSH);
	assert_true(feat & VIRTIO_BLK_F_TOPOLOGY);
	assert_true(feat & VIRTIO_BLK_F_DISCARD);
	assert_false(feat & VIRTIO_BLK_F_RO);
	uint64_t cap = bar_read(f, f->devcfg + 0, 8);
	assert_int_equal(cap, DISK_BYTES / 512);
	assert_int_equal(bar_read(f, f->devcfg + 20, 4), 512);
	assert_int_equal(bar_read(f, f->common + 18, 2), 1); /* num_queues */
}

static void test_features_ok_needs_version_1(void **state)
{
	struct fx *f = *state;
	find_caps(f);
	bar_write(f, f->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_write(f, f->common + 8, 4, 0);
	bar_write(f, f->common + 12, 4, (uint32_t)VIRTIO_BLK_F_FLUSH); /* a legacy driver's choice */
	bar_write(f, f->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(status(f) & VIRTIO_STATUS_FEATURES_OK);
	/* A feature the device does not offer is refused too. */
	bar_write(f, f->common + 8, 4, 1);
	bar_write(f, f->common + 12, 4, 1 | 0x80);
	bar_write(f, f->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(status(f) & VIRTIO_STATUS_FEATURES_OK);
}

static void test_read(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	uint32_t ulen;
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 1024, true, &ulen), VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 1025);
	for (size_t i = 0; i < 1024; i++)
		assert_int_equal(f->ram[DATA + i], disk_byte(i));
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 127, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(f->ram[DATA + 5], disk_byte(127 * 512 + 5));
	/* The queue interrupt: ISR bit 0, INTx up until the ISR is read. */
	assert_true(f->irq_level);
	assert_int_equal(bar_read(f, f->isr, 1), VIRTIO_ISR_QUEUE);
	assert_false(f->irq_level);
	assert_int_equal(bar_read(f, f->isr, 1), 0);
}

static void test_write_read_back(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	for (unsigned i = 0; i < 1024; i++)
		f->ram[DATA + i] = (uint8_t)(0xa5 ^ i);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 3, 1024, false, NULL), VIRTIO_BLK_S_OK);
	memset(f->ram + DATA, 0, 1024);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 3, 1024, true, NULL), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 1024; i++)
		assert_int_equal(f->ram[DATA + i], (uint8_t)(0xa5 ^ i));
	int fd = open(f->path, O_RDONLY);
	uint8_t b[2];
	assert_int_equal(pread(fd, b, 2, 3 * 512 + 1023), 2);
	close(fd);
	assert_int_equal(b[0], (uint8_t)(0xa5 ^ 1023));
	assert_int_equal(b[1], disk_byte(3 * 512 + 1024));
	assert_int_equal(request(f, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
}

static void test_get_id_and_errors(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	uint32_t ulen;
	assert_int_equal(request(f, VIRTIO_BLK_T_GET_ID, 0, 20, true, &ulen), VIRTIO_BLK_S_OK);
	assert_int_equal(ulen, 21);
	const char *base = strrchr(f->path, '/') + 1;
	size_t n = strlen(base) < 20 ? strlen(base) : 20;
	assert_memory_equal(f->ram + DATA, base, n);
	/* Past the end, a partial sector, a type nobody knows. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 127, 1024, true, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, UINT64_MAX, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 0, 100, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, 77, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
	assert_false(status(f) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_discard(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	struct { uint64_t sector; uint32_t n, flags; } seg = { 8, 8, 0 };
	memcpy(f->ram + DATA, &seg, sizeof(seg));
	uint8_t st = request(f, VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false, NULL);
	if (st == VIRTIO_BLK_S_IOERR)
		skip(); /* the file system under /tmp cannot punch holes */
	assert_int_equal(st, VIRTIO_BLK_S_OK);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 8, 4096, true, NULL), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(f->ram[DATA + i], 0);
	seg.sector = 126, seg.n = 4; /* past the end */
	memcpy(f->ram + DATA, &seg, sizeof(seg));
	assert_int_equal(request(f, VIRTIO_BLK_T_DISCARD, 0, sizeof(seg), false, NULL), VIRTIO_BLK_S_IOERR);
}

static void test_ro_refuses_writes(void **state)
{
	struct fx *f = *state;
	find_caps(f);
	assert_true(device_features(f) & VIRTIO_BLK_F_RO);
	driver_init(f);
	memset(f->ram + DATA, 0x11, 512);
	assert_int_equal(request(f, VIRTIO_BLK_T_OUT, 0, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(f->ram[DATA + 1], disk_byte(1));
}

/* A broken chain: NEEDS_RESET, a config interrupt, nothing more taken until reset. */
static void expect_needs_reset(struct fx *f)
{
	assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(f->irq_level);
	assert_int_equal(bar_read(f, f->isr, 1) & VIRTIO_ISR_CONFIG, VIRTIO_ISR_CONFIG);
	/* After a reset the device works again. */
	driver_init(f);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
}

static void test_hostile_outside_ram(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	put_desc(f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 1, RAM - 256, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	put_desc(f, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	post_and_notify(f, 0);
	assert_int_equal(used_idx(f), 0);
	expect_needs_reset(f);
}

static void test_hostile_length_overflow(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	put_desc(f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 1, DATA, 0xffffffff, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	put_desc(f, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	post_and_notify(f, 0);
	expect_needs_reset(f);
}

static void test_hostile_loop(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	put_desc(f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	put_desc(f, 1, DATA, 512, VIRTQ_DESC_F_NEXT, 0);
	post_and_notify(f, 0);
	/* Notifying again changes nothing: the device has stopped. */
	bar_write(f, f->notify, 2, 0);
	assert_int_equal(used_idx(f), 0);
	expect_needs_reset(f);
}

static void test_hostile_chain_longer_than_queue(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	for (unsigned i = 0; i < QSIZE; i++)
		put_desc(f, i, DATA, 16, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % QSIZE));
	post_and_notify(f, 0);
	expect_needs_reset(f);
}

static void test_hostile_avail_jump(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	uint16_t idx = QSIZE + 5;
	memcpy(f->ram + AVAIL + 2, &idx, 2);
	bar_write(f, f->notify, 2, 0);
	expect_needs_reset(f);
}

static void test_hostile_queue_setup(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	bar_write(f, f->common + 20, 1, 0);
	bar_write(f, f->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	bar_write(f, f->common + 12, 4, 0);
	bar_write(f, f->common + 8, 4, 1);
	bar_write(f, f->common + 12, 4, 1);
	bar_write(f, f->common + 20, 1, 0xb);
	bar_write(f, f->common + 22, 2, 0);
	bar_write(f, f->common + 32, 8, RAM - 16); /* descriptor table leaves RAM */
	bar_write(f, f->common + 28, 2, 1);
	assert_int_equal(bar_read(f, f->common + 28, 2), 0);
	assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
	/* A queue that does not exist reads as size 0 and takes no writes. */
	bar_write(f, f->common + 22, 2, 9);
	assert_int_equal(bar_read(f, f->common + 24, 2), 0);
	bar_write(f, f->common + 28, 2, 1);
	bar_write(f, f->notify + 9 * 4, 2, 9);
	/* Odd accesses anywhere in the BAR neither crash nor answer. */
	uint64_t base = pci_bar_addr(f->f, VIRTIO_PCI_BAR) - PCI_MEM_WINDOW_BASE;
	for (uint32_t off = 0; off < VIRTIO_PCI_BAR_SIZE; off += 0x7f) {
		uint64_t v = 0xff;
		pci_memwin_access(f->bus, base + off, 1, true, &v);
		pci_memwin_access(f->bus, base + (off & ~3u), 4, false, &v);
	}
}

/* Random descriptor tables and avail rings, addresses mostly inside RAM: whatever the device
 * makes of them, it must neither crash nor touch memory outside (ASan and valgrind watch). */
static void test_random_rings(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	srand(1234);
	unsigned resets = 0, completed = 0;
	for (unsigned iter = 0; iter < 3000; iter++) {
		for (unsigned i = 0; i < QSIZE; i++) {
			uint64_t addr = (uint64_t)(rand() % (RAM + 4096)) & ~7ull;
			if (rand() % 4 == 0)
				addr = HDR;
			uint32_t len = rand() % 8 ? (uint32_t)(rand() % 2048) : (uint32_t)rand();
			uint16_t flags = (uint16_t)(rand() % 8), next = (uint16_t)(rand() % (QSIZE + 2));
			put_desc(f, i, addr, len, flags, next);
		}
		uint32_t type = (uint32_t)(rand() % 12);
		uint64_t sector = (uint64_t)(rand() % 160);
		memcpy(f->ram + HDR, &type, 4);
		memcpy(f->ram + HDR + 8, &sector, 8);
		uint16_t before = used_idx(f);
		post_and_notify(f, (uint16_t)(rand() % (QSIZE + 1)));
		if (status(f) & VIRTIO_STATUS_NEEDS_RESET) {
			resets++;
			bar_read(f, f->isr, 1);
			driver_init(f);
		} else if (used_idx(f) != before) {
			completed++;
		}
	}
	/* Both outcomes happen, so the loop exercised both paths. */
	assert_true(resets > 0);
	assert_true(completed > 0);
}

static void test_save_load(void **state)
{
	struct fx *f = *state;
	driver_init(f);
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
	struct virtio_pci *vp = f->f->priv;
	size_t n = virtio_pci_save(vp, NULL, 0);
	uint8_t *img = malloc(n);
	assert_int_equal(virtio_pci_save(vp, img, n), n);
	bar_write(f, f->common + 20, 1, 0); /* reset: the queue is gone */
	assert_int_equal(status(f), 0);
	assert_int_equal(virtio_pci_load(vp, img, n - 1), -EINVAL);
	img[0] ^= 1;
	assert_int_equal(virtio_pci_load(vp, img, n), -EINVAL);
	img[0] ^= 1;
	assert_int_equal(virtio_pci_load(vp, img, n), 0);
	assert_int_equal(status(f), 0xf);
	/* The queue goes on where it was. */
	assert_int_equal(request(f, VIRTIO_BLK_T_IN, 1, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(f->ram[DATA], disk_byte(512));
	free(img);
}

static void test_conf_parsing(void **state)
{
	struct fx *f = *state;
	struct errmsg e = { "" };
	char conf[128];
	assert_int_equal(pci_create_device(f->bus, 0, 5, 0, "virtio-blk", "", &e), -EINVAL);
	assert_int_equal(pci_create_device(f->bus, 0, 5, 0, "virtio-blk", "/nonexistent/disk.img", &e), -ENOENT);
	snprintf(conf, sizeof(conf), "%s,bogus", f->path);
	assert_int_equal(pci_create_device(f->bus, 0, 5, 0, "virtio-blk", conf, &e), -EINVAL);
	assert_non_null(strstr(e.text, "bogus"));
	snprintf(conf, sizeof(conf), "%s,sectorsize=1000", f->path);
	assert_int_equal(pci_create_device(f->bus, 0, 5, 0, "virtio-blk", conf, &e), -EINVAL);
	snprintf(conf, sizeof(conf), "%s,sectorsize=4096/8192,ro,nodelete", f->path);
	assert_int_equal(pci_create_device(f->bus, 0, 5, 0, "virtio-blk", conf, &e), 0);
	struct fx g = *f;
	g.f = pci_find(f->bus, 5, 0);
	uint64_t v = 0;
	uint64_t base = pci_bar_addr(g.f, VIRTIO_PCI_BAR) - PCI_MEM_WINDOW_BASE;
	pci_memwin_access(f->bus, base + VIRTIO_PCI_DEVCFG_OFF + 20, 4, false, &v);
	assert_int_equal(v, 4096);
	pci_memwin_access(f->bus, base + VIRTIO_PCI_DEVCFG_OFF + 24, 1, false, &v);
	assert_int_equal(v, 1);
	/* Slot taken: the error names it, and the back-end is closed (valgrind sees no leak). */
	assert_true(pci_create_device(f->bus, 0, 5, 0, "virtio-blk", conf, &e) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_ok_needs_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_id_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ro_refuses_writes, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_length_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_chain_longer_than_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_avail_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_queue_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conf_parsing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
