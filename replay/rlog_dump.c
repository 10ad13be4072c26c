/* `dhyvectl --log-dump FILE`: every event of a replay log, one line each, readable. */
#include "replay/rlog_dump.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "base/bytes.h"
#include "vmm/exit.h"

static void print_bytes(FILE *out, const uint8_t *p, size_t n)
{
	size_t shown = n < 16 ? n : 16;
	for (size_t i = 0; i < shown; i++)
		fprintf(out, "%s%02x", i ? " " : "", p[i]);
	if (shown < n)
		fprintf(out, " ...");
}

static void print_text(FILE *out, const uint8_t *p, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n')
			fputs("\\n", out);
		else if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '"' || p[i] == '\\')
			fprintf(out, "\\x%02x", p[i]);
		else
			fputc(p[i], out);
	}
	fputc('"', out);
}

/* The fixed part of each type; shorter payloads are corrupt. */
static size_t min_len(unsigned type)
{
	switch (type) {
	case RLOG_EXIT: return sizeof(struct rlog_exit);
	case RLOG_ASYNC: return sizeof(struct rlog_async);
	case RLOG_END: return sizeof(struct rlog_end);
	case RLOG_IO_READ: case RLOG_DMA_WRITE: case RLOG_DMA_READ: case RLOG_IRQ: return 8;
	case RLOG_MSI: case RLOG_TIME: return 16;
	case RLOG_INPUT: return 4;
	default: return 0;
	}
}

bool rlog_event_well_formed(const struct rlog_event *ev)
{
	return ev->len >= min_len(ev->type);
}

void rlog_print_event(FILE *out, const struct rlog_event *ev)
{
	const uint8_t *d = ev->data;
	fprintf(out, "%8" PRIu64 " cpu%u %-9s ", ev->seq, ev->vcpu, rlog_type_name(ev->type));
	if (!rlog_event_well_formed(ev)) {
		fprintf(out, "(malformed: %u bytes)\n", ev->len);
		return;
	}
	switch (ev->type) {
	case RLOG_EXIT: {
		struct rlog_exit x;
		memcpy(&x, d, sizeof(x));
		fprintf(out, "#%" PRIu64 " %s rip=0x%" PRIx64 " addr=0x%" PRIx64 " size=%u %s", x.index,
			vmexit_kind_name((enum vmexit_kind)x.kind), x.rip, x.addr, x.size, x.is_write ? "write" : "read");
		if (x.is_write)
			fprintf(out, " value=0x%" PRIx64, x.value);
		fprintf(out, " cpl=%u insn=%" PRIu64 " regs=%08x", x.cpl, x.insn, x.regs_hash);
		break;
	}
	case RLOG_ASYNC: {
		struct rlog_async a;
		memcpy(&a, d, sizeof(a));
		fprintf(out, "before #%" PRIu64 " insn=%" PRIu64 " rip=0x%" PRIx64 " regs=%08x", a.index, a.insn, a.rip,
			a.regs_hash);
		if (a.flags & RLOG_ASYNC_SWITCH)
			fprintf(out, " switch to cpu%u", (a.flags >> 8) & 0xff);
		break;
	}
	case RLOG_END: {
		struct rlog_end x;
		memcpy(&x, d, sizeof(x));
		fprintf(out, "how=%u code=%u exits=%" PRIu64 " ", x.how, x.code, x.exits);
		print_text(out, d + sizeof(x), ev->len - sizeof(x));
		break;
	}
	case RLOG_IO_READ: fprintf(out, "value=0x%" PRIx64, get_le(d, 8)); break;
	case RLOG_DMA_WRITE:
	case RLOG_DMA_READ:
		fprintf(out, "gpa=0x%" PRIx64 " len=%u ", get_le(d, 8), ev->len - 8);
		print_bytes(out, d + 8, ev->len - 8u);
		break;
	case RLOG_IRQ: fprintf(out, "gsi=%u level=%u", (unsigned)get_le(d, 4), (unsigned)get_le(d + 4, 4)); break;
	case RLOG_MSI: fprintf(out, "addr=0x%" PRIx64 " data=0x%x", get_le(d, 8), (unsigned)get_le(d + 8, 4)); break;
	case RLOG_TIME:
		fprintf(out, "%s=%" PRIu64, get_le(d, 4) ? "wall_ns" : "mono_ns", get_le(d + 8, 8));
		break;
	case RLOG_INPUT:
		fprintf(out, "com%u ", (unsigned)get_le(d, 4) + 1);
		print_text(out, d + 4, ev->len - 4u);
		break;
	case RLOG_CONFIG:
	case RLOG_NOTE: print_text(out, d, ev->len); break;
	}
	fputc('\n', out);
}

int rlog_dump(FILE *out, const char *path, struct errmsg *e)
{
	struct rlog_reader *r = rlog_reader_open(path, e);
	if (!r)
		return -EINVAL;
	struct rlog_event ev;
	int rc;
	uint64_t counts[RLOG__TYPES] = { 0 };
	while ((rc = rlog_next(r, &ev, e)) == 1) {
		rlog_print_event(out, &ev);
		counts[ev.type]++;
	}
	rlog_reader_close(r);
	if (rc < 0)
		return rc;
	fprintf(out, "# totals:");
	for (unsigned t = 1; t < RLOG__TYPES; t++)
		if (counts[t])
			fprintf(out, " %s=%" PRIu64, rlog_type_name(t), counts[t]);
	fputc('\n', out);
	return 0;
}
