/* Fuzz target tracefile: the input is a trace file (docs/trace-format.md) for tracefile_parse; what
 * it accepts must be what the format promises, and every instruction must be found again by lookup. */
#include <string.h>

#include "fuzz/fuzz_check.h"
#include "base/crc32.h"
#include "trace/tracefile.h"
#include "vmm/exit.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Flag bit 0: write the right CRCs into the file where its own sizes put them, so the fuzzer
 * gets past the checksums to the checks behind them (it cannot guess a CRC). */
static void fix_crcs(uint8_t *f, size_t len)
{
	if (len < 72)
		return;
	uint32_t nvcpus = get32(f + 20);
	size_t off = 72;
	for (uint32_t i = 0; i < nvcpus && i < TRACEFILE_MAX_VCPUS; i++) {
		if (len - off < 32)
			return;
		uint64_t n = get64(f + off + 16);
		if (n > (len - off - 32) / 48)
			return;
		put32(f + off + 24, crc32_update(0, f + off + 32, (size_t)n * 48));
		off += 32 + (size_t)n * 48;
	}
	if (len - off < 16)
		return;
	uint32_t n = get32(f + off + 4);
	if (n > (len - off - 16) / 32)
		return;
	put32(f + off + 8, crc32_update(0, f + off + 16, (size_t)n * 32));
	off += 16 + (size_t)n * 32;
	if (len - off >= 8)
		put32(f + off + 4, crc32_update(0, f, off));
}

static void check_data(const struct trace_data *d)
{
	FUZZ_CHECK(d->nvcpus <= TRACEFILE_MAX_VCPUS && memchr(d->vm_name, 0, sizeof(d->vm_name)), "header");
	for (uint32_t i = 0; i < d->nvcpus; i++) {
		const struct trace_vcpu_data *v = &d->vcpus[i];
		FUZZ_CHECK(v->index < TRACEFILE_MAX_VCPUS && (i == 0 || v->index > d->vcpus[i - 1].index), "vCPU order");
		for (uint64_t k = 0; k < v->nrecords; k++) {
			const struct trace_record *r = &v->records[k];
			FUZZ_CHECK(r->kind < VMEXIT__COUNT && r->mode <= VCPU_MODE_LONG64 && r->vcpu == v->index,
				   "record %llu of vCPU %u", (unsigned long long)k, v->index);
		}
	}
	for (uint32_t k = 0; k < d->ninsns; k++) {
		const struct trace_insn *in = &d->insns[k];
		FUZZ_CHECK(in->len <= TRACE_INSN_MAX && in->mode <= VCPU_MODE_LONG64, "instruction %u", k);
		FUZZ_CHECK(trace_data_find_insn(d, in->rip, in->mode) == in, "instruction %u not found again", k);
		/* A lookup of a neighbouring key finds that key or nothing. */
		const struct trace_insn *o = trace_data_find_insn(d, in->rip ^ 1, in->mode);
		FUZZ_CHECK(!o || (o->rip == (in->rip ^ 1) && o->mode == in->mode), "lookup found another key");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t flags = data[0];
	size_t n = size - 1;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, n);
	if (flags & 1)
		fix_crcs(buf, n);
	struct trace_data d;
	struct errmsg e = { .text = "" };
	int rc = tracefile_parse(buf, n, &d, &e);
	if (rc < 0) {
		FUZZ_CHECK(e.text[0], "refusal without a message");
		FUZZ_CHECK(d.nvcpus == 0 && d.vcpus == NULL && d.insns == NULL, "a refused file left data behind");
	} else {
		check_data(&d);
	}
	trace_data_free(&d);
	free(buf);
	return 0;
}
