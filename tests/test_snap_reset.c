/* The fast reset on real KVM with guests/dirtyloop.elf: after each reset every byte of RAM is
 * what it was at the snapshot (the pages the guest wrote, and one a device wrote behind KVM's
 * back), the registers are the snapshot's, only the device that changed is reloaded, and the
 * guest runs the same round again. Also the vCPU state's own round trip through KVM. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/machine.h"
#include "cli/options.h"
#include "replay/snap_reset.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_state.h"

#define READY_PORT 0xf0 /* guests/dirtyloop.c */
#define DONE_PORT 0xf1
#define COUNT_ADDR 0x500000ul
#define PAGES_ADDR 0x1000000ul
#define DMA_ADDR 0x2000000ul
#define ROUNDS 5
#define NPAGES 16

static void require_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return;
	}
	int err = errno;
	const char *req = getenv("DHYVE_REQUIRE_KVM");
	if (req && strcmp(req, "1") == 0)
		fail_msg("/dev/kvm: %s, and DHYVE_REQUIRE_KVM=1 forbids skipping", strerror(err));
	print_message("skipped: /dev/kvm cannot be opened read-write: %s\n", strerror(err));
	skip();
}

/* Two fake devices: one whose state the test changes between resets, one it never touches. */
struct fake {
	uint32_t value, loads;
};
static size_t fake_save(void *d, void *b, size_t l)
{
	if (b && l >= 4)
		memcpy(b, &((struct fake *)d)->value, 4);
	return 4;
}
static int fake_load(void *d, const void *b, size_t l)
{
	struct fake *f = d;
	if (l != 4)
		return -EINVAL;
	memcpy(&f->value, b, 4);
	f->loads++;
	return 0;
}

struct ctx {
	struct machine *m;
	vmexit_handler_fn old_fn;
	void *old_opaque;
	struct snap_reset *r;
	uint8_t *ram_at_snap;
	struct kvm_regs regs_at_snap;
	struct fake changing, still;
	unsigned resets, readies;
	struct snap_reset_stats st;
	char err[256];
};

static void failed(struct ctx *c, const char *what)
{
	if (!c->err[0])
		snprintf(c->err, sizeof(c->err), "%s", what);
	vm_request_end(c->m->vm, VM_END_ERROR, 0, what);
}

static enum vmexit_action on_pio(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct ctx *c = opaque;
	const struct gmem *mem = vm_gmem(c->m->vm);
	struct errmsg e;
	if (ex->is_write && ex->addr == READY_PORT) {
		c->readies++;
		if (c->r)
			return VMEXIT_RESUME;
		uint32_t n = NPAGES;
		gmem_write(mem, COUNT_ADDR, &n, 4);
		struct snap_dev devs[2] = { { "changing", fake_save, fake_load, &c->changing },
					    { "still", fake_save, fake_load, &c->still } };
		c->r = snap_reset_create(c->m->vm, devs, 2, &e);
		if (!c->r) {
			failed(c, e.text);
			return VMEXIT_STOP;
		}
		c->m->dev_mem.observer = snap_reset_observer(c->r);
		memcpy(c->ram_at_snap, mem->slot[0].host, mem->slot[0].size);
		vcpu_get_regs(vcpu, &c->regs_at_snap); /* after the OUT: the snapshot completed it */
		return VMEXIT_RESUME;
	}
	if (ex->is_write && ex->addr == DONE_PORT && c->r) {
		uint8_t b;
		gmem_read(mem, PAGES_ADDR + (NPAGES - 1) * 4096, &b, 1);
		if (b == 0)
			failed(c, "the guest did not write its pages");
		/* A device's DMA, which KVM's log does not see, and a device state change. */
		uint32_t junk = 0xdeadbeef;
		gmem_write(&c->m->dev_mem, DMA_ADDR, &junk, 4);
		c->changing.value++;
		if (snap_reset_restore(c->r, VCPU_STATE_SYNCED, &c->st, &e) < 0) {
			failed(c, e.text);
			return VMEXIT_STOP;
		}
		if (memcmp(mem->slot[0].host, c->ram_at_snap, mem->slot[0].size) != 0)
			failed(c, "RAM differs from the snapshot after a reset");
		struct kvm_regs r;
		vcpu_get_regs(vcpu, &r);
		if (memcmp(&r, &c->regs_at_snap, sizeof(r)) != 0)
			failed(c, "registers differ from the snapshot after a reset");
		if (++c->resets == ROUNDS) {
			vm_request_end(c->m->vm, VM_END_POWEROFF, 0, "done");
			return VMEXIT_STOP;
		}
		return VMEXIT_RESUME;
	}
	return c->old_fn(vcpu, ex, c->old_opaque);
}

static void build(struct machine *m, struct config *cfg)
{
	struct dhyve_options o;
	struct errmsg e = { "" };
	config_init(cfg);
	config_set(cfg, "name", "test-snap-reset");
	config_set(cfg, "kernel", BUILD_DIR "/guests/dirtyloop.elf");
	config_set(cfg, "memory.size", "64M");
	config_set(cfg, "watchdog", "0");
	if (options_from_config(cfg, &o, &e) < 0 || machine_create(m, &o, &e) < 0)
		fail_msg("%s", e.text);
}

static void resets_to_the_snapshot(void **state)
{
	(void)state;
	require_kvm();
	static struct machine m;
	struct config cfg;
	build(&m, &cfg);
	static struct ctx c;
	memset(&c, 0, sizeof(c));
	c.m = &m;
	c.ram_at_snap = malloc(64 << 20);
	assert_non_null(c.ram_at_snap);
	vm_get_exit_handler(m.vm, VMEXIT_PIO, &c.old_fn, &c.old_opaque);
	vm_set_exit_handler(m.vm, VMEXIT_PIO, on_pio, &c);
	struct errmsg e;
	assert_int_equal(vm_start(m.vm, &e), 0);
	vm_wait(m.vm);
	if (c.err[0])
		fail_msg("%s", c.err);
	assert_int_equal(c.resets, ROUNDS);
	/* Back at the snapshot each time, the guest never came to READY again. */
	assert_int_equal(c.readies, 1);
	assert_int_equal(c.changing.loads, ROUNDS);
	assert_int_equal(c.still.loads, 0);
	/* The guest's pages, plus the DMA page; the page tables' accessed bits may add one. */
	double per = (double)c.st.pages / ROUNDS;
	if (per < NPAGES + 1 || per > NPAGES + 3)
		fail_msg("%.1f pages copied per reset, expected %d to %d", per, NPAGES + 1, NPAGES + 3);
	m.dev_mem.observer = NULL;
	snap_reset_destroy(c.r);
	free(c.ram_at_snap);
	machine_destroy(&m);
	config_free(&cfg);
}

/* The whole vCPU state read from KVM, changed, written back and read again. */
static void vcpu_state_round_trip(void **state)
{
	(void)state;
	require_kvm();
	static struct machine m;
	struct config cfg;
	build(&m, &cfg);
	struct vcpu *v = vm_vcpu(m.vm, 0);
	static struct vcpu_state s, t;
	struct errmsg e = { "" };
	if (vcpu_state_get(v, &s, &e) < 0)
		fail_msg("%s", e.text);
	assert_true(s.nmsrs > 10);
	s.regs.rax = 0x1122334455667788ull;
	s.regs.r15 = 42;
	s.debugregs.db[1] = 0x1000;
	if (s.has_xsave) {
		s.xsave[160 / 4 + 7 * 4] = 0x5eed5eed; /* XMM7's low dword in the legacy area */
		s.xsave[512 / 4] |= 2; /* XSTATE_BV: SSE state present (else XRSTOR leaves it at init) */
	} else
		s.fpu.xmm[7][0] = 0xed;
	for (unsigned i = 0; i < s.nmsrs; i++)
		if (s.msrs[i].index == 0xc0000102) /* KERNEL_GS_BASE */
			s.msrs[i].data = 0xffff888000001000ull;
	if (vcpu_state_set(v, &s, VCPU_STATE_ALL, &e) < 0)
		fail_msg("%s", e.text);
	if (vcpu_state_get(v, &t, &e) < 0)
		fail_msg("%s", e.text);
	assert_int_equal(t.regs.rax, 0x1122334455667788ull);
	assert_int_equal(t.regs.r15, 42);
	assert_int_equal(t.debugregs.db[1], 0x1000);
	if (s.has_xsave)
		assert_int_equal(t.xsave[160 / 4 + 7 * 4], 0x5eed5eed);
	else
		assert_int_equal(t.fpu.xmm[7][0], 0xed);
	uint64_t kgs = 0;
	assert_int_equal(vcpu_get_msr(v, 0xc0000102, &kgs), 0);
	assert_int_equal(kgs, 0xffff888000001000ull);
	assert_memory_equal(&s.sregs, &t.sregs, sizeof(s.sregs));
	assert_memory_equal(&s.lapic, &t.lapic, sizeof(s.lapic));
	struct vm_chip_state cs;
	if (vm_chip_state_get(m.vm, &cs, true, &e) < 0 || vm_chip_state_set(m.vm, &cs, true, &e) < 0)
		fail_msg("%s", e.text);
	assert_true(cs.has_pit);
	machine_destroy(&m);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resets_to_the_snapshot),
		cmocka_unit_test(vcpu_state_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
