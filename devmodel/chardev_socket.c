/* The unix=PATH back-end: a listening unix socket (mode 0600) that serves one client at a
 * time; guest output goes to the client without ever blocking, and is dropped when none. */
#include "devmodel/chardev_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void unix_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&cd->out_lock);
	size_t n = 0;
	if (cd->aux_fd >= 0)
		n = chardev_write_nonblock(cd->aux_fd, buf, len, true);
	cd->dropped += len - n;
	pthread_mutex_unlock(&cd->out_lock);
}

/* While a client is connected we wait only on it, so a second client waits in the listen
 * backlog until the first one leaves. aux_fd is changed only by this (the reader) thread, so
 * reading it here without out_lock is safe. */
static int unix_input_fd(struct chardev *cd)
{
	return cd->aux_fd >= 0 ? cd->aux_fd : cd->fd;
}

static void drop_client(struct chardev *cd)
{
	pthread_mutex_lock(&cd->out_lock);
	close(cd->aux_fd);
	cd->aux_fd = -1;
	pthread_mutex_unlock(&cd->out_lock);
}

static ssize_t unix_read(struct chardev *cd, uint8_t *buf, size_t max)
{
	if (cd->aux_fd < 0) {
		int c = accept4(cd->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			return 0; /* EAGAIN, ECONNABORTED, EMFILE...: keep listening */
		pthread_mutex_lock(&cd->out_lock);
		cd->aux_fd = c;
		pthread_mutex_unlock(&cd->out_lock);
		return 0;
	}
	ssize_t n = recv(cd->aux_fd, buf, max, MSG_DONTWAIT);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	drop_client(cd); /* EOF or reset: wait for the next client */
	return 0;
}

static void unix_close(struct chardev *cd)
{
	if (cd->aux_fd >= 0)
		close(cd->aux_fd);
	if (cd->fd >= 0) {
		close(cd->fd);
		/* Our socket file; nobody can connect to it once the listener is closed. */
		if (cd->path)
			unlink(cd->path);
	}
	cd->fd = cd->aux_fd = -1;
}

static const struct chardev_ops unix_ops = {
	.kind = "unix",
	.write = unix_write,
	.input_fd = unix_input_fd,
	.read_input = unix_read,
	.close = unix_close,
};

static struct chardev *unix_fail(struct chardev *cd, struct errmsg *e, int err, const char *label,
				 const char *path, const char *what)
{
	errmsg_set(e, err, "%s: unix=%s: %s%s%s", label, path, what, *what ? ": " : "", strerror(err));
	unix_close(cd);
	chardev_free(cd);
	errno = err;
	return NULL;
}

struct chardev *chardev_open_unix(const char *path, const char *label, struct errmsg *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errmsg_set(e, ENAMETOOLONG, "%s: unix=%s: path longer than %zu bytes", label, path,
			   sizeof(sa.sun_path) - 1);
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);

	struct stat st;
	if (lstat(path, &st) == 0) {
		/* A socket left by an earlier run is replaced; anything else is someone's file. */
		if (!S_ISSOCK(st.st_mode)) {
			errmsg_set(e, EEXIST, "%s: unix=%s: exists and is not a socket; not replacing it",
				   label, path);
			errno = EEXIST;
			return NULL;
		}
		/* Stale means nobody listens (ECONNREFUSED): a running VM's console is not taken
		 * over. Non-blocking, because connect() waits while a listener's backlog is full,
		 * which (EAGAIN) also means somebody is there. */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		bool live = probe >= 0 && (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
					   errno == EAGAIN);
		if (probe >= 0)
			close(probe);
		if (live) {
			errmsg_set(e, EADDRINUSE, "%s: unix=%s: another process is listening there", label,
				   path);
			errno = EADDRINUSE;
			return NULL;
		}
		if (unlink(path) < 0) {
			int err = errno;
			errmsg_set(e, err, "%s: unix=%s: cannot remove stale socket: %s", label, path,
				   strerror(err));
			errno = err;
			return NULL;
		}
	}

	struct chardev *cd = chardev_alloc(&unix_ops, label);
	if (!cd) {
		errmsg_set(e, ENOMEM, "%s: out of memory", label);
		errno = ENOMEM;
		return NULL;
	}
	cd->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (cd->fd < 0)
		return unix_fail(cd, e, errno, label, path, "socket");
	/* bind() creates the file with 0777 & ~umask, and fchmod() on a socket fd does not reach
	 * the file; a umask of 0177 makes it 0600 from the first instant, so no other user can
	 * connect in between. (umask is process-wide; chardevs are opened during setup.) */
	mode_t old = umask(0177);
	int rc = bind(cd->fd, (struct sockaddr *)&sa, sizeof(sa));
	int err = errno;
	umask(old);
	if (rc < 0) {
		close(cd->fd);
		cd->fd = -1; /* nothing of ours to unlink */
		return unix_fail(cd, e, err, label, path, "bind");
	}
	cd->path = strdup(path);
	if (!cd->path) {
		close(cd->fd);
		cd->fd = -1;
		unlink(path);
		return unix_fail(cd, e, ENOMEM, label, path, "");
	}
	/* Belt and braces should another thread have changed the umask meanwhile. */
	if (chmod(path, 0600) < 0)
		return unix_fail(cd, e, errno, label, path, "chmod");
	if (listen(cd->fd, 1) < 0)
		return unix_fail(cd, e, errno, label, path, "listen");

	rc = chardev_start_reader(cd, e);
	if (rc < 0) {
		unix_close(cd);
		chardev_free(cd);
		errno = -rc;
		return NULL;
	}
	return cd;
}
