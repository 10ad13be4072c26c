/* Tests for devmodel/virtio_net.c over the virtio-pci transport with the in-memory back-end: config
 * space, transmit, receive (whole and merged buffers, waiting for buffers, dropping), door 5
 * (frames queued by the back-end, taken at a poll), and hostile descriptors. */
#include "test_virtio_fixture.h"

#include <errno.h>

#include "devmodel/virtio_net.h"

#define BUF 0x40000       /* guest buffers from here, 0x1000 apart */
#define BUFAT(i) (BUF + 0x1000u * (i))
#define HDR VIRTIO_NET_HDR_LEN
#define RXQ VIRTIO_NET_RXQ
#define TXQ VIRTIO_NET_TXQ
#define ALL_FEATURES (~0ull)
#define NO_MRG (~VIRTIO_NET_F_MRG_RXBUF)

struct t {
	struct vf *v;
	struct net_backend *be;
	struct virtio_pci *vp;
};

static const uint8_t test_mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	t->v = vf_create();
	t->be = net_backend_open_memory();
	assert_non_null(t->be);
	struct errmsg e = { "" };
	assert_int_equal(virtio_net_add(t->v->bus, VF_SLOT, 0, t->be, test_mac, &t->vp, &e), 0);
	vf_attach(t->v);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	vf_destroy(t->v); /* closes the back-end with the device */
	free(t);
	return 0;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static void inject(struct t *t, size_t len, unsigned seed)
{
	uint8_t f[4096];
	assert_true(len <= sizeof(f));
	fill(f, len, seed);
	assert_int_equal(net_backend_inject(t->be, f, len), 0);
}

/* Posts n one-buffer receive chains of len bytes at BUFAT(first..). */
static void post_rx(struct t *t, unsigned first, unsigned n, uint32_t len, bool notify)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t d = t->v->next_desc[RXQ];
		vf_put_desc(t->v, RXQ, d, BUFAT(first + i), len, VIRTQ_DESC_F_WRITE, 0);
		t->v->next_desc[RXQ] = (uint16_t)((d + 1) % VF_QSIZE);
		vf_post(t->v, RXQ, d);
	}
	if (notify)
		vf_notify(t->v, RXQ);
}

static uint16_t num_buffers(struct t *t, unsigned buf)
{
	uint16_t n;
	memcpy(&n, t->v->ram + BUFAT(buf) + 10, 2);
	return n;
}

static void test_identity_and_config(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	assert_int_equal(vf_cfg_read(v, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(vf_cfg_read(v, PCI_DEVICE_ID, 2), 0x1041);
	assert_int_equal(vf_cfg_read(v, PCI_REVISION_ID, 4) >> 8, 0x020000);
	uint64_t f = vf_device_features(v);
	assert_true(f & VIRTIO_NET_F_MAC);
	assert_true(f & VIRTIO_NET_F_STATUS);
	assert_true(f & VIRTIO_NET_F_MRG_RXBUF);
	assert_true(f & VIRTIO_F_VERSION_1);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(vf_bar_read(v, v->devcfg + i, 1), test_mac[i]);
	assert_int_equal(vf_bar_read(v, v->devcfg + 6, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(vf_bar_read(v, v->devcfg + 4, 4), 0x00015544); /* mac[4..5], status */
	/* Past the config: nothing, and config writes change nothing. */
	assert_int_equal(vf_bar_read(v, v->devcfg + 8, 1), 0);
	vf_bar_write(v, v->devcfg, 1, 0xff);
	assert_int_equal(vf_bar_read(v, v->devcfg, 1), 0x02);
	/* Two queues of 256; MSI-X has three vectors. */
	assert_int_equal(vf_bar_read(v, v->common + 18, 2), 2);
	vf_bar_write(v, v->common + 22, 2, 1);
	assert_int_equal(vf_bar_read(v, v->common + 24, 2), VIRTIO_NET_QUEUE_SIZE);
	assert_int_equal(vf_cfg_read(v, v->msix_cap + 2, 2) & PCI_MSIX_FLAGS_QSIZE, 2);
}

static void test_mac_helpers(void **state)
{
	(void)state;
	uint8_t m[6], m2[6];
	assert_int_equal(virtio_net_parse_mac("02:aB:cd:EF:00:99", m), 0);
	assert_memory_equal(m, ((uint8_t[]){ 0x02, 0xab, 0xcd, 0xef, 0x00, 0x99 }), 6);
	assert_int_equal(virtio_net_parse_mac("02-ab-cd-ef-00-98", m), 0);
	assert_int_equal(m[5], 0x98);
	const char *bad[] = { "", "02:ab:cd:ef:00", "02:ab:cd:ef:00:99:11", "02:ab:cd:ef:00:9", "0x:ab:cd:ef:00:99",
			      "02:ab-cd:ef:00:99", "01:00:5e:00:00:01", "02:ab:cd:ef:00:99 ", "+2:ab:cd:ef:00:99",
			      "02:ab:cd:ef:00:+9" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(virtio_net_parse_mac(bad[i], m), -EINVAL);
	virtio_net_default_mac("vm0", 1, 0, m);
	virtio_net_default_mac("vm0", 1, 0, m2);
	assert_memory_equal(m, m2, 6);
	assert_int_equal(m[0], 0x02); /* locally administered, unicast */
	virtio_net_default_mac("vm0", 2, 0, m2);
	assert_memory_not_equal(m, m2, 6);
	virtio_net_default_mac("vm1", 1, 0, m2);
	assert_memory_not_equal(m, m2, 6);
}

static void test_default_mac_from_bus(void **state)
{
	(void)state;
	struct vf *v = vf_create();
	struct errmsg e = { "" };
	assert_int_equal(pci_create_device(v->bus, 0, VF_SLOT, 0, "virtio-net", "null", &e), 0);
	vf_attach(v);
	uint8_t want[6];
	virtio_net_default_mac("testvm", VF_SLOT, 0, want);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(vf_bar_read(v, v->devcfg + i, 1), want[i]);
	vf_destroy(v);
}

static void test_conf_parsing(void **state)
{
	(void)state;
	struct vf *v = vf_create();
	struct errmsg e = { "" };
	assert_int_equal(pci_create_device(v->bus, 0, 5, 0, "virtio-net", "", &e), -EINVAL);
	assert_non_null(strstr(e.text, "needs a back-end"));
	assert_int_equal(pci_create_device(v->bus, 0, 5, 0, "virtio-net", ",mac=02:00:00:00:00:01", &e), -EINVAL);
	assert_int_equal(pci_create_device(v->bus, 0, 5, 0, "virtio-net", "null,mac=zz", &e), -EINVAL);
	assert_non_null(strstr(e.text, "mac=zz"));
	assert_int_equal(pci_create_device(v->bus, 0, 5, 0, "virtio-net", "null,bogus", &e), -EINVAL);
	assert_int_equal(pci_create_device(v->bus, 0, 5, 0, "virtio-net", "wormhole", &e), -EINVAL);
	assert_non_null(strstr(e.text, "unknown network back-end 'wormhole'"));
	assert_int_equal(pci_create_device(v->bus, 0, 5, 0, "virtio-net", "unix=/nonexistent/sock", &e), -EINVAL);
	assert_non_null(strstr(e.text, "/nonexistent/sock"));
	assert_int_equal(pci_create_device(v->bus, 0, 5, 0, "virtio-net", "tap=this-name-is-far-too-long", &e),
			 -EINVAL);
	assert_non_null(strstr(e.text, "too long"));
	assert_null(pci_find(v->bus, 5, 0));
	assert_int_equal(pci_create_device(v->bus, 0, 5, 0, "virtio-net", "null,mac=02:00:00:00:00:01", &e), 0);
	vf_destroy(v);
}

static void test_tx(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_driver_init(v, ALL_FEATURES, 2);
	/* Header and frame split over three buffers, the frame's start in the header's buffer. */
	uint8_t *p = v->ram + BUFAT(0);
	memset(p, 0, HDR);
	fill(p + HDR, 20, 1);
	fill(v->ram + BUFAT(1), 100, 2);
	fill(v->ram + BUFAT(2), 7, 3);
	struct vf_buf b[3] = { { BUFAT(0), HDR + 20, false }, { BUFAT(1), 100, false }, { BUFAT(2), 7, false } };
	uint16_t head = vf_submit(v, TXQ, b, 3);
	assert_int_equal(net_backend_memory_sent(t->be), 1);
	size_t len;
	const uint8_t *f = net_backend_memory_frame(t->be, 0, &len);
	assert_int_equal(len, 127);
	assert_memory_equal(f, p + HDR, 20);
	assert_memory_equal(f + 20, v->ram + BUFAT(1), 100);
	assert_memory_equal(f + 120, v->ram + BUFAT(2), 7);
	assert_int_equal(vf_used_idx(v, TXQ), 1);
	uint32_t id, ulen;
	vf_used_elem(v, TXQ, 0, &id, &ulen);
	assert_int_equal(id, head);
	assert_int_equal(ulen, 0);
	assert_true(v->irq_level);
	/* A device-writable buffer at the end of a transmit chain is not part of the frame. */
	struct vf_buf b2[3] = { { BUFAT(0), HDR, false }, { BUFAT(1), 60, false }, { BUFAT(3), 64, true } };
	vf_submit(v, TXQ, b2, 3);
	f = net_backend_memory_frame(t->be, 0, &len);
	assert_int_equal(len, 60);
	assert_memory_equal(f, v->ram + BUFAT(1), 60);
	assert_int_equal(vf_status(v), 0xf);
}

static void test_tx_runts_and_giants(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_driver_init(v, ALL_FEATURES, 2);
	/* Only a header, or less: nothing sent, the chain still comes back. */
	struct vf_buf b[1] = { { BUFAT(0), HDR, false } };
	vf_submit(v, TXQ, b, 1);
	b[0].len = 3;
	vf_submit(v, TXQ, b, 1);
	/* Longer than any frame: 5 buffers of 16 KiB (plus the header) exceed 65550 bytes. */
	struct vf_buf g[5];
	for (unsigned i = 0; i < 5; i++)
		g[i] = (struct vf_buf){ BUFAT(0) + 0x4000u * i, 0x4000, false };
	vf_submit(v, TXQ, g, 5);
	assert_int_equal(net_backend_memory_sent(t->be), 0);
	assert_int_equal(net_backend_dropped(t->be), 3);
	assert_int_equal(vf_used_idx(v, TXQ), 3);
	assert_int_equal(vf_status(v), 0xf);
	/* The largest frame there is goes through. */
	struct vf_buf m[5];
	for (unsigned i = 0; i < 4; i++)
		m[i] = (struct vf_buf){ BUFAT(0) + 0x4000u * i, 0x4000, false };
	m[4] = (struct vf_buf){ BUFAT(0) + 0x10000, HDR + NET_FRAME_MAX - 4 * 0x4000, false };
	vf_submit(v, TXQ, m, 5);
	size_t len;
	assert_non_null(net_backend_memory_frame(t->be, 0, &len));
	assert_int_equal(len, NET_FRAME_MAX);
}

static void test_rx_whole_buffer(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_driver_init(v, NO_MRG, 2);
	post_rx(t, 0, 2, 2048, true);
	unsigned before = v->input_notifies;
	inject(t, 1514, 9);
	/* Door 5: the back-end only asked; nothing reaches the ring until a poll at an exit. */
	assert_int_equal(v->input_notifies, before + 1);
	assert_int_equal(vf_used_idx(v, RXQ), 0);
	pci_bus_poll_input(v->bus);
	assert_int_equal(vf_used_idx(v, RXQ), 1);
	uint32_t id, len;
	vf_used_elem(v, RXQ, 0, &id, &len);
	assert_int_equal(id, 0);
	assert_int_equal(len, HDR + 1514);
	uint8_t want_hdr[HDR] = { 0 };
	want_hdr[10] = 1; /* num_buffers is there with VERSION_1, even without MRG_RXBUF */
	assert_memory_equal(v->ram + BUFAT(0), want_hdr, HDR);
	uint8_t f[1514];
	fill(f, sizeof(f), 9);
	assert_memory_equal(v->ram + BUFAT(0) + HDR, f, sizeof(f));
	assert_true(v->irq_level);
	assert_int_equal(vf_bar_read(v, v->isr, 1), VIRTIO_ISR_QUEUE);
	/* A second frame takes the second buffer; frames keep their order. */
	inject(t, 60, 1);
	inject(t, 61, 2);
	pci_bus_poll_input(v->bus);
	assert_int_equal(vf_used_idx(v, RXQ), 2);
	vf_used_elem(v, RXQ, 1, &id, &len);
	assert_int_equal(len, HDR + 60);
	assert_int_equal(net_backend_peek(t->be), 0); /* the 61-byte one is held by the device */
	post_rx(t, 2, 1, 2048, true);                 /* the notify delivers it */
	assert_int_equal(vf_used_idx(v, RXQ), 3);
	vf_used_elem(v, RXQ, 2, &id, &len);
	assert_int_equal(len, HDR + 61);
	assert_int_equal(v->ram[BUFAT(2) + HDR], 2);
}

static void test_rx_waits_for_buffers(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_driver_init(v, NO_MRG, 2);
	inject(t, 100, 1);
	inject(t, 200, 2);
	pci_bus_poll_input(v->bus);
	assert_int_equal(vf_used_idx(v, RXQ), 0);
	post_rx(t, 0, 2, 2048, true);
	assert_int_equal(vf_used_idx(v, RXQ), 2);
	uint32_t id, len;
	vf_used_elem(v, RXQ, 0, &id, &len);
	assert_int_equal(len, HDR + 100);
	vf_used_elem(v, RXQ, 1, &id, &len);
	assert_int_equal(len, HDR + 200);
	assert_int_equal(net_backend_dropped(t->be), 0);
}

static void test_rx_too_small_without_mrg(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_driver_init(v, NO_MRG, 2);
	post_rx(t, 0, 1, 256, true);
	inject(t, 1000, 1); /* never fits a 256-byte buffer: dropped, the buffer kept */
	inject(t, 100, 2);
	pci_bus_poll_input(v->bus);
	assert_int_equal(vf_used_idx(v, RXQ), 1);
	uint32_t id, len;
	vf_used_elem(v, RXQ, 0, &id, &len);
	assert_int_equal(len, HDR + 100);
	assert_int_equal(v->ram[BUFAT(0) + HDR], 2);
	assert_int_equal(vf_status(v), 0xf);
}

static void test_rx_mergeable(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_driver_init(v, ALL_FEATURES, 2);
	post_rx(t, 0, 2, 512, true);
	inject(t, 1400, 5); /* 1412 bytes with the header: three 512-byte buffers */
	pci_bus_poll_input(v->bus);
	assert_int_equal(vf_used_idx(v, RXQ), 0); /* two are not enough: nothing is used */
	post_rx(t, 2, 2, 512, true);
	assert_int_equal(vf_used_idx(v, RXQ), 3);
	assert_int_equal(num_buffers(t, 0), 3);
	uint8_t got[1412], f[1400];
	uint32_t total = 0;
	for (unsigned i = 0; i < 3; i++) {
		uint32_t id, len;
		vf_used_elem(v, RXQ, (uint16_t)i, &id, &len);
		assert_int_equal(id, i);
		assert_int_equal(len, i < 2 ? 512 : 1412 - 1024);
		memcpy(got + total, v->ram + BUFAT(i), len);
		total += len;
	}
	fill(f, sizeof(f), 5);
	assert_memory_equal(got + HDR, f, sizeof(f));
	/* The fourth buffer is still free for the next frame, alone. */
	inject(t, 300, 6);
	pci_bus_poll_input(v->bus);
	assert_int_equal(vf_used_idx(v, RXQ), 4);
	assert_int_equal(num_buffers(t, 3), 1);
}

static void test_rx_mergeable_split_header(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_driver_init(v, ALL_FEATURES, 2);
	/* A chain whose first buffer ends inside num_buffers: the device still sets it. */
	struct vf_buf b[2] = { { BUFAT(0), 11, true }, { BUFAT(1), 100, true } };
	vf_submit(v, RXQ, b, 2);
	post_rx(t, 2, 1, 100, true);
	inject(t, 150, 3);
	pci_bus_poll_input(v->bus);
	assert_int_equal(vf_used_idx(v, RXQ), 2);
	uint16_t nb = (uint16_t)(v->ram[BUFAT(0) + 10] | v->ram[BUFAT(1)] << 8);
	assert_int_equal(nb, 2);
}

static void test_rx_dropped_before_driver_ok(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	inject(t, 100, 1);
	pci_bus_poll_input(v->bus); /* no driver: no link, the frame goes */
	assert_int_equal(net_backend_peek(t->be), 0);
	vf_driver_init(v, ALL_FEATURES, 2);
	post_rx(t, 0, 1, 2048, true);
	assert_int_equal(vf_used_idx(v, RXQ), 0);
	/* A frame held for lack of buffers goes with a device reset. */
	inject(t, 100, 2);
	inject(t, 100, 3);
	pci_bus_poll_input(v->bus);
	assert_int_equal(vf_used_idx(v, RXQ), 1);
	vf_bar_write(v, v->common + 20, 1, 0);
	vf_driver_init(v, ALL_FEATURES, 2);
	post_rx(t, 0, 1, 2048, true);
	assert_int_equal(vf_used_idx(v, RXQ), 0);
}

static void test_rx_queue_limit(void **state)
{
	struct t *t = *state;
	uint8_t f[64] = { 0 };
	for (unsigned i = 0; i < NET_RXQ_FRAMES; i++)
		assert_int_equal(net_backend_inject(t->be, f, sizeof(f)), 0);
	assert_int_equal(net_backend_inject(t->be, f, sizeof(f)), -ENOBUFS);
	assert_int_equal(net_backend_inject(t->be, f, 0), -EMSGSIZE);
	assert_int_equal(net_backend_dropped(t->be), 1);
}

static void test_hostile_rx_descriptor(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_driver_init(v, ALL_FEATURES, 2);
	vf_put_desc(v, RXQ, 0, VF_RAM - 8, 64, VIRTQ_DESC_F_WRITE, 0); /* runs off the end of RAM */
	vf_post(v, RXQ, 0);
	inject(t, 100, 1);
	pci_bus_poll_input(v->bus);
	assert_true(vf_status(v) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(vf_used_idx(v, RXQ), 0);
	/* After that the device takes nothing, in either direction. */
	inject(t, 100, 2);
	pci_bus_poll_input(v->bus);
	struct vf_buf b[1] = { { BUFAT(0), HDR + 60, false } };
	vf_submit(v, TXQ, b, 1);
	assert_int_equal(net_backend_memory_sent(t->be), 0);
	/* A reset brings it back. */
	vf_driver_init(v, ALL_FEATURES, 2);
	vf_submit(v, TXQ, b, 1);
	assert_int_equal(net_backend_memory_sent(t->be), 1);
}

/* Found by fuzz/virtio_net (UBSan): an empty buffer in a chain (host pointer NULL) went to memcpy;
 * here, that such chains still carry their frames whole. */
static void test_zero_length_buffers(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_driver_init(v, ALL_FEATURES, 2);
	fill(v->ram + BUFAT(1), 40, 4);
	struct vf_buf b[4] = { { BUFAT(0), HDR, false }, { 0, 0, false }, { BUFAT(1), 40, false }, { 0, 0, true } };
	vf_submit(v, TXQ, b, 4);
	size_t len;
	const uint8_t *f = net_backend_memory_frame(t->be, 0, &len);
	assert_non_null(f);
	assert_int_equal(len, 40);
	assert_memory_equal(f, v->ram + BUFAT(1), 40);
	struct vf_buf r[2] = { { 0, 0, true }, { BUFAT(2), 2048, true } };
	vf_submit(v, RXQ, r, 2);
	inject(t, 50, 5);
	pci_bus_poll_input(v->bus);
	assert_int_equal(vf_used_idx(v, RXQ), 1);
	assert_int_equal(v->ram[BUFAT(2) + HDR], 5);
}

/* Found by fuzz/virtio_net: a driver may write feature bits the device does not offer (it then
 * refuses FEATURES_OK); a snapshot of that state must load again. */
static void test_snapshot_with_refused_features(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_bar_write(v, v->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vf_bar_write(v, v->common + 8, 4, 0);
	vf_bar_write(v, v->common + 12, 4, 0x80000000u); /* bit 31: not offered */
	vf_bar_write(v, v->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(vf_status(v) & VIRTIO_STATUS_FEATURES_OK);
	size_t n = virtio_pci_save(t->vp, NULL, 0);
	uint8_t *img = malloc(n);
	assert_int_equal(virtio_pci_save(t->vp, img, n), n);
	assert_int_equal(virtio_pci_load(t->vp, img, n), 0);
	/* With FEATURES_OK claimed for those bits, the image is one no device could have made. */
	t->vp->status |= VIRTIO_STATUS_FEATURES_OK;
	assert_int_equal(virtio_pci_save(t->vp, img, n), n);
	assert_int_equal(virtio_pci_load(t->vp, img, n), -EINVAL);
	free(img);
}

static void test_hostile_tx_loop(void **state)
{
	struct t *t = *state;
	struct vf *v = t->v;
	vf_driver_init(v, ALL_FEATURES, 2);
	vf_put_desc(v, TXQ, 0, BUFAT(0), 64, VIRTQ_DESC_F_NEXT, 1);
	vf_put_desc(v, TXQ, 1, BUFAT(1), 64, VIRTQ_DESC_F_NEXT, 0);
	vf_post(v, TXQ, 0);
	vf_notify(v, TXQ);
	assert_true(vf_status(v) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(net_backend_memory_sent(t->be), 0);
	assert_true(v->irq_level); /* configuration change interrupt */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_config, setup, teardown),
		cmocka_unit_test(test_mac_helpers),
		cmocka_unit_test(test_default_mac_from_bus),
		cmocka_unit_test(test_conf_parsing),
		cmocka_unit_test_setup_teardown(test_tx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_runts_and_giants, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_whole_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_too_small_without_mrg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable_split_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_dropped_before_driver_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_queue_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_rx_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_tx_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_length_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_with_refused_features, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
