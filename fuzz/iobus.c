/* Fuzz target iobus: registers random regions and dispatches random accesses through the guest-
 * operation interpreter, checking every answer against a plain list of the regions (a reference model). */
#include <errno.h>
#include <string.h>

#include "devmodel/iobus.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/guest_ops.h"

#define MAX_REGIONS 64

/* Bus actions (GOP_DEVICE sub-operations); fuzz/README.md lists their payloads. */
enum { DEV_REGISTER16, DEV_REGISTER64, DEV_FIND, DEV_RAW_ACCESS, DEV_RESET };

struct region {
	uint64_t base, len;
	bool fails;              /* the device refuses every access with -EIO */
	struct bus_fuzz *f;      /* for the access function, which only gets the owner */
	unsigned id;
};

/* What the last device call saw, to compare with what the bus was asked. */
struct call {
	unsigned n;
	const struct region *r;
	uint64_t off, value;
	unsigned size;
	bool is_write;
};

struct bus_fuzz {
	struct iobus bus;
	struct region model[MAX_REGIONS];
	unsigned n;
	struct call call;
	uint64_t unclaimed, device_errors; /* what the bus's counters must say */
};

static uint64_t mask_of(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

/* A read returns more than size bytes on purpose: the bus must mask it. */
static uint64_t pattern(const struct region *r, uint64_t off)
{
	return UINT64_C(0x9e3779b97f4a7c15) * (r->id + 1) ^ off;
}

static int device_access(void *owner, uint64_t off, unsigned size, bool is_write, uint64_t *value)
{
	struct region *r = owner;
	struct call *c = &r->f->call;
	*c = (struct call){ .n = c->n + 1, .r = r, .off = off, .size = size, .is_write = is_write,
			    .value = is_write ? *value : 0 };
	if (r->fails)
		return -EIO;
	if (!is_write)
		*value = pattern(r, off);
	return 0;
}

static const struct region *model_find(const struct bus_fuzz *f, uint64_t addr)
{
	for (unsigned i = 0; i < f->n; i++)
		if (addr >= f->model[i].base && addr - f->model[i].base < f->model[i].len)
			return &f->model[i];
	return NULL;
}

/* The bus's table: sorted, disjoint, and the same set as the model. */
static void check_table(const struct bus_fuzz *f)
{
	const struct iobus *b = &f->bus;
	FUZZ_CHECK(b->nregions == f->n && b->nregions <= b->cap, "bus holds %u regions, model %u", b->nregions, f->n);
	for (unsigned i = 0; i < b->nregions; i++) {
		const struct iobus_region *r = &b->regions[i];
		FUZZ_CHECK(i == 0 || b->regions[i - 1].base + b->regions[i - 1].len <= r->base, "regions %u and %u overlap", i - 1, i);
		const struct region *m = r->owner;
		FUZZ_CHECK(m && m->base == r->base && m->len == r->len, "region %u is not the one registered", i);
		FUZZ_CHECK(strcmp(r->name, m->id % 2 ? "?" : "dev") == 0, "region %u is named %s", i, r->name);
	}
	FUZZ_CHECK(b->unclaimed == f->unclaimed && b->device_errors == f->device_errors,
		   "counters %llu/%llu, expected %llu/%llu", (unsigned long long)b->unclaimed,
		   (unsigned long long)b->device_errors, (unsigned long long)f->unclaimed, (unsigned long long)f->device_errors);
}

static void do_register(struct bus_fuzz *f, uint64_t base, uint64_t len, uint8_t flags)
{
	if (f->n == MAX_REGIONS)
		return;
	struct region *m = &f->model[f->n];
	*m = (struct region){ .base = base, .len = len, .fails = flags & 1, .f = f, .id = f->n };
	bool overlap = false;
	for (unsigned i = 0; i < f->n; i++)
		overlap |= base < f->model[i].base + f->model[i].len && f->model[i].base < base + len;
	int want = len == 0 || base + len <= base ? -EINVAL : overlap ? -EEXIST : 0;
	struct errmsg e = { .text = "" };
	/* Odd ids get no name, which the bus must replace. */
	int rc = iobus_register(&f->bus, base, len, m->id % 2 ? NULL : "dev", device_access, m, &e);
	FUZZ_CHECK(rc == want, "register [%#llx,+%#llx) returned %d, expected %d", (unsigned long long)base,
		   (unsigned long long)len, rc, want);
	FUZZ_CHECK(rc == 0 || (e.text[0] && memchr(e.text, 0, sizeof(e.text))), "refusal without a message");
	if (rc == 0)
		f->n++;
	check_table(f);
}

/* One access with any size, checked against the model: who gets it, with what, and the answer. */
static void check_access(struct bus_fuzz *f, uint64_t addr, unsigned size, bool is_write, uint64_t value)
{
	uint64_t v = value;
	unsigned calls = f->call.n;
	int rc = iobus_access(&f->bus, addr, size, is_write, &v);
	bool size_ok = size == 1 || size == 2 || size == 4 || size == 8;
	const struct region *r = size_ok ? model_find(f, addr) : NULL;
	uint64_t mask = size_ok ? mask_of(size) : UINT64_MAX;
	if (!r || size > r->len - (addr - r->base)) {
		FUZZ_CHECK(rc == (size_ok ? -ENOENT : -EINVAL), "unclaimed access returned %d", rc);
		FUZZ_CHECK(f->call.n == calls, "a device saw an access nobody claims");
		f->unclaimed++;
	} else {
		FUZZ_CHECK(f->call.n == calls + 1 && f->call.r == r, "access at %#llx went to the wrong device",
			   (unsigned long long)addr);
		FUZZ_CHECK(f->call.off == addr - r->base && f->call.size == size && f->call.is_write == is_write,
			   "device saw offset %#llx size %u", (unsigned long long)f->call.off, f->call.size);
		FUZZ_CHECK(!is_write || f->call.value == (value & mask), "device got an unmasked value");
		FUZZ_CHECK(rc == (r->fails ? -EIO : 0), "access returned %d", rc);
		if (r->fails)
			f->device_errors++;
		else if (!is_write)
			FUZZ_CHECK(v == (pattern(r, addr - r->base) & mask), "read not masked to its size");
	}
	if (!is_write && rc < 0)
		FUZZ_CHECK(v == mask, "failed read gave %#llx", (unsigned long long)v);
	check_table(f);
}

static uint64_t le(const uint8_t *p, size_t len, size_t at, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n && at + i < len; i++)
		v |= (uint64_t)p[at + i] << (8 * i);
	return v;
}

static void on_device(void *ctx, unsigned sub, const uint8_t *p, size_t len)
{
	struct bus_fuzz *f = ctx;
	switch (sub) {
	case DEV_REGISTER16: /* base:2 len:1 flags:1 (small regions that collide often) */
		do_register(f, le(p, len, 0, 2), le(p, len, 2, 1), (uint8_t)le(p, len, 3, 1));
		break;
	case DEV_REGISTER64: /* base:8 len:8 flags:1 (the edges of the address space) */
		do_register(f, le(p, len, 0, 8), le(p, len, 8, 8), (uint8_t)le(p, len, 16, 1));
		break;
	case DEV_FIND: { /* addr:8 */
		uint64_t addr = le(p, len, 0, 8);
		const struct iobus_region *r = iobus_find(&f->bus, addr);
		const struct region *m = model_find(f, addr);
		FUZZ_CHECK((r ? r->owner : NULL) == m, "find %#llx disagrees with the model", (unsigned long long)addr);
		break;
	}
	case DEV_RAW_ACCESS: /* addr:8 size:1 write:1 value:8 (sizes the CPU cannot make) */
		check_access(f, le(p, len, 0, 8), (unsigned)le(p, len, 8, 1), le(p, len, 9, 1) & 1, le(p, len, 10, 8));
		break;
	case DEV_RESET:
		iobus_destroy(&f->bus);
		iobus_init(&f->bus, "mmio");
		f->n = 0;
		f->unclaimed = f->device_errors = 0;
		check_table(f);
		break;
	default:
		break;
	}
}

static void after_op(void *ctx, const struct guest_op *op)
{
	struct bus_fuzz *f = ctx;
	bool is_write = op->kind == GOP_PIO_WRITE || op->kind == GOP_MMIO_WRITE;
	/* The interpreter has no bus to use (see below): the access happens here, checked. */
	if (op->kind <= GOP_MMIO_WRITE)
		check_access(f, op->addr, op->size, is_write, op->value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bus_fuzz *f = calloc(1, sizeof(*f));
	if (!f)
		return 0;
	iobus_init(&f->bus, "mmio");
	/* No bus for the interpreter: after_op makes every access itself, through check_access, on
	 * one bus for both spaces (port and MMIO accesses differ only in the addresses they reach). */
	struct guest_ops_target t = {
		.device = on_device,
		.after_op = after_op,
		.ctx = f,
	};
	guest_ops_run(&t, data, size);
	iobus_destroy(&f->bus);
	free(f);
	return 0;
}
