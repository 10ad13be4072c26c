/* Unit tests for the fallback watchdog's judgement with a fake clock (fallback/watchdog.h),
 * the hypercall ABI answers, and the counters' text and JSON reports. */
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fallback/hypercall.h"
#include "fallback/stats.h"
#include "fallback/watchdog.h"

#define MS 1000000ull
#define LIMIT (2000 * MS)

static struct wd_counters counters(uint64_t exits, uint64_t insns, uint64_t kvm_exits)
{
	return (struct wd_counters){ .exits = exits, .insns = insns, .kvm_exits = kvm_exits, .have_insns = true,
				     .have_kvm_exits = true };
}

static struct wd_look look_at(uint64_t rip, uint32_t mp_state, bool at_hypercall)
{
	struct wd_look l;
	memset(&l, 0, sizeof(l));
	l.regs.rip = rip;
	l.mp_state = mp_state;
	l.at_hypercall = at_hypercall;
	return l;
}

static void test_never_started_and_moving(void **state)
{
	(void)state;
	struct wd_vcpu w;
	memset(&w, 0, sizeof(w));
	struct wd_counters zero = counters(0, 0, 0);
	for (uint64_t t = 0; t < 10000 * MS; t += 200 * MS)
		assert_false(wd_tick(&w, &zero, t, LIMIT, true)); /* an AP never started */
	memset(&w, 0, sizeof(w));
	for (uint64_t i = 0, t = 0; t < 10000 * MS; i++, t += 200 * MS) {
		struct wd_counters c = counters(i, 100, i);
		assert_false(wd_tick(&w, &c, t, LIMIT, true)); /* exits move: fine */
	}
}

static void test_hypercall_livelock(void **state)
{
	(void)state;
	struct wd_vcpu w;
	memset(&w, 0, sizeof(w));
	struct wd_counters c = counters(10, 1000, 5);
	assert_false(wd_tick(&w, &c, 0, LIMIT, true)); /* baseline */
	c.insns += 200000; /* KVM re-emulates the vmcall forever, no exit */
	assert_true(wd_tick(&w, &c, 200 * MS, LIMIT, true));
	struct wd_look l = look_at(0x1000, KVM_MP_STATE_RUNNABLE, true);
	assert_int_equal(wd_judge(&w, &l, 200 * MS), WD_FINE); /* once could be chance */
	c.insns += 200000;
	assert_true(wd_tick(&w, &c, 400 * MS, LIMIT, true));
	assert_int_equal(wd_judge(&w, &l, 400 * MS), WD_ANSWER_HYPERCALL);
	/* An exit between two looks: not stuck. */
	c.insns += 200000;
	assert_true(wd_tick(&w, &c, 600 * MS, LIMIT, true));
	assert_int_equal(wd_judge(&w, &l, 600 * MS), WD_FINE);
	c.exits++;
	assert_false(wd_tick(&w, &c, 800 * MS, LIMIT, true));
	c.insns += 200000;
	assert_true(wd_tick(&w, &c, 1000 * MS, LIMIT, true));
	assert_int_equal(wd_judge(&w, &l, 1000 * MS), WD_FINE);
	/* A different RIP at the second look: not stuck either. */
	c.insns += 200000;
	assert_true(wd_tick(&w, &c, 1200 * MS, LIMIT, true));
	l.regs.rip = 0x2000;
	assert_int_equal(wd_judge(&w, &l, 1200 * MS), WD_FINE);
	/* Watching off: CPL0 code running is not looked at. */
	c.insns += 200000;
	assert_false(wd_tick(&w, &c, 1400 * MS, LIMIT, false));
}

/* Ticks a quiet vCPU from t0 to t1 (no look expected in between). */
static void quiet_ticks(struct wd_vcpu *w, struct wd_counters *c, uint64_t t0, uint64_t t1, bool kvm_moves)
{
	for (uint64_t t = t0; t < t1; t += 200 * MS) {
		if (kvm_moves)
			c->kvm_exits += 50;
		assert_false(wd_tick(w, c, t, LIMIT, true));
	}
}

static void test_hang_verdicts(void **state)
{
	(void)state;
	struct wd_vcpu w;
	memset(&w, 0, sizeof(w));
	struct wd_counters c = counters(10, 1000, 5);
	assert_false(wd_tick(&w, &c, 0, LIMIT, true));
	/* Quiet from 200 ms: a snapshot of the registers first. */
	assert_true(wd_tick(&w, &c, 200 * MS, LIMIT, true));
	struct wd_look l = look_at(0x401000, KVM_MP_STATE_RUNNABLE, false);
	assert_int_equal(wd_judge(&w, &l, 200 * MS), WD_FINE);
	quiet_ticks(&w, &c, 400 * MS, 2200 * MS, true);
	/* At the limit: registers moved (ring-3 code computing): fine, and the clock restarts. */
	c.kvm_exits += 50;
	assert_true(wd_tick(&w, &c, 2200 * MS, LIMIT, true));
	l.regs.rcx = 12345;
	assert_int_equal(wd_judge(&w, &l, 2200 * MS), WD_FINE);
	quiet_ticks(&w, &c, 2400 * MS, 4200 * MS, true);
	/* Same registers, still running in guest mode: hung. */
	c.kvm_exits += 50;
	assert_true(wd_tick(&w, &c, 4200 * MS, LIMIT, true));
	assert_int_equal(wd_judge(&w, &l, 4200 * MS), WD_HUNG);
}

static void test_idle_verdicts(void **state)
{
	(void)state;
	/* Halted (IF either way): idle, and the next judgement is a full limit later. */
	struct wd_vcpu w;
	memset(&w, 0, sizeof(w));
	struct wd_counters c = counters(10, 1000, 5);
	assert_false(wd_tick(&w, &c, 0, LIMIT, true));
	assert_true(wd_tick(&w, &c, 200 * MS, LIMIT, true));
	struct wd_look l = look_at(0x1000, KVM_MP_STATE_HALTED, false);
	assert_int_equal(wd_judge(&w, &l, 200 * MS), WD_FINE);
	quiet_ticks(&w, &c, 400 * MS, 2200 * MS, false);
	assert_true(wd_tick(&w, &c, 2200 * MS, LIMIT, true));
	assert_int_equal(wd_judge(&w, &l, 2200 * MS), WD_IDLE);
	quiet_ticks(&w, &c, 2400 * MS, 4200 * MS, false);

	/* Runnable but KVM counted no exits all the while: parked (a debugger holds it). */
	memset(&w, 0, sizeof(w));
	c = counters(10, 1000, 5);
	assert_false(wd_tick(&w, &c, 0, LIMIT, true));
	assert_true(wd_tick(&w, &c, 200 * MS, LIMIT, true));
	l = look_at(0x1000, KVM_MP_STATE_RUNNABLE, false);
	assert_int_equal(wd_judge(&w, &l, 200 * MS), WD_FINE);
	quiet_ticks(&w, &c, 400 * MS, 2200 * MS, false);
	assert_true(wd_tick(&w, &c, 2200 * MS, LIMIT, true));
	assert_int_equal(wd_judge(&w, &l, 2200 * MS), WD_IDLE);

	/* Limit 0: no hang verdicts at all, no looks at a quiet vCPU. */
	memset(&w, 0, sizeof(w));
	c = counters(10, 1000, 5);
	for (uint64_t t = 0; t < 60000 * MS; t += 200 * MS) {
		c.kvm_exits += 50;
		assert_false(wd_tick(&w, &c, t, 0, true));
	}
}

static void test_hypercall_abi(void **state)
{
	(void)state;
	struct kvm_regs r = { .rax = 10, .rip = 0x1000 };
	fb_hypercall_answer(&r, true);
	assert_int_equal(r.rax, (uint64_t)-1000);
	assert_int_equal(r.rip, 0x1003);
	r = (struct kvm_regs){ .rax = 0xffffffff00000001ull, .rip = 0xfffffffe };
	fb_hypercall_answer(&r, false); /* 32-bit: EAX = 1 is KVM_HC_VAPIC_POLL_IRQ */
	assert_int_equal(r.rax, 0);
	assert_int_equal(r.rip, 0x1); /* EIP wraps */
	r = (struct kvm_regs){ .rax = 5 };
	fb_hypercall_answer(&r, false);
	assert_int_equal(r.rax, 0xfffffc18u); /* -1000 in 32 bits */
	bool vmmcall;
	assert_true(fb_is_hypercall((const uint8_t[]){ 0x0f, 0x01, 0xd9 }, &vmmcall));
	assert_true(vmmcall);
	assert_true(fb_is_hypercall((const uint8_t[]){ 0x0f, 0x01, 0xc1 }, &vmmcall));
	assert_false(vmmcall);
	assert_false(fb_is_hypercall((const uint8_t[]){ 0x0f, 0x01, 0xd0 }, NULL));
}

static void test_stats_reports(void **state)
{
	(void)state;
	static struct fb_stats s;
	memset(&s, 0, sizeof(s));
	s.nvcpus = 2;
	fb_stats_add(&s, 0, FB_OP_INT3, FB_RES_COMPLETED, 3000);
	fb_stats_add(&s, 0, FB_OP_INT3, FB_RES_COMPLETED, 1000);
	fb_stats_add(&s, 1, FB_OP_XSAVE, FB_RES_RAISED, 5000);
	fb_stats_add(&s, 7, FB_OP__COUNT, FB_RES_COMPLETED, 1); /* ignored */
	fb_stats_bump(&s.vcpu[1].hypercall_livelock);
	char *text = NULL, *json = NULL;
	size_t n;
	FILE *f = open_memstream(&text, &n);
	fb_stats_print(&s, f, false);
	fclose(f);
	f = open_memstream(&json, &n);
	fb_stats_print(&s, f, true);
	fclose(f);
	assert_non_null(strstr(text, "int3"));
	assert_non_null(strstr(text, "2.00")); /* average microseconds of int3 */
	assert_non_null(strstr(text, "1 hypercall live-locks answered"));
	assert_non_null(strstr(json, "\"int3\": {\"completed\": 2, \"raised\": 0, \"refused\": 0, \"total_us\": 4.000"));
	assert_non_null(strstr(json, "\"xsave\": {\"completed\": 0, \"raised\": 1"));
	assert_non_null(strstr(json, "\"hypercall_livelocks\": 1"));
	assert_int_equal(json[0], '{');
	assert_int_equal(json[strlen(json) - 1], '}');
	free(text);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never_started_and_moving),
		cmocka_unit_test(test_hypercall_livelock),
		cmocka_unit_test(test_hang_verdicts),
		cmocka_unit_test(test_idle_verdicts),
		cmocka_unit_test(test_hypercall_abi),
		cmocka_unit_test(test_stats_reports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
