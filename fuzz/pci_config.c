/* Fuzz target pci_config: a PCI bus (hostbridge 0:0, a test function 3:0 with I/O, MEM32, MEM64 BARs
 * and MSI, lpc 31:0) on port and MMIO buses, driven by guest operations through 0xcf8/0xcfc, ECAM and BARs. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/iobus.h"
#include "devmodel/pci.h"
#include "devmodel/pci_devices.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/guest_ops.h"

#define TEST_SLOT 3
#define LPC_SLOT 31
#define NBARS 3 /* test BARs: 0 I/O 64 B, 1 MEM32 4 KiB, 2-3 MEM64 16 KiB prefetchable */
#define REGS 64 /* bytes of register file behind each BAR */
#define MMIO_BASE PCI_MEM_WINDOW_BASE /* ECAM is at +0x20000000 (W = 4) */
#define BUS_IMG_MAX 4096

static const uint64_t bar_size[PCI_NBARS] = { 64, 4096, 16384, 0, 0, 0 };

/* pci_config device actions (GOP_DEVICE sub-operations); fuzz/README.md lists them. */
enum { DEV_RESET, DEV_LOAD_BUS, DEV_ROUND_TRIP, DEV_LOAD_FUNC, DEV_INTX, DEV_MSI };

struct testdev {
	uint8_t regs[PCI_NBARS][REGS];
	bool called;          /* the last bus access reached bar_access */
	unsigned bar;
	uint64_t off;
	unsigned size;
};

struct pci_fuzz {
	struct pci_bus *bus;
	struct pci_func *t;   /* the test function */
	struct testdev dev;
	struct iobus pio, mmio;
	bool gsi[PCI_INTX_GSI_COUNT]; /* the INTx lines as the sink last heard them */
	unsigned msis;
	uint64_t msi_addr;
	uint32_t msi_data;
	bool loaded;          /* a snapshot was loaded: config may hold what no guest write makes */
	uint8_t prev[3][PCI_CFG_SIZE]; /* config of the three functions after the previous operation */
};

/* The bus's functions (slot * 8 + fn); every other devfn stays empty. */
static const unsigned devfns[3] = { 0, TEST_SLOT * PCI_FUNCS, LPC_SLOT * PCI_FUNCS };

static void intx_sink(void *ctx, unsigned gsi, bool level)
{
	struct pci_fuzz *f = ctx;
	FUZZ_CHECK(gsi >= PCI_INTX_GSI_BASE && gsi < PCI_INTX_GSI_BASE + PCI_INTX_GSI_COUNT, "INTx on gsi %u", gsi);
	FUZZ_CHECK(f->gsi[gsi - PCI_INTX_GSI_BASE] != level, "gsi %u level %d reported twice", gsi, level);
	f->gsi[gsi - PCI_INTX_GSI_BASE] = level;
}

static void msi_sink(void *ctx, uint64_t addr, uint32_t data)
{
	struct pci_fuzz *f = ctx;
	f->msis++;
	f->msi_addr = addr;
	f->msi_data = data;
}

static int test_bar_access(struct pci_func *fn, unsigned bar, uint64_t off, unsigned size, bool is_write,
			   uint64_t *val)
{
	struct testdev *d = fn->priv;
	uint16_t cmd = (uint16_t)pci_cfg_get(fn, PCI_COMMAND, 2);
	FUZZ_CHECK(bar < NBARS + 1 && bar_size[bar], "access to BAR %u", bar);
	FUZZ_CHECK(off < bar_size[bar] && size <= bar_size[bar] - off, "BAR %u access at %#llx size %u", bar,
		   (unsigned long long)off, size);
	FUZZ_CHECK(cmd & (bar == 0 ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY), "BAR %u decoded with command %#x", bar, cmd);
	d->called = true;
	d->bar = bar;
	d->off = off;
	d->size = size;
	uint64_t r = off % REGS;
	if (size > REGS - r)
		return -EINVAL;
	if (!is_write) {
		uint64_t v = 0;
		memcpy(&v, d->regs[bar] + r, size);
		*val = v;
		return 0;
	}
	memcpy(d->regs[bar] + r, val, size);
	/* Register 0 of BAR 0: bit 0 is the INTx request. */
	if (bar == 0 && r == 0)
		pci_intx_set(fn, *val & 1);
	return 0;
}

static void test_reset(struct pci_func *fn)
{
	struct testdev *d = fn->priv;
	memset(d->regs, 0, sizeof(d->regs));
	pci_intx_set(fn, false);
}

static const struct pci_func_ops test_ops = { .name = "fuzztest", .bar_access = test_bar_access, .reset = test_reset };

/* Builds the machine's bus; NULL when something fails. */
static struct pci_bus *build(struct pci_fuzz *f, struct iobus *pio, struct iobus *mmio, struct testdev *d,
			     struct pci_func **t)
{
	struct errmsg e;
	struct pci_bus_config cfg = {
		.pio = pio,
		.mmio = mmio,
		.irq = { intx_sink, f },
		.msi = { msi_sink, f },
	};
	struct pci_bus *bus = pci_bus_create(&cfg, &e);
	if (!bus)
		return NULL;
	static const struct pci_ids ids = { .vendor = 0x1af4, .device = 0x10f0, .class_code = 0xff0000, .revision = 1,
					    .subvendor = 0x1af4, .subdevice = 0x0001 };
	if (pci_create_device(bus, 0, 0, 0, "hostbridge", "", &e) < 0 ||
	    pci_create_device(bus, 0, LPC_SLOT, 0, "lpc", "", &e) < 0 ||
	    pci_add(bus, TEST_SLOT, 0, &test_ops, d, t, &e) < 0)
		goto fail;
	pci_set_ids(*t, &ids);
	if (pci_add_bar(*t, 0, PCI_BAR_IO, bar_size[0], false, &e) < 0 ||
	    pci_add_bar(*t, 1, PCI_BAR_MEM32, bar_size[1], false, &e) < 0 ||
	    pci_add_bar(*t, 2, PCI_BAR_MEM64, bar_size[2], true, &e) < 0 || pci_add_msi(*t, 4, true, &e) < 0)
		goto fail;
	pci_set_intx_pin(*t, 1);
	FUZZ_CHECK(pci_add(bus, TEST_SLOT, 0, &test_ops, d, NULL, &e) == -EEXIST, "slot taken twice");
	FUZZ_CHECK(pci_add(bus, 32, 0, &test_ops, d, NULL, &e) == -EINVAL, "slot 32 accepted");
	return bus;
fail:
	pci_bus_destroy(bus);
	return NULL;
}

static uint32_t ecam_read(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size)
{
	uint64_t v = 0;
	pci_ecam_access(bus, (uint64_t)slot << 15 | fn << 12 | reg, size, false, &v);
	return (uint32_t)v;
}

static uint64_t ones(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* The BAR registers say what firmware and the guest may make of them. */
static void check_bars(const struct pci_fuzz *f)
{
	for (unsigned i = 0; i < NBARS + 1; i++) {
		uint32_t v = pci_cfg_get(f->t, PCI_BAR0 + 4 * i, 4);
		if (i == 3) /* the MEM64 BAR's upper half: any value */
			continue;
		uint32_t flags = i == 0 ? PCI_BAR_IO_FLAG : i == 2 ? PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH : 0;
		uint32_t lowmask = i == 0 ? 3 : 15;
		FUZZ_CHECK((v & lowmask) == flags, "BAR %u = %#x: flag bits", i, v);
		FUZZ_CHECK((v & ~lowmask & (uint32_t)(bar_size[i] - 1)) == 0, "BAR %u = %#x not aligned to %llu", i, v,
			   (unsigned long long)bar_size[i]);
	}
}

/* INTx: each function's share and each GSI as the guest's interrupt controller sees it. */
static void check_intx(const struct pci_fuzz *f)
{
	unsigned users[PCI_INTX_GSI_COUNT] = { 0 };
	for (unsigned i = 0; i < 3; i++) {
		unsigned s = devfns[i] / PCI_FUNCS, fn = devfns[i] % PCI_FUNCS;
		struct pci_func *p = pci_find(f->bus, s, fn);
		FUZZ_CHECK(p, "%u:%u gone", s, fn);
		uint16_t cmd = (uint16_t)pci_cfg_get(p, PCI_COMMAND, 2);
		uint16_t status = (uint16_t)pci_cfg_get(p, PCI_STATUS, 2);
		unsigned pin = p->cfg[PCI_INTERRUPT_PIN];
		bool asserted = pin && p->intx_asserted;
		bool driven = asserted && !(cmd & PCI_COMMAND_INTX_DISABLE) && !pci_msi_enabled(p);
		FUZZ_CHECK(!!(status & PCI_STATUS_INTERRUPT) == asserted, "%u:%u status %#x, asserted %d", s, fn, status,
			   asserted);
		FUZZ_CHECK(p->intx_driven == driven, "%u:%u drives %d, expected %d", s, fn, p->intx_driven, driven);
		if (driven)
			users[pci_intx_gsi(s, pin) - PCI_INTX_GSI_BASE]++;
	}
	for (unsigned g = 0; g < PCI_INTX_GSI_COUNT; g++)
		FUZZ_CHECK(f->gsi[g] == (users[g] > 0), "gsi %u level %d with %u users", g + PCI_INTX_GSI_BASE, f->gsi[g],
			   users[g]);
}

/* A guest write changes only the bits its masks allow (BARs have their own rules). */
static void check_masks(struct pci_fuzz *f, bool guest)
{
	for (unsigned i = 0; i < 3; i++) {
		unsigned d = devfns[i];
		struct pci_func *p = pci_find(f->bus, d / PCI_FUNCS, d % PCI_FUNCS);
		FUZZ_CHECK(p, "%u:%u gone", d / 8, d % 8);
		/* Most operations change no config byte: one memcmp then spares the byte loop, which
		 * was a quarter of this harness's time (perf). */
		if (memcmp(f->prev[i], p->cfg, PCI_CFG_SIZE) == 0)
			continue;
		if (guest)
			for (unsigned r = 0; r < PCI_CFG_SIZE; r++) {
				uint8_t changed = (uint8_t)((p->cfg[r] ^ f->prev[i][r]) & ~(p->wmask[r] | p->w1cmask[r]));
				if (r == PCI_STATUS)
					changed &= (uint8_t)~PCI_STATUS_INTERRUPT;
				if (r >= PCI_BAR0 && r < PCI_BAR0 + 4 * PCI_NBARS)
					changed = 0;
				FUZZ_CHECK(!changed, "%u:%u register %#x changed %02x -> %02x beyond its masks", d / 8, d % 8,
					   r, f->prev[i][r], p->cfg[r]);
			}
		memcpy(f->prev[i], p->cfg, PCI_CFG_SIZE);
	}
}

/* Which BAR of the test function (the only one with BARs) decodes addr, as pci.h promises. */
static int expected_bar(const struct pci_fuzz *f, bool io, uint64_t addr, uint64_t *off)
{
	uint16_t cmd = (uint16_t)pci_cfg_get(f->t, PCI_COMMAND, 2);
	if (!(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
		return -1;
	uint64_t lo = io ? PCI_IO_WINDOW_BASE : PCI_MEM_WINDOW_BASE, hi = io ? PCI_IO_WINDOW_END : PCI_MEM_WINDOW_END;
	for (unsigned i = io ? 0 : 1; i < (io ? 1u : (unsigned)NBARS); i++) {
		uint64_t base = pci_bar_addr(f->t, i);
		if (base < lo || base > hi || bar_size[i] > hi - base)
			continue;
		if (addr >= base && addr - base < bar_size[i]) {
			*off = addr - base;
			return (int)i;
		}
	}
	return -1;
}

static void check_access(struct pci_fuzz *f, const struct guest_op *op)
{
	bool io = op->kind == GOP_PIO_READ || op->kind == GOP_PIO_WRITE;
	bool read = op->kind == GOP_PIO_READ || op->kind == GOP_MMIO_READ;
	uint64_t a = op->addr;
	unsigned size = op->size;
	bool in_window = io ? a >= PCI_IO_WINDOW_BASE && a < PCI_IO_WINDOW_END && size <= PCI_IO_WINDOW_END - a
			    : a >= PCI_MEM_WINDOW_BASE && a < PCI_MEM_WINDOW_END && size <= PCI_MEM_WINDOW_END - a;
	if (in_window) {
		uint64_t off = 0;
		int bar = expected_bar(f, io, a, &off);
		bool fits = bar >= 0 && size <= bar_size[bar] - off;
		FUZZ_CHECK(f->dev.called == fits, "access at %#llx: device called %d, BAR %d", (unsigned long long)a,
			   f->dev.called, bar);
		if (fits)
			FUZZ_CHECK(f->dev.bar == (unsigned)bar && f->dev.off == off && f->dev.size == size,
				   "access at %#llx went to BAR %u +%#llx", (unsigned long long)a, f->dev.bar,
				   (unsigned long long)f->dev.off);
		else
			FUZZ_CHECK(op->rc == -ENOENT && (!read || op->value == ones(size)), "missed BAR access answered");
		return;
	}
	FUZZ_CHECK(!f->dev.called, "device called for %#llx", (unsigned long long)a);
	if (!read)
		return;
	if (io && a >= PCI_CFG_DATA_PORT && a < PCI_CFG_DATA_PORT + 4 && size <= PCI_CFG_DATA_PORT + 4 - a) {
		uint64_t cf8 = 0;
		pci_cfgaddr_access(f->bus, 0, 4, false, &cf8);
		unsigned off = (unsigned)(a - PCI_CFG_DATA_PORT);
		if (size > 4 || off % size)
			return;
		unsigned slot = (cf8 >> 11) & 31, fn = (cf8 >> 8) & 7, reg = (unsigned)(cf8 & 0xfc) + off;
		if (!(cf8 & 0x80000000u) || ((cf8 >> 16) & 0xff) || !pci_find(f->bus, slot, fn)) {
			FUZZ_CHECK(op->value == ones(size), "cfg read of nothing (cf8 %#llx) gave %#llx",
				   (unsigned long long)cf8, (unsigned long long)op->value);
			return;
		}
		uint32_t e = ecam_read(f->bus, slot, fn, reg, size);
		FUZZ_CHECK(op->value == e, "%u:%u reg %#x: cf8/cfc read %#llx, ECAM %#x", slot, fn, reg,
			   (unsigned long long)op->value, e);
	} else if (!io && a >= PCI_ECAM_BASE && a - PCI_ECAM_BASE < PCI_ECAM_SIZE &&
		   size <= PCI_ECAM_SIZE - (a - PCI_ECAM_BASE)) {
		uint64_t off = a - PCI_ECAM_BASE;
		unsigned slot = (off >> 15) & 31, fn = (off >> 12) & 7, reg = off & 0xfff;
		struct pci_func *p = pci_find(f->bus, slot, fn);
		if (!p || size > 4 || reg % size) {
			FUZZ_CHECK(op->value == ones(size), "ECAM read of nothing at %#llx gave %#llx",
				   (unsigned long long)off, (unsigned long long)op->value);
		} else if (reg >= PCI_CFG_SIZE) {
			FUZZ_CHECK(op->value == 0, "extended register %#x reads %#llx", reg, (unsigned long long)op->value);
		} else {
			uint64_t v = 0;
			memcpy(&v, p->cfg + reg, size);
			FUZZ_CHECK(op->value == v, "ECAM %u:%u reg %#x read %#llx, config holds %#llx", slot, fn, reg,
				   (unsigned long long)op->value, (unsigned long long)v);
		}
	}
}

static void after_op(void *ctx, const struct guest_op *op)
{
	struct pci_fuzz *f = ctx;
	bool access = op->kind <= GOP_MMIO_WRITE;
	if (access)
		check_access(f, op);
	f->dev.called = false;
	FUZZ_CHECK(pci_find(f->bus, TEST_SLOT, 0) == f->t && pci_cfg_get(f->t, PCI_VENDOR_ID, 4) == 0x10f01af4,
		   "test function's identity changed");
	FUZZ_CHECK(ecam_read(f->bus, 1, 0, PCI_VENDOR_ID, 2) == 0xffff, "empty slot 1 answers");
	if (!f->loaded)
		check_bars(f);
	check_intx(f);
	check_masks(f, access);
}

static void save_bus(struct pci_bus *bus, uint8_t *img, size_t *n)
{
	*n = pci_bus_save(bus, NULL, 0);
	FUZZ_CHECK(*n > 0 && *n <= BUS_IMG_MAX, "bus image of %zu bytes", *n);
	FUZZ_CHECK(pci_bus_save(bus, img, *n - 1) == 0, "save into a short buffer");
	FUZZ_CHECK(pci_bus_save(bus, img, *n) == *n, "save");
}

static void on_device(void *ctx, unsigned sub, const uint8_t *buf, size_t len)
{
	struct pci_fuzz *f = ctx;
	uint8_t a[BUS_IMG_MAX], b[BUS_IMG_MAX];
	size_t na, nb;
	switch (sub) {
	case DEV_RESET:
		pci_bus_reset(f->bus);
		for (unsigned d = 0; d < PCI_SLOTS * PCI_FUNCS; d++) {
			struct pci_func *p = pci_find(f->bus, d / PCI_FUNCS, d % PCI_FUNCS);
			if (p)
				FUZZ_CHECK(memcmp(p->cfg, p->cfg_reset, PCI_CFG_SIZE) == 0 && !p->intx_asserted,
					   "%u:%u not at power-on after reset", d / 8, d % 8);
		}
		f->loaded = false;
		break;
	case DEV_LOAD_BUS: {
		save_bus(f->bus, a, &na);
		int rc = pci_bus_load(f->bus, buf, len);
		save_bus(f->bus, b, &nb);
		if (rc == 0) {
			FUZZ_CHECK(nb == len, "a loaded image of %zu bytes saves as %zu", len, nb);
			f->loaded = true;
		} else {
			FUZZ_CHECK(rc == -EINVAL && na == nb && memcmp(a, b, na) == 0, "a refused image changed the bus");
		}
		break;
	}
	case DEV_ROUND_TRIP:
		save_bus(f->bus, a, &na);
		FUZZ_CHECK(pci_bus_load(f->bus, a, na) == 0, "own image refused");
		save_bus(f->bus, b, &nb);
		FUZZ_CHECK(na == nb && memcmp(a, b, na) == 0, "round trip changed the image");
		break;
	case DEV_LOAD_FUNC: {
		uint8_t img[PCI_FUNC_STATE_SIZE];
		FUZZ_CHECK(pci_func_save(f->t, img, sizeof(img)) == sizeof(img), "function save");
		/* The payload patches the function's own image: offset:1 then bytes. */
		if (len >= 1)
			for (size_t i = 1; i < len; i++)
				img[(buf[0] + i - 1) % sizeof(img)] = buf[i];
		if (pci_func_load(f->t, img, sizeof(img)) == 0) {
			uint8_t c[PCI_FUNC_STATE_SIZE];
			pci_func_save(f->t, c, sizeof(c));
			f->loaded = true;
			/* All but the status register, whose interrupt bit follows the device's request. */
			FUZZ_CHECK(memcmp(c, img, 4 + PCI_STATUS) == 0 &&
					   memcmp(c + 6 + PCI_STATUS, img + 6 + PCI_STATUS, sizeof(c) - 6 - PCI_STATUS) == 0,
				   "a loaded function image saves differently");
		}
		break;
	}
	case DEV_INTX: /* the device's own request, not through a BAR */
		pci_intx_set(f->t, len && (buf[0] & 1));
		break;
	case DEV_MSI: {
		unsigned vector = len ? buf[0] % 8 : 0;
		uint16_t cmd = (uint16_t)pci_cfg_get(f->t, PCI_COMMAND, 2);
		unsigned cap = f->t->msi_cap;
		uint16_t ctl = (uint16_t)pci_cfg_get(f->t, cap + PCI_MSI_FLAGS, 2);
		unsigned offered = (ctl & PCI_MSI_FLAGS_QMASK) >> 1, en = (ctl & PCI_MSI_FLAGS_QSIZE) >> 4;
		unsigned nvec = (ctl & PCI_MSI_FLAGS_ENABLE) ? 1u << (en < offered ? en : offered) : 0;
		unsigned before = f->msis;
		int rc = pci_msi_send(f->t, vector);
		bool ok = (cmd & PCI_COMMAND_MASTER) && vector < nvec;
		FUZZ_CHECK(rc == (ok ? 0 : -EAGAIN) && f->msis == before + ok, "MSI %u: rc %d", vector, rc);
		if (ok) {
			uint64_t addr = pci_cfg_get(f->t, cap + PCI_MSI_ADDRESS_LO, 4);
			if (ctl & PCI_MSI_FLAGS_64BIT)
				addr |= (uint64_t)pci_cfg_get(f->t, cap + PCI_MSI_ADDRESS_HI, 4) << 32;
			uint32_t data = pci_cfg_get(f->t, cap + ((ctl & PCI_MSI_FLAGS_64BIT) ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2);
			FUZZ_CHECK(f->msi_addr == addr && f->msi_data == ((data & ~(nvec - 1)) | vector), "MSI message");
		}
		break;
	}
	default:
		break;
	}
}

/* Machines kept between inputs (the one under test and the clone): building a bus with three
 * functions cost as much as a short input. pci_bus_reset is the whole power-on state of a bus (config,
 * INTx, the 0xcf8 latch: all a bus image holds); the test device's registers and the harness's
 * records of the lines and messages are cleared with it. */
static struct pci_fuzz *kept[2];

static void drop(struct pci_fuzz *f)
{
	pci_bus_destroy(f->bus);
	iobus_destroy(&f->pio);
	iobus_destroy(&f->mmio);
	free(f);
}

static struct pci_fuzz *machine(unsigned which)
{
	struct pci_fuzz *f = kept[which];
	if (f && fuzz_fresh_machines) {
		drop(f);
		f = kept[which] = NULL;
	}
	if (f) {
		pci_bus_reset(f->bus);
		FUZZ_CHECK(!memchr(f->gsi, true, sizeof(f->gsi)), "a line still up after the reset");
	} else {
		f = malloc(sizeof(*f));
		if (!f)
			return NULL;
		memset(f->gsi, 0, sizeof(f->gsi));
		iobus_init(&f->pio, "pio");
		iobus_init(&f->mmio, "mmio");
		if (!(f->bus = build(f, &f->pio, &f->mmio, &f->dev, &f->t))) {
			drop(f);
			return NULL;
		}
		kept[which] = f;
	}
	memset(&f->dev, 0, sizeof(f->dev));
	f->msis = 0;
	f->msi_addr = 0;
	f->msi_data = 0;
	f->loaded = false;
	return f;
}

/* A second bus built the same way and loaded from this one's image answers every config read alike. */
static void check_clone(struct pci_fuzz *f)
{
	struct pci_fuzz *g = machine(1);
	if (!g)
		return;
	uint8_t a[BUS_IMG_MAX];
	size_t na;
	save_bus(f->bus, a, &na);
	FUZZ_CHECK(pci_bus_load(g->bus, a, na) == 0, "clone refused the image");
	for (unsigned i = 0; i < 3; i++) {
		unsigned s = devfns[i] / PCI_FUNCS, fn = devfns[i] % PCI_FUNCS;
		for (unsigned r = 0; r < PCI_CFG_SIZE; r += 4)
			FUZZ_CHECK(ecam_read(f->bus, s, fn, r, 4) == ecam_read(g->bus, s, fn, r, 4),
				   "%u:%u reg %#x differs in the clone", s, fn, r);
	}
	FUZZ_CHECK(memcmp(f->gsi, g->gsi, sizeof(f->gsi)) == 0, "the clone's INTx lines differ");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pci_fuzz *f = machine(0);
	if (!f)
		return 0;
	check_bars(f);
	check_intx(f);
	check_masks(f, false);
	struct guest_ops_target t = {
		.pio = &f->pio,
		.mmio = &f->mmio,
		.pio_base = 0,
		.mmio_base = MMIO_BASE,
		.device = on_device,
		.after_op = after_op,
		.ctx = f,
	};
	guest_ops_run(&t, data, size);
	check_clone(f);
	/* What the input left behind, for the reproducer's self-test (the saves cost: only then). */
	if (!fuzz_outcome_wanted)
		return 0;
	uint8_t img[BUS_IMG_MAX];
	size_t n;
	save_bus(f->bus, img, &n);
	fuzz_outcome_add(img, n);
	fuzz_outcome_add(f->gsi, sizeof(f->gsi));
	fuzz_outcome_u64(f->msis);
	return 0;
}
