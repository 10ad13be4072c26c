/* fwcfgread.elf: reads fw_cfg as firmware does: signature, ID, RAM size and CPU count through
 * the port interface, the file directory, and the file "etc/dhyve/name" by DMA when offered. */
#include "guest.h"

#define FW_CFG_SEL  0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_DMA_HI 0x514
#define FW_CFG_DMA_LO 0x518

#define KEY_SIGNATURE 0x0000
#define KEY_ID        0x0001
#define KEY_RAM_SIZE  0x0003
#define KEY_NB_CPUS   0x0005
#define KEY_MAX_CPUS  0x000f
#define KEY_FILE_DIR  0x0019
#define ID_DMA        0x02
#define DMA_ERROR     0x01
#define DMA_READ      0x02
#define DMA_SELECT    0x08

static void select_key(uint16_t key)
{
	outw(FW_CFG_SEL, key);
}

static void read_bytes(void *buf, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = inb(FW_CFG_DATA);
}

static uint64_t read_le(uint16_t key, unsigned n)
{
	uint8_t b[8];
	select_key(key);
	read_bytes(b, n);
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_hex(uint32_t v)
{
	static const char digits[] = "0123456789abcdef";
	serial_puts("0x");
	for (int s = 12; s >= 0; s -= 4)
		serial_putc(digits[(v >> s) & 0xf]);
}

/* The DMA access structure: control, length, address, all big-endian. Identity-mapped
 * memory, so its virtual address is the physical one the device needs. */
static volatile struct {
	uint32_t control, length;
	uint64_t address;
} __attribute__((aligned(16))) dma_acc;
static char dma_buf[64];

/* Reads len bytes of key by DMA into dma_buf; returns 0, or -1 if the device flagged an error. */
static int dma_read(uint16_t key, uint32_t len)
{
	dma_acc.control = __builtin_bswap32((uint32_t)key << 16 | DMA_SELECT | DMA_READ);
	dma_acc.length = __builtin_bswap32(len);
	dma_acc.address = __builtin_bswap64((uint64_t)(uintptr_t)dma_buf);
	uint64_t a = (uint64_t)(uintptr_t)&dma_acc;
	outl(FW_CFG_DMA_HI, __builtin_bswap32((uint32_t)(a >> 32)));
	outl(FW_CFG_DMA_LO, __builtin_bswap32((uint32_t)a)); /* the transfer happens here */
	return (__builtin_bswap32(dma_acc.control) & DMA_ERROR) ? -1 : 0;
}

static int name_is(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

void kmain(void)
{
	char sig[5] = { 0 };
	select_key(KEY_SIGNATURE);
	read_bytes(sig, 4);
	serial_puts("fw_cfg: signature=");
	serial_puts(sig[0] ? sig : "(none)");
	serial_puts("\n");
	if (!name_is(sig, "QEMU"))
		power_off();
	uint32_t id = (uint32_t)read_le(KEY_ID, 4);
	serial_puts("fw_cfg: id=");
	serial_putu(id);
	serial_puts("\nfw_cfg: ram_mib=");
	serial_putu((uint32_t)(read_le(KEY_RAM_SIZE, 8) >> 20));
	serial_puts("\nfw_cfg: cpus=");
	serial_putu((uint32_t)read_le(KEY_NB_CPUS, 2));
	serial_puts(" max_cpus=");
	serial_putu((uint32_t)read_le(KEY_MAX_CPUS, 2));
	serial_puts("\n");

	uint8_t b[4];
	select_key(KEY_FILE_DIR);
	read_bytes(b, 4);
	uint32_t count = be32(b);
	serial_puts("fw_cfg: files=");
	serial_putu(count);
	serial_puts("\n");
	uint16_t name_key = 0;
	uint32_t name_len = 0;
	for (uint32_t i = 0; i < count && i < 64; i++) {
		struct {
			uint8_t size[4], select[2], reserved[2];
			char name[56];
		} e;
		read_bytes(&e, sizeof(e)); /* the directory stays selected: entries follow each other */
		e.name[55] = 0;
		uint16_t key = (uint16_t)(e.select[0] << 8 | e.select[1]);
		serial_puts("fw_cfg: file ");
		serial_puts(e.name);
		serial_puts(" size=");
		serial_putu(be32(e.size));
		serial_puts(" select=");
		put_hex(key);
		serial_puts("\n");
		if (name_is(e.name, "etc/dhyve/name")) {
			name_key = key;
			name_len = be32(e.size);
		}
	}
	if (name_key && name_len < sizeof(dma_buf)) {
		char *name = dma_buf;
		if (id & ID_DMA) {
			if (dma_read(name_key, name_len) < 0)
				serial_puts("fw_cfg: dma error\n");
		} else {
			select_key(name_key);
			read_bytes(name, name_len);
		}
		name[name_len] = 0;
		serial_puts((id & ID_DMA) ? "fw_cfg: dma " : "fw_cfg: pio ");
		serial_puts("etc/dhyve/name=");
		serial_puts(name);
		serial_puts("\n");
	}
	power_off();
}
