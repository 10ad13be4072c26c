/* Snapshots of the PCI bus: each function's config space and INTx level, and the 0xcf8 latch,
 * in a fixed, versioned byte layout (little-endian), checked whole before anything is applied. */
#include "devmodel/pci_internal.h"

#include <errno.h>
#include <string.h>

/* Function image, version 1:
 *   0 version (1)   1 slot   2 function   3 flags (bit 0: INTx asserted)   4..259 config space
 * Bus image, version 1:
 *   0 version (1)   1..4 the 0xcf8 latch   5..6 number of functions   7.. their images, by
 *   slot then function. */
#define SNAP_VERSION 1
#define FLAG_INTX 0x01
#define BUS_HEADER 7

/* The bytes that say which device an image is of; a load into another device is refused. */
static bool same_identity(const struct pci_func *f, const uint8_t *cfg)
{
	return memcmp(cfg + PCI_VENDOR_ID, f->cfg + PCI_VENDOR_ID, 4) == 0 &&
	       cfg[PCI_HEADER_TYPE] == f->cfg[PCI_HEADER_TYPE] &&
	       cfg[PCI_INTERRUPT_PIN] == f->cfg[PCI_INTERRUPT_PIN];
}

static bool image_ok(const struct pci_func *f, const uint8_t *p)
{
	return p[0] == SNAP_VERSION && p[1] == f->slot && p[2] == f->fn && (p[3] & ~FLAG_INTX) == 0 &&
	       same_identity(f, p + 4);
}

static void put_image(const struct pci_func *f, uint8_t *p)
{
	p[0] = SNAP_VERSION;
	p[1] = (uint8_t)f->slot;
	p[2] = (uint8_t)f->fn;
	p[3] = f->intx_asserted ? FLAG_INTX : 0;
	memcpy(p + 4, f->cfg, PCI_CFG_SIZE);
}

/* Under the bus lock. The old level is withdrawn first, so the GSI counts stay right. */
static void apply_image(struct pci_func *f, const uint8_t *p)
{
	f->intx_asserted = false;
	pci_intx_update(f);
	memcpy(f->cfg, p + 4, PCI_CFG_SIZE);
	f->intx_asserted = p[3] & FLAG_INTX;
	pci_func_changed(f);
}

size_t pci_func_save(const struct pci_func *f, void *buf, size_t len)
{
	if (!buf)
		return PCI_FUNC_STATE_SIZE;
	if (len < PCI_FUNC_STATE_SIZE)
		return 0;
	pci_lock(f->bus);
	put_image(f, buf);
	pci_unlock(f->bus);
	return PCI_FUNC_STATE_SIZE;
}

int pci_func_load(struct pci_func *f, const void *buf, size_t len)
{
	if (!buf || len != PCI_FUNC_STATE_SIZE || !image_ok(f, buf))
		return -EINVAL;
	pci_lock(f->bus);
	apply_image(f, buf);
	pci_unlock(f->bus);
	return 0;
}

static unsigned count_funcs(const struct pci_bus *bus)
{
	unsigned n = 0;
	for (unsigned d = 0; d < PCI_DEVFNS; d++)
		n += bus->func[d] != NULL;
	return n;
}

size_t pci_bus_save(struct pci_bus *bus, void *buf, size_t len)
{
	pci_lock(bus);
	unsigned n = count_funcs(bus);
	size_t need = BUS_HEADER + (size_t)n * PCI_FUNC_STATE_SIZE;
	if (buf && len >= need) {
		uint8_t *p = buf;
		p[0] = SNAP_VERSION;
		pci_le_put(p + 1, 4, bus->cfgaddr);
		pci_le_put(p + 5, 2, n);
		p += BUS_HEADER;
		for (unsigned d = 0; d < PCI_DEVFNS; d++) {
			if (bus->func[d]) {
				put_image(bus->func[d], p);
				p += PCI_FUNC_STATE_SIZE;
			}
		}
	}
	pci_unlock(bus);
	return !buf ? need : len >= need ? need : 0;
}

/* Every image must match the function in the same place of the bus's order. */
static bool bus_image_ok(const struct pci_bus *bus, const uint8_t *p, size_t len)
{
	unsigned n = count_funcs(bus);
	if (len != BUS_HEADER + (size_t)n * PCI_FUNC_STATE_SIZE || p[0] != SNAP_VERSION || pci_le_get(p + 5, 2) != n)
		return false;
	p += BUS_HEADER;
	for (unsigned d = 0; d < PCI_DEVFNS; d++) {
		if (!bus->func[d])
			continue;
		if (!image_ok(bus->func[d], p))
			return false;
		p += PCI_FUNC_STATE_SIZE;
	}
	return true;
}

int pci_bus_load(struct pci_bus *bus, const void *buf, size_t len)
{
	if (!buf || len < BUS_HEADER)
		return -EINVAL;
	pci_lock(bus);
	if (!bus_image_ok(bus, buf, len)) {
		pci_unlock(bus);
		return -EINVAL;
	}
	const uint8_t *p = buf;
	bus->cfgaddr = pci_le_get(p + 1, 4) & PCI_CFGADDR_KEPT;
	p += BUS_HEADER;
	for (unsigned d = 0; d < PCI_DEVFNS; d++) {
		if (bus->func[d]) {
			apply_image(bus->func[d], p);
			p += PCI_FUNC_STATE_SIZE;
		}
	}
	pci_unlock(bus);
	return 0;
}
