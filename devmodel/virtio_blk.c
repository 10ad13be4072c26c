/* virtio-blk: parses requests (header, data, status byte) off the transport's chains and serves
 * them from a blk_backend. Synchronous in this version: a request completes inside the notify. */
#include "devmodel/virtio_blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


#define SECTOR 512u
#define CLASS_STORAGE_OTHER 0x018000
#define CFG_LEN 48 /* up to discard_sector_alignment: what the offered features make valid */

struct blk {
	struct blk_backend *be;
	uint64_t capacity; /* 512-byte sectors */
	unsigned sector_size;
	uint8_t physical_block_exp;
	bool discard;
	char serial[VIRTIO_BLK_ID_BYTES];
	struct vq_chain chain; /* 4 KiB: too big for the vCPU thread's stack each time */
	const struct gmem *mem; /* the transport's view, told which bytes the device touched */
	uint8_t *gather;       /* where piece_gather and piece_scatter copy to or from */
};

struct blk_req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

struct blk_discard_seg {
	uint64_t sector;
	uint32_t num_sectors, flags;
};

/* Walks bytes [start, start+len) of the chain's readable (or writable) buffers as one stream. */
typedef int (*piece_fn)(struct blk *b, uint8_t *host, size_t n, uint64_t pos);

static int for_range(struct blk *b, bool writable, uint64_t start, uint64_t len, piece_fn fn, uint64_t pos)
{
	struct vq_chain *c = &b->chain;
	uint64_t s = 0, end = start + len;
	for (unsigned i = 0; i < c->nseg && s < end; i++) {
		struct vq_seg *g = &c->seg[i];
		if (g->writable != writable)
			continue;
		uint64_t lo = s > start ? s : start, hi = s + g->len < end ? s + g->len : end;
		if (lo < hi) {
			int rc = fn(b, g->host + (lo - s), (size_t)(hi - lo), pos + (lo - start));
			if (rc < 0)
				return rc;
			if (writable)
				gmem_note_write(b->mem, g->gpa + (lo - s), hi - lo);
			else
				gmem_note_read(b->mem, g->gpa + (lo - s), hi - lo);
		}
		s += g->len;
	}
	return 0;
}

static int piece_read(struct blk *b, uint8_t *host, size_t n, uint64_t pos)
{
	return b->be->ops->read(b->be->ctx, host, n, pos);
}

static int piece_write(struct blk *b, uint8_t *host, size_t n, uint64_t pos)
{
	return b->be->ops->write(b->be->ctx, host, n, pos);
}

/* Gathering small structures (header, discard segments) that a driver may split. */
static int piece_gather(struct blk *b, uint8_t *host, size_t n, uint64_t pos)
{
	memcpy(b->gather + pos, host, n);
	return 0;
}

static int piece_scatter(struct blk *b, uint8_t *host, size_t n, uint64_t pos)
{
	memcpy(host, b->gather + pos, n);
	return 0;
}

static bool in_disk(const struct blk *b, uint64_t sector, uint64_t bytes)
{
	/* Written so that no sum can wrap: a guest picks both numbers. */
	return bytes % SECTOR == 0 && sector <= b->capacity && bytes / SECTOR <= b->capacity - sector;
}

static uint8_t do_discard(struct blk *b, uint64_t readable)
{
	if (!b->discard || b->be->ro)
		return VIRTIO_BLK_S_UNSUPP;
	uint64_t bytes = readable - sizeof(struct blk_req_hdr);
	if (bytes == 0 || bytes % sizeof(struct blk_discard_seg))
		return VIRTIO_BLK_S_IOERR;
	for (uint64_t at = 0; at < bytes; at += sizeof(struct blk_discard_seg)) {
		struct blk_discard_seg d;
		b->gather = (uint8_t *)&d;
		for_range(b, false, sizeof(struct blk_req_hdr) + at, sizeof(d), piece_gather, 0);
		if (d.flags || !in_disk(b, d.sector, (uint64_t)d.num_sectors * SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (b->be->ops->discard(b->be->ctx, d.sector * SECTOR, (uint64_t)d.num_sectors * SECTOR) < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* Serves the chain in b->chain; returns the bytes written into guest buffers. */
static uint32_t serve(struct blk *b)
{
	struct vq_chain *c = &b->chain;
	uint64_t readable = 0, writable = 0;
	struct vq_seg *status_seg = NULL;
	for (unsigned i = 0; i < c->nseg; i++) {
		if (c->seg[i].writable) {
			writable += c->seg[i].len;
			if (c->seg[i].len)
				status_seg = &c->seg[i];
		} else {
			readable += c->seg[i].len;
		}
	}
	/* Without a header or a status byte there is nothing to answer: give the buffers back. */
	if (readable < sizeof(struct blk_req_hdr) || !status_seg)
		return 0;
	struct blk_req_hdr h;
	b->gather = (uint8_t *)&h;
	for_range(b, false, 0, sizeof(h), piece_gather, 0);
	uint64_t data_in = writable - 1, data_out = readable - sizeof(h);
	uint32_t written = 1;
	uint8_t st = VIRTIO_BLK_S_OK;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
		if (!in_disk(b, h.sector, data_in) ||
		    for_range(b, true, 0, data_in, piece_read, h.sector * SECTOR) < 0)
			st = VIRTIO_BLK_S_IOERR;
		written += (uint32_t)data_in;
		break;
	case VIRTIO_BLK_T_OUT:
		if (b->be->ro || !in_disk(b, h.sector, data_out) ||
		    for_range(b, false, sizeof(h), data_out, piece_write, h.sector * SECTOR) < 0)
			st = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (b->be->ops->flush(b->be->ctx) < 0)
			st = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		uint64_t n = data_in < VIRTIO_BLK_ID_BYTES ? data_in : VIRTIO_BLK_ID_BYTES;
		b->gather = (uint8_t *)b->serial;
		for_range(b, true, 0, n, piece_scatter, 0);
		written += (uint32_t)n;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
		st = do_discard(b, readable);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	/* The status byte is the last writable byte of the chain (5.2.6). */
	status_seg->host[status_seg->len - 1] = st;
	gmem_note_write(b->mem, status_seg->gpa + status_seg->len - 1, 1);
	return written;
}

static void blk_notify(void *dev, struct virtio_pci *vp, unsigned q)
{
	struct blk *b = dev;
	b->mem = vp->mem;
	while (virtio_pci_pop(vp, q, &b->chain) == 1)
		virtio_pci_push(vp, q, b->chain.head, serve(b));
}

static void blk_cfg_read(void *dev, unsigned off, unsigned size, uint64_t *val)
{
	struct blk *b = dev;
	uint8_t cfg[CFG_LEN] = { 0 };
	uint32_t seg_max = VIRTIO_BLK_QUEUE_SIZE - 2; /* room for header and status */
	uint32_t blk_size = b->sector_size, max_discard = 0xffffffffu / SECTOR, one = 1;
	uint32_t discard_align = b->sector_size / SECTOR;
	uint16_t min_io = 1;
	memcpy(cfg + 0, &b->capacity, 8);
	memcpy(cfg + 12, &seg_max, 4);
	memcpy(cfg + 20, &blk_size, 4);
	cfg[24] = b->physical_block_exp;
	memcpy(cfg + 26, &min_io, 2);
	memcpy(cfg + 36, &max_discard, 4);
	memcpy(cfg + 40, &one, 4);
	memcpy(cfg + 44, &discard_align, 4);
	uint64_t v = 0;
	memcpy(&v, cfg + off, size);
	*val = v;
}

static void blk_destroy(void *dev)
{
	struct blk *b = dev;
	blk_backend_close(b->be);
	free(b);
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = 2,
	.class_code = CLASS_STORAGE_OTHER,
	.nqueues = 1,
	.queue_size = VIRTIO_BLK_QUEUE_SIZE,
	.cfg_len = CFG_LEN,
	.cfg_read = blk_cfg_read,
	.queue_notify = blk_notify,
	.destroy = blk_destroy,
};

int virtio_blk_add(struct pci_bus *bus, unsigned slot, unsigned fn, struct blk_backend *be,
		   const struct virtio_blk_params *p, struct virtio_pci **out, struct errmsg *e)
{
	unsigned sector_size = p->sector_size ? p->sector_size : SECTOR;
	unsigned physical = p->physical_size ? p->physical_size : sector_size;
	if (physical < sector_size || physical > 32768 || (physical & (physical - 1))) {
		blk_backend_close(be);
		return errmsg_set(e, EINVAL, "physical sector size %u is not a power of two from %u to 32768", physical,
				  sector_size);
	}
	if (sector_size < SECTOR || sector_size > 32768 || (sector_size & (sector_size - 1))) {
		blk_backend_close(be);
		return errmsg_set(e, EINVAL, "sector size %u is not a power of two from 512 to 32768", sector_size);
	}
	struct blk *b = calloc(1, sizeof(*b));
	if (!b) {
		blk_backend_close(be);
		return errmsg_set(e, ENOMEM, "out of memory");
	}
	b->be = be;
	b->sector_size = sector_size;
	/* Whole logical blocks only: a tail shorter than a block is not addressable. */
	b->capacity = be->size / sector_size * (sector_size / SECTOR);
	b->discard = be->ops->discard != NULL && !p->nodelete;
	while ((sector_size << b->physical_block_exp) < physical)
		b->physical_block_exp++;
	/* 20 bytes, NUL-padded, not NUL-terminated when the serial fills them (5.2.6). */
	if (p->serial)
		memcpy(b->serial, p->serial, strnlen(p->serial, sizeof(b->serial)));
	/* TOPOLOGY makes the driver read physical_block_exp (sectorsize=N/P). */
	uint64_t features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_TOPOLOGY;
	if (be->ro)
		features |= VIRTIO_BLK_F_RO;
	else if (b->discard)
		features |= VIRTIO_BLK_F_DISCARD;
	return virtio_pci_add(bus, slot, fn, &blk_ops, b, features, out, e);
}

static int parse_sectorsize(const char *s, unsigned *logical, unsigned *physical)
{
	char *end;
	unsigned long l = strtoul(s, &end, 10), p = l;
	if (*end == '/')
		p = strtoul(end + 1, &end, 10);
	if (end == s || *end || l < SECTOR || l > 32768 || (l & (l - 1)) || p < l || p > 32768 || (p & (p - 1)))
		return -EINVAL;
	*logical = (unsigned)l;
	*physical = (unsigned)p;
	return 0;
}

int pci_virtio_blk_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e)
{
	char *copy = strdup(conf ? conf : "");
	if (!copy)
		return errmsg_set(e, ENOMEM, "out of memory");
	char *save = NULL, *path = strtok_r(copy, ",", &save);
	bool ro = false, nodelete = false;
	unsigned logical = SECTOR, physical = SECTOR;
	int rc = 0;
	if (!path || copy[0] == ',') { /* strtok_r skips a leading comma: ",ro" has no path */
		rc = errmsg_set(e, EINVAL, "needs a disk image path: -s slot,virtio-blk,path[,ro][,sectorsize=N[/P]]");
		goto out;
	}
	for (char *opt; (opt = strtok_r(NULL, ",", &save));) {
		if (strcmp(opt, "ro") == 0)
			ro = true;
		else if (strcmp(opt, "nodelete") == 0)
			nodelete = true;
		else if (strncmp(opt, "sectorsize=", 11) == 0 && parse_sectorsize(opt + 11, &logical, &physical) == 0)
			;
		else {
			rc = errmsg_set(e, EINVAL, "unknown or bad option '%s' (known: ro, nodelete, sectorsize=N[/P])", opt);
			goto out;
		}
	}
	struct blk_backend *be;
	if ((rc = blk_backend_open_raw(path, ro, &be, e)) < 0)
		goto out;
	const char *base = strrchr(path, '/');
	struct virtio_blk_params p = { .sector_size = logical, .physical_size = physical, .nodelete = nodelete,
				       .serial = base ? base + 1 : path };
	rc = virtio_blk_add(bus, slot, fn, be, &p, NULL, e);
out:
	free(copy);
	return rc;
}
