/* The capabilities list and the MSI capability: where a function's message address and data
 * live, and sending a message through the msi sink when software has enabled it. */
#include "devmodel/pci_internal.h"

#include <errno.h>

#define MSI_LEN_32 10 /* id, next, control, address, data */
#define MSI_LEN_64 14 /* id, next, control, address low and high, data */
#define MSI_MAX_VECTORS 32

int pci_add_capability(struct pci_func *f, uint8_t id, unsigned len, struct errmsg *e)
{
	unsigned off = f->cap_free;
	if (len < 2 || off + len > PCI_CFG_SIZE)
		return errmsg_set(e, ENOSPC, "%s: no room for a %u-byte capability 0x%02x in config space",
				  f->ops->name, len, id);
	pci_init_reg(f, off, 1, id);
	pci_init_reg(f, off + 1, 1, 0); /* the end of the list */
	if (f->cap_last)
		pci_init_reg(f, f->cap_last + 1, 1, off);
	else
		pci_init_reg(f, PCI_CAP_PTR, 1, off);
	pci_init_reg(f, PCI_STATUS, 2, pci_cfg_get(f, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
	f->cap_last = (uint8_t)off;
	f->cap_free = (off + len + 3) & ~3u; /* capabilities start dword aligned */
	return (int)off;
}

static unsigned log2_of(unsigned v)
{
	unsigned l = 0;
	while (v > 1) {
		v >>= 1;
		l++;
	}
	return l;
}

int pci_add_msi(struct pci_func *f, unsigned nvectors, bool addr64, struct errmsg *e)
{
	if (nvectors == 0 || nvectors > MSI_MAX_VECTORS || (nvectors & (nvectors - 1)))
		return errmsg_set(e, EINVAL, "%s: MSI with %u vectors (1, 2, 4, 8, 16 or 32)", f->ops->name, nvectors);
	if (f->msi_cap)
		return errmsg_set(e, EEXIST, "%s: MSI capability added twice", f->ops->name);
	int off = pci_add_capability(f, PCI_CAP_ID_MSI, addr64 ? MSI_LEN_64 : MSI_LEN_32, e);
	if (off < 0)
		return off;
	uint16_t control = (uint16_t)(log2_of(nvectors) << 1) | (addr64 ? PCI_MSI_FLAGS_64BIT : 0);
	pci_cfg_init(f, off + PCI_MSI_FLAGS, 2, control, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
	pci_cfg_init(f, off + PCI_MSI_ADDRESS_LO, 4, 0, 0xfffffffc); /* dword-aligned address */
	if (addr64)
		pci_cfg_init(f, off + PCI_MSI_ADDRESS_HI, 4, 0, 0xffffffff);
	pci_cfg_init(f, off + (addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2, 0, 0xffff);
	f->msi_cap = (uint8_t)off;
	return off;
}

static uint16_t msi_control(const struct pci_func *f)
{
	return (uint16_t)pci_le_get(f->cfg + f->msi_cap + PCI_MSI_FLAGS, 2);
}

bool pci_msi_enabled(const struct pci_func *f)
{
	return f->msi_cap && (msi_control(f) & PCI_MSI_FLAGS_ENABLE);
}

/* Vectors software enabled, never more than the function offers (it may write any QSIZE). */
static unsigned msi_enabled_vectors(const struct pci_func *f)
{
	uint16_t control = msi_control(f);
	unsigned offered = (control & PCI_MSI_FLAGS_QMASK) >> 1, enabled = (control & PCI_MSI_FLAGS_QSIZE) >> 4;
	return 1u << (enabled < offered ? enabled : offered);
}

int pci_msi_send(struct pci_func *f, unsigned vector)
{
	struct pci_bus *bus = f->bus;
	pci_lock(bus);
	uint16_t cmd = (uint16_t)pci_le_get(f->cfg + PCI_COMMAND, 2);
	unsigned nvec = pci_msi_enabled(f) ? msi_enabled_vectors(f) : 0;
	/* A message is a memory write by the function: without bus mastering it cannot make one. */
	if (!(cmd & PCI_COMMAND_MASTER) || vector >= nvec) {
		pci_unlock(bus);
		return -EAGAIN;
	}
	const uint8_t *cap = f->cfg + f->msi_cap;
	bool addr64 = msi_control(f) & PCI_MSI_FLAGS_64BIT;
	uint64_t addr = pci_le_get(cap + PCI_MSI_ADDRESS_LO, 4);
	if (addr64)
		addr |= (uint64_t)pci_le_get(cap + PCI_MSI_ADDRESS_HI, 4) << 32;
	uint32_t data = pci_le_get(cap + (addr64 ? PCI_MSI_DATA_64 : PCI_MSI_DATA_32), 2);
	/* With several vectors enabled the function puts the vector number in the low data bits. */
	data = (data & ~(nvec - 1)) | vector;
	pci_unlock(bus);
	if (bus->cfg.msi.send)
		bus->cfg.msi.send(bus->cfg.msi.ctx, addr, data);
	return 0;
}
