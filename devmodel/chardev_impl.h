/* Inside the character back-ends: the shared struct chardev (input ring, reader thread) and the
 * small ops table each back-end (stdio, pty, unix socket, file, null, memory) fills in. */
#ifndef DHYVE_DEVMODEL_CHARDEV_IMPL_H
#define DHYVE_DEVMODEL_CHARDEV_IMPL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/errmsg.h"
#include "devmodel/chardev.h"

/* Queued input not yet taken by the vCPU. When it is full the reader thread stops reading
 * (the kernel buffers and then the peer's flow control take over), so no byte is dropped. */
#define CHARDEV_RING_SIZE 4096

/* Memory back-end: output beyond this is dropped and counted, so a fuzz run that prints
 * forever cannot exhaust the host. */
#define CHARDEV_MEMORY_MAX (16u << 20)

struct chardev_ops {
	const char *kind;
	/* Guest output; must not block on a peer that does not read (see chardev.h). */
	void (*write)(struct chardev *cd, const uint8_t *buf, size_t len);
	/* Reader thread only. The fd to wait on for input, or -1 for none (then the thread
	 * ends). Called before each wait, so a socket back-end can switch between its listening
	 * socket and a connected client. */
	int (*input_fd)(struct chardev *cd);
	/* Reader thread only, after poll() said input_fd is ready: read at most max bytes.
	 * Returns > 0 bytes read, 0 for "nothing now, wait again" (EAGAIN, a client accepted or
	 * gone), < 0 when input has ended for good (EOF on stdin): the thread then exits. */
	ssize_t (*read_input)(struct chardev *cd, uint8_t *buf, size_t max);
	/* Releases the back-end's resources; the reader thread has already been joined. */
	void (*close)(struct chardev *cd);
};

struct chardev {
	const struct chardev_ops *ops;
	char *label;          /* "com1", for messages */
	char *path;           /* pty or socket path, or NULL */
	int fd;               /* stdio: stdin; pty: master; unix: listening socket; file: the file */
	int aux_fd;           /* pty: our slave fd; unix: the client (-1 if none), under out_lock */
	pthread_mutex_t out_lock; /* serialises output and client changes */
	uint64_t dropped;     /* output bytes dropped (no peer, peer too slow); under out_lock */

	/* Input ring, under lock; space is signalled when the vCPU takes bytes or on close. */
	pthread_mutex_t lock;
	pthread_cond_t space;
	uint8_t ring[CHARDEV_RING_SIZE];
	size_t head, count;
	bool stopping;
	void (*notify)(void *ctx);
	void *notify_ctx;
	void (*input_tap)(void *ctx, const void *buf, size_t len); /* told what the device took */
	void *input_tap_ctx;

	pthread_t reader;
	bool reader_started;
	int stop_fd;          /* eventfd written by chardev_close to wake the reader's poll() */

	/* Memory back-end's captured output, under out_lock. */
	uint8_t *mem;
	size_t mem_len, mem_cap;
};

/* Allocates a chardev with no back-end resources yet (fd, aux_fd = -1). */
struct chardev *chardev_alloc(const struct chardev_ops *ops, const char *label);
/* Frees what chardev_alloc allocated; for failed opens before the reader starts. */
void chardev_free(struct chardev *cd);
/* Starts the reader thread (all signals blocked in it). */
int chardev_start_reader(struct chardev *cd, struct errmsg *e);
/* Appends to the input ring whatever fits; returns bytes queued and calls notify. */
size_t chardev_queue_input(struct chardev *cd, const uint8_t *buf, size_t len);

/* Writes all of buf (loops on partial writes and EINTR, and waits out EAGAIN should the fd
 * be non-blocking); returns the bytes written, less than len only on an error. */
size_t chardev_write_all(int fd, const uint8_t *buf, size_t len);
/* The read_input of back-ends that read cd->fd: bytes read, 0 for "try again", -1 when input
 * has ended (EOF or an error). */
ssize_t chardev_read_fd(struct chardev *cd, uint8_t *buf, size_t max);
/* The input_fd of back-ends whose input is cd->fd. */
int chardev_fd(struct chardev *cd);
/* One non-blocking attempt (plus EINTR retries) to write buf; returns bytes written (the
 * rest is the caller's to drop). send() with MSG_NOSIGNAL when is_socket so a vanished
 * peer gives EPIPE instead of SIGPIPE. */
size_t chardev_write_nonblock(int fd, const uint8_t *buf, size_t len, bool is_socket);

/* Back-end constructors called by chardev_open(); on failure NULL, e and errno set. */
struct chardev *chardev_open_stdio(const char *label, struct errmsg *e);
struct chardev *chardev_open_pty(const char *label, struct errmsg *e);
struct chardev *chardev_open_unix(const char *path, const char *label, struct errmsg *e);

#endif
