/* The stdio back-end: guest output to stdout, input from stdin, with the terminal in raw mode
 * while the VM runs and put back on close, at exit, or from a signal handler. */
#include "devmodel/chardev_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* The terminal as we found it. Statics, not per-chardev, because a signal handler or atexit
 * must reach them; termios_saved tells whether there is anything to restore. */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;
/* Two stdio back-ends would fight over stdin; refused. Changed only on open/close. */
static bool stdio_in_use;
static pthread_once_t atexit_once = PTHREAD_ONCE_INIT;

void chardev_restore_terminal(void)
{
	if (termios_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

static void register_atexit(void)
{
	atexit(chardev_restore_terminal);
}

static void stdio_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	/* stdout is the user's console: complete every write (chardev.h) rather than drop. */
	pthread_mutex_lock(&cd->out_lock);
	size_t n = chardev_write_all(STDOUT_FILENO, buf, len);
	cd->dropped += len - n;
	pthread_mutex_unlock(&cd->out_lock);
}

static void stdio_close(struct chardev *cd)
{
	(void)cd;
	chardev_restore_terminal();
	termios_saved = 0;
	stdio_in_use = false;
}

static const struct chardev_ops stdio_ops = {
	.kind = "stdio",
	.write = stdio_write,
	.input_fd = chardev_fd,
	.read_input = chardev_read_fd,
	.close = stdio_close,
};

struct chardev *chardev_open_stdio(const char *label, struct errmsg *e)
{
	if (stdio_in_use) {
		errmsg_set(e, EBUSY, "%s: stdio is already in use by another serial port", label);
		errno = EBUSY;
		return NULL;
	}
	struct chardev *cd = chardev_alloc(&stdio_ops, label);
	if (!cd) {
		errmsg_set(e, ENOMEM, "%s: out of memory", label);
		errno = ENOMEM;
		return NULL;
	}
	cd->fd = STDIN_FILENO;

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
		termios_saved = 1;
		pthread_once(&atexit_once, register_atexit);
		struct termios raw = saved_termios;
		cfmakeraw(&raw);
		/* Keep ISIG so Ctrl-C still stops dhyve instead of going to the guest. */
		raw.c_lflag |= ISIG;
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0) {
			int err = errno;
			termios_saved = 0;
			errmsg_set(e, err, "%s: stdio: cannot set raw mode: %s", label, strerror(err));
			chardev_free(cd);
			errno = err;
			return NULL;
		}
	}

	int rc = chardev_start_reader(cd, e);
	if (rc < 0) {
		chardev_restore_terminal();
		termios_saved = 0;
		chardev_free(cd);
		errno = -rc;
		return NULL;
	}
	stdio_in_use = true;
	return cd;
}
