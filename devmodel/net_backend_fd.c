/* Network back-ends on a file descriptor that carries one frame per read and write: a tap
 * interface (/dev/net/tun, IFF_TAP | IFF_NO_PI) and a SOCK_SEQPACKET unix socket. A reader thread
 * queues what arrives; sends are non-blocking writes from the vCPU thread. */
#include "devmodel/net_backend_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void *reader_main(void *arg)
{
	struct net_backend *nb = arg;
	uint8_t *buf = malloc(NET_FRAME_MAX);
	if (!buf)
		return NULL;
	for (;;) {
		struct pollfd p[2] = { { .fd = nb->fd, .events = POLLIN }, { .fd = nb->stop_fd, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN) {
			ssize_t n = nb->is_socket ? recv(nb->fd, buf, NET_FRAME_MAX, MSG_DONTWAIT | MSG_TRUNC)
						  : read(nb->fd, buf, NET_FRAME_MAX);
			if (n > NET_FRAME_MAX)
				net_backend_count_drop(nb); /* a message longer than any frame */
			else if (n > 0)
				net_backend_queue_rx(nb, buf, (size_t)n);
			else if (n == 0 && nb->is_socket)
				break; /* the peer went away: the link is down from now on */
			else if (n < 0 && errno != EINTR && errno != EAGAIN)
				break;
		} else if (p[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
			break;
		}
	}
	free(buf);
	return NULL;
}

static int fd_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
	ssize_t n;
	do
		n = nb->is_socket ? send(nb->fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL) : write(nb->fd, frame, len);
	while (n < 0 && errno == EINTR);
	/* EAGAIN: the host side is slow; dropping is what a real wire does. */
	return n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
}

static void fd_close(struct net_backend *nb)
{
	if (nb->reader_running) {
		uint64_t one = 1;
		if (write(nb->stop_fd, &one, sizeof(one)) != sizeof(one)) {
			/* an eventfd write of 1 cannot fail short of overflow */
		}
		pthread_join(nb->reader, NULL);
	}
	if (nb->stop_fd >= 0)
		close(nb->stop_fd);
	if (nb->fd >= 0)
		close(nb->fd);
}

static const struct net_backend_ops tap_ops = { .name = "tap", .send = fd_send, .close = fd_close };
static const struct net_backend_ops unix_ops = { .name = "unix", .send = fd_send, .close = fd_close };

/* Takes fd; starts the reader. */
static struct net_backend *start(const struct net_backend_ops *ops, int fd, bool is_socket, const char *label,
				 struct errmsg *e)
{
	struct net_backend *nb = net_backend_alloc(ops, label);
	if (!nb) {
		close(fd);
		errmsg_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	nb->fd = fd;
	nb->is_socket = is_socket;
	nb->stop_fd = eventfd(0, EFD_CLOEXEC);
	int rc = nb->stop_fd < 0 ? errno : pthread_create(&nb->reader, NULL, reader_main, nb);
	if (rc) {
		errmsg_set(e, rc, "cannot start the receive thread: %s", strerror(rc));
		net_backend_close(nb);
		return NULL;
	}
	nb->reader_running = true;
	return nb;
}

struct net_backend *net_backend_open_tap(const char *ifname, const char *label, struct errmsg *e)
{
	if (strlen(ifname) >= IFNAMSIZ) {
		errmsg_set(e, EINVAL, "tap interface name '%s' is too long", ifname);
		return NULL;
	}
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		errmsg_set(e, err, "%s: /dev/net/tun: %s (tap networking needs the tun driver; 'slirp' needs "
			   "no privileges)", ifname, strerror(err));
		return NULL;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;
		close(fd);
		errmsg_set(e, err, "%s: TUNSETIFF: %s%s", ifname, strerror(err),
			   err == EPERM ? " (creating a tap needs CAP_NET_ADMIN, or a tap the caller owns; 'slirp' needs "
					  "no privileges)" : "");
		return NULL;
	}
	return start(&tap_ops, fd, false, label, e);
}

struct net_backend *net_backend_open_unix(const char *path, const char *label, struct errmsg *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errmsg_set(e, ENAMETOOLONG, "unix=%s: path too long", path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path));
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		errmsg_set(e, err, "unix=%s: %s (a SOCK_SEQPACKET peer must listen there)", path,
			   strerror(err));
		return NULL;
	}
	return start(&unix_ops, fd, true, label, e);
}
