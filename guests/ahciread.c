/* ahciread.elf: a tiny AHCI driver. Finds the HBA on PCI bus 0, brings each port up, and on the
 * disk issues IDENTIFY, READ DMA EXT, READ FPDMA QUEUED, WRITE DMA EXT + FLUSH + read-back and an
 * out-of-range read; on the CD IDENTIFY PACKET, READ CAPACITY and READ(10) of the ISO's volume
 * descriptor. Prints what it read and FNV-1a checksums for tests/integration/ahci.sh, then powers
 * off (status 1). */
#include <stdbool.h>

#include "guest.h"

#define CFG_ADDR 0xcf8
#define CFG_DATA 0xcfc
#define WRITE_LBA 100   /* the integration test checks these bytes in the image */
#define READ_SECTORS 8

/* Guest RAM for the HBA's structures: command list, FIS area, one table, data. */
#define CLB   0x800000ul
#define FB    0x801000ul
#define CTBA  0x802000ul
#define BUF   0x810000ul
#define BUF2  0x820000ul

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static uint32_t cfg_read(unsigned slot, unsigned reg)
{
	outl(CFG_ADDR, 0x80000000u | slot << 11 | (reg & 0xfc));
	return inl(CFG_DATA);
}

static void cfg_write(unsigned slot, unsigned reg, uint32_t v)
{
	outl(CFG_ADDR, 0x80000000u | slot << 11 | (reg & 0xfc));
	outl(CFG_DATA, v);
}

static volatile uint32_t *abar;

static uint32_t rd(unsigned off) { return abar[off / 4]; }
static void wr(unsigned off, uint32_t v) { abar[off / 4] = v; }
static unsigned preg(unsigned port, unsigned r) { return 0x100 + port * 0x80 + r; }

static void put_hex(uint32_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
		serial_putc(hex[(v >> shift) & 0xf]);
}

static uint32_t fnv1a(const volatile uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void zero(volatile uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = 0;
}

static void port_start(unsigned port)
{
	wr(preg(port, 0x18), 0);        /* stop: ST and FRE off */
	wr(preg(port, 0x00), CLB);
	wr(preg(port, 0x04), 0);
	wr(preg(port, 0x08), FB);
	wr(preg(port, 0x0c), 0);
	wr(preg(port, 0x30), 0xffffffffu); /* SERR */
	wr(preg(port, 0x10), 0xffffffffu); /* IS */
	wr(preg(port, 0x18), 1u << 4);     /* FRE */
	wr(preg(port, 0x18), (1u << 4) | 1u); /* FRE | ST */
}

/* One command in slot 0, one PRD; returns PxTFD after it completes, or 0xffffffff when it
 * reported an error in PxIS (then the port is restarted, as a driver's error handler does). */
static uint32_t command(unsigned port, uint8_t cmd, uint64_t lba, uint16_t count, uint8_t feat, uint64_t buf,
			uint32_t len, const uint8_t *packet);

/* READ FPDMA QUEUED in slot 3 (tag 3): PxSACT before PxCI, completion by a set device bits FIS
 * that clears the slot's SActive bit. Returns true when it completed without error. */
static bool ncq_read(unsigned port, uint64_t lba, uint16_t count, uint64_t buf)
{
	const unsigned slot = 3;
	volatile uint8_t *t = (volatile uint8_t *)(CTBA + 0x1000);
	zero(t, 0x90);
	t[0] = 0x27, t[1] = 0x80, t[2] = 0x60, t[3] = (uint8_t)count, t[11] = (uint8_t)(count >> 8);
	t[4] = (uint8_t)lba, t[5] = (uint8_t)(lba >> 8), t[6] = (uint8_t)(lba >> 16), t[7] = 0x40;
	t[12] = slot << 3;
	volatile uint32_t *prd = (volatile uint32_t *)(CTBA + 0x1080);
	prd[0] = (uint32_t)buf, prd[1] = 0, prd[2] = 0, prd[3] = count * 512u - 1;
	volatile uint32_t *h = (volatile uint32_t *)(CLB + slot * 32);
	h[0] = 5u | 1u << 16, h[1] = 0, h[2] = CTBA + 0x1000, h[3] = 0;
	wr(preg(port, 0x34), 1u << slot);
	wr(preg(port, 0x38), 1u << slot);
	for (int spin = 0; spin < 1000000 && (rd(preg(port, 0x34)) & (1u << slot)) && !(rd(preg(port, 0x10)) & (3u << 29));
	     spin++)
		;
	uint32_t is = rd(preg(port, 0x10));
	volatile uint8_t *sdb = (volatile uint8_t *)(FB + 0x58);
	bool ok = (is & (1u << 3)) && !(is & (7u << 28)) && sdb[0] == 0xa1 && !(rd(preg(port, 0x34)) & (1u << slot));
	wr(preg(port, 0x10), is);
	wr(0x08, rd(0x08));
	if (!ok)
		port_start(port);
	return ok;
}

static uint32_t command(unsigned port, uint8_t cmd, uint64_t lba, uint16_t count, uint8_t feat, uint64_t buf,
			uint32_t len, const uint8_t *packet)
{
	volatile uint8_t *t = (volatile uint8_t *)CTBA;
	zero(t, 0x90);
	t[0] = 0x27, t[1] = 0x80, t[2] = cmd, t[3] = feat;
	t[4] = (uint8_t)lba, t[5] = (uint8_t)(lba >> 8), t[6] = (uint8_t)(lba >> 16), t[7] = 0x40;
	t[8] = (uint8_t)(lba >> 24), t[9] = (uint8_t)(lba >> 32), t[10] = (uint8_t)(lba >> 40);
	t[12] = (uint8_t)count, t[13] = (uint8_t)(count >> 8);
	if (packet)
		for (int i = 0; i < 12; i++)
			t[0x40 + i] = packet[i];
	volatile uint32_t *prd = (volatile uint32_t *)(CTBA + 0x80);
	prd[0] = (uint32_t)buf, prd[1] = (uint32_t)(buf >> 32), prd[2] = 0, prd[3] = len - 1;
	volatile uint32_t *h = (volatile uint32_t *)CLB;
	h[0] = 5u | (packet ? 1u << 5 : 0) | (len ? 1u << 16 : 0);
	h[1] = 0, h[2] = CTBA, h[3] = 0;
	wr(preg(port, 0x38), 1);
	for (int spin = 0; spin < 1000000 && (rd(preg(port, 0x38)) & 1) && !(rd(preg(port, 0x10)) & (3u << 29)); spin++)
		;
	uint32_t is = rd(preg(port, 0x10)), tfd = rd(preg(port, 0x20));
	wr(preg(port, 0x10), is);
	wr(0x08, rd(0x08));
	if (is & (3u << 29)) {
		serial_puts("ahciread: error tfd ");
		put_hex(tfd, 4);
		serial_putc('\n');
		port_start(port);
		return 0xffffffffu;
	}
	return tfd;
}

static void disk(unsigned port)
{
	volatile uint16_t *id = (volatile uint16_t *)BUF;
	if (command(port, 0xec, 0, 0, 0, BUF, 512, 0) == 0xffffffffu)
		return;
	serial_puts("hd model ");
	for (int w = 27; w < 47; w++) {
		char a = (char)(id[w] >> 8), b = (char)id[w];
		if (a != ' ')
			serial_putc(a);
		if (b != ' ')
			serial_putc(b);
	}
	uint32_t sectors = id[100] | (uint32_t)id[101] << 16;
	serial_puts(" sectors ");
	serial_putu(sectors);
	serial_putc('\n');

	zero((volatile uint8_t *)BUF, READ_SECTORS * 512);
	if (command(port, 0x25, 0, READ_SECTORS, 0, BUF, READ_SECTORS * 512, 0) != 0xffffffffu) {
		serial_puts("hd read lba 0 count 8 fnv ");
		put_hex(fnv1a((volatile uint8_t *)BUF, READ_SECTORS * 512), 8);
		serial_putc('\n');
	}

	/* The same sectors through NCQ must read the same bytes. */
	zero((volatile uint8_t *)BUF2, READ_SECTORS * 512);
	if (ncq_read(port, 0, READ_SECTORS, BUF2)) {
		serial_puts("hd ncq read lba 0 count 8 fnv ");
		put_hex(fnv1a((volatile uint8_t *)BUF2, READ_SECTORS * 512), 8);
		serial_putc('\n');
	} else {
		serial_puts("hd ncq read FAILED\n");
	}

	volatile uint8_t *w = (volatile uint8_t *)BUF;
	for (uint32_t i = 0; i < 512; i++)
		w[i] = (uint8_t)(i * 3 + 0x5a);
	uint32_t want = fnv1a(w, 512);
	bool ok = command(port, 0x35, WRITE_LBA, 1, 0, BUF, 512, 0) != 0xffffffffu &&
		  command(port, 0xea, 0, 0, 0, 0, 0, 0) != 0xffffffffu;
	zero((volatile uint8_t *)BUF2, 512);
	ok = ok && command(port, 0x25, WRITE_LBA, 1, 0, BUF2, 512, 0) != 0xffffffffu;
	serial_puts("hd write lba 100 fnv ");
	put_hex(want, 8);
	serial_puts(ok && fnv1a((volatile uint8_t *)BUF2, 512) == want ? " readback ok\n" : " readback FAILED\n");

	/* One sector past the end: the device must refuse it (IDNF), and the port must recover. */
	serial_puts("hd read past end: ");
	uint32_t tfd = command(port, 0x25, sectors, 1, 0, BUF, 512, 0);
	serial_puts(tfd == 0xffffffffu ? "refused\n" : "accepted\n");
	tfd = command(port, 0x25, sectors - 1, 1, 0, BUF, 512, 0);
	serial_puts(tfd == 0xffffffffu ? "hd last sector FAILED\n" : "hd last sector ok\n");
}

static void cd(unsigned port)
{
	volatile uint16_t *id = (volatile uint16_t *)BUF;
	if (command(port, 0xa1, 0, 0, 0, BUF, 512, 0) == 0xffffffffu)
		return;
	serial_puts("cd identify packet ");
	put_hex(id[0], 4);
	serial_putc('\n');
	static const uint8_t tur[12] = { 0 }, cap[12] = { 0x25 };
	static const uint8_t read10[12] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 2 };
	if (command(port, 0xa0, 0, 0, 1, BUF, 0, tur) == 0xffffffffu)
		return;
	if (command(port, 0xa0, 0, 0, 1, BUF, 8, cap) == 0xffffffffu)
		return;
	volatile uint8_t *b = (volatile uint8_t *)BUF;
	uint32_t last = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	uint32_t bs = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
	serial_puts("cd capacity ");
	serial_putu(last + 1);
	serial_puts(" x ");
	serial_putu(bs);
	serial_putc('\n');
	zero(b, 4096);
	if (command(port, 0xa0, 0, 0, 1, BUF, 4096, read10) == 0xffffffffu)
		return;
	serial_puts("cd read lba 16 count 2 fnv ");
	put_hex(fnv1a(b, 4096), 8);
	serial_puts(" id ");
	for (int i = 1; i < 6; i++)
		serial_putc((char)b[i]);
	serial_putc('\n');
}

void kmain(void)
{
	unsigned slot = 32;
	for (unsigned s = 0; s < 32; s++)
		if ((cfg_read(s, 0) & 0xffff) != 0xffff && cfg_read(s, 8) >> 8 == 0x010601) {
			slot = s;
			break;
		}
	if (slot == 32) {
		serial_puts("ahciread: no AHCI controller\n");
		power_off();
	}
	cfg_write(slot, 4, cfg_read(slot, 4) | 0x6); /* memory decode, bus master */
	abar = (volatile uint32_t *)(uintptr_t)(cfg_read(slot, 0x24) & ~0xfu);
	serial_puts("ahci at slot ");
	serial_putu(slot);
	serial_puts(" version ");
	put_hex(rd(0x10), 8);
	serial_puts(" ports ");
	serial_putu((rd(0) & 0x1f) + 1);
	serial_putc('\n');
	wr(0x04, 1u << 31);
	uint32_t pi = rd(0x0c);
	for (unsigned port = 0; port < 32; port++) {
		if (!(pi & (1u << port)) || (rd(preg(port, 0x28)) & 0xf) != 3)
			continue;
		port_start(port);
		uint32_t sig = rd(preg(port, 0x24));
		serial_puts("port ");
		serial_putu(port);
		serial_puts(" sig ");
		put_hex(sig, 8);
		serial_putc('\n');
		if (sig == 0x00000101)
			disk(port);
		else if (sig == 0xeb140101)
			cd(port);
	}
	serial_puts("ahciread: done\n");
	power_off();
}
