/* vnetecho.elf: drives the first virtio-net device through virtio_guest with mergeable receive
 * buffers of 512 bytes: reads its MAC and link status, ARPs for 10.0.2.2 from 10.0.2.15 (slirp's
 * addresses), pings it with a 1400-byte payload, checks the echo, and prints what it received
 * (length, buffers, FNV-1a) so a test can compare; with "dhcp" on its command line it then asks
 * for an address (DHCPDISCOVER) and prints the offer; powers off (status 1). */
#include "guest.h"
#include "virtio_guest.h"

#define F_MAC (1ull << 5)
#define F_MRG_RXBUF (1ull << 15)
#define F_STATUS (1ull << 16)

#define RXQ 0
#define TXQ 1
#define HDR 12
#define RX_BUFS 32
#define RX_BUF_LEN 512
#define FRAME_MAX 2048
#define PING_PAYLOAD 1400
#define SPINS 150000ul /* ~2 s here: replies come in well under that; null waits this long */

static struct vg_dev nic;
static uint8_t mac[6], gw_mac[6];
static uint8_t *rx_buf[RX_BUFS];
static uint8_t frame[FRAME_MAX]; /* the last frame received, reassembled */
static uint32_t frame_len, frame_bufs;
static uint8_t tx_hdr[HDR], tx[FRAME_MAX];

static const uint8_t my_ip[4] = { 10, 0, 2, 15 }, gw_ip[4] = { 10, 0, 2, 2 };

static void put_hex8(uint8_t v)
{
	static const char hex[] = "0123456789abcdef";
	serial_putc(hex[v >> 4]);
	serial_putc(hex[v & 15]);
}

static void put_mac(const uint8_t *m)
{
	for (unsigned i = 0; i < 6; i++) {
		if (i)
			serial_putc(':');
		put_hex8(m[i]);
	}
}

static __attribute__((noreturn)) void finish(const char *why)
{
	if (why) {
		serial_puts("vnetecho: ");
		serial_puts(why);
		serial_putc('\n');
	}
	power_off();
}

static void post_rx(unsigned i)
{
	struct vg_buf b = { rx_buf[i], RX_BUF_LEN, true };
	vg_submit(&nic, RXQ, &b, 1);
}

/* The head of each one-buffer receive chain is its descriptor: buffer i went out as head i. */
static int head_to_buf(int head)
{
	return head >= 0 && head < RX_BUFS ? head : -1;
}

static void copy(uint8_t *d, const uint8_t *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		d[i] = s[i];
}

static bool same(const uint8_t *a, const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* One received frame into frame[], merging num_buffers buffers; false on timeout. */
static bool receive(void)
{
	uint32_t len;
	int h = vg_wait(&nic, RXQ, &len, SPINS), b = head_to_buf(h);
	if (b < 0 || len < HDR)
		return false;
	uint16_t nbufs = (uint16_t)(rx_buf[b][10] | rx_buf[b][11] << 8);
	frame_len = 0;
	frame_bufs = 0;
	for (uint16_t k = 0; k < nbufs; k++) {
		if (k) {
			h = vg_wait(&nic, RXQ, &len, SPINS);
			b = head_to_buf(h);
			if (b < 0)
				return false;
		}
		uint32_t skip = k ? 0 : HDR;
		if (len > RX_BUF_LEN || frame_len + len - skip > FRAME_MAX)
			return false;
		copy(frame + frame_len, rx_buf[b] + skip, len - skip);
		frame_len += len - skip;
		frame_bufs++;
		post_rx((unsigned)b);
	}
	vg_kick(&nic, RXQ);
	return true;
}

static void send(uint32_t len)
{
	/* Header and frame in two buffers, as Linux does without ANY_LAYOUT. */
	struct vg_buf b[2] = { { tx_hdr, HDR, false }, { tx, len, false } };
	if (vg_submit(&nic, TXQ, b, 2) < 0)
		finish("transmit queue full");
	vg_kick(&nic, TXQ);
	uint32_t dummy;
	if (vg_wait(&nic, TXQ, &dummy, SPINS) < 0)
		finish("transmit not completed");
}

static uint32_t fnv1a(const uint8_t *p, uint32_t n)
{
	uint32_t h = 2166136261u;
	for (uint32_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void report(void)
{
	uint32_t h = fnv1a(frame, frame_len);
	serial_puts(" (len ");
	serial_putu(frame_len);
	serial_puts(" buffers ");
	serial_putu(frame_bufs);
	serial_puts(" fnv1a 0x");
	for (int s = 24; s >= 0; s -= 8)
		put_hex8((uint8_t)(h >> s));
	serial_puts(")\n");
}

static void eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	copy(f, dst, 6);
	copy(f + 6, mac, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
}

static uint16_t ip_sum(const uint8_t *p, uint32_t n)
{
	uint32_t s = 0;
	for (uint32_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void arp(void)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	eth(tx, bcast, 0x0806);
	static const uint8_t arp_hdr[8] = { 0, 1, 8, 0, 6, 4, 0, 1 }; /* Ethernet, IPv4, request */
	copy(tx + 14, arp_hdr, 8);
	copy(tx + 22, mac, 6);
	copy(tx + 28, my_ip, 4);
	for (unsigned i = 0; i < 6; i++)
		tx[32 + i] = 0;
	copy(tx + 38, gw_ip, 4);
	send(42);
	for (unsigned tries = 0; tries < 8; tries++) {
		if (!receive())
			finish("no ARP reply");
		/* An ARP reply (op 2) for us from 10.0.2.2. */
		if (frame_len >= 42 && frame[12] == 8 && frame[13] == 6 && frame[21] == 2 && same(frame + 28, gw_ip, 4)) {
			copy(gw_mac, frame + 22, 6);
			serial_puts("vnetecho: arp reply: 10.0.2.2 is at ");
			put_mac(gw_mac);
			report();
			return;
		}
	}
	finish("no ARP reply among the frames received");
}

static void ping(void)
{
	uint32_t ip_len = 20 + 8 + PING_PAYLOAD;
	eth(tx, gw_mac, 0x0800);
	uint8_t *ip = tx + 14, *icmp = ip + 20;
	static const uint8_t ip_hdr[12] = { 0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0 };
	copy(ip, ip_hdr, 12);
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	copy(ip + 12, my_ip, 4);
	copy(ip + 16, gw_ip, 4);
	uint16_t s = ip_sum(ip, 20);
	ip[10] = (uint8_t)(s >> 8);
	ip[11] = (uint8_t)s;
	static const uint8_t echo_hdr[8] = { 8, 0, 0, 0, 0xd4, 0x1e, 0, 1 }; /* request, id 0xd41e, seq 1 */
	copy(icmp, echo_hdr, 8);
	for (uint32_t i = 0; i < PING_PAYLOAD; i++)
		icmp[8 + i] = (uint8_t)(i * 13 + 7);
	s = ip_sum(icmp, 8 + PING_PAYLOAD);
	icmp[2] = (uint8_t)(s >> 8);
	icmp[3] = (uint8_t)s;
	send(14 + ip_len);
	for (unsigned tries = 0; tries < 8; tries++) {
		if (!receive())
			finish("no ICMP echo reply");
		const uint8_t *rip = frame + 14, *ricmp = rip + 20;
		if (frame_len < 14 + ip_len || frame[12] != 8 || frame[13] != 0 || rip[9] != 1 || ricmp[0] != 0)
			continue;
		bool ok = same(rip + 12, gw_ip, 4) && same(ricmp + 4, icmp + 4, 4) &&
			  same(ricmp + 8, icmp + 8, PING_PAYLOAD);
		serial_puts("vnetecho: icmp echo reply from 10.0.2.2 payload ");
		serial_puts(ok ? "matches" : "differs");
		report();
		return;
	}
	finish("no ICMP echo reply among the frames received");
}

static bool cmdline_has(const char *word)
{
	const char *c = (const char *)0x9000; /* BOOT_CMDLINE_GPA: the loader puts it there */
	for (; *c; c++) {
		unsigned i = 0;
		while (word[i] && c[i] == word[i])
			i++;
		if (!word[i])
			return true;
	}
	return false;
}

/* DHCPDISCOVER from 0.0.0.0:68 to 255.255.255.255:67, broadcast reply asked for; waits for the
 * DHCPOFFER and prints the address offered and the server. */
static void dhcp(void)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const uint32_t bootp_len = 300, udp_len = 8 + bootp_len, ip_len = 20 + udp_len;
	for (uint32_t i = 0; i < 14 + ip_len; i++)
		tx[i] = 0;
	eth(tx, bcast, 0x0800);
	uint8_t *ip = tx + 14, *udp = ip + 20, *b = udp + 8;
	static const uint8_t ip_hdr[12] = { 0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0 };
	copy(ip, ip_hdr, 12);
	ip[2] = (uint8_t)(ip_len >> 8);
	ip[3] = (uint8_t)ip_len;
	for (unsigned i = 16; i < 20; i++)
		ip[i] = 0xff;
	uint16_t s = ip_sum(ip, 20);
	ip[10] = (uint8_t)(s >> 8);
	ip[11] = (uint8_t)s;
	udp[1] = 68;
	udp[3] = 67;
	udp[4] = (uint8_t)(udp_len >> 8);
	udp[5] = (uint8_t)udp_len; /* checksum 0: none, as UDP over IPv4 allows */
	static const uint8_t bootp_hdr[12] = { 1, 1, 6, 0, 0xd4, 0x1e, 0x00, 0x01, 0, 0, 0x80, 0 };
	copy(b, bootp_hdr, 12);
	copy(b + 28, mac, 6);
	static const uint8_t opts[8] = { 0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255 }; /* cookie, DISCOVER, end */
	copy(b + 236, opts, 8);
	send(14 + ip_len);
	for (unsigned tries = 0; tries < 8; tries++) {
		if (!receive())
			finish("no DHCP offer");
		const uint8_t *rip = frame + 14, *rudp = rip + 20, *rb = rudp + 8;
		if (frame_len < 14 + 20 + 8 + 244 || frame[12] != 8 || frame[13] != 0 || rip[9] != 17 || rudp[3] != 68 ||
		    rb[0] != 2 || rb[4] != 0xd4 || rb[5] != 0x1e)
			continue;
		/* Option 53 (message type) somewhere after the cookie: 2 is OFFER. */
		unsigned type = 0;
		for (uint32_t o = 240; o + 2 < frame_len - 42 && rb[o] != 255;)
			if (rb[o] == 0) {
				o++;
			} else {
				if (rb[o] == 53)
					type = rb[o + 2];
				o += 2u + rb[o + 1];
			}
		serial_puts("vnetecho: dhcp ");
		serial_puts(type == 2 ? "offer " : "reply ");
		for (unsigned i = 0; i < 4; i++) {
			if (i)
				serial_putc('.');
			serial_putu(rb[16 + i]);
		}
		serial_puts(" from ");
		for (unsigned i = 0; i < 4; i++) {
			if (i)
				serial_putc('.');
			serial_putu(rip[12 + i]);
		}
		serial_putc('\n');
		return;
	}
	finish("no DHCP offer among the frames received");
}

void kmain(void)
{
	if (vg_find(VG_VENDOR_VIRTIO, VG_DEVICE_NET, 0, &nic) < 0)
		finish("no virtio-net device");
	if (vg_init(&nic, F_MAC | F_STATUS | F_MRG_RXBUF) < 0)
		finish("feature negotiation failed");
	if (!(nic.features & F_MRG_RXBUF) || !(nic.features & F_MAC))
		finish("MAC or MRG_RXBUF not offered");
	if (vg_queue_setup(&nic, RXQ, RX_BUFS) < 0 || vg_queue_setup(&nic, TXQ, 16) < 0)
		finish("queue setup failed");
	vg_driver_ok(&nic);
	for (unsigned i = 0; i < 6; i++)
		mac[i] = vg_cfg8(&nic, i);
	serial_puts("vnetecho: mac ");
	put_mac(mac);
	serial_puts(" link ");
	serial_putu(vg_cfg16(&nic, 6));
	serial_putc('\n');
	for (unsigned i = 0; i < RX_BUFS; i++) {
		rx_buf[i] = vg_alloc(RX_BUF_LEN, 16);
		post_rx(i);
	}
	vg_kick(&nic, RXQ);
	arp();
	ping();
	if (cmdline_has("dhcp"))
		dhcp();
	serial_puts("vnetecho: device status ");
	serial_putu(vg_status(&nic));
	serial_putc('\n');
	finish(0);
}
