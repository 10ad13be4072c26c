/* AHCI 1.3 SATA host bus adapter (an ICH9-like PCI function, BAR 5) with ATA disks and ATAPI
 * CD-ROMs on its ports: the emulations "ahci", "ahci-hd" and "ahci-cd" (bhyve's spelling). */
#ifndef DHYVE_DEVMODEL_AHCI_H
#define DHYVE_DEVMODEL_AHCI_H

#include <stdbool.h>
#include <stddef.h>

#include "base/errmsg.h"
#include "devmodel/blk_backend.h"
#include "devmodel/pci.h"

#define AHCI_MAX_PORTS 32
#define AHCI_BAR       5      /* ABAR */
#define AHCI_BAR_SIZE  0x2000 /* 0x100 of generic registers + 32 ports x 0x80 */
#define AHCI_VENDOR    0x8086
#define AHCI_DEVICE    0x2922 /* ICH9 AHCI: every AHCI driver knows it, no quirks needed */
#define AHCI_CLASS     0x010601 /* mass storage, SATA, AHCI 1.0 */
#define AHCI_CD_SECTOR 2048

struct ahci;

/* One port's device. The port takes be over (closed with the HBA, or when ahci_add fails). */
struct ahci_port_conf {
	bool atapi;              /* a CD-ROM (ATAPI, 2048-byte sectors, read-only); else an ATA disk */
	struct blk_backend *be;
	unsigned sector_size;    /* disk: logical sector, 512 or 4096; 0: 512 */
	unsigned physical_size;  /* disk: physical sector >= logical, <= 32768; 0: the same */
	const char *serial;      /* IDENTIFY's serial number (20 characters at most); NULL: "DHYVE-<port>" */
	bool nodelete;           /* disk: do not offer DSM TRIM */
};

/* Puts an HBA with nports ports (1..32) at slot:fn. Takes every port's back-end in every case. */
int ahci_add(struct pci_bus *bus, unsigned slot, unsigned fn, const struct ahci_port_conf *ports, unsigned nports,
	     struct ahci **out, struct errmsg *e);

/* Snapshot of the HBA, its ports and devices (the PCI config is pci_func_save's). save: buf NULL
 * returns the size; len too small writes nothing and returns 0. load: -EINVAL, state unchanged,
 * unless buf is exactly a valid image of an HBA with the same ports. */
size_t ahci_save(struct ahci *a, void *buf, size_t len);
int ahci_load(struct ahci *a, const void *buf, size_t len);

/* pci_devices.c's constructors. conf: "hd:PATH[,opts],cd:PATH,..." for ahci; "PATH[,opts]" for
 * ahci-hd and ahci-cd. Disk options: ro, nocache, nodelete, sectorsize=N[/P], ser=SERIAL. */
int pci_ahci_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e);
int pci_ahci_hd_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e);
int pci_ahci_cd_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e);

#endif
