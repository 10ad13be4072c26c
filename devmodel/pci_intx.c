/* Legacy INTx: a function's level becomes its GSI's level through the slot swizzle; several
 * functions share a GSI (wired-OR), and INTX_DISABLE or an enabled MSI or MSI-X keeps one off
 * the line. */
#include "devmodel/pci_internal.h"

unsigned pci_intx_gsi(unsigned slot, unsigned pin)
{
	/* The usual swizzle (slot + pin) rotated over all eight spare I/O APIC pins, so that
	 * neighbouring slots' INTA land on different lines. pin 1 = INTA. */
	return PCI_INTX_GSI_BASE + (slot + (pin ? pin - 1 : 0)) % PCI_INTX_GSI_COUNT;
}

static bool intx_masked(const struct pci_func *f)
{
	uint16_t cmd = (uint16_t)pci_le_get(f->cfg + PCI_COMMAND, 2);
	return (cmd & PCI_COMMAND_INTX_DISABLE) || pci_msi_enabled(f) || pci_msix_enabled(f);
}

/* Adds or removes this function's share of its GSI; the line moves only on the first rise and
 * the last fall. */
static void drive(struct pci_func *f, bool level)
{
	struct pci_bus *bus = f->bus;
	unsigned gsi = pci_intx_gsi(f->slot, f->cfg[PCI_INTERRUPT_PIN]);
	unsigned *users = &bus->gsi_users[gsi - PCI_INTX_GSI_BASE];
	f->intx_driven = level;
	if (level && (*users)++ == 0)
		irq_set_level(&bus->cfg.irq, gsi, true);
	else if (!level && *users && --*users == 0)
		irq_set_level(&bus->cfg.irq, gsi, false);
}

void pci_intx_update(struct pci_func *f)
{
	bool has_pin = f->cfg[PCI_INTERRUPT_PIN] != 0;
	bool asserted = has_pin && f->intx_asserted;
	/* The status bit shows the device's request even while masked: that is how a driver
	 * using INTX_DISABLE polls for its interrupt. */
	uint16_t status = (uint16_t)pci_le_get(f->cfg + PCI_STATUS, 2);
	status = asserted ? status | PCI_STATUS_INTERRUPT : status & ~PCI_STATUS_INTERRUPT;
	pci_le_put(f->cfg + PCI_STATUS, 2, status);
	bool level = asserted && !intx_masked(f);
	if (level != f->intx_driven)
		drive(f, level);
}

void pci_intx_set(struct pci_func *f, bool level)
{
	pci_lock(f->bus);
	f->intx_asserted = level;
	pci_intx_update(f);
	pci_unlock(f->bus);
}
