/* Fuzz target uart16550: a fresh COM1 on a port bus with an in-memory back-end, driven by the
 * guest-operation interpreter; after every operation the device's state is checked against the datasheet. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "devmodel/chardev.h"
#include "devmodel/iobus.h"
#include "devmodel/uart16550.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/guest_ops.h"

/* The snapshot image (uart16550.c, layout version 1) is our window into the device: saving is
 * free of side effects, so the harness can look at the whole state after every operation. */
enum { S_VER, S_IER, S_LCR, S_MCR, S_FCR, S_SCR, S_DLL, S_DLM, S_LSR, S_MSR, S_FLAGS, S_COUNT, S_FIFO };
#define IMG UART16550_STATE_SIZE
#define RING 4096 /* the chardev's input queue (CHARDEV_RING_SIZE) */
#define GSI UART_COM1_IRQ

/* UART device actions (GOP_DEVICE sub-operations); fuzz/README.md lists them. */
enum { DEV_RESET, DEV_LOAD, DEV_RAW_ACCESS, DEV_SAVE };

struct uart_fuzz {
	struct chardev *cd;
	struct uart16550 *u;
	struct iobus pio;
	bool line;               /* the IRQ level as the sink last heard it */
	uint8_t prev[IMG];       /* the state after the previous operation */
	size_t out_len;          /* output bytes the back-end must hold */
	uint8_t q[RING];         /* host input queued in the chardev and not yet taken */
	size_t qlen;
};

static void sink(void *ctx, unsigned gsi, bool level)
{
	fuzz_irq_change(ctx, gsi, GSI, level);
}

static void save(struct uart16550 *u, uint8_t *img)
{
	FUZZ_CHECK(uart16550_save(u, img, IMG) == IMG, "save failed");
}

static unsigned capacity(const uint8_t *s)
{
	return (s[S_FCR] & 0x01) ? 16 : 1;
}

/* MSR bits 7:4 for an MCR: a ready null-modem cable, or the MCR's own outputs in loopback. */
static uint8_t msr_lines(uint8_t mcr)
{
	if (!(mcr & 0x10))
		return 0xb0;
	return (mcr & 0x01 ? 0x20 : 0) | (mcr & 0x02 ? 0x10 : 0) | (mcr & 0x04 ? 0x40 : 0) | (mcr & 0x08 ? 0x80 : 0);
}

/* IIR bits 3:0 by the PC16550D's priorities, from a state image. */
static uint8_t expected_iir(const uint8_t *s)
{
	static const uint8_t trigger[4] = { 1, 4, 8, 14 };
	uint8_t ier = s[S_IER];
	if ((ier & 0x04) && (s[S_LSR] & 0x1e))
		return 0x06;
	if ((ier & 0x01) && s[S_COUNT]) {
		unsigned trig = (s[S_FCR] & 0x01) ? trigger[s[S_FCR] >> 6] : 1;
		return s[S_COUNT] >= trig ? 0x04 : 0x0c;
	}
	if ((ier & 0x02) && (s[S_FLAGS] & 1))
		return 0x02;
	if ((ier & 0x08) && (s[S_MSR] & 0x0f))
		return 0x00;
	return 0x01;
}

/* What any reachable state satisfies. */
static void check_state(const struct uart_fuzz *f, const uint8_t *s)
{
	FUZZ_CHECK(s[S_VER] == 1, "version %u", s[S_VER]);
	FUZZ_CHECK(!(s[S_IER] & 0xf0) && !(s[S_MCR] & 0xe0) && !(s[S_FCR] & 0x36) && s[S_FLAGS] <= 1,
		   "reserved bits: IER %02x MCR %02x FCR %02x flags %02x", s[S_IER], s[S_MCR], s[S_FCR], s[S_FLAGS]);
	FUZZ_CHECK(s[S_COUNT] <= capacity(s), "%u bytes in a %u-byte receiver", s[S_COUNT], capacity(s));
	/* LSR: transmitter always empty, DR exactly when data waits, no FIFO error bit. */
	FUZZ_CHECK((s[S_LSR] & 0x60) == 0x60, "LSR %02x: THRE/TEMT clear", s[S_LSR]);
	FUZZ_CHECK(!(s[S_LSR] & 0x80), "LSR %02x: bit 7 set", s[S_LSR]);
	FUZZ_CHECK(!!(s[S_LSR] & 0x01) == !!s[S_COUNT], "LSR %02x with %u bytes received", s[S_LSR], s[S_COUNT]);
	FUZZ_CHECK((s[S_MSR] & 0xf0) == msr_lines(s[S_MCR]), "MSR %02x for MCR %02x", s[S_MSR], s[S_MCR]);
	for (unsigned i = s[S_COUNT]; i < 16; i++)
		FUZZ_CHECK(s[S_FIFO + i] == 0, "stale FIFO byte %u saved", i);
	/* OUT2 gates the line onto the PIC; loopback disconnects it. */
	bool level = expected_iir(s) != 0x01 && (s[S_MCR] & 0x08) && !(s[S_MCR] & 0x10);
	FUZZ_CHECK(f->line == level, "IRQ line %d, state says %d", f->line, level);
}

static void check_unchanged(const uint8_t *a, const uint8_t *b, const char *what)
{
	FUZZ_CHECK(memcmp(a, b, IMG) == 0, "%s changed the state", what);
}

/* The FIFO of b is the FIFO of a without its first `drop` bytes, followed by add[0..nadd). */
static void check_fifo(const uint8_t *a, const uint8_t *b, unsigned drop, const uint8_t *add, size_t nadd)
{
	FUZZ_CHECK(b[S_COUNT] == a[S_COUNT] - drop + nadd, "FIFO holds %u, expected %u", b[S_COUNT],
		   (unsigned)(a[S_COUNT] - drop + nadd));
	for (unsigned i = 0; i + drop < a[S_COUNT]; i++)
		FUZZ_CHECK(b[S_FIFO + i] == a[S_FIFO + drop + i], "FIFO byte %u", i);
	for (size_t i = 0; i < nadd; i++)
		FUZZ_CHECK(b[S_FIFO + a[S_COUNT] - drop + i] == add[i], "new FIFO byte %zu", i);
}

/* One read of register reg that returned v, with state a before and b after. */
static void check_read(const uint8_t *a, const uint8_t *b, unsigned reg, uint64_t v)
{
	bool dlab = a[S_LCR] & 0x80;
	FUZZ_CHECK(v <= 0xff, "read of %u gave %#llx", reg, (unsigned long long)v);
	switch (reg) {
	case 0:
		if (dlab) {
			FUZZ_CHECK(v == a[S_DLL], "DLL");
			check_unchanged(a, b, "reading DLL");
		} else {
			FUZZ_CHECK(v == (a[S_COUNT] ? a[S_FIFO] : 0), "RBR %02x", (unsigned)v);
			check_fifo(a, b, a[S_COUNT] ? 1 : 0, NULL, 0);
		}
		break;
	case 1:
		FUZZ_CHECK(v == (dlab ? a[S_DLM] : a[S_IER]), "IER/DLM %02x", (unsigned)v);
		check_unchanged(a, b, "reading IER");
		break;
	case 2:
		FUZZ_CHECK((v & 0x0f) == expected_iir(a), "IIR %02x, expected source %x", (unsigned)v, expected_iir(a));
		FUZZ_CHECK((v & 0xf0) == ((a[S_FCR] & 1) ? 0xc0 : 0), "IIR %02x FIFO bits", (unsigned)v);
		/* Reading IIR acknowledges THRE, and only when THRE is what it shows. */
		FUZZ_CHECK((b[S_FLAGS] & 1) == ((a[S_FLAGS] & 1) && (v & 0x0f) != 0x02), "THRE pending after IIR read");
		break;
	case 3:
		FUZZ_CHECK(v == a[S_LCR], "LCR");
		break;
	case 4:
		FUZZ_CHECK(v == a[S_MCR], "MCR");
		break;
	case 5:
		FUZZ_CHECK(v == a[S_LSR], "LSR %02x, expected %02x", (unsigned)v, a[S_LSR]);
		FUZZ_CHECK(!(b[S_LSR] & 0x1e), "LSR errors survive a read");
		break;
	case 6:
		FUZZ_CHECK(v == a[S_MSR], "MSR");
		FUZZ_CHECK(!(b[S_MSR] & 0x0f), "MSR deltas survive a read");
		break;
	default:
		FUZZ_CHECK(v == a[S_SCR], "SCR");
		check_unchanged(a, b, "reading SCR");
		break;
	}
}

/* One write of byte v to register reg, with state a before and b after. */
static void check_write(struct uart_fuzz *f, const uint8_t *a, const uint8_t *b, unsigned reg, uint8_t v)
{
	bool dlab = a[S_LCR] & 0x80;
	switch (reg) {
	case 0:
		if (dlab) {
			FUZZ_CHECK(b[S_DLL] == v, "DLL");
			break;
		}
		FUZZ_CHECK(b[S_FLAGS] & 1, "THR written but no THRE pending");
		if (!(a[S_MCR] & 0x10)) {
			f->out_len++; /* the byte leaves on the line at once */
			check_fifo(a, b, 0, NULL, 0);
		} else if (a[S_COUNT] < capacity(a)) {
			check_fifo(a, b, 0, &v, 1); /* looped back into the receiver */
		} else {
			FUZZ_CHECK(b[S_LSR] & 0x02, "loopback overrun without OE");
			FUZZ_CHECK(b[S_COUNT] == a[S_COUNT], "overrun changed the count");
			/* The 8250 holding register is overwritten; a 16550A keeps its FIFO. */
			FUZZ_CHECK(b[S_FIFO] == ((a[S_FCR] & 1) ? a[S_FIFO] : v), "overrun byte");
		}
		break;
	case 1:
		if (dlab) {
			FUZZ_CHECK(b[S_DLM] == v, "DLM");
			break;
		}
		FUZZ_CHECK(b[S_IER] == (v & 0x0f), "IER");
		/* THRE is raised on ETBEI's rising edge and dropped when ETBEI is off. */
		FUZZ_CHECK((b[S_FLAGS] & 1) == ((v & 0x02) ? ((a[S_IER] & 0x02) ? (a[S_FLAGS] & 1) : 1) : 0),
			   "THRE pending after IER write");
		break;
	case 2:
		FUZZ_CHECK(b[S_FCR] == ((v & 1) ? (v & 0xc9) : 0), "FCR %02x after writing %02x", b[S_FCR], v);
		if ((a[S_FCR] & 1) != (v & 1) || (v & 0x03) == 0x03)
			FUZZ_CHECK(b[S_COUNT] == 0, "FIFO not cleared");
		else
			check_fifo(a, b, 0, NULL, 0);
		break;
	case 3:
		FUZZ_CHECK(b[S_LCR] == v, "LCR");
		break;
	case 4:
		FUZZ_CHECK(b[S_MCR] == (v & 0x1f), "MCR");
		break;
	case 5:
	case 6:
		check_unchanged(a, b, "writing LSR/MSR");
		break;
	default:
		FUZZ_CHECK(b[S_SCR] == v, "SCR");
		break;
	}
}

/* uart16550_load of an arbitrary image: all or nothing. */
static void check_load(struct uart_fuzz *f, const uint8_t *buf, size_t len)
{
	uint8_t before[IMG], after[IMG];
	save(f->u, before);
	int rc = uart16550_load(f->u, buf, len);
	save(f->u, after);
	if (rc < 0) {
		FUZZ_CHECK(rc == -EINVAL, "load returned %d", rc);
		check_unchanged(before, after, "a refused load");
		return;
	}
	FUZZ_CHECK(len == IMG, "loaded %zu bytes", len);
	FUZZ_CHECK(memcmp(after, buf, S_FIFO + after[S_COUNT]) == 0, "loaded state differs from its image");
}

static void raw_access(struct uart_fuzz *f, const uint8_t *p, size_t len)
{
	uint8_t off = len > 0 ? p[0] : 0, mode = len > 1 ? p[1] : 0;
	uint64_t v = len > 2 ? p[2] : 0;
	bool is_write = mode & 1;
	uint8_t a[IMG], b[IMG];
	save(f->u, a);
	int rc = uart16550_access(f->u, off, 1u << ((mode >> 1) & 3), is_write, &v);
	save(f->u, b);
	if (off >= UART_REG_COUNT) {
		FUZZ_CHECK(rc == -EINVAL, "offset %u accepted", off);
		FUZZ_CHECK(is_write || v == 0xff, "offset %u read %#llx", off, (unsigned long long)v);
		check_unchanged(a, b, "an access outside the registers");
	} else if (is_write) {
		check_write(f, a, b, off, (uint8_t)v);
	} else {
		check_read(a, b, off, v);
	}
}

static void save_short(struct uart_fuzz *f, const uint8_t *p, size_t len)
{
	uint8_t buf[256];
	size_t cap = len ? p[0] : 0;
	memset(buf, 0xa5, sizeof(buf));
	FUZZ_CHECK(uart16550_save(f->u, NULL, 0) == IMG, "save size");
	size_t n = uart16550_save(f->u, buf, cap);
	if (cap < IMG) {
		FUZZ_CHECK(n == 0, "save into %zu bytes returned %zu", cap, n);
		for (size_t i = 0; i < sizeof(buf); i++)
			FUZZ_CHECK(buf[i] == 0xa5, "short save wrote byte %zu", i);
	} else {
		FUZZ_CHECK(n == IMG && buf[IMG] == 0xa5, "save wrote %zu bytes", n);
	}
}

static void on_device(void *ctx, unsigned sub, const uint8_t *p, size_t len)
{
	struct uart_fuzz *f = ctx;
	switch (sub) {
	case DEV_RESET:
		uart16550_reset(f->u);
		break;
	case DEV_LOAD:
		check_load(f, p, len);
		break;
	case DEV_RAW_ACCESS:
		raw_access(f, p, len);
		break;
	case DEV_SAVE:
		save_short(f, p, len);
		break;
	default:
		break;
	}
}

static void on_host_input(void *ctx, const uint8_t *p, size_t len)
{
	struct uart_fuzz *f = ctx;
	size_t n = chardev_inject_input(f->cd, p, len);
	size_t want = len < RING - f->qlen ? len : RING - f->qlen;
	FUZZ_CHECK(n == want, "queued %zu of %zu input bytes, expected %zu", n, len, want);
	memcpy(f->q + f->qlen, p, n);
	f->qlen += n;
}

/* The VM's exit point (cli/machine.c): queued host input is taken after every exit. Checks that
 * the bytes arrive in order, as many as fit, none in loopback. */
static void take_input(struct uart_fuzz *f, const uint8_t *mid, uint8_t *after)
{
	if (!f->qlen) {
		memcpy(after, mid, IMG); /* nothing to take: spare a save */
		return;
	}
	FUZZ_CHECK(chardev_pending(f->cd) == f->qlen, "chardev holds %zu, expected %zu", chardev_pending(f->cd), f->qlen);
	size_t n = uart16550_poll_input(f->u);
	save(f->u, after);
	size_t room = (mid[S_MCR] & 0x10) ? 0 : capacity(mid) - mid[S_COUNT];
	size_t want = f->qlen < room ? f->qlen : room;
	FUZZ_CHECK(n == want, "took %zu input bytes, expected %zu", n, want);
	check_fifo(mid, after, 0, f->q, n);
	memmove(f->q, f->q + n, f->qlen - n);
	f->qlen -= n;
}

static void after_op(void *ctx, const struct guest_op *op)
{
	struct uart_fuzz *f = ctx;
	uint8_t mid[IMG], after[IMG];
	save(f->u, mid);

	bool is_read = op->kind == GOP_PIO_READ, is_write = op->kind == GOP_PIO_WRITE;
	if ((is_read || is_write) && op->rc == 0) {
		unsigned reg = (unsigned)(op->addr - UART_COM1_BASE);
		if (is_write)
			check_write(f, f->prev, mid, reg, (uint8_t)op->value);
		else
			check_read(f->prev, mid, reg, op->value);
	} else if (is_read || is_write) {
		/* Nobody's port, or an access running off the UART's end: the bus answers alone. */
		uint64_t ones = op->size == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * op->size)) - 1;
		FUZZ_CHECK(op->rc == -ENOENT, "bus error %d", op->rc);
		FUZZ_CHECK(is_write || op->value == ones, "unclaimed read %#llx", (unsigned long long)op->value);
		check_unchanged(f->prev, mid, "an unclaimed access");
	} else if (op->kind == GOP_DEVICE && op->arg == DEV_RESET) {
		static const uint8_t reset[IMG] = { [S_VER] = 1, [S_DLL] = 0x0c, [S_LSR] = 0x60, [S_MSR] = 0xb0 };
		check_unchanged(reset, mid, "reset");
	}
	size_t out;
	chardev_memory_output(f->cd, &out);
	FUZZ_CHECK(out == f->out_len, "%zu output bytes, expected %zu", out, f->out_len);
	if (is_write && op->rc == 0 && op->addr == UART_COM1_BASE && !(f->prev[S_LCR] & 0x80) && !(f->prev[S_MCR] & 0x10))
		FUZZ_CHECK(chardev_memory_output(f->cd, &out)[out - 1] == (uint8_t)op->value, "wrong byte sent");

	take_input(f, mid, after);
	check_state(f, after);
	memcpy(f->prev, after, IMG);
}

/* After the run: a second UART loaded from the first one's image must be indistinguishable by
 * the guest. Reads have side effects, so both get the same sequence and must answer alike. */
static void check_clone(struct uart_fuzz *f)
{
	bool line2 = false;
	/* No back-end: the clone is only read, and a UART without one must cope (reads and polls). */
	struct uart16550 *u2 = uart16550_create(NULL, (struct irq_sink){ sink, &line2 }, GSI);
	if (u2) {
		uint8_t img[IMG], img2[IMG];
		save(f->u, img);
		/* A saved state loads back to itself (and leaves the line alone)... */
		FUZZ_CHECK(uart16550_load(f->u, img, IMG) == 0, "own image refused");
		save(f->u, img2);
		check_unchanged(img, img2, "loading its own image");
		/* ...and into a fresh device. */
		FUZZ_CHECK(uart16550_load(u2, img, IMG) == 0, "clone refused the image");
		FUZZ_CHECK(line2 == f->line, "clone's IRQ line %d, original %d", line2, f->line);
		/* Every register once, then drain the receiver: both must answer alike throughout. */
		static const uint8_t seq[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
		for (size_t i = 0; i < sizeof(seq) + 17; i++) {
			unsigned reg = i < sizeof(seq) ? seq[i] : 0;
			uint64_t v1 = 0, v2 = 0;
			FUZZ_CHECK(uart16550_access(f->u, reg, 1, false, &v1) == 0, "read");
			FUZZ_CHECK(uart16550_access(u2, reg, 1, false, &v2) == 0, "clone read");
			FUZZ_CHECK(v1 == v2, "register %u reads %#x, clone %#x", reg, (unsigned)v1, (unsigned)v2);
			FUZZ_CHECK(line2 == f->line, "IRQ lines differ after reading register %u", reg);
			if (i >= sizeof(seq) && (img[S_LCR] & 0x80 || i - sizeof(seq) >= img[S_COUNT]))
				break; /* DLAB reads DLL, or the FIFO is empty: nothing more to see */
		}
		FUZZ_CHECK(uart16550_poll_input(u2) == 0, "input from no back-end");
		save(f->u, img);
		save(u2, img2);
		check_unchanged(img, img2, "the clone");
	}
	uart16550_destroy(u2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* On the stack and initialised field by field: the 4 KiB input shadow needs no clearing,
	 * and zeroing it (or ASan's fill of a fresh malloc) was a sixth of a short input's cost. */
	struct uart_fuzz f;
	struct errmsg e;
	f.line = false;
	f.out_len = f.qlen = 0;
	iobus_init(&f.pio, "pio");
	f.cd = chardev_open_memory();
	f.u = f.cd ? uart16550_create(f.cd, (struct irq_sink){ sink, &f.line }, GSI) : NULL;
	if (f.u && iobus_register(&f.pio, UART_COM1_BASE, UART_REG_COUNT, "com1", uart16550_access, f.u, &e) == 0) {
		save(f.u, f.prev);
		check_state(&f, f.prev);
		struct guest_ops_target t = {
			.pio = &f.pio,
			.pio_base = UART_COM1_BASE,
			.host_input = on_host_input,
			.device = on_device,
			.after_op = after_op,
			.ctx = &f,
		};
		guest_ops_run(&t, data, size);
		check_clone(&f);
	}
	iobus_destroy(&f.pio);
	uart16550_destroy(f.u);
	chardev_close(f.cd);
	return 0;
}
