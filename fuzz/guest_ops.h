/* The guest-operation byte code that every device harness reads: what a guest (or the host side
 * of a door) does to one device, one opcode byte and its fields at a time. Format: README.md. */
#ifndef DHYVE_FUZZ_GUEST_OPS_H
#define DHYVE_FUZZ_GUEST_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/gmem.h"
#include "devmodel/iobus.h"

/* Opcode byte: bits 3:0 kind, bits 5:4 log2 of the access size S (1, 2, 4, 8 bytes), bits 7:6 log2
 * of the width W (1, 2, 4, 8 bytes) of the address, gpa or time field. */
enum guest_op_kind {
	GOP_PIO_READ = 0,   /* off:W                 → iobus_access(pio, read)    (door 1) */
	GOP_PIO_WRITE = 1,  /* off:W, value:S        → iobus_access(pio, write) */
	GOP_MMIO_READ = 2,  /* off:W                 → iobus_access(mmio, read) */
	GOP_MMIO_WRITE = 3, /* off:W, value:S        → iobus_access(mmio, write) */
	GOP_MEM_WRITE = 4,  /* gpa:W, len:1, bytes   → the guest writes its own RAM (what a device DMAs from) */
	GOP_NOTIFY = 5,     /* queue:2               → a queue notification (virtio kick) */
	GOP_IRQ_ACK = 6,    /* gsi:1                 → the interrupt controller's acknowledge / EOI (door 3) */
	GOP_TIME = 7,       /* ns:W                  → host time advances (door 4) */
	GOP_HOST_INPUT = 8, /* len:1, bytes          → asynchronous host input: console bytes, packets (door 5) */
	GOP_DEVICE = 9,     /* sub:1, len:1, bytes   → a device-level action: reset, state load, ... */
	GOP__COUNT          /* kinds 10-15 are reserved: the opcode byte alone is skipped */
};

#define GOP_SIZE_SHIFT  4
#define GOP_WIDTH_SHIFT 6

/* One decoded operation. Multi-byte fields are little-endian in the byte code. */
struct guest_op {
	enum guest_op_kind kind;
	uint8_t opcode;       /* the raw opcode byte */
	unsigned size;        /* accesses: 1, 2, 4 or 8 */
	uint64_t addr;        /* accesses: bus address (window base + off, mod 2^64); MEM_WRITE: gpa */
	uint64_t arg;         /* NOTIFY: queue; IRQ_ACK: gsi; TIME: ns; DEVICE: sub-operation */
	uint64_t value;       /* writes: the value (masked to size); reads: filled in by the runner */
	const uint8_t *data;  /* MEM_WRITE, HOST_INPUT, DEVICE: payload inside the input */
	size_t len;
	int rc;               /* accesses: iobus_access's result, filled in by the runner */
};

/* Access offsets are relative to the device's window on each bus, so short fields reach it. */
struct guest_ops_decoder {
	const uint8_t *p, *end;
	uint64_t pio_base, mmio_base;
};

void guest_ops_decoder_init(struct guest_ops_decoder *d, const uint8_t *data, size_t size, uint64_t pio_base,
			    uint64_t mmio_base);
/* Decodes the next operation; false at the end of the input (an operation whose fixed fields are
 * cut off is dropped; a payload that is cut off is shortened to what is there). */
bool guest_ops_next(struct guest_ops_decoder *d, struct guest_op *op);

/* What a harness plugs in. Any callback may be NULL (that kind of operation is then ignored);
 * a NULL bus reads all-ones. after_op runs after every operation: that is the VM's "exit" point,
 * where it takes queued host input, and where a harness checks its invariants. */
struct guest_ops_target {
	struct iobus *pio, *mmio;
	uint64_t pio_base, mmio_base;
	const struct gmem *mem;
	void (*notify)(void *ctx, uint64_t queue);
	void (*irq_ack)(void *ctx, unsigned gsi);
	void (*advance_time)(void *ctx, uint64_t ns);
	void (*host_input)(void *ctx, const uint8_t *buf, size_t len);
	void (*device)(void *ctx, unsigned sub, const uint8_t *buf, size_t len);
	void (*after_op)(void *ctx, const struct guest_op *op);
	void *ctx;
};

/* Runs every operation in data[0..size) against t; returns how many ran. */
size_t guest_ops_run(const struct guest_ops_target *t, const uint8_t *data, size_t size);

#endif
