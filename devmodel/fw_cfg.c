/* fw_cfg as a plain state machine: a table of read-only items, a selected key with a read
 * offset, and QEMU's DMA interface, which reaches guest memory only through the gmem view. */
#include "devmodel/fw_cfg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"

#define KEY_MASK 0x3fff /* the item number without the write-channel and arch-local bits */
#define DMA_ACCESS_SIZE 16 /* u32 control, u32 length, u64 address, all big-endian */

struct fw_cfg_item {
	uint8_t *data; /* NULL when empty */
	uint32_t len;
};

struct fw_cfg_file {
	char name[FW_CFG_FILE_NAME_MAX + 1];
	struct fw_cfg_item item;
};

struct fw_cfg {
	const struct gmem *mem; /* DMA's view of guest memory; NULL: no DMA */
	struct fw_cfg_item fixed[FW_CFG_FILE_FIRST];
	struct fw_cfg_file *files;
	unsigned nfiles, cap;

	uint16_t key;   /* as the guest selected it, flag bits included */
	uint32_t offset; /* next byte of the selected item */
	uint32_t dma_high; /* the address's high half, latched until the low half is written */
};

/* Replaces an item's contents with a copy of data. */
static int item_set(struct fw_cfg_item *it, const void *data, size_t len)
{
	if (len > UINT32_MAX)
		return -EINVAL;
	uint8_t *copy = NULL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	free(it->data);
	it->data = copy;
	it->len = (uint32_t)len;
	return 0;
}

/* The item a selector value names, or NULL (which reads as zeroes). */
static const struct fw_cfg_item *item_of(const struct fw_cfg *fw, uint16_t key)
{
	if (key & FW_CFG_ARCH_LOCAL)
		return NULL;
	unsigned k = key & KEY_MASK;
	if (k < FW_CFG_FILE_FIRST)
		return &fw->fixed[k];
	if (k - FW_CFG_FILE_FIRST < fw->nfiles)
		return &fw->files[k - FW_CFG_FILE_FIRST].item;
	return NULL;
}

/* The selected item's bytes from the offset on, or NULL with *avail 0. Key and offset are read
 * once, so the pointer and the length always belong together. */
static const uint8_t *cursor(const struct fw_cfg *fw, uint32_t *avail)
{
	uint32_t off = fw->offset;
	const struct fw_cfg_item *it = item_of(fw, fw->key);
	if (!it || off >= it->len) {
		*avail = 0;
		return NULL;
	}
	*avail = it->len - off;
	return it->data + off;
}

static void select_key(struct fw_cfg *fw, uint16_t key)
{
	fw->key = key;
	fw->offset = 0;
}

static uint8_t read_byte(struct fw_cfg *fw)
{
	uint32_t avail;
	const uint8_t *p = cursor(fw, &avail);
	if (!p)
		return 0; /* past the end, or no such item; the offset stays put */
	fw->offset++;
	return *p;
}

/* Rebuilt after each added file: u32 count, then one 64-byte entry per file, big-endian. */
static int rebuild_dir(struct fw_cfg *fw)
{
	size_t len = 4 + (size_t)fw->nfiles * FW_CFG_FILE_ENTRY_SIZE;
	uint8_t *dir = calloc(1, len);
	if (!dir)
		return -ENOMEM;
	put_be(dir, fw->nfiles, 4);
	for (unsigned i = 0; i < fw->nfiles; i++) {
		uint8_t *e = dir + 4 + (size_t)i * FW_CFG_FILE_ENTRY_SIZE;
		put_be(e, fw->files[i].item.len, 4);
		put_be(e + 4, FW_CFG_FILE_FIRST + i, 2);
		memcpy(e + 8, fw->files[i].name, sizeof(fw->files[i].name));
	}
	free(fw->fixed[FW_CFG_FILE_DIR].data);
	fw->fixed[FW_CFG_FILE_DIR] = (struct fw_cfg_item){ dir, (uint32_t)len };
	return 0;
}

void fw_cfg_reset(struct fw_cfg *fw)
{
	select_key(fw, FW_CFG_SIGNATURE);
	fw->dma_high = 0;
}

struct fw_cfg *fw_cfg_create(const struct gmem *mem)
{
	struct fw_cfg *fw = calloc(1, sizeof(*fw));
	if (!fw)
		return NULL;
	fw->mem = mem;
	uint8_t id[4];
	put_le(id, FW_CFG_ID_TRADITIONAL | (mem ? FW_CFG_ID_DMA : 0), 4);
	if (item_set(&fw->fixed[FW_CFG_SIGNATURE], "QEMU", 4) < 0 || item_set(&fw->fixed[FW_CFG_ID], id, 4) < 0 ||
	    rebuild_dir(fw) < 0) {
		fw_cfg_destroy(fw);
		return NULL;
	}
	fw_cfg_reset(fw);
	return fw;
}

void fw_cfg_destroy(struct fw_cfg *fw)
{
	if (!fw)
		return;
	for (unsigned i = 0; i < FW_CFG_FILE_FIRST; i++)
		free(fw->fixed[i].data);
	for (unsigned i = 0; i < fw->nfiles; i++)
		free(fw->files[i].item.data);
	free(fw->files);
	free(fw);
}

int fw_cfg_set_bytes(struct fw_cfg *fw, uint16_t key, const void *data, size_t len)
{
	if (key >= FW_CFG_FILE_FIRST || key == FW_CFG_SIGNATURE || key == FW_CFG_ID || key == FW_CFG_FILE_DIR)
		return -EINVAL;
	return item_set(&fw->fixed[key], data, len);
}

int fw_cfg_set_u16(struct fw_cfg *fw, uint16_t key, uint16_t v)
{
	uint8_t b[2];
	put_le(b, v, 2);
	return fw_cfg_set_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_set_u32(struct fw_cfg *fw, uint16_t key, uint32_t v)
{
	uint8_t b[4];
	put_le(b, v, 4);
	return fw_cfg_set_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_set_u64(struct fw_cfg *fw, uint16_t key, uint64_t v)
{
	uint8_t b[8];
	put_le(b, v, 8);
	return fw_cfg_set_bytes(fw, key, b, sizeof(b));
}

int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len)
{
	size_t nlen = name ? strnlen(name, FW_CFG_FILE_NAME_MAX + 1) : 0;
	if (nlen == 0 || nlen > FW_CFG_FILE_NAME_MAX || len > UINT32_MAX)
		return -EINVAL;
	for (unsigned i = 0; i < fw->nfiles; i++)
		if (strcmp(fw->files[i].name, name) == 0)
			return -EEXIST;
	if (fw->nfiles == FW_CFG_MAX_FILES)
		return -ENOSPC;
	if (fw->nfiles == fw->cap) {
		unsigned cap = fw->cap ? fw->cap * 2 : 8;
		struct fw_cfg_file *f = realloc(fw->files, cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		fw->files = f;
		fw->cap = cap;
	}
	struct fw_cfg_file *f = &fw->files[fw->nfiles];
	memset(f, 0, sizeof(*f));
	memcpy(f->name, name, nlen);
	int rc = item_set(&f->item, data, len);
	if (rc < 0)
		return rc;
	fw->nfiles++;
	rc = rebuild_dir(fw);
	if (rc < 0) {
		fw->nfiles--;
		free(f->item.data);
		return rc;
	}
	return FW_CFG_FILE_FIRST + (int)fw->nfiles - 1;
}

int fw_cfg_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *value)
{
	struct fw_cfg *fw = opaque;
	if (offset < FW_CFG_PORT_COUNT && size == 1) {
		if (!is_write)
			*value = read_byte(fw);
		/* Data writes are ignored, as in QEMU since 2.4: no item is writable. */
		return 0;
	}
	if (offset == 0 && size == 2 && is_write) {
		select_key(fw, (uint16_t)*value);
		return 0;
	}
	if (!is_write)
		*value = ~0ULL;
	return -EINVAL;
}

/* Moves up to len bytes of the selected item to guest memory at gpa (read), past it (skip), or
 * refuses (write: nothing is writable). Past the item's end a read fills zeroes, as QEMU does.
 * Returns false on an error, which the guest sees in the control word. */
static bool dma_move(struct fw_cfg *fw, uint32_t ctl, uint64_t gpa, uint32_t len)
{
	while (len) {
		uint32_t avail;
		const uint8_t *src = cursor(fw, &avail);
		if (!src) {
			if (ctl & FW_CFG_DMA_CTL_READ)
				return gmem_zero(fw->mem, gpa, len) == 0;
			return !(ctl & FW_CFG_DMA_CTL_WRITE);
		}
		uint32_t n = len < avail ? len : avail;
		if (ctl & FW_CFG_DMA_CTL_READ) {
			if (gmem_write(fw->mem, gpa, src, n) < 0)
				return false;
		} else if (ctl & FW_CFG_DMA_CTL_WRITE) {
			return false;
		}
		fw->offset += n;
		gpa += n;
		len -= n;
	}
	return true;
}

static void dma_transfer(struct fw_cfg *fw, uint64_t addr)
{
	uint8_t acc[DMA_ACCESS_SIZE], status[4] = { 0 };
	if (gmem_read(fw->mem, addr, acc, sizeof(acc)) < 0) {
		/* Nowhere sane to read from; report the error if the control word at least is RAM. */
		put_be(status, FW_CFG_DMA_CTL_ERROR, 4);
		gmem_write(fw->mem, addr, status, sizeof(status));
		return;
	}
	uint32_t ctl = (uint32_t)get_be(acc, 4), len = (uint32_t)get_be(acc + 4, 4);
	uint64_t gpa = get_be(acc + 8, 8);
	if (ctl & FW_CFG_DMA_CTL_SELECT)
		select_key(fw, (uint16_t)(ctl >> 16));
	/* One operation, in QEMU's precedence: read, else write, else skip, else none. */
	uint32_t op = ctl & FW_CFG_DMA_CTL_READ ? FW_CFG_DMA_CTL_READ :
		      ctl & FW_CFG_DMA_CTL_WRITE ? FW_CFG_DMA_CTL_WRITE :
		      ctl & FW_CFG_DMA_CTL_SKIP ? FW_CFG_DMA_CTL_SKIP : 0;
	bool ok = op ? dma_move(fw, op, gpa, len) : true;
	put_be(status, ok ? 0 : FW_CFG_DMA_CTL_ERROR, 4);
	gmem_write(fw->mem, addr, status, sizeof(status));
}

int fw_cfg_dma_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *value)
{
	struct fw_cfg *fw = opaque;
	if (!fw->mem || offset >= FW_CFG_DMA_COUNT || size == 0 || size > FW_CFG_DMA_COUNT - offset) {
		if (!is_write)
			*value = ~0ULL;
		return -EINVAL;
	}
	if (!is_write) {
		static const char sig[FW_CFG_DMA_COUNT] = "QEMU CFG";
		*value = get_le((const uint8_t *)sig + offset, size);
		return 0;
	}
	/* The guest wrote big-endian bytes; *value holds them as a little-endian number. */
	uint8_t b[8];
	put_le(b, *value, size);
	uint64_t v = get_be(b, size);
	if (offset == 0 && size == 4) {
		fw->dma_high = (uint32_t)v;
	} else if (offset == 4 && size == 4) {
		uint64_t addr = (uint64_t)fw->dma_high << 32 | v;
		fw->dma_high = 0;
		dma_transfer(fw, addr);
	} else if (offset == 0 && size == 8) {
		fw->dma_high = 0;
		dma_transfer(fw, v);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* Snapshot layout, version 1, little-endian:
 *   0 version (1)   1 zero   2..3 selected key   4..7 offset in it   8..11 latched DMA high half
 *   12..15 zero */
#define SNAP_VERSION 1

size_t fw_cfg_save(const struct fw_cfg *fw, void *buf, size_t len)
{
	if (!buf)
		return FW_CFG_STATE_SIZE;
	if (len < FW_CFG_STATE_SIZE)
		return 0;
	uint8_t *p = buf;
	memset(p, 0, FW_CFG_STATE_SIZE);
	p[0] = SNAP_VERSION;
	put_le(p + 2, fw->key, 2);
	put_le(p + 4, fw->offset, 4);
	put_le(p + 8, fw->dma_high, 4);
	return FW_CFG_STATE_SIZE;
}

int fw_cfg_load(struct fw_cfg *fw, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (!p || len != FW_CFG_STATE_SIZE || p[0] != SNAP_VERSION || p[1] || get_le(p + 12, 4))
		return -EINVAL;
	uint16_t key = (uint16_t)get_le(p + 2, 2);
	uint32_t offset = (uint32_t)get_le(p + 4, 4);
	/* The items are the machine's, rebuilt before the load: the offset must fit the item. */
	const struct fw_cfg_item *it = item_of(fw, key);
	if (offset > (it ? it->len : 0))
		return -EINVAL;
	if ((p[8] || p[9] || p[10] || p[11]) && !fw->mem)
		return -EINVAL;
	fw->key = key;
	fw->offset = offset;
	fw->dma_high = (uint32_t)get_le(p + 8, 4);
	return 0;
}
