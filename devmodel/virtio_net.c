/* virtio-net: transmit chains become frames for the back-end; frames the back-end queued are
 * placed into receive buffers on the vCPU thread, at an exit (door 5), whole or not at all. */
#include "devmodel/virtio_net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLASS_NETWORK_ETHERNET 0x020000
#define NUM_BUFFERS_OFF 10 /* of num_buffers in the header */

struct net {
	struct net_backend *be;
	uint8_t mac[6];
	/* One frame taken from the back-end, waiting for receive buffers: header then frame. */
	size_t held;           /* frame bytes, 0: none */
	uint8_t *buf;          /* VIRTIO_NET_HDR_LEN + NET_FRAME_MAX */
	struct vq_chain chain; /* 4 KiB: too big for the vCPU thread's stack each time */
	uint16_t heads[VIRTIO_NET_QUEUE_SIZE];
	uint32_t lens[VIRTIO_NET_QUEUE_SIZE];
	const struct gmem *mem;  /* the transport's view, told which bytes the device touched (door 2) */
};

/* ---- transmit ---- */

/* The readable bytes of the chain, gathered into n->buf; SIZE_MAX when longer than any frame. */
static size_t gather(struct net *n)
{
	size_t total = 0;
	for (unsigned i = 0; i < n->chain.nseg; i++) {
		const struct vq_seg *g = &n->chain.seg[i];
		/* Nothing for the device to write on transmit; an empty buffer maps to no memory at all. */
		if (g->writable || !g->len)
			continue;
		if (g->len > VIRTIO_NET_HDR_LEN + NET_FRAME_MAX - total)
			return SIZE_MAX;
		memcpy(n->buf + total, g->host, g->len);
		gmem_note_read(n->mem, g->gpa, g->len);
		total += g->len;
	}
	return total;
}

static void net_tx(struct net *n, struct virtio_pci *vp)
{
	n->mem = vp->mem;
	unsigned done = 0;
	while (virtio_pci_pop(vp, VIRTIO_NET_TXQ, &n->chain) == 1) {
		size_t total = gather(n);
		/* We offer no offloads, so the header says nothing we must act on. */
		if (total != SIZE_MAX && total > VIRTIO_NET_HDR_LEN)
			net_backend_send(n->be, n->buf + VIRTIO_NET_HDR_LEN, total - VIRTIO_NET_HDR_LEN);
		else
			net_backend_send(n->be, NULL, 0); /* counted as dropped */
		n->heads[done] = n->chain.head;
		n->lens[done] = 0;
		if (++done == VIRTIO_NET_QUEUE_SIZE) {
			virtio_pci_push_n(vp, VIRTIO_NET_TXQ, n->heads, n->lens, done);
			done = 0;
		}
	}
	virtio_pci_push_n(vp, VIRTIO_NET_TXQ, n->heads, n->lens, done);
}

/* ---- receive ---- */

/* Copies buf[off, off+len) into the chain's writable buffers in order; returns what fitted. The
 * bytes of num_buffers are remembered in *nb_at (NULL where the chain did not hold them). */
static size_t scatter(struct net *n, size_t off, size_t len, uint8_t *nb_at[2], uint64_t nb_gpa[2])
{
	size_t done = 0;
	for (unsigned i = 0; i < n->chain.nseg && done < len; i++) {
		const struct vq_seg *g = &n->chain.seg[i];
		if (!g->writable || !g->len)
			continue;
		size_t k = g->len < len - done ? g->len : len - done;
		for (unsigned b = 0; b < 2 && nb_at; b++)
			if (off + done <= NUM_BUFFERS_OFF + b && NUM_BUFFERS_OFF + b < off + done + k) {
				nb_at[b] = g->host + (NUM_BUFFERS_OFF + b - (off + done));
				nb_gpa[b] = g->gpa + (NUM_BUFFERS_OFF + b - (off + done));
			}
		memcpy(g->host, n->buf + off + done, k);
		gmem_note_write(n->mem, g->gpa, k);
		done += k;
	}
	return done;
}

enum place { PLACED, NO_ROOM_YET, DROP };

/* Puts the held frame (with its header) into one chain, or several with MRG_RXBUF. */
static enum place place(struct net *n, struct virtio_pci *vp, bool mrg)
{
	size_t total = VIRTIO_NET_HDR_LEN + n->held, off = 0;
	uint16_t qsize = vp->vq[VIRTIO_NET_RXQ].size;
	uint8_t *nb_at[2] = { NULL, NULL };
	uint64_t nb_gpa[2] = { 0, 0 };
	unsigned used = 0;
	memset(n->buf, 0, VIRTIO_NET_HDR_LEN);
	n->buf[NUM_BUFFERS_OFF] = 1;
	while (off < total) {
		int rc = virtio_pci_pop(vp, VIRTIO_NET_RXQ, &n->chain);
		if (rc < 0)
			return NO_ROOM_YET; /* the device is broken until reset: nothing more goes in */
		if (rc == 0 || used == qsize) {
			virtio_pci_unpop(vp, VIRTIO_NET_RXQ, used + (rc == 1));
			/* Every buffer of the ring and still too little: this frame never fits. */
			return used == qsize ? DROP : NO_ROOM_YET;
		}
		size_t k = scatter(n, off, total - off, used == 0 ? nb_at : NULL, nb_gpa);
		if (!mrg && k < total) {
			virtio_pci_unpop(vp, VIRTIO_NET_RXQ, 1); /* the buffer may suit a smaller frame */
			return DROP;
		}
		n->heads[used] = n->chain.head;
		n->lens[used] = (uint32_t)k;
		used++;
		off += k;
	}
	/* The header's num_buffers, now that it is known (the driver reads it only after the push). */
	for (unsigned b = 0; b < 2; b++)
		if (nb_at[b]) {
			*nb_at[b] = (uint8_t)(used >> (8 * b));
			gmem_note_write(n->mem, nb_gpa[b], 1);
		}
	virtio_pci_push_n(vp, VIRTIO_NET_RXQ, n->heads, n->lens, used);
	return PLACED;
}

static void net_rx(struct net *n, struct virtio_pci *vp)
{
	n->mem = vp->mem;
	/* Before the driver is up (or after it broke the device) there is no link: frames go. */
	bool ready = virtio_pci_ready(vp) && vp->vq[VIRTIO_NET_RXQ].enabled;
	bool mrg = virtio_pci_negotiated(vp, VIRTIO_NET_F_MRG_RXBUF);
	for (;;) {
		if (!n->held) {
			size_t len = net_backend_take(n->be, n->buf + VIRTIO_NET_HDR_LEN, NET_FRAME_MAX);
			if (len == 0)
				return;
			if (len > NET_FRAME_MAX)
				continue;
			n->held = len;
		}
		enum place p = ready ? place(n, vp, mrg) : DROP;
		if (p == NO_ROOM_YET)
			return; /* kept until the driver adds buffers (its notify brings us back) */
		n->held = 0;
	}
}

static void net_notify(void *dev, struct virtio_pci *vp, unsigned q)
{
	struct net *n = dev;
	if (q == VIRTIO_NET_TXQ)
		net_tx(n, vp);
	else
		net_rx(n, vp); /* new receive buffers: frames that waited can go in */
}

static void net_poll_input(void *dev, struct virtio_pci *vp)
{
	net_rx(dev, vp);
}

static void net_cfg_read(void *dev, unsigned off, unsigned size, uint64_t *val)
{
	struct net *n = dev;
	uint8_t cfg[VIRTIO_NET_CFG_LEN];
	uint16_t status = VIRTIO_NET_S_LINK_UP;
	memcpy(cfg, n->mac, 6);
	memcpy(cfg + 6, &status, 2);
	uint64_t v = 0;
	memcpy(&v, cfg + off, size);
	*val = v;
}

static void net_reset(void *dev)
{
	((struct net *)dev)->held = 0;
}

static void net_destroy(void *dev)
{
	struct net *n = dev;
	net_backend_close(n->be);
	free(n->buf);
	free(n);
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = 1,
	.class_code = CLASS_NETWORK_ETHERNET,
	.nqueues = 2,
	.queue_size = VIRTIO_NET_QUEUE_SIZE,
	.cfg_len = VIRTIO_NET_CFG_LEN,
	.cfg_read = net_cfg_read,
	.queue_notify = net_notify,
	.poll_input = net_poll_input,
	.reset = net_reset,
	.destroy = net_destroy,
};

void virtio_net_default_mac(const char *vm_name, unsigned slot, unsigned fn, uint8_t mac[6])
{
	char key[300];
	snprintf(key, sizeof(key), "%s/%u/%u", vm_name ? vm_name : "", slot, fn);
	uint64_t h = 14695981039346656037ull; /* FNV-1a, 64 bits */
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	mac[0] = 0x02; /* locally administered, unicast */
	for (unsigned i = 1; i < 6; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
}

int virtio_net_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char sep[5], tail;
	if (sscanf(s, "%2x%c%2x%c%2x%c%2x%c%2x%c%2x%c", &v[0], &sep[0], &v[1], &sep[1], &v[2], &sep[2], &v[3],
		   &sep[3], &v[4], &sep[4], &v[5], &tail) != 11 || strlen(s) != 17)
		return -EINVAL;
	for (unsigned i = 0; i < 5; i++)
		if (sep[i] != sep[0] || (sep[i] != ':' && sep[i] != '-'))
			return -EINVAL;
	for (unsigned i = 0; i < 17; i++)
		if (i % 3 != 2 && !((s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')))
			return -EINVAL;
	if (v[0] & 1)
		return -EINVAL; /* a multicast address cannot be a station's */
	for (unsigned i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

int virtio_net_add(struct pci_bus *bus, unsigned slot, unsigned fn, struct net_backend *be, const uint8_t mac[6],
		   struct virtio_pci **out, struct errmsg *e)
{
	struct net *n = calloc(1, sizeof(*n));
	uint8_t *buf = n ? malloc(VIRTIO_NET_HDR_LEN + NET_FRAME_MAX) : NULL;
	if (!buf) {
		free(n);
		net_backend_close(be);
		return errmsg_set(e, ENOMEM, "out of memory");
	}
	n->be = be;
	n->buf = buf;
	if (mac)
		memcpy(n->mac, mac, 6);
	else
		virtio_net_default_mac(pci_bus_config(bus)->vm_name, slot, fn, n->mac);
	int rc = virtio_pci_add(bus, slot, fn, &net_ops, n,
				VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MRG_RXBUF, out, e);
	if (rc < 0)
		return rc;
	/* From now on a received frame makes the VM kick a vCPU, which takes it at that exit. */
	const struct pci_bus_config *cfg = pci_bus_config(bus);
	net_backend_set_notify(be, cfg->input_notify, cfg->input_ctx);
	return 0;
}

int pci_virtio_net_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e)
{
	char *copy = strdup(conf ? conf : "");
	if (!copy)
		return errmsg_set(e, ENOMEM, "out of memory");
	char *save = NULL, *spec = strtok_r(copy, ",", &save);
	uint8_t mac[6];
	bool have_mac = false;
	int rc = 0;
	if (!spec || copy[0] == ',') {
		rc = errmsg_set(e, EINVAL, "needs a back-end: -s slot,virtio-net,tapN|tap=NAME|slirp|unix=PATH|null"
				"[,mac=xx:xx:xx:xx:xx:xx]");
		goto out;
	}
	for (char *opt; (opt = strtok_r(NULL, ",", &save));) {
		if (strncmp(opt, "mac=", 4) == 0 && virtio_net_parse_mac(opt + 4, mac) == 0) {
			have_mac = true;
		} else {
			rc = errmsg_set(e, EINVAL, "unknown or bad option '%s' (known: mac=xx:xx:xx:xx:xx:xx, unicast)", opt);
			goto out;
		}
	}
	char label[32];
	snprintf(label, sizeof(label), "virtio-net %u:%u", slot, fn);
	struct errmsg why = { "" };
	struct net_backend *be = net_backend_open(spec, label, &why);
	if (!be) {
		rc = errmsg_set(e, EINVAL, "%s", why.text);
		goto out;
	}
	rc = virtio_net_add(bus, slot, fn, be, have_mac ? mac : NULL, NULL, e);
out:
	free(copy);
	return rc;
}
