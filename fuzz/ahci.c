/* Fuzz target ahci: an AHCI HBA (devmodel/ahci*.c) with a disk on port 0 and a CD on port 1,
 * RAM-disk back-ends and 64 KiB of guest RAM, driven through BAR 5 and guest memory by guest
 * operations; after every operation, the HBA's state must be one the specification allows. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/gmem.h"
#include "devmodel/ahci_internal.h"
#include "devmodel/iobus.h"
#include "devmodel/pci.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/guest_ops.h"
#include "fuzz/guest_ram.h"

#define RAM_SIZE 65536
#define HD_BYTES (128u * 512)
#define CD_BYTES (24u * 2048)
#define SLOT 4
#define GSI (PCI_INTX_GSI_BASE + SLOT)
#define IMG_MAX 1024

/* Device actions (GOP_DEVICE sub-operations): fuzz/README.md lists them. */
enum { DEV_RESET, DEV_LOAD, DEV_ROUNDTRIP, DEV_PATCH, DEV_MSI, DEV_FAIL };

/* An in-memory disk that checks what the device asks of it: every access inside the disk, never
 * a write to a read-only one. fail makes reads (bit 0), writes (1), flushes (2) fail with EIO. */
struct ramdisk {
	uint8_t *data;
	size_t size;
	bool ro;
	unsigned fail;
	unsigned long writes;
	bool dirty; /* written since it was last zeroed */
};

static int rd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct ramdisk *d = ctx;
	FUZZ_CHECK(off <= d->size && len <= d->size - off, "read of %zu at %llu past the disk", len,
		   (unsigned long long)off);
	if (d->fail & 1)
		return -EIO;
	memcpy(buf, d->data + off, len);
	return 0;
}

static int rd_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct ramdisk *d = ctx;
	FUZZ_CHECK(!d->ro, "write to a read-only disk");
	FUZZ_CHECK(off <= d->size && len <= d->size - off, "write of %zu at %llu past the disk", len,
		   (unsigned long long)off);
	if (d->fail & 2)
		return -EIO;
	memcpy(d->data + off, buf, len);
	d->writes++;
	d->dirty = true;
	return 0;
}

static int rd_flush(void *ctx)
{
	struct ramdisk *d = ctx;
	return d->fail & 4 ? -EIO : 0;
}

static int rd_discard(void *ctx, uint64_t off, uint64_t len)
{
	struct ramdisk *d = ctx;
	FUZZ_CHECK(!d->ro, "discard on a read-only disk");
	FUZZ_CHECK(off <= d->size && len <= d->size - off, "discard past the disk");
	memset(d->data + off, 0, len);
	d->dirty = true;
	return 0;
}

static void rd_close(void *ctx)
{
	(void)ctx; /* the harness owns the ramdisk */
}

static const struct blk_backend_ops rd_ops = {
	.read = rd_read, .write = rd_write, .flush = rd_flush, .discard = rd_discard, .close = rd_close,
};

struct ahci_fuzz {
	struct iobus mmio;
	struct pci_bus *bus;
	struct pci_func *f;
	struct ahci *a;
	uint8_t *ram;
	struct gmem mem;
	struct ramdisk hd, cd;
	struct blk_backend hd_be, cd_be;
	bool line;      /* the INTx level the sink heard */
	bool snapshots; /* the input saved or loaded: check a clone at the end */
	unsigned msis;
	uint8_t clean[IMG_MAX]; /* the HBA's power-on image, which each input starts from */
	struct guest_ram_dirty dirty; /* the RAM pages an input wrote */
	size_t nclean;
};

static void intx_sink(void *ctx, unsigned gsi, bool level)
{
	struct ahci_fuzz *z = ctx;
	fuzz_irq_change(&z->line, gsi, GSI, level);
}

static void msi_sink(void *ctx, uint64_t addr, uint32_t data)
{
	struct ahci_fuzz *z = ctx;
	FUZZ_CHECK(pci_msi_enabled(z->f), "MSI sent while disabled");
	(void)addr, (void)data;
	z->msis++;
}

static struct pci_bus *build(struct ahci_fuzz *z)
{
	struct errmsg e;
	struct pci_bus_config cfg = { .mmio = &z->mmio, .irq = { intx_sink, z }, .msi = { msi_sink, z }, .mem = &z->mem };
	struct pci_bus *bus = pci_bus_create(&cfg, &e);
	if (!bus)
		return NULL;
	z->hd_be = (struct blk_backend){ .ops = &rd_ops, .ctx = &z->hd, .size = z->hd.size };
	z->cd_be = (struct blk_backend){ .ops = &rd_ops, .ctx = &z->cd, .size = z->cd.size, .ro = true };
	/* ahci_add frees the blk_backend structs it is given: hand it heap copies. */
	struct blk_backend *hd = malloc(sizeof(*hd)), *cd = malloc(sizeof(*cd));
	if (!hd || !cd) {
		free(hd);
		free(cd);
		pci_bus_destroy(bus);
		return NULL;
	}
	*hd = z->hd_be;
	*cd = z->cd_be;
	struct ahci_port_conf ports[2] = { { .be = hd, .serial = "FUZZHD" }, { .atapi = true, .be = cd } };
	if (ahci_add(bus, SLOT, 0, ports, 2, &z->a, &e) < 0) {
		pci_bus_destroy(bus);
		return NULL;
	}
	z->f = pci_find(bus, SLOT, 0);
	return bus;
}

static uint32_t reg(struct ahci_fuzz *z, unsigned off)
{
	uint64_t v = 0;
	FUZZ_CHECK(iobus_access(&z->mmio, pci_bar_addr(z->f, AHCI_BAR) + off, 4, false, &v) == 0, "BAR read refused");
	return (uint32_t)v;
}

/* What the specification and this model promise after every operation (read from the state
 * directly: going through the bus for every register took most of the time; check_clone reads
 * the registers through the bus once at the end). */
static void check_state(struct ahci_fuzz *z)
{
	struct ahci *a = z->a;
	uint32_t ghc = a->ghc, is = a->is;
	FUZZ_CHECK(ghc & (1u << 31), "GHC.AE clear");
	FUZZ_CHECK(!(ghc & ~((1u << 31) | 2u)), "GHC %#x", ghc);
	FUZZ_CHECK(!(is & ~3u), "IS %#x names ports that do not exist", is);
	bool level = (ghc & 2) && is;
	FUZZ_CHECK(a->irq_level == level && z->f->intx_asserted == level, "INTx %d, IS %#x GHC %#x", a->irq_level, is, ghc);
	for (unsigned p = 0; p < 2; p++) {
		const struct ahci_port_state *s = &a->port[p].st;
		uint32_t cmd = s->cmd, ci = s->ci, sact = s->sact, pis = s->is, pie = s->ie;
		FUZZ_CHECK(!!(cmd & (1u << 15)) == !!(cmd & 1), "port %u: CR %#x does not follow ST", p, cmd);
		FUZZ_CHECK(!!(cmd & (1u << 14)) == !!(cmd & (1u << 4)), "port %u: FR does not follow FRE", p);
		FUZZ_CHECK((cmd & 6) == 6, "port %u: SUD/POD clear", p);
		if (!(cmd & 1))
			FUZZ_CHECK(!ci && !sact && !s->stopped, "port %u stopped with CI %#x SACT %#x", p, ci, sact);
		/* Commands run inside the CI write: an issued slot left over means the port stopped on it. */
		FUZZ_CHECK(!ci || s->stopped, "port %u: CI %#x left without an error", p, ci);
		if (pis & pie)
			FUZZ_CHECK(is & (1u << p), "port %u: PxIS&PxIE %#x without IS", p, pis & pie);
		FUZZ_CHECK(!(pis & ~0xfdc000ffu), "port %u: PxIS %#x", p, pis);
		FUZZ_CHECK(s->sig == (p ? ATA_SIG_ATAPI : ATA_SIG_DISK), "port %u: signature", p);
		FUZZ_CHECK(s->ncq_tag < 32 && s->stopped <= 1, "port %u: state out of range", p);
	}
	FUZZ_CHECK(z->cd.writes == 0, "the CD was written");
}

static void load_image(struct ahci_fuzz *z, const uint8_t *img, size_t len)
{
	uint8_t before[IMG_MAX], after[IMG_MAX];
	size_t n = ahci_save(z->a, NULL, 0);
	FUZZ_CHECK(n <= IMG_MAX, "image of %zu bytes", n);
	FUZZ_CHECK(ahci_save(z->a, before, sizeof(before)) == n, "save failed");
	int rc = ahci_load(z->a, img, len);
	FUZZ_CHECK(ahci_save(z->a, after, sizeof(after)) == n, "save failed");
	if (rc < 0) {
		FUZZ_CHECK(rc == -EINVAL, "load returned %d", rc);
		FUZZ_CHECK(memcmp(before, after, n) == 0, "a refused image changed the state");
	} else {
		FUZZ_CHECK(len == n && memcmp(img, after, n) == 0, "an accepted image did not load exactly");
	}
}

static void on_device(void *ctx, unsigned sub, const uint8_t *buf, size_t len)
{
	struct ahci_fuzz *z = ctx;
	uint8_t img[IMG_MAX];
	size_t n = ahci_save(z->a, NULL, 0);
	z->snapshots |= sub == DEV_LOAD || sub == DEV_ROUNDTRIP || sub == DEV_PATCH;
	switch (sub) {
	case DEV_RESET:
		pci_bus_reset(z->bus);
		FUZZ_CHECK(!z->a->irq_level && !z->line, "interrupt still up after reset");
		break;
	case DEV_LOAD:
		load_image(z, buf, len);
		break;
	case DEV_ROUNDTRIP:
		FUZZ_CHECK(ahci_save(z->a, img, sizeof(img)) == n, "save failed");
		load_image(z, img, n);
		FUZZ_CHECK(ahci_save(z->a, img, 1) == 0, "save into a short buffer wrote");
		break;
	case DEV_PATCH:
		/* A valid image with bytes changed: the closest thing to a hostile snapshot. */
		ahci_save(z->a, img, sizeof(img));
		if (len >= 1) {
			size_t off = buf[0] % n, k = len - 1 < n - off ? len - 1 : n - off;
			memcpy(img + off, buf + 1, k);
		}
		load_image(z, img, n);
		break;
	case DEV_MSI: {
		/* MSI on (payload[0] bit 0) or off, bus mastering on. */
		unsigned cap = z->f->msi_cap;
		uint64_t v = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
		pci_ecam_access(z->bus, SLOT << 15 | PCI_COMMAND, 2, true, &v);
		v = 0xfee00000;
		pci_ecam_access(z->bus, SLOT << 15 | (cap + PCI_MSI_ADDRESS_LO), 4, true, &v);
		v = len && (buf[0] & 1) ? PCI_MSI_FLAGS_ENABLE : 0;
		pci_ecam_access(z->bus, SLOT << 15 | (cap + PCI_MSI_FLAGS), 2, true, &v);
		break;
	}
	case DEV_FAIL:
		z->hd.fail = len ? buf[0] & 7 : 0;
		z->cd.fail = len ? (buf[0] >> 3) & 7 : 0;
		break;
	default:
		break;
	}
}

static void after_op(void *ctx, const struct guest_op *op)
{
	struct ahci_fuzz *z = ctx;
	uint64_t off = op->addr - pci_bar_addr(z->f, AHCI_BAR);
	/* Inside the BAR every access is taken (outside it, the bus decides). */
	if ((op->kind == GOP_MMIO_READ || op->kind == GOP_MMIO_WRITE) && off < AHCI_BAR_SIZE &&
	    off + op->size <= AHCI_BAR_SIZE && (z->f->cfg[PCI_COMMAND] & PCI_COMMAND_MEMORY))
		FUZZ_CHECK(op->rc == 0, "MMIO access at BAR offset %#llx refused: %d", (unsigned long long)off, op->rc);
	check_state(z);
}

/* A second HBA loaded from this one's image answers every register read alike. */
static void check_clone(struct ahci_fuzz *z)
{
	struct ahci_fuzz *g = calloc(1, sizeof(*g));
	uint8_t img[IMG_MAX];
	if (!g)
		return;
	iobus_init(&g->mmio, "mmio");
	g->mem = z->mem;
	g->hd = (struct ramdisk){ .data = z->hd.data, .size = z->hd.size };
	g->cd = (struct ramdisk){ .data = z->cd.data, .size = z->cd.size, .ro = true };
	g->bus = build(g);
	if (g->bus) {
		size_t n = ahci_save(z->a, img, sizeof(img));
		FUZZ_CHECK(ahci_load(g->a, img, n) == 0, "the clone refused the image");
		for (unsigned off = 0; off < 0x200; off += 4)
			FUZZ_CHECK(reg(z, off) == reg(g, off), "register %#x differs in the clone", off);
		pci_bus_destroy(g->bus);
	}
	iobus_destroy(&g->mmio);
	free(g);
}

/* The machine, kept between inputs: a fresh PCI bus, HBA, guest RAM and two RAM disks cost
 * ~130 us an input. Each input gets it back at power-on: the machine's reset, the HBA's power-on
 * image, guest RAM zeroed, the disk zeroed when it was written, the harness's counters cleared. */
static struct ahci_fuzz *kept;

static void drop(struct ahci_fuzz *z)
{
	pci_bus_destroy(z->bus);
	iobus_destroy(&z->mmio);
	guest_ram_free(z->ram, RAM_SIZE);
	free(z->hd.data);
	free(z->cd.data);
	free(z);
}

static struct ahci_fuzz *create(void)
{
	struct ahci_fuzz *z = calloc(1, sizeof(*z));
	if (!z)
		return NULL;
	iobus_init(&z->mmio, "mmio");
	z->ram = guest_ram_alloc(RAM_SIZE);
	/* Zero-filled disks: filling them with a pattern cost more than a short input's run. */
	z->hd = (struct ramdisk){ .data = calloc(1, HD_BYTES), .size = HD_BYTES };
	z->cd = (struct ramdisk){ .data = calloc(1, CD_BYTES), .size = CD_BYTES, .ro = true };
	if (z->ram && z->hd.data && z->cd.data) {
		gmem_init_flat(&z->mem, z->ram, RAM_SIZE);
		guest_ram_track(&z->dirty, &z->mem, RAM_SIZE);
		z->bus = build(z);
	}
	if (!z->bus) {
		drop(z);
		return NULL;
	}
	z->nclean = ahci_save(z->a, z->clean, sizeof(z->clean));
	FUZZ_CHECK(z->nclean > 0, "no power-on image");
	return z;
}

static struct ahci_fuzz *machine(void)
{
	if (kept && fuzz_fresh_machines) {
		drop(kept);
		kept = NULL;
	}
	if (!kept)
		return kept = create();
	struct ahci_fuzz *z = kept;
	pci_bus_reset(z->bus);
	FUZZ_CHECK(ahci_load(z->a, z->clean, z->nclean) == 0, "the power-on image refused");
	FUZZ_CHECK(!z->a->irq_level && !z->line, "interrupt still up after reset");
	guest_ram_zero_dirty(&z->dirty, z->ram);
	if (z->hd.dirty)
		memset(z->hd.data, 0, HD_BYTES);
	z->hd.dirty = false;
	z->hd.fail = z->cd.fail = 0;
	z->hd.writes = z->cd.writes = 0;
	z->snapshots = false;
	z->msis = 0;
	return z;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ahci_fuzz *z = machine();
	if (!z)
		return 0;
	check_state(z);
	struct guest_ops_target t = {
		.mmio = &z->mmio,
		.mmio_base = pci_bar_addr(z->f, AHCI_BAR),
		.mem = &z->mem,
		.device = on_device,
		.after_op = after_op,
		.ctx = z,
	};
	guest_ops_run(&t, data, size);
	/* A second bus and HBA cost more than most inputs: only for those that used snapshots. */
	if (z->snapshots)
		check_clone(z);
	/* What the input left behind, for the reproducer's self-test (the saves cost: only then). */
	if (!fuzz_outcome_wanted)
		return 0;
	uint8_t img[IMG_MAX];
	fuzz_outcome_add(img, ahci_save(z->a, img, sizeof(img)));
	fuzz_outcome_add(z->ram, RAM_SIZE);
	fuzz_outcome_add(z->hd.data, HD_BYTES);
	fuzz_outcome_u64((uint64_t)z->msis << 1 | z->line);
	return 0;
}
