/* The snapshot file (docs/snapshot-format.md): a checksummed header naming the format version
 * and the build, then named sections (configuration, vCPUs, irqchip, device images, sparse
 * RAM, disk identities), each with its own CRC, optionally zstd-compressed, and an end marker.
 * Knows nothing of VMs: sections are bytes; RAM is a gmem. */
#ifndef DHYVE_REPLAY_SNAPFILE_H
#define DHYVE_REPLAY_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "base/gmem.h"

#define SNAPFILE_VERSION 1
#define SNAPFILE_HEADER_SIZE 80
#define SNAPFILE_SECTION_HEADER 64
#define SNAPFILE_NAME_MAX 31
#define SNAPFILE_BUILD_MAX 47
#define SNAPFILE_RAM_CHUNK_PAGES 4096 /* 16 MiB of guest RAM per RAM section */

enum snap_section_type {
	SNAP_SEC_CONFIG = 1, /* the configuration variables, dhyve -k syntax */
	SNAP_SEC_VCPU = 2,   /* "vcpuN": vcpu_state_encode */
	SNAP_SEC_CHIP = 3,   /* "irqchip": vm_chip_state_encode */
	SNAP_SEC_DEVICE = 4, /* a device's save image, by its name ("com1", "pci", "pci.0.3.0") */
	SNAP_SEC_RAM = 5,    /* "ram": u64 gpa, u64 pages, bitmap, the non-zero pages */
	SNAP_SEC_DISK = 6,   /* a disk image's identity, by device name: "path\nsize\nmtime_ns\n" */
	SNAP_SEC_END = 7,
};

/* ---- writing (to PATH.tmp, renamed to PATH by commit, so a failed write leaves no file) ---- */

struct snapfile_writer;
struct snapfile_writer *snapfile_create(const char *path, const char *build_id, struct errmsg *e);
/* A section of len bytes; compress asks for zstd (kept raw when that does not shrink it). */
int snapfile_add(struct snapfile_writer *w, enum snap_section_type type, const char *name, const void *data,
		 size_t len, bool compress, struct errmsg *e);
/* All of mem's RAM as SNAP_SEC_RAM sections; all-zero pages are not written. */
int snapfile_add_ram(struct snapfile_writer *w, const struct gmem *mem, struct errmsg *e);
/* Writes the end marker and the header, syncs, renames; frees w either way. */
int snapfile_commit(struct snapfile_writer *w, struct errmsg *e);
void snapfile_abort(struct snapfile_writer *w);
/* Bytes written so far (for the figures). */
uint64_t snapfile_written(const struct snapfile_writer *w);

/* ---- reading: open checks every byte (header, every section's CRC, the end) first ---- */

struct snap_section {
	enum snap_section_type type;
	char name[SNAPFILE_NAME_MAX + 1];
	uint32_t flags;      /* bit 0: zstd */
	uint64_t offset;     /* of its data in the file */
	uint64_t stored, raw;
};

struct snapfile {
	void *map;
	size_t size;
	char build[SNAPFILE_BUILD_MAX + 1];
	uint64_t time_ns;
	unsigned nsec;
	struct snap_section *sec;
};

/* Refuses, naming the problem: not a snapshot, another format version, another build
 * (build_id NULL: any), a damaged header or section (CRC), a truncated file, bytes after the
 * end. */
int snapfile_open(struct snapfile *f, const char *path, const char *build_id, struct errmsg *e);
void snapfile_close(struct snapfile *f);
const struct snap_section *snapfile_find(const struct snapfile *f, enum snap_section_type type, const char *name);
/* The section's bytes, decompressed, malloc'd (caller frees), NUL-terminated for text. */
int snapfile_payload(const struct snapfile *f, const struct snap_section *s, uint8_t **out, size_t *len,
		     struct errmsg *e);
/* Fills mem's RAM from the RAM sections: every page of mem must be covered exactly once, and no
 * section may reach outside it; pages not written (zero) are zeroed where they are not. */
int snapfile_load_ram(const struct snapfile *f, const struct gmem *mem, struct errmsg *e);

#endif
