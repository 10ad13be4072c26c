/* What the HBA (ahci.c) shares with its command sets (ahci_ata.c, ahci_atapi.c): port and
 * device state, the decoded command, PRDT transfers and how a command ends. Devices use ahci.h. */
#ifndef DHYVE_DEVMODEL_AHCI_INTERNAL_H
#define DHYVE_DEVMODEL_AHCI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devmodel/ahci.h"

/* ATA status and error register bits. */
#define ATA_S_ERR  0x01
#define ATA_S_DRQ  0x08
#define ATA_S_DSC  0x10
#define ATA_S_DF   0x20
#define ATA_S_DRDY 0x40
#define ATA_S_BSY  0x80
#define ATA_E_ABRT 0x04
#define ATA_E_IDNF 0x10
#define ATA_E_UNC  0x40

#define ATA_SIG_DISK  0x00000101u
#define ATA_SIG_ATAPI 0xeb140101u

/* Offsets in the H2D register FIS (SATA 10.5.5). */
enum {
	FIS_TYPE = 0, FIS_FLAGS = 1, FIS_CMD = 2, FIS_FEAT = 3, FIS_LBA0 = 4, FIS_LBA1 = 5, FIS_LBA2 = 6,
	FIS_DEV = 7, FIS_LBA3 = 8, FIS_LBA4 = 9, FIS_LBA5 = 10, FIS_FEAT_EXP = 11, FIS_COUNT = 12,
	FIS_COUNT_EXP = 13, FIS_ICC = 14, FIS_CTL = 15,
};
#define FIS_TYPE_H2D 0x27
#define FIS_TYPE_D2H 0x34
#define FIS_TYPE_SDB 0xa1
#define FIS_TYPE_PIO 0x5f
#define FIS_H2D_C    0x80 /* flags: a command (1) or a device-control update (0) */
#define FIS_CTL_SRST 0x04

/* Port interrupt status bits (PxIS / PxIE). */
#define PXIS_DHRS (1u << 0)
#define PXIS_PSS  (1u << 1)
#define PXIS_SDBS (1u << 3)
#define PXIS_DPS  (1u << 5)
#define PXIS_HBFS (1u << 29)
#define PXIS_TFES (1u << 30)

/* How a command ends: which FIS the device sends. */
enum ahci_done {
	AHCI_DONE_D2H,    /* a D2H register FIS (DMA and non-data commands, errors) */
	AHCI_DONE_PIO_IN, /* a PIO setup FIS before the data, then the D2H register FIS */
	AHCI_DONE_NCQ,    /* a set device bits FIS clearing the slot's SActive bit */
};

/* Guest-visible state of a port and its device: everything save/load carry, plain data. */
struct ahci_port_state {
	uint32_t clb, clbu, fb, fbu, is, ie, cmd, tfd, sig, ssts, sctl, serr, sact, ci, sntf;
	uint8_t stopped;        /* a task-file or fatal error: no command runs until PxCMD.ST is cleared */
	uint8_t reset_fis;      /* a reset's D2H FIS waits for PxCMD.FRE */
	uint8_t xfer_mode;      /* SET FEATURES transfer mode (0: default) */
	uint8_t wcache;         /* write cache enabled (IDENTIFY word 85 bit 5) */
	uint8_t multi;          /* SET MULTIPLE MODE's block size */
	/* NCQ error log (READ LOG EXT page 10h): the failed tag and its task file. */
	uint8_t ncq_err, ncq_tag, ncq_status, ncq_error;
	/* ATAPI: sense data for REQUEST SENSE, the tray and its lock, a pending media event. */
	uint8_t sense_key, asc, ascq;
	uint8_t tray_open, prevent, media_event, unit_attention;
	uint8_t pad[1];
};

struct ahci_port {
	struct ahci *hba;
	unsigned idx;
	bool atapi;
	struct blk_backend *be;
	uint64_t nsect;          /* addressable sectors of sector_size bytes */
	unsigned sector_size;    /* 512 or 4096 for a disk, 2048 for a CD */
	unsigned phys_exp;       /* log2(physical / logical) */
	bool trim;
	char serial[21];
	struct ahci_port_state st;
};

struct ahci {
	struct pci_func *f;
	const struct gmem *mem;
	pthread_mutex_t lock; /* BAR accesses arrive from any vCPU without the bus lock */
	unsigned nports;
	uint32_t ghc, is;
	bool irq_level;
	struct ahci_port port[AHCI_MAX_PORTS];
};

/* One command being executed: the slot's header and FIS, and how it ends. */
struct ahci_cmd {
	struct ahci_port *p;
	unsigned slot;
	uint8_t fis[20];
	uint8_t acmd[16];        /* ATAPI command packet */
	uint64_t ctba;           /* command table */
	unsigned prdtl;
	uint32_t xfer;           /* bytes moved: what PRDBC reports */
	/* Filled by the command set: */
	enum ahci_done done;
	uint8_t status, error;
	uint8_t count;           /* the D2H FIS's count field (CHECK POWER MODE, ATAPI reason) */
	uint32_t sig;            /* nonzero: the D2H FIS carries this signature (IDENTIFY aborted on a CD) */
	bool fault;              /* the PRDT or a guest address was bad: a host bus fatal error */
};

/* PRDT transfers. piece: one guest range of n bytes at host, at byte pos of the transfer. */
typedef int (*ahci_piece_fn)(void *ctx, uint8_t *host, size_t n, uint64_t pos);
/* Walks the first len bytes the PRDT describes. strict: the PRDT must hold len bytes (else
 * -EFAULT); otherwise it stops where the PRDT ends. to_guest: fn writes guest memory (else it
 * reads it), for gmem_note_write/read. 0 or a negative errno; -EFAULT (a bad PRD or guest range)
 * also sets c->fault. Adds what it moved to c->xfer. */
int ahci_prdt_walk(struct ahci_cmd *c, uint64_t len, bool strict, bool to_guest, ahci_piece_fn fn, void *ctx);
/* Emulated data to the guest: as much of buf as the PRDT holds (the rest is dropped, as a device
 * answers no more than the host asked for). From the guest: exactly len bytes or -EFAULT. */
int ahci_data_in(struct ahci_cmd *c, const void *buf, size_t len);
int ahci_data_out(struct ahci_cmd *c, void *buf, size_t len);
/* Moves whole sectors between the back-end at byte offset off and the PRDT (strict). */
int ahci_disk_io(struct ahci_cmd *c, bool write, uint64_t off, uint64_t len);

/* IDENTIFY data helpers (ahci_ata.c): an ATA string of words words at word; word 255. */
void ahci_id_string(uint16_t *id, unsigned word, unsigned words, const char *s);
void ahci_id_checksum(uint16_t *id);

/* Command sets: run c, fill its outcome. */
void ahci_ata_execute(struct ahci_cmd *c);
void ahci_atapi_execute(struct ahci_cmd *c);
void ahci_atapi_reset(struct ahci_port *p); /* device state after a reset (sense, events) */

static inline void ahci_ok(struct ahci_cmd *c, enum ahci_done how)
{
	c->done = how;
	c->status = ATA_S_DRDY | ATA_S_DSC;
	c->error = 0;
}

static inline void ahci_abort(struct ahci_cmd *c, uint8_t error)
{
	c->done = AHCI_DONE_D2H;
	c->status = ATA_S_DRDY | ATA_S_DSC | ATA_S_ERR;
	c->error = error;
}

#endif
