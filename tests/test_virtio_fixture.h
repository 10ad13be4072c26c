/* A virtio driver for unit tests: a PCI bus on a malloc'd guest memory that logs INTx and MSI
 * messages, config and BAR accesses as a guest makes them, queue setup and descriptor helpers.
 * Header-only (static functions) so each test program takes what it uses. */
#ifndef DHYVE_TESTS_TEST_VIRTIO_FIXTURE_H
#define DHYVE_TESTS_TEST_VIRTIO_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "devmodel/pci.h"
#include "devmodel/pci_devices.h"
#include "devmodel/virtio_pci.h"

#define VF_RAM (1u << 20)
#define VF_SLOT 4
#define VF_GSI (PCI_INTX_GSI_BASE + VF_SLOT)
#define VF_MAX_MSI 64
#define VF_QSIZE 16
/* Queue q's rings at VF_RING(q): descriptors, avail at +0x1000, used at +0x2000. */
#define VF_RING(q) (0x10000u + 0x4000u * (q))

struct vf_msi {
	uint64_t addr;
	uint32_t data;
};

struct vf {
	uint8_t *ram;
	struct gmem mem;
	struct pci_bus *bus;
	struct pci_func *f;
	bool irq_level;
	unsigned irq_changes;
	struct vf_msi msi[VF_MAX_MSI];
	unsigned nmsi;
	unsigned input_notifies; /* door 5: a back-end asked for a poll */
	uint32_t common, notify, isr, devcfg, notify_mult; /* BAR offsets from the capabilities */
	unsigned msix_cap;
	uint16_t next_desc[VIRTIO_MAX_QUEUES], avail_idx[VIRTIO_MAX_QUEUES];
};

static inline void vf_log_irq(void *ctx, unsigned gsi, bool level)
{
	struct vf *v = ctx;
	if (gsi == VF_GSI) {
		v->irq_level = level;
		v->irq_changes++;
	}
}

static inline void vf_log_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct vf *v = ctx;
	if (v->nmsi < VF_MAX_MSI)
		v->msi[v->nmsi] = (struct vf_msi){ addr, data };
	v->nmsi++;
}

static inline void vf_log_input(void *ctx)
{
	((struct vf *)ctx)->input_notifies++;
}

/* The bus and ram only; the caller adds its device at VF_SLOT and calls vf_attach. */
static inline struct vf *vf_create(void)
{
	struct vf *v = calloc(1, sizeof(*v));
	v->ram = calloc(1, VF_RAM);
	gmem_init_flat(&v->mem, v->ram, VF_RAM);
	struct errmsg e = { "" };
	v->bus = pci_bus_create(&(struct pci_bus_config){ .irq = { vf_log_irq, v }, .msi = { vf_log_msi, v },
							  .mem = &v->mem, .input_notify = vf_log_input, .input_ctx = v,
							  .vm_name = "testvm" }, &e);
	assert_non_null(v->bus);
	return v;
}

static inline void vf_destroy(struct vf *v)
{
	pci_bus_destroy(v->bus);
	free(v->ram);
	free(v);
}

static inline uint32_t vf_cfg_read(struct vf *v, unsigned reg, unsigned size)
{
	uint64_t x = 0;
	pci_ecam_access(v->bus, (VF_SLOT << 15) | reg, size, false, &x);
	return (uint32_t)x;
}

static inline void vf_cfg_write(struct vf *v, unsigned reg, unsigned size, uint32_t val)
{
	uint64_t x = val;
	pci_ecam_access(v->bus, (VF_SLOT << 15) | reg, size, true, &x);
}

static inline uint64_t vf_bar_read_at(struct vf *v, unsigned bar, uint32_t off, unsigned size)
{
	uint64_t x = 0;
	uint64_t base = pci_bar_addr(v->f, bar) - PCI_MEM_WINDOW_BASE;
	assert_int_equal(pci_memwin_access(v->bus, base + off, size, false, &x), 0);
	return x;
}

static inline void vf_bar_write_at(struct vf *v, unsigned bar, uint32_t off, unsigned size, uint64_t x)
{
	uint64_t base = pci_bar_addr(v->f, bar) - PCI_MEM_WINDOW_BASE;
	assert_int_equal(pci_memwin_access(v->bus, base + off, size, true, &x), 0);
}

static inline uint64_t vf_bar_read(struct vf *v, uint32_t off, unsigned size)
{
	return vf_bar_read_at(v, VIRTIO_PCI_BAR, off, size);
}

static inline void vf_bar_write(struct vf *v, uint32_t off, unsigned size, uint64_t x)
{
	vf_bar_write_at(v, VIRTIO_PCI_BAR, off, size, x);
}

/* Walks the capability list as virtio_pci_modern does. */
static inline void vf_attach(struct vf *v)
{
	v->f = pci_find(v->bus, VF_SLOT, 0);
	assert_non_null(v->f);
	vf_cfg_write(v, PCI_COMMAND, 2, vf_cfg_read(v, PCI_COMMAND, 2) | PCI_COMMAND_MASTER);
	unsigned found = 0;
	for (unsigned c = vf_cfg_read(v, PCI_CAP_PTR, 1); c; c = vf_cfg_read(v, c + 1, 1)) {
		if (vf_cfg_read(v, c, 1) == PCI_CAP_ID_MSIX)
			v->msix_cap = c;
		if (vf_cfg_read(v, c, 1) != 0x09)
			continue;
		uint32_t off = vf_cfg_read(v, c + 8, 4);
		switch (vf_cfg_read(v, c + 3, 1)) {
		case VIRTIO_PCI_CAP_COMMON_CFG: v->common = off; found |= 1; break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			v->notify = off;
			v->notify_mult = vf_cfg_read(v, c + 16, 4);
			found |= 2;
			break;
		case VIRTIO_PCI_CAP_ISR_CFG: v->isr = off; found |= 4; break;
		case VIRTIO_PCI_CAP_DEVICE_CFG: v->devcfg = off; found |= 8; break;
		}
	}
	assert_int_equal(found, 15);
}

static inline uint8_t vf_status(struct vf *v)
{
	return (uint8_t)vf_bar_read(v, v->common + 20, 1);
}

static inline uint64_t vf_device_features(struct vf *v)
{
	vf_bar_write(v, v->common + 0, 4, 0);
	uint64_t lo = vf_bar_read(v, v->common + 4, 4);
	vf_bar_write(v, v->common + 0, 4, 1);
	return lo | vf_bar_read(v, v->common + 4, 4) << 32;
}

/* 3.1.1 up to FEATURES_OK with the features given (all offered ones when want is ~0). */
static inline void vf_negotiate(struct vf *v, uint64_t want)
{
	vf_bar_write(v, v->common + 20, 1, 0);
	vf_bar_write(v, v->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE);
	vf_bar_write(v, v->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	want &= vf_device_features(v);
	vf_bar_write(v, v->common + 8, 4, 0);
	vf_bar_write(v, v->common + 12, 4, (uint32_t)want);
	vf_bar_write(v, v->common + 8, 4, 1);
	vf_bar_write(v, v->common + 12, 4, want >> 32);
	vf_bar_write(v, v->common + 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_true(vf_status(v) & VIRTIO_STATUS_FEATURES_OK);
}

static inline void vf_queue(struct vf *v, unsigned q)
{
	vf_bar_write(v, v->common + 22, 2, q);
	vf_bar_write(v, v->common + 24, 2, VF_QSIZE);
	vf_bar_write(v, v->common + 32, 8, VF_RING(q));
	vf_bar_write(v, v->common + 40, 8, VF_RING(q) + 0x1000);
	vf_bar_write(v, v->common + 48, 8, VF_RING(q) + 0x2000);
	vf_bar_write(v, v->common + 28, 2, 1);
	assert_int_equal(vf_bar_read(v, v->common + 28, 2), 1);
	v->next_desc[q] = v->avail_idx[q] = 0;
}

static inline void vf_driver_ok(struct vf *v)
{
	vf_bar_write(v, v->common + 20, 1, vf_status(v) | VIRTIO_STATUS_DRIVER_OK);
	assert_int_equal(vf_status(v), 0xf);
}

/* Negotiate, queues 0..nq-1, DRIVER_OK. */
static inline void vf_driver_init(struct vf *v, uint64_t want, unsigned nq)
{
	memset(v->ram, 0, VF_RAM);
	vf_negotiate(v, want);
	for (unsigned q = 0; q < nq; q++)
		vf_queue(v, q);
	vf_driver_ok(v);
}

static inline void vf_put_desc(struct vf *v, unsigned q, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
			uint16_t next)
{
	uint8_t *d = v->ram + VF_RING(q) + 16 * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static inline uint16_t vf_used_idx(struct vf *v, unsigned q)
{
	uint16_t x;
	memcpy(&x, v->ram + VF_RING(q) + 0x2000 + 2, 2);
	return x;
}

/* Used element n (of the ring, not the index): its id and len. */
static inline void vf_used_elem(struct vf *v, unsigned q, uint16_t n, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = v->ram + VF_RING(q) + 0x2000 + 4 + 8 * (n % VF_QSIZE);
	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
}

/* Puts head on the avail ring (no notify). */
static inline void vf_post(struct vf *v, unsigned q, uint16_t head)
{
	uint8_t *avail = v->ram + VF_RING(q) + 0x1000;
	memcpy(avail + 4 + 2 * (v->avail_idx[q] % VF_QSIZE), &head, 2);
	v->avail_idx[q]++;
	memcpy(avail + 2, &v->avail_idx[q], 2);
}

static inline void vf_notify(struct vf *v, unsigned q)
{
	vf_bar_write(v, v->notify + q * v->notify_mult, 2, q);
}

/* One chain of n buffers (addr, len, writable) from the queue's next free descriptors; returns
 * its head, posted and notified. */
struct vf_buf {
	uint64_t addr;
	uint32_t len;
	bool writable;
};

static inline uint16_t vf_submit(struct vf *v, unsigned q, const struct vf_buf *b, unsigned n)
{
	uint16_t head = v->next_desc[q];
	for (unsigned i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % VF_QSIZE), next = (uint16_t)((d + 1) % VF_QSIZE);
		vf_put_desc(v, q, d, b[i].addr, b[i].len,
			    (uint16_t)((b[i].writable ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)), next);
	}
	v->next_desc[q] = (uint16_t)((head + n) % VF_QSIZE);
	vf_post(v, q, head);
	vf_notify(v, q);
	return head;
}

/* ---- MSI-X ---- */

static inline uint32_t vf_msix_table_off(struct vf *v)
{
	return vf_cfg_read(v, v->msix_cap + 4, 4) & ~7u;
}

static inline uint32_t vf_msix_pba_off(struct vf *v)
{
	return vf_cfg_read(v, v->msix_cap + 8, 4) & ~7u;
}

/* Entry i: address 0xfee00000, data 0x40 + i, unmasked or masked. */
static inline void vf_msix_entry(struct vf *v, unsigned i, bool masked)
{
	uint32_t t = vf_msix_table_off(v) + 16 * i;
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, t + 0, 4, 0xfee00000u);
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, t + 4, 4, 0);
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, t + 8, 4, 0x40 + i);
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, t + 12, 4, masked ? 1 : 0);
}

static inline void vf_msix_control(struct vf *v, uint16_t bits)
{
	uint16_t ctl = (uint16_t)vf_cfg_read(v, v->msix_cap + 2, 2);
	vf_cfg_write(v, v->msix_cap + 2, 2, (ctl & 0x3fff) | bits);
}

static inline uint64_t vf_msix_pending(struct vf *v)
{
	return vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, vf_msix_pba_off(v), 8);
}

#endif
