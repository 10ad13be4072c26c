/* Unit tests for PCI bus 0 through the I/O buses a guest reaches it by: config mechanism #1 and
 * ECAM, the standard header, BARs and their routing, INTx and MSI, 0xcf9, snapshots and reset. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devmodel/iobus.h"
#include "devmodel/pci.h"
#include "devmodel/pci_devices.h"

/* ---- fakes for the doors ---- */

struct irq_log {
	bool level[32];
	unsigned calls;
};

static void log_irq(void *ctx, unsigned gsi, bool level)
{
	struct irq_log *l = ctx;
	assert_true(gsi >= PCI_INTX_GSI_BASE && gsi < PCI_INTX_GSI_BASE + PCI_INTX_GSI_COUNT);
	l->level[gsi] = level;
	l->calls++;
}

struct msi_log {
	unsigned n;
	uint64_t addr;
	uint32_t data;
};

static void log_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct msi_log *l = ctx;
	l->n++;
	l->addr = addr;
	l->data = data;
}

struct reset_log {
	unsigned n;
	uint64_t off;
	unsigned size;
	bool is_write;
	uint64_t val;
};

static int log_reset(void *ctx, uint64_t off, unsigned size, bool is_write, uint64_t *val)
{
	struct reset_log *l = ctx;
	l->n++;
	l->off = off;
	l->size = size;
	l->is_write = is_write;
	if (is_write)
		l->val = *val;
	else
		*val = 0x02;
	return 0;
}

/* ---- a test device with hooks, BARs, a pin and MSI ---- */

struct testdev {
	unsigned accesses, resets;
	unsigned bar, size;
	uint64_t off, val;
	bool is_write;
	uint32_t hook_reg_written;
};

#define TESTDEV_HOOK_REG 0x80
#define TESTDEV_HOOK_VAL 0xcafef00du

static bool testdev_cfg_read(struct pci_func *f, unsigned reg, unsigned size, uint32_t *val)
{
	(void)f;
	if (reg != TESTDEV_HOOK_REG || size != 4)
		return false;
	*val = TESTDEV_HOOK_VAL;
	return true;
}

static bool testdev_cfg_write(struct pci_func *f, unsigned reg, unsigned size, uint32_t val)
{
	struct testdev *d = f->priv;
	if (reg != TESTDEV_HOOK_REG || size != 4)
		return false;
	d->hook_reg_written = val;
	return true;
}

static int testdev_bar_access(struct pci_func *f, unsigned bar, uint64_t off, unsigned size, bool is_write,
			      uint64_t *val)
{
	struct testdev *d = f->priv;
	d->accesses++;
	d->bar = bar;
	d->off = off;
	d->size = size;
	d->is_write = is_write;
	if (is_write)
		d->val = *val;
	else
		*val = 0x1000 * bar + off;
	return 0;
}

static void testdev_reset(struct pci_func *f)
{
	struct testdev *d = f->priv;
	d->resets++;
}

static const struct pci_func_ops testdev_ops = {
	.name = "testdev",
	.cfg_read = testdev_cfg_read,
	.cfg_write = testdev_cfg_write,
	.bar_access = testdev_bar_access,
	.reset = testdev_reset,
};

/* ---- fixture ---- */

struct fixture {
	struct iobus pio, mmio;
	struct irq_log irq;
	struct msi_log msi;
	struct reset_log reset;
	struct pci_bus *bus;
	struct testdev dev[4];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	iobus_init(&f->pio, "pio");
	iobus_init(&f->mmio, "mmio");
	struct pci_bus_config c = {
		.pio = &f->pio, .mmio = &f->mmio,
		.irq = { log_irq, &f->irq }, .msi = { log_msi, &f->msi },
		.reset_port = log_reset, .reset_ctx = &f->reset,
	};
	struct errmsg e = { "" };
	f->bus = pci_bus_create(&c, &e);
	if (!f->bus)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	pci_bus_destroy(f->bus);
	iobus_destroy(&f->pio);
	iobus_destroy(&f->mmio);
	free(f);
	return 0;
}

/* ---- guest-side helpers: what a kernel does at the ports and in the ECAM window ---- */

static uint64_t pio_in(struct fixture *f, uint16_t port, unsigned size)
{
	uint64_t v = 0xdeadbeef;
	iobus_access(&f->pio, port, size, false, &v);
	return v;
}

static void pio_out(struct fixture *f, uint16_t port, unsigned size, uint64_t v)
{
	iobus_access(&f->pio, port, size, true, &v);
}

static uint32_t cfg1_addr(unsigned bus, unsigned slot, unsigned fn, unsigned reg)
{
	return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg1_read(struct fixture *f, unsigned slot, unsigned fn, unsigned reg, unsigned size)
{
	pio_out(f, 0xcf8, 4, cfg1_addr(0, slot, fn, reg));
	return (uint32_t)pio_in(f, 0xcfc + (reg & 3), size);
}

static void cfg1_write(struct fixture *f, unsigned slot, unsigned fn, unsigned reg, unsigned size, uint32_t v)
{
	pio_out(f, 0xcf8, 4, cfg1_addr(0, slot, fn, reg));
	pio_out(f, 0xcfc + (reg & 3), size, v);
}

static uint32_t ecam_read(struct fixture *f, unsigned slot, unsigned fn, unsigned reg, unsigned size)
{
	uint64_t v = 0xdeadbeef;
	iobus_access(&f->mmio, PCI_ECAM_BASE + (slot << 15 | fn << 12 | reg), size, false, &v);
	return (uint32_t)v;
}

static uint64_t mmio_read(struct fixture *f, uint64_t addr, unsigned size)
{
	uint64_t v = 0xdeadbeef;
	iobus_access(&f->mmio, addr, size, false, &v);
	return v;
}

static struct pci_func *add_testdev(struct fixture *f, unsigned slot, unsigned fn, unsigned i)
{
	struct pci_func *pf = NULL;
	struct errmsg e = { "" };
	assert_int_equal(pci_add(f->bus, slot, fn, &testdev_ops, &f->dev[i], &pf, &e), 0);
	pci_set_ids(pf, &(struct pci_ids){ .vendor = 0x1af4, .device = 0x1000 + i, .class_code = 0x020000,
					   .revision = 1, .subvendor = 0x1af4, .subdevice = 0x42 });
	return pf;
}

static void add_standard(struct fixture *f)
{
	struct errmsg e = { "" };
	assert_int_equal(pci_create_device(f->bus, 0, 0, 0, "hostbridge", "", &e), 0);
	assert_int_equal(pci_create_device(f->bus, 0, 3, 0, "amd_hostbridge", NULL, &e), 0);
	assert_int_equal(pci_create_device(f->bus, 0, 31, 0, "lpc", "", &e), 0);
}

/* ---- tests ---- */

static void test_ids_through_mechanism1(void **state)
{
	struct fixture *f = *state;
	add_standard(f);
	assert_int_equal(cfg1_read(f, 0, 0, 0x00, 4), 0x12751275);
	assert_int_equal(cfg1_read(f, 0, 0, 0x08, 4) >> 8, 0x060000);
	assert_int_equal(cfg1_read(f, 3, 0, 0x00, 4), 0x74321022);
	assert_int_equal(cfg1_read(f, 3, 0, 0x08, 4) >> 8, 0x060000);
	assert_int_equal(cfg1_read(f, 31, 0, 0x00, 4), 0x70008086);
	assert_int_equal(cfg1_read(f, 31, 0, 0x08, 4) >> 8, 0x060100);
	assert_int_equal(cfg1_read(f, 31, 0, PCI_HEADER_TYPE, 1), 0x00);
	/* Empty slots and functions: master abort, all-ones at every size. */
	assert_int_equal(cfg1_read(f, 5, 0, 0x00, 4), 0xffffffff);
	assert_int_equal(cfg1_read(f, 0, 1, 0x00, 4), 0xffffffff);
	assert_int_equal(cfg1_read(f, 5, 0, 0x02, 2), 0xffff);
	assert_int_equal(cfg1_read(f, 5, 0, 0x03, 1), 0xff);
	for (unsigned slot = 0; slot < 32; slot++) {
		bool present = slot == 0 || slot == 3 || slot == 31;
		for (unsigned fn = 0; fn < 8; fn++)
			assert_int_equal(cfg1_read(f, slot, fn, 0, 2) != 0xffff, present && fn == 0);
	}
}

static void test_latch_and_enable_bit(void **state)
{
	struct fixture *f = *state;
	add_standard(f);
	/* Linux's type-1 probe: write 0x80000000, read it back unchanged. */
	pio_out(f, 0xcf8, 4, 0x80000000);
	assert_int_equal(pio_in(f, 0xcf8, 4), 0x80000000);
	pio_out(f, 0xcf8, 4, 0xffffffff); /* reserved bits and the low two bits do not stick */
	assert_int_equal(pio_in(f, 0xcf8, 4), 0x80fffffc);
	/* Enable bit off: nothing decodes. */
	pio_out(f, 0xcf8, 4, 0x00000000);
	assert_int_equal(pio_in(f, 0xcfc, 4), 0xffffffff);
	pio_out(f, 0xcfc, 4, 0); /* and a write vanishes */
	assert_int_equal(cfg1_read(f, 0, 0, 0, 4), 0x12751275);
	/* Another bus: nothing there. */
	pio_out(f, 0xcf8, 4, cfg1_addr(1, 0, 0, 0));
	assert_int_equal(pio_in(f, 0xcfc, 4), 0xffffffff);
	/* Narrow accesses to the latch neither read it nor change it. */
	pio_out(f, 0xcf8, 4, cfg1_addr(0, 0, 0, 0));
	pio_out(f, 0xcf8, 2, 0);
	pio_out(f, 0xcfa, 1, 0x55);
	assert_int_equal(pio_in(f, 0xcf8, 2), 0xffff);
	assert_int_equal(pio_in(f, 0xcf8, 4), cfg1_addr(0, 0, 0, 0));
}

static void test_byte_and_word_data_port(void **state)
{
	struct fixture *f = *state;
	add_standard(f);
	pio_out(f, 0xcf8, 4, cfg1_addr(0, 31, 0, 0));
	assert_int_equal(pio_in(f, 0xcfc, 1), 0x86);
	assert_int_equal(pio_in(f, 0xcfd, 1), 0x80);
	assert_int_equal(pio_in(f, 0xcfe, 1), 0x00);
	assert_int_equal(pio_in(f, 0xcff, 1), 0x70);
	assert_int_equal(pio_in(f, 0xcfc, 2), 0x8086);
	assert_int_equal(pio_in(f, 0xcfe, 2), 0x7000);
	/* Unaligned (0xcfd) and straddling (0xcff) words: all-ones, nothing breaks. */
	assert_int_equal(pio_in(f, 0xcfd, 2), 0xffff);
	assert_int_equal(pio_in(f, 0xcff, 2), 0xffff);
	assert_int_equal(pio_in(f, 0xcfe, 4), 0xffffffff);
	/* Class code bytes through the latch's register field plus the port offset. */
	pio_out(f, 0xcf8, 4, cfg1_addr(0, 31, 0, 0x08));
	assert_int_equal(pio_in(f, 0xcff, 1), 0x06);
	assert_int_equal(pio_in(f, 0xcfe, 1), 0x01);
	assert_int_equal(pio_in(f, 0xcfb, 1), 0xff); /* a byte of the latch, not data */
	/* A byte write to the interrupt line (writable) through 0xcfc + 0. */
	cfg1_write(f, 31, 0, PCI_INTERRUPT_LINE, 1, 0x0b);
	assert_int_equal(cfg1_read(f, 31, 0, PCI_INTERRUPT_LINE, 1), 0x0b);
	/* Read-only IDs ignore writes. */
	cfg1_write(f, 31, 0, 0, 4, 0);
	assert_int_equal(cfg1_read(f, 31, 0, 0, 4), 0x70008086);
}

static void test_ecam_matches_mechanism1(void **state)
{
	struct fixture *f = *state;
	add_standard(f);
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	assert_int_equal(pci_add_bar(d, 0, PCI_BAR_IO, 32, false, NULL), 0);
	assert_true(pci_add_msi(d, 1, false, NULL) > 0);
	for (unsigned slot = 0; slot < 32; slot++)
		for (unsigned fn = 0; fn < 8; fn++)
			for (unsigned reg = 0; reg < 0x100; reg += 4)
				assert_int_equal(ecam_read(f, slot, fn, reg, 4), cfg1_read(f, slot, fn, reg, 4));
	assert_int_equal(ecam_read(f, 31, 0, 0x02, 2), 0x7000);
	assert_int_equal(ecam_read(f, 31, 0, 0x0b, 1), 0x06);
	/* Extended space: a conventional function has no extended capabilities (0); the device's
	 * hook still sees registers there; empty functions read all-ones. */
	assert_int_equal(ecam_read(f, 31, 0, 0x100, 4), 0);
	assert_int_equal(ecam_read(f, 31, 0, 0xffc, 4), 0);
	assert_int_equal(ecam_read(f, 7, 0, 0x100, 4), 0xffffffff);
	/* ECAM writes land like mechanism #1 writes. */
	uint64_t v = 0x33;
	iobus_access(&f->mmio, PCI_ECAM_BASE + (31 << 15) + PCI_INTERRUPT_LINE, 1, true, &v);
	assert_int_equal(cfg1_read(f, 31, 0, PCI_INTERRUPT_LINE, 1), 0x33);
	/* 8-byte and unaligned ECAM accesses read all-ones. */
	assert_int_equal(mmio_read(f, PCI_ECAM_BASE, 8), UINT64_MAX);
	assert_int_equal(ecam_read(f, 0, 0, 0x01, 2), 0xffff);
}

static void test_bar_sizing(void **state)
{
	struct fixture *f = *state;
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	assert_int_equal(pci_add_bar(d, 0, PCI_BAR_IO, 32, false, NULL), 0);
	assert_int_equal(pci_add_bar(d, 1, PCI_BAR_MEM32, 4096, false, NULL), 0);
	assert_int_equal(pci_add_bar(d, 2, PCI_BAR_MEM64, 1 << 20, true, NULL), 0);
	assert_int_equal(pci_add_bar(d, 4, PCI_BAR_MEM32, 16, false, NULL), 0);

	/* Firmware-style placement, decoding on. */
	assert_int_equal(cfg1_read(f, 4, 0, 0x10, 4), 0xc001);
	assert_int_equal(cfg1_read(f, 4, 0, 0x14, 4), 0xc0000000);
	assert_int_equal(cfg1_read(f, 4, 0, 0x18, 4), 0xc010000c);
	assert_int_equal(cfg1_read(f, 4, 0, 0x1c, 4), 0);
	assert_int_equal(cfg1_read(f, 4, 0, 0x20, 4), 0xc0200000); /* a 16-byte BAR on its own page */
	assert_int_equal(cfg1_read(f, 4, 0, 0x24, 4), 0); /* no BAR 5 */
	assert_int_equal(cfg1_read(f, 4, 0, PCI_COMMAND, 2) & 3, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(pci_bar_addr(d, 2), 0xc0100000);

	/* The sizing protocol: all-ones in, the size mask (plus the type bits) out. */
	cfg1_write(f, 4, 0, PCI_COMMAND, 2, 0);
	for (unsigned reg = 0x10; reg < 0x28; reg += 4)
		cfg1_write(f, 4, 0, reg, 4, 0xffffffff);
	assert_int_equal(cfg1_read(f, 4, 0, 0x10, 4), 0xffffffe1);
	assert_int_equal(cfg1_read(f, 4, 0, 0x14, 4), 0xfffff000);
	assert_int_equal(cfg1_read(f, 4, 0, 0x18, 4), 0xfff0000c);
	assert_int_equal(cfg1_read(f, 4, 0, 0x1c, 4), 0xffffffff);
	assert_int_equal(cfg1_read(f, 4, 0, 0x20, 4), 0xfffffff0);
	assert_int_equal(cfg1_read(f, 4, 0, 0x24, 4), 0);
	/* ROM BAR: none, read-only zero. */
	cfg1_write(f, 4, 0, PCI_ROM_ADDRESS, 4, 0xffffffff);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_ROM_ADDRESS, 4), 0);
	/* Byte writes change only their byte before the mask applies. */
	cfg1_write(f, 4, 0, 0x14, 4, 0xc0000000);
	cfg1_write(f, 4, 0, 0x17, 1, 0xc8);
	assert_int_equal(cfg1_read(f, 4, 0, 0x14, 4), 0xc8000000);
	cfg1_write(f, 4, 0, 0x14, 1, 0xff); /* below the size: read-only zero */
	assert_int_equal(cfg1_read(f, 4, 0, 0x14, 4), 0xc8000000);
	/* A 64-bit BAR above 4 GiB keeps its high half. */
	cfg1_write(f, 4, 0, 0x18, 4, 0x00100000);
	cfg1_write(f, 4, 0, 0x1c, 4, 0x1);
	assert_int_equal(pci_bar_addr(d, 2), 0x100100000ull);
}

static void test_bar_routing_follows_moves_and_command(void **state)
{
	struct fixture *f = *state;
	struct testdev *td = &f->dev[0];
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	assert_int_equal(pci_add_bar(d, 0, PCI_BAR_IO, 32, false, NULL), 0);
	assert_int_equal(pci_add_bar(d, 1, PCI_BAR_MEM32, 4096, false, NULL), 0);
	assert_int_equal(pci_add_bar(d, 2, PCI_BAR_MEM64, 8192, false, NULL), 0);

	assert_int_equal(mmio_read(f, 0xc0000010, 4), 0x1010);
	assert_int_equal(td->bar, 1);
	assert_int_equal(td->off, 0x10);
	assert_int_equal(mmio_read(f, 0xc0002008, 8), 0x2008); /* 64-bit BAR, 8-byte access */
	assert_int_equal(pio_in(f, 0xc004, 2), 0x0004);
	assert_int_equal(td->bar, 0);
	uint64_t w = 0xab;
	iobus_access(&f->mmio, 0xc0000ffc, 4, true, &w);
	assert_true(td->is_write);
	assert_int_equal(td->val, 0xab);
	assert_int_equal(td->off, 0xffc);
	/* Past the end of a BAR (straddling or just beyond): nobody's. */
	unsigned before = td->accesses;
	assert_int_equal(mmio_read(f, 0xc0000ffe, 4), 0xffffffff);
	assert_int_equal(mmio_read(f, 0xc0001000, 4), 0xffffffff);
	assert_int_equal(td->accesses, before);

	/* Move BAR 1: the old place goes dead, the new one answers. */
	cfg1_write(f, 4, 0, 0x14, 4, 0xc8000000);
	assert_int_equal(mmio_read(f, 0xc0000010, 4), 0xffffffff);
	assert_int_equal(mmio_read(f, 0xc8000010, 4), 0x1010);
	/* Memory decode off: nothing answers; on again: back. */
	uint16_t cmd = (uint16_t)cfg1_read(f, 4, 0, PCI_COMMAND, 2);
	cfg1_write(f, 4, 0, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MEMORY);
	before = td->accesses;
	assert_int_equal(mmio_read(f, 0xc8000010, 4), 0xffffffff);
	assert_int_equal(mmio_read(f, 0xc0002000, 4), 0xffffffff);
	assert_int_equal(td->accesses, before);
	assert_int_equal(pio_in(f, 0xc004, 2), 0x0004); /* I/O decode is separate */
	cfg1_write(f, 4, 0, PCI_COMMAND, 2, cmd);
	assert_int_equal(mmio_read(f, 0xc8000010, 4), 0x1010);
	/* I/O: move, then decode off. */
	cfg1_write(f, 4, 0, 0x10, 4, 0xd000);
	assert_int_equal(pio_in(f, 0xc004, 2), 0xffff);
	assert_int_equal(pio_in(f, 0xd01c, 4), 0x001c);
	cfg1_write(f, 4, 0, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_IO);
	assert_int_equal(pio_in(f, 0xd01c, 4), 0xffffffff);
	/* A BAR moved outside the window (or above 4 GiB) decodes nowhere and breaks nothing. */
	cfg1_write(f, 4, 0, PCI_COMMAND, 2, cmd);
	cfg1_write(f, 4, 0, 0x14, 4, 0x80000000);
	assert_int_equal(mmio_read(f, 0xc8000010, 4), 0xffffffff);
	cfg1_write(f, 4, 0, 0x1c, 4, 0xffffffff);
	assert_int_equal(mmio_read(f, 0xc0002000, 4), 0xffffffff);
}

static void test_bar_allocation_errors(void **state)
{
	struct fixture *f = *state;
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	struct errmsg e = { "" };
	assert_int_equal(pci_add_bar(d, 0, PCI_BAR_IO, 24, false, &e), -EINVAL);
	assert_non_null(strstr(e.text, "power of two"));
	assert_int_equal(pci_add_bar(d, 0, PCI_BAR_IO, 512, false, &e), -EINVAL);
	assert_int_equal(pci_add_bar(d, 0, PCI_BAR_MEM32, 8, false, &e), -EINVAL);
	assert_int_equal(pci_add_bar(d, 5, PCI_BAR_MEM64, 4096, false, &e), -EINVAL);
	assert_int_equal(pci_add_bar(d, 6, PCI_BAR_MEM32, 4096, false, &e), -EINVAL);
	assert_int_equal(pci_add_bar(d, 4, PCI_BAR_MEM64, 4096, false, &e), 0);
	assert_int_equal(pci_add_bar(d, 5, PCI_BAR_MEM32, 4096, false, &e), -EEXIST);
	assert_int_equal(pci_add_bar(d, 0, PCI_BAR_MEM32, 256u << 20, false, &e), 0);
	assert_int_equal(pci_add_bar(d, 1, PCI_BAR_MEM32, 256u << 20, false, &e), -ENOSPC);
	assert_non_null(strstr(e.text, "window is full"));
}

static void test_status_write_one_to_clear(void **state)
{
	struct fixture *f = *state;
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	assert_true(pci_add_msi(d, 1, true, NULL) > 0);
	pci_cfg_put(d, PCI_STATUS, 2, pci_cfg_get(d, PCI_STATUS, 2) | 0xf900);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_STATUS, 2), 0xf900 | PCI_STATUS_CAP_LIST);
	cfg1_write(f, 4, 0, PCI_STATUS, 2, 0x2000); /* received master abort only */
	assert_int_equal(cfg1_read(f, 4, 0, PCI_STATUS, 2), 0xd900 | PCI_STATUS_CAP_LIST);
	cfg1_write(f, 4, 0, PCI_STATUS, 2, 0); /* zeroes change nothing */
	assert_int_equal(cfg1_read(f, 4, 0, PCI_STATUS, 2), 0xd900 | PCI_STATUS_CAP_LIST);
	cfg1_write(f, 4, 0, PCI_STATUS + 1, 1, 0x01); /* byte write to the high half */
	assert_int_equal(cfg1_read(f, 4, 0, PCI_STATUS, 2), 0xd800 | PCI_STATUS_CAP_LIST);
	cfg1_write(f, 4, 0, PCI_STATUS, 2, 0xffff); /* read-only bits survive */
	assert_int_equal(cfg1_read(f, 4, 0, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	/* A dword write at 0x04 sets the command and clears status in one go. */
	pci_cfg_put(d, PCI_STATUS, 2, 0x8000 | PCI_STATUS_CAP_LIST);
	cfg1_write(f, 4, 0, PCI_COMMAND, 4, 0x80000000u | PCI_COMMAND_MASTER | 0x0800);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_COMMAND, 4), PCI_STATUS_CAP_LIST << 16 | PCI_COMMAND_MASTER);
}

static void test_multifunction_bit(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	assert_int_equal(pci_create_device(f->bus, 0, 6, 0, "lpc", "", &e), 0);
	assert_int_equal(cfg1_read(f, 6, 0, PCI_HEADER_TYPE, 1), 0x00);
	assert_int_equal(pci_create_device(f->bus, 0, 6, 2, "hostbridge", "", &e), 0);
	assert_int_equal(cfg1_read(f, 6, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_MULTIFUNCTION);
	assert_int_equal(cfg1_read(f, 6, 2, PCI_HEADER_TYPE, 1), PCI_HEADER_MULTIFUNCTION);
	assert_int_equal(cfg1_read(f, 6, 2, 0, 4), 0x12751275);
	/* Read-only: a write does not clear it. */
	cfg1_write(f, 6, 0, PCI_HEADER_TYPE, 1, 0);
	assert_int_equal(cfg1_read(f, 6, 0, PCI_HEADER_TYPE, 1), PCI_HEADER_MULTIFUNCTION);
	/* Removing the other function clears it again. */
	pci_remove(pci_find(f->bus, 6, 2));
	assert_int_equal(cfg1_read(f, 6, 0, PCI_HEADER_TYPE, 1), 0x00);
	assert_int_equal(cfg1_read(f, 6, 2, 0, 4), 0xffffffff);
}

static void test_intx_swizzle_and_disable(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(pci_intx_gsi(0, 1), 16);
	assert_int_equal(pci_intx_gsi(5, 1), 21);
	assert_int_equal(pci_intx_gsi(5, 4), 16);
	assert_int_equal(pci_intx_gsi(31, 2), 16);
	assert_int_equal(pci_intx_gsi(7, 1), 23);

	struct pci_func *a = add_testdev(f, 5, 0, 0);
	pci_set_intx_pin(a, 1);
	assert_int_equal(cfg1_read(f, 5, 0, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(cfg1_read(f, 5, 0, PCI_INTERRUPT_LINE, 1), 21);
	pci_intx_set(a, true);
	assert_true(f->irq.level[21]);
	assert_true(cfg1_read(f, 5, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* INTX_DISABLE lowers the line; the status bit still shows the request. */
	cfg1_write(f, 5, 0, PCI_COMMAND, 2, PCI_COMMAND_INTX_DISABLE);
	assert_false(f->irq.level[21]);
	assert_true(cfg1_read(f, 5, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	cfg1_write(f, 5, 0, PCI_COMMAND, 2, 0);
	assert_true(f->irq.level[21]);
	pci_intx_set(a, false);
	assert_false(f->irq.level[21]);
	assert_false(cfg1_read(f, 5, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);

	/* A shared line (slot 5 INTA and slot 13 INTA both hit GSI 21) is a wired OR. */
	struct pci_func *b = add_testdev(f, 13, 0, 1);
	pci_set_intx_pin(b, 1);
	pci_intx_set(a, true);
	pci_intx_set(b, true);
	unsigned calls = f->irq.calls;
	pci_intx_set(a, false);
	assert_true(f->irq.level[21]);
	assert_int_equal(f->irq.calls, calls); /* no needless door traffic */
	pci_intx_set(b, true); /* asserting again changes nothing */
	assert_int_equal(f->irq.calls, calls);
	pci_intx_set(b, false);
	assert_false(f->irq.level[21]);
	/* A function without a pin cannot raise anything. */
	struct pci_func *c = add_testdev(f, 6, 0, 2);
	calls = f->irq.calls;
	pci_intx_set(c, true);
	assert_int_equal(f->irq.calls, calls);
	assert_false(cfg1_read(f, 6, 0, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
	/* The pin is read-only. */
	cfg1_write(f, 5, 0, PCI_INTERRUPT_PIN, 1, 3);
	assert_int_equal(cfg1_read(f, 5, 0, PCI_INTERRUPT_PIN, 1), 1);
}

static void test_msi_capability_and_send(void **state)
{
	struct fixture *f = *state;
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	pci_set_intx_pin(d, 1);
	int msi = pci_add_msi(d, 4, true, NULL);
	assert_int_equal(msi, 0x40);
	int other = pci_add_capability(d, 0x09, 6, NULL); /* vendor-specific, after MSI */
	assert_int_equal(other, 0x50);
	assert_int_equal(pci_add_msi(d, 3, true, NULL), -EINVAL);
	assert_int_equal(pci_add_msi(d, 1, true, NULL), -EEXIST);

	/* The chain as a guest walks it. */
	assert_true(cfg1_read(f, 4, 0, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_CAP_PTR, 1), 0x40);
	assert_int_equal(cfg1_read(f, 4, 0, 0x40, 1), PCI_CAP_ID_MSI);
	assert_int_equal(cfg1_read(f, 4, 0, 0x41, 1), 0x50);
	assert_int_equal(cfg1_read(f, 4, 0, 0x50, 1), 0x09);
	assert_int_equal(cfg1_read(f, 4, 0, 0x51, 1), 0);
	assert_int_equal(cfg1_read(f, 4, 0, 0x42, 2), PCI_MSI_FLAGS_64BIT | 2 << 1);

	/* Nothing is sent before software enables MSI. */
	assert_int_equal(pci_msi_send(d, 0), -EAGAIN);
	cfg1_write(f, 4, 0, 0x44, 4, 0xfee00003); /* the low two bits are not kept */
	cfg1_write(f, 4, 0, 0x48, 4, 0x1);
	cfg1_write(f, 4, 0, 0x4c, 2, 0x4020);
	assert_int_equal(cfg1_read(f, 4, 0, 0x44, 4), 0xfee00000);
	/* Enable with 4 vectors, but bus mastering still off: no message. */
	cfg1_write(f, 4, 0, 0x42, 2, PCI_MSI_FLAGS_ENABLE | 2 << 4);
	assert_true(pci_msi_enabled(d));
	assert_int_equal(pci_msi_send(d, 0), -EAGAIN);
	assert_int_equal(f->msi.n, 0);
	cfg1_write(f, 4, 0, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(pci_msi_send(d, 3), 0);
	assert_int_equal(f->msi.n, 1);
	assert_int_equal(f->msi.addr, 0x1fee00000ull);
	assert_int_equal(f->msi.data, 0x4023);
	assert_int_equal(pci_msi_send(d, 4), -EAGAIN); /* beyond what was enabled */
	/* Software asking for more vectors than offered gets what is offered (4). */
	cfg1_write(f, 4, 0, 0x42, 2, PCI_MSI_FLAGS_ENABLE | 5 << 4);
	assert_int_equal(pci_msi_send(d, 3), 0);
	assert_int_equal(pci_msi_send(d, 4), -EAGAIN);
	/* The read-only control bits stay. */
	assert_int_equal(cfg1_read(f, 4, 0, 0x42, 2) & (PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_QMASK),
			 PCI_MSI_FLAGS_64BIT | 2 << 1);
	/* While MSI is on, INTx stays off the line. */
	pci_intx_set(d, true);
	assert_false(f->irq.level[pci_intx_gsi(4, 1)]);
	cfg1_write(f, 4, 0, 0x42, 2, 0);
	assert_true(f->irq.level[pci_intx_gsi(4, 1)]);
	assert_int_equal(pci_msi_send(d, 0), -EAGAIN);

	/* The 32-bit form: data right after the address. */
	struct pci_func *d32 = add_testdev(f, 9, 0, 1);
	assert_int_equal(pci_add_msi(d32, 1, false, NULL), 0x40);
	cfg1_write(f, 9, 0, 0x44, 4, 0xfee01000);
	cfg1_write(f, 9, 0, 0x48, 2, 0x0031);
	cfg1_write(f, 9, 0, 0x42, 2, PCI_MSI_FLAGS_ENABLE);
	cfg1_write(f, 9, 0, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
	assert_int_equal(pci_msi_send(d32, 0), 0);
	assert_int_equal(f->msi.addr, 0xfee01000);
	assert_int_equal(f->msi.data, 0x31);
}

static void test_capability_space_runs_out(void **state)
{
	struct fixture *f = *state;
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	struct errmsg e = { "" };
	int off = 0;
	unsigned n = 0;
	while ((off = pci_add_capability(d, 0x09, 16, &e)) > 0)
		n++;
	assert_int_equal(off, -ENOSPC);
	assert_int_equal(n, (0x100 - 0x40) / 16);
	assert_non_null(strstr(e.text, "no room"));
	/* The chain stays walkable and ends. */
	unsigned p = cfg1_read(f, 4, 0, PCI_CAP_PTR, 1), hops = 0;
	while (p && hops < 64) {
		p = cfg1_read(f, 4, 0, p + 1, 1);
		hops++;
	}
	assert_int_equal(hops, n);
}

static void test_device_hooks_and_registers(void **state)
{
	struct fixture *f = *state;
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	assert_int_equal(cfg1_read(f, 4, 0, TESTDEV_HOOK_REG, 4), TESTDEV_HOOK_VAL);
	assert_int_equal(ecam_read(f, 4, 0, TESTDEV_HOOK_REG, 4), TESTDEV_HOOK_VAL);
	cfg1_write(f, 4, 0, TESTDEV_HOOK_REG, 4, 0x12345678);
	assert_int_equal(f->dev[0].hook_reg_written, 0x12345678);
	/* A plain device register: power-on value, and only its writable bits move. */
	pci_cfg_init(d, 0x90, 2, 0xa5a5, 0x00ff);
	cfg1_write(f, 4, 0, 0x90, 2, 0x1234);
	assert_int_equal(cfg1_read(f, 4, 0, 0x90, 2), 0xa534);
	/* Subsystem IDs and revision as set. */
	assert_int_equal(cfg1_read(f, 4, 0, PCI_SUBSYS_VENDOR, 4), 0x00421af4);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_REVISION_ID, 1), 1);
	/* Cache line size and latency timer are scratch registers the OS may set. */
	cfg1_write(f, 4, 0, PCI_CACHE_LINE, 2, 0x4010);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_CACHE_LINE, 2), 0x4010);
}

static void test_duplicate_slot_refused(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	assert_int_equal(pci_create_device(f->bus, 0, 3, 0, "lpc", "", &e), 0);
	assert_int_equal(pci_create_device(f->bus, 0, 3, 0, "hostbridge", "", &e), -EEXIST);
	assert_string_equal(e.text, "-s 3:0,hostbridge: slot 3:0 is already used by lpc");
	assert_int_equal(pci_add(f->bus, 3, 0, &testdev_ops, NULL, NULL, &e), -EEXIST);
	assert_string_equal(e.text, "slot 3:0 is already used by lpc");
	/* The first device is untouched. */
	assert_int_equal(cfg1_read(f, 3, 0, 0, 4), 0x70008086);
	/* Other refusals, each with a message. */
	assert_int_equal(pci_create_device(f->bus, 1, 3, 0, "lpc", "", &e), -EINVAL);
	assert_non_null(strstr(e.text, "only PCI bus 0"));
	assert_int_equal(pci_create_device(f->bus, 0, 4, 0, "virtio-nope", "", &e), -EINVAL);
	assert_non_null(strstr(e.text, "unknown device emulation"));
	assert_int_equal(pci_create_device(f->bus, 0, 4, 0, "hostbridge", "foo=1", &e), -EINVAL);
	assert_non_null(strstr(e.text, "takes no options"));
	assert_int_equal(pci_add(f->bus, 32, 0, &testdev_ops, NULL, NULL, &e), -EINVAL);
	assert_int_equal(pci_add(f->bus, 0, 8, &testdev_ops, NULL, NULL, &e), -EINVAL);
	assert_null(pci_device_lookup("nope"));
	assert_non_null(pci_device_lookup("amd_hostbridge"));
}

static void test_reset_port_forwarding(void **state)
{
	struct fixture *f = *state;
	add_standard(f);
	pio_out(f, 0xcf9, 1, 0x06);
	assert_int_equal(f->reset.n, 1);
	assert_int_equal(f->reset.off, 0);
	assert_int_equal(f->reset.size, 1);
	assert_true(f->reset.is_write);
	assert_int_equal(f->reset.val, 0x06);
	assert_int_equal(pio_in(f, 0xcf9, 1), 0x02);
	assert_int_equal(f->reset.n, 2);
	/* Dword accesses at 0xcf8 are the latch, never a reset; wider accesses at 0xcf9 neither. */
	pio_out(f, 0xcf8, 4, 0x80000000 | 0x0600);
	pio_out(f, 0xcf9, 2, 0x0606);
	assert_int_equal(f->reset.n, 2);
	assert_int_equal(pio_in(f, 0xcf8, 4), 0x80000600);
	/* Without a callback 0xcf9 reads all-ones and a write vanishes. */
	struct iobus pio;
	iobus_init(&pio, "pio");
	struct pci_bus *bare = pci_bus_create(&(struct pci_bus_config){ .pio = &pio }, NULL);
	assert_non_null(bare);
	uint64_t v = 6;
	assert_int_equal(iobus_access(&pio, 0xcf9, 1, true, &v), 0);
	assert_int_equal(iobus_access(&pio, 0xcf9, 1, false, &v), 0);
	assert_int_equal(v, 0xff);
	pci_bus_destroy(bare);
	iobus_destroy(&pio);
}

static void test_claims_are_all_or_nothing(void **state)
{
	(void)state;
	/* The reason 0xcf9 is forwarded: a separate 1-byte region there overlaps the latch. */
	struct iobus pio;
	iobus_init(&pio, "pio");
	assert_int_equal(iobus_register(&pio, 0xcf9, 1, "reset_ctl", log_reset, NULL, NULL), 0);
	struct errmsg e = { "" };
	assert_null(pci_bus_create(&(struct pci_bus_config){ .pio = &pio }, &e));
	assert_non_null(strstr(e.text, "overlaps reset_ctl"));
	assert_int_equal(pio.nregions, 1);
	/* All or nothing: a clash in MMIO leaves no port claimed either (iobus cannot unregister). */
	struct iobus pio2, mmio;
	iobus_init(&pio2, "pio");
	iobus_init(&mmio, "mmio");
	assert_int_equal(iobus_register(&mmio, PCI_ECAM_BASE + 0x1000, 4, "squatter", log_reset, NULL, NULL), 0);
	assert_null(pci_bus_create(&(struct pci_bus_config){ .pio = &pio2, .mmio = &mmio }, &e));
	assert_non_null(strstr(e.text, "pci_ecam"));
	assert_non_null(strstr(e.text, "squatter"));
	assert_int_equal(pio2.nregions, 0);
	assert_int_equal(mmio.nregions, 1);
	iobus_destroy(&pio);
	iobus_destroy(&pio2);
	iobus_destroy(&mmio);
}

static void test_snapshot_round_trip(void **state)
{
	struct fixture *f = *state;
	add_standard(f);
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	pci_set_intx_pin(d, 1);
	assert_int_equal(pci_add_bar(d, 1, PCI_BAR_MEM32, 4096, false, NULL), 0);
	cfg1_write(f, 4, 0, 0x14, 4, 0xc4000000);
	pci_intx_set(d, true);
	pio_out(f, 0xcf8, 4, cfg1_addr(0, 31, 0, 0x08));

	size_t need = pci_bus_save(f->bus, NULL, 0);
	assert_int_equal(need, 7 + 4 * PCI_FUNC_STATE_SIZE);
	uint8_t *img = malloc(need);
	assert_int_equal(pci_bus_save(f->bus, img, need - 1), 0);
	assert_int_equal(pci_bus_save(f->bus, img, need), need);

	/* Change everything, then load. */
	cfg1_write(f, 4, 0, 0x14, 4, 0xc8000000);
	pci_intx_set(d, false);
	cfg1_write(f, 31, 0, PCI_INTERRUPT_LINE, 1, 0x77);
	pio_out(f, 0xcf8, 4, 0);
	assert_int_equal(pci_bus_load(f->bus, img, need), 0);
	assert_int_equal(pio_in(f, 0xcf8, 4), cfg1_addr(0, 31, 0, 0x08));
	assert_int_equal(pio_in(f, 0xcfc, 4) >> 8, 0x060100);
	assert_int_equal(mmio_read(f, 0xc4000010, 4), 0x1010); /* routing follows the image */
	assert_int_equal(mmio_read(f, 0xc8000010, 4), 0xffffffff);
	assert_true(f->irq.level[pci_intx_gsi(4, 1)]);
	assert_int_equal(cfg1_read(f, 31, 0, PCI_INTERRUPT_LINE, 1), 0);

	/* Bad images change nothing. */
	img[0] = 99;
	assert_int_equal(pci_bus_load(f->bus, img, need), -EINVAL);
	img[0] = 1;
	assert_int_equal(pci_bus_load(f->bus, img, need - 1), -EINVAL);
	img[7 + 4] ^= 1; /* the first function's vendor ID */
	assert_int_equal(pci_bus_load(f->bus, img, need), -EINVAL);
	img[7 + 4] ^= 1;
	pci_intx_set(d, false);
	assert_int_equal(pci_bus_load(f->bus, img + 1, need - 1), -EINVAL);
	assert_false(f->irq.level[pci_intx_gsi(4, 1)]);

	/* One function alone; an image of another function is refused. */
	uint8_t one[PCI_FUNC_STATE_SIZE];
	assert_int_equal(pci_func_save(d, NULL, 0), PCI_FUNC_STATE_SIZE);
	assert_int_equal(pci_func_save(d, one, 3), 0);
	assert_int_equal(pci_func_save(d, one, sizeof(one)), PCI_FUNC_STATE_SIZE);
	cfg1_write(f, 4, 0, PCI_COMMAND, 2, 0);
	assert_int_equal(pci_func_load(d, one, sizeof(one)), 0);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	assert_int_equal(pci_func_load(pci_find(f->bus, 31, 0), one, sizeof(one)), -EINVAL);
	assert_int_equal(pci_func_load(d, NULL, sizeof(one)), -EINVAL);
	free(img);
}

static void test_bus_reset(void **state)
{
	struct fixture *f = *state;
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	pci_set_intx_pin(d, 2);
	assert_int_equal(pci_add_bar(d, 1, PCI_BAR_MEM32, 4096, false, NULL), 0);
	assert_true(pci_add_msi(d, 1, true, NULL) > 0);
	cfg1_write(f, 4, 0, 0x14, 4, 0xc8000000);
	cfg1_write(f, 4, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg1_write(f, 4, 0, 0x42, 2, PCI_MSI_FLAGS_ENABLE);
	cfg1_write(f, 4, 0, 0x42, 2, 0);
	pci_intx_set(d, true);
	unsigned gsi = pci_intx_gsi(4, 2);
	assert_true(f->irq.level[gsi]);

	pci_bus_reset(f->bus);
	assert_false(f->irq.level[gsi]);
	assert_int_equal(f->dev[0].resets, 1);
	assert_int_equal(pio_in(f, 0xcf8, 4), 0);
	assert_int_equal(cfg1_read(f, 4, 0, 0x14, 4), 0xc0000000);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY);
	assert_int_equal(cfg1_read(f, 4, 0, 0x42, 2) & PCI_MSI_FLAGS_ENABLE, 0);
	assert_int_equal(cfg1_read(f, 4, 0, PCI_INTERRUPT_LINE, 1), gsi);
	assert_int_equal(mmio_read(f, 0xc0000010, 4), 0x1010);
	assert_int_equal(mmio_read(f, 0xc8000010, 4), 0xffffffff);
	/* The line works as before after a reset. */
	pci_intx_set(d, true);
	assert_true(f->irq.level[gsi]);
}

/* A guest may poke anything at any size: nothing crashes, the bus stays consistent. */
static void test_hostile_accesses(void **state)
{
	struct fixture *f = *state;
	add_standard(f);
	struct pci_func *d = add_testdev(f, 4, 0, 0);
	pci_set_intx_pin(d, 1);
	assert_int_equal(pci_add_bar(d, 0, PCI_BAR_IO, 16, false, NULL), 0);
	assert_int_equal(pci_add_bar(d, 2, PCI_BAR_MEM64, 4096, true, NULL), 0);
	assert_true(pci_add_msi(d, 8, true, NULL) > 0);
	pci_intx_set(d, true);

	static const unsigned sizes[] = { 0, 1, 2, 3, 4, 5, 8, 16 };
	uint32_t seed = 12345;
	for (unsigned i = 0; i < 200000; i++) {
		seed = seed * 1103515245 + 12345;
		uint32_t r = seed >> 8;
		unsigned size = sizes[r % 8];
		bool is_write = (r >> 3) & 1;
		uint64_t v = (r & 0x10) ? UINT64_MAX : (uint64_t)seed * 2654435761u;
		uint64_t off = (seed >> 4) & 0xfffff;
		void *bus = f->bus;
		switch ((r >> 5) % 8) {
		case 0: pci_cfgaddr_access(bus, off & 7, size, is_write, &v); break;
		case 1: pci_cfgdata_access(bus, off & 7, size, is_write, &v); break;
		case 2: pci_ecam_access(bus, off | ((r & 0x40) ? PCI_ECAM_SIZE : 0), size, is_write, &v); break;
		case 3: pci_iowin_access(bus, off, size, is_write, &v); break;
		case 4: pci_memwin_access(bus, (uint64_t)seed << 20, size, is_write, &v); break;
		case 5: /* aim at slot 4's header, the part with rules */
			cfg1_write(f, 4, 0, off & 0xfc, 4, (uint32_t)v);
			break;
		case 6: iobus_access(&f->pio, 0xcf8 + (off & 7), size, is_write, &v); break;
		default: pci_intx_set(d, r & 1); pci_msi_send(d, r & 15); break;
		}
	}
	/* Identity survived; routing and INTx still behave. */
	assert_int_equal(cfg1_read(f, 4, 0, 0, 4), 0x10001af4);
	assert_int_equal(cfg1_read(f, 31, 0, 0, 4), 0x70008086);
	cfg1_write(f, 4, 0, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cfg1_write(f, 4, 0, 0x42, 2, 0);
	cfg1_write(f, 4, 0, 0x18, 4, 0xc0400000);
	cfg1_write(f, 4, 0, 0x1c, 4, 0);
	assert_int_equal(mmio_read(f, 0xc0400008, 4), 0x2008);
	pci_intx_set(d, true);
	assert_true(f->irq.level[pci_intx_gsi(4, 1)]);
	pci_intx_set(d, false);
	assert_false(f->irq.level[pci_intx_gsi(4, 1)]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_through_mechanism1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latch_and_enable_bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_byte_and_word_data_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ecam_matches_mechanism1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_routing_follows_moves_and_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_allocation_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_write_one_to_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multifunction_bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_swizzle_and_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msi_capability_and_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capability_space_runs_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_device_hooks_and_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_slot_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_port_forwarding, setup, teardown),
		cmocka_unit_test(test_claims_are_all_or_nothing),
		cmocka_unit_test_setup_teardown(test_snapshot_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_accesses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
