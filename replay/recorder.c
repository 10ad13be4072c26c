/* Recording: each door's live ops wrapped with a log write, and every exit handler wrapped so
 * that the log holds, per natural exit, its fingerprint followed by what the doors passed in. */
#include "replay/recorder.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay/exit_fp.h"
#include "replay/rlog.h"
#include "vmm/kvm_stats.h"
#include "vmm/vcpu.h"

#define RFLAGS_IF 0x200ull
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
	uint64_t exits;              /* natural exits so far (one vCPU) */
	uint64_t async_points;
	uint64_t delivered;          /* events that change the guest: DMA writes, interrupts, input */
	bool counter;                /* the platform counts ring-0 instructions */
	bool deferred_kick;          /* a kick came where replay could not find the point again */
	bool raised;                 /* a line went up (or an MSI went out) during this exit */
	bool ifstep;                 /* single-stepping until the guest can take that interrupt */
	uint64_t ifsteps;
};

static void log_event(struct recorder *r, unsigned type, const void *a, size_t alen, const void *b, size_t blen)
{
	rlog_append(r->log, type, 0, a, alen, b, blen); /* errors stick; recorder_finish reports them */
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
	bool raised = r->raised;
	r->raised = false;
	if (!raised || r->ifstep || vcpu_get_regs(vcpu, &regs) < 0 || (regs.rflags & RFLAGS_IF))
		return;
	r->ifstep = vcpu_replay_debug(vcpu, true, 0) == 0;
}

/* A kick lands anywhere in the guest. Where the platform counts ring-0 instructions, what it
 * delivers is logged as an async point (count, RIP, registers) that replay can stop at again;
 * a kick in ring 3 (no counter there) or without a counter waits for the next natural exit, and
 * one during IF-stepping for its end. */
static enum vmexit_action async_point(struct recorder *r, struct vcpu *vcpu, struct vm_exit *ex)
{
	struct wrapped *w = &r->handler[VMEXIT_KICK];
	struct rlog_async a = { .index = r->exits, .rip = ex->rip };
	struct kvm_regs regs;
	if (vcpu_get_regs(vcpu, &regs) == 0)
		a.regs_hash = regs_fingerprint(&regs);
	uint64_t insn = 0;
	vcpu_insn_count(vcpu, &insn);
	a.insn = insn;
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

static enum vmexit_action on_kick(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct wrapped *w = opaque;
	struct recorder *r = w->r;
	if (!r->counter || ex->cpl != 0 || r->ifstep) {
		r->deferred_kick = true;
		return vm_ended(vcpu_vm(vcpu)) ? VMEXIT_STOP : VMEXIT_RESUME;
	}
	return async_point(r, vcpu, ex);
}

/* IF-stepping's own steps; the debugger gets the rest (and a step it asked for too). */
static enum vmexit_action on_debug(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct wrapped *w = opaque;
	struct recorder *r = w->r;
	if (!r->ifstep || !(ex->addr & DR6_BS))
		return call(w, vcpu, ex);
	r->ifsteps++;
	enum vmexit_action act = VMEXIT_RESUME;
	struct kvm_regs regs;
	if (vcpu_get_regs(vcpu, &regs) == 0 && (regs.rflags & RFLAGS_IF)) {
		r->ifstep = false;
		vcpu_replay_debug(vcpu, false, 0);
		/* Writing the registers back makes KVM look for pending interrupts at this entry; it
		 * otherwise waits for some later event to notice the one raised under IF=0. */
		vcpu_set_regs(vcpu, &regs);
		if (r->deferred_kick) { /* the tick that waited: here is a point replay finds again */
			r->deferred_kick = false;
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
	struct rlog_exit x;
	exit_fingerprint(vcpu, ex, r->exits, &x);
	log_event(r, RLOG_EXIT, &x, sizeof(x), NULL, 0);
	r->exits++;
	enum vmexit_action act = call(w, vcpu, ex);
	if (r->deferred_kick && !r->ifstep && act == VMEXIT_RESUME) {
		r->deferred_kick = false;
		act = call(&r->handler[VMEXIT_KICK], vcpu, ex);
	}
	start_ifstep(r, vcpu);
	return act;
}

int recorder_install(struct recorder *r, struct errmsg *e)
{
	if (vm_ncpus(r->vm) != 1)
		return errmsg_set(e, ENOTSUP, "record: only single-vCPU guests can be recorded in this version (-c 1)");
	for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
		if (!exit_is_natural((enum vmexit_kind)k) && k != VMEXIT_KICK)
			continue;
		struct wrapped *w = &r->handler[k];
		w->r = r;
		vm_get_exit_handler(r->vm, (enum vmexit_kind)k, &w->fn, &w->opaque);
		vm_set_exit_handler(r->vm, (enum vmexit_kind)k, k == VMEXIT_KICK ? on_kick : on_natural, w);
	}
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
	*out = (struct recorder_stats){ r->exits, r->async_points, r->ifsteps, rlog_events(r->log), rlog_bytes_written(r->log) };
}

int recorder_finish(struct recorder *r, enum vm_end how, uint32_t code, const char *why, struct errmsg *e)
{
	if (!r)
		return 0;
	struct rlog_end end = { (uint32_t)how, code, r->exits };
	log_event(r, RLOG_END, &end, sizeof(end), why, why ? strlen(why) : 0);
	int rc = rlog_writer_close(r->log, e);
	free(r);
	return rc;
}
