/* Sector I/O on a virtio-blk disk for the bare-metal test guests, on virtio_guest: what a guest that
 * only wants to read or write its disk calls (a record/replay test guest, vblkread). Polled, one
 * request at a time. */
#ifndef DHYVE_GUESTS_VIRTIO_BLK_GUEST_H
#define DHYVE_GUESTS_VIRTIO_BLK_GUEST_H

#include <stdint.h>

#include "virtio_guest.h"

#define VGB_SECTOR 512u
#define VGB_S_OK 0
#define VGB_S_IOERR 1
#define VGB_S_UNSUPP 2
#define VGB_S_TIMEOUT 0xff /* the device never answered */

struct vgb_disk {
	struct vg_dev dev;
	uint64_t capacity; /* 512-byte sectors */
};

/* The index-th virtio-blk function, set up (FLUSH offered if the device has it), DRIVER_OK.
 * 0, or -1 with a reason in *why. */
int vgb_open(struct vgb_disk *d, unsigned index, const char **why);
/* count sectors at sector into or from buf: a VGB_S_* status. */
unsigned vgb_read(struct vgb_disk *d, uint64_t sector, void *buf, uint32_t count);
unsigned vgb_write(struct vgb_disk *d, uint64_t sector, const void *buf, uint32_t count);
unsigned vgb_flush(struct vgb_disk *d);
/* The disk's serial (20 bytes, NUL-padded; id must have room for 21). */
unsigned vgb_get_id(struct vgb_disk *d, char id[21]);

#endif
