/* ATAPI for an AHCI CD-ROM on a read-only image of 2048-byte sectors: IDENTIFY PACKET DEVICE,
 * DEVICE RESET, and the MMC commands inside PACKET that Linux's sr driver, FreeBSD's cd driver
 * and boot loaders send. Errors are CHECK CONDITION with sense data for REQUEST SENSE. */
#include "devmodel/ahci_internal.h"

#include <errno.h>
#include <string.h>

enum {
	SCSI_TEST_UNIT_READY = 0x00, SCSI_REQUEST_SENSE = 0x03, SCSI_INQUIRY = 0x12, SCSI_START_STOP = 0x1b,
	SCSI_PREVENT_ALLOW = 0x1e, SCSI_READ_CAPACITY = 0x25, SCSI_READ10 = 0x28, SCSI_SEEK10 = 0x2b,
	SCSI_READ_TOC = 0x43, SCSI_GET_CONFIGURATION = 0x46, SCSI_GET_EVENT_STATUS = 0x4a,
	SCSI_READ_DISC_INFO = 0x51, SCSI_MODE_SENSE10 = 0x5a, SCSI_READ12 = 0xa8, SCSI_SET_CD_SPEED = 0xbb,
};

/* Sense keys and the (ASC, ASCQ) pairs this drive reports. */
#define SK_NOT_READY       0x2
#define SK_MEDIUM_ERROR    0x3
#define SK_ILLEGAL_REQUEST 0x5
#define SK_UNIT_ATTENTION  0x6
#define ASC_NO_MEDIUM      0x3a /* ASCQ 0: no medium; 2: tray open */
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_RANGE      0x21
#define ASC_INVALID_FIELD  0x24
#define ASC_MEDIUM_CHANGED 0x28
#define ASC_SAVING_PARAMS  0x39
#define ASC_REMOVAL_PREVENTED 0x53
#define ASC_READ_ERROR     0x11

/* GET EVENT STATUS NOTIFICATION media event codes. */
#define MEV_NONE 0
#define MEV_NEW  2
#define MEV_REMOVAL 3

#define PROFILE_CDROM  0x0008
#define PROFILE_DVDROM 0x0010
#define CD_MAX_SECTORS 400000 /* larger images are DVDs (a CD holds ~360,000 sectors) */

static uint16_t be16(const uint8_t *b) { return (uint16_t)(b[0] << 8 | b[1]); }
static uint32_t be32(const uint8_t *b) { return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]; }
static void put16(uint8_t *b, uint32_t v) { b[0] = (uint8_t)(v >> 8), b[1] = (uint8_t)v; }
static void put32(uint8_t *b, uint32_t v) { put16(b, v >> 16), put16(b + 2, v); }

void ahci_atapi_reset(struct ahci_port *p)
{
	p->st.sense_key = p->st.asc = p->st.ascq = 0;
	p->st.unit_attention = 0;
	p->st.prevent = 0;
	p->st.media_event = MEV_NONE;
}

static bool medium(const struct ahci_port *p)
{
	return !p->st.tray_open && p->nsect > 0;
}

static void check_condition(struct ahci_cmd *c, uint8_t key, uint8_t asc, uint8_t ascq)
{
	struct ahci_port *p = c->p;
	p->st.sense_key = key;
	p->st.asc = asc;
	p->st.ascq = ascq;
	c->done = AHCI_DONE_D2H;
	c->status = ATA_S_DRDY | ATA_S_ERR;
	c->error = (uint8_t)(key << 4) | (key == SK_ILLEGAL_REQUEST ? ATA_E_ABRT : 0);
	c->count = 3; /* interrupt reason: I/O and C/D, the command is over */
}

static void good(struct ahci_cmd *c, bool data)
{
	struct ahci_port *p = c->p;
	p->st.sense_key = p->st.asc = p->st.ascq = 0;
	/* DMA bit of the PACKET features: the data went by DMA, else PIO (PIO setup FIS first). */
	ahci_ok(c, data && !(c->fis[FIS_FEAT] & 1) ? AHCI_DONE_PIO_IN : AHCI_DONE_D2H);
	c->count = 3;
}

static bool ready(struct ahci_cmd *c)
{
	if (c->p->st.tray_open)
		check_condition(c, SK_NOT_READY, ASC_NO_MEDIUM, 2);
	else if (!c->p->nsect)
		check_condition(c, SK_NOT_READY, ASC_NO_MEDIUM, 0);
	else
		return true;
	return false;
}

/* Data to the host: no more than the allocation length, no more than the PRDT holds. */
static void reply(struct ahci_cmd *c, const void *buf, size_t len, size_t alloc)
{
	if (ahci_data_in(c, buf, len < alloc ? len : alloc) == 0)
		good(c, true);
}

static void inquiry(struct ahci_cmd *c, const uint8_t *cdb)
{
	if (cdb[1] & 1) { /* no vital product data pages */
		check_condition(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
		return;
	}
	uint8_t b[36] = { 0x05 /* CD/DVD */, 0x80 /* removable */, 0x00, 0x21 /* ATAPI, format 1 */, 31 };
	memcpy(b + 8, "DHYVE   ", 8);
	memcpy(b + 16, "DHYVE DVD-ROM   ", 16);
	memcpy(b + 32, "1.0 ", 4);
	reply(c, b, sizeof(b), be16(cdb + 3));
}

static void request_sense(struct ahci_cmd *c, const uint8_t *cdb)
{
	struct ahci_port *p = c->p;
	uint8_t b[18] = { 0x70, 0, p->st.sense_key };
	b[7] = 10;
	b[12] = p->st.asc;
	b[13] = p->st.ascq;
	reply(c, b, sizeof(b), cdb[4]);
}

static void read_capacity(struct ahci_cmd *c)
{
	if (!ready(c))
		return;
	uint8_t b[8];
	uint64_t last = c->p->nsect - 1;
	put32(b, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
	put32(b + 4, AHCI_CD_SECTOR);
	reply(c, b, sizeof(b), sizeof(b));
}

static void read_sectors(struct ahci_cmd *c, uint64_t lba, uint64_t n)
{
	struct ahci_port *p = c->p;
	if (!ready(c))
		return;
	if (lba > p->nsect || n > p->nsect - lba) {
		check_condition(c, SK_ILLEGAL_REQUEST, ASC_LBA_RANGE, 0);
		return;
	}
	int rc = ahci_disk_io(c, false, lba * AHCI_CD_SECTOR, n * AHCI_CD_SECTOR);
	if (rc == -EIO)
		check_condition(c, SK_MEDIUM_ERROR, ASC_READ_ERROR, 0);
	else if (rc == 0)
		good(c, n > 0);
}

static void put_msf(uint8_t *b, uint64_t lba)
{
	lba += 150; /* MSF 00:02:00 is LBA 0 */
	uint64_t m = lba / (75 * 60);
	b[0] = 0;
	b[1] = (uint8_t)(m > 255 ? 255 : m);
	b[2] = (uint8_t)(lba / 75 % 60);
	b[3] = (uint8_t)(lba % 75);
}

static void put_addr(uint8_t *b, uint64_t lba, bool msf)
{
	if (msf)
		put_msf(b, lba);
	else
		put32(b, lba > 0xffffffffu ? 0xffffffffu : (uint32_t)lba);
}

/* One data track (track 1 at LBA 0) in one session, and the lead-out after it. */
static void read_toc(struct ahci_cmd *c, const uint8_t *cdb)
{
	struct ahci_port *p = c->p;
	bool msf = cdb[1] & 2;
	unsigned format = cdb[2] & 0xf, track = cdb[6];
	if (!format)
		format = cdb[9] >> 6; /* the older place of the format field (SFF-8020) */
	if (!ready(c))
		return;
	uint8_t b[48] = { 0 };
	size_t len;
	if (format == 0) {
		if (track > 1 && track != 0xaa) {
			check_condition(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
			return;
		}
		b[2] = b[3] = 1;
		len = 4;
		if (track <= 1) {
			b[len + 1] = 0x14; /* ADR 1, data track */
			b[len + 2] = 1;
			put_addr(b + len + 4, 0, msf);
			len += 8;
		}
		b[len + 1] = 0x14;
		b[len + 2] = 0xaa;
		put_addr(b + len + 4, p->nsect, msf);
		len += 8;
	} else if (format == 1) {
		b[2] = b[3] = 1;
		b[5] = 0x14;
		b[6] = 1;
		put_addr(b + 8, 0, msf);
		len = 12;
	} else if (format == 2) {
		/* Raw TOC: points A0 (first track), A1 (last track), A2 (lead-out), then track 1. */
		static const uint8_t points[4] = { 0xa0, 0xa1, 0xa2, 1 };
		b[2] = b[3] = 1;
		len = 4;
		for (unsigned i = 0; i < 4; i++, len += 11) {
			uint8_t *d = b + len;
			d[0] = 1;
			d[1] = 0x14;
			d[3] = points[i];
			if (points[i] == 0xa0 || points[i] == 0xa1) {
				d[8] = 1;
			} else {
				uint8_t m[4];
				put_msf(m, points[i] == 0xa2 ? p->nsect : 0);
				memcpy(d + 8, m + 1, 3);
			}
		}
	} else {
		check_condition(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
		return;
	}
	put16(b, (uint32_t)len - 2);
	reply(c, b, len, be16(cdb + 7));
}

static uint16_t current_profile(const struct ahci_port *p)
{
	if (!medium(p))
		return 0;
	return p->nsect > CD_MAX_SECTORS ? PROFILE_DVDROM : PROFILE_CDROM;
}

/* GET CONFIGURATION: the features of a read-only CD/DVD drive with a tray. */
static void get_configuration(struct ahci_cmd *c, const uint8_t *cdb)
{
	struct ahci_port *p = c->p;
	unsigned rt = cdb[1] & 3, start = be16(cdb + 2);
	uint16_t prof = current_profile(p);
	bool cd = prof == PROFILE_CDROM, dvd = prof == PROFILE_DVDROM;
	if (rt == 3) {
		check_condition(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
		return;
	}
	struct {
		uint16_t code;
		uint8_t ver, len;
		bool current;
		uint8_t data[8];
	} feat[] = {
		{ 0x0000, 0, 8, true, { 0x00, 0x10, dvd, 0, 0x00, 0x08, cd, 0 } }, /* profile list */
		{ 0x0001, 1, 8, true, { 0, 0, 0, 2 /* ATAPI */ } },                /* core */
		{ 0x0002, 1, 4, true, { 0 } },                                     /* morphing */
		{ 0x0003, 0, 4, true, { 0x29 /* tray, eject, lock */ } },          /* removable medium */
		{ 0x0010, 0, 8, cd || dvd, { 0, 0, 0x08, 0, 0, dvd ? 16 : 1 } },   /* random readable, 2048 */
		{ 0x001e, 2, 4, cd, { 0 } },                                       /* CD read */
		{ 0x001f, 0, 4, dvd, { 0 } },                                      /* DVD read */
	};
	uint8_t b[8 + sizeof(feat) / sizeof(feat[0]) * 12] = { 0 };
	size_t len = 8;
	for (size_t i = 0; i < sizeof(feat) / sizeof(feat[0]); i++) {
		if (feat[i].code < start || (rt == 1 && !feat[i].current) || (rt == 2 && feat[i].code != start))
			continue;
		put16(b + len, feat[i].code);
		/* Profile list, core, morphing and removable medium persist across media. */
		b[len + 2] = (uint8_t)(feat[i].ver << 2 | (feat[i].code <= 3 ? 2 : 0) | feat[i].current);
		b[len + 3] = feat[i].len;
		memcpy(b + len + 4, feat[i].data, feat[i].len);
		len += 4u + feat[i].len;
	}
	put32(b, (uint32_t)len - 4);
	put16(b + 6, prof);
	reply(c, b, len, be16(cdb + 7));
}

static void get_event_status(struct ahci_cmd *c, const uint8_t *cdb)
{
	struct ahci_port *p = c->p;
	if (!(cdb[1] & 1)) { /* asynchronous notification is not offered */
		check_condition(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
		return;
	}
	uint8_t b[8] = { 0 };
	size_t len;
	b[3] = 0x10; /* supported classes: media */
	if (cdb[4] & 0x10) {
		put16(b, 6);
		b[2] = 0x04;
		b[4] = p->st.media_event;
		b[5] = (uint8_t)((p->st.tray_open ? 1 : 0) | (medium(p) ? 2 : 0));
		p->st.media_event = MEV_NONE;
		len = 8;
	} else {
		put16(b, 2);
		b[2] = 0x80; /* no event available of the classes asked for */
		len = 4;
	}
	reply(c, b, len, be16(cdb + 7));
}

static size_t mode_page(const struct ahci_port *p, unsigned page, bool changeable, uint8_t *b)
{
	if (page == 0x01) { /* read error recovery */
		memset(b, 0, 8);
		b[0] = 0x01, b[1] = 6;
		if (!changeable)
			b[3] = 5; /* read retry count */
		return 8;
	}
	if (page == 0x2a) { /* CD/DVD capabilities and mechanical status */
		memset(b, 0, 20);
		b[0] = 0x2a, b[1] = 18;
		if (changeable)
			return 20;
		b[2] = 0x3b; /* reads CD-R, CD-RW, DVD-ROM, DVD-R, DVD-RAM */
		b[4] = 0x71; /* audio play, mode 2 form 1 and 2, multi-session */
		b[6] = (uint8_t)(0x29 | (p->st.prevent ? 2 : 0)); /* tray, eject, lock (and its state) */
		put16(b + 8, 706);  /* 4x, kB/s */
		put16(b + 12, 512); /* buffer, KiB */
		put16(b + 14, 706);
		return 20;
	}
	return 0;
}

static void mode_sense(struct ahci_cmd *c, const uint8_t *cdb)
{
	unsigned page = cdb[2] & 0x3f, pc = cdb[2] >> 6;
	if (pc == 3) {
		check_condition(c, SK_ILLEGAL_REQUEST, ASC_SAVING_PARAMS, 0);
		return;
	}
	uint8_t b[8 + 8 + 20] = { 0 };
	size_t len = 8;
	if (page == 0x3f) {
		len += mode_page(c->p, 0x01, pc == 1, b + len);
		len += mode_page(c->p, 0x2a, pc == 1, b + len);
	} else {
		size_t n = mode_page(c->p, page, pc == 1, b + len);
		if (!n) {
			check_condition(c, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
			return;
		}
		len += n;
	}
	put16(b, (uint32_t)len - 2);
	reply(c, b, len, be16(cdb + 7));
}

static void read_disc_info(struct ahci_cmd *c, const uint8_t *cdb)
{
	if (!ready(c))
		return;
	uint8_t b[34] = { 0 };
	put16(b, 32);
	b[2] = 0x0e; /* complete disc, complete last session */
	b[3] = b[4] = b[5] = b[6] = 1;
	reply(c, b, sizeof(b), be16(cdb + 7));
}

static void start_stop(struct ahci_cmd *c, const uint8_t *cdb)
{
	struct ahci_port *p = c->p;
	bool loej = cdb[4] & 2, start = cdb[4] & 1;
	if (loej && !start) {
		if (p->st.prevent) {
			check_condition(c, SK_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 2);
			return;
		}
		if (!p->st.tray_open)
			p->st.media_event = MEV_REMOVAL;
		p->st.tray_open = 1;
	} else if (loej && start && p->st.tray_open) {
		/* The same image goes back in: a new medium, as far as the host can tell. */
		p->st.tray_open = 0;
		p->st.media_event = MEV_NEW;
		p->st.unit_attention = 1;
	}
	good(c, false);
}

static void packet(struct ahci_cmd *c)
{
	struct ahci_port *p = c->p;
	const uint8_t *cdb = c->acmd;
	uint8_t op = cdb[0];
	/* A pending unit attention is the answer to any command but these three (SPC-3 5.9.7). */
	if (p->st.unit_attention && op != SCSI_INQUIRY && op != SCSI_REQUEST_SENSE && op != SCSI_GET_EVENT_STATUS) {
		p->st.unit_attention = 0;
		check_condition(c, SK_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
		return;
	}
	switch (op) {
	case SCSI_TEST_UNIT_READY:
		if (ready(c))
			good(c, false);
		break;
	case SCSI_REQUEST_SENSE: request_sense(c, cdb); break;
	case SCSI_INQUIRY: inquiry(c, cdb); break;
	case SCSI_READ_CAPACITY: read_capacity(c); break;
	case SCSI_READ10: read_sectors(c, be32(cdb + 2), be16(cdb + 7)); break;
	case SCSI_READ12: read_sectors(c, be32(cdb + 2), be32(cdb + 6)); break;
	case SCSI_READ_TOC: read_toc(c, cdb); break;
	case SCSI_GET_CONFIGURATION: get_configuration(c, cdb); break;
	case SCSI_GET_EVENT_STATUS: get_event_status(c, cdb); break;
	case SCSI_MODE_SENSE10: mode_sense(c, cdb); break;
	case SCSI_READ_DISC_INFO: read_disc_info(c, cdb); break;
	case SCSI_START_STOP: start_stop(c, cdb); break;
	case SCSI_PREVENT_ALLOW:
		p->st.prevent = cdb[4] & 1;
		good(c, false);
		break;
	case SCSI_SEEK10:
	case SCSI_SET_CD_SPEED:
		good(c, false);
		break;
	default:
		check_condition(c, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
		break;
	}
}

static void identify_packet(const struct ahci_port *p, uint16_t *id)
{
	memset(id, 0, 512);
	id[0] = 0x85c0; /* ATAPI, CD-ROM, removable, accelerated DRQ, 12-byte packets */
	ahci_id_string(id, 10, 10, p->serial);
	ahci_id_string(id, 23, 4, "1.0");
	ahci_id_string(id, 27, 20, "DHYVE DVD-ROM");
	id[49] = (1u << 11) | (1u << 9) | (1u << 8); /* IORDY, LBA, DMA */
	id[53] = 0x0006;
	id[63] = 0x0007;
	id[64] = 0x0003;
	id[65] = id[66] = id[67] = id[68] = 120;
	id[76] = (1u << 3) | (1u << 2) | (1u << 1); /* SATA Gen1-3, no NCQ */
	id[80] = 0x01f0;
	id[82] = (1u << 9) | (1u << 4); /* DEVICE RESET, PACKET */
	id[83] = 0x4000;
	id[84] = 0x4000;
	id[85] = id[82];
	id[87] = 0x4000;
	id[88] = 0x007f;
	if ((p->st.xfer_mode & 0xf8) == 0x40)
		id[88] |= (uint16_t)(1u << (8 + (p->st.xfer_mode & 7)));
	else if ((p->st.xfer_mode & 0xf8) == 0x20)
		id[63] |= (uint16_t)(1u << (8 + (p->st.xfer_mode & 7)));
	ahci_id_checksum(id);
}

void ahci_atapi_execute(struct ahci_cmd *c)
{
	struct ahci_port *p = c->p;
	switch (c->fis[FIS_CMD]) {
	case 0xa0: packet(c); break;
	case 0xa1: { /* IDENTIFY PACKET DEVICE */
		uint16_t id[256];
		identify_packet(p, id);
		if (ahci_data_in(c, id, sizeof(id)) == 0)
			ahci_ok(c, AHCI_DONE_PIO_IN);
		break;
	}
	case 0x08: /* DEVICE RESET */
		ahci_atapi_reset(p);
		ahci_ok(c, AHCI_DONE_D2H);
		c->status = 0;
		c->error = 1;
		c->sig = ATA_SIG_ATAPI;
		break;
	case 0xef: /* SET FEATURES: transfer mode only */
		if (c->fis[FIS_FEAT] == 0x03 && ((c->fis[FIS_COUNT] & 0xf8) == 0x08 || (c->fis[FIS_COUNT] & 0xf8) == 0x20 ||
						 (c->fis[FIS_COUNT] & 0xf8) == 0x40 || c->fis[FIS_COUNT] <= 1)) {
			p->st.xfer_mode = c->fis[FIS_COUNT];
			ahci_ok(c, AHCI_DONE_D2H);
		} else {
			ahci_abort(c, ATA_E_ABRT);
		}
		break;
	case 0xe5: /* CHECK POWER MODE */
		ahci_ok(c, AHCI_DONE_D2H);
		c->count = 0xff;
		break;
	case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe6: /* standby, idle, sleep */
		ahci_ok(c, AHCI_DONE_D2H);
		break;
	case 0xec:
		/* A packet device aborts IDENTIFY DEVICE and shows its signature (ATA8-ACS 7.16). */
		ahci_abort(c, ATA_E_ABRT);
		c->sig = ATA_SIG_ATAPI;
		break;
	default:
		ahci_abort(c, ATA_E_ABRT);
		break;
	}
}
