/* Config space as the guest reaches it: mechanism #1 (the 0xcf8 latch and the 0xcfc-0xcff
 * window), ECAM, and the standard header's write rules (masks, write-1-to-clear, BARs). */
#include "devmodel/pci_internal.h"

#include <errno.h>

#define CFGADDR_ENABLE   0x80000000u
#define RESET_CTL_OFFSET 1 /* 0xcf9 within the latch's four ports */

static bool cfg_size_ok(unsigned size)
{
	return size == 1 || size == 2 || size == 4;
}

/* Unaligned and odd-sized config accesses read all-ones and are dropped, as bhyve does: the
 * PCI spec leaves them undefined and no OS makes them. */
static bool cfg_access_ok(unsigned reg, unsigned size)
{
	return cfg_size_ok(size) && (reg & (size - 1)) == 0 && reg + size <= PCI_ECAM_FUNC_SIZE;
}

uint32_t pci_config_read(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size)
{
	struct pci_func *f = pci_find(bus, slot, fn);
	if (!f || !cfg_access_ok(reg, size))
		return (uint32_t)pci_size_mask(size); /* master abort: nobody answers */
	uint32_t v;
	if (f->ops->cfg_read && f->ops->cfg_read(f, reg, size, &v))
		return v & (uint32_t)pci_size_mask(size);
	if (reg >= PCI_CFG_SIZE)
		return 0;
	return pci_le_get(f->cfg + reg, size);
}

/* Every byte by its masks: writable bits take the new value, write-1-to-clear bits clear. */
static void masked_write(struct pci_func *f, unsigned reg, unsigned size, uint32_t val)
{
	for (unsigned i = 0; i < size; i++) {
		unsigned r = reg + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		f->cfg[r] = (uint8_t)((f->cfg[r] & ~f->wmask[r]) | (b & f->wmask[r]));
		f->cfg[r] &= (uint8_t)~(b & f->w1cmask[r]);
	}
}

static bool is_bar_reg(unsigned reg)
{
	return reg >= PCI_BAR0 && reg < PCI_BAR0 + 4 * PCI_NBARS;
}

/* A byte or word write to a BAR changes those bytes of the dword; the BAR then masks the whole. */
static void bar_reg_write(struct pci_func *f, unsigned reg, unsigned size, uint32_t val)
{
	unsigned dword = reg & ~3u, shift = 8 * (reg & 3);
	uint32_t lanes = (uint32_t)(pci_size_mask(size) << shift);
	uint32_t merged = (pci_le_get(f->cfg + dword, 4) & ~lanes) | ((val << shift) & lanes);
	pci_bar_write(f, (dword - PCI_BAR0) / 4, merged);
}

void pci_config_write(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size,
		      uint32_t val)
{
	struct pci_func *f = pci_find(bus, slot, fn);
	if (!f || !cfg_access_ok(reg, size))
		return;
	val &= (uint32_t)pci_size_mask(size);
	if (f->ops->cfg_write && f->ops->cfg_write(f, reg, size, val)) {
		pci_func_changed(f);
		return;
	}
	if (reg >= PCI_CFG_SIZE)
		return;
	if (is_bar_reg(reg))
		bar_reg_write(f, reg, size, val);
	else
		masked_write(f, reg, size, val);
	/* Command (decode, INTX_DISABLE), BARs and MSI enable all change routing: recompute. */
	pci_func_changed(f);
}

/* One access on bus 0 at slot:fn:reg, or all-ones when nothing decodes it. */
static void config_access(struct pci_bus *bus, bool decoded, unsigned slot, unsigned fn, unsigned reg,
			  unsigned size, bool is_write, uint64_t *val)
{
	if (!decoded) {
		if (!is_write)
			*val = pci_size_mask(size);
		return;
	}
	if (is_write)
		pci_config_write(bus, slot, fn, reg, size, (uint32_t)*val);
	else
		*val = pci_config_read(bus, slot, fn, reg, size);
}

int pci_cfgaddr_access(void *opaque, uint64_t off, unsigned size, bool is_write, uint64_t *val)
{
	struct pci_bus *bus = opaque;
	if (off == RESET_CTL_OFFSET && size == 1 && bus->cfg.reset_port)
		return bus->cfg.reset_port(bus->cfg.reset_ctx, 0, 1, is_write, val);
	/* Only whole-dword accesses reach the latch (bhyve and QEMU agree); anything narrower
	 * reads all-ones and is dropped. */
	if (off != 0 || size != 4) {
		if (!is_write)
			*val = pci_size_mask(size);
		return 0;
	}
	pci_lock(bus);
	if (is_write)
		bus->cfgaddr = (uint32_t)*val & PCI_CFGADDR_KEPT;
	else
		*val = bus->cfgaddr;
	pci_unlock(bus);
	return 0;
}

int pci_cfgdata_access(void *opaque, uint64_t off, unsigned size, bool is_write, uint64_t *val)
{
	struct pci_bus *bus = opaque;
	if (off >= 4 || !cfg_size_ok(size) || (off & (size - 1)) != 0) {
		if (!is_write)
			*val = pci_size_mask(size);
		return 0;
	}
	pci_lock(bus);
	uint32_t a = bus->cfgaddr;
	unsigned busno = (a >> 16) & 0xff, slot = (a >> 11) & 0x1f, fn = (a >> 8) & 7;
	unsigned reg = (a & 0xfc) + (unsigned)off;
	config_access(bus, (a & CFGADDR_ENABLE) && busno == 0, slot, fn, reg, size, is_write, val);
	pci_unlock(bus);
	return 0;
}

int pci_ecam_access(void *opaque, uint64_t off, unsigned size, bool is_write, uint64_t *val)
{
	struct pci_bus *bus = opaque;
	/* Only bus 0's megabyte is claimed; anything past it (a direct caller) is another bus. */
	bool decoded = off < PCI_ECAM_SIZE && size <= 4;
	unsigned slot = (off >> 15) & 0x1f, fn = (off >> 12) & 7, reg = off & 0xfff;
	pci_lock(bus);
	config_access(bus, decoded, slot, fn, reg, size, is_write, val);
	pci_unlock(bus);
	return 0;
}
