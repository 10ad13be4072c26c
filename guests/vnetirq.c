/* vnetirq.elf: virtio-net driven by interrupts as a real driver is: MSI-X vectors to the LAPIC,
 * the guest asleep in hlt between them. It ARPs for 10.0.2.2 (slirp's gateway) and sleeps until
 * the transmit and receive interrupts arrive; a packet must wake a halted vCPU (door 5 at the kick
 * exit, then MSI-X). A LAPIC one-shot bounds each wait. PASS/FAIL lines, then power off. */
#include "fb_idt64.h"
#include "virtio_guest.h"

#define LAPIC 0xfee00000ul
#define TIMEOUT_VECTOR 0x40
#define TIMEOUT_COUNT 312500000u /* 5 s: KVM's APIC bus runs at 1 GHz, divided by 16 */
#define VEC_BASE 0x50            /* MSI-X entry i -> vector 0x50 + i: config, rx, tx */
#define F_MAC (1ull << 5)
#define RXQ 0
#define TXQ 1
#define HDR 12
#define RX_BUFS 8
#define RX_BUF_LEN 2048

static struct vg_dev nic;
static volatile unsigned n_cfg, n_rx, n_tx, timed_out;
static uint8_t tx_frame[HDR + 42];

static void lapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC + reg) = v;
}

static void on_timeout(struct fb_frame *f)
{
	(void)f;
	timed_out = 1;
	lapic_write(0xb0, 0);
}

static void on_msix(struct fb_frame *f)
{
	unsigned entry = (unsigned)f->vector - VEC_BASE;
	if (entry == 0)
		n_cfg++;
	else if (entry == 1 + RXQ)
		n_rx++;
	else if (entry == 1 + TXQ)
		n_tx++;
	lapic_write(0xb0, 0); /* EOI: MSIs are edge-triggered, nothing to acknowledge at the device */
}

/* Sleeps until *counter reaches target or the timeout fires. */
static bool wait_for(volatile unsigned *counter, unsigned target)
{
	timed_out = 0;
	lapic_write(0x380, TIMEOUT_COUNT);
	while (*counter < target && !timed_out)
		__asm__ volatile("sti; hlt; cli" : : : "memory");
	lapic_write(0x380, 0);
	return *counter >= target;
}

void kmain(void)
{
	fb_test_name = "vnetirq";
	fb_idt_init(0x9f000, 0x9f000);
	fb_idt_set_handler(TIMEOUT_VECTOR, on_timeout);
	for (unsigned i = 0; i < 3; i++)
		fb_idt_set_handler(VEC_BASE + i, on_msix);
	lapic_write(0xf0, 0x1ff);           /* software enable, spurious vector 0xff */
	lapic_write(0x3e0, 0x3);            /* divide by 16 */
	lapic_write(0x320, TIMEOUT_VECTOR); /* one-shot */

	bool found = vg_find(VG_VENDOR_VIRTIO, VG_DEVICE_NET, 0, &nic) == 0;
	fb_check("virtio-net found", found);
	if (!found)
		fb_finish();
	bool ok = vg_init(&nic, F_MAC) == 0 && vg_queue_setup(&nic, RXQ, RX_BUFS) == 0 &&
		  vg_queue_setup(&nic, TXQ, 8) == 0;
	fb_check("negotiated, queues set up", ok);
	fb_check("MSI-X vectors accepted (config, rx, tx)", vg_msix_enable(&nic, VEC_BASE) == 0);
	vg_driver_ok(&nic);
	for (unsigned i = 0; i < RX_BUFS; i++) {
		struct vg_buf b = { vg_alloc(RX_BUF_LEN, 16), RX_BUF_LEN, true };
		vg_submit(&nic, RXQ, &b, 1);
	}
	vg_kick(&nic, RXQ);

	/* An ARP request for 10.0.2.2 from 10.0.2.15, header and frame in one buffer. */
	uint8_t *f = tx_frame + HDR;
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1, 0, 0, 0, 0, 0, 0, 10, 0, 2, 15,
					 0, 0, 0, 0, 0, 0, 10, 0, 2, 2 };
	for (unsigned i = 0; i < 6; i++) {
		f[i] = 0xff;
		f[6 + i] = vg_cfg8(&nic, i);
	}
	f[12] = 8;
	f[13] = 6;
	for (unsigned i = 0; i < 28; i++)
		f[14 + i] = arp[i];
	for (unsigned i = 0; i < 6; i++)
		f[22 + i] = f[6 + i];
	struct vg_buf t = { tx_frame, sizeof(tx_frame), false };
	vg_submit(&nic, TXQ, &t, 1);
	vg_kick(&nic, TXQ);

	fb_check("transmit completion interrupt on the tx vector", wait_for(&n_tx, 1));
	fb_check("a received frame woke the halted vCPU through the rx vector", wait_for(&n_rx, 1));
	uint32_t len = 0;
	int head = vg_poll(&nic, RXQ, &len);
	const uint8_t *r = head >= 0 ? (const uint8_t *)(uintptr_t)nic.q[RXQ].desc[head].addr : 0;
	fb_check("it is the ARP reply from 10.0.2.2",
		 r && len >= HDR + 42 && r[HDR + 12] == 8 && r[HDR + 13] == 6 && r[HDR + 21] == 2 &&
			 r[HDR + 28] == 10 && r[HDR + 31] == 2);
	fb_check("no configuration interrupt", n_cfg == 0);
	fb_check("no ISR bits with MSI-X on", vg_isr(&nic) == 0);
	fb_finish();
}
