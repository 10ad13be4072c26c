/* The virtio harnesses' common half: bus, RAM and device built fresh per input, the guest's view
 * through the MMIO window and ECAM, the transport's DEVICE actions, and the transport invariants
 * (INTx follows the ISR, MSI-X messages come from unmasked entries, queues stay inside RAM). */
#include "fuzz/virtio_fuzz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/pci_msix.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/guest_ops.h"
#include "fuzz/guest_ram.h"

#define ECAM_OFF (PCI_ECAM_BASE - PCI_MEM_WINDOW_BASE)
#define IMG_MAX 4096

static void irq_sink(void *ctx, unsigned gsi, bool level)
{
	struct vfz *z = ctx;
	fuzz_irq_change(&z->line, gsi, pci_intx_gsi(VFZ_SLOT, 1), level);
}

/* A message must be what an unmasked table entry of an enabled, mastering function says. Called
 * under the bus lock, on this thread: the table can be read directly. */
static void msi_sink(void *ctx, uint64_t addr, uint32_t data)
{
	struct vfz *z = ctx;
	FUZZ_CHECK(z->vp && pci_msix_enabled(z->f), "MSI with MSI-X off");
	FUZZ_CHECK(pci_cfg_get(z->f, PCI_COMMAND, 2) & PCI_COMMAND_MASTER, "MSI without bus mastering");
	uint16_t ctl = (uint16_t)pci_cfg_get(z->f, z->f->msix_cap + PCI_MSIX_FLAGS, 2);
	FUZZ_CHECK(!(ctl & PCI_MSIX_FLAGS_MASKALL), "MSI while the function is masked");
	const struct pci_msix *m = &z->vp->msix;
	bool found = false;
	for (unsigned v = 0; v < m->nvec && !found; v++)
		found = !(m->table[v][3] & PCI_MSIX_ENTRY_CTRL_MASKBIT) &&
			(m->table[v][0] | (uint64_t)m->table[v][1] << 32) == addr && m->table[v][2] == data;
	FUZZ_CHECK(found, "MSI %#llx/%#x matches no unmasked entry", (unsigned long long)addr, data);
	z->msis++;
}

static void input_notify(void *ctx)
{
	((struct vfz *)ctx)->input_notifies++;
}

bool vfz_create(struct vfz *z)
{
	memset(z, 0, sizeof(*z));
	z->ram = guest_ram_alloc(VFZ_RAM);
	if (!z->ram)
		return false;
	gmem_init_flat(&z->mem, z->ram, VFZ_RAM);
	guest_ram_track(&z->dirty, &z->mem, VFZ_RAM);
	iobus_init(&z->mmio, "mmio");
	struct errmsg e;
	z->bus = pci_bus_create(&(struct pci_bus_config){ .mmio = &z->mmio, .irq = { irq_sink, z },
							  .msi = { msi_sink, z }, .mem = &z->mem,
							  .input_notify = input_notify, .input_ctx = z,
							  .vm_name = "fuzz" }, &e);
	if (!z->bus) {
		iobus_destroy(&z->mmio);
		guest_ram_free(z->ram, VFZ_RAM);
		return false;
	}
	return true;
}

void vfz_attach(struct vfz *z)
{
	z->f = pci_find(z->bus, VFZ_SLOT, 0);
	FUZZ_CHECK(z->f, "no device at slot %u", VFZ_SLOT);
	z->vp = z->f->priv;
}

void vfz_destroy(struct vfz *z)
{
	pci_bus_destroy(z->bus);
	iobus_destroy(&z->mmio);
	guest_ram_free(z->ram, VFZ_RAM);
}

static size_t save(struct vfz *z, uint8_t *img);

void vfz_keep(struct vfz *z)
{
	z->nclean = save(z, z->clean);
}

void vfz_restore(struct vfz *z)
{
	pci_bus_reset(z->bus);
	/* The reset leaves the MSI-X table as it was (as hardware does); the image holds it too. */
	FUZZ_CHECK(virtio_pci_load(z->vp, z->clean, z->nclean) == 0, "the power-on image refused");
	FUZZ_CHECK(!z->line && !z->f->intx_asserted, "INTx still up after a reset");
	guest_ram_zero_dirty(&z->dirty, z->ram); /* zeroing all 128 KiB was 12% of an input */
	z->msis = z->input_notifies = 0;
	z->loaded = false;
}

/* ---- the guest's side, for the setup action ---- */

static uint64_t bar_base(struct vfz *z, unsigned bar)
{
	return pci_bar_addr(z->f, bar) - VFZ_MMIO_BASE;
}

static void mmio(struct vfz *z, uint64_t off, unsigned size, bool is_write, uint64_t *val)
{
	iobus_access(&z->mmio, VFZ_MMIO_BASE + off, size, is_write, val);
}

static void common_write(struct vfz *z, unsigned off, unsigned size, uint64_t v)
{
	mmio(z, bar_base(z, VIRTIO_PCI_BAR) + VIRTIO_PCI_COMMON_OFF + off, size, true, &v);
}

static uint64_t common_read(struct vfz *z, unsigned off, unsigned size)
{
	uint64_t v = 0;
	mmio(z, bar_base(z, VIRTIO_PCI_BAR) + VIRTIO_PCI_COMMON_OFF + off, size, false, &v);
	return v;
}

static void cfg_write(struct vfz *z, unsigned reg, unsigned size, uint32_t v)
{
	uint64_t x = v;
	mmio(z, ECAM_OFF + ((uint64_t)VFZ_SLOT << 15) + reg, size, true, &x);
}

/* 3.1.1 as Linux does it, queues at VFZ_RING(q) with VFZ_QSIZE entries, MSI-X unless told not. */
static void setup(struct vfz *z, const uint8_t *buf, size_t len)
{
	uint8_t flags = len ? buf[0] : 0;
	uint16_t cmd = (uint16_t)pci_cfg_get(z->f, PCI_COMMAND, 2);
	cfg_write(z, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	common_write(z, 20, 1, 0);
	common_write(z, 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	uint64_t want = 0;
	for (unsigned sel = 0; sel < 2; sel++) {
		common_write(z, 0, 4, sel);
		want |= common_read(z, 4, 4) << (32 * sel);
	}
	if (flags & 2)
		want &= ~VIRTIO_F_INDIRECT_DESC;
	want &= ~(flags & 0xfc ? z->drop_features : 0);
	for (unsigned sel = 0; sel < 2; sel++) {
		common_write(z, 8, 4, sel);
		common_write(z, 12, 4, (uint32_t)(want >> (32 * sel)));
	}
	common_write(z, 20, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	bool msix = !(flags & 1) && z->f->msix_cap;
	if (msix) {
		uint64_t table = bar_base(z, VIRTIO_PCI_MSIX_BAR) + VIRTIO_PCI_MSIX_TABLE;
		for (unsigned v = 0; v < z->vp->msix.nvec; v++) {
			uint64_t addr = 0xfee00000u, data = 0x40 + v, ctl = 0;
			mmio(z, table + 16 * v, 8, true, &addr);
			mmio(z, table + 16 * v + 8, 4, true, &data);
			mmio(z, table + 16 * v + 12, 4, true, &ctl);
		}
		cfg_write(z, z->f->msix_cap + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
		common_write(z, 16, 2, 0);
	}
	for (unsigned q = 0; q < z->vp->ops->nqueues; q++) {
		common_write(z, 22, 2, q);
		common_write(z, 24, 2, VFZ_QSIZE);
		if (msix)
			common_write(z, 26, 2, q + 1);
		common_write(z, 32, 8, VFZ_RING(q));
		common_write(z, 40, 8, VFZ_RING(q) + 0x1000);
		common_write(z, 48, 8, VFZ_RING(q) + 0x2000);
		common_write(z, 28, 2, 1);
	}
	common_write(z, 20, 1,
		     VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* ---- actions and invariants ---- */

static size_t save(struct vfz *z, uint8_t *img)
{
	_Static_assert(sizeof(z->clean) == IMG_MAX, "the power-on image fits");
	size_t n = virtio_pci_save(z->vp, NULL, 0);
	FUZZ_CHECK(n > 0 && n <= IMG_MAX, "transport image of %zu bytes", n);
	FUZZ_CHECK(virtio_pci_save(z->vp, img, n - 1) == 0, "save into a short buffer");
	FUZZ_CHECK(virtio_pci_save(z->vp, img, n) == n, "save");
	return n;
}

static void transport_action(struct vfz *z, unsigned sub, const uint8_t *buf, size_t len)
{
	uint8_t a[IMG_MAX], b[IMG_MAX];
	switch (sub) {
	case VFZ_DEV_BUS_RESET:
		pci_bus_reset(z->bus);
		FUZZ_CHECK(z->vp->status == 0 && z->vp->isr == 0 && !pci_msix_enabled(z->f) && z->vp->msix.pending == 0,
			   "not at power-on after a reset");
		z->loaded = false;
		break;
	case VFZ_DEV_SETUP:
		setup(z, buf, len);
		break;
	case VFZ_DEV_ROUND_TRIP: {
		size_t na = save(z, a);
		FUZZ_CHECK(virtio_pci_load(z->vp, a, na) == 0, "own image refused");
		size_t nb = save(z, b);
		FUZZ_CHECK(na == nb && memcmp(a, b, na) == 0, "round trip changed the image");
		break;
	}
	case VFZ_DEV_LOAD: {
		size_t na = save(z, a);
		memcpy(b, a, na);
		size_t at = len >= 2 ? ((size_t)buf[0] | (size_t)buf[1] << 8) % na : 0;
		for (size_t i = 2; i < len; i++)
			b[(at + i - 2) % na] = buf[i];
		if (virtio_pci_load(z->vp, b, na) == 0) {
			/* Padding and dropped bits need not survive; what a load keeps must. */
			z->loaded = true;
			size_t nc = save(z, a);
			FUZZ_CHECK(virtio_pci_load(z->vp, a, nc) == 0, "a saved image refused");
			size_t nd = save(z, b);
			FUZZ_CHECK(nc == nd && memcmp(a, b, nc) == 0, "a loaded image does not save back stably");
		} else {
			size_t nc = save(z, b);
			FUZZ_CHECK(nc == na && memcmp(a, b, na) == 0, "a refused image changed the transport");
		}
		break;
	}
	case VFZ_DEV_MSIX_SEND: {
		unsigned before = z->msis;
		int rc = pci_msix_send(&z->vp->msix, len ? buf[0] : 0);
		FUZZ_CHECK(rc == -EAGAIN || rc == 0 || rc == 1, "pci_msix_send gave %d", rc);
		FUZZ_CHECK(z->msis == before + (rc == 0), "pci_msix_send %d but %u messages", rc, z->msis - before);
		break;
	}
	default:
		break;
	}
}

static void check(struct vfz *z)
{
	struct virtio_pci *vp = z->vp;
	/* INTx is asserted exactly while the ISR holds something, and the line follows the masks. */
	FUZZ_CHECK(z->f->intx_asserted == (vp->isr != 0), "INTx %d with ISR %#x", z->f->intx_asserted, vp->isr);
	uint16_t cmd = (uint16_t)pci_cfg_get(z->f, PCI_COMMAND, 2);
	bool driven = vp->isr && !(cmd & PCI_COMMAND_INTX_DISABLE) && !pci_msix_enabled(z->f);
	FUZZ_CHECK(z->line == driven, "INTx line %d, expected %d", z->line, driven);
	/* Vectors are ones the table has, or none. */
	unsigned nvec = vp->msix.nvec;
	FUZZ_CHECK(vp->config_msix_vector == VIRTIO_MSI_NO_VECTOR || vp->config_msix_vector < nvec,
		   "config vector %u", vp->config_msix_vector);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		const struct virtqueue *vq = &vp->vq[q];
		FUZZ_CHECK(vq->msix_vector == VIRTIO_MSI_NO_VECTOR || vq->msix_vector < nvec, "queue %u vector %u", q,
			   vq->msix_vector);
		if (!vq->enabled)
			continue;
		FUZZ_CHECK(q < vp->ops->nqueues && vq->size <= vp->ops->queue_size && vq_check(vq, &z->mem) == 0,
			   "queue %u enabled with size %u at %#llx/%#llx/%#llx", q, vq->size, (unsigned long long)vq->desc,
			   (unsigned long long)vq->avail, (unsigned long long)vq->used);
	}
	FUZZ_CHECK(!(vp->msix.pending >> nvec), "pending bits past the table: %#llx",
		   (unsigned long long)vp->msix.pending);
	if (!z->loaded && (vp->status & VIRTIO_STATUS_FEATURES_OK))
		FUZZ_CHECK(!(vp->driver_features & ~vp->host_features) && (vp->driver_features & VIRTIO_F_VERSION_1),
			   "FEATURES_OK with features %#llx", (unsigned long long)vp->driver_features);
}

struct run_ctx {
	struct vfz *z;
	void (*device_action)(struct vfz *z, unsigned sub, const uint8_t *buf, size_t len);
	void (*host_input)(struct vfz *z, const uint8_t *buf, size_t len);
};

static void on_notify(void *ctx, uint64_t queue)
{
	struct vfz *z = ((struct run_ctx *)ctx)->z;
	uint64_t v = queue;
	mmio(z, bar_base(z, VIRTIO_PCI_BAR) + VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * (queue % 16), 2, true, &v);
}

static void on_host_input(void *ctx, const uint8_t *buf, size_t len)
{
	struct run_ctx *r = ctx;
	if (r->host_input)
		r->host_input(r->z, buf, len);
}

static void on_device(void *ctx, unsigned sub, const uint8_t *buf, size_t len)
{
	struct run_ctx *r = ctx;
	if (sub < VFZ_DEV_OWN)
		transport_action(r->z, sub, buf, len);
	else if (r->device_action)
		r->device_action(r->z, sub, buf, len);
}

/* The exit point: what the VM does at a kick (door 5), then the invariants. */
static void after_op(void *ctx, const struct guest_op *op)
{
	(void)op;
	struct vfz *z = ((struct run_ctx *)ctx)->z;
	pci_bus_poll_input(z->bus);
	check(z);
}

void vfz_run(struct vfz *z, const uint8_t *data, size_t size,
	     void (*device_action)(struct vfz *z, unsigned sub, const uint8_t *buf, size_t len),
	     void (*host_input)(struct vfz *z, const uint8_t *buf, size_t len))
{
	struct run_ctx r = { z, device_action, host_input };
	struct guest_ops_target t = {
		.mmio = &z->mmio,
		.mmio_base = VFZ_MMIO_BASE,
		.mem = &z->mem,
		.notify = on_notify,
		.host_input = on_host_input,
		.device = on_device,
		.after_op = after_op,
		.ctx = &r,
	};
	check(z);
	guest_ops_run(&t, data, size);
	/* What the input left behind, for the reproducer's self-test (the saves cost: only then). */
	if (!fuzz_outcome_wanted)
		return;
	uint8_t img[IMG_MAX];
	fuzz_outcome_add(img, save(z, img));
	fuzz_outcome_add(z->ram, VFZ_RAM);
	fuzz_outcome_u64((uint64_t)z->msis << 32 | (uint64_t)z->input_notifies << 1 | z->line);
}
