/* Installing the fallback on a VM: the emulation-failure and hypercall exit handlers that copy
 * the vCPU into a fb_cpu, complete the instruction and write the result back, and the watchdog. */
#include "fallback/fallback.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fallback/complete.h"
#include "fallback/fallback_impl.h"
#include "fallback/hypercall.h"
#include "trace/oops.h"
#include "vmm/vcpu.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the extended-state door over a vCPU --------------------------------------------------- */

static int xs_get_xcr0(void *ctx, uint64_t *xcr0)
{
	struct kvm_xcrs x;
	int rc = vcpu_get_xcrs(ctx, &x);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x.xcrs[i].xcr == 0) {
			*xcr0 = x.xcrs[i].value;
			return 0;
		}
	return -ENOENT;
}

static int xs_set_xcr0(void *ctx, uint64_t xcr0)
{
	struct kvm_xcrs x = { .nr_xcrs = 1, .xcrs[0] = { .xcr = 0, .value = xcr0 } };
	return vcpu_set_xcrs(ctx, &x);
}

static int xs_get_xsave(void *ctx, struct kvm_xsave *xs)
{
	return vcpu_get_xsave(ctx, xs);
}

static int xs_set_xsave(void *ctx, const struct kvm_xsave *xs)
{
	return vcpu_set_xsave(ctx, xs);
}

static int xs_get_msr(void *ctx, uint32_t index, uint64_t *value)
{
	return vcpu_get_msr(ctx, index, value);
}

static const struct fb_xstate_ops vcpu_xstate_ops = { xs_get_xcr0, xs_set_xcr0, xs_get_xsave, xs_set_xsave, xs_get_msr };

/* ---- exit handlers ------------------------------------------------------------------------- */

static enum vmexit_action pass_on(struct fallback *fb, struct vcpu *v, struct vm_exit *ex)
{
	if (fb->prev_emulation_fail)
		return fb->prev_emulation_fail(v, ex, fb->prev_emulation_fail_opaque);
	return vm_default_exit_handler(v, ex);
}

/* The instruction is done (or an exception handler is about to run): RIP moved on, so an
 * interrupt shadow left by sti or mov ss is over. KVM applies the shadow only with its flag set;
 * the other fields are written back as read. */
static void end_interrupt_shadow(struct vcpu *v)
{
	struct kvm_vcpu_events ev;
	if (vcpu_get_events(v, &ev) == 0 && ev.interrupt.shadow) {
		ev.interrupt.shadow = 0;
		ev.flags |= KVM_VCPUEVENT_VALID_SHADOW;
		vcpu_set_events(v, &ev);
	}
}

/* An exception KVM holds for the guest belongs before anything we would complete: leave it. */
static bool exception_pending(struct vcpu *v)
{
	struct kvm_vcpu_events ev;
	return vcpu_get_events(v, &ev) == 0 && (ev.exception.injected || ev.exception.pending);
}

static int write_back(struct vcpu *v, const struct fb_cpu *c)
{
	int rc = vcpu_set_regs(v, &c->regs);
	if (rc == 0 && c->sregs_changed)
		rc = vcpu_set_sregs(v, &c->sregs);
	if (rc == 0 && c->flush_tlb)
		rc = vcpu_flush_tlb(v);
	return rc;
}

static enum vmexit_action on_emulation_fail(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	struct fallback *fb = opaque;
	unsigned index = vcpu_index(v);
	if (ex->value != KVM_INTERNAL_ERROR_EMULATION)
		return pass_on(fb, v, ex);
	struct fb_cpu c = { .mem = vm_gmem(fb->vm), .xs = &vcpu_xstate_ops, .xs_ctx = v, .xl = &fb->xl };
	struct fb_insn in;
	if (exception_pending(v) || vcpu_get_regs(v, &c.regs) < 0 || vcpu_get_sregs(v, &c.sregs) < 0 ||
	    fb_fetch_decode(&c, &in) < 0) {
		fb_stats_bump(&fb->stats.vcpu[index].unknown_refused);
		return pass_on(fb, v, ex);
	}
	enum fb_outcome o = fb_complete(&c, &in);
	unsigned slot = fb_stat_slot(in.op, in.capstone_id, in.raw_id);
	uint64_t ns = now_ns() - ex->time_ns;
	if ((o == FB_COMPLETED || o == FB_RAISED) && write_back(v, &c) < 0)
		o = FB_HOST_ERROR;
	switch (o) {
	case FB_COMPLETED:
		end_interrupt_shadow(v);
		fb_stats_add(&fb->stats, index, slot, FB_RES_COMPLETED, ns);
		return vm_ended(fb->vm) ? VMEXIT_STOP : VMEXIT_RESUME;
	case FB_RAISED:
		end_interrupt_shadow(v);
		fb_stats_add(&fb->stats, index, slot, FB_RES_RAISED, ns);
		return vm_ended(fb->vm) ? VMEXIT_STOP : VMEXIT_RESUME;
	case FB_TRIPLE: {
		char why[160];
		fb_stats_add(&fb->stats, index, slot, FB_RES_RAISED, ns);
		snprintf(why, sizeof(why), "vCPU %u: triple fault (delivering an exception raised by %s at rip 0x%" PRIx64
			 " faulted twice)", index, fb_slot_name(slot), ex->rip);
		oops_print(fb->cfg.report ? fb->cfg.report : stderr, v, why, fb->cfg.tracer);
		vm_request_end(fb->vm, VM_END_TRIPLEFAULT, 0, why);
		return VMEXIT_STOP;
	}
	default:
		fb_stats_add(&fb->stats, index, slot, FB_RES_REFUSED, ns);
		return pass_on(fb, v, ex);
	}
}

/* KVM_EXIT_HYPERCALL (only with KVM_CAP_EXIT_HYPERCALL, which dhyve does not enable): KVM
 * skips the instruction itself and puts hypercall.ret into RAX. */
static enum vmexit_action on_hypercall(struct vcpu *v, struct vm_exit *ex, void *opaque)
{
	struct fallback *fb = opaque;
	struct kvm_run *run = vcpu_run_page(v);
	run->hypercall.ret = (uint64_t)fb_hypercall_result(run->hypercall.nr);
	fb_stats_add(&fb->stats, vcpu_index(v), FB_OP_VMCALL, FB_RES_COMPLETED, now_ns() - ex->time_ns);
	return vm_ended(fb->vm) ? VMEXIT_STOP : VMEXIT_RESUME;
}

/* ---- the public API ------------------------------------------------------------------------ */

void fallback_config_init(struct fallback_config *cfg)
{
	*cfg = (struct fallback_config){ .watchdog_s = FALLBACK_WATCHDOG_DEFAULT_S, .hypercall_watch = true };
}

struct fallback *fallback_install(struct vm *vm, const struct fallback_config *cfg, struct errmsg *e)
{
	struct fallback *fb = calloc(1, sizeof(*fb));
	if (!fb) {
		errmsg_set(e, ENOMEM, "fallback: out of memory");
		return NULL;
	}
	fb->vm = vm;
	if (cfg)
		fb->cfg = *cfg;
	else
		fallback_config_init(&fb->cfg);
	fb->stats.nvcpus = vm_ncpus(vm);
	fb_xlayout_host(&fb->xl);
	vm_get_exit_handler(vm, VMEXIT_EMULATION_FAIL, &fb->prev_emulation_fail, &fb->prev_emulation_fail_opaque);
	int rc = fb_watchdog_start(fb);
	if (rc < 0) {
		errmsg_set(e, -rc, "fallback: cannot start the watchdog thread: %s", strerror(-rc));
		free(fb);
		return NULL;
	}
	vm_set_exit_handler(vm, VMEXIT_EMULATION_FAIL, on_emulation_fail, fb);
	vm_set_exit_handler(vm, VMEXIT_HYPERCALL, on_hypercall, fb);
	return fb;
}

void fallback_destroy(struct fallback *fb)
{
	if (!fb)
		return;
	fb_watchdog_stop(fb);
	free(fb);
}

int fallback_stats(struct fallback *fb, unsigned vcpu, struct fallback_count *out, int max)
{
	if (vcpu >= fb->stats.nvcpus)
		return -EINVAL;
	int n = 0;
	const struct fb_vcpu_counters *vc = &fb->stats.vcpu[vcpu];
	for (unsigned op = 0; op < FB_STAT_SLOTS; op++) {
		const struct fb_op_counter *c = &vc->op[op];
		struct fallback_count fc = {
			.insn = fb_slot_name(op),
			.completed = __atomic_load_n(&c->count[FB_RES_COMPLETED], __ATOMIC_RELAXED),
			.raised = __atomic_load_n(&c->count[FB_RES_RAISED], __ATOMIC_RELAXED),
			.refused = __atomic_load_n(&c->count[FB_RES_REFUSED], __ATOMIC_RELAXED),
			.total_ns = __atomic_load_n(&c->ns, __ATOMIC_RELAXED),
		};
		if (!fc.insn || (!fc.completed && !fc.raised && !fc.refused))
			continue;
		if (n < max)
			out[n] = fc;
		n++;
	}
	return n;
}

void fallback_print_stats(struct fallback *fb, FILE *out, bool json)
{
	fb_stats_print(&fb->stats, out, json);
}
