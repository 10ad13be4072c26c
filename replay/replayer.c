/* Replay: natural exits are matched against the log one by one, reads and DMA come from it, and
 * interrupts are raised where they were. Between exits the guest is run in time slices and then
 * single steps until it stands exactly where the recording delivered something (approach.c). */
#include "replay/replayer.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/pagewalk.h"
#include "replay/exit_fp.h"
#include "replay/replayer_impl.h"
#include "replay/rlog_dump.h"
#include "vmm/kvm_stats.h"
#include "vmm/vcpu.h"

static enum vmexit_action call(struct replay_wrapped *w, struct vcpu *vcpu, struct vm_exit *ex)
{
	return w->fn ? w->fn(vcpu, ex, w->opaque) : vm_default_exit_handler(vcpu, ex);
}

/* At a divergence the guest stops: in the debugger if one took it (it resumes there), else the
 * VM has been ended. */
enum vmexit_action replay_diverged_action(struct replayer *r)
{
	return vm_ended(r->cfg.vm) ? VMEXIT_STOP : VMEXIT_RESUME;
}

void replay_diverged(struct replayer *r, struct vcpu *vcpu, const char *fmt, ...)
{
	if (r->diverged)
		return;
	r->diverged = true;
	replay_approach_cancel(r, vcpu);
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "dhyve: replay diverged at exit #%" PRIu64 " (log event %" PRIu64 "): %s\n", r->exits,
		r->last_seq, what);
	if (r->cfg.show_code && r->expected_rip) {
		fprintf(stderr, "  code at the recorded rip 0x%" PRIx64 ":\n", r->expected_rip);
		r->cfg.show_code(r->cfg.ctx, stderr, vcpu, r->expected_rip);
	}
	struct kvm_regs regs;
	if (r->cfg.show_code && vcpu_get_regs(vcpu, &regs) == 0) {
		fprintf(stderr, "  code at the guest's rip 0x%llx:\n", regs.rip);
		r->cfg.show_code(r->cfg.ctx, stderr, vcpu, regs.rip);
	}
	if (r->cfg.stop_for_debugger && r->cfg.stop_for_debugger(r->cfg.ctx, vcpu))
		return;
	char why[300];
	snprintf(why, sizeof(why), "replay diverged at exit #%" PRIu64 ": %s", r->exits, what);
	vm_request_end(r->cfg.vm, VM_END_ERROR, 0, why);
}

/* After a divergence the debugger may have looked and let the guest go on: nothing more can be
 * replayed, so the VM ends at its next exit (the first end request wins, so this is idempotent). */
static enum vmexit_action end_after_divergence(struct replayer *r)
{
	vm_request_end(r->cfg.vm, VM_END_ERROR, 0, "replay diverged (see above)");
	return VMEXIT_STOP;
}

static int next_event(struct replayer *r, struct vcpu *vcpu, struct rlog_event *ev, bool consume)
{
	struct errmsg e = { "" };
	int rc = consume ? rlog_next(r->log, ev, &e) : rlog_peek(r->log, ev, &e);
	if (rc < 0) {
		replay_diverged(r, vcpu, "%s", e.text);
		return rc;
	}
	if (rc == 1 && !rlog_event_well_formed(ev)) {
		replay_diverged(r, vcpu, "log event %" PRIu64 " (%s) is malformed (offset %" PRIu64 ")", ev->seq,
				rlog_type_name(ev->type), ev->offset);
		return -EINVAL;
	}
	if (rc == 1 && consume)
		r->last_seq = ev->seq;
	return rc;
}

/* A device read of guest memory in the recording must see the same bytes now. */
static void check_dma_read(struct replayer *r, struct vcpu *vcpu, const struct rlog_event *ev)
{
	uint64_t gpa = get_le(ev->data, 8);
	size_t n = ev->len - 8u;
	const uint8_t *now = gmem_map(vm_gmem(r->cfg.vm), gpa, n);
	if (!now || memcmp(now, ev->data + 8, n) != 0)
		replay_diverged(r, vcpu, "a device read %zu bytes of guest memory at 0x%" PRIx64
				" that differ from the recording", n, gpa);
}

/* Applies door events (DMA, interrupts) up to the next event of a type that stops the walk.
 * Returns that event's type (peeked, not consumed), 0 at the end of the log, -1 on divergence. */
int replay_apply_until(struct replayer *r, struct vcpu *vcpu, unsigned stop_type)
{
	struct rlog_event ev;
	while (!r->diverged) {
		int rc = next_event(r, vcpu, &ev, false);
		if (rc <= 0)
			return rc;
		if (ev.type == stop_type || ev.type == RLOG_EXIT || ev.type == RLOG_ASYNC || ev.type == RLOG_END ||
		    ev.type == RLOG_IO_READ)
			return ev.type;
		next_event(r, vcpu, &ev, true);
		switch (ev.type) {
		case RLOG_DMA_WRITE:
			if (gmem_write(vm_gmem(r->cfg.vm), get_le(ev.data, 8), ev.data + 8, ev.len - 8u) < 0)
				replay_diverged(r, vcpu, "recorded DMA write outside guest RAM");
			break;
		case RLOG_DMA_READ: check_dma_read(r, vcpu, &ev); break;
		case RLOG_IRQ:
			if (get_le(ev.data + 4, 4)) {
				r->raised = r->deliver_pending = true;
				r->deliver_msi = false;
				r->deliver_gsi = (unsigned)get_le(ev.data, 4);
			}
			vm_irq_line(r->cfg.vm, (unsigned)get_le(ev.data, 4), get_le(ev.data + 4, 4) != 0);
			break;
		case RLOG_MSI:
			r->raised = r->deliver_pending = r->deliver_msi = true;
			r->deliver_vector = (uint8_t)get_le(ev.data + 8, 1); /* MSI data bits 7:0 */
			vm_signal_msi(r->cfg.vm, get_le(ev.data, 8), (uint32_t)get_le(ev.data + 8, 4));
			break;
		default: break; /* config, time, input, notes: for people and fuzzers, not for the guest */
		}
	}
	return -1;
}

/* Door 1 on replay: the value the device returned then. */
static int serve_read(struct replayer *r, struct vcpu *vcpu, const char *what, uint64_t addr, uint64_t *value)
{
	struct rlog_event ev;
	if (replay_apply_until(r, vcpu, RLOG_IO_READ) != RLOG_IO_READ) {
		replay_diverged(r, vcpu, "the guest read %s 0x%" PRIx64 " where the recording had no read", what, addr);
		*value = ~0ull;
		return -EIO;
	}
	next_event(r, vcpu, &ev, true);
	*value = get_le(ev.data, 8);
	return 0;
}

/* What the guest prints on a UART is shown again: writes to the data port with DLAB clear. */
static void shadow_console(struct replayer *r, uint16_t port, uint64_t value)
{
	for (unsigned i = 0; i < 2; i++) {
		uint16_t base = r->cfg.console_port[i];
		if (!base || port < base || port > base + 3)
			continue;
		if (port == base + 3)
			r->lcr[i] = (uint8_t)value;
		else if (port == base && !(r->lcr[i] & 0x80) && r->cfg.console_out) {
			fputc((int)(value & 0xff), r->cfg.console_out);
			fflush(r->cfg.console_out);
		}
	}
}

static int replay_pio(void *opaque, struct vcpu *vcpu, uint16_t port, unsigned size, bool is_write, uint64_t *value)
{
	(void)size;
	struct replayer *r = opaque;
	if (is_write) {
		shadow_console(r, port, *value);
		return 0;
	}
	return serve_read(r, vcpu, "port", port, value);
}

static int replay_mmio(void *opaque, struct vcpu *vcpu, uint64_t gpa, unsigned size, bool is_write, uint64_t *value)
{
	(void)size;
	struct replayer *r = opaque;
	return is_write ? 0 : serve_read(r, vcpu, "MMIO address", gpa, value);
}

/* The instruction count is not part of the match: on this platform it is repeatable but not
 * exactly (docs/replay-format.md); where it drifted is counted and reported instead. */
static bool same_exit(const struct rlog_exit *a, const struct rlog_exit *b)
{
	return a->kind == b->kind && a->rip == b->rip && a->addr == b->addr && a->size == b->size &&
	       a->is_write == b->is_write && a->value == b->value && a->regs_hash == b->regs_hash;
}

/* Async points are found relative to the last exit: the recorded count plus how far this run's
 * counter is from the recording's there. */
static void track_count(struct replayer *r, const struct rlog_exit *now, const struct rlog_exit *then)
{
	int64_t offset = (int64_t)(now->insn - then->insn), *last = &r->insn_offset[r->owner];
	if (r->vexits[r->owner] && offset != *last) {
		r->drifts++;
		uint64_t d = (uint64_t)llabs(offset - *last);
		r->max_drift = d > r->max_drift ? d : r->max_drift;
	}
	*last = offset;
}

#define RFLAGS_IF 0x200ull
#define DR6_B3 (1ull << 3)
#define DR6_BS (1ull << 14)

void replay_update_debug(struct replayer *r, struct vcpu *vcpu)
{
	bool step = r->ifstep || r->mode == AP_STEP_OVER;
	uint64_t bp = r->handoff ? r->handoff : r->mode == AP_BREAK ? r->target.rip : 0;
	if (vcpu_replay_debug(vcpu, step, bp, r->handoff != 0) < 0)
		replay_diverged(r, vcpu, "cannot set the replay breakpoint or single-step");
}

/* The handler the guest's IDT names for vector (flat code segment, as guests run). */
static int idt_handler(struct replayer *r, struct vcpu *vcpu, uint8_t vector, uint64_t *addr)
{
	struct kvm_sregs sr;
	struct paging_regs pr;
	enum vcpu_mode mode;
	if (vcpu_get_sregs(vcpu, &sr) < 0 || vcpu_get_paging(vcpu, &pr, &mode) < 0)
		return -EIO;
	bool lma = pr.efer & (1ull << 10);
	unsigned size = lma ? 16 : 8;
	uint8_t g[16];
	if ((uint64_t)vector * size + size - 1 > sr.idt.limit ||
	    pagewalk_read(vm_gmem(r->cfg.vm), &pr, sr.idt.base + (uint64_t)vector * size, g, size) != size)
		return -EFAULT;
	*addr = get_le(g, 2) | get_le(g + 6, 2) << 16 | (lma ? get_le(g + 8, 4) << 32 : 0);
	return 0;
}

/* A debugger single-steps (holding interrupts back) where the recording delivered one: this KVM
 * would push TF into the interrupt frame if the step let it in, and holding it back puts it
 * elsewhere. So the debugger's step is set aside, the guest runs into the handler (a breakpoint
 * there, DR3), and the debugger sees its step end on the handler's first instruction, as a step
 * on hardware would. */
static void handoff_if_stepping(struct replayer *r, struct vcpu *vcpu)
{
	struct kvm_regs regs;
	uint8_t vector = r->deliver_vector;
	uint64_t handler;
	if (!r->deliver_pending || r->ifstep) /* IF-stepping: the interrupt waits for IF, so does this */
		return;
	r->deliver_pending = false; /* taken at the next entry, whatever happens here */
	if (!(vcpu_guest_debug_control(vcpu) & KVM_GUESTDBG_SINGLESTEP) || vcpu_get_regs(vcpu, &regs) < 0 ||
	    !(regs.rflags & RFLAGS_IF))
		return;
	if ((!r->deliver_msi && vm_irq_vector(r->cfg.vm, r->deliver_gsi, &vector) < 0) ||
	    idt_handler(r, vcpu, vector, &handler) < 0 || !handler)
		return; /* masked, or no handler to stop at: nothing will be taken */
	r->handoff = handler;
	replay_update_debug(r, vcpu);
}

/* As the recorder does (recorder.c, start_ifstep): an interrupt raised while IF is clear is
 * taken at the first instruction boundary with IF set, found by single steps. */
static void start_ifstep(struct replayer *r, struct vcpu *vcpu)
{
	struct kvm_regs regs;
	bool raised = r->raised;
	r->raised = false;
	if (!raised || r->ifstep || vcpu_get_regs(vcpu, &regs) < 0 || interrupt_can_enter(vcpu, &regs))
		return;
	r->ifstep = true;
	r->ifstep_left = IFSTEP_MAX;
	replay_update_debug(r, vcpu);
}

/* The next event is an async point of this vCPU: run towards it. One of another vCPU's here is a
 * different interleaving. */
static void approach_if_next(struct replayer *r, struct vcpu *vcpu)
{
	struct rlog_event ev;
	struct errmsg e = { "" };
	if (r->handoff || rlog_peek(r->log, &ev, &e) != 1 || ev.type != RLOG_ASYNC)
		return; /* (after a handoff, when the guest stands in the handler) */
	if (ev.vcpu != vcpu_index(vcpu)) {
		replay_diverged(r, vcpu, "vCPU %u runs where the recording has vCPU %u", vcpu_index(vcpu), ev.vcpu);
		return;
	}
	replay_approach_start(r, vcpu);
}

void replay_switch(struct replayer *r, struct vcpu *vcpu, unsigned next)
{
	if (next >= vm_ncpus(r->cfg.vm) || next == vcpu_index(vcpu)) {
		replay_diverged(r, vcpu, "the log hands the turn to vCPU %u, which this VM cannot run", next);
		return;
	}
	r->switches++;
	r->owner = next;
	vcpu_set_scheduled(vcpu, false);
	vcpu_set_scheduled(vm_vcpu(r->cfg.vm, next), true);
	vm_kick_vcpu(r->cfg.vm, next); /* its first exit finds what comes next */
}

/* After the exit's own events: the end of the run, or an async point before the next exit. */
enum vmexit_action replay_after_exit(struct replayer *r, struct vcpu *vcpu, enum vmexit_action act)
{
	int t = replay_apply_until(r, vcpu, RLOG_EXIT);
	if (t == RLOG_IO_READ)
		replay_diverged(r, vcpu, "the recording read a device once more here");
	if (t == RLOG_END) {
		struct rlog_event ev;
		next_event(r, vcpu, &ev, true);
		struct rlog_end end;
		memcpy(&end, ev.data, sizeof(end));
		char why[300];
		snprintf(why, sizeof(why), "replay: %.*s", (int)(ev.len - sizeof(end)), (const char *)ev.data + sizeof(end));
		r->reached_end = true;
		vm_request_end(r->cfg.vm, (enum vm_end)end.how, end.code, why);
		return VMEXIT_STOP;
	}
	start_ifstep(r, vcpu);
	handoff_if_stepping(r, vcpu);
	if (t == RLOG_ASYNC && !r->diverged && !r->ifstep) /* during IF-stepping, async points wait */
		approach_if_next(r, vcpu);
	if (r->diverged)
		return act == VMEXIT_STOP || vm_ended(r->cfg.vm) ? VMEXIT_STOP : act;
	return vm_ended(r->cfg.vm) ? VMEXIT_STOP : act;
}

static enum vmexit_action on_natural(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct replay_wrapped *w = opaque;
	struct replayer *r = w->r;
	if (r->diverged)
		return end_after_divergence(r);
	struct rlog_exit now, then;
	exit_fingerprint(vcpu, ex, r->vexits[vcpu_index(vcpu)], &now);
	r->expected_rip = 0;
	if (r->approaching) {
		r->expected_rip = r->target.rip;
		replay_diverged(r, vcpu, "exit %s at rip 0x%" PRIx64 " came before the recorded stop at instruction %" PRIu64,
				vmexit_kind_name(ex->kind), ex->rip, r->target.insn + r->insn_offset[r->owner]);
		return replay_diverged_action(r);
	}
	struct rlog_event ev;
	int t = replay_apply_until(r, vcpu, RLOG_EXIT);
	if (t != RLOG_EXIT) {
		replay_diverged(r, vcpu, "exit %s at rip 0x%" PRIx64 ": the recording has %s here", vmexit_kind_name(ex->kind),
				ex->rip, t == RLOG_END ? "its end" : t == 0 ? "nothing more" : "no exit");
		return replay_diverged_action(r);
	}
	next_event(r, vcpu, &ev, true);
	memcpy(&then, ev.data, sizeof(then));
	if (ev.vcpu != vcpu_index(vcpu)) {
		replay_diverged(r, vcpu, "vCPU %u exited (%s at rip 0x%" PRIx64 ") where the recording has vCPU %u's exit",
				vcpu_index(vcpu), vmexit_kind_name(ex->kind), ex->rip, ev.vcpu);
		return replay_diverged_action(r);
	}
	if (!same_exit(&now, &then)) {
		r->expected_rip = then.rip;
		fprintf(stderr, "dhyve: replay: exit #%" PRIu64 " differs from the recording:\n", r->exits);
		exit_fingerprint_print(stderr, "expected", &then);
		exit_fingerprint_print(stderr, "actual", &now);
		replay_diverged(r, vcpu, "%s at rip 0x%" PRIx64 ", recorded %s at rip 0x%" PRIx64, vmexit_kind_name(ex->kind),
				ex->rip, vmexit_kind_name((enum vmexit_kind)then.kind), then.rip);
		return replay_diverged_action(r);
	}
	track_count(r, &now, &then);
	r->vexits[vcpu_index(vcpu)]++;
	r->exits++;
	enum vmexit_action act = call(w, vcpu, ex);
	return replay_after_exit(r, vcpu, act);
}

static enum vmexit_action on_kick(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct replay_wrapped *w = opaque;
	struct replayer *r = w->r;
	enum vmexit_action act = call(w, vcpu, ex);
	if (r->approaching && act == VMEXIT_RESUME)
		act = replay_approach_continue(r, vcpu, false, act);
	else if (act == VMEXIT_RESUME && !r->diverged && !r->ifstep && vcpu_index(vcpu) == r->owner)
		approach_if_next(r, vcpu); /* the kick that let this vCPU in after a switch */
	return r->diverged && act == VMEXIT_STOP ? VMEXIT_STOP : act;
}

/* The end of IF-stepping: the interrupt is taken at the next entry; an async point recorded at
 * the end of the recording's IF-stepping is right here. */
static enum vmexit_action ifstep_done(struct replayer *r, struct vcpu *vcpu, struct kvm_regs *regs)
{
	r->ifstep = false;
	replay_update_debug(r, vcpu);
	if (interrupt_can_enter(vcpu, regs))
		vcpu_recheck_interrupts(vcpu); /* as the recorder does */
	handoff_if_stepping(r, vcpu);
	approach_if_next(r, vcpu);
	return VMEXIT_RESUME;
}

/* Replay's own breakpoint stops and steps are consumed here; the debugger sees those it asked
 * for too (its own step, or a hit on one of its breakpoints in DR0-DR2). */
static enum vmexit_action on_debug(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct replay_wrapped *w = opaque;
	struct replayer *r = w->r;
	if (r->handoff && (ex->addr & DR6_B3) && ex->rip == r->handoff) {
		r->handoff = 0;
		replay_update_debug(r, vcpu);
		vcpu_run_page(vcpu)->debug.arch.dr6 = DR6_BS; /* what the debugger reads: its step ended */
		ex->addr = DR6_BS;
		enum vmexit_action act = call(w, vcpu, ex);
		approach_if_next(r, vcpu);
		return act;
	}
	bool approach = r->approaching && ((r->mode == AP_BREAK && (ex->addr & DR6_B3)) ||
					   (r->mode == AP_STEP_OVER && (ex->addr & DR6_BS)));
	bool ifstep = r->ifstep && (ex->addr & DR6_BS);
	if (!approach && !ifstep)
		return call(w, vcpu, ex);
	r->steps++;
	uint32_t theirs = vcpu_guest_debug_control(vcpu);
	bool debugger_step = theirs & KVM_GUESTDBG_SINGLESTEP;
	bool debugger_bp = (theirs & KVM_GUESTDBG_USE_HW_BP) && (ex->addr & 0x7);
	enum vmexit_action act = VMEXIT_RESUME;
	struct kvm_regs regs;
	if (ifstep && vcpu_get_regs(vcpu, &regs) == 0 && (interrupt_can_enter(vcpu, &regs) || --r->ifstep_left == 0))
		act = ifstep_done(r, vcpu, &regs);
	else if (approach)
		act = replay_approach_continue(r, vcpu, r->mode == AP_BREAK, VMEXIT_RESUME);
	if ((debugger_step || debugger_bp) && act == VMEXIT_RESUME)
		act = call(w, vcpu, ex);
	return act;
}

static void wrap(struct replayer *r, enum vmexit_kind k, vmexit_handler_fn fn)
{
	struct replay_wrapped *w = &r->handler[k];
	w->r = r;
	vm_get_exit_handler(r->cfg.vm, k, &w->fn, &w->opaque);
	vm_set_exit_handler(r->cfg.vm, k, fn, w);
}

int replayer_install(struct replayer *r, struct errmsg *e)
{
	vm_set_io_ops(r->cfg.vm, &(struct vm_io_ops){ .pio = replay_pio, .mmio = replay_mmio, .opaque = r });
	for (unsigned k = 0; k < VMEXIT__COUNT; k++)
		if (exit_is_natural((enum vmexit_kind)k))
			wrap(r, (enum vmexit_kind)k, on_natural);
	wrap(r, VMEXIT_KICK, on_kick);
	int rc = replay_approach_init(r, e);
	if (rc < 0)
		return rc;
	for (unsigned i = 1; i < vm_ncpus(r->cfg.vm); i++) /* one vCPU at a time, vCPU 0 first */
		vcpu_set_scheduled(vm_vcpu(r->cfg.vm, i), false);
	/* Whatever came before the first exit: input that arrived at once, an interrupt at the start. */
	struct vcpu *bsp = vm_vcpu(r->cfg.vm, 0);
	if (replay_apply_until(r, bsp, RLOG_EXIT) == RLOG_ASYNC)
		replay_approach_start(r, bsp);
	return r->diverged ? errmsg_set(e, EINVAL, "replay: the log's first events cannot be replayed") : 0;
}

void replayer_install_debug(struct replayer *r)
{
	wrap(r, VMEXIT_DEBUG, on_debug);
}

struct replayer *replayer_create(const struct replayer_config *c, struct errmsg *e)
{
	struct replayer *r = calloc(1, sizeof(*r));
	if (!r) {
		errmsg_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	r->cfg = *c;
	r->log = rlog_reader_open(c->log_path, e);
	if (!r->log) {
		free(r);
		return NULL;
	}
	struct rlog_event ev;
	int rc = rlog_next(r->log, &ev, e);
	if (rc <= 0 || ev.type != RLOG_CONFIG) {
		if (rc >= 0)
			errmsg_set(e, EINVAL, "%s: the log does not start with the run's configuration", c->log_path);
		replayer_destroy(r);
		return NULL;
	}
	r->config_text = strndup((const char *)ev.data, ev.len);
	if (!r->config_text) {
		errmsg_set(e, ENOMEM, "out of memory");
		replayer_destroy(r);
		return NULL;
	}
	return r;
}

const char *replayer_config_text(const struct replayer *r)
{
	return r->config_text;
}

void replayer_stats(struct replayer *r, struct replayer_stats *out)
{
	*out = (struct replayer_stats){ r->exits, r->async_points, r->switches, r->slices, r->steps, r->drifts,
					r->max_drift, r->diverged, r->reached_end };
}

void replayer_destroy(struct replayer *r)
{
	if (!r)
		return;
	rlog_reader_close(r->log);
	free(r->config_text);
	free(r);
}
