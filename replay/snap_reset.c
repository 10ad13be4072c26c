/* The fast reset: a RAM copy and dirty bitmaps per slot, the vCPU and irqchip states and the
 * device images, and the restore that touches only what changed since. */
#include "replay/snap_reset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/dirty_log.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_state.h"
#include "vmm/vm.h"

#define PAGE 4096u

struct reset_slot {
	uint64_t gpa, pages;
	uint8_t *host, *copy;
	uint64_t *kvm_dirty; /* what KVM_GET_DIRTY_LOG returned */
	uint64_t *dev_dirty; /* pages devices wrote (atomic ORs: devices run on any vCPU thread) */
};

struct snap_reset {
	struct vm *vm;
	unsigned nslots;
	struct reset_slot slot[GMEM_MAX_SLOTS];
	unsigned ncpus;
	struct vcpu_state *vcpu;
	struct vm_chip_state chip, chip_now;
	unsigned ndevs;
	struct snap_dev *devs;
	uint8_t **img;
	size_t *img_len;
	uint8_t *scratch;
	size_t scratch_len;
	struct gmem_observer observer;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void device_wrote(void *ctx, uint64_t gpa, uint64_t len)
{
	struct snap_reset *r = ctx;
	for (unsigned s = 0; s < r->nslots && len; s++) {
		struct reset_slot *sl = &r->slot[s];
		if (gpa < sl->gpa || gpa - sl->gpa >= sl->pages * PAGE)
			continue;
		uint64_t first = (gpa - sl->gpa) / PAGE, last = (gpa - sl->gpa + len - 1) / PAGE;
		if (last >= sl->pages)
			last = sl->pages - 1;
		for (uint64_t p = first; p <= last; p++)
			__atomic_fetch_or(&sl->dev_dirty[p / 64], 1ull << (p % 64), __ATOMIC_RELAXED);
	}
}

const struct gmem_observer *snap_reset_observer(struct snap_reset *r)
{
	return &r->observer;
}

static int take_devices(struct snap_reset *r, struct errmsg *e)
{
	size_t need = 0;
	for (unsigned i = 0; i < r->ndevs; i++) {
		size_t len = r->devs[i].save(r->devs[i].dev, NULL, 0);
		uint8_t *img = realloc(r->img[i], len ? len : 1);
		if (!img)
			return errmsg_set(e, ENOMEM, "out of memory");
		r->img[i] = img;
		r->img_len[i] = r->devs[i].save(r->devs[i].dev, img, len);
		need = len > need ? len : need;
	}
	if (need > r->scratch_len) {
		uint8_t *s = realloc(r->scratch, need);
		if (!s)
			return errmsg_set(e, ENOMEM, "out of memory");
		r->scratch = s;
		r->scratch_len = need;
	}
	return 0;
}

int snap_reset_take(struct snap_reset *r, struct errmsg *e)
{
	for (unsigned i = 0; i < r->ncpus; i++) {
		int rc = vcpu_state_get(vm_vcpu(r->vm, i), &r->vcpu[i], e);
		if (rc < 0)
			return rc;
	}
	int rc = vm_chip_state_get(r->vm, &r->chip, true, e);
	if (rc == 0)
		rc = take_devices(r, e);
	/* Clear the log first: a page the guest writes from here on is dirty again. */
	for (unsigned s = 0; s < r->nslots && rc == 0; s++) {
		struct reset_slot *sl = &r->slot[s];
		rc = vm_dirty_log_fetch(r->vm, s, sl->kvm_dirty);
		if (rc < 0)
			return errmsg_set(e, -rc, "KVM_GET_DIRTY_LOG: %s", strerror(-rc));
		memset(sl->dev_dirty, 0, (sl->pages + 63) / 64 * 8);
		memcpy(sl->copy, sl->host, sl->pages * PAGE);
	}
	return rc;
}

struct snap_reset *snap_reset_create(struct vm *vm, const struct snap_dev *devs, unsigned ndevs, struct errmsg *e)
{
	struct snap_reset *r = calloc(1, sizeof(*r));
	if (!r) {
		errmsg_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	r->vm = vm;
	r->observer = (struct gmem_observer){ .wrote = device_wrote, .ctx = r };
	const struct gmem *mem = vm_gmem(vm);
	r->nslots = mem->nslots;
	r->ncpus = vm_ncpus(vm);
	r->vcpu = calloc(r->ncpus, sizeof(*r->vcpu));
	r->ndevs = ndevs;
	r->devs = calloc(ndevs + 1, sizeof(*r->devs));
	r->img = calloc(ndevs + 1, sizeof(*r->img));
	r->img_len = calloc(ndevs + 1, sizeof(*r->img_len));
	bool ok = r->vcpu && r->devs && r->img && r->img_len;
	if (ok && ndevs)
		memcpy(r->devs, devs, ndevs * sizeof(*devs));
	for (unsigned s = 0; s < r->nslots && ok; s++) {
		struct reset_slot *sl = &r->slot[s];
		sl->gpa = mem->slot[s].gpa;
		sl->pages = mem->slot[s].size / PAGE;
		sl->host = mem->slot[s].host;
		sl->copy = malloc(sl->pages * PAGE);
		sl->kvm_dirty = calloc((sl->pages + 63) / 64, 8);
		sl->dev_dirty = calloc((sl->pages + 63) / 64, 8);
		ok = sl->copy && sl->kvm_dirty && sl->dev_dirty;
	}
	if (!ok) {
		errmsg_set(e, ENOMEM, "out of memory for a copy of the guest's RAM");
		snap_reset_destroy(r);
		return NULL;
	}
	if (vm_dirty_log_enable(vm, true, e) < 0 || snap_reset_take(r, e) < 0) {
		snap_reset_destroy(r);
		return NULL;
	}
	return r;
}

void snap_reset_destroy(struct snap_reset *r)
{
	if (!r)
		return;
	struct errmsg e;
	vm_dirty_log_enable(r->vm, false, &e);
	for (unsigned s = 0; s < r->nslots; s++) {
		free(r->slot[s].copy);
		free(r->slot[s].kvm_dirty);
		free(r->slot[s].dev_dirty);
	}
	for (unsigned i = 0; r->img && i < r->ndevs; i++)
		free(r->img[i]);
	free(r->img);
	free(r->img_len);
	free(r->devs);
	free(r->scratch);
	free(r->vcpu);
	free(r);
}

static uint64_t copy_back(struct reset_slot *sl)
{
	uint64_t n = 0;
	for (uint64_t w = 0; w < (sl->pages + 63) / 64; w++) {
		uint64_t bits = sl->kvm_dirty[w] | __atomic_exchange_n(&sl->dev_dirty[w], 0, __ATOMIC_RELAXED);
		while (bits) {
			uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			memcpy(sl->host + p * PAGE, sl->copy + p * PAGE, PAGE);
			n++;
		}
	}
	return n;
}

static bool chips_differ(const struct vm_chip_state *a, const struct vm_chip_state *b)
{
	return memcmp(&a->pic_master, &b->pic_master, sizeof(a->pic_master)) ||
	       memcmp(&a->pic_slave, &b->pic_slave, sizeof(a->pic_slave)) ||
	       memcmp(&a->ioapic, &b->ioapic, sizeof(a->ioapic)) || a->has_pit != b->has_pit ||
	       (a->has_pit && memcmp(&a->pit, &b->pit, sizeof(a->pit)));
}

int snap_reset_restore(struct snap_reset *r, unsigned vcpu_parts, struct snap_reset_stats *st, struct errmsg *e)
{
	struct snap_reset_stats local;
	if (!st)
		st = &local;
	uint64_t t0 = now_ns();
	for (unsigned s = 0; s < r->nslots; s++) {
		int rc = vm_dirty_log_fetch(r->vm, s, r->slot[s].kvm_dirty);
		if (rc < 0)
			return errmsg_set(e, -rc, "KVM_GET_DIRTY_LOG: %s", strerror(-rc));
	}
	uint64_t t1 = now_ns();
	for (unsigned s = 0; s < r->nslots; s++)
		st->pages += copy_back(&r->slot[s]);
	uint64_t t2 = now_ns();
	/* Irqchip before devices, as on resume (cli/machine_snapshot.c says why). */
	int rc = vm_chip_state_get(r->vm, &r->chip_now, false, e);
	if (rc == 0 && chips_differ(&r->chip, &r->chip_now)) {
		rc = vm_chip_state_set(r->vm, &r->chip, false, e);
		st->chip_loaded = true;
	}
	uint64_t t3 = now_ns();
	for (unsigned i = 0; i < r->ndevs && rc == 0; i++) {
		size_t n = r->devs[i].save(r->devs[i].dev, r->scratch, r->scratch_len);
		if (n == r->img_len[i] && memcmp(r->scratch, r->img[i], n) == 0)
			continue;
		rc = r->devs[i].load(r->devs[i].dev, r->img[i], r->img_len[i]);
		if (rc < 0)
			rc = errmsg_set(e, -rc, "device %s refused its snapshot image", r->devs[i].name);
		st->devs_loaded++;
	}
	uint64_t t4 = now_ns();
	for (unsigned i = 0; i < r->ncpus && rc == 0; i++)
		rc = vcpu_state_set(vm_vcpu(r->vm, i), &r->vcpu[i], vcpu_parts, e);
	uint64_t t5 = now_ns();
	st->dirty_log_ns += t1 - t0;
	st->copy_ns += t2 - t1;
	st->chip_ns += t3 - t2;
	st->dev_ns += t4 - t3;
	st->vcpu_ns += t5 - t4;
	return rc;
}
