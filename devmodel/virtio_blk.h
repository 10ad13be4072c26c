/* virtio-blk (virtio device id 2) on the modern PCI transport: one request queue served from a
 * blk_backend; the PCI emulation "virtio-blk" with conf "path[,ro][,nodelete][,sectorsize=N[/P]]". */
#ifndef DHYVE_DEVMODEL_VIRTIO_BLK_H
#define DHYVE_DEVMODEL_VIRTIO_BLK_H

#include "base/errmsg.h"
#include "devmodel/blk_backend.h"
#include "devmodel/pci.h"
#include "devmodel/virtio_pci.h"

#define VIRTIO_BLK_T_IN      0
#define VIRTIO_BLK_T_OUT     1
#define VIRTIO_BLK_T_FLUSH   4
#define VIRTIO_BLK_T_GET_ID  8
#define VIRTIO_BLK_T_DISCARD 11

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_F_SEG_MAX  (1ull << 2)
#define VIRTIO_BLK_F_RO       (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH    (1ull << 9)
#define VIRTIO_BLK_F_TOPOLOGY (1ull << 10)
#define VIRTIO_BLK_F_DISCARD  (1ull << 13)

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_QUEUE_SIZE 128

struct virtio_blk_params {
	unsigned sector_size;   /* blk_size offered: a power of two, 512..32768; 0: 512 */
	unsigned physical_size; /* physical block, >= sector_size; 0: the same */
	const char *serial;     /* the GET_ID answer (20 bytes at most); NULL: all zero */
	bool nodelete;          /* do not offer DISCARD */
};

/* The device on a back-end it takes over (closed with the device, or on failure). */
int virtio_blk_add(struct pci_bus *bus, unsigned slot, unsigned fn, struct blk_backend *be,
		   const struct virtio_blk_params *p, struct virtio_pci **out, struct errmsg *e);

/* pci_devices.c's constructor: parses conf "path[,ro][,nodelete][,sectorsize=N[/P]]", opens the raw file. */
int pci_virtio_blk_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e);

#endif
