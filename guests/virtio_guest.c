/* The test guests' virtio driver: PCI config through 0xcf8/0xcfc, the modern capabilities, split
 * queues in memory from a bump allocator. Guest-physical equals virtual (the identity map). */
#include "virtio_guest.h"

#include "io.h"

#define CFG_ADDR   0xcf8
#define CFG_DATA   0xcfc
#define CFG_ENABLE 0x80000000u

#define PCI_COMMAND     0x04
#define PCI_BAR0        0x10
#define PCI_CAP_PTR     0x34
#define PCI_STATUS_CAPS 0x10
#define CMD_MEMORY      0x2
#define CMD_MASTER      0x4

#define CAP_VENDOR 0x09
#define CAP_MSIX   0x11
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR    3
#define CAP_DEVICE 4

/* struct virtio_pci_common_cfg (4.1.4.3). */
#define CC_DFSELECT 0
#define CC_DF       4
#define CC_GFSELECT 8
#define CC_GF       12
#define CC_MSIX     16
#define CC_STATUS   20
#define CC_Q_SELECT 22
#define CC_Q_SIZE   24
#define CC_Q_MSIX   26
#define CC_Q_ENABLE 28
#define CC_Q_NOFF   30
#define CC_Q_DESC   32
#define CC_Q_AVAIL  40
#define CC_Q_USED   48

#define MSIX_ENABLE 0x8000
#define LAPIC_MSI_ADDR 0xfee00000u

#define barrier() __asm__ volatile("" : : : "memory")

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

uint32_t vg_pci_read32(unsigned slot, unsigned fn, unsigned reg)
{
	outl(CFG_ADDR, CFG_ENABLE | slot << 11 | fn << 8 | (reg & 0xfc));
	return inl(CFG_DATA);
}

void vg_pci_write32(unsigned slot, unsigned fn, unsigned reg, uint32_t val)
{
	outl(CFG_ADDR, CFG_ENABLE | slot << 11 | fn << 8 | (reg & 0xfc));
	outl(CFG_DATA, val);
}

static uint8_t pci_read8(unsigned slot, unsigned fn, unsigned reg)
{
	return (uint8_t)(vg_pci_read32(slot, fn, reg) >> (8 * (reg & 3)));
}

static uint64_t bar_address(unsigned slot, unsigned fn, unsigned bar)
{
	uint32_t lo = vg_pci_read32(slot, fn, PCI_BAR0 + 4 * bar);
	uint64_t a = lo & ~0xfu;
	if ((lo & 0x6) == 0x4) /* 64-bit memory BAR */
		a |= (uint64_t)vg_pci_read32(slot, fn, PCI_BAR0 + 4 * bar + 4) << 32;
	return a;
}

static volatile uint8_t *cap_region(unsigned slot, unsigned fn, unsigned cap)
{
	unsigned bar = pci_read8(slot, fn, cap + 4);
	uint32_t off = vg_pci_read32(slot, fn, cap + 8);
	return (volatile uint8_t *)(uintptr_t)(bar_address(slot, fn, bar) + off);
}

static int walk_caps(struct vg_dev *d)
{
	unsigned s = d->slot, f = d->fn;
	if (!((vg_pci_read32(s, f, PCI_COMMAND) >> 16) & PCI_STATUS_CAPS))
		return -1;
	unsigned guard = 0;
	for (unsigned cap = pci_read8(s, f, PCI_CAP_PTR) & 0xfc; cap && guard < 48; guard++) {
		uint8_t id = pci_read8(s, f, cap);
		if (id == CAP_MSIX) {
			d->msix_cap = (uint8_t)cap;
		} else if (id == CAP_VENDOR) {
			switch (pci_read8(s, f, cap + 3)) {
			case CAP_COMMON: d->common = cap_region(s, f, cap); break;
			case CAP_ISR: d->isr = cap_region(s, f, cap); break;
			case CAP_DEVICE: d->devcfg = cap_region(s, f, cap); break;
			case CAP_NOTIFY:
				d->notify_base = cap_region(s, f, cap);
				d->notify_mult = vg_pci_read32(s, f, cap + 16);
				break;
			}
		}
		cap = pci_read8(s, f, cap + 1) & 0xfc;
	}
	return d->common && d->isr && d->notify_base ? 0 : -1;
}

int vg_find(uint16_t vendor, uint16_t device, unsigned index, struct vg_dev *d)
{
	uint32_t want = (uint32_t)device << 16 | vendor;
	for (unsigned slot = 0; slot < 32; slot++) {
		bool multi = (vg_pci_read32(slot, 0, 0x0c) >> 16) & 0x80;
		for (unsigned fn = 0; fn < (multi ? 8u : 1u); fn++) {
			if (vg_pci_read32(slot, fn, 0) != want || index--)
				continue;
			uint8_t *p = (uint8_t *)d;
			for (unsigned i = 0; i < sizeof(*d); i++)
				p[i] = 0;
			d->slot = slot;
			d->fn = fn;
			uint32_t cmd = vg_pci_read32(slot, fn, PCI_COMMAND) & 0xffff;
			vg_pci_write32(slot, fn, PCI_COMMAND, cmd | CMD_MEMORY | CMD_MASTER);
			return walk_caps(d);
		}
	}
	return -1;
}

static inline void w8(volatile uint8_t *b, unsigned off, uint8_t v) { *(volatile uint8_t *)(b + off) = v; }
static inline void w16(volatile uint8_t *b, unsigned off, uint16_t v) { *(volatile uint16_t *)(b + off) = v; }
static inline void w32(volatile uint8_t *b, unsigned off, uint32_t v) { *(volatile uint32_t *)(b + off) = v; }
static inline uint8_t r8(volatile uint8_t *b, unsigned off) { return *(volatile uint8_t *)(b + off); }
static inline uint16_t r16(volatile uint8_t *b, unsigned off) { return *(volatile uint16_t *)(b + off); }
static inline uint32_t r32(volatile uint8_t *b, unsigned off) { return *(volatile uint32_t *)(b + off); }

/* 64-bit queue addresses as two 32-bit halves, the way Linux writes them. */
static void w64(volatile uint8_t *b, unsigned off, uint64_t v)
{
	w32(b, off, (uint32_t)v);
	w32(b, off + 4, (uint32_t)(v >> 32));
}

uint8_t vg_status(struct vg_dev *d)
{
	return r8(d->common, CC_STATUS);
}

int vg_init(struct vg_dev *d, uint64_t want)
{
	w8(d->common, CC_STATUS, 0);
	while (r8(d->common, CC_STATUS) != 0) /* reset completes when 0 reads back (4.1.4.3.2) */
		;
	w8(d->common, CC_STATUS, VG_STATUS_ACK);
	w8(d->common, CC_STATUS, VG_STATUS_ACK | VG_STATUS_DRIVER);
	uint64_t offered = 0;
	for (unsigned sel = 0; sel < 2; sel++) {
		w32(d->common, CC_DFSELECT, sel);
		offered |= (uint64_t)r32(d->common, CC_DF) << (32 * sel);
	}
	if (!(offered & VG_F_VERSION_1))
		return -1;
	d->features = (offered & want) | VG_F_VERSION_1;
	for (unsigned sel = 0; sel < 2; sel++) {
		w32(d->common, CC_GFSELECT, sel);
		w32(d->common, CC_GF, (uint32_t)(d->features >> (32 * sel)));
	}
	w8(d->common, CC_STATUS, VG_STATUS_ACK | VG_STATUS_DRIVER | VG_STATUS_FEATURES_OK);
	if (!(r8(d->common, CC_STATUS) & VG_STATUS_FEATURES_OK)) {
		w8(d->common, CC_STATUS, VG_STATUS_FAILED);
		return -1;
	}
	return 0;
}

void vg_driver_ok(struct vg_dev *d)
{
	w8(d->common, CC_STATUS, r8(d->common, CC_STATUS) | VG_STATUS_DRIVER_OK);
}

static uint8_t pool[512 * 1024] __attribute__((aligned(4096)));
static uint32_t pool_used;

void *vg_alloc(uint32_t bytes, uint32_t align)
{
	uint32_t at = (pool_used + align - 1) & ~(align - 1);
	if (at > sizeof(pool) || bytes > sizeof(pool) - at)
		return 0;
	pool_used = at + bytes;
	for (uint32_t i = 0; i < bytes; i++)
		pool[at + i] = 0;
	return pool + at;
}

int vg_queue_setup(struct vg_dev *d, unsigned q, uint16_t max)
{
	if (q >= VG_MAX_QUEUES)
		return -1;
	w16(d->common, CC_Q_SELECT, (uint16_t)q);
	uint16_t size = r16(d->common, CC_Q_SIZE);
	if (size == 0)
		return -1;
	if (max && max < size)
		size = max;
	struct vg_queue *vq = &d->q[q];
	vq->desc = vg_alloc(16u * size, 4096);
	vq->avail = vg_alloc(6u + 2u * size, 2);
	vq->used = vg_alloc(6u + 8u * size, 4096);
	if (!vq->desc || !vq->avail || !vq->used)
		return -1;
	vq->size = size;
	vq->last_used = 0;
	for (uint16_t i = 0; i < size; i++)
		vq->desc[i].next = (uint16_t)(i + 1);
	vq->free_head = 0;
	vq->num_free = size;
	w16(d->common, CC_Q_SIZE, size);
	w64(d->common, CC_Q_DESC, (uintptr_t)vq->desc);
	w64(d->common, CC_Q_AVAIL, (uintptr_t)vq->avail);
	w64(d->common, CC_Q_USED, (uintptr_t)vq->used);
	uint16_t noff = r16(d->common, CC_Q_NOFF);
	vq->notify = (volatile uint16_t *)(d->notify_base + (uint32_t)noff * d->notify_mult);
	w16(d->common, CC_Q_ENABLE, 1);
	return r16(d->common, CC_Q_ENABLE) == 1 ? 0 : -1;
}

int vg_submit(struct vg_dev *d, unsigned q, const struct vg_buf *bufs, unsigned n)
{
	struct vg_queue *vq = &d->q[q];
	if (n == 0 || n > vq->num_free)
		return -1;
	uint16_t head = vq->free_head, i = head, last = head;
	for (unsigned k = 0; k < n; k++) {
		vq->desc[i].addr = (uintptr_t)bufs[k].addr;
		vq->desc[i].len = bufs[k].len;
		vq->desc[i].flags = (uint16_t)((bufs[k].writable ? VG_DESC_F_WRITE : 0) | (k + 1 < n ? VG_DESC_F_NEXT : 0));
		last = i;
		i = vq->desc[i].next;
	}
	vq->free_head = i;
	vq->num_free = (uint16_t)(vq->num_free - n);
	(void)last;
	uint16_t idx = vq->avail[1];
	vq->avail[2 + idx % vq->size] = head;
	barrier(); /* the entry before the index that publishes it (x86 keeps store order) */
	vq->avail[1] = (uint16_t)(idx + 1);
	return head;
}

void vg_kick(struct vg_dev *d, unsigned q)
{
	barrier();
	*d->q[q].notify = (uint16_t)q;
}

int vg_poll(struct vg_dev *d, unsigned q, uint32_t *len)
{
	struct vg_queue *vq = &d->q[q];
	volatile uint16_t *used_idx = (volatile uint16_t *)(vq->used + 2);
	if (*used_idx == vq->last_used)
		return -1;
	barrier();
	volatile uint32_t *e = (volatile uint32_t *)(vq->used + 4 + 8u * (vq->last_used % vq->size));
	uint32_t id = e[0];
	if (len)
		*len = e[1];
	vq->last_used++;
	if (id >= vq->size)
		return -1;
	/* Back to the free list: walk the chain to its end. */
	uint16_t i = (uint16_t)id, n = 1;
	while ((vq->desc[i].flags & VG_DESC_F_NEXT) && n < vq->size) {
		i = vq->desc[i].next;
		n++;
	}
	vq->desc[i].next = vq->free_head;
	vq->free_head = (uint16_t)id;
	vq->num_free = (uint16_t)(vq->num_free + n);
	return (int)id;
}

int vg_wait(struct vg_dev *d, unsigned q, uint32_t *len, unsigned long spins)
{
	for (unsigned long i = 0; i < spins; i++) {
		int h = vg_poll(d, q, len);
		if (h >= 0)
			return h;
		__asm__ volatile("pause");
	}
	return -1;
}

uint8_t vg_isr(struct vg_dev *d)
{
	return r8(d->isr, 0);
}

uint8_t vg_cfg8(struct vg_dev *d, unsigned off) { return r8(d->devcfg, off); }
uint16_t vg_cfg16(struct vg_dev *d, unsigned off) { return r16(d->devcfg, off); }
uint32_t vg_cfg32(struct vg_dev *d, unsigned off) { return r32(d->devcfg, off); }
uint64_t vg_cfg64(struct vg_dev *d, unsigned off)
{
	return r32(d->devcfg, off) | (uint64_t)r32(d->devcfg, off + 4) << 32;
}

/* ---- MSI-X ---- */

static volatile uint32_t *msix_region(struct vg_dev *d, unsigned reg)
{
	uint32_t v = vg_pci_read32(d->slot, d->fn, d->msix_cap + reg);
	return (volatile uint32_t *)(uintptr_t)(bar_address(d->slot, d->fn, v & 7) + (v & ~7u));
}

int vg_msix_enable(struct vg_dev *d, uint8_t base_vector)
{
	if (!d->msix_cap)
		return -1;
	uint32_t ctl = vg_pci_read32(d->slot, d->fn, d->msix_cap);
	d->msix_size = (uint16_t)(((ctl >> 16) & 0x7ff) + 1);
	unsigned nq = 0;
	while (nq < VG_MAX_QUEUES && d->q[nq].size)
		nq++;
	if (d->msix_size < nq + 1)
		return -1;
	d->msix_table = msix_region(d, 4);
	for (unsigned i = 0; i < d->msix_size; i++) {
		volatile uint32_t *e = d->msix_table + 4 * i;
		e[0] = LAPIC_MSI_ADDR;
		e[1] = 0;
		e[2] = (uint32_t)(base_vector + i);
		e[3] = 0; /* unmasked */
	}
	vg_pci_write32(d->slot, d->fn, d->msix_cap, ctl | (uint32_t)MSIX_ENABLE << 16);
	w16(d->common, CC_MSIX, 0);
	if (r16(d->common, CC_MSIX) != 0)
		return -1;
	for (unsigned q = 0; q < nq; q++) {
		w16(d->common, CC_Q_SELECT, (uint16_t)q);
		w16(d->common, CC_Q_MSIX, (uint16_t)(q + 1));
		if (r16(d->common, CC_Q_MSIX) != q + 1)
			return -1;
	}
	return 0;
}

void vg_msix_mask(struct vg_dev *d, unsigned entry, bool masked)
{
	if (d->msix_table && entry < d->msix_size)
		d->msix_table[4 * entry + 3] = masked ? 1 : 0;
}

bool vg_msix_pending(struct vg_dev *d, unsigned entry)
{
	if (!d->msix_cap || entry >= d->msix_size)
		return false;
	volatile uint32_t *pba = msix_region(d, 8);
	return (pba[entry / 32] >> (entry % 32)) & 1;
}
