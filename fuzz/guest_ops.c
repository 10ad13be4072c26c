/* The guest-operation interpreter shared by every device harness: decodes the byte code of
 * README.md and drives the doors (buses, guest RAM, notifications, interrupts, time, host input). */
#include "fuzz/guest_ops.h"

#include <string.h>

void guest_ops_decoder_init(struct guest_ops_decoder *d, const uint8_t *data, size_t size, uint64_t pio_base,
			    uint64_t mmio_base)
{
	d->p = data;
	d->end = data + size;
	d->pio_base = pio_base;
	d->mmio_base = mmio_base;
}

/* Reads an n-byte little-endian field; false when the input ends first. */
static bool take_le(struct guest_ops_decoder *d, unsigned n, uint64_t *out)
{
	if ((size_t)(d->end - d->p) < n)
		return false;
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)d->p[i] << (8 * i);
	d->p += n;
	*out = v;
	return true;
}

/* A length byte and up to that many payload bytes: a cut-off payload is shortened rather than
 * dropped, so a mutation that shortens the input keeps the operation. */
static bool take_payload(struct guest_ops_decoder *d, struct guest_op *op)
{
	uint64_t len;
	if (!take_le(d, 1, &len))
		return false;
	size_t left = (size_t)(d->end - d->p);
	op->len = len < left ? (size_t)len : left;
	op->data = d->p;
	d->p += op->len;
	return true;
}

static bool take_addr(struct guest_ops_decoder *d, unsigned width, uint64_t base, uint64_t *addr)
{
	uint64_t off;
	if (!take_le(d, width, &off))
		return false;
	*addr = base + off; /* wraps mod 2^64, so every address is reachable from any window */
	return true;
}

bool guest_ops_next(struct guest_ops_decoder *d, struct guest_op *op)
{
	for (;;) {
		if (d->p >= d->end)
			return false;
		uint8_t opc = *d->p++;
		unsigned kind = opc & 0x0f;
		unsigned width = 1u << (opc >> GOP_WIDTH_SHIFT);
		memset(op, 0, sizeof(*op));
		op->opcode = opc;
		op->kind = (enum guest_op_kind)kind;
		op->size = 1u << ((opc >> GOP_SIZE_SHIFT) & 3);
		bool ok;
		switch (kind) {
		case GOP_PIO_READ:
		case GOP_PIO_WRITE:
			ok = take_addr(d, width, d->pio_base, &op->addr);
			if (ok && kind == GOP_PIO_WRITE)
				ok = take_le(d, op->size, &op->value);
			return ok;
		case GOP_MMIO_READ:
		case GOP_MMIO_WRITE:
			ok = take_addr(d, width, d->mmio_base, &op->addr);
			if (ok && kind == GOP_MMIO_WRITE)
				ok = take_le(d, op->size, &op->value);
			return ok;
		case GOP_MEM_WRITE:
			return take_le(d, width, &op->addr) && take_payload(d, op);
		case GOP_NOTIFY:
			return take_le(d, 2, &op->arg);
		case GOP_IRQ_ACK:
			return take_le(d, 1, &op->arg);
		case GOP_TIME:
			return take_le(d, width, &op->arg);
		case GOP_HOST_INPUT:
			return take_payload(d, op);
		case GOP_DEVICE:
			return take_le(d, 1, &op->arg) && take_payload(d, op);
		default:
			continue; /* reserved kind: room for later doors without breaking old inputs */
		}
	}
}

static void do_access(struct iobus *bus, struct guest_op *op, bool is_write)
{
	if (!bus) {
		op->rc = -1;
		if (!is_write)
			op->value = op->size >= 8 ? UINT64_MAX : (UINT64_C(1) << (op->size * 8)) - 1;
		return;
	}
	op->rc = iobus_access(bus, op->addr, op->size, is_write, &op->value);
}

size_t guest_ops_run(const struct guest_ops_target *t, const uint8_t *data, size_t size)
{
	struct guest_ops_decoder d;
	struct guest_op op;
	size_t n = 0;

	guest_ops_decoder_init(&d, data, size, t->pio_base, t->mmio_base);
	while (guest_ops_next(&d, &op)) {
		switch (op.kind) {
		case GOP_PIO_READ:
		case GOP_PIO_WRITE:
			do_access(t->pio, &op, op.kind == GOP_PIO_WRITE);
			break;
		case GOP_MMIO_READ:
		case GOP_MMIO_WRITE:
			do_access(t->mmio, &op, op.kind == GOP_MMIO_WRITE);
			break;
		case GOP_MEM_WRITE:
			/* The guest's own store: outside RAM it simply does not happen (a real CPU
			 * would fault; the device never sees it either way). */
			if (t->mem && op.len)
				op.rc = gmem_write(t->mem, op.addr, op.data, op.len);
			break;
		case GOP_NOTIFY:
			if (t->notify)
				t->notify(t->ctx, op.arg);
			break;
		case GOP_IRQ_ACK:
			if (t->irq_ack)
				t->irq_ack(t->ctx, (unsigned)op.arg);
			break;
		case GOP_TIME:
			if (t->advance_time)
				t->advance_time(t->ctx, op.arg);
			break;
		case GOP_HOST_INPUT:
			if (t->host_input)
				t->host_input(t->ctx, op.data, op.len);
			break;
		case GOP_DEVICE:
			if (t->device)
				t->device(t->ctx, (unsigned)op.arg, op.data, op.len);
			break;
		case GOP__COUNT:
			break;
		}
		if (t->after_op)
			t->after_op(t->ctx, &op);
		n++;
	}
	return n;
}
