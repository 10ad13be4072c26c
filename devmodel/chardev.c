/* Character back-end core: spec parsing, the input ring and its reader thread, and the simple
 * back-ends (null, file=PATH, and the in-memory one that tests, replay and fuzzing drive). */
#include "devmodel/chardev_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- shared helpers ---------------------------------------------------------------------- */

struct chardev *chardev_alloc(const struct chardev_ops *ops, const char *label)
{
	struct chardev *cd = calloc(1, sizeof(*cd));
	if (!cd)
		return NULL;
	cd->label = strdup(label ? label : "chardev");
	if (!cd->label) {
		free(cd);
		return NULL;
	}
	cd->ops = ops;
	cd->fd = cd->aux_fd = cd->stop_fd = -1;
	pthread_mutex_init(&cd->out_lock, NULL);
	pthread_mutex_init(&cd->lock, NULL);
	pthread_cond_init(&cd->space, NULL);
	return cd;
}

void chardev_free(struct chardev *cd)
{
	if (!cd)
		return;
	if (cd->stop_fd >= 0)
		close(cd->stop_fd);
	pthread_cond_destroy(&cd->space);
	pthread_mutex_destroy(&cd->lock);
	pthread_mutex_destroy(&cd->out_lock);
	free(cd->mem);
	free(cd->path);
	free(cd->label);
	free(cd);
}

size_t chardev_write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);
		if (n > 0) {
			done += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Someone made the shared file description non-blocking (stdout inherited
			 * from a parent): wait until it drains rather than lose console output. */
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			if (poll(&p, 1, -1) < 0 && errno != EINTR)
				break;
		} else {
			break;
		}
	}
	return done;
}

ssize_t chardev_read_fd(struct chardev *cd, uint8_t *buf, size_t max)
{
	ssize_t n = read(cd->fd, buf, max);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	return -1;
}

int chardev_fd(struct chardev *cd)
{
	return cd->fd;
}

size_t chardev_write_nonblock(int fd, const uint8_t *buf, size_t len, bool is_socket)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = is_socket ? send(fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT)
				      : write(fd, buf + done, len - done);
		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else
			break; /* EAGAIN (peer slow), EPIPE (peer gone): the rest is dropped */
	}
	return done;
}

size_t chardev_queue_input(struct chardev *cd, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&cd->lock);
	size_t n = CHARDEV_RING_SIZE - cd->count;
	if (n > len)
		n = len;
	for (size_t i = 0; i < n; i++)
		cd->ring[(cd->head + cd->count + i) % CHARDEV_RING_SIZE] = buf[i];
	cd->count += n;
	void (*notify)(void *) = cd->notify;
	void *ctx = cd->notify_ctx;
	pthread_mutex_unlock(&cd->lock);
	/* Outside the lock: the callback may well call chardev_pending() or kick a vCPU that
	 * immediately calls chardev_take_input(). */
	if (n && notify)
		notify(ctx);
	return n;
}

static void *reader_main(void *arg)
{
	struct chardev *cd = arg;
	uint8_t buf[CHARDEV_RING_SIZE];

	for (;;) {
		pthread_mutex_lock(&cd->lock);
		/* Ring full: stop reading so the bytes wait in the kernel (and the peer's flow
		 * control) instead of being dropped here. */
		while (cd->count == CHARDEV_RING_SIZE && !cd->stopping)
			pthread_cond_wait(&cd->space, &cd->lock);
		bool stop = cd->stopping;
		size_t room = CHARDEV_RING_SIZE - cd->count;
		pthread_mutex_unlock(&cd->lock);
		if (stop)
			break;

		int fd = cd->ops->input_fd(cd);
		if (fd < 0)
			break;
		struct pollfd p[2] = {
			{ .fd = cd->stop_fd, .events = POLLIN },
			{ .fd = fd, .events = POLLIN },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents & POLLNVAL)
			break;
		if (!p[1].revents)
			continue;
		/* room only grows while we are outside the lock: only this thread adds bytes. */
		ssize_t n = cd->ops->read_input(cd, buf, room);
		if (n < 0)
			break;
		if (n > 0)
			chardev_queue_input(cd, buf, (size_t)n);
	}
	return NULL;
}

int chardev_start_reader(struct chardev *cd, struct errmsg *e)
{
	cd->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cd->stop_fd < 0)
		return errmsg_set(e, errno, "%s: eventfd: %s", cd->label, strerror(errno));
	/* The reader must not take process-directed signals (SIGINT, SIGTERM, vCPU kicks):
	 * those belong to the main and vCPU threads. The new thread inherits this mask. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&cd->reader, NULL, reader_main, cd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc)
		return errmsg_set(e, rc, "%s: cannot start reader thread: %s", cd->label, strerror(rc));
	cd->reader_started = true;
	return 0;
}

/* ---- null ----------------------------------------------------------------------------------- */

static void null_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	(void)cd, (void)buf, (void)len;
}

static const struct chardev_ops null_ops = {
	.kind = "null",
	.write = null_write,
};

/* ---- file=PATH ---------------------------------------------------------------------------- */

static void file_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&cd->out_lock);
	size_t n = chardev_write_all(cd->fd, buf, len);
	cd->dropped += len - n; /* only on a write error such as ENOSPC */
	pthread_mutex_unlock(&cd->out_lock);
}

static void file_close(struct chardev *cd)
{
	if (cd->fd >= 0)
		close(cd->fd);
	cd->fd = -1;
}

static const struct chardev_ops file_ops = {
	.kind = "file",
	.write = file_write,
	.close = file_close,
};

static struct chardev *open_file(const char *path, const char *label, struct errmsg *e)
{
	struct chardev *cd = chardev_alloc(&file_ops, label);
	if (!cd) {
		errno = ENOMEM;
		errmsg_set(e, ENOMEM, "%s: out of memory", label);
		return NULL;
	}
	cd->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
	if (cd->fd < 0) {
		int err = errno;
		errmsg_set(e, err, "%s: file=%s: %s", label, path, strerror(err));
		chardev_free(cd);
		errno = err;
		return NULL;
	}
	return cd;
}

/* ---- memory (tests, replay, fuzzing) ------------------------------------------------------- */

static void memory_write(struct chardev *cd, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&cd->out_lock);
	if (len > CHARDEV_MEMORY_MAX - cd->mem_len) {
		cd->dropped += len - (CHARDEV_MEMORY_MAX - cd->mem_len);
		len = CHARDEV_MEMORY_MAX - cd->mem_len;
	}
	if (cd->mem_len + len > cd->mem_cap) {
		size_t ncap = cd->mem_cap ? cd->mem_cap : 256;
		while (ncap < cd->mem_len + len)
			ncap *= 2;
		uint8_t *m = realloc(cd->mem, ncap);
		if (!m) {
			cd->dropped += len;
			len = 0;
		} else {
			cd->mem = m;
			cd->mem_cap = ncap;
		}
	}
	if (len)
		memcpy(cd->mem + cd->mem_len, buf, len);
	cd->mem_len += len;
	pthread_mutex_unlock(&cd->out_lock);
}

static const struct chardev_ops memory_ops = {
	.kind = "memory",
	.write = memory_write,
};

struct chardev *chardev_open_memory(void)
{
	struct chardev *cd = chardev_alloc(&memory_ops, "memory");
	if (!cd)
		errno = ENOMEM;
	return cd;
}

size_t chardev_inject_input(struct chardev *cd, const void *buf, size_t len)
{
	if (!cd || !buf)
		return 0;
	return chardev_queue_input(cd, buf, len);
}

const uint8_t *chardev_memory_output(const struct chardev *cd, size_t *len)
{
	if (!cd || cd->ops != &memory_ops) {
		if (len)
			*len = 0;
		return NULL;
	}
	if (len)
		*len = cd->mem_len;
	return cd->mem;
}

void chardev_memory_clear(struct chardev *cd)
{
	if (!cd || cd->ops != &memory_ops)
		return;
	pthread_mutex_lock(&cd->out_lock);
	cd->mem_len = 0;
	pthread_mutex_unlock(&cd->out_lock);
}

/* ---- the public API ------------------------------------------------------------------------ */

static struct chardev *fail(struct errmsg *e, int err, const char *label, const char *what)
{
	errmsg_set(e, err, "%s: %s", label, what);
	errno = err;
	return NULL;
}

struct chardev *chardev_open(const char *spec, const char *label, struct errmsg *e)
{
	if (!label)
		label = "chardev";
	if (!spec || !*spec)
		return fail(e, EINVAL, label, "missing back-end (want stdio, pty, file=PATH, unix=PATH or null)");

	if (strcmp(spec, "null") == 0) {
		struct chardev *cd = chardev_alloc(&null_ops, label);
		return cd ? cd : fail(e, ENOMEM, label, "out of memory");
	}
	if (strcmp(spec, "stdio") == 0)
		return chardev_open_stdio(label, e);
	if (strcmp(spec, "pty") == 0)
		return chardev_open_pty(label, e);
	if (strncmp(spec, "file=", 5) == 0) {
		if (!spec[5])
			return fail(e, EINVAL, label, "file= needs a path");
		return open_file(spec + 5, label, e);
	}
	if (strncmp(spec, "unix=", 5) == 0) {
		if (!spec[5])
			return fail(e, EINVAL, label, "unix= needs a path");
		return chardev_open_unix(spec + 5, label, e);
	}
	errmsg_set(e, EINVAL, "%s: unknown back-end '%s' (want stdio, pty, file=PATH, unix=PATH or null)",
		   label, spec);
	errno = EINVAL;
	return NULL;
}

void chardev_close(struct chardev *cd)
{
	if (!cd)
		return;
	if (cd->reader_started) {
		pthread_mutex_lock(&cd->lock);
		cd->stopping = true;
		pthread_cond_broadcast(&cd->space);
		pthread_mutex_unlock(&cd->lock);
		uint64_t one = 1;
		/* One write to a fresh eventfd cannot fail or block; the result carries nothing. */
		ssize_t r = write(cd->stop_fd, &one, sizeof(one));
		(void)r;
		pthread_join(cd->reader, NULL);
		cd->reader_started = false;
	}
	if (cd->ops->close)
		cd->ops->close(cd);
	chardev_free(cd);
}

void chardev_write(struct chardev *cd, const void *buf, size_t len)
{
	if (!cd || !buf || !len)
		return;
	cd->ops->write(cd, buf, len);
}

void chardev_set_notify(struct chardev *cd, void (*notify)(void *ctx), void *ctx)
{
	if (!cd)
		return;
	pthread_mutex_lock(&cd->lock);
	cd->notify = notify;
	cd->notify_ctx = ctx;
	pthread_mutex_unlock(&cd->lock);
}

size_t chardev_take_input(struct chardev *cd, void *buf, size_t max)
{
	if (!cd || !buf)
		return 0;
	uint8_t *out = buf;
	pthread_mutex_lock(&cd->lock);
	size_t n = cd->count < max ? cd->count : max;
	for (size_t i = 0; i < n; i++)
		out[i] = cd->ring[(cd->head + i) % CHARDEV_RING_SIZE];
	cd->head = (cd->head + n) % CHARDEV_RING_SIZE;
	cd->count -= n;
	if (n)
		pthread_cond_signal(&cd->space); /* a reader parked on a full ring can go on */
	pthread_mutex_unlock(&cd->lock);
	if (n && cd->input_tap)
		cd->input_tap(cd->input_tap_ctx, out, n);
	return n;
}

void chardev_set_input_tap(struct chardev *cd, void (*tap)(void *ctx, const void *buf, size_t len), void *ctx)
{
	cd->input_tap = tap;
	cd->input_tap_ctx = ctx;
}

size_t chardev_pending(struct chardev *cd)
{
	if (!cd)
		return 0;
	pthread_mutex_lock(&cd->lock);
	size_t n = cd->count;
	pthread_mutex_unlock(&cd->lock);
	return n;
}

const char *chardev_path(const struct chardev *cd)
{
	return cd ? cd->path : NULL;
}

uint64_t chardev_dropped(struct chardev *cd)
{
	if (!cd)
		return 0;
	pthread_mutex_lock(&cd->out_lock);
	uint64_t n = cd->dropped;
	pthread_mutex_unlock(&cd->out_lock);
	return n;
}
