/* Tests for devmodel/pci_msix.c through the virtio-pci transport (virtio-blk on a temp file): the
 * capability, the table and PBA in their BAR, per-queue and config vectors, entry and function
 * masks with pending bits, bus mastering, resets and snapshots. */
#include "test_virtio_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "devmodel/virtio_blk.h"

#define HDR 0x40000
#define DATA 0x41000
#define STATUS 0x42000

struct t {
	struct vf *v;
	char path[64];
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "/tmp/test_pci_msix.XXXXXX");
	int fd = mkstemp(t->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 65536), 0);
	close(fd);
	t->v = vf_create();
	struct errmsg e = { "" };
	assert_int_equal(pci_create_device(t->v->bus, 0, VF_SLOT, 0, "virtio-blk", t->path, &e), 0);
	vf_attach(t->v);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	vf_destroy(t->v);
	unlink(t->path);
	free(t);
	return 0;
}

/* A GET_ID request on queue 0: one used element and whatever interrupt goes with it. */
static void complete_one(struct vf *v)
{
	uint32_t type = VIRTIO_BLK_T_GET_ID;
	memcpy(v->ram + HDR, &type, 4);
	uint16_t before = vf_used_idx(v, 0);
	struct vf_buf b[3] = { { HDR, 16, false }, { DATA, 20, true }, { STATUS, 1, true } };
	vf_submit(v, 0, b, 3);
	assert_int_equal(vf_used_idx(v, 0), (uint16_t)(before + 1));
	assert_int_equal(v->ram[STATUS], VIRTIO_BLK_S_OK);
}

static void set_vectors(struct vf *v, uint16_t config, uint16_t q0)
{
	vf_bar_write(v, v->common + 16, 2, config);
	vf_bar_write(v, v->common + 22, 2, 0);
	vf_bar_write(v, v->common + 26, 2, q0);
}

/* The usual Linux order: table entries, enable, vectors, then the queues. */
static void msix_driver_init(struct vf *v)
{
	vf_msix_entry(v, 0, false);
	vf_msix_entry(v, 1, false);
	vf_msix_control(v, PCI_MSIX_FLAGS_ENABLE);
	memset(v->ram, 0, VF_RAM);
	vf_negotiate(v, ~0ull);
	set_vectors(v, 0, 1);
	vf_queue(v, 0);
	vf_driver_ok(v);
	v->nmsi = 0;
}

static void test_capability(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	assert_int_not_equal(v->msix_cap, 0);
	uint16_t ctl = (uint16_t)vf_cfg_read(v, v->msix_cap + 2, 2);
	assert_int_equal(ctl, 1); /* two entries (config + one queue), disabled, unmasked */
	assert_int_equal(vf_cfg_read(v, v->msix_cap + 4, 4), VIRTIO_PCI_MSIX_TABLE | VIRTIO_PCI_MSIX_BAR);
	assert_int_equal(vf_cfg_read(v, v->msix_cap + 8, 4), VIRTIO_PCI_MSIX_PBA | VIRTIO_PCI_MSIX_BAR);
	/* Only enable and function mask are writable. */
	vf_cfg_write(v, v->msix_cap + 2, 2, 0xffff);
	assert_int_equal(vf_cfg_read(v, v->msix_cap + 2, 2), 0xc001);
	vf_cfg_write(v, v->msix_cap + 4, 4, 0x12345678);
	assert_int_equal(vf_cfg_read(v, v->msix_cap + 4, 4), VIRTIO_PCI_MSIX_TABLE | VIRTIO_PCI_MSIX_BAR);
	/* The BAR: 32-bit memory, 4 KiB, assigned. */
	assert_int_equal(v->f->bar[VIRTIO_PCI_MSIX_BAR].type, PCI_BAR_MEM32);
	assert_int_equal(v->f->bar[VIRTIO_PCI_MSIX_BAR].size, VIRTIO_PCI_MSIX_BAR_SIZE);
	assert_true(pci_bar_addr(v->f, VIRTIO_PCI_MSIX_BAR) >= PCI_MEM_WINDOW_BASE);
	/* Entries come up masked and zero; nothing pending. */
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 16 * i + 12, 4), 1);
		assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 16 * i, 8), 0);
	}
	assert_int_equal(vf_msix_pending(v), 0);
}

static void test_table_access_rules(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 16, 8, 0x00000001fee01000ull);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 16, 4), 0xfee01000u);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 20, 4), 1);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 16, 8), 0x00000001fee01000ull);
	/* Byte, word and misaligned accesses are dropped and read 0. */
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 24, 1, 0xaa);
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 24, 2, 0xbbbb);
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 20, 8, ~0ull);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 24, 4), 0);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 16, 1), 0);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 20, 4), 1);
	/* Reserved vector-control bits stay 0. */
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 28, 4, 0xfffffffe);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 28, 4), 0);
	/* Past the two entries and outside the PBA: nothing there. */
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 32, 4, 0x1234);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 32, 4), 0);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_BAR_SIZE - 8, 8), 0);
	/* The PBA is read-only. */
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_PBA, 8, ~0ull);
	assert_int_equal(vf_msix_pending(v), 0);
}

static void test_queue_vector_delivery(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	msix_driver_init(v);
	assert_int_equal(vf_bar_read(v, v->common + 16, 2), 0);
	assert_int_equal(vf_bar_read(v, v->common + 26, 2), 1);
	unsigned intx_before = v->irq_changes;
	complete_one(v);
	assert_int_equal(v->nmsi, 1);
	assert_int_equal(v->msi[0].addr, 0xfee00000u);
	assert_int_equal(v->msi[0].data, 0x41); /* entry 1 */
	/* No INTx and nothing in the ISR with MSI-X on (4.1.5.4). */
	assert_int_equal(v->irq_changes, intx_before);
	assert_false(v->irq_level);
	assert_int_equal(vf_bar_read(v, v->isr, 1), 0);
	complete_one(v);
	assert_int_equal(v->nmsi, 2);
}

static void test_bad_and_no_vector(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	msix_driver_init(v);
	/* A vector the table does not have reads back as NO_VECTOR: the driver's refusal check. */
	set_vectors(v, 2, 7);
	assert_int_equal(vf_bar_read(v, v->common + 16, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(vf_bar_read(v, v->common + 26, 2), VIRTIO_MSI_NO_VECTOR);
	complete_one(v);
	assert_int_equal(v->nmsi, 0);
	assert_false(v->irq_level);
	set_vectors(v, VIRTIO_MSI_NO_VECTOR, 0);
	complete_one(v);
	assert_int_equal(v->nmsi, 1);
	assert_int_equal(v->msi[0].data, 0x40);
}

static void test_entry_mask_pending(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	msix_driver_init(v);
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 16 + 12, 4, 1); /* mask entry 1 */
	complete_one(v);
	complete_one(v);
	assert_int_equal(v->nmsi, 0);
	assert_int_equal(vf_msix_pending(v), 2);
	/* Reprogramming a masked entry takes effect for the pending message. */
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 16 + 8, 4, 0x77);
	assert_int_equal(v->nmsi, 0);
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 16 + 12, 4, 0);
	assert_int_equal(v->nmsi, 1); /* one message for both completions */
	assert_int_equal(v->msi[0].data, 0x77);
	assert_int_equal(vf_msix_pending(v), 0);
}

static void test_function_mask_pending(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	msix_driver_init(v);
	vf_msix_control(v, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	complete_one(v);
	assert_int_equal(v->nmsi, 0);
	assert_int_equal(vf_msix_pending(v), 2);
	assert_false(v->irq_level); /* masked MSI-X does not fall back to INTx */
	vf_msix_control(v, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(v->nmsi, 1);
	assert_int_equal(v->msi[0].data, 0x41);
	assert_int_equal(vf_msix_pending(v), 0);
}

static void test_bus_master_off(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	msix_driver_init(v);
	vf_cfg_write(v, PCI_COMMAND, 2, vf_cfg_read(v, PCI_COMMAND, 2) & ~PCI_COMMAND_MASTER);
	complete_one(v);
	assert_int_equal(v->nmsi, 0);
	assert_false(v->irq_level);
}

static void test_config_vector_on_needs_reset(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	msix_driver_init(v);
	/* A descriptor outside RAM: NEEDS_RESET and a configuration change on the config vector. */
	vf_put_desc(v, 0, 0, VF_RAM + 0x1000, 16, 0, 0);
	vf_post(v, 0, 0);
	vf_notify(v, 0);
	assert_true(vf_status(v) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(v->nmsi, 1);
	assert_int_equal(v->msi[0].data, 0x40);
	assert_int_equal(vf_bar_read(v, v->isr, 1), 0);
}

static void test_intx_when_disabled(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	msix_driver_init(v);
	vf_msix_control(v, 0); /* the driver fell back to INTx */
	complete_one(v);
	assert_int_equal(v->nmsi, 0);
	assert_true(v->irq_level);
	assert_int_equal(vf_bar_read(v, v->isr, 1), VIRTIO_ISR_QUEUE);
	assert_false(v->irq_level);
	/* Turning MSI-X on takes a raised INTx off the line. */
	complete_one(v);
	assert_true(v->irq_level);
	vf_msix_control(v, PCI_MSIX_FLAGS_ENABLE);
	assert_false(v->irq_level);
}

static void test_resets(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	msix_driver_init(v);
	/* A device reset (status 0) drops the vector assignments but not the table. */
	vf_bar_write(v, v->common + 20, 1, 0);
	assert_int_equal(vf_bar_read(v, v->common + 16, 2), VIRTIO_MSI_NO_VECTOR);
	vf_bar_write(v, v->common + 22, 2, 0);
	assert_int_equal(vf_bar_read(v, v->common + 26, 2), VIRTIO_MSI_NO_VECTOR);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 16 + 8, 4), 0x41);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 16 + 12, 4), 0);
	/* A machine reset: MSI-X off, entries masked and zero. */
	msix_driver_init(v);
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 16 + 12, 4, 1);
	complete_one(v);
	assert_int_equal(vf_msix_pending(v), 2);
	pci_bus_reset(v->bus);
	assert_false(pci_msix_enabled(v->f));
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 16 + 8, 4), 0);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 16 + 12, 4), 1);
	assert_int_equal(vf_msix_pending(v), 0);
}

static void test_snapshot(void **state)
{
	struct vf *v = ((struct t *)*state)->v;
	msix_driver_init(v);
	vf_bar_write_at(v, VIRTIO_PCI_MSIX_BAR, 16 + 12, 4, 1);
	complete_one(v);
	struct virtio_pci *vp = v->f->priv;
	size_t n = virtio_pci_save(vp, NULL, 0);
	uint8_t *img = malloc(n);
	assert_int_equal(virtio_pci_save(vp, img, n), n);
	pci_bus_reset(v->bus);
	assert_int_equal(vf_msix_pending(v), 0);
	assert_int_equal(virtio_pci_load(vp, img, n), 0);
	assert_int_equal(vf_msix_pending(v), 2);
	assert_int_equal(vf_bar_read_at(v, VIRTIO_PCI_MSIX_BAR, 16 + 8, 4), 0x41);
	assert_int_equal(vf_bar_read(v, v->common + 16, 2), 0);
	/* A vector past the table in an image is refused. */
	struct virtio_pci saved = *vp;
	vp->config_msix_vector = 9;
	assert_int_equal(virtio_pci_save(vp, img, n), n);
	vp->config_msix_vector = saved.config_msix_vector;
	assert_int_equal(virtio_pci_load(vp, img, n), -EINVAL);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_access_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_vector_delivery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_and_no_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_mask_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_mask_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_master_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_vector_on_needs_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_intx_when_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
