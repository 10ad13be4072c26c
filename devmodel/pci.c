/* PCI bus 0: creating the bus and claiming its ranges, placing functions in slots, the
 * power-on values of their standard header, and machine reset. */
#include "devmodel/pci_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Command bits a guest may change: decode, bus mastering, error reporting, INTx masking. */
#define COMMAND_WRITABLE (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | \
			  PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)

void pci_lock(struct pci_bus *bus)
{
	pthread_mutex_lock(&bus->lock);
}

void pci_unlock(struct pci_bus *bus)
{
	pthread_mutex_unlock(&bus->lock);
}

struct claim {
	bool mmio;
	uint64_t base, len;
	const char *name;
	iobus_access_fn access;
};

static const struct claim claims[] = {
	{ false, PCI_CFG_ADDR_PORT, 4, "pci_cfgaddr", pci_cfgaddr_access },
	{ false, PCI_CFG_DATA_PORT, 4, "pci_cfgdata", pci_cfgdata_access },
	{ false, PCI_IO_WINDOW_BASE, PCI_IO_WINDOW_END - PCI_IO_WINDOW_BASE, "pci_io", pci_iowin_access },
	{ true, PCI_MEM_WINDOW_BASE, PCI_MEM_WINDOW_END - PCI_MEM_WINDOW_BASE, "pci_mem", pci_memwin_access },
	{ true, PCI_ECAM_BASE, PCI_ECAM_SIZE, "pci_ecam", pci_ecam_access },
};

static bool range_free(const struct iobus *io, uint64_t base, uint64_t len)
{
	for (unsigned i = 0; i < io->nregions; i++)
		if (io->regions[i].base < base + len && base < io->regions[i].base + io->regions[i].len)
			return false;
	return true;
}

/* All or nothing: iobus cannot unregister, so every range is checked before any is claimed
 * (a clash is then registered alone, to fail with iobus's message naming both owners). */
static int claim_ranges(struct pci_bus *bus, struct errmsg *e)
{
	const size_t n = sizeof(claims) / sizeof(claims[0]);
	for (size_t i = 0; i < n; i++) {
		struct iobus *io = claims[i].mmio ? bus->cfg.mmio : bus->cfg.pio;
		if (io && !range_free(io, claims[i].base, claims[i].len))
			return iobus_register(io, claims[i].base, claims[i].len, claims[i].name, claims[i].access,
					      bus, e);
	}
	for (size_t i = 0; i < n; i++) {
		struct iobus *io = claims[i].mmio ? bus->cfg.mmio : bus->cfg.pio;
		int rc = io ? iobus_register(io, claims[i].base, claims[i].len, claims[i].name, claims[i].access, bus, e) : 0;
		if (rc < 0)
			return rc; /* out of memory: the machine is torn down before anything dispatches */
	}
	return 0;
}

struct pci_bus *pci_bus_create(const struct pci_bus_config *cfg, struct errmsg *e)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	if (!bus) {
		errmsg_set(e, ENOMEM, "pci: out of memory");
		return NULL;
	}
	bus->cfg = *cfg;
	bus->io_next = PCI_IO_WINDOW_BASE;
	bus->mem_next = PCI_MEM_WINDOW_BASE;
	/* Recursive: a device hook running under the lock may raise its INTx. */
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&bus->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (claim_ranges(bus, e) < 0) {
		pthread_mutex_destroy(&bus->lock);
		free(bus);
		return NULL;
	}
	return bus;
}

static void free_func(struct pci_func *f)
{
	if (f->ops->destroy)
		f->ops->destroy(f);
	free(f);
}

void pci_bus_destroy(struct pci_bus *bus)
{
	if (!bus)
		return;
	for (unsigned i = 0; i < PCI_DEVFNS; i++)
		if (bus->func[i])
			free_func(bus->func[i]);
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

const struct pci_bus_config *pci_bus_config(const struct pci_bus *bus)
{
	return &bus->cfg;
}

void pci_func_changed(struct pci_func *f)
{
	pci_intx_update(f);
	pci_decode_rebuild(f->bus);
}

void pci_bus_reset(struct pci_bus *bus)
{
	pci_lock(bus);
	bus->cfgaddr = 0;
	for (unsigned i = 0; i < PCI_DEVFNS; i++) {
		struct pci_func *f = bus->func[i];
		if (!f)
			continue;
		memcpy(f->cfg, f->cfg_reset, sizeof(f->cfg));
		f->intx_asserted = false;
		pci_intx_update(f);
		if (f->ops->reset)
			f->ops->reset(f);
	}
	pci_decode_rebuild(bus);
	pci_unlock(bus);
}

/* Sets a register's power-on value and its current value together. */
static void init_bytes(struct pci_func *f, unsigned reg, unsigned size, uint32_t val)
{
	pci_le_put(f->cfg + reg, size, val);
	pci_le_put(f->cfg_reset + reg, size, val);
}

static void init_masks(struct pci_func *f, unsigned reg, unsigned size, uint32_t wmask, uint32_t w1cmask)
{
	pci_le_put(f->wmask + reg, size, wmask);
	pci_le_put(f->w1cmask + reg, size, w1cmask);
}

/* The header type's multi-function bit: set on every function of a slot that has more than
 * function 0, so a scan that looks at function 0 goes on to the others. */
static void update_multifunction(struct pci_bus *bus, unsigned slot)
{
	unsigned present = 0;
	for (unsigned fn = 0; fn < PCI_FUNCS; fn++)
		present += bus->func[pci_devfn(slot, fn)] != NULL;
	bool multi = present > 1 || (present == 1 && !bus->func[pci_devfn(slot, 0)]);
	for (unsigned fn = 0; fn < PCI_FUNCS; fn++) {
		struct pci_func *f = bus->func[pci_devfn(slot, fn)];
		if (!f)
			continue;
		uint8_t type = (f->cfg[PCI_HEADER_TYPE] & ~PCI_HEADER_MULTIFUNCTION) |
			       (multi ? PCI_HEADER_MULTIFUNCTION : 0);
		init_bytes(f, PCI_HEADER_TYPE, 1, type);
	}
}

int pci_add(struct pci_bus *bus, unsigned slot, unsigned fn, const struct pci_func_ops *ops, void *priv,
	    struct pci_func **out, struct errmsg *e)
{
	if (slot >= PCI_SLOTS || fn >= PCI_FUNCS)
		return errmsg_set(e, EINVAL, "slot %u:%u: slot must be 0-31, function 0-7", slot, fn);
	if (!ops || !ops->name)
		return errmsg_set(e, EINVAL, "slot %u:%u: device without a name", slot, fn);
	pci_lock(bus);
	struct pci_func *old = bus->func[pci_devfn(slot, fn)];
	if (old) {
		pci_unlock(bus);
		return errmsg_set(e, EEXIST, "slot %u:%u is already used by %s", slot, fn, old->ops->name);
	}
	struct pci_func *f = calloc(1, sizeof(*f));
	if (!f) {
		pci_unlock(bus);
		return errmsg_set(e, ENOMEM, "slot %u:%u: out of memory", slot, fn);
	}
	*f = (struct pci_func){ .bus = bus, .slot = slot, .fn = fn, .ops = ops, .priv = priv,
				.cap_free = PCI_CAP_START };
	init_masks(f, PCI_COMMAND, 2, COMMAND_WRITABLE, 0);
	init_masks(f, PCI_STATUS, 2, 0, PCI_STATUS_W1C);
	init_masks(f, PCI_CACHE_LINE, 2, 0xffff, 0); /* cache line size and latency timer */
	init_masks(f, PCI_INTERRUPT_LINE, 1, 0xff, 0); /* scratch for the OS */
	bus->func[pci_devfn(slot, fn)] = f;
	if (ops->poll_input)
		bus->pollers[bus->npollers++] = f;
	update_multifunction(bus, slot);
	pci_unlock(bus);
	if (out)
		*out = f;
	return 0;
}

void pci_remove(struct pci_func *f)
{
	struct pci_bus *bus = f->bus;
	pci_lock(bus);
	f->intx_asserted = false;
	pci_intx_update(f); /* gives back its share of the GSI */
	bus->func[pci_devfn(f->slot, f->fn)] = NULL;
	for (unsigned i = 0; i < bus->npollers; i++)
		if (bus->pollers[i] == f)
			bus->pollers[i] = bus->pollers[--bus->npollers];
	update_multifunction(bus, f->slot);
	pci_decode_rebuild(bus);
	pci_unlock(bus);
	free_func(f);
}

void pci_bus_poll_input(struct pci_bus *bus)
{
	/* Functions are added before the VM runs and removed after it stops, so the table is
	 * stable here; the hooks take their own locks (the bus lock would invert their order). */
	for (unsigned i = 0; i < bus->npollers; i++)
		bus->pollers[i]->ops->poll_input(bus->pollers[i]);
}

struct pci_func *pci_find(struct pci_bus *bus, unsigned slot, unsigned fn)
{
	if (slot >= PCI_SLOTS || fn >= PCI_FUNCS)
		return NULL;
	return bus->func[pci_devfn(slot, fn)];
}

void pci_set_ids(struct pci_func *f, const struct pci_ids *ids)
{
	init_bytes(f, PCI_VENDOR_ID, 2, ids->vendor);
	init_bytes(f, PCI_DEVICE_ID, 2, ids->device);
	init_bytes(f, PCI_REVISION_ID, 4, ids->class_code << 8 | ids->revision);
	init_bytes(f, PCI_SUBSYS_VENDOR, 2, ids->subvendor);
	init_bytes(f, PCI_SUBSYS_ID, 2, ids->subdevice);
}

static bool reg_ok(unsigned reg, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && (reg & (size - 1)) == 0 && reg + size <= PCI_CFG_SIZE;
}

void pci_cfg_init(struct pci_func *f, unsigned reg, unsigned size, uint32_t value, uint32_t wmask)
{
	if (!reg_ok(reg, size))
		return;
	init_bytes(f, reg, size, value);
	init_masks(f, reg, size, wmask, 0);
}

uint32_t pci_cfg_get(const struct pci_func *f, unsigned reg, unsigned size)
{
	return reg_ok(reg, size) ? pci_le_get(f->cfg + reg, size) : 0;
}

void pci_cfg_put(struct pci_func *f, unsigned reg, unsigned size, uint32_t val)
{
	if (reg_ok(reg, size))
		pci_le_put(f->cfg + reg, size, val);
}

void pci_set_intx_pin(struct pci_func *f, unsigned pin)
{
	if (pin < 1 || pin > 4)
		return;
	init_bytes(f, PCI_INTERRUPT_PIN, 1, pin);
	/* What firmware would have written: the OS may read the line back instead of the _PRT. */
	init_bytes(f, PCI_INTERRUPT_LINE, 1, pci_intx_gsi(f->slot, pin));
}

void pci_init_reg(struct pci_func *f, unsigned reg, unsigned size, uint32_t val)
{
	if (reg_ok(reg, size))
		init_bytes(f, reg, size, val);
}
