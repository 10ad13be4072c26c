/* Tests for devmodel/ahci*.c: a driver's view through BAR 5, with command lists, tables, PRDTs and
 * buffers in a malloc'd guest memory, a temp file as the disk (port 0) and one as the CD (port 1). */
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

#include "devmodel/ahci.h"
#include "devmodel/pci_devices.h"

#define RAM (1u << 21)
#define SLOT 4
#define GSI (PCI_INTX_GSI_BASE + SLOT)
#define DISK_BYTES (64u * 1024)
#define CD_SECTORS 16u
#define DATA 0x100000 /* data buffers */

/* Register offsets, from the AHCI 1.3 specification (not from the device's own headers). */
#define GHC 0x04
#define IS 0x08
#define PI 0x0c
#define P(p, r) (0x100 + (p) * 0x80 + (r))
#define PCLB 0x00
#define PFB 0x08
#define PIS 0x10
#define PIE 0x14
#define PCMD 0x18
#define PTFD 0x20
#define PSIG 0x24
#define PSSTS 0x28
#define PSCTL 0x2c
#define PSACT 0x34
#define PCI_ 0x38

struct fx {
	uint8_t *ram;
	struct gmem mem;
	struct pci_bus *bus;
	struct pci_func *f;
	char disk[64], cd[64];
	bool irq_level;
	unsigned irq_changes, msis;
	uint32_t msi_data;
};

static void log_irq(void *ctx, unsigned gsi, bool level)
{
	struct fx *f = ctx;
	if (gsi == GSI) {
		f->irq_level = level;
		f->irq_changes++;
	}
}

static void log_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct fx *f = ctx;
	(void)addr;
	f->msis++;
	f->msi_data = data;
}

static uint8_t disk_byte(size_t i)
{
	return (uint8_t)(i * 7 ^ (i >> 9));
}

static uint8_t cd_byte(size_t i)
{
	return (uint8_t)(i * 13 + (i >> 11));
}

static void make_file(char *path, const char *tmpl, size_t len, uint8_t (*fill)(size_t))
{
	snprintf(path, 64, "%s", tmpl);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t *buf = malloc(len);
	for (size_t i = 0; i < len; i++)
		buf[i] = fill(i);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	free(buf);
	close(fd);
}

static int make_fx(void **state, const char *hd_opts)
{
	struct fx *f = calloc(1, sizeof(*f));
	f->ram = calloc(1, RAM);
	gmem_init_flat(&f->mem, f->ram, RAM);
	make_file(f->disk, "/tmp/test_ahci_hd.XXXXXX", DISK_BYTES, disk_byte);
	make_file(f->cd, "/tmp/test_ahci_cd.XXXXXX", CD_SECTORS * 2048, cd_byte);
	struct errmsg e = { "" };
	f->bus = pci_bus_create(&(struct pci_bus_config){ .irq = { log_irq, f }, .msi = { log_msi, f }, .mem = &f->mem },
				&e);
	assert_non_null(f->bus);
	char conf[256];
	snprintf(conf, sizeof(conf), "hd:%s%s,cd:%s", f->disk, hd_opts, f->cd);
	int rc = pci_create_device(f->bus, 0, SLOT, 0, "ahci", conf, &e);
	if (rc != 0)
		print_error("%s\n", e.text);
	assert_int_equal(rc, 0);
	f->f = pci_find(f->bus, SLOT, 0);
	*state = f;
	return 0;
}

static int setup(void **state) { return make_fx(state, ""); }
static int setup_ro(void **state) { return make_fx(state, ",ro"); }
static int setup_4k(void **state) { return make_fx(state, ",sectorsize=4096,ser=ABC123"); }

static int teardown(void **state)
{
	struct fx *f = *state;
	pci_bus_destroy(f->bus);
	unlink(f->disk);
	unlink(f->cd);
	free(f->ram);
	free(f);
	return 0;
}

/* ---- what a driver does ---- */

static uint32_t rd(struct fx *f, uint32_t off)
{
	uint64_t v = 0;
	uint64_t base = pci_bar_addr(f->f, AHCI_BAR) - PCI_MEM_WINDOW_BASE;
	assert_int_equal(pci_memwin_access(f->bus, base + off, 4, false, &v), 0);
	return (uint32_t)v;
}

static void wr(struct fx *f, uint32_t off, uint32_t v)
{
	uint64_t val = v;
	uint64_t base = pci_bar_addr(f->f, AHCI_BAR) - PCI_MEM_WINDOW_BASE;
	assert_int_equal(pci_memwin_access(f->bus, base + off, 4, true, &val), 0);
}

static uint64_t clb(unsigned p) { return 0x10000 + p * 0x1000; }
static uint64_t fb(unsigned p) { return 0x20000 + p * 0x1000; }
static uint64_t ctba(unsigned p, unsigned slot) { return 0x40000 + p * 0x40000 + slot * 0x1000; }

static void port_start(struct fx *f, unsigned p)
{
	wr(f, GHC, 1u << 1);
	wr(f, P(p, PCLB), (uint32_t)clb(p));
	wr(f, P(p, PFB), (uint32_t)fb(p));
	wr(f, P(p, PCMD), 1u << 4); /* FRE */
	wr(f, P(p, PIS), 0xffffffffu);
	wr(f, IS, 0xffffffffu);
	wr(f, P(p, PIE), 0xffffffffu);
	wr(f, P(p, PCMD), (1u << 4) | 1u); /* FRE | ST */
}

struct prd {
	uint64_t addr;
	uint32_t len;
};

/* Builds slot's header and table: H2D FIS with cmd, lba, count, features; PRDs; packet. */
static void build(struct fx *f, unsigned p, unsigned slot, uint8_t cmd, uint64_t lba, uint16_t count, uint16_t feat,
		  const struct prd *prds, unsigned nprd, const uint8_t *packet)
{
	uint64_t t = ctba(p, slot);
	uint8_t *fis = f->ram + t;
	memset(fis, 0, 0x80);
	fis[0] = 0x27, fis[1] = 0x80, fis[2] = cmd, fis[3] = (uint8_t)feat;
	fis[4] = (uint8_t)lba, fis[5] = (uint8_t)(lba >> 8), fis[6] = (uint8_t)(lba >> 16), fis[7] = 0x40;
	fis[8] = (uint8_t)(lba >> 24), fis[9] = (uint8_t)(lba >> 32), fis[10] = (uint8_t)(lba >> 40);
	fis[11] = (uint8_t)(feat >> 8), fis[12] = (uint8_t)count, fis[13] = (uint8_t)(count >> 8);
	if (packet)
		memcpy(fis + 0x40, packet, 12);
	for (unsigned i = 0; i < nprd; i++) {
		uint32_t e[4] = { (uint32_t)prds[i].addr, (uint32_t)(prds[i].addr >> 32), 0, prds[i].len - 1 };
		memcpy(f->ram + t + 0x80 + i * 16, e, 16);
	}
	uint32_t h[8] = { 5u | (packet ? 1u << 5 : 0) | (uint32_t)nprd << 16, 0, (uint32_t)t, (uint32_t)(t >> 32) };
	memcpy(f->ram + clb(p) + slot * 32, h, 32);
}

static uint32_t prdbc(struct fx *f, unsigned p, unsigned slot)
{
	uint32_t v;
	memcpy(&v, f->ram + clb(p) + slot * 32 + 4, 4);
	return v;
}

static void issue(struct fx *f, unsigned p, unsigned slot)
{
	wr(f, P(p, PCI_), 1u << slot);
}

/* One command in slot 0 with one PRD over [DATA, DATA + len). */
static void run(struct fx *f, unsigned p, uint8_t cmd, uint64_t lba, uint16_t count, uint32_t len)
{
	struct prd d = { DATA, len };
	build(f, p, 0, cmd, lba, count, 0, &d, len ? 1 : 0, NULL);
	issue(f, p, 0);
}

static void run_packet(struct fx *f, const uint8_t cdb[12], uint32_t len)
{
	struct prd d = { DATA, len };
	build(f, 1, 0, 0xa0, 0, 0, 1 /* DMA */, &d, len ? 1 : 0, cdb);
	issue(f, 1, 0);
}

static void clear_irq(struct fx *f, unsigned p)
{
	wr(f, P(p, PIS), 0xffffffffu);
	wr(f, IS, 0xffffffffu);
}

/* After an error the port stops; clearing ST is how a driver recovers. */
static void restart(struct fx *f, unsigned p)
{
	wr(f, P(p, PCMD), 1u << 4);
	assert_int_equal(rd(f, P(p, PCI_)), 0);
	clear_irq(f, p);
	wr(f, P(p, PCMD), (1u << 4) | 1u);
}

/* ---- tests ---- */

static void test_hba_registers(void **state)
{
	struct fx *f = *state;
	uint32_t cap = rd(f, 0);
	assert_int_equal(cap & 0x1f, 1);               /* two ports */
	assert_int_equal((cap >> 8) & 0x1f, 31);       /* 32 slots */
	assert_true(cap & (1u << 30));                 /* NCQ */
	assert_true(cap & (1u << 31));                 /* 64-bit */
	assert_int_equal(rd(f, PI), 3);
	assert_int_equal(rd(f, 0x10), 0x00010300);
	assert_true(rd(f, GHC) & (1u << 31));          /* AHCI only */
	assert_int_equal(rd(f, P(0, PSIG)), 0x00000101);
	assert_int_equal(rd(f, P(1, PSIG)), 0xeb140101);
	assert_int_equal(rd(f, P(0, PSSTS)) & 0xf, 3);
	assert_int_equal(rd(f, P(0, PTFD)) & 0xff, 0x50);
	assert_int_equal(rd(f, P(2, PSIG)), 0);        /* no port 2 */
	/* PCI identity: ICH9 AHCI, class 01 06 01, BAR 5 memory. */
	uint64_t v = 0;
	pci_ecam_access(f->bus, SLOT << 15, 4, false, &v);
	assert_int_equal(v, 0x29228086);
	pci_ecam_access(f->bus, (SLOT << 15) | 8, 4, false, &v);
	assert_int_equal(v >> 8, 0x010601);
	/* COMRESET: DET=1 takes the link down, DET=0 brings the device back with its signature. */
	wr(f, P(0, PSCTL), 1);
	assert_int_equal(rd(f, P(0, PSSTS)) & 0xf, 0);
	wr(f, P(0, PSCTL), 0);
	assert_int_equal(rd(f, P(0, PSSTS)) & 0xf, 3);
	assert_int_equal(rd(f, P(0, PTFD)) & 0x80, 0);
}

static void test_identify(void **state)
{
	struct fx *f = *state;
	port_start(f, 0);
	/* The reset FIS was posted when FRE came on: the signature in the D2H area. */
	assert_int_equal(f->ram[fb(0) + 0x40], 0x34);
	assert_int_equal(f->ram[fb(0) + 0x4c], 0x01);
	clear_irq(f, 0);
	assert_false(f->irq_level);
	run(f, 0, 0xec, 0, 0, 512);
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	assert_int_equal(prdbc(f, 0, 0), 512);
	assert_true(rd(f, P(0, PIS)) & 1u);          /* D2H register FIS */
	assert_true(rd(f, P(0, PIS)) & 2u);          /* PIO setup FIS */
	assert_int_equal(rd(f, IS), 1);
	assert_true(f->irq_level);
	assert_int_equal(f->ram[fb(0) + 0x20], 0x5f);
	assert_int_equal(f->ram[fb(0) + 0x20 + 15], 0x50);
	assert_int_equal(f->ram[fb(0) + 0x42], 0x50);
	uint16_t id[256];
	memcpy(id, f->ram + DATA, 512);
	assert_int_equal(id[0], 0x0040);
	assert_int_equal(id[100] | (uint32_t)id[101] << 16, DISK_BYTES / 512);
	assert_int_equal(id[60], DISK_BYTES / 512);
	assert_true(id[83] & (1u << 10));            /* 48-bit */
	assert_true(id[76] & (1u << 8));             /* NCQ */
	assert_int_equal(id[75], 31);
	assert_memory_equal((const char *)&id[27], "HDVY EAHDRIDKS", 14); /* "DHYVE HARDDISK", byte-swapped */
	uint8_t sum = 0;
	for (unsigned i = 0; i < 512; i++)
		sum = (uint8_t)(sum + f->ram[DATA + i]);
	assert_int_equal(sum, 0);
	assert_int_equal(id[255] & 0xff, 0xa5);
	clear_irq(f, 0);
	assert_false(f->irq_level);
	assert_int_equal(rd(f, IS), 0);
}

static void test_identify_4k(void **state)
{
	struct fx *f = *state;
	port_start(f, 0);
	run(f, 0, 0xec, 0, 0, 512);
	uint16_t id[256];
	memcpy(id, f->ram + DATA, 512);
	assert_true(id[106] & (1u << 12));
	assert_int_equal(id[117] | (uint32_t)id[118] << 16, 2048); /* words per logical sector */
	assert_int_equal(id[100], DISK_BYTES / 4096);
	assert_memory_equal((const char *)&id[10], "BA1C32", 6); /* ser=ABC123 */
	/* A 4 KiB-sector read of sector 3. */
	run(f, 0, 0x25, 3, 1, 4096);
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(f->ram[DATA + i], disk_byte(3 * 4096 + i));
}

static void test_read_write(void **state)
{
	struct fx *f = *state;
	port_start(f, 0);
	/* READ DMA EXT of sectors 3-6 into two PRDs of odd sizes. */
	struct prd d[2] = { { DATA, 1000 }, { DATA + 0x4000, 1048 } };
	build(f, 0, 2, 0x25, 3, 4, 0, d, 2, NULL);
	issue(f, 0, 2);
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	assert_int_equal(prdbc(f, 0, 2), 2048);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(f->ram[DATA + i], disk_byte(3 * 512 + i));
	for (size_t i = 0; i < 1048; i++)
		assert_int_equal(f->ram[DATA + 0x4000 + i], disk_byte(3 * 512 + 1000 + i));
	/* WRITE DMA EXT of sector 10, then FLUSH CACHE EXT: the bytes are in the file. */
	for (size_t i = 0; i < 512; i++)
		f->ram[DATA + i] = (uint8_t)(0xa0 ^ i);
	run(f, 0, 0x35, 10, 1, 512);
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	assert_int_equal(rd(f, P(0, PTFD)) & 0xff, 0x50);
	run(f, 0, 0xea, 0, 0, 0);
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	uint8_t buf[512];
	int fd = open(f->disk, O_RDONLY);
	assert_int_equal(pread(fd, buf, 512, 10 * 512), 512);
	close(fd);
	for (size_t i = 0; i < 512; i++)
		assert_int_equal(buf[i], (uint8_t)(0xa0 ^ i));
	/* 28-bit READ DMA of the last sector reads it back; one past the end is an IDNF error. */
	memset(f->ram + DATA, 0, 512);
	run(f, 0, 0xc8, 10, 1, 512);
	assert_int_equal(f->ram[DATA + 7], (uint8_t)(0xa0 ^ 7));
	run(f, 0, 0x25, DISK_BYTES / 512 - 1, 1, 512);
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	clear_irq(f, 0);
	run(f, 0, 0x25, DISK_BYTES / 512 - 1, 2, 1024);
	assert_int_equal(rd(f, P(0, PCI_)), 1);          /* the failed slot stays issued */
	assert_true(rd(f, P(0, PIS)) & (1u << 30));      /* task-file error */
	assert_int_equal(rd(f, P(0, PTFD)), 0x1451);     /* IDNF|ABRT, ERR|DRDY */
	/* A huge LBA whose end wraps 2^64 is refused too. */
	restart(f, 0);
	run(f, 0, 0x25, 0xffffffffffffull, 0, 512);
	assert_true(rd(f, P(0, PIS)) & (1u << 30));
	restart(f, 0);
	/* Unknown commands and NOP abort. */
	run(f, 0, 0x00, 0, 0, 0);
	assert_int_equal(rd(f, P(0, PTFD)), 0x0451);
	restart(f, 0);
	run(f, 0, 0xb0, 0, 0, 0);
	assert_int_equal(rd(f, P(0, PTFD)), 0x0451);
	restart(f, 0);
	/* CHECK POWER MODE answers in the count field; SET FEATURES refuses a bad transfer mode. */
	run(f, 0, 0xe5, 0, 0, 0);
	assert_int_equal(f->ram[fb(0) + 0x40 + 12], 0xff);
	struct prd none = { 0, 0 };
	build(f, 0, 0, 0xef, 0, 0x46, 0x03, &none, 0, NULL);
	issue(f, 0, 0);
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	build(f, 0, 0, 0xef, 0, 0x99, 0x03, &none, 0, NULL);
	issue(f, 0, 0);
	assert_int_equal(rd(f, P(0, PTFD)), 0x0451);
}

static void test_read_only(void **state)
{
	struct fx *f = *state;
	port_start(f, 0);
	run(f, 0, 0x35, 0, 1, 512);
	assert_int_equal(rd(f, P(0, PTFD)), 0x0451);
	uint8_t buf[512];
	int fd = open(f->disk, O_RDONLY);
	assert_int_equal(pread(fd, buf, 512, 0), 512);
	close(fd);
	assert_int_equal(buf[5], disk_byte(5));
	/* No TRIM on a read-only disk. */
	run(f, 0, 0xec, 0, 0, 512);
	assert_int_equal(rd(f, P(0, PTFD)) & 0xff, 0x51); /* still stopped: nothing ran */
	restart(f, 0);
	run(f, 0, 0xec, 0, 0, 512);
	uint16_t id[256];
	memcpy(id, f->ram + DATA, 512);
	assert_int_equal(id[169] & 1, 0);
}

static void test_ncq(void **state)
{
	struct fx *f = *state;
	port_start(f, 0);
	clear_irq(f, 0);
	/* Two queued reads, slots 1 and 5 (tags in count bits 7:3). */
	struct prd d1 = { DATA, 1024 }, d5 = { DATA + 0x2000, 512 };
	build(f, 0, 1, 0x60, 8, 1 << 3, 2, &d1, 1, NULL);
	build(f, 0, 5, 0x60, 20, 5 << 3, 1, &d5, 1, NULL);
	wr(f, P(0, PSACT), (1u << 1) | (1u << 5));
	wr(f, P(0, PCI_), (1u << 1) | (1u << 5));
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	assert_int_equal(rd(f, P(0, PSACT)), 0);
	assert_true(rd(f, P(0, PIS)) & (1u << 3));       /* set device bits FIS */
	assert_int_equal(f->ram[fb(0) + 0x58], 0xa1);
	for (size_t i = 0; i < 1024; i++)
		assert_int_equal(f->ram[DATA + i], disk_byte(8 * 512 + i));
	for (size_t i = 0; i < 512; i++)
		assert_int_equal(f->ram[DATA + 0x2000 + i], disk_byte(20 * 512 + i));
	/* A queued write lands. */
	for (size_t i = 0; i < 512; i++)
		f->ram[DATA + i] = (uint8_t)(i + 1);
	build(f, 0, 3, 0x61, 30, 3 << 3, 1, &(struct prd){ DATA, 512 }, 1, NULL);
	wr(f, P(0, PSACT), 1u << 3);
	wr(f, P(0, PCI_), 1u << 3);
	assert_int_equal(rd(f, P(0, PSACT)), 0);
	uint8_t buf[512];
	int fd = open(f->disk, O_RDONLY);
	assert_int_equal(pread(fd, buf, 512, 30 * 512), 512);
	close(fd);
	assert_int_equal(buf[9], 10);
	/* Out of range: the SDB FIS carries ERR, SActive keeps the slot, the error log names it. */
	clear_irq(f, 0);
	build(f, 0, 7, 0x60, DISK_BYTES / 512, 7 << 3, 1, &d1, 1, NULL);
	wr(f, P(0, PSACT), 1u << 7);
	wr(f, P(0, PCI_), 1u << 7);
	assert_true(rd(f, P(0, PIS)) & (1u << 30));
	assert_int_equal(rd(f, P(0, PSACT)), 1u << 7);
	assert_int_equal(f->ram[fb(0) + 0x58 + 2] & 1, 1);
	restart(f, 0);
	assert_int_equal(rd(f, P(0, PSACT)), 0);
	run(f, 0, 0x2f, 0x10, 1, 512);                    /* READ LOG EXT, NCQ command error log */
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	assert_int_equal(f->ram[DATA], 7);
	assert_int_equal(f->ram[DATA + 3], 0x14);
	run(f, 0, 0x2f, 0x10, 1, 512);                    /* read once: now no error */
	assert_int_equal(f->ram[DATA] & 0x80, 0x80);
	/* Without its PxSACT bit a queued command aborts. */
	build(f, 0, 2, 0x60, 0, 2 << 3, 1, &d1, 1, NULL);
	wr(f, P(0, PCI_), 1u << 2);
	assert_true(rd(f, P(0, PIS)) & (1u << 30));
}

static void test_trim(void **state)
{
	struct fx *f = *state;
	port_start(f, 0);
	uint64_t r[64] = { 4 | (uint64_t)2 << 48 };
	memcpy(f->ram + DATA, r, sizeof(r));
	struct prd d = { DATA, 512 };
	build(f, 0, 0, 0x06, 0, 1, 1 /* TRIM */, &d, 1, NULL);
	issue(f, 0, 0);
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	uint8_t buf[1024];
	int fd = open(f->disk, O_RDONLY);
	assert_int_equal(pread(fd, buf, 1024, 4 * 512), 1024);
	close(fd);
	for (size_t i = 0; i < 1024; i++)
		assert_int_equal(buf[i], 0);
	/* A range past the end aborts without discarding anything. */
	r[0] = 1 | (uint64_t)2 << 48;
	r[1] = (DISK_BYTES / 512 - 1) | (uint64_t)2 << 48;
	memcpy(f->ram + DATA, r, sizeof(r));
	build(f, 0, 0, 0x06, 0, 1, 1, &d, 1, NULL);
	issue(f, 0, 0);
	assert_int_equal(rd(f, P(0, PTFD)), 0x1451);
	fd = open(f->disk, O_RDONLY);
	assert_int_equal(pread(fd, buf, 512, 512), 512);
	close(fd);
	assert_int_equal(buf[3], disk_byte(512 + 3));
}

static const uint8_t TUR[12] = { 0x00 };

static uint32_t cd_error(struct fx *f)
{
	return rd(f, P(1, PTFD)) >> 8;
}

/* REQUEST SENSE after a failure: key, ASC, ASCQ. */
static void expect_sense(struct fx *f, uint8_t key, uint8_t asc, uint8_t ascq)
{
	assert_true(rd(f, P(1, PIS)) & (1u << 30));
	assert_int_equal(cd_error(f) >> 4, key);
	restart(f, 1);
	uint8_t rs[12] = { 0x03, 0, 0, 0, 18 };
	run_packet(f, rs, 18);
	assert_int_equal(rd(f, P(1, PCI_)), 0);
	assert_int_equal(f->ram[DATA] & 0x7f, 0x70);
	assert_int_equal(f->ram[DATA + 2], key);
	assert_int_equal(f->ram[DATA + 12], asc);
	assert_int_equal(f->ram[DATA + 13], ascq);
}

static void test_atapi(void **state)
{
	struct fx *f = *state;
	port_start(f, 1);
	/* IDENTIFY DEVICE aborts with the packet signature; IDENTIFY PACKET DEVICE answers. */
	run(f, 1, 0xec, 0, 0, 512);
	assert_int_equal(rd(f, P(1, PTFD)) & 1, 1);
	assert_int_equal(f->ram[fb(1) + 0x40 + 5], 0x14);
	assert_int_equal(f->ram[fb(1) + 0x40 + 6], 0xeb);
	restart(f, 1);
	run(f, 1, 0xa1, 0, 0, 512);
	assert_int_equal(rd(f, P(1, PCI_)), 0);
	uint16_t id[256];
	memcpy(id, f->ram + DATA, 512);
	assert_int_equal(id[0], 0x85c0);
	/* PACKET without the header's ATAPI bit is refused. */
	struct prd d = { DATA, 512 };
	build(f, 1, 0, 0xa0, 0, 0, 1, &d, 1, NULL);
	issue(f, 1, 0);
	assert_int_equal(rd(f, P(1, PCI_)), 1);
	restart(f, 1);
	run_packet(f, TUR, 0);
	assert_int_equal(rd(f, P(1, PCI_)), 0);
	uint8_t inq[12] = { 0x12, 0, 0, 0, 36 };
	run_packet(f, inq, 36);
	assert_int_equal(f->ram[DATA], 0x05);
	assert_memory_equal(f->ram + DATA + 16, "DHYVE DVD-ROM", 13);
	assert_int_equal(prdbc(f, 1, 0), 36);
	uint8_t cap[12] = { 0x25 };
	run_packet(f, cap, 8);
	assert_int_equal(f->ram[DATA + 3], CD_SECTORS - 1);
	assert_int_equal(f->ram[DATA + 6], 0x08); /* 2048 */
	/* READ(10) of sectors 2-3, and READ(12) of sector 15. */
	uint8_t r10[12] = { 0x28, 0, 0, 0, 0, 2, 0, 0, 2 };
	run_packet(f, r10, 4096);
	assert_int_equal(rd(f, P(1, PCI_)), 0);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(f->ram[DATA + i], cd_byte(2 * 2048 + i));
	uint8_t r12[12] = { 0xa8, 0, 0, 0, 0, 15, 0, 0, 0, 1 };
	run_packet(f, r12, 2048);
	assert_int_equal(f->ram[DATA + 100], cd_byte(15 * 2048 + 100));
	/* Past the end: ILLEGAL REQUEST, LBA out of range. */
	uint8_t bad[12] = { 0x28, 0, 0, 0, 0, 15, 0, 0, 2 };
	run_packet(f, bad, 4096);
	expect_sense(f, 5, 0x21, 0);
	uint8_t nosuch[12] = { 0x2a }; /* WRITE(10) on a read-only drive */
	run_packet(f, nosuch, 2048);
	expect_sense(f, 5, 0x20, 0);
	/* TOC: track 1 at 0, lead-out at the end. */
	uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 100 };
	run_packet(f, toc, 100);
	assert_int_equal(f->ram[DATA + 1], 18);
	assert_int_equal(f->ram[DATA + 6], 1);
	assert_int_equal(f->ram[DATA + 14], 0xaa);
	assert_int_equal(f->ram[DATA + 19], CD_SECTORS);
	/* GET CONFIGURATION: current profile CD-ROM. */
	uint8_t gc[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 200 };
	run_packet(f, gc, 200);
	assert_int_equal(f->ram[DATA + 7], 0x08);
	/* MODE SENSE(10) page 2Ah; an unknown page is an invalid field. */
	uint8_t ms[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 64 };
	run_packet(f, ms, 64);
	assert_int_equal(f->ram[DATA + 8], 0x2a);
	uint8_t ms_bad[12] = { 0x5a, 0, 0x05, 0, 0, 0, 0, 0, 64 };
	run_packet(f, ms_bad, 64);
	expect_sense(f, 5, 0x24, 0);
	/* Lock, refuse to eject; unlock, eject: not ready, tray open; GESN reports the removal. */
	uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 }, unlock[12] = { 0x1e }, eject[12] = { 0x1b, 0, 0, 0, 2 };
	uint8_t load[12] = { 0x1b, 0, 0, 0, 3 }, gesn[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
	run_packet(f, lock, 0);
	run_packet(f, eject, 0);
	expect_sense(f, 5, 0x53, 2);
	run_packet(f, unlock, 0);
	run_packet(f, eject, 0);
	assert_int_equal(rd(f, P(1, PCI_)), 0);
	run_packet(f, TUR, 0);
	expect_sense(f, 2, 0x3a, 2);
	run_packet(f, gesn, 8);
	assert_int_equal(f->ram[DATA + 4], 3);
	assert_int_equal(f->ram[DATA + 5], 1);
	run_packet(f, r10, 4096);
	expect_sense(f, 2, 0x3a, 2);
	/* Load: a unit attention once, then ready again. */
	run_packet(f, load, 0);
	run_packet(f, TUR, 0);
	expect_sense(f, 6, 0x28, 0);
	run_packet(f, TUR, 0);
	assert_int_equal(rd(f, P(1, PCI_)), 0);
	run_packet(f, gesn, 8);
	assert_int_equal(f->ram[DATA + 4], 2);
	assert_int_equal(f->ram[DATA + 5], 2);
}

static void test_bad_prdt(void **state)
{
	struct fx *f = *state;
	port_start(f, 0);
	clear_irq(f, 0);
	/* A PRD pointing outside guest RAM: host bus fatal error, slot stays issued. */
	struct prd wild = { 0xfffffffff000ull, 512 };
	build(f, 0, 0, 0x25, 0, 1, 0, &wild, 1, NULL);
	issue(f, 0, 0);
	assert_true(rd(f, P(0, PIS)) & (1u << 29));
	assert_int_equal(rd(f, P(0, PCI_)), 1);
	assert_true(f->irq_level);
	/* Nothing more runs until the driver clears ST. */
	run(f, 0, 0xec, 0, 0, 512);
	assert_int_equal(rd(f, P(0, PCI_)), 1);
	restart(f, 0);
	/* A PRD that straddles the end of RAM. */
	struct prd edge = { RAM - 256, 512 };
	build(f, 0, 0, 0x25, 0, 1, 0, &edge, 1, NULL);
	issue(f, 0, 0);
	assert_true(rd(f, P(0, PIS)) & (1u << 29));
	restart(f, 0);
	/* A PRDT shorter than the transfer, and none at all. */
	struct prd small = { DATA, 100 };
	build(f, 0, 0, 0x25, 0, 1, 0, &small, 1, NULL);
	issue(f, 0, 0);
	assert_true(rd(f, P(0, PIS)) & (1u << 29));
	restart(f, 0);
	build(f, 0, 0, 0x35, 0, 1, 0, &small, 0, NULL);
	issue(f, 0, 0);
	assert_true(rd(f, P(0, PIS)) & (1u << 29));
	restart(f, 0);
	/* A command table outside RAM, a command list outside RAM. */
	uint32_t h[4] = { 5 | 1u << 16, 0, 0xfffff000u, 0xffffffffu };
	memcpy(f->ram + clb(0), h, 16);
	issue(f, 0, 0);
	assert_true(rd(f, P(0, PIS)) & (1u << 29));
	restart(f, 0);
	wr(f, P(0, PCMD), 1u << 4);
	wr(f, P(0, PCLB), 0xfffffc00u);
	wr(f, P(0, PCLB + 4), 0xffffffffu);
	wr(f, P(0, PCMD), (1u << 4) | 1);
	issue(f, 0, 31);
	assert_true(rd(f, P(0, PIS)) & (1u << 29));
	/* A FIS area outside RAM: the FIS is lost, the error shows in PxIS. */
	wr(f, P(0, PCMD), 0);
	wr(f, P(0, PCLB), (uint32_t)clb(0));
	wr(f, P(0, PCLB + 4), 0);
	wr(f, P(0, PFB), 0xffffff00u);
	wr(f, P(0, PFB + 4), 0xffffffffu);
	clear_irq(f, 0);
	wr(f, P(0, PCMD), (1u << 4) | 1);
	run(f, 0, 0xec, 0, 0, 512);
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	assert_true(rd(f, P(0, PIS)) & (1u << 29));
	/* A bad FIS type or length aborts. */
	wr(f, P(0, PFB), (uint32_t)fb(0));
	wr(f, P(0, PFB + 4), 0);
	restart(f, 0);
	run(f, 0, 0xec, 0, 0, 512);
	f->ram[ctba(0, 0)] = 0x34;
	issue(f, 0, 0);
	assert_true(rd(f, P(0, PIS)) & (1u << 30));
	restart(f, 0);
	run(f, 0, 0xec, 0, 0, 512);
	f->ram[clb(0)] = 2; /* CFL 2 dwords */
	issue(f, 0, 0);
	assert_true(rd(f, P(0, PIS)) & (1u << 30));
	/* CI and SACT writes with ST off are ignored. */
	wr(f, P(0, PCMD), 1u << 4);
	wr(f, P(0, PCI_), 1);
	wr(f, P(0, PSACT), 1);
	assert_int_equal(rd(f, P(0, PCI_)), 0);
	assert_int_equal(rd(f, P(0, PSACT)), 0);
}

static void test_software_reset(void **state)
{
	struct fx *f = *state;
	port_start(f, 1);
	/* Linux's softreset: a control FIS with SRST, then one without: the device's signature. */
	uint8_t *t = f->ram + ctba(1, 0);
	memset(t, 0, 0x80);
	t[0] = 0x27, t[15] = 0x04;
	uint32_t h[4] = { 5 | (1u << 8) | (1u << 10), 0, (uint32_t)ctba(1, 0), 0 };
	memcpy(f->ram + clb(1), h, 16);
	issue(f, 1, 0);
	assert_int_equal(rd(f, P(1, PCI_)), 0);
	assert_int_equal(rd(f, P(1, PTFD)) & 0x80, 0x80);
	t[15] = 0;
	issue(f, 1, 0);
	assert_int_equal(rd(f, P(1, PTFD)) & 0x80, 0);
	assert_int_equal(rd(f, P(1, PSIG)), 0xeb140101);
	assert_int_equal(f->ram[fb(1) + 0x40 + 6], 0xeb);
	/* CLO clears a stuck BSY. */
	issue(f, 1, 0);
	t[15] = 0x04;
	issue(f, 1, 0);
	wr(f, P(1, PCMD), rd(f, P(1, PCMD)) | (1u << 3));
	assert_int_equal(rd(f, P(1, PTFD)) & 0x80, 0);
	assert_int_equal(rd(f, P(1, PCMD)) & (1u << 3), 0);
}

static void find_msi(struct fx *f, unsigned *cap)
{
	uint64_t v = 0;
	pci_ecam_access(f->bus, (SLOT << 15) | PCI_CAP_PTR, 1, false, &v);
	for (unsigned c = (unsigned)v; c; ) {
		pci_ecam_access(f->bus, (SLOT << 15) | c, 2, false, &v);
		if ((v & 0xff) == PCI_CAP_ID_MSI) {
			*cap = c;
			return;
		}
		c = (unsigned)(v >> 8);
	}
	fail_msg("no MSI capability");
}

static void test_interrupts(void **state)
{
	struct fx *f = *state;
	port_start(f, 0);
	clear_irq(f, 0);
	/* GHC.IE off: the port's bits show, no line. */
	wr(f, GHC, 0);
	run(f, 0, 0xe5, 0, 0, 0);
	assert_int_equal(rd(f, IS), 1);
	assert_false(f->irq_level);
	wr(f, GHC, 2);
	assert_true(f->irq_level);
	clear_irq(f, 0);
	assert_false(f->irq_level);
	/* PxIE masks a port's bits from IS. */
	wr(f, P(0, PIE), 0);
	run(f, 0, 0xe5, 0, 0, 0);
	assert_int_equal(rd(f, IS), 0);
	assert_true(rd(f, P(0, PIS)) & 1);
	wr(f, P(0, PIE), 0xffffffffu);
	assert_true(f->irq_level);
	clear_irq(f, 0);
	/* MSI: one message per rising edge, another when IS is written while still pending. */
	unsigned cap = 0;
	find_msi(f, &cap);
	uint64_t v = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	pci_ecam_access(f->bus, (SLOT << 15) | PCI_COMMAND, 2, true, &v);
	v = 0xfee00000;
	pci_ecam_access(f->bus, (SLOT << 15) | (cap + 4), 4, true, &v);
	v = 0x41;
	pci_ecam_access(f->bus, (SLOT << 15) | (cap + 12), 2, true, &v);
	v = PCI_MSI_FLAGS_ENABLE;
	pci_ecam_access(f->bus, (SLOT << 15) | (cap + 2), 2, true, &v);
	unsigned before = f->msis;
	run(f, 0, 0xe5, 0, 0, 0);
	assert_int_equal(f->msis, before + 1);
	assert_int_equal(f->msi_data, 0x41);
	run(f, 0, 0xe5, 0, 0, 0); /* still pending: no new edge */
	assert_int_equal(f->msis, before + 1);
	wr(f, IS, 1); /* PxIS not cleared: the port is still pending, so a new message */
	assert_int_equal(f->msis, before + 2);
	clear_irq(f, 0);
	assert_int_equal(f->msis, before + 2);
}

static void test_reset_save_load(void **state)
{
	struct fx *f = *state;
	struct ahci *a = f->f->priv;
	port_start(f, 0);
	port_start(f, 1);
	uint8_t eject[12] = { 0x1b, 0, 0, 0, 2 };
	run_packet(f, eject, 0);
	run(f, 0, 0x25, DISK_BYTES, 1, 512); /* an error: port 0 stopped */
	size_t n = ahci_save(a, NULL, 0);
	assert_true(n > 0);
	uint8_t tiny[3];
	assert_int_equal(ahci_save(a, tiny, sizeof(tiny)), 0);
	uint8_t *img = malloc(n), *img2 = malloc(n);
	assert_int_equal(ahci_save(a, img, n), n);
	uint32_t tfd = rd(f, P(0, PTFD)), cmd = rd(f, P(0, PCMD)), is = rd(f, P(0, PIS));
	/* A machine reset: registers back to power-on. */
	pci_bus_reset(f->bus);
	assert_int_equal(rd(f, P(0, PCMD)) & 1, 0);
	assert_int_equal(rd(f, P(0, PCLB)), 0);
	assert_int_equal(rd(f, GHC), 1u << 31);
	assert_int_equal(rd(f, P(0, PTFD)) & 0xff, 0x50);
	assert_false(f->irq_level);
	/* Load brings everything back, including the CD's open tray. */
	assert_int_equal(ahci_load(a, img, n), 0);
	assert_int_equal(rd(f, P(0, PTFD)), tfd);
	assert_int_equal(rd(f, P(0, PCMD)), cmd);
	assert_int_equal(rd(f, P(0, PIS)), is);
	assert_int_equal(rd(f, P(0, PCLB)), clb(0));
	assert_true(f->irq_level);
	assert_int_equal(ahci_save(a, img2, n), n);
	assert_memory_equal(img, img2, n);
	run_packet(f, TUR, 0);
	expect_sense(f, 2, 0x3a, 2);
	/* Refused images change nothing. */
	assert_int_equal(ahci_save(a, img, n), n);
	assert_int_equal(ahci_load(a, img, n - 1), -EINVAL);
	img2[0] ^= 1;
	assert_int_equal(ahci_load(a, img2, n), -EINVAL);
	memcpy(img2, img, n);
	img2[12] ^= 3; /* which ports are ATAPI */
	assert_int_equal(ahci_load(a, img2, n), -EINVAL);
	memcpy(img2, img, n);
	img2[24] = 1; /* PxCLB not 1 KiB aligned */
	assert_int_equal(ahci_load(a, img2, n), -EINVAL);
	/* Found by fuzz/ahci.c: IS without the bit of a port whose PxIS & PxIE is set, and PxCMD with
	 * ST but not CR, were accepted (and did not save back the same). */
	memcpy(img2, img, n);
	img2[20] = 0; /* IS */
	assert_int_equal(ahci_load(a, img2, n), -EINVAL);
	memcpy(img2, img, n);
	img2[24 + 6 * 4 + 1] &= 0x7f; /* port 0 PxCMD: CR off, ST on */
	assert_int_equal(ahci_load(a, img2, n), -EINVAL);
	assert_int_equal(ahci_save(a, img2, n), n);
	assert_memory_equal(img, img2, n);
	/* GHC.HR resets the HBA: IE off, ports back to idle with the device's signature. */
	wr(f, GHC, 1);
	assert_int_equal(rd(f, GHC), 1u << 31);
	assert_int_equal(rd(f, P(0, PCMD)) & 1, 0);
	assert_int_equal(rd(f, P(0, PSIG)), 0x101);
	free(img);
	free(img2);
}

static void test_options(void **state)
{
	(void)state;
	struct errmsg e = { "" };
	struct gmem m;
	uint8_t ram[4096];
	gmem_init_flat(&m, ram, sizeof(ram));
	struct pci_bus *bus = pci_bus_create(&(struct pci_bus_config){ .mem = &m }, &e);
	assert_true(pci_create_device(bus, 0, 5, 0, "ahci", "", &e) < 0);
	assert_non_null(strstr(e.text, "at least one port"));
	assert_true(pci_create_device(bus, 0, 5, 0, "ahci", "xx:/dev/null", &e) < 0);
	assert_non_null(strstr(e.text, "hd:PATH"));
	assert_true(pci_create_device(bus, 0, 5, 0, "ahci-hd", "/nonexistent/disk.img", &e) < 0);
	assert_non_null(strstr(e.text, "No such file"));
	char path[64];
	make_file(path, "/tmp/test_ahci_opt.XXXXXX", 8192, disk_byte);
	char conf[256];
	snprintf(conf, sizeof(conf), "%s,bogus", path);
	assert_true(pci_create_device(bus, 0, 5, 0, "ahci-hd", conf, &e) < 0);
	assert_non_null(strstr(e.text, "bogus"));
	snprintf(conf, sizeof(conf), "%s,sectorsize=1024", path);
	assert_true(pci_create_device(bus, 0, 5, 0, "ahci-hd", conf, &e) < 0);
	snprintf(conf, sizeof(conf), "%s,sectorsize=4096", path);
	assert_true(pci_create_device(bus, 0, 5, 0, "ahci-cd", conf, &e) < 0); /* a CD's sectors are 2048 */
	assert_non_null(strstr(e.text, "sectorsize"));
	snprintf(conf, sizeof(conf), "%s,nocache,sectorsize=512/4096", path);
	assert_int_equal(pci_create_device(bus, 0, 5, 0, "ahci-hd", conf, &e), 0);
	snprintf(conf, sizeof(conf), "%s,ro", path);
	assert_int_equal(pci_create_device(bus, 0, 6, 0, "ahci-cd", conf, &e), 0);
	snprintf(conf, sizeof(conf), "hd:%s,ro,cd:%s,hd:%s", path, path, path);
	assert_int_equal(pci_create_device(bus, 0, 7, 0, "ahci", conf, &e), 0);
	struct pci_func *fn = pci_find(bus, 7, 0);
	uint64_t base = pci_bar_addr(fn, AHCI_BAR) - PCI_MEM_WINDOW_BASE, v = 0;
	pci_memwin_access(bus, base + PI, 4, false, &v);
	assert_int_equal(v, 7);
	pci_memwin_access(bus, base + P(1, PSIG), 4, false, &v);
	assert_int_equal(v, 0xeb140101);
	pci_memwin_access(bus, base + P(2, PSIG), 4, false, &v);
	assert_int_equal(v, 0x101);
	pci_bus_destroy(bus);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hba_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify_4k, setup_4k, teardown),
		cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup_ro, teardown),
		cmocka_unit_test_setup_teardown(test_ncq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atapi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_prdt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_software_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_save_load, setup, teardown),
		cmocka_unit_test(test_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
