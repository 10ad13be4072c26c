/* virtio-blk requests (header, data, status byte) for the test guests, polled on virtio_guest. */
#include "virtio_blk_guest.h"

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define F_FLUSH (1ull << 9)
#define SPINS 1000000ul

struct req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct req_hdr hdr;
static volatile uint8_t status_byte;

static unsigned request(struct vgb_disk *d, uint32_t type, uint64_t sector, void *data, uint32_t len, bool data_in)
{
	hdr = (struct req_hdr){ .type = type, .sector = sector };
	status_byte = 0xee;
	struct vg_buf b[3] = { { &hdr, sizeof(hdr), false } };
	unsigned n = 1;
	if (len)
		b[n++] = (struct vg_buf){ data, len, data_in };
	b[n++] = (struct vg_buf){ (void *)&status_byte, 1, true };
	if (vg_submit(&d->dev, 0, b, n) < 0)
		return VGB_S_TIMEOUT;
	vg_kick(&d->dev, 0);
	uint32_t written;
	if (vg_wait(&d->dev, 0, &written, SPINS) < 0)
		return VGB_S_TIMEOUT;
	return status_byte;
}

int vgb_open(struct vgb_disk *d, unsigned index, const char **why)
{
	if (vg_find(VG_VENDOR_VIRTIO, VG_DEVICE_BLK, index, &d->dev) < 0)
		return *why = "no virtio-blk device", -1;
	if (vg_init(&d->dev, F_FLUSH) < 0)
		return *why = "feature negotiation failed", -1;
	if (vg_queue_setup(&d->dev, 0, 16) < 0)
		return *why = "queue setup failed", -1;
	vg_driver_ok(&d->dev);
	d->capacity = vg_cfg64(&d->dev, 0);
	return 0;
}

unsigned vgb_read(struct vgb_disk *d, uint64_t sector, void *buf, uint32_t count)
{
	return request(d, T_IN, sector, buf, count * VGB_SECTOR, true);
}

unsigned vgb_write(struct vgb_disk *d, uint64_t sector, const void *buf, uint32_t count)
{
	return request(d, T_OUT, sector, (void *)buf, count * VGB_SECTOR, false);
}

unsigned vgb_flush(struct vgb_disk *d)
{
	return request(d, T_FLUSH, 0, 0, 0, false);
}

unsigned vgb_get_id(struct vgb_disk *d, char id[21])
{
	for (unsigned i = 0; i < 21; i++)
		id[i] = 0;
	return request(d, T_GET_ID, 0, id, 20, true);
}
