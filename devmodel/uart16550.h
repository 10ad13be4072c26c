/* A 16550A UART (COM1 at 0x3f8/IRQ4, COM2 at 0x2f8/IRQ3): the guest's console. */
#ifndef DHYVE_DEVMODEL_UART16550_H
#define DHYVE_DEVMODEL_UART16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/irq.h"

#define UART_COM1_BASE 0x3f8
#define UART_COM1_IRQ  4
#define UART_COM2_BASE 0x2f8
#define UART_COM2_IRQ  3
#define UART_REG_COUNT 8

struct chardev;
struct uart16550;

struct uart16550 *uart16550_create(struct chardev *backend, struct irq_sink irq, unsigned gsi);
void uart16550_destroy(struct uart16550 *u);
void uart16550_reset(struct uart16550 *u);
/* iobus_access_fn over the 8 registers. An access wider than a byte acts on the low byte
 * (reads return it zero-extended). */
int uart16550_access(void *u, uint64_t offset, unsigned size, bool is_write, uint64_t *value);
/* At an exit, on the vCPU thread: move queued back-end input into the receive FIFO and update
 * the interrupt line. Returns the number of bytes taken. Takes only what fits (16 bytes with
 * the FIFO on, 1 without, none in loopback); the rest stays queued in the chardev, so the VM
 * must call this again after the guest has read RBR (e.g. after every UART access), not only
 * when the chardev's notify fired. */
size_t uart16550_poll_input(struct uart16550 *u);

/* Device state for snapshots: a fixed, versioned byte layout (see uart16550.c).
 * save: with buf NULL returns the size needed; with len too small writes nothing and returns
 * 0; else writes UART16550_STATE_SIZE bytes and returns that. load: -EINVAL (state unchanged)
 * unless buf is exactly one valid image; on success the IRQ line follows the loaded state
 * (the sink is called if that changes its level). */
#define UART16550_STATE_SIZE 28
size_t uart16550_save(const struct uart16550 *u, void *buf, size_t len);
int uart16550_load(struct uart16550 *u, const void *buf, size_t len);

#endif
