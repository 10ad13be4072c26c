/* Network back-end core: spec parsing, the receive queue that back-end threads fill and the vCPU
 * thread drains, and the simple back-ends (null, and the in-memory one tests and fuzzers drive). */
#include "devmodel/net_backend_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct net_backend *net_backend_alloc(const struct net_backend_ops *ops, const char *label)
{
	struct net_backend *nb = calloc(1, sizeof(*nb));
	if (!nb)
		return NULL;
	nb->label = strdup(label ? label : "net");
	if (!nb->label) {
		free(nb);
		return NULL;
	}
	nb->ops = ops;
	nb->fd = nb->stop_fd = -1;
	pthread_mutex_init(&nb->lock, NULL);
	return nb;
}

void net_backend_free(struct net_backend *nb)
{
	for (unsigned i = 0; i < nb->rx_count; i++)
		free(nb->rxq[(nb->rx_head + i) % NET_RXQ_FRAMES].data);
	pthread_mutex_destroy(&nb->lock);
	free(nb->label);
	free(nb);
}

void net_backend_close(struct net_backend *nb)
{
	if (!nb)
		return;
	if (nb->ops->close)
		nb->ops->close(nb);
	net_backend_free(nb);
}

const char *net_backend_name(const struct net_backend *nb)
{
	return nb->ops->name;
}

void net_backend_count_drop(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->lock);
	nb->dropped++;
	pthread_mutex_unlock(&nb->lock);
}

void net_backend_queue_rx(struct net_backend *nb, const uint8_t *frame, size_t len)
{
	uint8_t *copy = len && len <= NET_FRAME_MAX ? malloc(len) : NULL;
	if (copy)
		memcpy(copy, frame, len);
	pthread_mutex_lock(&nb->lock);
	bool queued = copy && nb->rx_count < NET_RXQ_FRAMES;
	if (queued) {
		nb->rxq[(nb->rx_head + nb->rx_count) % NET_RXQ_FRAMES] = (struct net_frame){ copy, len };
		nb->rx_count++;
	} else {
		nb->dropped++;
	}
	void (*notify)(void *) = nb->notify;
	void *ctx = nb->notify_ctx;
	pthread_mutex_unlock(&nb->lock);
	if (!queued)
		free(copy);
	/* Outside the lock: the callback kicks a vCPU that may take the frame at once. */
	else if (notify)
		notify(ctx);
}

void net_backend_set_notify(struct net_backend *nb, void (*notify)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&nb->lock);
	nb->notify = notify;
	nb->notify_ctx = ctx;
	pthread_mutex_unlock(&nb->lock);
}

size_t net_backend_peek(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->lock);
	size_t len = nb->rx_count ? nb->rxq[nb->rx_head].len : 0;
	pthread_mutex_unlock(&nb->lock);
	return len;
}

size_t net_backend_take(struct net_backend *nb, void *buf, size_t max)
{
	pthread_mutex_lock(&nb->lock);
	if (!nb->rx_count) {
		pthread_mutex_unlock(&nb->lock);
		return 0;
	}
	struct net_frame f = nb->rxq[nb->rx_head];
	nb->rx_head = (nb->rx_head + 1) % NET_RXQ_FRAMES;
	nb->rx_count--;
	pthread_mutex_unlock(&nb->lock);
	memcpy(buf, f.data, f.len < max ? f.len : max);
	free(f.data);
	return f.len;
}

uint64_t net_backend_dropped(struct net_backend *nb)
{
	pthread_mutex_lock(&nb->lock);
	uint64_t d = nb->dropped;
	pthread_mutex_unlock(&nb->lock);
	return d;
}

int net_backend_send(struct net_backend *nb, const void *frame, size_t len)
{
	if (len == 0 || len > NET_FRAME_MAX) {
		net_backend_count_drop(nb);
		return -EMSGSIZE;
	}
	int rc = nb->ops->send(nb, frame, len);
	if (rc < 0)
		net_backend_count_drop(nb);
	return rc;
}

/* ---- null ---- */

static int null_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
	(void)nb, (void)frame, (void)len;
	return 0;
}

static const struct net_backend_ops null_ops = { .name = "null", .send = null_send };

/* ---- memory ---- */

struct memory_tx {
	struct net_frame kept[NET_MEMORY_TX];
	uint64_t sent;
};

static int memory_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
	struct memory_tx *m = nb->priv;
	uint8_t *copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, frame, len);
	struct net_frame *slot = &m->kept[m->sent % NET_MEMORY_TX];
	free(slot->data);
	*slot = (struct net_frame){ copy, len };
	m->sent++;
	return 0;
}

static void memory_close(struct net_backend *nb)
{
	struct memory_tx *m = nb->priv;
	for (unsigned i = 0; i < NET_MEMORY_TX; i++)
		free(m->kept[i].data);
	free(m);
}

static const struct net_backend_ops memory_ops = { .name = "memory", .send = memory_send, .close = memory_close };

struct net_backend *net_backend_open_memory(void)
{
	struct net_backend *nb = net_backend_alloc(&memory_ops, "memory");
	if (nb && !(nb->priv = calloc(1, sizeof(struct memory_tx)))) {
		net_backend_free(nb);
		return NULL;
	}
	return nb;
}

int net_backend_inject(struct net_backend *nb, const void *frame, size_t len)
{
	if (len == 0 || len > NET_FRAME_MAX)
		return -EMSGSIZE;
	uint64_t before = net_backend_dropped(nb);
	net_backend_queue_rx(nb, frame, len);
	return net_backend_dropped(nb) == before ? 0 : -ENOBUFS;
}

uint64_t net_backend_memory_sent(struct net_backend *nb)
{
	return nb->ops == &memory_ops ? ((struct memory_tx *)nb->priv)->sent : 0;
}

const uint8_t *net_backend_memory_frame(struct net_backend *nb, unsigned i, size_t *len)
{
	*len = 0;
	if (nb->ops != &memory_ops)
		return NULL;
	struct memory_tx *m = nb->priv;
	if (i >= NET_MEMORY_TX || i >= m->sent)
		return NULL;
	struct net_frame *f = &m->kept[(m->sent - 1 - i) % NET_MEMORY_TX];
	*len = f->len;
	return f->data;
}

/* ---- spec ---- */

struct net_backend *net_backend_open(const char *spec, const char *label, struct errmsg *e)
{
	if (!spec || !*spec) {
		errmsg_set(e, EINVAL, "needs a back-end: tapN, tap=NAME, slirp, unix=PATH or null");
		return NULL;
	}
	if (strcmp(spec, "null") == 0) {
		struct net_backend *nb = net_backend_alloc(&null_ops, label);
		if (!nb)
			errmsg_set(e, ENOMEM, "out of memory");
		return nb;
	}
	if (strcmp(spec, "slirp") == 0)
		return net_backend_open_slirp(label, e);
	if (strncmp(spec, "unix=", 5) == 0 && spec[5])
		return net_backend_open_unix(spec + 5, label, e);
	if (strncmp(spec, "tap=", 4) == 0 && spec[4])
		return net_backend_open_tap(spec + 4, label, e);
	/* bhyve's spelling: tap0, tap1, ... (and vmnetN, which FreeBSD also accepts, is not ours). */
	if (strncmp(spec, "tap", 3) == 0 && spec[3] && strspn(spec + 3, "0123456789") == strlen(spec + 3))
		return net_backend_open_tap(spec, label, e);
	errmsg_set(e, EINVAL, "unknown network back-end '%s' (known: tapN, tap=NAME, slirp, unix=PATH, null)", spec);
	return NULL;
}
