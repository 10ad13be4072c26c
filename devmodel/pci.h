/* PCI bus 0 as devices and the machine see it: 32 slots x 8 functions with the standard type-0
 * header, BARs, INTx and MSI; config access through 0xcf8/0xcfc (mechanism #1) and ECAM. */
#ifndef DHYVE_DEVMODEL_PCI_H
#define DHYVE_DEVMODEL_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "base/gmem.h"
#include "base/irq.h"
#include "devmodel/iobus.h"

#define PCI_SLOTS 32
#define PCI_FUNCS 8
#define PCI_NBARS 6
/* The bus keeps the 256-byte conventional config space of each function. ECAM reaches 4 KiB
 * per function: registers 0x100-0xfff go to the device's hooks and otherwise read 0 (no
 * extended capabilities), which is what a conventional PCI device answers. */
#define PCI_CFG_SIZE 256
#define PCI_ECAM_FUNC_SIZE 4096

/* Where the bus claims its ranges (pci_bus_create). BARs are decoded only inside the two
 * windows: iobus has no unregister, so instead of moving regions as the guest moves BARs the bus
 * claims each window once and routes an access to the function whose enabled BAR holds it. */
#define PCI_CFG_ADDR_PORT   0xcf8   /* 4 ports; 0xcf9 is the reset control register */
#define PCI_CFG_DATA_PORT   0xcfc   /* 4 ports */
#define PCI_IO_WINDOW_BASE  0xc000
#define PCI_IO_WINDOW_END   0x10000
#define PCI_MEM_WINDOW_BASE 0xc0000000ull /* vmm/vm.h: VM_LOWMEM_LIMIT, the start of the hole */
#define PCI_MEM_WINDOW_END  0xe0000000ull
/* ECAM for buses 0-255 would be 256 MiB at 0xe0000000; only bus 0 exists, so only its 1 MiB is
 * claimed (the MCFG table must say end bus 0). Offset = bus<<20 | slot<<15 | func<<12 | reg. */
#define PCI_ECAM_BASE       0xe0000000ull
#define PCI_ECAM_SIZE       (1ull << 20)
/* INTx: pin p (1 = INTA) of slot s drives GSI 16 + (s + p - 1) % 8, the I/O APIC pins above
 * the ISA ones; level-triggered, active high at the irq door, shared by several functions. */
#define PCI_INTX_GSI_BASE   16
#define PCI_INTX_GSI_COUNT  8

/* Standard header registers (type 0). */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_STATUS         0x06
#define PCI_REVISION_ID    0x08
#define PCI_CLASS_PROG     0x09 /* 0x09 prog-if, 0x0a subclass, 0x0b class */
#define PCI_CACHE_LINE     0x0c
#define PCI_LATENCY_TIMER  0x0d
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define PCI_SUBSYS_VENDOR  0x2c
#define PCI_SUBSYS_ID      0x2e
#define PCI_ROM_ADDRESS    0x30
#define PCI_CAP_PTR        0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d
#define PCI_CAP_START      0x40 /* first byte after the standard header */

#define PCI_COMMAND_IO            0x0001
#define PCI_COMMAND_MEMORY        0x0002
#define PCI_COMMAND_MASTER        0x0004
#define PCI_COMMAND_PARITY        0x0040
#define PCI_COMMAND_SERR          0x0100
#define PCI_COMMAND_INTX_DISABLE  0x0400

#define PCI_STATUS_INTERRUPT      0x0008 /* read-only: the function asserts INTx */
#define PCI_STATUS_CAP_LIST       0x0010
#define PCI_STATUS_W1C            0xf900 /* parity, target/master aborts, SERR: write 1 to clear */

#define PCI_HEADER_MULTIFUNCTION  0x80

#define PCI_BAR_IO_FLAG           0x1
#define PCI_BAR_MEM_TYPE_64       0x4
#define PCI_BAR_MEM_PREFETCH      0x8

#define PCI_CAP_ID_MSI  0x05
#define PCI_CAP_ID_MSIX 0x11

#define PCI_MSI_FLAGS        2    /* offsets inside the MSI capability */
#define PCI_MSI_ADDRESS_LO   4
#define PCI_MSI_ADDRESS_HI   8    /* 64-bit form only */
#define PCI_MSI_DATA_32      8
#define PCI_MSI_DATA_64      12
#define PCI_MSI_FLAGS_ENABLE 0x0001
#define PCI_MSI_FLAGS_QMASK  0x000e /* log2 of the vectors the function can send */
#define PCI_MSI_FLAGS_QSIZE  0x0070 /* log2 of the vectors software enabled */
#define PCI_MSI_FLAGS_64BIT  0x0080

/* Door 3's message-signalled half: one memory write of data to addr, as the function would
 * make it. The VM implements send with KVM_SIGNAL_MSI; tests and fuzzers record it. (It sits
 * beside struct irq_sink in spirit; it lives here until something other than PCI needs it.) */
struct msi_sink {
	void (*send)(void *ctx, uint64_t addr, uint32_t data);
	void *ctx;
};

struct pci_bus_config {
	struct iobus *pio, *mmio;  /* where the bus claims its ports and windows; NULL: not claimed */
	struct irq_sink irq;       /* INTx lines (GSIs 16-23) */
	struct msi_sink msi;
	const struct gmem *mem;    /* guest memory for devices that do DMA; may be NULL */
	/* Port 0xcf9 sits inside the 32-bit address register 0xcf8-0xcfb: the bus takes 1-byte
	 * accesses at 0xcf9 and hands them here (offset 0), as bhyve and QEMU do. NULL: such an
	 * access reads all-ones and writes vanish. */
	iobus_access_fn reset_port;
	void *reset_ctx;
	/* Door 5: a device whose back-end received host input (a packet) calls this from the
	 * back-end's thread; the VM then kicks a vCPU, which calls pci_bus_poll_input at that exit.
	 * NULL: nobody polls (tests call pci_bus_poll_input themselves). */
	void (*input_notify)(void *ctx);
	void *input_ctx;
	const char *vm_name; /* for what devices derive from it (a stable MAC); may be NULL */
};

enum pci_bar_type {
	PCI_BAR_NONE,
	PCI_BAR_IO,
	PCI_BAR_MEM32,
	PCI_BAR_MEM64,
	PCI_BAR_MEM64_HI, /* the upper half of the 64-bit BAR below it; set by the bus */
};

struct pci_bar {
	enum pci_bar_type type;
	bool prefetch;
	uint64_t size; /* a power of two; the address lives in config space (pci_bar_addr) */
};

struct pci_func;

/* What a device adds to the bus's standard behaviour. Every hook is optional. Hooks run with
 * the bus lock held (a recursive lock, so they may call pci_intx_set): they must not block. */
struct pci_func_ops {
	const char *name; /* the emulation name, for messages: "lpc" */
	/* Device-specific config registers. Return true when the hook answered (*val) or took the
	 * write; false lets the bus do its standard handling. reg is aligned to size (1, 2 or 4)
	 * and below PCI_ECAM_FUNC_SIZE. */
	bool (*cfg_read)(struct pci_func *f, unsigned reg, unsigned size, uint32_t *val);
	bool (*cfg_write)(struct pci_func *f, unsigned reg, unsigned size, uint32_t val);
	/* An access inside BAR bar of this function, off from its start, wholly inside it; size
	 * 1, 2, 4 or 8. Called without the bus lock. Return as an iobus_access_fn does. */
	int (*bar_access)(struct pci_func *f, unsigned bar, uint64_t off, unsigned size, bool is_write,
			  uint64_t *val);
	/* Takes queued host input into the device (door 5): on a vCPU thread, at an exit, without
	 * the bus lock. */
	void (*poll_input)(struct pci_func *f);
	void (*reset)(struct pci_func *f);   /* device state back to power-on (config is the bus's) */
	void (*destroy)(struct pci_func *f); /* frees priv */
};

/* One function. Devices read these fields; only the bus writes them (through the calls below). */
struct pci_func {
	struct pci_bus *bus;
	unsigned slot, fn;
	const struct pci_func_ops *ops;
	void *priv;
	uint8_t cfg[PCI_CFG_SIZE];       /* current config space */
	uint8_t cfg_reset[PCI_CFG_SIZE]; /* power-on values, set through the init calls */
	uint8_t wmask[PCI_CFG_SIZE];     /* bits a guest write changes */
	uint8_t w1cmask[PCI_CFG_SIZE];   /* bits a guest write of 1 clears */
	struct pci_bar bar[PCI_NBARS];
	uint8_t cap_last;                /* offset of the last capability, 0 when none */
	unsigned cap_free;               /* where the next capability goes */
	uint8_t msi_cap;                 /* offset of the MSI capability, 0 when none */
	uint8_t msix_cap;                /* offset of the MSI-X capability (pci_msix.h), 0 when none */
	bool intx_asserted;              /* the level the device asked for */
	bool intx_driven;                /* what the bus counts into the GSI (asserted and not masked) */
};

struct pci_ids {
	uint16_t vendor, device;
	uint32_t class_code; /* class << 16 | subclass << 8 | prog-if */
	uint8_t revision;
	uint16_t subvendor, subdevice;
};

/* The bus: claims 0xcf8-0xcff, the I/O and memory windows and bus 0's ECAM on cfg's buses.
 * Destroy it after the buses stop dispatching (after the vCPUs are gone): iobus cannot
 * unregister, so the regions stay pointing at it until iobus_destroy. */
struct pci_bus *pci_bus_create(const struct pci_bus_config *cfg, struct errmsg *e);
void pci_bus_destroy(struct pci_bus *bus); /* destroys every function too */
/* Machine reset: 0xcf8 cleared, every function's config back to power-on, INTx lowered, then
 * each device's reset hook. BARs return to where the bus first put them. */
void pci_bus_reset(struct pci_bus *bus);
const struct pci_bus_config *pci_bus_config(const struct pci_bus *bus);
/* Every function's poll_input hook: what a vCPU does at a kick exit (door 5). */
void pci_bus_poll_input(struct pci_bus *bus);

/* Puts a function at slot:fn (bus 0). -EEXIST with "slot 3:0 is already used by lpc" when
 * taken, -EINVAL for a slot > 31 or fn > 7. The function starts with all-zero IDs, no BARs,
 * no interrupt pin; the device's constructor sets them with the calls below. */
int pci_add(struct pci_bus *bus, unsigned slot, unsigned fn, const struct pci_func_ops *ops, void *priv,
	    struct pci_func **out, struct errmsg *e);
/* Takes a function off the bus (its destroy hook runs); for constructors that fail midway. */
void pci_remove(struct pci_func *f);
struct pci_func *pci_find(struct pci_bus *bus, unsigned slot, unsigned fn);

/* Construction, before the VM runs: power-on values. */
void pci_set_ids(struct pci_func *f, const struct pci_ids *ids);
/* A device-specific register of size 1, 2 or 4 at reg (< 256, aligned): its power-on value and
 * the bits a guest may write; the bus then stores it like any other register. */
void pci_cfg_init(struct pci_func *f, unsigned reg, unsigned size, uint32_t value, uint32_t wmask);
/* BAR idx (a 64-bit BAR takes idx and idx+1): size a power of two, I/O 4-256 bytes, memory at
 * least 16 bytes. The bus assigns an address as firmware would (I/O from 0xc000, memory from
 * 0xc0000000, aligned to the size; memory BARs on their own 4 KiB pages, 64-bit ones too, below
 * 4 GiB) and turns on the command register's I/O or memory decode. */
int pci_add_bar(struct pci_func *f, unsigned idx, enum pci_bar_type type, uint64_t size, bool prefetch,
		struct errmsg *e);
/* The interrupt pin (1 = INTA .. 4 = INTD); the interrupt line register starts at its GSI. */
void pci_set_intx_pin(struct pci_func *f, unsigned pin);
/* Links a capability of len bytes (>= 2) into the list; returns its offset (dword aligned,
 * from 0x40) or -ENOSPC. Its bytes start read-only zero but for the id; pci_cfg_init sets more. */
int pci_add_capability(struct pci_func *f, uint8_t id, unsigned len, struct errmsg *e);
/* The MSI capability: nvectors (1, 2, 4, 8, 16 or 32) vectors, 64-bit address if addr64.
 * Returns its offset or a negative errno. */
int pci_add_msi(struct pci_func *f, unsigned nvectors, bool addr64, struct errmsg *e);

/* Runtime, for devices. */
uint32_t pci_cfg_get(const struct pci_func *f, unsigned reg, unsigned size); /* reg < 256 */
void pci_cfg_put(struct pci_func *f, unsigned reg, unsigned size, uint32_t val); /* no masks */
uint64_t pci_bar_addr(const struct pci_func *f, unsigned idx);
/* The device's INTx level. The line follows it unless INTX_DISABLE is set or MSI(-X) is enabled;
 * the status register's interrupt bit always shows it. No pin: ignored. */
void pci_intx_set(struct pci_func *f, bool level);
unsigned pci_intx_gsi(unsigned slot, unsigned pin);
bool pci_msi_enabled(const struct pci_func *f);
bool pci_msix_enabled(const struct pci_func *f); /* pci_msix.h has the rest of MSI-X */
/* Sends vector (< the vectors software enabled) through the msi sink: 0, or -EAGAIN when MSI
 * is off, bus mastering is off (a function may not write memory then) or vector is too big. */
int pci_msi_send(struct pci_func *f, unsigned vector);

/* Guest accesses: iobus_access_fn's for the regions pci_bus_create claims (owner = bus),
 * exported so tests, fuzzers and replay can reach them directly. */
int pci_cfgaddr_access(void *bus, uint64_t off, unsigned size, bool is_write, uint64_t *val);
int pci_cfgdata_access(void *bus, uint64_t off, unsigned size, bool is_write, uint64_t *val);
int pci_ecam_access(void *bus, uint64_t off, unsigned size, bool is_write, uint64_t *val);
int pci_iowin_access(void *bus, uint64_t off, unsigned size, bool is_write, uint64_t *val);
int pci_memwin_access(void *bus, uint64_t off, unsigned size, bool is_write, uint64_t *val);

/* Snapshots, fixed and versioned (pci_snapshot.c). save: buf NULL returns the size needed;
 * len too small writes nothing and returns 0. load: -EINVAL, state unchanged, unless buf is
 * exactly one valid image for this function (same slot:fn, vendor and device) or bus (the same
 * functions). Device-private state is the device's own snapshot. */
#define PCI_FUNC_STATE_SIZE (4 + PCI_CFG_SIZE)
size_t pci_func_save(const struct pci_func *f, void *buf, size_t len);
int pci_func_load(struct pci_func *f, const void *buf, size_t len);
size_t pci_bus_save(struct pci_bus *bus, void *buf, size_t len);
int pci_bus_load(struct pci_bus *bus, const void *buf, size_t len);

#endif
