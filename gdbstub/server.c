/* The stub's socket and thread: listen, accept one gdb at a time, and one poll loop over the
 * listening socket, the client, the event fd vCPU handlers signal stops on, and the VM's end. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdbstub/stub_impl.h"

#define TX_CAP (2 * GDB_PACKET_MAX + 8) /* worst case: every byte escaped, plus framing */

/* ---- sending ------------------------------------------------------------------------------- */

static void write_all(struct gdbstub *s, const char *buf, size_t len)
{
	while (len > 0 && s->client_fd >= 0) {
		ssize_t n = send(s->client_fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* gdb went away: the poll loop sees the hang-up and cleans up */
		buf += n;
		len -= (size_t)n;
	}
}

void stub_send_packet(struct gdbstub *s, const char *body, size_t len)
{
	size_t n = gdb_encode_packet(body, len, s->tx, TX_CAP);
	if (n == 0)
		n = gdb_encode_packet("E01", 3, s->tx, TX_CAP); /* cannot happen: replies fit by design */
	s->tx_len = n;
	write_all(s, s->tx, n);
}

void stub_send_str(struct gdbstub *s, const char *body)
{
	stub_send_packet(s, body, strlen(body));
}

static void send_stop_reply(struct gdbstub *s)
{
	char buf[128];
	session_format_stop(s, buf, sizeof(buf));
	stub_send_str(s, buf);
}

/* ---- connections --------------------------------------------------------------------------- */

void stub_close_client(struct gdbstub *s)
{
	if (s->client_fd >= 0)
		close(s->client_fd);
	s->client_fd = -1;
}

/* gdb left without detaching (or the connection broke): behave as a detach, so the guest runs on
 * without our int3s in it. */
static void drop_client(struct gdbstub *s)
{
	stub_close_client(s);
	if (vm_ended(s->vm))
		return;
	runctl_stop_all(s, GDB_SIGINT, 0);
	runctl_release(s);
}

static void accept_client(struct gdbstub *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (s->vm_gone) {
		close(fd); /* nothing left to debug; gdbstub_destroy is on its way */
		return;
	}
	if (s->client_fd >= 0) {
		fprintf(stderr, "dhyve: gdb: refusing a second connection\n");
		static const char busy[] = "$E01#a6";
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* nothing to do: we close it anyway */
		}
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->client_fd = fd;
	session_reset(s);
	/* All-stop: gdb expects a stopped target when it attaches. */
	runctl_stop_all(s, GDB_SIGTRAP, 0);
	pthread_mutex_lock(&s->lock);
	s->attached = true;
	pthread_mutex_unlock(&s->lock);
}

static void on_bytes(struct gdbstub *s, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n && s->client_fd >= 0; i++) {
		switch (gdb_decode_byte(&s->dec, buf[i])) {
		case GDB_DEC_PACKET:
			if (!s->noack)
				write_all(s, "+", 1);
			/* All-stop: while the guest runs gdb sends only Ctrl-C; anything else waits for
			 * nothing and gets nothing, so a confused client cannot touch running vCPUs. */
			if (s->paused)
				session_handle_packet(s, s->dec.body, s->dec.len);
			break;
		case GDB_DEC_BAD_CHECKSUM:
		case GDB_DEC_OVERFLOW:
			if (!s->noack)
				write_all(s, "-", 1);
			break;
		case GDB_DEC_INTERRUPT:
			if (!s->paused) {
				unsigned cur = s->stop.vcpu < s->ncpus ? s->stop.vcpu : 0;
				runctl_stop_all(s, GDB_SIGINT, cur);
				send_stop_reply(s);
			}
			break;
		case GDB_DEC_NACK:
			if (s->tx_len)
				write_all(s, s->tx, s->tx_len);
			break;
		case GDB_DEC_ACK:
		case GDB_DEC_NONE:
			break;
		}
	}
}

static void read_client(struct gdbstub *s)
{
	uint8_t buf[4096];
	ssize_t n = recv(s->client_fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		drop_client(s);
		return;
	}
	on_bytes(s, buf, (size_t)n);
}

/* The VM ended: tell gdb how ("W" with the exit status) and hang up. */
static void vm_has_ended(struct gdbstub *s)
{
	s->vm_gone = true;
	if (s->client_fd < 0)
		return;
	char buf[16];
	snprintf(buf, sizeof(buf), "W%02x", vm_exit_status(s->vm) & 0xff);
	stub_send_str(s, buf);
	stub_close_client(s);
}

/* ---- the thread ---------------------------------------------------------------------------- */

static bool quitting(struct gdbstub *s)
{
	pthread_mutex_lock(&s->lock);
	bool q = s->quit;
	pthread_mutex_unlock(&s->lock);
	return q;
}

static void *stub_main(void *arg)
{
	struct gdbstub *s = arg;
	while (!quitting(s)) {
		struct pollfd fds[4];
		int n = 0, end_i = -1, client_i = -1;
		fds[n++] = (struct pollfd){ .fd = s->event_fd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = s->listen_fd, .events = POLLIN };
		if (!s->vm_gone) {
			end_i = n; /* readable for good once ended: we never read it (the CLI polls it too) */
			fds[n++] = (struct pollfd){ .fd = vm_end_fd(s->vm), .events = POLLIN };
		}
		if (s->client_fd >= 0) {
			client_i = n;
			fds[n++] = (struct pollfd){ .fd = s->client_fd, .events = POLLIN };
		}
		if (poll(fds, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		if (fds[0].revents) {
			uint64_t count;
			if (read(s->event_fd, &count, sizeof(count)) < 0) {
				/* EAGAIN: another wake-up took it */
			}
			if (s->client_fd >= 0 && !s->vm_gone && runctl_collect_stop(s))
				send_stop_reply(s);
		}
		if (end_i >= 0 && fds[end_i].revents) {
			vm_has_ended(s);
			continue;
		}
		if (client_i >= 0 && fds[client_i].revents && s->client_fd >= 0)
			read_client(s);
		if (fds[1].revents)
			accept_client(s);
	}
	if (s->client_fd >= 0) {
		if (vm_ended(s->vm))
			vm_has_ended(s);
		else
			drop_client(s);
	} else if (s->paused) {
		runctl_release(s); /* -G w and gdb never came: let the guest go */
	}
	return NULL;
}

/* ---- creation ------------------------------------------------------------------------------ */

static int listen_on(struct gdbstub *s, uint16_t port, struct errmsg *e)
{
	char portstr[8];
	snprintf(portstr, sizeof(portstr), "%u", port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	int rc = getaddrinfo(s->bind_addr, portstr, &hints, &res);
	if (rc != 0)
		return errmsg_set(e, EINVAL, "gdb: cannot resolve %s: %s", s->bind_addr, gai_strerror(rc));
	int err = EADDRNOTAVAIL;
	for (struct addrinfo *ai = res; ai && s->listen_fd < 0; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
			err = errno;
			close(fd);
			continue;
		}
		s->listen_fd = fd;
	}
	freeaddrinfo(res);
	if (s->listen_fd < 0)
		return errmsg_set(e, err, "gdb: cannot listen on %s:%u: %s", s->bind_addr, port, strerror(err));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &sl) == 0)
		s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							  : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static void free_stub(struct gdbstub *s)
{
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->event_fd >= 0)
		close(s->event_fd);
	pthread_mutex_destroy(&s->lock);
	free(s->tx);
	free(s->reply);
	free(s);
}

struct gdbstub *gdbstub_create(struct vm *vm, const struct gdbstub_config *cfg, struct errmsg *e)
{
	struct gdbstub *s = calloc(1, sizeof(*s));
	if (!s) {
		errmsg_set(e, ENOMEM, "gdb: out of memory");
		return NULL;
	}
	s->vm = vm;
	s->ncpus = vm_ncpus(vm);
	s->tracer = cfg->tracer;
	s->listen_fd = s->client_fd = s->event_fd = -1;
	snprintf(s->bind_addr, sizeof(s->bind_addr), "%s", cfg->bind_addr && cfg->bind_addr[0] ? cfg->bind_addr : "127.0.0.1");
	pthread_mutex_init(&s->lock, NULL);
	for (unsigned i = 0; i < s->ncpus; i++)
		s->vcpus[i] = (struct stub_vcpu){ .vcpu = vm_vcpu(vm, i), .index = i, .action = ACT_CONTINUE,
						  .step_over_sw = -1, .step_over_hw = -1 };
	s->tx = malloc(TX_CAP);
	s->reply = malloc(GDB_PACKET_MAX + 1);
	if (!s->tx || !s->reply) {
		errmsg_set(e, ENOMEM, "gdb: out of memory");
		goto fail;
	}
	s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->event_fd < 0) {
		errmsg_set(e, errno, "gdb: eventfd: %s", strerror(errno));
		goto fail;
	}
	if (listen_on(s, cfg->port, e) < 0)
		goto fail;
	s->dr_watch_works = dr_probe_data_watch();
	runctl_install(s);
	if (cfg->wait) {
		/* Every vCPU parks before its first instruction; gdb finds a stopped target. */
		vm_pause_request(vm);
		s->stop_requested = s->paused = true;
		s->stop = (struct stop_event){ 0, GDB_SIGTRAP, STOP_SIGNAL, 0 };
	}
	int rc = pthread_create(&s->thread, NULL, stub_main, s);
	if (rc) {
		errmsg_set(e, rc, "gdb: cannot start the stub thread: %s", strerror(rc));
		if (cfg->wait)
			vm_resume_all(vm);
		runctl_uninstall(s);
		goto fail;
	}
	s->thread_started = true;
	pthread_setname_np(s->thread, "gdbstub");
	return s;
fail:
	free_stub(s);
	return NULL;
}

uint16_t gdbstub_port(const struct gdbstub *s)
{
	return s ? s->port : 0;
}

void gdbstub_destroy(struct gdbstub *s)
{
	if (!s)
		return;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		s->quit = true;
		pthread_mutex_unlock(&s->lock);
		uint64_t one = 1;
		if (write(s->event_fd, &one, sizeof(one)) < 0) {
			/* cannot fail */
		}
		pthread_join(s->thread, NULL);
	}
	/* No handler of ours may run after this: swap them back with every vCPU parked (a vCPU
	 * thread that has left its loop counts as parked). */
	vm_pause_all(s->vm);
	runctl_uninstall(s);
	vm_resume_all(s->vm);
	free_stub(s);
}
