/* vblkread.elf: reads the first 64 sectors of the first virtio-blk disk through virtio_guest and
 * prints their FNV-1a checksum; writes a pattern to sectors 64-71, flushes, reads it back and
 * compares; asks for the disk's ID and for a sector past the end; switches to MSI-X and checks that
 * a completion on a masked vector is pending until unmasked; powers off (status 1). Sector I/O
 * goes through virtio_blk_guest.c, the helper other test guests use for their disks. */
#include "guest.h"
#include "virtio_blk_guest.h"

#define SECTOR VGB_SECTOR
#define READ_SECTORS 64u
#define CHUNK_SECTORS 8u
#define WRITE_SECTOR 64u
#define WRITE_BYTES (CHUNK_SECTORS * SECTOR)

static struct vgb_disk disk;

static void put_hex(uint32_t v)
{
	static const char hex[] = "0123456789abcdef";
	serial_puts("0x");
	for (int shift = 28; shift >= 0; shift -= 4)
		serial_putc(hex[(v >> shift) & 0xf]);
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
	const char *why;
	if (vgb_open(&disk, 0, &why) < 0)
		finish(why);
	uint64_t capacity = disk.capacity;
	serial_puts("vblkread: capacity ");
	serial_putu((uint32_t)capacity);
	serial_puts(" sectors\n");
	if (capacity < WRITE_SECTOR + CHUNK_SECTORS)
		finish("disk too small");

	uint8_t *buf = vg_alloc(WRITE_BYTES, 4096), *pattern = vg_alloc(WRITE_BYTES, 4096);
	uint32_t h = 2166136261u;
	unsigned bad = 0;
	for (unsigned s = 0; s < READ_SECTORS; s += CHUNK_SECTORS) {
		bad += vgb_read(&disk, s, buf, CHUNK_SECTORS) != VGB_S_OK;
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
	serial_putu(vgb_write(&disk, WRITE_SECTOR, pattern, CHUNK_SECTORS));
	serial_puts(" flush status ");
	serial_putu(vgb_flush(&disk));
	unsigned rs = vgb_read(&disk, WRITE_SECTOR, buf, CHUNK_SECTORS);
	unsigned same = 1;
	for (uint32_t i = 0; i < WRITE_BYTES; i++)
		same &= buf[i] == pattern[i];
	serial_puts(" read back status ");
	serial_putu(rs);
	serial_puts(same ? " matches\n" : " differs\n");

	char id[21];
	unsigned ids = vgb_get_id(&disk, id);
	serial_puts("vblkread: id status ");
	serial_putu(ids);
	serial_puts(" '");
	serial_puts(id);
	serial_puts("'\n");

	serial_puts("vblkread: read past the end status ");
	serial_putu(vgb_read(&disk, capacity, buf, 1));
	serial_putc('\n');
	/* MSI-X with interrupts off: the masked vector's pending bit is the completion's trace. */
	unsigned isr_intx = vg_isr(&disk.dev); /* INTx mode set the queue bit; reading clears it */
	if (vg_msix_enable(&disk.dev, 0x40) < 0)
		finish("MSI-X setup failed");
	vg_msix_mask(&disk.dev, 1, true);
	unsigned ms = vgb_read(&disk, 0, buf, 1);
	bool masked_pending = vg_msix_pending(&disk.dev, 1);
	vg_msix_mask(&disk.dev, 1, false);
	serial_puts("vblkread: intx isr ");
	serial_putu(isr_intx);
	serial_puts(" msix read status ");
	serial_putu(ms);
	serial_puts(" pending while masked ");
	serial_putu(masked_pending);
	serial_puts(" after unmask ");
	serial_putu(vg_msix_pending(&disk.dev, 1));
	serial_puts(" isr ");
	serial_putu(vg_isr(&disk.dev));
	serial_putc('\n');
	serial_puts("vblkread: device status ");
	serial_putu(vg_status(&disk.dev));
	serial_putc('\n');
	finish(0);
}
