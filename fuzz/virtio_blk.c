/* Fuzz target virtio_blk: a virtio-blk (devmodel/virtio_blk.c on the virtio-pci transport) at
 * 4:0 over a 16 KiB RAM disk, driven by guest operations through its BARs, ECAM, guest RAM and queue
 * notifications; the transport's invariants after every operation (fuzz/virtio_fuzz.c), and here:
 * every back-end call lies inside the disk, and a read-only disk is never written or discarded. The
 * first input byte shapes the disk (read-only, sector and physical block sizes, failing blocks). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/pci_devices.h"
#include "devmodel/virtio_blk.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/virtio_fuzz.h"

#define DISK_BYTES (16u * 1024)
#define BAD_FROM (12u * 1024) /* with a failing disk, calls reaching past here fail (a media error) */
#define CONF_SLOT 5

/* virtio_blk device actions (GOP_DEVICE sub-operations from VFZ_DEV_OWN). */
enum {
	DEV_CONF = VFZ_DEV_OWN, /* pci_create_device at 5:0 with conf "<missing path>," + payload */
};

struct ramdisk {
	uint8_t bytes[DISK_BYTES];
	unsigned writes, flushes, discards;
	bool ro, failing;
};

static int rd_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct ramdisk *d = ctx;
	FUZZ_CHECK(off <= DISK_BYTES && len <= DISK_BYTES - off, "read of %zu at %llu past the disk", len,
		   (unsigned long long)off);
	if (d->failing && off + len > BAD_FROM)
		return -EIO;
	memcpy(buf, d->bytes + off, len);
	return 0;
}

static int rd_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct ramdisk *d = ctx;
	FUZZ_CHECK(!d->ro, "write to a read-only disk");
	FUZZ_CHECK(off <= DISK_BYTES && len <= DISK_BYTES - off, "write of %zu at %llu past the disk", len,
		   (unsigned long long)off);
	if (d->failing && off + len > BAD_FROM)
		return -EIO;
	memcpy(d->bytes + off, buf, len);
	d->writes++;
	return 0;
}

static int rd_flush(void *ctx)
{
	struct ramdisk *d = ctx;
	d->flushes++;
	return d->failing ? -EIO : 0;
}

static int rd_discard(void *ctx, uint64_t off, uint64_t len)
{
	struct ramdisk *d = ctx;
	FUZZ_CHECK(!d->ro, "discard on a read-only disk");
	FUZZ_CHECK(off <= DISK_BYTES && len <= DISK_BYTES - off, "discard of %llu at %llu past the disk",
		   (unsigned long long)len, (unsigned long long)off);
	d->discards++;
	return d->failing && off + len > BAD_FROM ? -EIO : 0;
}

static void rd_close(void *ctx)
{
	(void)ctx; /* the harness owns the disk */
}

static const struct blk_backend_ops rd_ops = { rd_read, rd_write, rd_flush, rd_discard, rd_close };

/* Options as a user writes them, on a path that does not exist: parsing runs, nothing is opened. */
static void device_action(struct vfz *z, unsigned sub, const uint8_t *buf, size_t len)
{
	if (sub != DEV_CONF)
		return;
	char conf[300] = "/nonexistent-dhyve-fuzz/disk.img,";
	size_t p = strlen(conf), k = strnlen((const char *)buf, len);
	if (k > sizeof(conf) - p - 1)
		k = sizeof(conf) - p - 1;
	memcpy(conf + p, buf, k);
	conf[p + k] = 0;
	struct errmsg e = { "" };
	/* A refused device should leave the bus alone, but a reset could not undo it if it did not. */
	z->stale = true;
	int rc = pci_create_device(z->bus, 0, CONF_SLOT, 0, "virtio-blk", conf, &e);
	FUZZ_CHECK(rc < 0 && e.text[0] && !pci_find(z->bus, CONF_SLOT, 0), "conf '%s': rc %d", conf, rc);
}

/* The disk's initial contents, made once: filling 16 KiB byte by byte was 7% of a short input. */
static const uint8_t *disk_pattern(void)
{
	static uint8_t pattern[DISK_BYTES];
	static bool made;
	if (!made) {
		for (unsigned i = 0; i < DISK_BYTES; i++)
			pattern[i] = (uint8_t)(i * 7 ^ i >> 9);
		made = true;
	}
	return pattern;
}

struct blk_fuzz {
	struct vfz z;
	struct ramdisk disk;
};

/* Machines kept between inputs, one per disk shape (the first input byte's six low bits): building
 * a bus, a device and its RAM was a third of a short input's time; a reset costs a few us. */
static struct blk_fuzz *kept[64];

static void drop(struct blk_fuzz *b)
{
	vfz_destroy(&b->z);
	free(b);
}

static struct blk_fuzz *build(uint8_t shape)
{
	struct blk_fuzz *b = malloc(sizeof(*b));
	if (!b || !vfz_create(&b->z)) {
		free(b);
		return NULL;
	}
	/* bit 0 read-only, bits 1-2 the sector size (512 << n), bits 3-4 the physical block
	 * (sector << n), bit 5 a disk whose last 4 KiB fail. */
	b->disk.ro = shape & 1;
	b->disk.failing = shape & 0x20;
	/* The device takes the back-end over and frees it (blk_backend_close); the disk stays ours. */
	struct blk_backend *be = malloc(sizeof(*be));
	unsigned sector = 512u << ((shape >> 1) & 3);
	struct virtio_blk_params p = { .sector_size = sector, .physical_size = sector << ((shape >> 3) & 3),
				       .serial = "fuzzdisk" };
	struct errmsg e;
	if (be)
		*be = (struct blk_backend){ .ops = &rd_ops, .ctx = &b->disk, .size = DISK_BYTES, .ro = b->disk.ro };
	if (!be || virtio_blk_add(b->z.bus, VFZ_SLOT, 0, be, &p, NULL, &e) != 0) {
		drop(b);
		return NULL;
	}
	vfz_attach(&b->z);
	b->z.drop_features = VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_FLUSH;
	vfz_keep(&b->z);
	return b;
}

/* The machine for this shape at power-on, with the disk as it was made. */
static struct blk_fuzz *machine(uint8_t shape)
{
	struct blk_fuzz **slot = &kept[shape & 0x3f];
	if (*slot && ((*slot)->z.stale || fuzz_fresh_machines)) {
		drop(*slot);
		*slot = NULL;
	}
	if (*slot)
		vfz_restore(&(*slot)->z);
	else if (!(*slot = build(shape)))
		return NULL;
	struct blk_fuzz *b = *slot;
	b->disk.writes = b->disk.flushes = b->disk.discards = 0;
	memcpy(b->disk.bytes, disk_pattern(), DISK_BYTES);
	return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the disk's shape. */
	struct blk_fuzz *b = machine(size ? data[0] : 0);
	if (!b)
		return 0;
	vfz_run(&b->z, size ? data + 1 : data, size ? size - 1 : 0, device_action, NULL);
	FUZZ_CHECK(!b->disk.ro || (b->disk.writes == 0 && b->disk.discards == 0), "a read-only disk was written");
	fuzz_outcome_add(b->disk.bytes, DISK_BYTES);
	fuzz_outcome_u64((uint64_t)b->disk.writes << 40 | (uint64_t)b->disk.flushes << 20 | b->disk.discards);
	return 0;
}
