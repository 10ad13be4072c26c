/* Base address registers: firmware-style assignment, the sizing protocol (write all-ones, read
 * the size mask back), and routing of window accesses to the function whose enabled BAR holds them. */
#include "devmodel/pci_internal.h"

#include <errno.h>
#include <inttypes.h>

#define IO_ADDR_MASK  0xfffffffcu
#define MEM_ADDR_MASK 0xfffffff0u
#define MEM_BAR_PAGE  4096u /* memory BARs get whole pages, so one can later be a RAM mapping */
#define IO_BAR_MAX    256u  /* the PCI spec's limit for one I/O BAR */
#define MEM_BAR_MIN   16u

static bool is_pow2(uint64_t v)
{
	return v && (v & (v - 1)) == 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static unsigned reg_of(unsigned idx)
{
	return PCI_BAR0 + 4 * idx;
}

/* The BAR register as it reads with address addr: the address bits the size leaves, plus the
 * read-only type bits. Writing all-ones therefore reads back the size mask. */
static uint32_t bar_value(const struct pci_func *f, unsigned idx, uint64_t addr)
{
	const struct pci_bar *b = &f->bar[idx];
	uint32_t flags = b->prefetch ? PCI_BAR_MEM_PREFETCH : 0;
	switch (b->type) {
	case PCI_BAR_IO:
		return ((uint32_t)addr & IO_ADDR_MASK & ~(uint32_t)(b->size - 1)) | PCI_BAR_IO_FLAG;
	case PCI_BAR_MEM32:
		return ((uint32_t)addr & MEM_ADDR_MASK & ~(uint32_t)(b->size - 1)) | flags;
	case PCI_BAR_MEM64:
		return ((uint32_t)addr & MEM_ADDR_MASK & ~(uint32_t)(b->size - 1)) | flags | PCI_BAR_MEM_TYPE_64;
	case PCI_BAR_MEM64_HI:
		return (uint32_t)((addr & ~(f->bar[idx - 1].size - 1)) >> 32);
	case PCI_BAR_NONE:
		break;
	}
	return 0;
}

void pci_bar_write(struct pci_func *f, unsigned idx, uint32_t val)
{
	if (idx >= PCI_NBARS)
		return;
	/* The upper half holds the high address bits: hand bar_value the value where it sits. */
	uint64_t addr = f->bar[idx].type == PCI_BAR_MEM64_HI ? (uint64_t)val << 32 : val;
	pci_le_put(f->cfg + reg_of(idx), 4, bar_value(f, idx, addr));
}

uint64_t pci_bar_addr(const struct pci_func *f, unsigned idx)
{
	if (idx >= PCI_NBARS)
		return 0;
	uint32_t lo = pci_le_get(f->cfg + reg_of(idx), 4);
	switch (f->bar[idx].type) {
	case PCI_BAR_IO:
		return lo & IO_ADDR_MASK;
	case PCI_BAR_MEM32:
		return lo & MEM_ADDR_MASK;
	case PCI_BAR_MEM64:
		return (lo & MEM_ADDR_MASK) | (uint64_t)pci_le_get(f->cfg + reg_of(idx + 1), 4) << 32;
	default:
		return 0;
	}
}

static int check_bar(const struct pci_func *f, unsigned idx, enum pci_bar_type type, uint64_t size,
		     struct errmsg *e)
{
	const char *name = f->ops->name;
	if (idx >= PCI_NBARS || (type == PCI_BAR_MEM64 && idx + 1 >= PCI_NBARS))
		return errmsg_set(e, EINVAL, "%s: BAR %u does not exist", name, idx);
	if (f->bar[idx].type != PCI_BAR_NONE || (type == PCI_BAR_MEM64 && f->bar[idx + 1].type != PCI_BAR_NONE))
		return errmsg_set(e, EEXIST, "%s: BAR %u is already in use", name, idx);
	if (type != PCI_BAR_IO && type != PCI_BAR_MEM32 && type != PCI_BAR_MEM64)
		return errmsg_set(e, EINVAL, "%s: BAR %u: bad type", name, idx);
	if (!is_pow2(size))
		return errmsg_set(e, EINVAL, "%s: BAR %u: size 0x%" PRIx64 " is not a power of two", name, idx, size);
	if (type == PCI_BAR_IO ? size < 4 || size > IO_BAR_MAX : size < MEM_BAR_MIN)
		return errmsg_set(e, EINVAL, "%s: BAR %u: size 0x%" PRIx64 " out of range", name, idx, size);
	return 0;
}

/* Next free address for a BAR of size in its window, or -ENOSPC. */
static int allocate(struct pci_bus *bus, const struct pci_func *f, unsigned idx, enum pci_bar_type type,
		    uint64_t size, uint64_t *addr, struct errmsg *e)
{
	bool io = type == PCI_BAR_IO;
	uint64_t *next = io ? &bus->io_next : &bus->mem_next;
	uint64_t end = io ? PCI_IO_WINDOW_END : PCI_MEM_WINDOW_END;
	uint64_t span = io ? size : align_up(size, MEM_BAR_PAGE);
	uint64_t base = align_up(*next, io ? size : span);
	if (base > end || span > end - base)
		return errmsg_set(e, ENOSPC, "%s: BAR %u (0x%" PRIx64 " bytes): the PCI %s window is full",
				  f->ops->name, idx, size, io ? "I/O" : "memory");
	*next = base + span;
	*addr = base;
	return 0;
}

int pci_add_bar(struct pci_func *f, unsigned idx, enum pci_bar_type type, uint64_t size, bool prefetch,
		struct errmsg *e)
{
	int rc = check_bar(f, idx, type, size, e);
	if (rc < 0)
		return rc;
	struct pci_bus *bus = f->bus;
	pci_lock(bus);
	uint64_t addr = 0;
	rc = allocate(bus, f, idx, type, size, &addr, e);
	if (rc == 0) {
		f->bar[idx] = (struct pci_bar){ .type = type, .prefetch = prefetch && type != PCI_BAR_IO, .size = size };
		pci_init_reg(f, reg_of(idx), 4, bar_value(f, idx, addr));
		if (type == PCI_BAR_MEM64) {
			f->bar[idx + 1] = (struct pci_bar){ .type = PCI_BAR_MEM64_HI };
			pci_init_reg(f, reg_of(idx + 1), 4, bar_value(f, idx + 1, addr));
		}
		/* Firmware turns decoding on for what it assigned (bhyve does the same). */
		uint16_t decode = type == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
		pci_init_reg(f, PCI_COMMAND, 2, pci_le_get(f->cfg + PCI_COMMAND, 2) | decode);
		pci_decode_rebuild(bus);
	}
	pci_unlock(bus);
	return rc;
}

static void add_decode(struct pci_decode_table *t, struct pci_func *f, unsigned idx, uint64_t size, uint64_t lo,
		       uint64_t hi)
{
	uint64_t base = pci_bar_addr(f, idx);
	/* A BAR outside its window (being sized, or moved where nothing routes) decodes nothing. */
	if (base < lo || base > hi || size > hi - base)
		return;
	t->e[t->n++] = (struct pci_decode){ .base = base, .end = base + size, .f = f, .bar = idx };
}

void pci_decode_rebuild(struct pci_bus *bus)
{
	bus->io.n = bus->mem.n = 0;
	for (unsigned d = 0; d < PCI_DEVFNS; d++) {
		struct pci_func *f = bus->func[d];
		if (!f)
			continue;
		uint16_t cmd = (uint16_t)pci_le_get(f->cfg + PCI_COMMAND, 2);
		for (unsigned i = 0; i < PCI_NBARS; i++) {
			const struct pci_bar *b = &f->bar[i];
			if (b->type == PCI_BAR_IO && (cmd & PCI_COMMAND_IO))
				add_decode(&bus->io, f, i, b->size, PCI_IO_WINDOW_BASE, PCI_IO_WINDOW_END);
			else if ((b->type == PCI_BAR_MEM32 || b->type == PCI_BAR_MEM64) && (cmd & PCI_COMMAND_MEMORY))
				add_decode(&bus->mem, f, i, b->size, PCI_MEM_WINDOW_BASE, PCI_MEM_WINDOW_END);
		}
	}
}

/* Routes one access at addr. Overlapping BARs (a guest may program them so) go to the lowest
 * slot:function. The device runs without the bus lock: functions are never removed while the
 * VM runs, so the pointer stays good. */
static int window_access(struct pci_bus *bus, const struct pci_decode_table *t, uint64_t addr, unsigned size,
			 bool is_write, uint64_t *val)
{
	struct pci_decode hit = { 0 };
	bool size_ok = size == 1 || size == 2 || size == 4 || size == 8;
	pci_lock(bus);
	for (unsigned i = 0; i < t->n; i++) {
		if (addr >= t->e[i].base && addr < t->e[i].end) {
			hit = t->e[i];
			break;
		}
	}
	pci_unlock(bus);
	if (!hit.f || !size_ok || size > hit.end - addr || !hit.f->ops->bar_access) {
		if (!is_write)
			*val = pci_size_mask(size);
		return -ENOENT; /* inside the window, but no BAR there: counted like a decode miss */
	}
	return hit.f->ops->bar_access(hit.f, hit.bar, addr - hit.base, size, is_write, val);
}

int pci_iowin_access(void *opaque, uint64_t off, unsigned size, bool is_write, uint64_t *val)
{
	struct pci_bus *bus = opaque;
	return window_access(bus, &bus->io, PCI_IO_WINDOW_BASE + off, size, is_write, val);
}

int pci_memwin_access(void *opaque, uint64_t off, unsigned size, bool is_write, uint64_t *val)
{
	struct pci_bus *bus = opaque;
	return window_access(bus, &bus->mem, PCI_MEM_WINDOW_BASE + off, size, is_write, val);
}
