/* The virtio modern PCI transport: the common config registers, ISR, notify and device config
 * regions of the BAR, the status state machine and the queue interrupt logic, once for all devices. */
#include "devmodel/virtio_pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define VIRTIO_NO_VECTOR VIRTIO_MSI_NO_VECTOR
#define VIRTIO_PCI_SUBSYS_ID 0x1100

/* Offsets in struct virtio_pci_common_cfg (4.1.4.3). */
enum {
	CC_DFSELECT = 0, CC_DF = 4, CC_GFSELECT = 8, CC_GF = 12, CC_MSIX = 16, CC_NUMQ = 18,
	CC_STATUS = 20, CC_CFGGEN = 21, CC_Q_SELECT = 22, CC_Q_SIZE = 24, CC_Q_MSIX = 26,
	CC_Q_ENABLE = 28, CC_Q_NOFF = 30, CC_Q_DESC = 32, CC_Q_AVAIL = 40, CC_Q_USED = 48,
};

/* A queue (bits QUEUE, vector the queue's) or configuration interrupt (4.1.5.3, 4.1.5.4). */
static void raise_isr(struct virtio_pci *vp, uint8_t bits, uint16_t vector)
{
	if (pci_msix_enabled(vp->f)) {
		if (vector != VIRTIO_NO_VECTOR)
			pci_msix_send(&vp->msix, vector);
		return;
	}
	vp->isr |= bits;
	pci_intx_set(vp->f, true);
}

/* A vector the driver asks for: one the table has, or NO_VECTOR, which it reads back as refusal. */
static uint16_t vector_ok(const struct virtio_pci *vp, uint64_t v)
{
	return v < vp->msix.nvec ? (uint16_t)v : VIRTIO_NO_VECTOR;
}

void virtio_pci_set_needs_reset(struct virtio_pci *vp)
{
	if (vp->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	vp->config_generation++;
	/* Only a driver that finished setup listens for the change (2.1.2). */
	if (vp->status & VIRTIO_STATUS_DRIVER_OK)
		raise_isr(vp, VIRTIO_ISR_CONFIG, vp->config_msix_vector);
}

bool virtio_pci_negotiated(const struct virtio_pci *vp, uint64_t feature)
{
	return (vp->driver_features & feature) == feature;
}

int virtio_pci_pop(struct virtio_pci *vp, unsigned q, struct vq_chain *c)
{
	if (q >= vp->ops->nqueues || (vp->status & VIRTIO_STATUS_NEEDS_RESET))
		return -EIO;
	int rc = vq_pop(&vp->vq[q], vp->mem, virtio_pci_negotiated(vp, VIRTIO_F_INDIRECT_DESC), c);
	if (rc < 0)
		virtio_pci_set_needs_reset(vp);
	return rc;
}

void virtio_pci_push(struct virtio_pci *vp, unsigned q, uint16_t head, uint32_t written)
{
	struct virtqueue *vq = &vp->vq[q];
	if (vq_push(vq, vp->mem, head, written) < 0) {
		virtio_pci_set_needs_reset(vp);
		return;
	}
	if (vq_wants_interrupt(vq, vp->mem))
		raise_isr(vp, VIRTIO_ISR_QUEUE, vq->msix_vector);
}

void virtio_pci_push_n(struct virtio_pci *vp, unsigned q, const uint16_t *heads, const uint32_t *written,
		       unsigned n)
{
	struct virtqueue *vq = &vp->vq[q];
	if (n == 0)
		return;
	if (vq_push_n(vq, vp->mem, heads, written, n) < 0) {
		virtio_pci_set_needs_reset(vp);
		return;
	}
	if (vq_wants_interrupt(vq, vp->mem))
		raise_isr(vp, VIRTIO_ISR_QUEUE, vq->msix_vector);
}

void virtio_pci_unpop(struct virtio_pci *vp, unsigned q, unsigned n)
{
	vp->vq[q].last_avail = (uint16_t)(vp->vq[q].last_avail - n);
}

bool virtio_pci_ready(const struct virtio_pci *vp)
{
	return (vp->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) == VIRTIO_STATUS_DRIVER_OK;
}

static void transport_reset(struct virtio_pci *vp)
{
	vp->driver_features = 0;
	vp->device_feature_sel = vp->driver_feature_sel = 0;
	vp->config_msix_vector = VIRTIO_NO_VECTOR;
	vp->queue_sel = 0;
	vp->status = 0;
	vp->isr = 0;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp->vq[q] = (struct virtqueue){ .size = vp->ops->queue_size, .msix_vector = VIRTIO_NO_VECTOR };
	pci_intx_set(vp->f, false);
	if (vp->ops->reset)
		vp->ops->reset(vp->dev);
}

static struct virtqueue *selected(struct virtio_pci *vp)
{
	return vp->queue_sel < vp->ops->nqueues ? &vp->vq[vp->queue_sel] : NULL;
}

static uint64_t common_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
	uint8_t img[VIRTIO_PCI_COMMON_LEN] = { 0 };
	struct virtqueue *vq = selected(vp);
	uint32_t df = vp->device_feature_sel < 2 ? (uint32_t)(vp->host_features >> (32 * vp->device_feature_sel)) : 0;
	uint32_t gf = vp->driver_feature_sel < 2 ? (uint32_t)(vp->driver_features >> (32 * vp->driver_feature_sel)) : 0;
	uint16_t nq = (uint16_t)vp->ops->nqueues, noff = vp->queue_sel;
	uint16_t qsize = vq ? vq->size : 0, qen = vq ? vq->enabled : 0;
	uint16_t qmsix = vq ? vq->msix_vector : VIRTIO_NO_VECTOR;
	uint64_t desc = vq ? vq->desc : 0, avail = vq ? vq->avail : 0, used = vq ? vq->used : 0;
	memcpy(img + CC_DFSELECT, &vp->device_feature_sel, 4);
	memcpy(img + CC_DF, &df, 4);
	memcpy(img + CC_GFSELECT, &vp->driver_feature_sel, 4);
	memcpy(img + CC_GF, &gf, 4);
	memcpy(img + CC_MSIX, &vp->config_msix_vector, 2);
	memcpy(img + CC_NUMQ, &nq, 2);
	img[CC_STATUS] = vp->status;
	img[CC_CFGGEN] = vp->config_generation;
	memcpy(img + CC_Q_SELECT, &vp->queue_sel, 2);
	memcpy(img + CC_Q_SIZE, &qsize, 2);
	memcpy(img + CC_Q_MSIX, &qmsix, 2);
	memcpy(img + CC_Q_ENABLE, &qen, 2);
	memcpy(img + CC_Q_NOFF, &noff, 2);
	memcpy(img + CC_Q_DESC, &desc, 8);
	memcpy(img + CC_Q_AVAIL, &avail, 8);
	memcpy(img + CC_Q_USED, &used, 8);
	uint64_t v = 0;
	memcpy(&v, img + off, size);
	return v;
}

/* A 64-bit queue address written whole or as two 32-bit halves (Linux does the latter). */
static void write_addr(uint64_t *field, unsigned off_in_field, unsigned size, uint64_t val)
{
	uint8_t b[8];
	memcpy(b, field, 8);
	memcpy(b + off_in_field, &val, size);
	memcpy(field, b, 8);
}

static void write_status(struct virtio_pci *vp, uint8_t val)
{
	if (val == 0) {
		transport_reset(vp);
		return;
	}
	uint8_t newly = val & ~vp->status;
	if (newly & VIRTIO_STATUS_FEATURES_OK) {
		/* Refusing FEATURES_OK is how a device says no (3.1.1): the driver reads it back. */
		bool ok = !(vp->driver_features & ~vp->host_features) && virtio_pci_negotiated(vp, VIRTIO_F_VERSION_1);
		if (!ok)
			val &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	/* NEEDS_RESET is the device's to set; a driver write keeps whatever it is. */
	vp->status = (uint8_t)((val & ~VIRTIO_STATUS_NEEDS_RESET) | (vp->status & VIRTIO_STATUS_NEEDS_RESET));
}

static void common_write(struct virtio_pci *vp, unsigned off, unsigned size, uint64_t val)
{
	struct virtqueue *vq = selected(vp);
	bool q_open = vq && !vq->enabled; /* queue registers are set before the queue is enabled */
	if (off >= CC_Q_DESC) {
		unsigned base = off < CC_Q_AVAIL ? CC_Q_DESC : off < CC_Q_USED ? CC_Q_AVAIL : CC_Q_USED;
		if (!q_open || off + size > base + 8)
			return;
		uint64_t *field = base == CC_Q_DESC ? &vq->desc : base == CC_Q_AVAIL ? &vq->avail : &vq->used;
		write_addr(field, off - base, size, val);
		return;
	}
	switch (off) {
	case CC_DFSELECT:
		if (size == 4)
			vp->device_feature_sel = (uint32_t)val;
		break;
	case CC_GFSELECT:
		if (size == 4)
			vp->driver_feature_sel = (uint32_t)val;
		break;
	case CC_GF:
		if (size == 4 && vp->driver_feature_sel < 2 && !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned sh = 32 * vp->driver_feature_sel;
			vp->driver_features = (vp->driver_features & ~(0xffffffffull << sh)) | ((val & 0xffffffffull) << sh);
		}
		break;
	case CC_STATUS:
		if (size == 1)
			write_status(vp, (uint8_t)val);
		break;
	case CC_MSIX:
		if (size == 2)
			vp->config_msix_vector = vector_ok(vp, val);
		break;
	case CC_Q_MSIX:
		if (size == 2 && vq)
			vq->msix_vector = vector_ok(vp, val);
		break;
	case CC_Q_SELECT:
		if (size == 2)
			vp->queue_sel = (uint16_t)val;
		break;
	case CC_Q_SIZE:
		/* The driver may shrink a queue; vq_check refuses a bad size at enable time. */
		if (size == 2 && q_open)
			vq->size = (uint16_t)val;
		break;
	case CC_Q_ENABLE:
		if (size == 2 && q_open && val == 1) {
			if (vq->size > vp->ops->queue_size || vq_check(vq, vp->mem) < 0) {
				virtio_pci_set_needs_reset(vp);
				break;
			}
			vq->enabled = 1;
			vq->last_avail = vq->used_idx = 0;
		}
		break;
	default: /* read-only registers */
		break;
	}
}

static void notify(struct virtio_pci *vp, uint64_t off)
{
	unsigned q = (unsigned)(off / VIRTIO_PCI_NOTIFY_MULT);
	if (q >= vp->ops->nqueues || !vp->vq[q].enabled)
		return;
	if ((vp->status & (VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_NEEDS_RESET)) != VIRTIO_STATUS_DRIVER_OK)
		return;
	if (vp->ops->queue_notify)
		vp->ops->queue_notify(vp->dev, vp, q);
}

static int bar_access(struct pci_func *f, unsigned bar, uint64_t off, unsigned size, bool is_write, uint64_t *val)
{
	struct virtio_pci *vp = f->priv;
	if (bar == VIRTIO_PCI_MSIX_BAR) {
		if (!pci_msix_access(&vp->msix, off, size, is_write, val) && !is_write)
			*val = 0;
		return 0;
	}
	if (bar != VIRTIO_PCI_BAR)
		return 0;
	uint64_t v = 0;
	pthread_mutex_lock(&vp->lock);
	if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
		if (off + size > VIRTIO_PCI_COMMON_LEN || (off & (size - 1)))
			; /* straddles a register: reads 0, writes vanish */
		else if (is_write)
			common_write(vp, (unsigned)off, size, *val);
		else
			v = common_read(vp, (unsigned)off, size);
	} else if (off == VIRTIO_PCI_ISR_OFF) {
		if (!is_write) {
			/* Reading the ISR acknowledges the interrupt (4.1.4.5). */
			v = vp->isr;
			vp->isr = 0;
			pci_intx_set(f, false);
		}
	} else if (off >= VIRTIO_PCI_DEVCFG_OFF && off < VIRTIO_PCI_DEVCFG_OFF + VIRTIO_PCI_DEVCFG_LEN) {
		unsigned o = (unsigned)(off - VIRTIO_PCI_DEVCFG_OFF);
		if (o + size <= vp->ops->cfg_len) {
			if (!is_write)
				vp->ops->cfg_read(vp->dev, o, size, &v);
			else if (vp->ops->cfg_write)
				vp->ops->cfg_write(vp->dev, o, size, *val);
		}
	} else if (off >= VIRTIO_PCI_NOTIFY_OFF && is_write) {
		notify(vp, off - VIRTIO_PCI_NOTIFY_OFF);
	}
	pthread_mutex_unlock(&vp->lock);
	if (!is_write)
		*val = v;
	return 0;
}

/* Runs from pci_bus_reset with the bus lock held; it does not take vp->lock because bar_access
 * holds vp->lock while it calls pci_intx_set (which takes the bus lock). A machine reset comes
 * when the guest has stopped using the device, so the two do not overlap in practice. */
static void func_reset(struct pci_func *f)
{
	struct virtio_pci *vp = f->priv;
	transport_reset(vp);
	pci_msix_reset(&vp->msix); /* the table is the function's, not the virtio device's: only here */
}

static void func_poll_input(struct pci_func *f)
{
	struct virtio_pci *vp = f->priv;
	pthread_mutex_lock(&vp->lock);
	if (vp->ops->poll_input)
		vp->ops->poll_input(vp->dev, vp);
	pthread_mutex_unlock(&vp->lock);
}

static bool func_cfg_write(struct pci_func *f, unsigned reg, unsigned size, uint32_t val)
{
	struct virtio_pci *vp = f->priv;
	return pci_msix_cfg_write(&vp->msix, reg, size, val);
}

static void func_destroy(struct pci_func *f)
{
	struct virtio_pci *vp = f->priv;
	if (vp->ops->destroy)
		vp->ops->destroy(vp->dev);
	pthread_mutex_destroy(&vp->lock);
	free(vp);
}

static const struct pci_func_ops virtio_func_ops = {
	.name = "virtio",
	.cfg_write = func_cfg_write,
	.bar_access = bar_access,
	.poll_input = func_poll_input,
	.reset = func_reset,
	.destroy = func_destroy,
};

static int add_cap(struct pci_func *f, uint8_t type, uint32_t offset, uint32_t length, struct errmsg *e)
{
	unsigned len = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16;
	int at = pci_add_capability(f, 0x09 /* vendor-specific */, len, e);
	if (at < 0)
		return at;
	unsigned c = (unsigned)at;
	pci_cfg_init(f, c + 2, 1, len, 0);
	pci_cfg_init(f, c + 3, 1, type, 0);
	pci_cfg_init(f, c + 4, 1, VIRTIO_PCI_BAR, 0);
	pci_cfg_init(f, c + 8, 4, offset, 0);
	pci_cfg_init(f, c + 12, 4, length, 0);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		pci_cfg_init(f, c + 16, 4, VIRTIO_PCI_NOTIFY_MULT, 0);
	return 0;
}

int virtio_pci_add(struct pci_bus *bus, unsigned slot, unsigned fn, const struct virtio_dev_ops *ops, void *dev,
		   uint64_t host_features, struct virtio_pci **out, struct errmsg *e)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));
	if (!vp || ops->nqueues > VIRTIO_MAX_QUEUES || ops->queue_size > VQ_MAX_SIZE) {
		free(vp);
		if (ops->destroy)
			ops->destroy(dev);
		return errmsg_set(e, vp ? EINVAL : ENOMEM, vp ? "bad virtio device description" : "out of memory");
	}
	vp->ops = ops;
	vp->dev = dev;
	vp->mem = pci_bus_config(bus)->mem;
	vp->host_features = host_features | VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC;
	vp->fops = virtio_func_ops;
	vp->fops.name = ops->name;
	pthread_mutex_init(&vp->lock, NULL);
	struct pci_func *f;
	int rc = pci_add(bus, slot, fn, &vp->fops, vp, &f, e);
	if (rc < 0) {
		func_destroy(&(struct pci_func){ .priv = vp });
		return rc;
	}
	vp->f = f;
	if (!vp->mem) {
		pci_remove(f);
		return errmsg_set(e, EINVAL, "%s needs guest memory on the PCI bus", ops->name);
	}
	pci_set_ids(f, &(struct pci_ids){ .vendor = VIRTIO_PCI_VENDOR, .device = VIRTIO_PCI_DEVICE_BASE + ops->device_id,
					  .class_code = ops->class_code, .revision = 1,
					  .subvendor = VIRTIO_PCI_VENDOR, .subdevice = VIRTIO_PCI_SUBSYS_ID });
	if ((rc = pci_add_bar(f, VIRTIO_PCI_BAR, PCI_BAR_MEM64, VIRTIO_PCI_BAR_SIZE, false, e)) < 0 ||
	    (rc = pci_add_bar(f, VIRTIO_PCI_MSIX_BAR, PCI_BAR_MEM32, VIRTIO_PCI_MSIX_BAR_SIZE, false, e)) < 0 ||
	    (rc = add_cap(f, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN, e)) < 0 ||
	    (rc = add_cap(f, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
			  VIRTIO_PCI_NOTIFY_MULT * ops->nqueues, e)) < 0 ||
	    (rc = add_cap(f, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, e)) < 0 ||
	    (rc = add_cap(f, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVCFG_OFF, ops->cfg_len, e)) < 0 ||
	    (rc = pci_msix_init(&vp->msix, f, ops->nqueues + 1, VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_TABLE,
				VIRTIO_PCI_MSIX_PBA, e)) < 0) {
		pci_remove(f);
		return rc;
	}
	pci_set_intx_pin(f, 1);
	transport_reset(vp);
	if (out)
		*out = vp;
	return 0;
}

/* ---- snapshots ---- */

#define VIRTIO_PCI_STATE_MAGIC   0x50495656u /* "VVIP" */
#define VIRTIO_PCI_STATE_VERSION 2 /* 2: the MSI-X table and pending bits */

struct virtio_pci_state {
	uint32_t magic, version, nqueues;
	uint32_t device_feature_sel, driver_feature_sel;
	uint64_t driver_features;
	uint16_t config_msix_vector, queue_sel;
	uint8_t status, config_generation, isr, pad;
	struct virtqueue vq[VIRTIO_MAX_QUEUES];
	uint32_t msix_table[PCI_MSIX_MAX_VECTORS][4];
	uint64_t msix_pending;
};

size_t virtio_pci_save(struct virtio_pci *vp, void *buf, size_t len)
{
	if (!buf)
		return sizeof(struct virtio_pci_state);
	if (len < sizeof(struct virtio_pci_state))
		return 0;
	struct virtio_pci_state s;
	memset(&s, 0, sizeof(s)); /* no stray padding bytes in an image */
	pthread_mutex_lock(&vp->lock);
	s.magic = VIRTIO_PCI_STATE_MAGIC;
	s.version = VIRTIO_PCI_STATE_VERSION;
	s.nqueues = vp->ops->nqueues;
	s.device_feature_sel = vp->device_feature_sel;
	s.driver_feature_sel = vp->driver_feature_sel;
	s.driver_features = vp->driver_features;
	s.config_msix_vector = vp->config_msix_vector;
	s.queue_sel = vp->queue_sel;
	s.status = vp->status;
	s.config_generation = vp->config_generation;
	s.isr = vp->isr;
	memcpy(s.vq, vp->vq, sizeof(s.vq));
	pci_msix_snapshot(&vp->msix, s.msix_table, &s.msix_pending, false);
	pthread_mutex_unlock(&vp->lock);
	memcpy(buf, &s, sizeof(s));
	return sizeof(s);
}

int virtio_pci_load(struct virtio_pci *vp, const void *buf, size_t len)
{
	struct virtio_pci_state s;
	if (len != sizeof(s))
		return -EINVAL;
	memcpy(&s, buf, sizeof(s));
	if (s.magic != VIRTIO_PCI_STATE_MAGIC || s.version != VIRTIO_PCI_STATE_VERSION || s.nqueues != vp->ops->nqueues)
		return -EINVAL;
	/* A driver may write any feature bits; only FEATURES_OK says the device accepted them. */
	if ((s.status & VIRTIO_STATUS_FEATURES_OK) && (s.driver_features & ~vp->host_features))
		return -EINVAL;
	if (s.config_msix_vector != VIRTIO_NO_VECTOR && s.config_msix_vector >= vp->msix.nvec)
		return -EINVAL;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (s.vq[q].msix_vector != VIRTIO_NO_VECTOR && s.vq[q].msix_vector >= vp->msix.nvec)
			return -EINVAL;
	/* An image is input like any other: an enabled queue must still point into RAM. */
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (s.vq[q].enabled && (q >= s.nqueues || s.vq[q].size > vp->ops->queue_size || vq_check(&s.vq[q], vp->mem) < 0))
			return -EINVAL;
	pthread_mutex_lock(&vp->lock);
	vp->device_feature_sel = s.device_feature_sel;
	vp->driver_feature_sel = s.driver_feature_sel;
	vp->driver_features = s.driver_features;
	vp->config_msix_vector = s.config_msix_vector;
	vp->queue_sel = s.queue_sel;
	vp->status = s.status;
	vp->config_generation = s.config_generation;
	vp->isr = s.isr;
	memcpy(vp->vq, s.vq, sizeof(s.vq));
	pci_msix_snapshot(&vp->msix, s.msix_table, &s.msix_pending, true);
	pci_intx_set(vp->f, vp->isr != 0);
	pthread_mutex_unlock(&vp->lock);
	return 0;
}
