/* The host bridge at the top of PCI bus 0, as bhyve offers it: "hostbridge" (bhyve's own IDs,
 * 1275:1275) or "amd_hostbridge" (AMD 1022:7432); class 06/00/00, no BARs, no interrupt. */
#include "devmodel/pci_devices.h"

#include <errno.h>

#define CLASS_HOST_BRIDGE 0x060000

static const struct pci_func_ops hostbridge_ops = { .name = "hostbridge" };
static const struct pci_func_ops amd_hostbridge_ops = { .name = "amd_hostbridge" };

static int create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, const struct pci_func_ops *ops,
		  uint16_t vendor, uint16_t device, struct errmsg *e)
{
	/* No options exist: refusing one catches a typo instead of silently ignoring it. */
	if (conf && *conf)
		return errmsg_set(e, EINVAL, "%s takes no options, got '%s'", ops->name, conf);
	struct pci_func *f;
	int rc = pci_add(bus, slot, fn, ops, NULL, &f, e);
	if (rc < 0)
		return rc;
	pci_set_ids(f, &(struct pci_ids){ .vendor = vendor, .device = device, .class_code = CLASS_HOST_BRIDGE });
	return 0;
}

int pci_hostbridge_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e)
{
	return create(bus, slot, fn, conf, &hostbridge_ops, 0x1275, 0x1275, e);
}

int pci_amd_hostbridge_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e)
{
	return create(bus, slot, fn, conf, &amd_hostbridge_ops, 0x1022, 0x7432, e);
}
