/* Trace files: what the per-vCPU exit rings held when they were dumped, plus the instruction
 * bytes at every RIP seen, so a report can decode them later without the VM. The byte layout
 * is documented in docs/trace-format.md; readers refuse anything damaged and say where. */
#ifndef DHYVE_TRACE_TRACEFILE_H
#define DHYVE_TRACE_TRACEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "trace/record.h"

#define TRACEFILE_VERSION 1
#define TRACEFILE_MAX_VCPUS 256
#define TRACE_INSN_MAX 15

/* The instruction at one RIP, as fetched at dump time through that vCPU's page tables. */
struct trace_insn {
	uint64_t rip;
	uint8_t mode;   /* enum vcpu_mode */
	uint8_t len;    /* bytes available (0: the address was not mapped at dump time) */
	uint8_t bytes[TRACE_INSN_MAX];
};

struct trace_vcpu_data {
	uint32_t index;
	uint64_t lost;              /* records overwritten before the dump */
	uint64_t nrecords;
	struct trace_record *records; /* oldest first */
};

struct trace_data {
	char vm_name[32];
	uint64_t dump_ns;           /* CLOCK_MONOTONIC at the dump */
	uint32_t nvcpus;
	struct trace_vcpu_data *vcpus;
	uint32_t ninsns;
	struct trace_insn *insns;   /* sorted by rip, unique by (rip, mode) */
};

/* Writes d to path atomically (a temporary file renamed into place): an existing file is
 * replaced only by a complete one. */
int tracefile_write(const char *path, const struct trace_data *d, struct errmsg *e);
/* Reads and checks a file (magic, version, sizes, counts, checksums). On failure d is empty
 * and e says what is wrong and at which byte offset. */
int tracefile_read(const char *path, struct trace_data *d, struct errmsg *e);
/* The same on a buffer (for tests and fuzzing). */
int tracefile_parse(const uint8_t *buf, size_t len, struct trace_data *d, struct errmsg *e);
void trace_data_free(struct trace_data *d);
/* The instruction recorded for (rip, mode), or NULL. Binary search. */
const struct trace_insn *trace_data_find_insn(const struct trace_data *d, uint64_t rip, uint8_t mode);

#endif
