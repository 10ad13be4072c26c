/* "lpc": the PCI-to-ISA bridge the legacy devices (COM ports, RTC, power ports) sit behind, with
 * the IDs bhyve gives it (Intel 82371SB PIIX3 ISA, 8086:7000, class 06/01/00). */
#include "devmodel/pci_devices.h"

#include <errno.h>

#define CLASS_ISA_BRIDGE 0x060100

/* The ISA devices keep the fixed ports the machine registers for them: the bridge itself claims
 * no BARs and answers only config space. */
static const struct pci_func_ops lpc_ops = { .name = "lpc" };

int pci_lpc_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e)
{
	/* The COM ports are configured with -l, not here. */
	if (conf && *conf)
		return errmsg_set(e, EINVAL, "lpc takes no options here (use -l for its devices), got '%s'", conf);
	struct pci_func *f;
	int rc = pci_add(bus, slot, fn, &lpc_ops, NULL, &f, e);
	if (rc < 0)
		return rc;
	pci_set_ids(f, &(struct pci_ids){ .vendor = 0x8086, .device = 0x7000, .class_code = CLASS_ISA_BRIDGE });
	return 0;
}
