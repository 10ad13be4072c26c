/* MSI-X: the capability in config space, the table and PBA behind a device's BAR, the per-entry
 * and function masks with their pending bits, and messages out through the bus's msi sink. */
#include "devmodel/pci_msix.h"

#include <errno.h>
#include <string.h>

#include "devmodel/pci_internal.h"

static uint16_t control(const struct pci_func *f)
{
	return (uint16_t)pci_le_get(f->cfg + f->msix_cap + PCI_MSIX_FLAGS, 2);
}

bool pci_msix_enabled(const struct pci_func *f)
{
	return f->msix_cap && (control(f) & PCI_MSIX_FLAGS_ENABLE);
}

int pci_msix_init(struct pci_msix *m, struct pci_func *f, unsigned nvec, unsigned bar, uint32_t table_off,
		  uint32_t pba_off, struct errmsg *e)
{
	if (nvec == 0 || nvec > PCI_MSIX_MAX_VECTORS || bar >= PCI_NBARS || (table_off & 7) || (pba_off & 7))
		return errmsg_set(e, EINVAL, "%s: MSI-X with %u vectors in BAR %u", f->ops->name, nvec, bar);
	if (f->msix_cap)
		return errmsg_set(e, EEXIST, "%s: MSI-X capability added twice", f->ops->name);
	int off = pci_add_capability(f, PCI_CAP_ID_MSIX, PCI_MSIX_CAP_LEN, e);
	if (off < 0)
		return off;
	pci_cfg_init(f, (unsigned)off + PCI_MSIX_FLAGS, 2, nvec - 1, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_cfg_init(f, (unsigned)off + PCI_MSIX_TABLE, 4, table_off | bar, 0);
	pci_cfg_init(f, (unsigned)off + PCI_MSIX_PBA, 4, pba_off | bar, 0);
	f->msix_cap = (uint8_t)off;
	memset(m, 0, sizeof(*m));
	m->f = f;
	m->nvec = nvec;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	pci_msix_reset(m);
	return off;
}

void pci_msix_reset(struct pci_msix *m)
{
	pci_lock(m->f->bus);
	memset(m->table, 0, sizeof(m->table));
	for (unsigned i = 0; i < PCI_MSIX_MAX_VECTORS; i++)
		m->table[i][3] = PCI_MSIX_ENTRY_CTRL_MASKBIT; /* entries come up masked (PCI 3.0, 6.8.2.9) */
	m->pending = 0;
	pci_unlock(m->f->bus);
}

static bool masked(const struct pci_msix *m, unsigned v)
{
	return (control(m->f) & PCI_MSIX_FLAGS_MASKALL) || (m->table[v][3] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

/* With the bus lock held. */
static int send_locked(struct pci_msix *m, unsigned v)
{
	struct pci_func *f = m->f;
	uint16_t cmd = (uint16_t)pci_le_get(f->cfg + PCI_COMMAND, 2);
	/* A message is a memory write by the function: without bus mastering it cannot make one. */
	if (v >= m->nvec || !pci_msix_enabled(f) || !(cmd & PCI_COMMAND_MASTER))
		return -EAGAIN;
	if (masked(m, v)) {
		m->pending |= 1ull << v;
		return 1;
	}
	m->pending &= ~(1ull << v);
	uint64_t addr = m->table[v][0] | (uint64_t)m->table[v][1] << 32;
	if (f->bus->cfg.msi.send)
		f->bus->cfg.msi.send(f->bus->cfg.msi.ctx, addr, m->table[v][2]);
	return 0;
}

int pci_msix_send(struct pci_msix *m, unsigned vector)
{
	pci_lock(m->f->bus);
	int rc = send_locked(m, vector);
	pci_unlock(m->f->bus);
	return rc;
}

/* What a mask change released. */
static void send_unmasked_pending(struct pci_msix *m)
{
	for (unsigned v = 0; v < m->nvec; v++)
		if ((m->pending >> v & 1) && !masked(m, v))
			send_locked(m, v);
}

bool pci_msix_access(struct pci_msix *m, uint64_t off, unsigned size, bool is_write, uint64_t *val)
{
	uint64_t table_len = (uint64_t)m->nvec * PCI_MSIX_ENTRY_SIZE, pba_len = 8;
	bool in_table = off >= m->table_off && off - m->table_off < table_len;
	bool in_pba = off >= m->pba_off && off - m->pba_off < pba_len;
	if (!in_table && !in_pba)
		return false;
	uint64_t v = 0;
	bool ok = (size == 4 || size == 8) && (off & (size - 1)) == 0;
	pci_lock(m->f->bus);
	if (ok && in_pba && !is_write) {
		v = m->pending >> (8 * (off - m->pba_off));
	} else if (ok && in_table) {
		uint64_t rel = off - m->table_off;
		unsigned e = (unsigned)(rel / PCI_MSIX_ENTRY_SIZE), w = (unsigned)(rel % PCI_MSIX_ENTRY_SIZE) / 4;
		if (!is_write) {
			v = m->table[e][w];
			if (size == 8)
				v |= (uint64_t)m->table[e][w + 1] << 32;
		} else {
			for (unsigned i = 0; i < size / 4; i++)
				m->table[e][w + i] = (uint32_t)(*val >> (32 * i));
			m->table[e][3] &= PCI_MSIX_ENTRY_CTRL_MASKBIT; /* the other control bits are reserved */
			send_unmasked_pending(m);
		}
	}
	pci_unlock(m->f->bus);
	if (!is_write)
		*val = size == 8 ? v : (uint32_t)v;
	return true;
}

bool pci_msix_cfg_write(struct pci_msix *m, unsigned reg, unsigned size, uint32_t val)
{
	struct pci_func *f = m->f;
	unsigned ctl = f->msix_cap + PCI_MSIX_FLAGS;
	if (!f->msix_cap || reg + size <= ctl || reg >= ctl + 2)
		return false;
	/* Called from the bus's config write, under its lock: apply the masks as the bus would. */
	for (unsigned i = 0; i < size; i++) {
		unsigned r = reg + i;
		uint8_t b = (uint8_t)(val >> (8 * i));
		f->cfg[r] = (uint8_t)((f->cfg[r] & ~f->wmask[r]) | (b & f->wmask[r]));
	}
	send_unmasked_pending(m);
	return true;
}

void pci_msix_snapshot(struct pci_msix *m, uint32_t table[PCI_MSIX_MAX_VECTORS][4], uint64_t *pending, bool load)
{
	pci_lock(m->f->bus);
	if (load) {
		memcpy(m->table, table, sizeof(m->table));
		m->pending = *pending & (m->nvec < 64 ? (1ull << m->nvec) - 1 : ~0ull);
	} else {
		memcpy(table, m->table, sizeof(m->table));
		*pending = m->pending;
	}
	pci_unlock(m->f->bus);
}
