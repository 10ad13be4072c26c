/* The pty back-end: a new pseudo-terminal whose slave path is printed for the user to attach
 * screen/minicom to; the guest's side is the master, raw mode, never blocking the vCPU. */
#include "devmodel/chardev_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define PTY_DRAIN_POLL_US 10000 /* how often wait_for_reader looks */
#define PTY_DRAIN_STALL 50       /* polls without progress: nobody is reading (0.5 s: a loaded host may not run the reader sooner) */
#define PTY_DRAIN_POLLS 300      /* at most three seconds in all */

static void pty_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	/* The master is O_NONBLOCK: when nobody drains the slave the kernel buffer fills and the
	 * rest is dropped, so a detached console never stalls the guest. */
	pthread_mutex_lock(&cd->out_lock);
	size_t n = chardev_write_nonblock(cd->fd, buf, len, false);
	cd->dropped += len - n;
	pthread_mutex_unlock(&cd->out_lock);
}

/* Closing the master hangs the terminal up, and a hangup discards what the user's side has not
 * read yet: the guest's last words (a panic message) would be lost. So give a reader that is
 * attached a moment to drain them. Unread bytes show on our own slave fd's input queue. */
static void wait_for_reader(struct chardev *cd)
{
	int last = -1, stalled = 0;
	for (int i = 0; i < PTY_DRAIN_POLLS && cd->aux_fd >= 0 && stalled < PTY_DRAIN_STALL; i++) {
		int unread = 0;
		if (ioctl(cd->aux_fd, FIONREAD, &unread) < 0 || unread == 0)
			return;
		stalled = unread == last ? stalled + 1 : 0;
		last = unread;
		usleep(PTY_DRAIN_POLL_US);
	}
}

static void pty_close(struct chardev *cd)
{
	wait_for_reader(cd);
	if (cd->aux_fd >= 0)
		close(cd->aux_fd);
	if (cd->fd >= 0)
		close(cd->fd);
	cd->fd = cd->aux_fd = -1;
}

static const struct chardev_ops pty_ops = {
	.kind = "pty",
	.write = pty_write,
	.input_fd = chardev_fd,
	.read_input = chardev_read_fd,
	.close = pty_close,
};

static struct chardev *pty_fail(struct chardev *cd, struct errmsg *e, const char *label,
				const char *what)
{
	int err = errno;
	errmsg_set(e, err, "%s: pty: %s: %s", label, what, strerror(err));
	pty_close(cd);
	chardev_free(cd);
	errno = err;
	return NULL;
}

struct chardev *chardev_open_pty(const char *label, struct errmsg *e)
{
	struct chardev *cd = chardev_alloc(&pty_ops, label);
	if (!cd) {
		errmsg_set(e, ENOMEM, "%s: out of memory", label);
		errno = ENOMEM;
		return NULL;
	}
	cd->fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (cd->fd < 0)
		return pty_fail(cd, e, label, "posix_openpt");
	if (grantpt(cd->fd) < 0)
		return pty_fail(cd, e, label, "grantpt");
	if (unlockpt(cd->fd) < 0)
		return pty_fail(cd, e, label, "unlockpt");
	char name[PATH_MAX];
	int rc = ptsname_r(cd->fd, name, sizeof(name));
	if (rc) {
		errno = rc;
		return pty_fail(cd, e, label, "ptsname");
	}
	cd->path = strdup(name);
	if (!cd->path) {
		errno = ENOMEM;
		return pty_fail(cd, e, label, "ptsname");
	}
	/* We keep a slave fd open for the life of the back-end: without one, the master reports
	 * POLLHUP/EIO until a user attaches and again each time they detach, which would spin
	 * or end the reader. It is also where the raw mode is set. */
	cd->aux_fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (cd->aux_fd < 0)
		return pty_fail(cd, e, label, name);
	struct termios t;
	if (tcgetattr(cd->aux_fd, &t) < 0)
		return pty_fail(cd, e, label, "tcgetattr");
	/* Raw: no echo back to the guest, no CR/NL translation, no line editing; bytes pass
	 * through unchanged in both directions, as on a real serial cable. */
	cfmakeraw(&t);
	if (tcsetattr(cd->aux_fd, TCSANOW, &t) < 0)
		return pty_fail(cd, e, label, "tcsetattr");
	int fl = fcntl(cd->fd, F_GETFL);
	if (fl < 0 || fcntl(cd->fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return pty_fail(cd, e, label, "fcntl");

	rc = chardev_start_reader(cd, e);
	if (rc < 0) {
		pty_close(cd);
		chardev_free(cd);
		errno = -rc;
		return NULL;
	}
	fprintf(stderr, "dhyve: %s: %s\n", cd->label, cd->path);
	return cd;
}
