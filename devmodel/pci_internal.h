/* The PCI bus's own state and the calls its files (pci*.c) share; devices use pci.h only.
 * One recursive lock guards config space, the 0xcf8 latch, INTx counts and the BAR decode table. */
#ifndef DHYVE_DEVMODEL_PCI_INTERNAL_H
#define DHYVE_DEVMODEL_PCI_INTERNAL_H

#include <pthread.h>

#include "devmodel/pci.h"

#define PCI_DEVFNS (PCI_SLOTS * PCI_FUNCS)
/* What the 0xcf8 latch keeps: enable, bus, device, function, dword register. Bits 30-24 are
 * reserved and the low two bits always read 0 (Linux's type-1 probe writes 0x80000000 and
 * expects to read just that back). */
#define PCI_CFGADDR_KEPT 0x80fffffcu

/* One enabled BAR inside its window: [base, end). Rebuilt whenever a BAR or command register
 * changes, so an exit searches only what decodes now. */
struct pci_decode {
	uint64_t base, end;
	struct pci_func *f;
	unsigned bar;
};

struct pci_decode_table {
	struct pci_decode e[PCI_DEVFNS * PCI_NBARS];
	unsigned n;
};

struct pci_bus {
	struct pci_bus_config cfg;
	pthread_mutex_t lock;
	struct pci_func *func[PCI_DEVFNS]; /* by devfn = slot * 8 + fn */
	uint32_t cfgaddr;                  /* the 0xcf8 latch */
	unsigned gsi_users[PCI_INTX_GSI_COUNT]; /* functions driving each INTx GSI high */
	uint64_t io_next, mem_next;        /* firmware-style BAR allocators */
	struct pci_decode_table io, mem;
	/* Functions with a poll_input hook, so an exit's poll does not scan all 256 devfns. */
	struct pci_func *pollers[PCI_DEVFNS];
	unsigned npollers;
};

static inline unsigned pci_devfn(unsigned slot, unsigned fn)
{
	return slot * PCI_FUNCS + fn;
}

static inline uint32_t pci_le_get(const uint8_t *p, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

static inline void pci_le_put(uint8_t *p, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t pci_size_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

void pci_lock(struct pci_bus *bus);
void pci_unlock(struct pci_bus *bus);

/* pci_config.c: one config access to slot:fn; absent functions read all-ones. */
uint32_t pci_config_read(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size);
void pci_config_write(struct pci_bus *bus, unsigned slot, unsigned fn, unsigned reg, unsigned size,
		      uint32_t val);

/* pci_bar.c */
void pci_bar_write(struct pci_func *f, unsigned idx, uint32_t val);
void pci_decode_rebuild(struct pci_bus *bus);

/* pci_intx.c: makes the GSI and status bit follow the function's level and masks. */
void pci_intx_update(struct pci_func *f);

/* pci.c: a register's power-on value (and current value), leaving its masks alone. */
void pci_init_reg(struct pci_func *f, unsigned reg, unsigned size, uint32_t val);
/* pci.c: after config changed under the bus (a write, a load, a reset). */
void pci_func_changed(struct pci_func *f);

#endif
