/* What the network back-end files (net_backend*.c) share: the ops table, the receive queue and
 * the fd reader thread used by tap and the unix socket. Devices use net_backend.h only. */
#ifndef DHYVE_DEVMODEL_NET_BACKEND_IMPL_H
#define DHYVE_DEVMODEL_NET_BACKEND_IMPL_H

#include <pthread.h>
#include <stdbool.h>

#include "devmodel/net_backend.h"

struct net_backend_ops {
	const char *name;
	/* Hands a frame to the host; never blocks. 0 or -errno (the frame is counted as dropped). */
	int (*send)(struct net_backend *nb, const uint8_t *frame, size_t len);
	/* Stops the back-end's thread and frees its state (not nb itself). */
	void (*close)(struct net_backend *nb);
};

struct net_frame {
	uint8_t *data;
	size_t len;
};

struct net_backend {
	const struct net_backend_ops *ops;
	char *label;
	pthread_mutex_t lock; /* the receive queue, counters, notify */
	struct net_frame rxq[NET_RXQ_FRAMES];
	unsigned rx_head, rx_count;
	uint64_t dropped;
	void (*notify)(void *ctx);
	void *notify_ctx;
	/* fd back-ends (tap, unix): the reader thread polls fd and stop_fd. */
	int fd, stop_fd;
	pthread_t reader;
	bool reader_running;
	bool is_socket;
	void *priv; /* slirp's state; the memory back-end's sent frames */
};

struct net_backend *net_backend_alloc(const struct net_backend_ops *ops, const char *label);
void net_backend_free(struct net_backend *nb);
/* Queues a frame from the host (a copy) and notifies; on a full queue it is dropped. */
void net_backend_queue_rx(struct net_backend *nb, const uint8_t *frame, size_t len);
void net_backend_count_drop(struct net_backend *nb);

/* net_backend_fd.c: tap and unix=PATH; net_backend_slirp.c: slirp (or a stub that says it is not
 * built in). Each returns nb, or NULL with e set. */
struct net_backend *net_backend_open_tap(const char *ifname, const char *label, struct errmsg *e);
struct net_backend *net_backend_open_unix(const char *path, const char *label, struct errmsg *e);
struct net_backend *net_backend_open_slirp(const char *label, struct errmsg *e);

#endif
