/* Emulation names to constructors: adding a PCI device (virtio-blk, ahci, ...) to dhyve is one
 * line in the table below, plus its name in cli/options.c's list of known emulations. */
#include "devmodel/pci_devices.h"

#include <errno.h>
#include <string.h>

#include "devmodel/ahci.h"
#include "devmodel/virtio_blk.h"
#include "devmodel/virtio_net.h"

static const struct {
	const char *name;
	pci_device_create_fn create;
} emulations[] = {
	{ "hostbridge", pci_hostbridge_create },
	{ "amd_hostbridge", pci_amd_hostbridge_create },
	{ "lpc", pci_lpc_create },
	{ "virtio-blk", pci_virtio_blk_create },
	{ "ahci", pci_ahci_create },
	{ "ahci-hd", pci_ahci_hd_create },
	{ "ahci-cd", pci_ahci_cd_create },
	{ "virtio-net", pci_virtio_net_create },
};

pci_device_create_fn pci_device_lookup(const char *emulation)
{
	for (size_t i = 0; i < sizeof(emulations) / sizeof(emulations[0]); i++)
		if (emulation && strcmp(emulations[i].name, emulation) == 0)
			return emulations[i].create;
	return NULL;
}

int pci_create_device(struct pci_bus *bus, unsigned busno, unsigned slot, unsigned fn, const char *emulation,
		      const char *conf, struct errmsg *e)
{
	if (!emulation)
		emulation = "";
	if (busno != 0)
		return errmsg_set(e, EINVAL, "-s %u:%u:%u,%s: only PCI bus 0 is emulated", busno, slot, fn, emulation);
	pci_device_create_fn create = pci_device_lookup(emulation);
	if (!create)
		return errmsg_set(e, EINVAL, "-s %u:%u,%s: unknown device emulation '%s'", slot, fn, emulation,
				  emulation);
	struct errmsg why = { "" };
	int rc = create(bus, slot, fn, conf ? conf : "", &why);
	if (rc < 0)
		return errmsg_set(e, rc, "-s %u:%u,%s: %s", slot, fn, emulation, why.text);
	return 0;
}
