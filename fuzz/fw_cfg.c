/* Fuzz target fw_cfg: an fw_cfg with a few items and files on ports 0x510-0x51b and 16 KiB of
 * guest RAM, driven by guest operations; a reference model predicts every data byte and every DMA result. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "base/gmem.h"
#include "devmodel/fw_cfg.h"
#include "devmodel/iobus.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/guest_ops.h"
#include "fuzz/guest_ram.h"

#define RAM_SIZE 16384
#define NFILES 4
#define MAXITEM (4 + NFILES * FW_CFG_FILE_ENTRY_SIZE)

/* fw_cfg device actions (GOP_DEVICE sub-operations): fuzz/README.md lists them. */
enum { DEV_RESET, DEV_LOAD, DEV_SAVE, DEV_SELECT };

struct item {
	const uint8_t *data;
	uint32_t len;
};

/* The model: the items as the harness published them and the device's cursor. */
struct fwc_fuzz {
	struct fw_cfg *fw;
	struct iobus pio;
	struct gmem mem, shadow;  /* the device's RAM and the model's copy of it */
	uint8_t *ram, *sram;
	struct item fixed[FW_CFG_FILE_FIRST], files[NFILES];
	uint8_t sig[4], id[4], ram_size[8], cpus[2], dir[MAXITEM];
	uint16_t key;
	uint32_t offset, dma_high;
	uint8_t clean[FW_CFG_STATE_SIZE]; /* the power-on image each input starts from */
	struct gmem_observer writes;      /* reports into dirty_lo/hi */
	uint64_t dirty_lo, dirty_hi;      /* bytes of either RAM written since the last comparison */
};

static const char *const file_names[NFILES] = { "etc/boot-fail-wait", "etc/e820", "bootorder", "etc/empty" };
static const uint8_t e820[40] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa, 0, 0, 0, 0, 0, 1, 0, 0, 0,
				  0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
static const uint8_t wait5[4] = { 5, 0, 0, 0 };
static const char bootorder[] = "/pci@i0cf8/ide@1,1/drive@0/disk@0\n";
static const char cmdline[] = "console=ttyS0 earlyprintk=serial";

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static const struct item *model_item(const struct fwc_fuzz *f, uint16_t key)
{
	if (key & FW_CFG_ARCH_LOCAL)
		return NULL;
	unsigned k = key & 0x3fff;
	if (k < FW_CFG_FILE_FIRST)
		return &f->fixed[k];
	if (k - FW_CFG_FILE_FIRST < NFILES)
		return &f->files[k - FW_CFG_FILE_FIRST];
	return NULL;
}

static uint32_t model_avail(const struct fwc_fuzz *f)
{
	const struct item *it = model_item(f, f->key);
	return it && f->offset < it->len ? it->len - f->offset : 0;
}

static void model_select(struct fwc_fuzz *f, uint16_t key)
{
	f->key = key;
	f->offset = 0;
}

static uint8_t model_read_byte(struct fwc_fuzz *f)
{
	if (!model_avail(f))
		return 0;
	return model_item(f, f->key)->data[f->offset++];
}

/* dma_transfer as fw_cfg.h and QEMU's spec describe it, on the shadow RAM. */
static void model_dma(struct fwc_fuzz *f, uint64_t addr)
{
	uint8_t acc[16], status[4] = { 0 };
	if (gmem_read(&f->shadow, addr, acc, sizeof(acc)) < 0) {
		put_be(status, FW_CFG_DMA_CTL_ERROR, 4);
		gmem_write(&f->shadow, addr, status, 4);
		return;
	}
	uint32_t ctl = (uint32_t)get_be(acc, 4), len = (uint32_t)get_be(acc + 4, 4);
	uint64_t gpa = get_be(acc + 8, 8);
	if (ctl & FW_CFG_DMA_CTL_SELECT)
		model_select(f, (uint16_t)(ctl >> 16));
	bool ok = true;
	uint32_t avail = model_avail(f), n = len < avail ? len : avail;
	if (ctl & FW_CFG_DMA_CTL_READ) {
		if (n && gmem_write(&f->shadow, gpa, model_item(f, f->key)->data + f->offset, n) < 0) {
			ok = false;
		} else {
			f->offset += n;
			if (len > n)
				ok = gmem_zero(&f->shadow, gpa + n, len - n) == 0;
		}
	} else if (ctl & FW_CFG_DMA_CTL_WRITE) {
		ok = len == 0;
	} else if (ctl & FW_CFG_DMA_CTL_SKIP) {
		f->offset += n;
	}
	put_be(status, ok ? 0 : FW_CFG_DMA_CTL_ERROR, 4);
	gmem_write(&f->shadow, addr, status, 4);
}

/* Where either RAM was written since the last comparison: every write to them goes through gmem
 * (the device's DMA, the model's, a MEM_WRITE), whose observer reports it. */
static void note_write(void *ctx, uint64_t gpa, uint64_t len)
{
	struct fwc_fuzz *f = ctx;
	uint64_t end = gpa + len > RAM_SIZE ? RAM_SIZE : gpa + len;
	if (gpa < f->dirty_lo)
		f->dirty_lo = gpa;
	if (end > f->dirty_hi)
		f->dirty_hi = end;
}

/* Guest RAM must equal the model's copy after every operation. Comparing all 16 KiB each time was
 * a third of this harness's time (perf): the bytes written since the last comparison are compared
 * after every operation, all of RAM (full) after each access to the DMA port, where the device
 * DMAs, after device actions and at the start and end of an input, so that even a write that
 * bypassed gmem's report is found. */
static void check_ram(struct fwc_fuzz *f, bool full)
{
	uint64_t lo = full ? 0 : f->dirty_lo, hi = full ? RAM_SIZE : f->dirty_hi;
	if (lo < hi)
		FUZZ_CHECK(memcmp(f->ram + lo, f->sram + lo, hi - lo) == 0, "guest RAM differs from the model's");
	f->dirty_lo = RAM_SIZE;
	f->dirty_hi = 0;
}

static void check_state(struct fwc_fuzz *f, bool full)
{
	uint8_t img[FW_CFG_STATE_SIZE];
	FUZZ_CHECK(fw_cfg_save(f->fw, img, sizeof(img)) == FW_CFG_STATE_SIZE, "save");
	uint16_t key = (uint16_t)(img[2] | img[3] << 8);
	uint32_t off = (uint32_t)img[4] | (uint32_t)img[5] << 8 | (uint32_t)img[6] << 16 | (uint32_t)img[7] << 24;
	uint32_t hi = (uint32_t)img[8] | (uint32_t)img[9] << 8 | (uint32_t)img[10] << 16 | (uint32_t)img[11] << 24;
	FUZZ_CHECK(img[0] == 1 && img[1] == 0 && !img[12] && !img[13] && !img[14] && !img[15], "image header");
	FUZZ_CHECK(key == f->key && off == f->offset && hi == f->dma_high,
		   "device key %#x off %u hi %#x, model key %#x off %u hi %#x", key, off, hi, f->key, f->offset,
		   f->dma_high);
	const struct item *it = model_item(f, f->key);
	FUZZ_CHECK(off <= (it ? it->len : 0) || off == 0, "offset %u past the item", off);
	check_ram(f, full);
}

/* A port access at addr (the device's two regions at 0x510 and 0x514), before it runs on the
 * device: what the model expects it to return. */
static void model_access(struct fwc_fuzz *f, const struct guest_op *op)
{
	bool write = op->kind == GOP_PIO_WRITE;
	uint64_t a = op->addr;
	unsigned size = op->size;
	if (a >= FW_CFG_PORT_SEL && a - FW_CFG_PORT_SEL < FW_CFG_PORT_COUNT &&
	    size <= FW_CFG_PORT_SEL + FW_CFG_PORT_COUNT - a) {
		uint64_t off = a - FW_CFG_PORT_SEL;
		if (size == 1) {
			if (!write) {
				uint8_t b = model_read_byte(f);
				FUZZ_CHECK(op->rc == 0 && op->value == b, "data read %#llx rc %d, expected %#x",
					   (unsigned long long)op->value, op->rc, b);
			}
		} else if (off == 0 && size == 2 && write) {
			model_select(f, (uint16_t)op->value);
		} else {
			FUZZ_CHECK(op->rc == -EINVAL, "odd access accepted");
		}
	} else if (a >= FW_CFG_PORT_DMA && a - FW_CFG_PORT_DMA < FW_CFG_DMA_COUNT &&
		   size <= FW_CFG_PORT_DMA + FW_CFG_DMA_COUNT - a) {
		uint64_t off = a - FW_CFG_PORT_DMA;
		if (!write) {
			static const char sig[8] = "QEMU CFG";
			uint64_t v = 0;
			memcpy(&v, sig + off, size);
			FUZZ_CHECK(op->rc == 0 && op->value == v, "DMA port read %#llx", (unsigned long long)op->value);
			return;
		}
		uint8_t b[8];
		uint64_t v = op->value;
		for (unsigned i = 0; i < size; i++)
			b[i] = (uint8_t)(v >> (8 * i));
		v = get_be(b, size);
		if (off == 0 && size == 4) {
			f->dma_high = (uint32_t)v;
		} else if (off == 4 && size == 4) {
			uint64_t addr = (uint64_t)f->dma_high << 32 | v;
			f->dma_high = 0;
			model_dma(f, addr);
		} else if (off == 0 && size == 8) {
			f->dma_high = 0;
			model_dma(f, v);
		} else {
			FUZZ_CHECK(op->rc == -EINVAL, "odd DMA access accepted");
		}
	} else {
		FUZZ_CHECK(op->rc == -ENOENT, "access at %#llx size %u claimed", (unsigned long long)a, size);
	}
}

static void after_op(void *ctx, const struct guest_op *op)
{
	struct fwc_fuzz *f = ctx;
	if (op->kind == GOP_PIO_READ || op->kind == GOP_PIO_WRITE)
		model_access(f, op);
	else if (op->kind == GOP_MEM_WRITE && op->len)
		gmem_write(&f->shadow, op->addr, op->data, op->len);
	bool dma_port = (op->kind == GOP_PIO_READ || op->kind == GOP_PIO_WRITE) && op->addr >= FW_CFG_PORT_DMA &&
			op->addr - FW_CFG_PORT_DMA < FW_CFG_DMA_COUNT;
	check_state(f, dma_port || op->kind == GOP_DEVICE);
}

static void on_device(void *ctx, unsigned sub, const uint8_t *buf, size_t len)
{
	struct fwc_fuzz *f = ctx;
	switch (sub) {
	case DEV_RESET:
		fw_cfg_reset(f->fw);
		model_select(f, 0);
		f->dma_high = 0;
		break;
	case DEV_LOAD: {
		int rc = fw_cfg_load(f->fw, buf, len);
		if (rc == 0) {
			FUZZ_CHECK(len == FW_CFG_STATE_SIZE, "image of %zu bytes accepted", len);
			f->key = (uint16_t)(buf[2] | buf[3] << 8);
			f->offset = (uint32_t)buf[4] | (uint32_t)buf[5] << 8 | (uint32_t)buf[6] << 16 |
				    (uint32_t)buf[7] << 24;
			f->dma_high = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 | (uint32_t)buf[10] << 16 |
				      (uint32_t)buf[11] << 24;
			const struct item *it = model_item(f, f->key);
			FUZZ_CHECK(f->offset <= (it ? it->len : 0), "accepted offset %u past the item", f->offset);
		} else {
			FUZZ_CHECK(rc == -EINVAL, "load rc %d", rc);
		}
		break;
	}
	case DEV_SAVE: {
		uint8_t img[FW_CFG_STATE_SIZE + 1];
		size_t want = len ? buf[0] % sizeof(img) : 0;
		memset(img, 0xa5, sizeof(img));
		size_t n = fw_cfg_save(f->fw, img, want);
		FUZZ_CHECK(n == (want >= FW_CFG_STATE_SIZE ? FW_CFG_STATE_SIZE : 0), "save into %zu gave %zu", want, n);
		FUZZ_CHECK(img[FW_CFG_STATE_SIZE] == 0xa5 && (n || img[0] == 0xa5), "save wrote past its length");
		FUZZ_CHECK(fw_cfg_save(f->fw, NULL, 0) == FW_CFG_STATE_SIZE, "size query");
		if (n)
			FUZZ_CHECK(fw_cfg_load(f->fw, img, n) == 0, "own image refused");
		break;
	}
	case DEV_SELECT: /* a selector write bypassing the bus: key:2 */
		if (len >= 2) {
			uint64_t v = (uint64_t)buf[0] | (uint64_t)buf[1] << 8;
			FUZZ_CHECK(fw_cfg_access(f->fw, 0, 2, true, &v) == 0, "select refused");
			model_select(f, (uint16_t)v);
		}
		break;
	default:
		break;
	}
}

static bool publish(struct fwc_fuzz *f)
{
	memset(f->fixed, 0, sizeof(f->fixed));
	memcpy(f->sig, "QEMU", 4);
	f->id[0] = FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA;
	f->id[1] = f->id[2] = f->id[3] = 0;
	f->fixed[FW_CFG_SIGNATURE] = (struct item){ f->sig, 4 };
	f->fixed[FW_CFG_ID] = (struct item){ f->id, 4 };
	uint64_t ram = 0x40000000;
	for (unsigned i = 0; i < 8; i++)
		f->ram_size[i] = (uint8_t)(ram >> (8 * i));
	f->cpus[0] = 2;
	f->cpus[1] = 0;
	if (fw_cfg_set_u64(f->fw, FW_CFG_RAM_SIZE, ram) || fw_cfg_set_u16(f->fw, FW_CFG_NB_CPUS, 2) ||
	    fw_cfg_set_u16(f->fw, FW_CFG_MAX_CPUS, 2) ||
	    fw_cfg_set_bytes(f->fw, FW_CFG_KERNEL_CMDLINE, cmdline, sizeof(cmdline)))
		return false;
	f->fixed[FW_CFG_RAM_SIZE] = (struct item){ f->ram_size, 8 };
	f->fixed[FW_CFG_NB_CPUS] = (struct item){ f->cpus, 2 };
	f->fixed[FW_CFG_MAX_CPUS] = (struct item){ f->cpus, 2 };
	f->fixed[FW_CFG_KERNEL_CMDLINE] = (struct item){ (const uint8_t *)cmdline, sizeof(cmdline) };
	f->files[0] = (struct item){ wait5, sizeof(wait5) };
	f->files[1] = (struct item){ e820, sizeof(e820) };
	f->files[2] = (struct item){ (const uint8_t *)bootorder, sizeof(bootorder) - 1 };
	f->files[3] = (struct item){ NULL, 0 };
	memset(f->dir, 0, sizeof(f->dir));
	put_be(f->dir, NFILES, 4);
	for (unsigned i = 0; i < NFILES; i++) {
		int key = fw_cfg_add_file(f->fw, file_names[i], f->files[i].data, f->files[i].len);
		if (key != FW_CFG_FILE_FIRST + (int)i)
			return false;
		uint8_t *e = f->dir + 4 + i * FW_CFG_FILE_ENTRY_SIZE;
		put_be(e, f->files[i].len, 4);
		put_be(e + 4, (uint64_t)key, 2);
		memcpy(e + 8, file_names[i], strlen(file_names[i]));
	}
	f->fixed[FW_CFG_FILE_DIR] = (struct item){ f->dir, sizeof(f->dir) };
	/* The device refuses to let the machine overwrite what it owns. */
	return fw_cfg_set_u32(f->fw, FW_CFG_ID, 0) == -EINVAL && fw_cfg_add_file(f->fw, "etc/e820", NULL, 0) == -EEXIST;
}

/* The machine, kept between inputs: creating the device and publishing its items and files cost
 * more than a short input. Each input gets it back at power-on: fw_cfg_reset and the power-on
 * image (selector, offset and the DMA address's high half), both RAMs zeroed, the model's cursor
 * cleared. The items never change after publish. */
static struct fwc_fuzz *kept;

static void drop(struct fwc_fuzz *f)
{
	iobus_destroy(&f->pio);
	fw_cfg_destroy(f->fw);
	guest_ram_free(f->ram, RAM_SIZE);
	guest_ram_free(f->sram, RAM_SIZE);
	free(f);
}

static struct fwc_fuzz *create(void)
{
	struct fwc_fuzz *f = calloc(1, sizeof(*f));
	struct errmsg e;
	if (!f)
		return NULL;
	iobus_init(&f->pio, "pio");
	f->ram = guest_ram_alloc(RAM_SIZE);
	f->sram = guest_ram_alloc(RAM_SIZE);
	if (f->ram && f->sram) {
		gmem_init_flat(&f->mem, f->ram, RAM_SIZE);
		gmem_init_flat(&f->shadow, f->sram, RAM_SIZE);
		f->writes = (struct gmem_observer){ .wrote = note_write, .ctx = f };
		f->mem.observer = f->shadow.observer = &f->writes;
		f->fw = fw_cfg_create(&f->mem);
	}
	if (!f->fw) {
		drop(f);
		return NULL;
	}
	FUZZ_CHECK(publish(f), "publishing the items failed");
	if (iobus_register(&f->pio, FW_CFG_PORT_SEL, FW_CFG_PORT_COUNT, "fw_cfg", fw_cfg_access, f->fw, &e) != 0 ||
	    iobus_register(&f->pio, FW_CFG_PORT_DMA, FW_CFG_DMA_COUNT, "fw_cfg_dma", fw_cfg_dma_access, f->fw, &e) != 0) {
		drop(f);
		return NULL;
	}
	FUZZ_CHECK(fw_cfg_save(f->fw, f->clean, sizeof(f->clean)) == FW_CFG_STATE_SIZE, "save");
	return f;
}

static struct fwc_fuzz *machine(void)
{
	if (kept && fuzz_fresh_machines) {
		drop(kept);
		kept = NULL;
	}
	if (!kept)
		return kept = create();
	fw_cfg_reset(kept->fw);
	FUZZ_CHECK(fw_cfg_load(kept->fw, kept->clean, FW_CFG_STATE_SIZE) == 0, "the power-on image refused");
	memset(kept->ram, 0, RAM_SIZE);
	memset(kept->sram, 0, RAM_SIZE);
	kept->key = 0;
	kept->offset = kept->dma_high = 0;
	return kept;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fwc_fuzz *f = machine();
	if (!f)
		return 0;
	check_state(f, true);
	struct guest_ops_target t = {
		.pio = &f->pio,
		.pio_base = FW_CFG_PORT_SEL,
		.mem = &f->mem,
		.device = on_device,
		.after_op = after_op,
		.ctx = f,
	};
	guest_ops_run(&t, data, size);
	check_ram(f, true);
	/* What the input left behind, for the reproducer's self-test (the saves cost: only then). */
	if (!fuzz_outcome_wanted)
		return 0;
	uint8_t img[FW_CFG_STATE_SIZE];
	fuzz_outcome_add(img, fw_cfg_save(f->fw, img, sizeof(img)));
	fuzz_outcome_add(f->ram, RAM_SIZE);
	return 0;
}
