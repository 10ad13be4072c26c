/* Control socket server and client. The lock file is taken before the socket is touched, so a
 * second VM of the same name never unlinks the first one's socket. */
#include "cli/control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/rundir.h"

#define CLIENT_TIMEOUT_MS 2000

static int take_lock(struct control *c, const char *name, struct errmsg *e)
{
	int rc = rundir_file(c->lock_path, sizeof(c->lock_path), name, ".pid", 1, e);
	if (rc < 0)
		return rc;
	c->lock_fd = open(c->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (c->lock_fd < 0)
		return errmsg_set(e, errno, "%s: %s", c->lock_path, strerror(errno));
	if (flock(c->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		char pid[32] = "";
		ssize_t n = pread(c->lock_fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		close(c->lock_fd);
		c->lock_fd = -1;
		return errmsg_set(e, EEXIST, "a VM named '%s' is already running (pid %s)", name, pid[0] ? pid : "?");
	}
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(c->lock_fd, 0) < 0 || pwrite(c->lock_fd, buf, (size_t)n, 0) != n)
		return errmsg_set(e, errno, "%s: %s", c->lock_path, strerror(errno));
	return 0;
}

static int open_locked(struct control *c, const char *name, struct errmsg *e);

int control_open(struct control *c, const char *name, control_handler_fn fn, void *ctx, struct errmsg *e)
{
	memset(c, 0, sizeof(*c));
	c->listen_fd = c->lock_fd = -1;
	c->handler = fn;
	c->ctx = ctx;
	int rc = open_locked(c, name, e);
	if (rc < 0)
		control_close(c); /* releases the lock and removes what was created */
	return rc;
}

static int open_locked(struct control *c, const char *name, struct errmsg *e)
{
	int rc = take_lock(c, name, e);
	if (rc < 0)
		return rc;
	rc = rundir_file(c->sock_path, sizeof(c->sock_path), name, ".sock", 1, e);
	if (rc < 0)
		return rc;
	unlink(c->sock_path); /* stale: we hold the name's lock, so no live VM owns it */
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0)
		return errmsg_set(e, errno, "socket: %s", strerror(errno));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, c->sock_path, strlen(c->sock_path) + 1);
	mode_t old = umask(0177); /* the socket is born 0600: no window where others can connect */
	rc = bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || chmod(c->sock_path, 0600) < 0 || listen(c->listen_fd, 4) < 0)
		return errmsg_set(e, errno, "%s: %s", c->sock_path, strerror(errno));
	return 0;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* the client went away; nothing to save */
		buf += n;
		len -= (size_t)n;
	}
}

static int read_request(int fd, char *req, size_t len)
{
	size_t got = 0;
	while (got + 1 < len) {
		ssize_t n = read(fd, req + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(req, '\n', got))
			break;
	}
	req[got] = '\0';
	if (!memchr(req, '\n', got))
		return -EINVAL;
	req[strcspn(req, "\r\n")] = '\0';
	return 0;
}

void control_serve_one(struct control *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* A client that never sends its line must not hold the main loop. */
	struct timeval tv = { CLIENT_TIMEOUT_MS / 1000, (CLIENT_TIMEOUT_MS % 1000) * 1000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	char req[CONTROL_REQUEST_MAX];
	char *reply = NULL;
	size_t reply_len = 0;
	FILE *out = open_memstream(&reply, &reply_len);
	if (out) {
		if (read_request(fd, req, sizeof(req)) < 0)
			fprintf(out, "error: request missing, too long or not ended by a newline\n");
		else
			c->handler(c->ctx, req, out);
		fclose(out);
		write_all(fd, reply, reply_len);
		free(reply);
	}
	close(fd);
}

void control_close(struct control *c)
{
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->sock_path);
	}
	if (c->lock_fd >= 0) {
		unlink(c->lock_path);
		close(c->lock_fd);
	}
	c->listen_fd = c->lock_fd = -1;
}

int control_request(const char *name, const char *request, FILE *out, struct errmsg *e)
{
	char path[108];
	int rc = rundir_file(path, sizeof(path), name, ".sock", 0, e);
	if (rc < 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errmsg_set(e, errno, "socket: %s", strerror(errno));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		if (err == ENOENT || err == ECONNREFUSED)
			return errmsg_set(e, err, "no VM named '%s' is running (no control socket at %s)", name, path);
		return errmsg_set(e, err, "%s: %s", path, strerror(err));
	}
	struct timeval tv = { 10, 0 }; /* pausing the VM for --get-all may take a moment */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char line[CONTROL_REQUEST_MAX + 1];
	int n = snprintf(line, sizeof(line), "%s\n", request);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		close(fd);
		return errmsg_set(e, E2BIG, "request longer than %d bytes", CONTROL_REQUEST_MAX - 1);
	}
	write_all(fd, line, (size_t)n);
	char buf[4096];
	ssize_t got;
	bool first = true, is_error = false;
	while ((got = read(fd, buf, sizeof(buf))) > 0) {
		if (first && got >= 7 && memcmp(buf, "error: ", 7) == 0)
			is_error = true;
		first = false;
		fwrite(buf, 1, (size_t)got, out);
	}
	int err = errno;
	close(fd);
	if (got < 0)
		return errmsg_set(e, err, "%s: reading the reply: %s", path, strerror(err));
	if (first)
		return errmsg_set(e, EPIPE, "%s: the VM closed the connection without a reply", path);
	return is_error ? 1 : 0;
}
