/* The PCI device emulations dhyve offers by name (-s slot,emulation[,conf]) and the one call
 * that builds a machine's slots from the options; each emulation is one line in pci_devices.c. */
#ifndef DHYVE_DEVMODEL_PCI_DEVICES_H
#define DHYVE_DEVMODEL_PCI_DEVICES_H

#include "base/errmsg.h"
#include "devmodel/pci.h"

/* A constructor puts its function(s) at slot:fn on bus with pci_add; conf is the text after
 * the emulation name ("" when none). Returns 0 or a negative errno with a message. */
typedef int (*pci_device_create_fn)(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf,
				    struct errmsg *e);

int pci_hostbridge_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e);
int pci_amd_hostbridge_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf,
			      struct errmsg *e);
int pci_lpc_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e);

/* The constructor for an emulation name, or NULL. */
pci_device_create_fn pci_device_lookup(const char *emulation);

/* Builds what one -s asked for ([bus:]slot[:func],emulation[,conf], as struct slot_opt holds
 * it; devmodel/ does not see cli/, so the machine passes the fields). Only bus 0 exists. A
 * failure names the slot: "-s 3:0,lpc: slot 3:0 is already used by lpc". */
int pci_create_device(struct pci_bus *bus, unsigned busno, unsigned slot, unsigned fn, const char *emulation,
		      const char *conf, struct errmsg *e);

#endif
