/* vblkread.elf: reads the first 64 sectors of the first virtio-blk disk through virtio_guest and
 * prints their FNV-1a checksum; writes a pattern to sectors 64-71, flushes, reads it back and
 * compares; asks for the disk's ID and for a sector past the end; switches to MSI-X and checks that
 * a completion on a masked vector is pending until unmasked; powers off (status 1). */
#include "guest.h"
#include "virtio_guest.h"

#define SECTOR 512u
#define READ_SECTORS 64u
#define CHUNK_SECTORS 8u
#define WRITE_SECTOR 64u
#define WRITE_BYTES (CHUNK_SECTORS * SECTOR)

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

static struct vg_dev disk;
static struct req_hdr hdr;
static uint8_t status_byte;

static void put_hex(uint32_t v)
{
	static const char hex[] = "0123456789abcdef";
	serial_puts("0x");
	for (int shift = 28; shift >= 0; shift -= 4)
		serial_putc(hex[(v >> shift) & 0xf]);
}

/* One request: header, optional data buffer, status byte. Returns the status, or 0xff when the
 * device never answered. */
static unsigned request(uint32_t type, uint64_t sector, void *data, uint32_t len, bool data_in)
{
	hdr = (struct req_hdr){ .type = type, .sector = sector };
	status_byte = 0xee;
	struct vg_buf b[3] = { { &hdr, sizeof(hdr), false } };
	unsigned n = 1;
	if (len)
		b[n++] = (struct vg_buf){ data, len, data_in };
	b[n++] = (struct vg_buf){ &status_byte, 1, true };
	if (vg_submit(&disk, 0, b, n) < 0)
		return 0xff;
	vg_kick(&disk, 0);
	uint32_t written;
	if (vg_wait(&disk, 0, &written, SPINS) < 0)
		return 0xff;
	return status_byte;
}

static uint32_t fnv1a(uint32_t h, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static __attribute__((noreturn)) void finish(const char *why)
{
	if (why) {
		serial_puts("vblkread: ");
		serial_puts(why);
		serial_putc('\n');
	}
	power_off();
}

void kmain(void)
{
	if (vg_find(VG_VENDOR_VIRTIO, VG_DEVICE_BLK, 0, &disk) < 0)
		finish("no virtio-blk device");
	if (vg_init(&disk, F_FLUSH) < 0)
		finish("feature negotiation failed");
	if (vg_queue_setup(&disk, 0, 16) < 0)
		finish("queue setup failed");
	vg_driver_ok(&disk);
	uint64_t capacity = vg_cfg64(&disk, 0);
	serial_puts("vblkread: capacity ");
	serial_putu((uint32_t)capacity);
	serial_puts(" sectors\n");
	if (capacity < WRITE_SECTOR + CHUNK_SECTORS)
		finish("disk too small");

	uint8_t *buf = vg_alloc(WRITE_BYTES, 4096), *pattern = vg_alloc(WRITE_BYTES, 4096);
	uint32_t h = 2166136261u;
	unsigned bad = 0;
	for (unsigned s = 0; s < READ_SECTORS; s += CHUNK_SECTORS) {
		bad += request(T_IN, s, buf, WRITE_BYTES, true) != 0;
		h = fnv1a(h, buf, WRITE_BYTES);
	}
	serial_puts("vblkread: read sectors 0-63 status ");
	serial_puts(bad ? "error" : "ok");
	serial_puts(" fnv1a ");
	put_hex(h);
	serial_putc('\n');

	for (uint32_t i = 0; i < WRITE_BYTES; i++)
		pattern[i] = (uint8_t)(i ^ (i >> 8) ^ 0xa5);
	serial_puts("vblkread: write sectors 64-71 status ");
	serial_putu(request(T_OUT, WRITE_SECTOR, pattern, WRITE_BYTES, false));
	serial_puts(" flush status ");
	serial_putu(request(T_FLUSH, 0, 0, 0, false));
	unsigned rs = request(T_IN, WRITE_SECTOR, buf, WRITE_BYTES, true);
	unsigned same = 1;
	for (uint32_t i = 0; i < WRITE_BYTES; i++)
		same &= buf[i] == pattern[i];
	serial_puts(" read back status ");
	serial_putu(rs);
	serial_puts(same ? " matches\n" : " differs\n");

	char id[21] = { 0 };
	unsigned ids = request(T_GET_ID, 0, id, 20, true);
	serial_puts("vblkread: id status ");
	serial_putu(ids);
	serial_puts(" '");
	serial_puts(id);
	serial_puts("'\n");

	serial_puts("vblkread: read past the end status ");
	serial_putu(request(T_IN, capacity, buf, SECTOR, true));
	serial_putc('\n');
	/* MSI-X with interrupts off: the masked vector's pending bit is the completion's trace. */
	unsigned isr_intx = vg_isr(&disk); /* INTx mode set the queue bit; reading clears it */
	if (vg_msix_enable(&disk, 0x40) < 0)
		finish("MSI-X setup failed");
	vg_msix_mask(&disk, 1, true);
	unsigned ms = request(T_IN, 0, buf, SECTOR, true);
	bool masked_pending = vg_msix_pending(&disk, 1);
	vg_msix_mask(&disk, 1, false);
	serial_puts("vblkread: intx isr ");
	serial_putu(isr_intx);
	serial_puts(" msix read status ");
	serial_putu(ms);
	serial_puts(" pending while masked ");
	serial_putu(masked_pending);
	serial_puts(" after unmask ");
	serial_putu(vg_msix_pending(&disk, 1));
	serial_puts(" isr ");
	serial_putu(vg_isr(&disk));
	serial_putc('\n');
	serial_puts("vblkread: device status ");
	serial_putu(vg_status(&disk));
	serial_putc('\n');
	finish(0);
}
