/* The replay log: the events of DESIGN.md's five doors plus a fingerprint of every exit, in one
 * versioned, checksummed, zstd-compressed file (docs/replay-format.md). Writer and reader. */
#ifndef DHYVE_REPLAY_RLOG_H
#define DHYVE_REPLAY_RLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "base/errmsg.h"

#define RLOG_MAGIC "DHYVRLOG"
#define RLOG_VERSION 1
#define RLOG_HEADER_BYTES 32
#define RLOG_CHUNK_MAGIC 0x4b434c52u /* "RLCK" little-endian */
#define RLOG_CHUNK_HEADER_BYTES 24
#define RLOG_CHUNK_RAW_MAX (256u * 1024u) /* the writer's bounded buffer: one chunk */
#define RLOG_EVENT_HEADER_BYTES 4
#define RLOG_PAYLOAD_MAX 65535u           /* larger DMA is split into several events */

enum rlog_type {
	RLOG_CONFIG = 1,    /* text: the recording's configuration (dhyve -k syntax) */
	RLOG_EXIT = 2,      /* struct rlog_exit: fingerprint of one natural exit */
	RLOG_IO_READ = 3,   /* u64: what a device returned for a port or MMIO read (door 1) */
	RLOG_DMA_WRITE = 4, /* u64 gpa + bytes a device wrote into guest memory (door 2) */
	RLOG_DMA_READ = 5,  /* u64 gpa + bytes a device read from guest memory (checked on replay) */
	RLOG_IRQ = 6,       /* u32 gsi, u32 level (door 3) */
	RLOG_MSI = 7,       /* u64 address, u32 data, u32 0 (door 3) */
	RLOG_TIME = 8,      /* u32 clock (0 monotonic, 1 wall), u32 0, u64 ns (door 4) */
	RLOG_INPUT = 9,     /* u32 source (0 com1, 1 com2), bytes handed to the device (door 5) */
	RLOG_ASYNC = 10,    /* struct rlog_async: where the guest was stopped between exits */
	RLOG_END = 11,      /* u32 how (enum vm_end), u32 code, u64 exits, text why */
	RLOG_NOTE = 12,     /* text: something replay cannot reproduce, said where it was seen */
	RLOG__TYPES
};

/* One natural exit (not a kick, not a debugger event). insn is KVM's insn_emulation count
 * when the platform has it, else 0 (not compared). */
struct rlog_exit {
	uint64_t index;  /* natural exits of this vCPU before this one */
	uint64_t rip;
	uint64_t addr;   /* port, guest-physical address, MSR */
	uint64_t value;  /* the value written (0 for reads: the IO_READ event carries those) */
	uint64_t insn;
	uint32_t regs_hash;
	uint8_t kind;    /* enum vmexit_kind */
	uint8_t size;
	uint8_t is_write;
	uint8_t cpl;
} __attribute__((packed));


/* flags: the vCPU hands its turn to vCPU (flags >> 8) & 0xff here (SMP: one runs at a time). */
#define RLOG_ASYNC_SWITCH 1u

/* The guest was interrupted between natural exits (a timer tick in a busy loop) and something
 * was delivered there: replay stops it where insn, rip and regs_hash are the same again. */
struct rlog_async {
	uint64_t index;  /* natural exits before this point */
	uint64_t insn;
	uint64_t rip;
	uint32_t regs_hash;
	uint32_t flags;  /* RLOG_ASYNC_SWITCH | next vCPU << 8, or 0 */
} __attribute__((packed));

struct rlog_end {
	uint32_t how;
	uint32_t code;
	uint64_t exits;
} __attribute__((packed));

struct rlog_event {
	uint8_t type;
	uint8_t vcpu;
	uint16_t len;         /* payload bytes */
	const uint8_t *data;  /* valid until the next rlog_next() */
	uint64_t seq;         /* 0-based event number in the file */
	uint64_t offset;      /* file offset of the chunk holding it, for messages */
};

const char *rlog_type_name(unsigned type);

/* Writing: events go into one chunk buffer; a full chunk is compressed and written. Safe from
 * several threads (a mutex). Errors stick: the first one is reported by rlog_writer_close. */
struct rlog_writer;
struct rlog_writer *rlog_writer_open(const char *path, struct errmsg *e);
int rlog_append(struct rlog_writer *w, unsigned type, unsigned vcpu, const void *a, size_t alen,
		const void *b, size_t blen);
/* A position to roll back to if nothing follows (a kick that delivered nothing). Rollback is
 * refused (false) once the chunk holding the mark was written out. */
struct rlog_mark { uint64_t seq; size_t used; uint64_t chunk; };
struct rlog_mark rlog_mark(struct rlog_writer *w);
bool rlog_rollback(struct rlog_writer *w, struct rlog_mark m);
uint64_t rlog_events(struct rlog_writer *w);
uint64_t rlog_bytes_written(struct rlog_writer *w);
int rlog_writer_close(struct rlog_writer *w, struct errmsg *e);

/* Reading: the whole file's framing (header, every chunk's length and CRC) is checked when it
 * is opened, so a damaged or truncated log is refused before a replay starts. */
struct rlog_reader;
struct rlog_reader *rlog_reader_open(const char *path, struct errmsg *e);
/* 1 with *ev filled, 0 at the end, negative errno with a message naming the offset. */
int rlog_next(struct rlog_reader *r, struct rlog_event *ev, struct errmsg *e);
/* The next event without consuming it (same return values). */
int rlog_peek(struct rlog_reader *r, struct rlog_event *ev, struct errmsg *e);
void rlog_reader_close(struct rlog_reader *r);

#endif
