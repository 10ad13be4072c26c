/* ATA commands of an AHCI disk (ATA8-ACS): IDENTIFY DEVICE, DMA and PIO reads and writes (28-
 * and 48-bit), READ/WRITE FPDMA QUEUED, FLUSH, SET FEATURES, DSM TRIM, READ LOG EXT and the
 * power commands a driver sends. Every LBA range is checked against the disk before any I/O. */
#include "devmodel/ahci_internal.h"

#include <errno.h>
#include <string.h>

enum {
	ATA_NOP = 0x00, ATA_DSM = 0x06, ATA_DEVICE_RESET = 0x08, ATA_RECALIBRATE = 0x10,
	ATA_READ_PIO = 0x20, ATA_READ_PIO_EXT = 0x24, ATA_READ_DMA_EXT = 0x25, ATA_READ_LOG_EXT = 0x2f,
	ATA_WRITE_PIO = 0x30, ATA_WRITE_PIO_EXT = 0x34, ATA_WRITE_DMA_EXT = 0x35, ATA_VERIFY = 0x40,
	ATA_VERIFY_EXT = 0x42, ATA_READ_LOG_DMA_EXT = 0x47, ATA_FPDMA_READ = 0x60, ATA_FPDMA_WRITE = 0x61,
	ATA_SEEK = 0x70, ATA_INIT_PARAMS = 0x91, ATA_PACKET = 0xa0, ATA_IDENTIFY_PACKET = 0xa1,
	ATA_SET_MULTI = 0xc6, ATA_READ_DMA = 0xc8, ATA_WRITE_DMA = 0xca, ATA_STANDBY_NOW = 0xe0,
	ATA_IDLE_NOW = 0xe1, ATA_STANDBY = 0xe2, ATA_IDLE = 0xe3, ATA_CHECK_POWER = 0xe5, ATA_SLEEP = 0xe6,
	ATA_FLUSH = 0xe7, ATA_FLUSH_EXT = 0xea, ATA_IDENTIFY = 0xec, ATA_SET_FEATURES = 0xef,
};

#define MAX_MULTI 16      /* IDENTIFY word 47: sectors per DRQ block */
#define DSM_MAX_BLOCKS 8  /* IDENTIFY word 105: 512-byte blocks of TRIM ranges per command */
#define LOG_DIRECTORY 0x00
#define LOG_NCQ_ERROR 0x10

static uint64_t lba48(const uint8_t *f)
{
	return (uint64_t)f[FIS_LBA0] | (uint64_t)f[FIS_LBA1] << 8 | (uint64_t)f[FIS_LBA2] << 16 |
	       (uint64_t)f[FIS_LBA3] << 24 | (uint64_t)f[FIS_LBA4] << 32 | (uint64_t)f[FIS_LBA5] << 40;
}

static uint64_t lba28(const uint8_t *f)
{
	return (uint64_t)f[FIS_LBA0] | (uint64_t)f[FIS_LBA1] << 8 | (uint64_t)f[FIS_LBA2] << 16 |
	       (uint64_t)(f[FIS_DEV] & 0xf) << 24;
}

void ahci_id_string(uint16_t *id, unsigned word, unsigned words, const char *s)
{
	/* ATA strings: space padded, two characters a word, the first in the high byte. */
	size_t n = strlen(s);
	for (unsigned i = 0; i < words * 2; i++) {
		uint8_t ch = i < n ? (uint8_t)s[i] : ' ';
		if (i & 1)
			id[word + i / 2] |= ch;
		else
			id[word + i / 2] = (uint16_t)(ch << 8);
	}
}

void ahci_id_checksum(uint16_t *id)
{
	/* Word 255: signature A5h and a byte that makes all 512 bytes sum to 0. */
	uint8_t sum = 0xa5;
	const uint8_t *b = (const uint8_t *)id;
	for (unsigned i = 0; i < 510; i++)
		sum = (uint8_t)(sum + b[i]);
	id[255] = (uint16_t)((uint8_t)-sum << 8 | 0xa5);
}

/* The transfer-mode words (63 and 88) show what SET FEATURES selected, as Linux checks. */
static void put_modes(uint16_t *id, uint8_t mode)
{
	id[63] = 0x0007;
	id[88] = 0x007f;
	if ((mode & 0xf8) == 0x20)
		id[63] |= (uint16_t)(1u << (8 + (mode & 7)));
	else if ((mode & 0xf8) == 0x40)
		id[88] |= (uint16_t)(1u << (8 + (mode & 7)));
}

static void identify(const struct ahci_port *p, uint16_t *id)
{
	memset(id, 0, 512);
	uint64_t n28 = p->nsect < 0x0fffffff ? p->nsect : 0x0fffffff;
	uint64_t cyl = p->nsect / (16 * 63);
	id[0] = 0x0040; /* fixed device */
	id[1] = (uint16_t)(cyl > 16383 ? 16383 : cyl);
	id[3] = 16;
	id[6] = 63;
	ahci_id_string(id, 10, 10, p->serial);
	ahci_id_string(id, 23, 4, "1.0");
	ahci_id_string(id, 27, 20, "DHYVE HARDDISK");
	id[47] = 0x8000 | MAX_MULTI;
	id[49] = (1u << 11) | (1u << 9) | (1u << 8); /* IORDY, LBA, DMA */
	id[50] = 0x4000;
	id[53] = 0x0006; /* words 64-70 and 88 are valid */
	id[54] = id[1];
	id[55] = 16;
	id[56] = 63;
	id[59] = p->st.multi ? (uint16_t)(0x100 | p->st.multi) : 0;
	id[60] = (uint16_t)n28;
	id[61] = (uint16_t)(n28 >> 16);
	id[64] = 0x0003; /* PIO 3 and 4 */
	id[65] = id[66] = id[67] = id[68] = 120;
	id[69] = p->trim ? (1u << 14) : 0; /* deterministic data after TRIM */
	id[75] = 31; /* queue depth - 1 */
	id[76] = (1u << 8) | (1u << 3) | (1u << 2) | (1u << 1); /* NCQ, SATA Gen3, Gen2, Gen1 */
	id[80] = 0x01f0; /* ATA8-ACS and earlier */
	id[82] = (1u << 6) | (1u << 5) | (1u << 3); /* look-ahead, write cache, power management */
	id[83] = 0x4000 | (1u << 13) | (1u << 12) | (1u << 10); /* FLUSH EXT, FLUSH, 48-bit */
	id[84] = 0x4000 | (1u << 5); /* general purpose logging */
	id[85] = (uint16_t)((1u << 6) | (p->st.wcache ? 1u << 5 : 0) | (1u << 3));
	id[86] = (1u << 13) | (1u << 12) | (1u << 10);
	id[87] = 0x4000 | (1u << 5);
	put_modes(id, p->st.xfer_mode);
	id[100] = (uint16_t)p->nsect;
	id[101] = (uint16_t)(p->nsect >> 16);
	id[102] = (uint16_t)(p->nsect >> 32);
	id[105] = p->trim ? DSM_MAX_BLOCKS : 0;
	id[106] = 0x4000 | (p->phys_exp ? (1u << 13) | p->phys_exp : 0);
	if (p->sector_size > 512) {
		id[106] |= 1u << 12;
		id[117] = (uint16_t)(p->sector_size / 2);
		id[118] = (uint16_t)(p->sector_size / 2 >> 16);
	}
	id[169] = p->trim ? 1 : 0;
	id[217] = 1; /* not rotating: the image lives in a host file */
	ahci_id_checksum(id);
}

/* Sectors [lba, lba + n) lie on the disk; no sum can wrap (the guest picks both). */
static bool in_disk(const struct ahci_port *p, uint64_t lba, uint64_t n)
{
	return lba <= p->nsect && n <= p->nsect - lba;
}

static void rw(struct ahci_cmd *c, bool write, uint64_t lba, uint64_t n, enum ahci_done how)
{
	struct ahci_port *p = c->p;
	if (write && p->be->ro) {
		ahci_abort(c, ATA_E_ABRT);
		return;
	}
	if (!in_disk(p, lba, n)) {
		ahci_abort(c, ATA_E_IDNF | ATA_E_ABRT);
		return;
	}
	int rc = ahci_disk_io(c, write, lba * p->sector_size, n * p->sector_size);
	if (rc == -EIO) {
		ahci_abort(c, write ? ATA_E_ABRT : ATA_E_UNC | ATA_E_ABRT);
		return;
	}
	ahci_ok(c, how);
}

/* READ/WRITE FPDMA QUEUED: count in the features fields, the tag in count bits 7:3. The slot is
 * the tag that counts (the HBA sets SActive by slot); the driver must have set it in PxSACT. */
static void ncq(struct ahci_cmd *c, bool write)
{
	struct ahci_port *p = c->p;
	const uint8_t *f = c->fis;
	uint64_t n = (uint64_t)f[FIS_FEAT] | (uint64_t)f[FIS_FEAT_EXP] << 8;
	if (!(p->st.sact & (1u << c->slot)) || p->st.ncq_err) {
		ahci_abort(c, ATA_E_ABRT); /* not queued, or queued commands wait for the error log */
		return;
	}
	rw(c, write, lba48(f), n ? n : 65536, AHCI_DONE_NCQ);
	if (c->status & ATA_S_ERR) {
		/* The failed command goes to the NCQ error log; the SDB FIS reports the error. */
		c->done = AHCI_DONE_NCQ;
		p->st.ncq_err = 1;
		p->st.ncq_tag = (uint8_t)c->slot;
		p->st.ncq_status = c->status;
		p->st.ncq_error = c->error;
	}
}

static void read_log(struct ahci_cmd *c)
{
	struct ahci_port *p = c->p;
	const uint8_t *f = c->fis;
	unsigned log = f[FIS_LBA0], page = f[FIS_LBA1] | f[FIS_LBA4] << 8;
	unsigned pages = f[FIS_COUNT] | f[FIS_COUNT_EXP] << 8;
	uint8_t buf[512] = { 0 };
	if (pages != 1 || page != 0) {
		ahci_abort(c, ATA_E_ABRT);
		return;
	}
	if (log == LOG_DIRECTORY) {
		buf[0] = 1; /* GPL version 1; then one word per log: its pages */
		buf[2 * LOG_NCQ_ERROR] = 1;
	} else if (log == LOG_NCQ_ERROR) {
		/* ACS-2 13.7: NQ set when no queued command failed; reading clears the error. */
		buf[0] = p->st.ncq_err ? p->st.ncq_tag : 0x80;
		if (p->st.ncq_err) {
			buf[2] = p->st.ncq_status;
			buf[3] = p->st.ncq_error;
		}
		uint8_t sum = 0;
		for (unsigned i = 0; i < 511; i++)
			sum = (uint8_t)(sum + buf[i]);
		buf[511] = (uint8_t)-sum;
		p->st.ncq_err = 0;
	} else {
		ahci_abort(c, ATA_E_ABRT);
		return;
	}
	if (ahci_data_in(c, buf, sizeof(buf)) < 0)
		return;
	ahci_ok(c, f[FIS_CMD] == ATA_READ_LOG_EXT ? AHCI_DONE_PIO_IN : AHCI_DONE_D2H);
}

/* DATA SET MANAGEMENT with TRIM: count blocks of 64 ranges (LBA 47:0, length 63:48). */
static void dsm(struct ahci_cmd *c)
{
	struct ahci_port *p = c->p;
	const uint8_t *f = c->fis;
	unsigned blocks = f[FIS_COUNT] | f[FIS_COUNT_EXP] << 8;
	uint64_t ranges[DSM_MAX_BLOCKS * 64];
	if (!p->trim || !(f[FIS_FEAT] & 1) || blocks == 0 || blocks > DSM_MAX_BLOCKS) {
		ahci_abort(c, ATA_E_ABRT);
		return;
	}
	if (ahci_data_out(c, ranges, blocks * 512u) < 0)
		return;
	unsigned n = blocks * 64;
	for (unsigned i = 0; i < n; i++) {
		uint64_t lba = ranges[i] & ((1ull << 48) - 1), len = ranges[i] >> 48;
		if (len && !in_disk(p, lba, len)) {
			ahci_abort(c, ATA_E_IDNF | ATA_E_ABRT);
			return;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t lba = ranges[i] & ((1ull << 48) - 1), len = ranges[i] >> 48;
		if (len && p->be->ops->discard(p->be->ctx, lba * p->sector_size, len * p->sector_size) < 0) {
			ahci_abort(c, ATA_E_ABRT);
			return;
		}
	}
	ahci_ok(c, AHCI_DONE_D2H);
}

static bool xfer_mode_valid(uint8_t m)
{
	return (m >= 0x08 && m <= 0x0c) || m <= 0x01 || (m >= 0x20 && m <= 0x22) || (m >= 0x40 && m <= 0x46);
}

static void set_features(struct ahci_cmd *c)
{
	struct ahci_port *p = c->p;
	uint8_t count = c->fis[FIS_COUNT];
	switch (c->fis[FIS_FEAT]) {
	case 0x02: p->st.wcache = 1; break;
	case 0x82: p->st.wcache = 0; break;
	case 0x03:
		if (!xfer_mode_valid(count)) {
			ahci_abort(c, ATA_E_ABRT);
			return;
		}
		p->st.xfer_mode = count;
		break;
	case 0xaa: case 0x55: /* read look-ahead on/off */
	case 0x66: case 0xcc: /* keep or revert to power-on defaults */
		break;
	default:
		ahci_abort(c, ATA_E_ABRT);
		return;
	}
	ahci_ok(c, AHCI_DONE_D2H);
}

void ahci_ata_execute(struct ahci_cmd *c)
{
	struct ahci_port *p = c->p;
	const uint8_t *f = c->fis;
	unsigned count8 = f[FIS_COUNT] ? f[FIS_COUNT] : 256;
	unsigned count16 = f[FIS_COUNT] | f[FIS_COUNT_EXP] << 8;
	uint64_t count48 = count16 ? count16 : 65536;
	switch (f[FIS_CMD]) {
	case ATA_IDENTIFY: {
		uint16_t id[256];
		identify(p, id);
		if (ahci_data_in(c, id, sizeof(id)) == 0)
			ahci_ok(c, AHCI_DONE_PIO_IN);
		break;
	}
	case ATA_READ_DMA_EXT: rw(c, false, lba48(f), count48, AHCI_DONE_D2H); break;
	case ATA_WRITE_DMA_EXT: rw(c, true, lba48(f), count48, AHCI_DONE_D2H); break;
	case ATA_READ_PIO_EXT: rw(c, false, lba48(f), count48, AHCI_DONE_PIO_IN); break;
	case ATA_WRITE_PIO_EXT: rw(c, true, lba48(f), count48, AHCI_DONE_D2H); break;
	case ATA_READ_DMA: rw(c, false, lba28(f), count8, AHCI_DONE_D2H); break;
	case ATA_WRITE_DMA: rw(c, true, lba28(f), count8, AHCI_DONE_D2H); break;
	case ATA_READ_PIO: rw(c, false, lba28(f), count8, AHCI_DONE_PIO_IN); break;
	case ATA_WRITE_PIO: rw(c, true, lba28(f), count8, AHCI_DONE_D2H); break;
	case ATA_FPDMA_READ: ncq(c, false); break;
	case ATA_FPDMA_WRITE: ncq(c, true); break;
	case ATA_VERIFY:
	case ATA_VERIFY_EXT: {
		uint64_t lba = f[FIS_CMD] == ATA_VERIFY ? lba28(f) : lba48(f);
		if (in_disk(p, lba, f[FIS_CMD] == ATA_VERIFY ? count8 : count48))
			ahci_ok(c, AHCI_DONE_D2H);
		else
			ahci_abort(c, ATA_E_IDNF | ATA_E_ABRT);
		break;
	}
	case ATA_FLUSH:
	case ATA_FLUSH_EXT:
		/* Nothing is acknowledged before the host's fdatasync returned. */
		if (p->be->ops->flush(p->be->ctx) < 0)
			ahci_abort(c, ATA_E_ABRT);
		else
			ahci_ok(c, AHCI_DONE_D2H);
		break;
	case ATA_SET_FEATURES: set_features(c); break;
	case ATA_SET_MULTI:
		if (f[FIS_COUNT] > MAX_MULTI || (f[FIS_COUNT] & (f[FIS_COUNT] - 1))) {
			ahci_abort(c, ATA_E_ABRT);
		} else {
			p->st.multi = f[FIS_COUNT];
			ahci_ok(c, AHCI_DONE_D2H);
		}
		break;
	case ATA_DSM: dsm(c); break;
	case ATA_READ_LOG_EXT:
	case ATA_READ_LOG_DMA_EXT: read_log(c); break;
	case ATA_CHECK_POWER:
		ahci_ok(c, AHCI_DONE_D2H);
		c->count = 0xff; /* active or idle */
		break;
	case ATA_STANDBY_NOW: case ATA_IDLE_NOW: case ATA_STANDBY: case ATA_IDLE: case ATA_SLEEP:
	case ATA_RECALIBRATE: case ATA_SEEK: case ATA_INIT_PARAMS:
		ahci_ok(c, AHCI_DONE_D2H);
		break;
	default:
		/* NOP always aborts; PACKET, IDENTIFY PACKET and DEVICE RESET are for packet devices. */
		ahci_abort(c, ATA_E_ABRT);
		break;
	}
}
