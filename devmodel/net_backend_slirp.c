/* The slirp back-end: user-mode networking through libslirp, so a guest reaches the host and its
 * network without privileges. libslirp is not thread-safe: one lock covers every call into it,
 * from the poll thread (sockets, timers) and from the vCPU thread (frames the guest sends). */
#include "devmodel/net_backend_impl.h"

#include <errno.h>
#include <string.h>

#ifndef DHYVE_HAVE_SLIRP

struct net_backend *net_backend_open_slirp(const char *label, struct errmsg *e)
{
	(void)label;
	errmsg_set(e, ENOTSUP, "slirp: dhyve was built without libslirp (install libslirp-dev and rebuild)");
	return NULL;
}

#else

#include <arpa/inet.h>
#include <libslirp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_TIMERS 16

struct slirp_timer {
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
	bool used;
};

struct slirp_state {
	Slirp *slirp;
	pthread_mutex_t lock;
	struct pollfd *fds; /* [0] is wake_fd, the rest what slirp_pollfds_fill asked for */
	unsigned nfds, cap;
	int wake_fd;
	bool stop;
	struct slirp_timer timers[MAX_TIMERS];
	pthread_t thread;
	bool running;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void wake(struct slirp_state *s)
{
	uint64_t one = 1;
	if (write(s->wake_fd, &one, sizeof(one)) != sizeof(one)) {
		/* the counter is already non-zero: the thread wakes anyway */
	}
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	net_backend_queue_rx(opaque, buf, len);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct net_backend *nb = opaque;
	fprintf(stderr, "dhyve: %s: slirp: %s\n", nb->label, msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct slirp_state *s = ((struct net_backend *)opaque)->priv;
	for (unsigned i = 0; i < MAX_TIMERS; i++)
		if (!s->timers[i].used) {
			s->timers[i] = (struct slirp_timer){ cb, cb_opaque, -1, true };
			return &s->timers[i];
		}
	return NULL;
}

static void cb_timer_free(void *timer, void *opaque)
{
	(void)opaque;
	if (timer)
		((struct slirp_timer *)timer)->used = false;
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	if (!timer)
		return;
	((struct slirp_timer *)timer)->expire_ms = expire_ms;
	wake(((struct net_backend *)opaque)->priv);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd, (void)opaque;
}

static void cb_notify(void *opaque)
{
	wake(((struct net_backend *)opaque)->priv);
}

static const SlirpCb callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_register_poll_fd,
	.notify = cb_notify,
};

static int add_poll(int fd, int events, void *opaque)
{
	struct slirp_state *s = opaque;
	if (s->nfds == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 16;
		struct pollfd *f = realloc(s->fds, cap * sizeof(*f));
		if (!f)
			return -1;
		s->fds = f;
		s->cap = cap;
	}
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	s->fds[s->nfds] = (struct pollfd){ .fd = fd, .events = ev };
	return (int)s->nfds++;
}

static int get_revents(int idx, void *opaque)
{
	struct slirp_state *s = opaque;
	if (idx < 1 || (unsigned)idx >= s->nfds)
		return 0;
	short r = s->fds[idx].revents;
	int ev = 0;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & POLLERR)
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* Runs expired timers; returns ms until the next one (or the given bound). */
static uint32_t run_timers(struct slirp_state *s, uint32_t bound)
{
	int64_t now = now_ns() / 1000000;
	for (unsigned i = 0; i < MAX_TIMERS; i++) {
		struct slirp_timer *t = &s->timers[i];
		if (t->used && t->expire_ms >= 0 && t->expire_ms <= now) {
			t->expire_ms = -1;
			t->cb(t->cb_opaque);
		}
	}
	for (unsigned i = 0; i < MAX_TIMERS; i++) {
		struct slirp_timer *t = &s->timers[i];
		if (t->used && t->expire_ms >= 0 && (uint64_t)(t->expire_ms - now) < bound)
			bound = (uint32_t)(t->expire_ms - now);
	}
	return bound;
}

static void *poll_main(void *arg)
{
	struct net_backend *nb = arg;
	struct slirp_state *s = nb->priv;
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		uint32_t timeout = 1000;
		s->nfds = 0;
		add_poll(s->wake_fd, SLIRP_POLL_IN, s);
		slirp_pollfds_fill(s->slirp, &timeout, add_poll, s);
		timeout = run_timers(s, timeout);
		unsigned n = s->nfds;
		pthread_mutex_unlock(&s->lock);
		int rc = poll(s->fds, n, (int)timeout);
		int err = rc < 0 && errno != EINTR;
		pthread_mutex_lock(&s->lock);
		if (s->fds[0].revents & POLLIN) {
			uint64_t v;
			if (read(s->wake_fd, &v, sizeof(v)) < 0) {
				/* nothing to drain */
			}
		}
		slirp_pollfds_poll(s->slirp, err, get_revents, s);
		run_timers(s, 0);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int slirp_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
	struct slirp_state *s = nb->priv;
	pthread_mutex_lock(&s->lock);
	slirp_input(s->slirp, frame, (int)len);
	pthread_mutex_unlock(&s->lock);
	wake(s); /* a new connection or timer for the poll thread */
	return 0;
}

static void slirp_close(struct net_backend *nb)
{
	struct slirp_state *s = nb->priv;
	if (!s)
		return;
	if (s->running) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_mutex_unlock(&s->lock);
		wake(s);
		pthread_join(s->thread, NULL);
	}
	if (s->slirp)
		slirp_cleanup(s->slirp);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	free(s->fds);
	free(s);
}

static const struct net_backend_ops slirp_ops = { .name = "slirp", .send = slirp_send, .close = slirp_close };

struct net_backend *net_backend_open_slirp(const char *label, struct errmsg *e)
{
	struct net_backend *nb = net_backend_alloc(&slirp_ops, label);
	struct slirp_state *s = nb ? calloc(1, sizeof(*s)) : NULL;
	if (!s) {
		if (nb)
			net_backend_free(nb);
		errmsg_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	nb->priv = s;
	pthread_mutex_init(&s->lock, NULL);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	/* QEMU's user networking defaults, so guests and habits carry over. */
	SlirpConfig cfg = { .version = 4, .in_enabled = true };
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
	inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
	cfg.vhostname = "dhyve";
	if (s->wake_fd >= 0)
		s->slirp = slirp_new(&cfg, &callbacks, nb);
	int rc = !s->slirp ? ENOMEM : pthread_create(&s->thread, NULL, poll_main, nb);
	if (rc) {
		errmsg_set(e, rc, "slirp: cannot start: %s", strerror(rc));
		net_backend_close(nb);
		return NULL;
	}
	s->running = true;
	return nb;
}

#endif
