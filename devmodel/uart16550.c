/* A 16550A UART as a plain state machine: eight registers, a 16-byte receive FIFO, the
 * datasheet's interrupt priorities, and a level IRQ output gated by MCR.OUT2 as on a PC. */
#include "devmodel/uart16550.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/chardev.h"

/* Register offsets. */
#define REG_RBR_THR 0 /* DLL when LCR.DLAB */
#define REG_IER     1 /* DLM when LCR.DLAB */
#define REG_IIR_FCR 2
#define REG_LCR     3
#define REG_MCR     4
#define REG_LSR     5
#define REG_MSR     6
#define REG_SCR     7

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK  0x0f

#define IIR_NONE    0x01
#define IIR_MODEM   0x00
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_RLS     0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO    0xc0 /* both set while the FIFOs are enabled */

#define FCR_ENABLE    0x01
#define FCR_CLEAR_RX  0x02
#define FCR_CLEAR_TX  0x04
#define FCR_DMA       0x08
#define FCR_TRIG_MASK 0xc0
#define FCR_STORED    (FCR_ENABLE | FCR_DMA | FCR_TRIG_MASK)

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_PE   0x04
#define LSR_FE   0x08
#define LSR_BI   0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS  0x01
#define MSR_DDSR  0x02
#define MSR_TERI  0x04
#define MSR_DDCD  0x08
#define MSR_DELTA 0x0f
#define MSR_CTS   0x10
#define MSR_DSR   0x20
#define MSR_RI    0x40
#define MSR_DCD   0x80

#define FIFO_SIZE 16

/* The modem inputs when not in loopback: a null-modem cable with the other end ready, so a
 * guest that waits for carrier or uses RTS/CTS flow control can still talk to us. */
#define MSR_LINES_CONNECTED (MSR_DCD | MSR_DSR | MSR_CTS)

struct uart16550 {
	struct chardev *cd;
	struct irq_sink irq;
	unsigned gsi;
	bool irq_level;      /* what we last told the sink */

	uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
	uint8_t lsr_err;     /* sticky LSR error bits (only OE can happen here); cleared by reading LSR */
	uint8_t msr;         /* line bits 4-7 and sticky delta bits 0-3; deltas cleared by reading MSR */
	bool thr_ipending;   /* THRE interrupt pending (see uart_write_ier / reading IIR) */

	uint8_t rx[FIFO_SIZE];
	uint8_t rx_head, rx_count;
};

static bool fifo_enabled(const struct uart16550 *u)
{
	return u->fcr & FCR_ENABLE;
}

/* With the FIFO off the receiver is the 8250's single holding register. */
static unsigned rx_capacity(const struct uart16550 *u)
{
	return fifo_enabled(u) ? FIFO_SIZE : 1;
}

static unsigned rx_trigger(const struct uart16550 *u)
{
	static const uint8_t level[4] = { 1, 4, 8, 14 };
	return fifo_enabled(u) ? level[u->fcr >> 6] : 1;
}

static uint8_t lsr_value(const struct uart16550 *u)
{
	/* Transmit is instantaneous: holding register and shifter are always empty. */
	return (u->rx_count ? LSR_DR : 0) | u->lsr_err | LSR_THRE | LSR_TEMT;
}

/* The highest-priority pending interrupt, as IIR bits 3:0 (datasheet table: line status >
 * received data / character timeout > THR empty > modem status). */
static uint8_t iir_source(const struct uart16550 *u)
{
	if ((u->ier & IER_ELSI) && (u->lsr_err & LSR_ERRS))
		return IIR_RLS;
	if ((u->ier & IER_ERBFI) && u->rx_count) {
		/* Below the trigger level a real 16550A signals a character timeout after four
		 * character times of silence; we signal it at once, which every driver treats
		 * like "data available". */
		return u->rx_count >= rx_trigger(u) ? IIR_RDA : IIR_TIMEOUT;
	}
	if ((u->ier & IER_ETBEI) && u->thr_ipending)
		return IIR_THRE;
	if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTA))
		return IIR_MODEM;
	return IIR_NONE;
}

static void update_irq(struct uart16550 *u)
{
	/* On a PC the UART's INTR pin reaches the PIC only through a buffer enabled by OUT2; in
	 * loopback mode the OUT2 pin is forced inactive, so nothing reaches the PIC then either. */
	bool level = iir_source(u) != IIR_NONE && (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP);
	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set_level(&u->irq, u->gsi, level);
	}
}

/* Modem input lines for the current MCR: the connected cable, or in loopback the MCR's own
 * outputs (DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD). */
static uint8_t msr_lines(uint8_t mcr)
{
	if (!(mcr & MCR_LOOP))
		return MSR_LINES_CONNECTED;
	return (mcr & MCR_DTR ? MSR_DSR : 0) | (mcr & MCR_RTS ? MSR_CTS : 0) |
	       (mcr & MCR_OUT1 ? MSR_RI : 0) | (mcr & MCR_OUT2 ? MSR_DCD : 0);
}

/* New line values with the datasheet's delta bits: DCTS/DDSR/DDCD on any change, TERI only
 * on the trailing edge of RI. */
static void set_msr_lines(struct uart16550 *u, uint8_t lines)
{
	uint8_t old = u->msr & 0xf0, changed = old ^ lines, delta = 0;
	if (changed & MSR_CTS)
		delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		delta |= MSR_DDSR;
	if (changed & MSR_DCD)
		delta |= MSR_DDCD;
	if ((old & MSR_RI) && !(lines & MSR_RI))
		delta |= MSR_TERI;
	u->msr = lines | (u->msr & MSR_DELTA) | delta;
}

static void rx_clear(struct uart16550 *u)
{
	u->rx_head = u->rx_count = 0;
}

/* One received character. Full: a 16550A keeps the FIFO and loses the new character; the
 * 8250 holding register is overwritten. Either way it is an overrun. */
static void rx_push(struct uart16550 *u, uint8_t c)
{
	unsigned cap = rx_capacity(u);
	if (u->rx_count >= cap) {
		u->lsr_err |= LSR_OE;
		if (!fifo_enabled(u))
			u->rx[u->rx_head] = c;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % FIFO_SIZE] = c;
	u->rx_count++;
}

static uint8_t rx_pop(struct uart16550 *u)
{
	if (!u->rx_count)
		return 0;
	uint8_t c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % FIFO_SIZE;
	u->rx_count--;
	return c;
}

void uart16550_reset(struct uart16550 *u)
{
	/* Master-reset values from the PC16550D datasheet; the divisor is not touched by a
	 * master reset there, but we give it QEMU's 9600 baud so a reset VM is deterministic. */
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->fcr = 0;
	u->scr = 0;
	u->dll = 0x0c;
	u->dlm = 0;
	u->lsr_err = 0;
	u->msr = msr_lines(0);
	u->thr_ipending = false;
	rx_clear(u);
	update_irq(u);
}

struct uart16550 *uart16550_create(struct chardev *backend, struct irq_sink irq, unsigned gsi)
{
	struct uart16550 *u = calloc(1, sizeof(*u));
	if (!u)
		return NULL;
	u->cd = backend;
	u->irq = irq;
	u->gsi = gsi;
	u->irq_level = false; /* the line starts low; reset only ever changes it from here */
	uart16550_reset(u);
	return u;
}

void uart16550_destroy(struct uart16550 *u)
{
	free(u);
}

static void transmit(struct uart16550 *u, uint8_t c)
{
	/* Writing THR clears a pending THRE interrupt; the character then leaves at once and
	 * THR is empty again, which raises it anew. Updating the line in between gives a
	 * guest on an edge-triggered PIC the fresh edge real hardware would. */
	u->thr_ipending = false;
	update_irq(u);
	if (u->mcr & MCR_LOOP)
		rx_push(u, c); /* the transmitter's output is wired to the receiver */
	else
		chardev_write(u->cd, &c, 1);
	u->thr_ipending = true;
}

static void write_ier(struct uart16550 *u, uint8_t v)
{
	uint8_t old = u->ier;
	u->ier = v & IER_MASK;
	/* Enabling ETBEI while THR is empty (always, here) raises THRE; disabling it drops any
	 * pending one so it cannot surface later. Rising edge only, like Bochs and QEMU. */
	if ((u->ier & IER_ETBEI) && !(old & IER_ETBEI))
		u->thr_ipending = true;
	else if (!(u->ier & IER_ETBEI))
		u->thr_ipending = false;
}

static void write_fcr(struct uart16550 *u, uint8_t v)
{
	bool was = fifo_enabled(u);
	if (!(v & FCR_ENABLE)) {
		/* The other FCR bits are only programmed together with FCR0. */
		u->fcr = 0;
	} else {
		u->fcr = v & FCR_STORED;
	}
	/* Switching between FIFO and 8250 mode empties the FIFOs, as does FCR1. FCR2 clears the
	 * transmit FIFO, which is always empty here. */
	if (was != fifo_enabled(u) || ((v & FCR_ENABLE) && (v & FCR_CLEAR_RX)))
		rx_clear(u);
}

static void write_mcr(struct uart16550 *u, uint8_t v)
{
	u->mcr = v & MCR_MASK;
	set_msr_lines(u, msr_lines(u->mcr));
}

static uint8_t read_reg(struct uart16550 *u, unsigned reg)
{
	uint8_t v;
	switch (reg) {
	case REG_RBR_THR:
		return (u->lcr & LCR_DLAB) ? u->dll : rx_pop(u);
	case REG_IER:
		return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
	case REG_IIR_FCR:
		v = iir_source(u);
		/* Reading IIR acknowledges a THRE interrupt, but only when it is the one shown. */
		if (v == IIR_THRE)
			u->thr_ipending = false;
		return v | (fifo_enabled(u) ? IIR_FIFO : 0);
	case REG_LCR:
		return u->lcr;
	case REG_MCR:
		return u->mcr;
	case REG_LSR:
		v = lsr_value(u);
		u->lsr_err = 0;
		return v;
	case REG_MSR:
		v = u->msr;
		u->msr &= ~MSR_DELTA;
		return v;
	default: /* REG_SCR */
		return u->scr;
	}
}

static void write_reg(struct uart16550 *u, unsigned reg, uint8_t v)
{
	switch (reg) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB)
			u->dlm = v;
		else
			write_ier(u, v);
		break;
	case REG_IIR_FCR:
		write_fcr(u, v);
		break;
	case REG_LCR:
		u->lcr = v;
		break;
	case REG_MCR:
		write_mcr(u, v);
		break;
	case REG_LSR:
	case REG_MSR:
		/* Read-only status (writing them is a factory test mode); ignored. */
		break;
	default: /* REG_SCR */
		u->scr = v;
		break;
	}
}

int uart16550_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *value)
{
	struct uart16550 *u = opaque;
	(void)size; /* wider accesses act on the low byte: Linux and every BIOS use byte I/O */
	if (offset >= UART_REG_COUNT) {
		if (!is_write)
			*value = 0xff;
		return -EINVAL;
	}
	if (is_write)
		write_reg(u, (unsigned)offset, (uint8_t)*value);
	else
		*value = read_reg(u, (unsigned)offset);
	update_irq(u);
	return 0;
}

size_t uart16550_poll_input(struct uart16550 *u)
{
	/* In loopback the receiver is disconnected from the line: host input waits. */
	if (!u->cd || (u->mcr & MCR_LOOP))
		return 0;
	unsigned room = rx_capacity(u) - u->rx_count;
	if (!room)
		return 0; /* bytes stay queued in the chardev; nothing is dropped */
	uint8_t buf[FIFO_SIZE];
	size_t n = chardev_take_input(u->cd, buf, room);
	for (size_t i = 0; i < n; i++)
		rx_push(u, buf[i]);
	update_irq(u);
	return n;
}

/* Snapshot layout, version 1 (all fields single bytes, so endianness cannot matter):
 *   0 version (1)    1 IER   2 LCR   3 MCR   4 FCR   5 SCR   6 DLL   7 DLM
 *   8 LSR            9 MSR  10 flags (bit 0: THRE interrupt pending)
 *  11 rx_count      12..27 receive FIFO contents, oldest first, unused bytes zero */
#define SNAP_VERSION 1
#define SNAP_FIFO    12

size_t uart16550_save(const struct uart16550 *u, void *buf, size_t len)
{
	if (!buf)
		return UART16550_STATE_SIZE;
	if (len < UART16550_STATE_SIZE)
		return 0;
	uint8_t *p = buf;
	memset(p, 0, UART16550_STATE_SIZE);
	p[0] = SNAP_VERSION;
	p[1] = u->ier;
	p[2] = u->lcr;
	p[3] = u->mcr;
	p[4] = u->fcr;
	p[5] = u->scr;
	p[6] = u->dll;
	p[7] = u->dlm;
	p[8] = lsr_value(u);
	p[9] = u->msr;
	p[10] = u->thr_ipending ? 1 : 0;
	p[11] = u->rx_count;
	for (unsigned i = 0; i < u->rx_count; i++)
		p[SNAP_FIFO + i] = u->rx[(u->rx_head + i) % FIFO_SIZE];
	return UART16550_STATE_SIZE;
}

int uart16550_load(struct uart16550 *u, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (!p || len != UART16550_STATE_SIZE || p[0] != SNAP_VERSION)
		return -EINVAL;
	uint8_t ier = p[1], mcr = p[3], fcr = p[4], lsr = p[8], msr = p[9], flags = p[10];
	uint8_t count = p[11];
	/* Validate everything before changing anything: a bad image leaves the device as it was. */
	if ((ier & ~IER_MASK) || (mcr & ~MCR_MASK) || (fcr & ~FCR_STORED) || (flags & ~1u))
		return -EINVAL;
	if (count > ((fcr & FCR_ENABLE) ? FIFO_SIZE : 1))
		return -EINVAL;
	if ((lsr & (LSR_THRE | LSR_TEMT)) != (LSR_THRE | LSR_TEMT) || (lsr & 0x80) ||
	    !!(lsr & LSR_DR) != !!count)
		return -EINVAL;
	if ((msr & 0xf0) != msr_lines(mcr))
		return -EINVAL;

	u->ier = ier;
	u->lcr = p[2];
	u->mcr = mcr;
	u->fcr = fcr;
	u->scr = p[5];
	u->dll = p[6];
	u->dlm = p[7];
	u->lsr_err = lsr & LSR_ERRS;
	u->msr = msr;
	u->thr_ipending = flags & 1;
	u->rx_head = 0;
	u->rx_count = count;
	memcpy(u->rx, p + SNAP_FIFO, FIFO_SIZE);
	/* This device is the only driver of its line, so what it last told the sink is still
	 * true; a change is reported like any other (a fresh VM's line starts low). */
	update_irq(u);
	return 0;
}
