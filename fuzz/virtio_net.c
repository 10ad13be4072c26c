/* Fuzz target virtio_net: a virtio-net (devmodel/virtio_net.c on the virtio-pci transport) at
 * 4:0 on the in-memory back-end, driven by guest operations through its BARs, ECAM, guest RAM and
 * queue notifications, with packets from the host (HOST_INPUT) taken at the exit after each
 * operation; the transport's invariants (fuzz/virtio_fuzz.c), and here: every frame the back-end
 * got is a whole frame (never empty, never too long), and every host frame queued asked the VM
 * for a poll exactly once (door 5). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/pci_devices.h"
#include "devmodel/virtio_net.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/virtio_fuzz.h"

/* virtio_net device actions (GOP_DEVICE sub-operations from VFZ_DEV_OWN). */
enum {
	DEV_BIG_FRAME = VFZ_DEV_OWN, /* a host frame of len:2 bytes (more than HOST_INPUT's 255) */
	DEV_CONF,                    /* pci_create_device at 5:0 with conf "null," + payload, then removed */
	DEV_PARSE_MAC,               /* virtio_net_parse_mac(payload) */
};

#define CONF_SLOT 5

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

/* The payload as a C string (up to its first NUL). */
static void payload_string(char *out, size_t cap, const char *prefix, const uint8_t *buf, size_t len)
{
	size_t p = strlen(prefix), k = strnlen((const char *)buf, len);
	if (k > cap - p - 1)
		k = cap - p - 1;
	memcpy(out, prefix, p);
	memcpy(out + p, buf, k);
	out[p + k] = 0;
}

/* Options as a user writes them; the back-end is always null (tap, slirp, unix would reach the host). */
static void conf_action(struct vfz *z, const uint8_t *buf, size_t len)
{
	char conf[300];
	payload_string(conf, sizeof(conf), "null,", buf, len);
	struct errmsg e = { "" };
	/* Adding and removing a function moves the bus's BAR allocator on: a reset cannot undo that. */
	z->stale = true;
	int rc = pci_create_device(z->bus, 0, CONF_SLOT, 0, "virtio-net", conf, &e);
	struct pci_func *f = pci_find(z->bus, CONF_SLOT, 0);
	FUZZ_CHECK((rc == 0) == (f != NULL), "conf '%s': rc %d, device %p", conf, rc, (void *)f);
	FUZZ_CHECK(rc == 0 || (rc < 0 && e.text[0]), "conf '%s' refused without a message", conf);
	if (f)
		pci_remove(f);
}

/* An accepted MAC prints back as what was parsed: six hex pairs, ':' or '-' throughout, unicast. */
static void parse_mac_action(const uint8_t *buf, size_t len)
{
	char s[64], back[18];
	uint8_t mac[6];
	payload_string(s, sizeof(s), "", buf, len);
	if (virtio_net_parse_mac(s, mac) != 0)
		return;
	snprintf(back, sizeof(back), "%02x%c%02x%c%02x%c%02x%c%02x%c%02x", mac[0], s[2], mac[1], s[2], mac[2], s[2],
		 mac[3], s[2], mac[4], s[2], mac[5]);
	for (unsigned i = 0; i < 17; i++)
		FUZZ_CHECK(tolower((unsigned char)s[i]) == back[i] && s[17] == 0, "'%s' parsed as %s", s, back);
	FUZZ_CHECK(!(mac[0] & 1), "multicast %s accepted", s);
}

static void device_action(struct vfz *z, unsigned sub, const uint8_t *buf, size_t len)
{
	struct net_fuzz *n = (struct net_fuzz *)z;
	if (sub == DEV_CONF)
		conf_action(z, buf, len);
	if (sub == DEV_PARSE_MAC)
		parse_mac_action(buf, len);
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

/* The machine, kept between inputs: building a bus, a device and its RAM was a third of a short
 * input's time; a reset, the power-on image and an emptied back-end queue cost a few us. */
static struct net_fuzz *kept;

static void drop(struct net_fuzz *n)
{
	vfz_destroy(&n->z); /* closes the back-end with the device */
	free(n);
}

static struct net_fuzz *build(void)
{
	struct net_fuzz *n = malloc(sizeof(*n));
	if (!n || !vfz_create(&n->z)) {
		free(n);
		return NULL;
	}
	n->be = net_backend_open_memory();
	struct errmsg e;
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	if (!n->be) {
		drop(n);
		return NULL;
	}
	/* The device owns the back-end from here, also when the add fails. */
	if (virtio_net_add(n->z.bus, VFZ_SLOT, 0, n->be, mac, NULL, &e) != 0) {
		drop(n);
		return NULL;
	}
	vfz_attach(&n->z);
	n->z.drop_features = VIRTIO_NET_F_MRG_RXBUF;
	vfz_keep(&n->z);
	return n;
}

/* The machine at power-on with nothing queued by the host. */
static struct net_fuzz *machine(void)
{
	if (kept && (kept->z.stale || fuzz_fresh_machines)) {
		drop(kept);
		kept = NULL;
	}
	if (kept) {
		vfz_restore(&kept->z);
		uint8_t none;
		while (net_backend_take(kept->be, &none, 0))
			;
	} else if (!(kept = build())) {
		return NULL;
	}
	/* The sent counter goes on over inputs: frames are checked from here. */
	kept->sent_seen = net_backend_memory_sent(kept->be);
	kept->injected = 0;
	return kept;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_fuzz *n = machine();
	if (!n)
		return 0;
	uint64_t sent_before = n->sent_seen;
	vfz_run(&n->z, data, size, device_action, host_input);
	check_sent(n);
	FUZZ_CHECK(n->z.input_notifies == n->injected, "%u frames queued, %u polls asked for", n->injected,
		   n->z.input_notifies);
	fuzz_outcome_u64(net_backend_memory_sent(n->be) - sent_before);
	return 0;
}
