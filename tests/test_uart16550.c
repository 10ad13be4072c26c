/* Unit tests for the 16550A model over the memory chardev: registers and reset values, FIFO
 * behaviour, interrupt identification and the IRQ line (OUT2, loopback), and snapshots. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devmodel/chardev.h"
#include "devmodel/uart16550.h"

#define THR 0
#define RBR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

/* Records every call the UART makes to its interrupt sink. */
struct irq_log {
	unsigned n;
	bool level[256];
	unsigned gsi[256];
};

static void log_level(void *ctx, unsigned gsi, bool level)
{
	struct irq_log *l = ctx;
	if (l->n < 256) {
		l->level[l->n] = level;
		l->gsi[l->n] = gsi;
	}
	l->n++;
}

struct fixture {
	struct chardev *cd;
	struct uart16550 *u;
	struct irq_log irq;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->cd = chardev_open_memory();
	f->u = uart16550_create(f->cd, (struct irq_sink){ log_level, &f->irq }, 4);
	if (!f->cd || !f->u)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uart16550_destroy(f->u);
	chardev_close(f->cd);
	free(f);
	return 0;
}

static uint8_t rd(struct uart16550 *u, unsigned reg)
{
	uint64_t v = 0xdeadbeef;
	assert_int_equal(uart16550_access(u, reg, 1, false, &v), 0);
	assert_true(v <= 0xff);
	return (uint8_t)v;
}

static void wr(struct uart16550 *u, unsigned reg, uint8_t val)
{
	uint64_t v = val;
	assert_int_equal(uart16550_access(u, reg, 1, true, &v), 0);
}

static void inject(struct chardev *cd, const char *s)
{
	assert_int_equal(chardev_inject_input(cd, s, strlen(s)), strlen(s));
}

static bool irq_now(const struct fixture *f)
{
	return f->irq.n && f->irq.level[f->irq.n - 1];
}

static void test_reset_values(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(f->u, IER), 0x00);
	assert_int_equal(rd(f->u, IIR), 0x01);
	assert_int_equal(rd(f->u, LCR), 0x00);
	assert_int_equal(rd(f->u, MCR), 0x00);
	assert_int_equal(rd(f->u, LSR), 0x60);
	assert_int_equal(rd(f->u, MSR), 0xb0); /* DCD, DSR, CTS asserted, no deltas */
	assert_int_equal(rd(f->u, SCR), 0x00);
	assert_int_equal(rd(f->u, RBR), 0x00);
	assert_int_equal(f->irq.n, 0); /* the line starts low and nobody was told otherwise */

	/* Dirty everything, then reset. */
	wr(f->u, LCR, 0x83);
	wr(f->u, DLL, 0x01);
	wr(f->u, LCR, 0x03);
	wr(f->u, IER, 0x0f);
	wr(f->u, FCR, 0xc7);
	wr(f->u, MCR, 0x0b);
	wr(f->u, SCR, 0x55);
	inject(f->cd, "x");
	uart16550_poll_input(f->u);
	assert_true(irq_now(f));
	uart16550_reset(f->u);
	assert_false(irq_now(f));
	assert_int_equal(rd(f->u, IER), 0x00);
	assert_int_equal(rd(f->u, IIR), 0x01);
	assert_int_equal(rd(f->u, LCR), 0x00);
	assert_int_equal(rd(f->u, MCR), 0x00);
	assert_int_equal(rd(f->u, LSR), 0x60);
	assert_int_equal(rd(f->u, SCR), 0x00);
}

static void test_transmit(void **state)
{
	struct fixture *f = *state;
	const char *msg = "Hello, 16550!\r\n";
	for (const char *p = msg; *p; p++) {
		wr(f->u, THR, (uint8_t)*p);
		/* Transmit is instantaneous: THRE and TEMT never drop. */
		assert_int_equal(rd(f->u, LSR) & 0x60, 0x60);
	}
	size_t len;
	const uint8_t *out = chardev_memory_output(f->cd, &len);
	assert_int_equal(len, strlen(msg));
	assert_memory_equal(out, msg, len);

	/* A wider access acts on the low byte only. */
	uint64_t v = 0x4142;
	assert_int_equal(uart16550_access(f->u, THR, 2, true, &v), 0);
	out = chardev_memory_output(f->cd, &len);
	assert_int_equal(len, strlen(msg) + 1);
	assert_int_equal(out[len - 1], 0x42);
	v = 0x1234;
	assert_int_equal(uart16550_access(f->u, SCR, 4, true, &v), 0);
	assert_int_equal(uart16550_access(f->u, SCR, 4, false, &v), 0);
	assert_int_equal(v, 0x34);

	/* Out-of-range offsets are refused without touching state. */
	assert_int_equal(uart16550_access(f->u, 8, 1, false, &v), -EINVAL);
	assert_int_equal(v, 0xff);
}

static void test_divisor_latch(void **state)
{
	struct fixture *f = *state;
	wr(f->u, IER, 0x05);
	wr(f->u, LCR, 0x83); /* DLAB + 8N1 */
	wr(f->u, DLL, 0x01);
	wr(f->u, DLM, 0x02);
	assert_int_equal(rd(f->u, DLL), 0x01);
	assert_int_equal(rd(f->u, DLM), 0x02);
	assert_int_equal(rd(f->u, LCR), 0x83);
	size_t len;
	chardev_memory_output(f->cd, &len);
	assert_int_equal(len, 0); /* writing DLL transmitted nothing */
	wr(f->u, LCR, 0x03);
	assert_int_equal(rd(f->u, IER), 0x05); /* IER untouched by the DLM write */
	assert_int_equal(rd(f->u, LCR), 0x03);
	wr(f->u, LCR, 0x80);
	assert_int_equal(rd(f->u, DLL), 0x01);
	assert_int_equal(rd(f->u, DLM), 0x02);
	/* IIR is still at offset 2 with DLAB set. */
	assert_int_equal(rd(f->u, IIR), 0x01);
}

static void test_scratch_and_masks(void **state)
{
	struct fixture *f = *state;
	for (unsigned v = 0; v < 256; v += 17) {
		wr(f->u, SCR, (uint8_t)v);
		assert_int_equal(rd(f->u, SCR), v);
	}
	wr(f->u, IER, 0xff);
	assert_int_equal(rd(f->u, IER), 0x0f); /* upper IER bits read as zero */
	wr(f->u, MCR, 0xff);
	assert_int_equal(rd(f->u, MCR), 0x1f);
	wr(f->u, LSR, 0x00); /* read-only */
	assert_int_equal(rd(f->u, LSR), 0x60);
}

static void test_fifo_fill_drain(void **state)
{
	struct fixture *f = *state;
	wr(f->u, FCR, 0x07); /* enable, clear both FIFOs, trigger level 1 */
	assert_int_equal(rd(f->u, IIR) & 0xc0, 0xc0);
	inject(f->cd, "ABCDEFGHIJKLMNOPQRST"); /* 20 bytes */
	assert_int_equal(uart16550_poll_input(f->u), 16);
	assert_int_equal(chardev_pending(f->cd), 4); /* left queued, not dropped */
	assert_int_equal(uart16550_poll_input(f->u), 0);
	assert_int_equal(rd(f->u, LSR), 0x61);
	for (char c = 'A'; c <= 'P'; c++)
		assert_int_equal(rd(f->u, RBR), c);
	assert_int_equal(rd(f->u, LSR), 0x60);
	assert_int_equal(uart16550_poll_input(f->u), 4);
	for (char c = 'Q'; c <= 'T'; c++)
		assert_int_equal(rd(f->u, RBR), c);
	assert_int_equal(rd(f->u, LSR), 0x60);
	assert_int_equal(chardev_pending(f->cd), 0);

	/* FCR1 empties the receive FIFO. */
	inject(f->cd, "xyz");
	assert_int_equal(uart16550_poll_input(f->u), 3);
	wr(f->u, FCR, 0x03);
	assert_int_equal(rd(f->u, LSR), 0x60);
	/* Turning the FIFO off empties it too. */
	inject(f->cd, "q");
	assert_int_equal(uart16550_poll_input(f->u), 1);
	wr(f->u, FCR, 0x00);
	assert_int_equal(rd(f->u, LSR), 0x60);
	assert_int_equal(rd(f->u, IIR) & 0xc0, 0x00);
}

static void test_no_fifo_holding_register(void **state)
{
	struct fixture *f = *state;
	inject(f->cd, "12");
	assert_int_equal(uart16550_poll_input(f->u), 1);
	assert_int_equal(uart16550_poll_input(f->u), 0);
	assert_int_equal(chardev_pending(f->cd), 1);
	assert_int_equal(rd(f->u, LSR), 0x61);
	assert_int_equal(rd(f->u, RBR), '1');
	assert_int_equal(uart16550_poll_input(f->u), 1);
	assert_int_equal(rd(f->u, RBR), '2');
	assert_int_equal(rd(f->u, LSR), 0x60); /* no overrun: nothing was lost */
}

static void test_rx_trigger_level(void **state)
{
	struct fixture *f = *state;
	wr(f->u, IER, 0x01);
	wr(f->u, FCR, 0xc1); /* trigger at 14 */
	inject(f->cd, "0123456789abc"); /* 13 */
	uart16550_poll_input(f->u);
	assert_int_equal(rd(f->u, IIR), 0xcc); /* below trigger: character timeout */
	inject(f->cd, "d");
	uart16550_poll_input(f->u);
	assert_int_equal(rd(f->u, IIR), 0xc4); /* at trigger: data available */
	wr(f->u, FCR, 0x81); /* trigger 8; the FIFO stays enabled and keeps its data */
	assert_int_equal(rd(f->u, IIR), 0xc4);
	for (int i = 0; i < 6; i++)
		rd(f->u, RBR);
	assert_int_equal(rd(f->u, IIR), 0xc4); /* 8 left: at the trigger */
	assert_int_equal(rd(f->u, RBR), '6');
	assert_int_equal(rd(f->u, IIR), 0xcc); /* 7 left: below it */
	for (int i = 0; i < 7; i++)
		rd(f->u, RBR);
	assert_int_equal(rd(f->u, IIR), 0xc1);
}

static void test_iir_priorities(void **state)
{
	struct fixture *f = *state;
	/* Loopback lets the test cause every interrupt source from the guest side. */
	wr(f->u, MCR, 0x10);
	rd(f->u, MSR); /* clear deltas from entering loopback */
	wr(f->u, FCR, 0x01);
	wr(f->u, IER, 0x0f);
	/* Enabling ETBEI with THR empty raises THRE. */
	assert_int_equal(rd(f->u, IIR), 0xc2);
	/* Reading IIR when THRE is shown acknowledges it. */
	assert_int_equal(rd(f->u, IIR), 0xc1);

	/* Modem status: raise DTR -> DDSR. */
	wr(f->u, MCR, 0x11);
	assert_int_equal(rd(f->u, IIR), 0xc0);
	wr(f->u, THR, 'a'); /* loops back into the FIFO: data available (priority 2) */
	assert_int_equal(rd(f->u, IIR), 0xc4);
	/* Overrun -> line status (priority 1) beats everything. */
	for (int i = 0; i < 16; i++)
		wr(f->u, THR, (uint8_t)('b' + i));
	assert_int_equal(rd(f->u, IIR), 0xc6);
	assert_int_equal(rd(f->u, LSR), 0x63); /* DR + OE; reading LSR clears OE */
	assert_int_equal(rd(f->u, LSR), 0x61);
	assert_int_equal(rd(f->u, IIR), 0xc4);
	/* The FIFO kept the first 16 characters and lost the 17th. */
	for (int i = 0; i < 16; i++)
		assert_int_equal(rd(f->u, RBR), 'a' + i);
	/* Still THRE pending from the last THR write, then modem status. */
	assert_int_equal(rd(f->u, IIR), 0xc2);
	assert_int_equal(rd(f->u, IIR), 0xc0);
	assert_int_equal(rd(f->u, MSR) & 0x0f, 0x02); /* DDSR; reading clears */
	assert_int_equal(rd(f->u, IIR), 0xc1);

	/* Masked sources do not show. */
	wr(f->u, IER, 0x00);
	wr(f->u, THR, 'z');
	assert_int_equal(rd(f->u, IIR), 0xc1);
	assert_int_equal(rd(f->u, LSR), 0x61);
}

static void test_irq_line_and_out2(void **state)
{
	struct fixture *f = *state;
	wr(f->u, FCR, 0x01);
	wr(f->u, IER, 0x01); /* RX data */
	inject(f->cd, "a");
	uart16550_poll_input(f->u);
	/* Interrupt pending (IIR shows it) but OUT2 is off: the PC's gate keeps the line low. */
	assert_int_equal(rd(f->u, IIR), 0xc4);
	assert_int_equal(f->irq.n, 0);
	wr(f->u, MCR, 0x0b); /* DTR RTS OUT2, as Linux programs it */
	assert_int_equal(f->irq.n, 1);
	assert_true(f->irq.level[0]);
	assert_int_equal(f->irq.gsi[0], 4);
	/* Accesses that change nothing do not call the sink again. */
	rd(f->u, LSR);
	rd(f->u, SCR);
	wr(f->u, SCR, 1);
	assert_int_equal(f->irq.n, 1);
	rd(f->u, RBR);
	assert_int_equal(f->irq.n, 2);
	assert_false(f->irq.level[1]);
	/* Clearing OUT2 with an interrupt pending drops the line. */
	inject(f->cd, "b");
	uart16550_poll_input(f->u);
	assert_int_equal(f->irq.n, 3);
	assert_true(f->irq.level[2]);
	wr(f->u, MCR, 0x03);
	assert_int_equal(f->irq.n, 4);
	assert_false(f->irq.level[3]);
	wr(f->u, MCR, 0x0b);
	assert_true(irq_now(f));
	/* Disabling the source in IER lowers it. */
	wr(f->u, IER, 0x00);
	assert_false(irq_now(f));
	assert_int_equal(f->irq.n, 6);
	for (unsigned i = 1; i < f->irq.n; i++)
		assert_true(f->irq.level[i] != f->irq.level[i - 1]);
}

static void test_thre_interrupt(void **state)
{
	struct fixture *f = *state;
	wr(f->u, MCR, 0x08);
	assert_int_equal(f->irq.n, 0);
	wr(f->u, IER, 0x02); /* ETBEI with THR empty: raise */
	assert_int_equal(f->irq.n, 1);
	assert_true(irq_now(f));
	/* Re-writing IER with ETBEI still set does not re-arm (rising edge only). */
	assert_int_equal(rd(f->u, IIR), 0x02);
	assert_false(irq_now(f));
	wr(f->u, IER, 0x02);
	assert_false(irq_now(f));
	assert_int_equal(rd(f->u, IIR), 0x01);
	/* Writing THR: THR empties again at once, so THRE is re-raised. */
	wr(f->u, THR, 'x');
	assert_true(irq_now(f));
	unsigned n = f->irq.n;
	/* Writing THR while THRE is already pending gives a fresh edge (low, then high). */
	wr(f->u, THR, 'y');
	assert_int_equal(f->irq.n, n + 2);
	assert_false(f->irq.level[n]);
	assert_true(f->irq.level[n + 1]);
	/* Clearing ETBEI drops it, and enabling again raises it again. */
	wr(f->u, IER, 0x00);
	assert_false(irq_now(f));
	assert_int_equal(rd(f->u, IIR), 0x01);
	wr(f->u, IER, 0x02);
	assert_true(irq_now(f));
	/* A higher-priority source hides THRE; reading IIR then must not acknowledge THRE. */
	wr(f->u, IER, 0x03);
	inject(f->cd, "r");
	uart16550_poll_input(f->u);
	assert_int_equal(rd(f->u, IIR), 0x04);
	rd(f->u, RBR);
	assert_int_equal(rd(f->u, IIR), 0x02);
	assert_int_equal(rd(f->u, IIR), 0x01);
	assert_false(irq_now(f));
}

static void test_loopback(void **state)
{
	struct fixture *f = *state;
	wr(f->u, FCR, 0x01);
	wr(f->u, MCR, 0x10);
	/* Entering loopback: inputs now follow MCR (all zero), so CTS/DSR/DCD fell. */
	assert_int_equal(rd(f->u, MSR), 0x0b);
	assert_int_equal(rd(f->u, MSR), 0x00);
	wr(f->u, THR, 'L');
	wr(f->u, THR, 'b');
	size_t len;
	chardev_memory_output(f->cd, &len);
	assert_int_equal(len, 0); /* nothing leaves the chip */
	assert_int_equal(rd(f->u, LSR), 0x61);
	assert_int_equal(rd(f->u, RBR), 'L');
	assert_int_equal(rd(f->u, RBR), 'b');

	/* MSR reflects MCR: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD; Linux's probe expects
	 * LOOP|RTS|OUT2 to read 0x90. */
	wr(f->u, MCR, 0x1a);
	assert_int_equal(rd(f->u, MSR) & 0xf0, 0x90);
	wr(f->u, MCR, 0x1f);
	assert_int_equal(rd(f->u, MSR), 0xf0 | 0x02); /* DSR rose (DDSR); RI rising sets nothing */
	wr(f->u, MCR, 0x1b); /* OUT1 off: RI trailing edge */
	assert_int_equal(rd(f->u, MSR), 0xb0 | 0x04);
	wr(f->u, MCR, 0x10);
	assert_int_equal(rd(f->u, MSR), 0x0b);

	/* Host input waits while the receiver is disconnected. */
	inject(f->cd, "h");
	assert_int_equal(uart16550_poll_input(f->u), 0);
	assert_int_equal(chardev_pending(f->cd), 1);

	/* Loopback keeps the PC IRQ line low even with OUT2 and an interrupt pending. */
	wr(f->u, IER, 0x01);
	wr(f->u, MCR, 0x18);
	wr(f->u, THR, 'i');
	assert_int_equal(rd(f->u, IIR), 0xc4);
	assert_false(irq_now(f));
	wr(f->u, MCR, 0x08); /* out of loopback: the pending RX interrupt now reaches the PIC */
	assert_true(irq_now(f));
	assert_int_equal(rd(f->u, MSR), 0xb0 | 0x0b);
	assert_int_equal(uart16550_poll_input(f->u), 1);
	assert_int_equal(rd(f->u, RBR), 'i');
	assert_int_equal(rd(f->u, RBR), 'h');
	chardev_memory_output(f->cd, &len);
	assert_int_equal(len, 0);
}

static void test_save_load_roundtrip(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(uart16550_save(f->u, NULL, 0), UART16550_STATE_SIZE);
	wr(f->u, LCR, 0x80);
	wr(f->u, DLL, 0x03);
	wr(f->u, DLM, 0x00);
	wr(f->u, LCR, 0x1b);
	wr(f->u, FCR, 0x81);
	wr(f->u, IER, 0x07);
	wr(f->u, MCR, 0x0b);
	wr(f->u, SCR, 0x5a);
	inject(f->cd, "snapshot");
	uart16550_poll_input(f->u);
	rd(f->u, RBR); /* make the FIFO wrap-independent: head is not 0 */
	assert_true(irq_now(f));

	uint8_t img[UART16550_STATE_SIZE + 4];
	assert_int_equal(uart16550_save(f->u, img, UART16550_STATE_SIZE - 1), 0);
	assert_int_equal(uart16550_save(f->u, img, sizeof(img)), UART16550_STATE_SIZE);
	assert_int_equal(img[0], 1);

	struct chardev *cd2 = chardev_open_memory();
	struct irq_log log2 = { 0 };
	struct uart16550 *u2 = uart16550_create(cd2, (struct irq_sink){ log_level, &log2 }, 3);
	assert_non_null(u2);
	assert_int_equal(uart16550_load(u2, img, UART16550_STATE_SIZE), 0);
	assert_true(log2.n >= 1);
	assert_true(log2.level[log2.n - 1]); /* the restored line is driven high */
	assert_int_equal(log2.gsi[log2.n - 1], 3);

	uint8_t img2[UART16550_STATE_SIZE];
	assert_int_equal(uart16550_save(u2, img2, sizeof(img2)), UART16550_STATE_SIZE);
	assert_memory_equal(img, img2, UART16550_STATE_SIZE);

	assert_int_equal(rd(u2, LCR), 0x1b);
	assert_int_equal(rd(u2, IER), 0x07);
	assert_int_equal(rd(u2, MCR), 0x0b);
	assert_int_equal(rd(u2, SCR), 0x5a);
	assert_int_equal(rd(u2, IIR), 0xcc); /* 7 bytes, trigger 8 */
	char got[8] = { 0 };
	for (int i = 0; i < 7; i++)
		got[i] = (char)rd(u2, RBR);
	assert_string_equal(got, "napshot");
	wr(u2, LCR, 0x9b);
	assert_int_equal(rd(u2, DLL), 0x03);
	uart16550_destroy(u2);
	chardev_close(cd2);
}

static void test_bad_load_refused(void **state)
{
	struct fixture *f = *state;
	uint8_t good[UART16550_STATE_SIZE], bad[UART16550_STATE_SIZE];
	wr(f->u, SCR, 0x77);
	wr(f->u, FCR, 0x01);
	inject(f->cd, "ab");
	uart16550_poll_input(f->u);
	assert_int_equal(uart16550_save(f->u, good, sizeof(good)), sizeof(good));

	assert_int_equal(uart16550_load(f->u, good, sizeof(good) - 1), -EINVAL);
	assert_int_equal(uart16550_load(f->u, NULL, sizeof(good)), -EINVAL);
	uint8_t longer[UART16550_STATE_SIZE + 1] = { 0 };
	memcpy(longer, good, sizeof(good));
	assert_int_equal(uart16550_load(f->u, longer, sizeof(longer)), -EINVAL);

	struct { unsigned off; uint8_t val; } cases[] = {
		{ 0, 2 },     /* unknown version */
		{ 0, 0 },
		{ 11, 17 },   /* more than 16 bytes in the FIFO */
		{ 11, 255 },
		{ 1, 0x10 },  /* reserved IER bits */
		{ 3, 0x20 },  /* reserved MCR bits */
		{ 4, 0x02 },  /* FCR bits that are never stored */
		{ 10, 0x02 }, /* unknown flags */
		{ 8, 0x00 },  /* LSR without THRE/TEMT */
		{ 8, 0x60 },  /* LSR says no data while the FIFO has 2 bytes */
		{ 9, 0x00 },  /* MSR lines that contradict MCR */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(bad, good, sizeof(bad));
		bad[cases[i].off] = cases[i].val;
		assert_int_equal(uart16550_load(f->u, bad, sizeof(bad)), -EINVAL);
	}
	/* FIFO off but two bytes claimed in the holding register. */
	memcpy(bad, good, sizeof(bad));
	bad[4] = 0x00;
	assert_int_equal(uart16550_load(f->u, bad, sizeof(bad)), -EINVAL);

	/* Nothing changed after all these refusals. */
	uint8_t after[UART16550_STATE_SIZE];
	assert_int_equal(uart16550_save(f->u, after, sizeof(after)), sizeof(after));
	assert_memory_equal(good, after, sizeof(good));
	assert_int_equal(rd(f->u, SCR), 0x77);
	assert_int_equal(rd(f->u, RBR), 'a');
	assert_int_equal(rd(f->u, RBR), 'b');
}

/* Whatever a guest writes, in any order, the device keeps its invariants. */
static void test_random_programming(void **state)
{
	struct fixture *f = *state;
	uint32_t x = 12345;
	for (int i = 0; i < 200000; i++) {
		x = x * 1103515245u + 12345u;
		unsigned reg = (x >> 16) & 7;
		bool write = (x >> 20) & 1;
		uint64_t v = (x >> 8) & 0xff;
		assert_int_equal(uart16550_access(f->u, reg, 1, write, &v), 0);
		if (!write)
			assert_true(v <= 0xff);
		if (i % 97 == 0) {
			chardev_inject_input(f->cd, "zz", 2);
			uart16550_poll_input(f->u);
		}
		if (i % 1000 == 0)
			chardev_memory_clear(f->cd);
		uint8_t img[UART16550_STATE_SIZE];
		if (i % 5000 == 0) {
			assert_int_equal(uart16550_save(f->u, img, sizeof(img)), sizeof(img));
			assert_int_equal(uart16550_load(f->u, img, sizeof(img)), 0);
		}
	}
	for (unsigned i = 1; i < f->irq.n && i < 256; i++)
		assert_true(f->irq.level[i] != f->irq.level[i - 1]);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_reset_values),
		T(test_transmit),
		T(test_divisor_latch),
		T(test_scratch_and_masks),
		T(test_fifo_fill_drain),
		T(test_no_fifo_holding_register),
		T(test_rx_trigger_level),
		T(test_iir_priorities),
		T(test_irq_line_and_out2),
		T(test_thre_interrupt),
		T(test_loopback),
		T(test_save_load_roundtrip),
		T(test_bad_load_refused),
		T(test_random_programming),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
