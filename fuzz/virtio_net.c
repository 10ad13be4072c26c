/* Fuzz target virtio_net: a fresh virtio-net (devmodel/virtio_net.c on the virtio-pci transport) at
 * 4:0 on the in-memory back-end, driven by guest operations through its BARs, ECAM, guest RAM and
 * queue notifications, with packets from the host (HOST_INPUT) taken at the exit after each
 * operation; the transport's invariants (fuzz/virtio_fuzz.c), and here: every frame the back-end
 * got is a whole frame (never empty, never too long), and every host frame queued asked the VM
 * for a poll exactly once (door 5). */
#include <stdlib.h>
#include <string.h>

#include "devmodel/virtio_net.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/virtio_fuzz.h"

/* virtio_net device actions (GOP_DEVICE sub-operations from VFZ_DEV_OWN). */
enum {
	DEV_BIG_FRAME = VFZ_DEV_OWN, /* a host frame of len:2 bytes (more than HOST_INPUT's 255) */
};

struct net_fuzz {
	struct vfz z;
	struct net_backend *be;
	uint64_t sent_seen;
	unsigned injected; /* host frames the back-end queued */
	uint8_t big[NET_FRAME_MAX];
};

static void check_sent(struct net_fuzz *n)
{
	uint64_t sent = net_backend_memory_sent(n->be);
	for (uint64_t i = n->sent_seen; i < sent && sent - i <= NET_MEMORY_TX; i++) {
		size_t len;
		const uint8_t *f = net_backend_memory_frame(n->be, (unsigned)(sent - 1 - i), &len);
		FUZZ_CHECK(f && len > 0 && len <= NET_FRAME_MAX, "frame %llu sent with %zu bytes", (unsigned long long)i,
			   len);
	}
	n->sent_seen = sent;
}

static void device_action(struct vfz *z, unsigned sub, const uint8_t *buf, size_t len)
{
	struct net_fuzz *n = (struct net_fuzz *)z;
	if (sub == DEV_BIG_FRAME && len >= 2) {
		size_t flen = ((size_t)buf[0] | (size_t)buf[1] << 8) % NET_FRAME_MAX + 1;
		for (size_t i = 0; i < flen; i++)
			n->big[i] = len > 2 ? buf[2 + i % (len - 2)] : (uint8_t)i;
		n->injected += net_backend_inject(n->be, n->big, flen) == 0;
	}
	check_sent(n);
}

static void host_input(struct vfz *z, const uint8_t *buf, size_t len)
{
	struct net_fuzz *n = (struct net_fuzz *)z;
	n->injected += net_backend_inject(n->be, buf, len) == 0;
	check_sent(n);
	FUZZ_CHECK(z->input_notifies == n->injected, "%u frames queued, %u polls asked for", n->injected,
		   z->input_notifies);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_fuzz *n = malloc(sizeof(*n));
	if (!n || !vfz_create(&n->z)) {
		free(n);
		return 0;
	}
	n->sent_seen = 0;
	n->injected = 0;
	n->be = net_backend_open_memory();
	struct errmsg e;
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	if (!n->be) {
		vfz_destroy(&n->z);
		free(n);
		return 0;
	}
	if (virtio_net_add(n->z.bus, VFZ_SLOT, 0, n->be, mac, NULL, &e) == 0) {
		vfz_attach(&n->z);
		n->z.drop_features = VIRTIO_NET_F_MRG_RXBUF;
		vfz_run(&n->z, data, size, device_action, host_input);
		check_sent(n);
		FUZZ_CHECK(n->z.input_notifies == n->injected, "%u frames queued, %u polls asked for", n->injected,
			   n->z.input_notifies);
	}
	vfz_destroy(&n->z);
	free(n);
	return 0;
}
