/* Recording: each door's live ops wrapped with a log write, and every exit handler wrapped so
 * that the log holds, per natural exit, its fingerprint followed by what the doors passed in. */
#include "replay/recorder.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replay/exit_fp.h"
#include "replay/rlog.h"
#include "vmm/kvm_stats.h"
#include "vmm/vcpu.h"

#define RFLAGS_IF 0x200ull
#define SLICE_NS 2000000ull       /* an SMP guest's vCPUs take turns of 2 ms */
#define SLICE_RETRY_NS 200000ull  /* a turn that ended in ring 3 or while IF-stepping: look again */
#define DR6_B3 (1ull << 3)
#define DR6_BS (1ull << 14)

struct wrapped {
	struct recorder *r;
	vmexit_handler_fn fn;
	void *opaque;
};

struct recorder {
	struct vm *vm;
	struct rlog_writer *log;
	struct vm_io_ops io;
	struct irq_sink irq;
	struct msi_sink msi;
	const struct time_source *time;
	struct gmem_observer observer;
	const struct gmem *mem;      /* where observed ranges are read from */
	struct wrapped handler[VMEXIT__COUNT];
	uint64_t exits[VM_MAX_VCPUS]; /* natural exits of each vCPU so far */
	uint64_t exits_total, async_points, switches;
	uint64_t delivered;          /* events that change the guest: DMA writes, interrupts, input */
	bool counter;                /* the platform counts ring-0 instructions */
	bool deferred_kick[VM_MAX_VCPUS]; /* a kick came where replay could not find the point again */
	bool raised;                 /* a line went up (or an MSI went out) during this exit */
	bool ifstep[VM_MAX_VCPUS];   /* single-stepping until the guest can take that interrupt */
	unsigned ifstep_left[VM_MAX_VCPUS];
	bool noted_ifstep_cap;
	uint64_t ifsteps;
	/* SMP: one vCPU runs at a time (as rr runs threads), switched at the end of a time slice at
	 * a point replay finds again. */
	unsigned owner;
	bool slice_armed;
	uint64_t slice_end;
	uint64_t panic_at;           /* record.panic_at: an execute breakpoint (DR3), 0 = none */
	char panic_label[64];
};

/* The guest-debug state the recorder needs: IF-stepping and the panic_at breakpoint. */
static int set_debug(struct recorder *r, struct vcpu *vcpu)
{
	return vcpu_replay_debug(vcpu, r->ifstep[vcpu_index(vcpu)], r->panic_at, false);
}

/* Only the owner runs, so every event is the owner's. */
static void log_event(struct recorder *r, unsigned type, const void *a, size_t alen, const void *b, size_t blen)
{
	rlog_append(r->log, type, r->owner, a, alen, b, blen); /* errors stick; recorder_finish reports them */
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Where the vCPU stands between exits: what replay stops at again. */
static struct rlog_async point_here(struct recorder *r, struct vcpu *vcpu, const struct vm_exit *ex, uint32_t flags)
{
	struct rlog_async a = { .index = r->exits[vcpu_index(vcpu)], .rip = ex->rip, .flags = flags };
	struct kvm_regs regs;
	uint64_t insn = 0;
	if (vcpu_get_regs(vcpu, &regs) == 0)
		a.regs_hash = regs_fingerprint(&regs);
	vcpu_insn_count(vcpu, &insn);
	a.insn = insn;
	return a;
}

/* Door 1. */
static int rec_pio(void *opaque, struct vcpu *vcpu, uint16_t port, unsigned size, bool is_write, uint64_t *value)
{
	struct recorder *r = opaque;
	int rc = r->io.pio ? r->io.pio(r->io.opaque, vcpu, port, size, is_write, value) : -ENODEV;
	if (!is_write)
		log_event(r, RLOG_IO_READ, value, 8, NULL, 0);
	return rc;
}

static int rec_mmio(void *opaque, struct vcpu *vcpu, uint64_t gpa, unsigned size, bool is_write, uint64_t *value)
{
	struct recorder *r = opaque;
	int rc = r->io.mmio ? r->io.mmio(r->io.opaque, vcpu, gpa, size, is_write, value) : -ENODEV;
	if (!is_write)
		log_event(r, RLOG_IO_READ, value, 8, NULL, 0);
	return rc;
}

struct vm_io_ops recorder_io_ops(struct recorder *r, const struct vm_io_ops *live)
{
	r->io = *live;
	return (struct vm_io_ops){ .pio = rec_pio, .mmio = rec_mmio, .opaque = r };
}

/* Door 2: the bytes, read back right after the device wrote or read them. */
static void log_range(struct recorder *r, unsigned type, uint64_t gpa, uint64_t len)
{
	while (len) {
		uint64_t n = len < RLOG_PAYLOAD_MAX - 8 ? len : RLOG_PAYLOAD_MAX - 8;
		const void *p = gmem_map(r->mem, gpa, n);
		if (!p)
			return;
		log_event(r, type, &gpa, 8, p, n);
		gpa += n;
		len -= n;
	}
}

static void observed_write(void *ctx, uint64_t gpa, uint64_t len)
{
	struct recorder *r = ctx;
	r->delivered++;
	log_range(r, RLOG_DMA_WRITE, gpa, len);
}

static void observed_read(void *ctx, uint64_t gpa, uint64_t len)
{
	log_range(ctx, RLOG_DMA_READ, gpa, len);
}

const struct gmem_observer *recorder_gmem_observer(struct recorder *r)
{
	return &r->observer;
}

/* Door 3. */
static void rec_irq(void *ctx, unsigned gsi, bool level)
{
	struct recorder *r = ctx;
	uint32_t ev[2] = { gsi, level };
	r->delivered++;
	r->raised |= level;
	log_event(r, RLOG_IRQ, ev, sizeof(ev), NULL, 0);
	irq_set_level(&r->irq, gsi, level);
}

struct irq_sink recorder_irq_sink(struct recorder *r, struct irq_sink live)
{
	r->irq = live;
	return (struct irq_sink){ rec_irq, r };
}

static void rec_msi(void *ctx, uint64_t addr, uint32_t data)
{
	struct recorder *r = ctx;
	uint32_t d[2] = { data, 0 };
	r->delivered++;
	r->raised = true;
	log_event(r, RLOG_MSI, &addr, 8, d, sizeof(d));
	if (r->msi.send)
		r->msi.send(r->msi.ctx, addr, data);
}

struct msi_sink recorder_msi_sink(struct recorder *r, struct msi_sink live)
{
	r->msi = live;
	return (struct msi_sink){ rec_msi, r };
}

/* Door 4: readings are logged for the record; replay serves the devices' results instead. */
static void log_time(struct recorder *r, uint32_t clock, uint64_t ns)
{
	uint32_t h[2] = { clock, 0 };
	log_event(r, RLOG_TIME, h, sizeof(h), &ns, 8);
}

static uint64_t rec_now_ns(void *ctx)
{
	struct recorder *r = ctx;
	uint64_t ns = time_now_ns(r->time);
	log_time(r, 0, ns);
	return ns;
}

static int64_t rec_wall_ns(void *ctx)
{
	struct recorder *r = ctx;
	int64_t ns = time_wall_ns(r->time);
	log_time(r, 1, (uint64_t)ns);
	return ns;
}

static int32_t rec_utc_offset_s(void *ctx, int64_t unix_s)
{
	struct recorder *r = ctx;
	return time_utc_offset_s(r->time, unix_s);
}

struct time_source recorder_time_source(struct recorder *r, const struct time_source *live)
{
	r->time = live;
	return (struct time_source){ rec_now_ns, rec_wall_ns, live->utc_offset_s ? rec_utc_offset_s : NULL, r };
}

/* Door 5. */
void recorder_input(void *recorder, unsigned source, const void *buf, size_t len)
{
	uint32_t src = source;
	((struct recorder *)recorder)->delivered++;
	while (len) {
		size_t n = len < RLOG_PAYLOAD_MAX - 4 ? len : RLOG_PAYLOAD_MAX - 4;
		log_event(recorder, RLOG_INPUT, &src, 4, buf, n);
		buf = (const uint8_t *)buf + n;
		len -= n;
	}
}

static enum vmexit_action call(struct wrapped *w, struct vcpu *vcpu, struct vm_exit *ex)
{
	return w->fn ? w->fn(vcpu, ex, w->opaque) : VMEXIT_RESUME;
}

/* An interrupt raised while the guest has IF clear is injected by this KVM at the next entry
 * after IF is set again, whenever that entry happens: not at a point replay can find. So the
 * guest is single-stepped until IF is set (each step an entry): the injection then comes at the
 * same instruction in recording and replay (replayer.c does the same). */
static void start_ifstep(struct recorder *r, struct vcpu *vcpu)
{
	struct kvm_regs regs;
	bool raised = r->raised, *on = &r->ifstep[vcpu_index(vcpu)];
	r->raised = false;
	if (!raised || *on || vcpu_get_regs(vcpu, &regs) < 0 || interrupt_can_enter(vcpu, &regs))
		return;
	*on = true;
	r->ifstep_left[vcpu_index(vcpu)] = IFSTEP_MAX;
	if (set_debug(r, vcpu) < 0)
		*on = false;
}

/* A kick lands anywhere in the guest. Where the platform counts ring-0 instructions, what it
 * delivers is logged as an async point (count, RIP, registers) that replay can stop at again;
 * a kick in ring 3 (no counter there) or without a counter waits for the next natural exit, and
 * one during IF-stepping for its end. */
static enum vmexit_action async_point(struct recorder *r, struct vcpu *vcpu, struct vm_exit *ex)
{
	struct wrapped *w = &r->handler[VMEXIT_KICK];
	struct rlog_async a = point_here(r, vcpu, ex, 0);
	struct rlog_mark m = rlog_mark(r->log);
	uint64_t delivered = r->delivered;
	log_event(r, RLOG_ASYNC, &a, sizeof(a), NULL, 0);
	enum vmexit_action act = call(w, vcpu, ex);
	/* Nothing delivered (a pause for gdb, the watchdog, a tick not yet due): no point to keep
	 * (a time reading logged meanwhile goes with it; it changed nothing). */
	if (r->delivered == delivered && rlog_rollback(r->log, m))
		return act;
	r->async_points++;
	start_ifstep(r, vcpu);
	return act;
}

static void slice_start(struct recorder *r, struct vcpu *vcpu, uint64_t ns)
{
	r->slice_end = mono_ns() + ns;
	r->slice_armed = true;
	vcpu_arm_slice(vcpu, ns);
}

/* The next vCPU after the owner that was started (an AP waiting for its SIPI cannot run). */
static int next_vcpu(struct recorder *r)
{
	unsigned n = vm_ncpus(r->vm);
	for (unsigned k = 1; k < n; k++) {
		unsigned i = (r->owner + k) % n;
		uint32_t mp;
		if (vcpu_get_mp_state(vm_vcpu(r->vm, i), &mp) == 0 && mp != KVM_MP_STATE_UNINITIALIZED &&
		    mp != KVM_MP_STATE_INIT_RECEIVED)
			return (int)i;
	}
	return -1;
}

/* At a kick of the owner: its slice starts (the kick that let it in), goes on, or is over and
 * the next vCPU gets its turn right here, a point logged like an async point. */
static enum vmexit_action schedule(struct recorder *r, struct vcpu *vcpu, struct vm_exit *ex, enum vmexit_action act)
{
	unsigned me = vcpu_index(vcpu);
	if (vm_ncpus(r->vm) < 2 || act != VMEXIT_RESUME)
		return act;
	if (!r->slice_armed) {
		slice_start(r, vcpu, SLICE_NS);
		return act;
	}
	if (mono_ns() < r->slice_end)
		return act;
	int next = ex->cpl == 0 && !r->ifstep[me] ? next_vcpu(r) : -1;
	if (next < 0) { /* nobody else can run, or this is no point replay can find: try again soon */
		slice_start(r, vcpu, next_vcpu(r) < 0 ? SLICE_NS : SLICE_RETRY_NS);
		return act;
	}
	struct rlog_async a = point_here(r, vcpu, ex, RLOG_ASYNC_SWITCH | (uint32_t)next << 8);
	log_event(r, RLOG_ASYNC, &a, sizeof(a), NULL, 0);
	r->switches++;
	r->owner = (unsigned)next;
	r->slice_armed = false;
	vcpu_set_scheduled(vcpu, false);
	vcpu_set_scheduled(vm_vcpu(r->vm, (unsigned)next), true);
	vm_kick_vcpu(r->vm, (unsigned)next); /* its first exit starts its slice */
	return act;
}

static enum vmexit_action on_kick(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct wrapped *w = opaque;
	struct recorder *r = w->r;
	unsigned me = vcpu_index(vcpu);
	enum vmexit_action act;
	if (!r->counter || ex->cpl != 0 || r->ifstep[me]) {
		r->deferred_kick[me] = true;
		act = vm_ended(vcpu_vm(vcpu)) ? VMEXIT_STOP : VMEXIT_RESUME;
	} else {
		act = async_point(r, vcpu, ex);
	}
	return schedule(r, vcpu, ex, act);
}

/* The guest got to record.panic_at: the run ends as a panic there. The point is logged as an
 * async point, so that replay stops at the same instruction and ends there too. */
static enum vmexit_action panic_reached(struct recorder *r, struct vcpu *vcpu, struct vm_exit *ex)
{
	struct rlog_async a = point_here(r, vcpu, ex, 0);
	log_event(r, RLOG_ASYNC, &a, sizeof(a), NULL, 0);
	char why[128];
	snprintf(why, sizeof(why), "guest reached record.panic_at=%s (rip 0x%llx)", r->panic_label,
		 (unsigned long long)ex->rip);
	vm_request_end(vcpu_vm(vcpu), VM_END_PANIC, 0, why);
	return VMEXIT_STOP;
}

int recorder_set_panic_at(struct recorder *r, uint64_t addr, const char *label)
{
	r->panic_at = addr;
	snprintf(r->panic_label, sizeof(r->panic_label), "%s", label);
	for (unsigned i = 0; i < vm_ncpus(r->vm); i++)
		if (set_debug(r, vm_vcpu(r->vm, i)) < 0)
			return -EIO;
	return 0;
}

/* IF-stepping's own steps; the debugger gets the rest (and a step it asked for too). */
static enum vmexit_action on_debug(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct wrapped *w = opaque;
	struct recorder *r = w->r;
	if (r->panic_at && (ex->addr & DR6_B3) && ex->rip == r->panic_at)
		return panic_reached(r, vcpu, ex);
	unsigned me = vcpu_index(vcpu);
	if (!r->ifstep[me] || !(ex->addr & DR6_BS))
		return call(w, vcpu, ex);
	r->ifsteps++;
	enum vmexit_action act = VMEXIT_RESUME;
	struct kvm_regs regs;
	bool if_set = vcpu_get_regs(vcpu, &regs) == 0 && interrupt_can_enter(vcpu, &regs);
	if (if_set || --r->ifstep_left[me] == 0) {
		r->ifstep[me] = false;
		set_debug(r, vcpu);
		if (if_set)
			vcpu_recheck_interrupts(vcpu);
		else if (!r->noted_ifstep_cap) {
			r->noted_ifstep_cap = true;
			recorder_note(r, "vCPU %u kept IF clear for %u instructions after an interrupt was raised (exit %llu): "
				      "if it takes the interrupt later, replay may deliver it elsewhere", me, IFSTEP_MAX,
				      (unsigned long long)r->exits[me]);
		}
		if (r->deferred_kick[me]) { /* the tick that waited: here is a point replay finds again */
			r->deferred_kick[me] = false;
			act = async_point(r, vcpu, ex);
		}
	}
	if (vcpu_guest_debug_control(vcpu) & KVM_GUESTDBG_SINGLESTEP && act == VMEXIT_RESUME)
		act = call(w, vcpu, ex);
	return act;
}

static enum vmexit_action on_natural(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct wrapped *w = opaque;
	struct recorder *r = w->r;
	unsigned me = vcpu_index(vcpu);
	struct rlog_exit x;
	exit_fingerprint(vcpu, ex, r->exits[me], &x);
	log_event(r, RLOG_EXIT, &x, sizeof(x), NULL, 0);
	r->exits[me]++;
	r->exits_total++;
	enum vmexit_action act = call(w, vcpu, ex);
	if (r->deferred_kick[me] && !r->ifstep[me] && act == VMEXIT_RESUME) {
		r->deferred_kick[me] = false;
		act = call(&r->handler[VMEXIT_KICK], vcpu, ex);
	}
	start_ifstep(r, vcpu);
	return act;
}

int recorder_install(struct recorder *r, struct errmsg *e)
{
	unsigned n = vm_ncpus(r->vm);
	if (n > 1 && !r->counter)
		return errmsg_set(e, ENOTSUP, "record: an SMP guest needs KVM's instruction counter to switch vCPUs at points replay finds again");
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		if (!exit_is_natural((enum vmexit_kind)k) && k != VMEXIT_KICK)
			continue;
		struct wrapped *w = &r->handler[k];
		w->r = r;
		vm_get_exit_handler(r->vm, (enum vmexit_kind)k, &w->fn, &w->opaque);
		vm_set_exit_handler(r->vm, (enum vmexit_kind)k, k == VMEXIT_KICK ? on_kick : on_natural, w);
	}
	for (unsigned i = 1; i < n; i++) /* vCPU 0 runs first; its first kick starts its slice */
		vcpu_set_scheduled(vm_vcpu(r->vm, i), false);
	if (n > 1)
		vm_kick_vcpu(r->vm, 0);
	return 0;
}

void recorder_install_debug(struct recorder *r)
{
	struct wrapped *w = &r->handler[VMEXIT_DEBUG];
	w->r = r;
	vm_get_exit_handler(r->vm, VMEXIT_DEBUG, &w->fn, &w->opaque);
	vm_set_exit_handler(r->vm, VMEXIT_DEBUG, on_debug, w);
}

struct recorder *recorder_create(struct vm *vm, const char *log_path, const char *config_text, struct errmsg *e)
{
	struct recorder *r = calloc(1, sizeof(*r));
	if (!r) {
		errmsg_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	r->vm = vm;
	r->mem = vm_gmem(vm);
	r->observer = (struct gmem_observer){ observed_write, observed_read, r };
	uint64_t n;
	r->counter = vcpu_insn_count(vm_vcpu(vm, 0), &n) == 0;
	r->log = rlog_writer_open(log_path, e);
	if (!r->log) {
		free(r);
		return NULL;
	}
	log_event(r, RLOG_CONFIG, config_text, strlen(config_text), NULL, 0);
	if (!r->counter)
		recorder_note(r, "this KVM has no instruction counter: interrupts are delivered at exits only");
	return r;
}

void recorder_note(struct recorder *r, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_event(r, RLOG_NOTE, text, n < (int)sizeof(text) ? (size_t)n : sizeof(text) - 1, NULL, 0);
}

void recorder_stats(struct recorder *r, struct recorder_stats *out)
{
	*out = (struct recorder_stats){ r->exits_total, r->async_points, r->ifsteps, r->switches, rlog_events(r->log),
					rlog_bytes_written(r->log) };
}

int recorder_finish(struct recorder *r, enum vm_end how, uint32_t code, const char *why, struct errmsg *e)
{
	if (!r)
		return 0;
	struct rlog_end end = { (uint32_t)how, code, r->exits_total };
	log_event(r, RLOG_END, &end, sizeof(end), why, why ? strlen(why) : 0);
	int rc = rlog_writer_close(r->log, e);
	free(r);
	return rc;
}
