/* Counting completed instructions per mnemonic and vCPU, and printing the counts for
 * dhyvectl --get-stats and the trace report (text and JSON). */
#include "fallback/stats.h"

#include <inttypes.h>

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void fb_stats_bump(uint64_t *counter)
{
	__atomic_store_n(counter, load(counter) + 1, __ATOMIC_RELAXED);
}

void fb_stats_add(struct fb_stats *s, unsigned vcpu, unsigned slot, enum fb_result_kind res, uint64_t ns)
{
	if (vcpu >= VM_MAX_VCPUS || !fb_slot_name(slot) || (unsigned)res >= FB_RES__COUNT)
		return;
	struct fb_op_counter *c = &s->vcpu[vcpu].op[slot];
	fb_stats_bump(&c->count[res]);
	__atomic_store_n(&c->ns, load(&c->ns) + ns, __ATOMIC_RELAXED);
}

static uint64_t total(const struct fb_op_counter *c)
{
	uint64_t n = 0;
	for (unsigned r = 0; r < FB_RES__COUNT; r++)
		n += load(&c->count[r]);
	return n;
}

static void print_text(const struct fb_stats *s, FILE *out)
{
	fprintf(out, "instructions completed in user space (this KVM could not emulate them):\n");
	fprintf(out, "  %-6s %-12s %10s %10s %10s %9s\n", "vcpu", "insn", "completed", "raised", "refused", "avg_us");
	bool any = false;
	for (unsigned v = 0; v < s->nvcpus; v++) {
		const struct fb_vcpu_counters *vc = &s->vcpu[v];
		for (unsigned op = 0; op < FB_STAT_SLOTS; op++) {
			uint64_t n = total(&vc->op[op]);
			if (!n)
				continue;
			any = true;
			fprintf(out, "  %-6u %-12s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %9.2f\n", v, fb_slot_name(op),
				load(&vc->op[op].count[FB_RES_COMPLETED]), load(&vc->op[op].count[FB_RES_RAISED]),
				load(&vc->op[op].count[FB_RES_REFUSED]), load(&vc->op[op].ns) / 1e3 / n);
		}
		if (load(&vc->unknown_refused))
			fprintf(out, "  %-6u %-12s %10s %10s %10" PRIu64 "\n", v, "(other)", "-", "-", load(&vc->unknown_refused));
		if (load(&vc->hypercall_livelock) || load(&vc->idle_checks)) {
			any = true;
			fprintf(out, "  vcpu %u watchdog: %" PRIu64 " hypercall live-locks answered, %" PRIu64 " idle checks\n", v,
				load(&vc->hypercall_livelock), load(&vc->idle_checks));
		}
	}
	if (!any)
		fprintf(out, "  (none)\n");
}

static void print_json(const struct fb_stats *s, FILE *out)
{
	fprintf(out, "{\"vcpus\": [");
	for (unsigned v = 0; v < s->nvcpus; v++) {
		const struct fb_vcpu_counters *vc = &s->vcpu[v];
		fprintf(out, "%s{\"vcpu\": %u, \"insns\": {", v ? ", " : "", v);
		const char *sep = "";
		for (unsigned op = 0; op < FB_STAT_SLOTS; op++) {
			uint64_t n = total(&vc->op[op]);
			if (!n)
				continue;
			fprintf(out, "%s\"%s\": {\"completed\": %" PRIu64 ", \"raised\": %" PRIu64 ", \"refused\": %" PRIu64
				     ", \"total_us\": %.3f, \"avg_us\": %.3f}",
				sep, fb_slot_name(op), load(&vc->op[op].count[FB_RES_COMPLETED]),
				load(&vc->op[op].count[FB_RES_RAISED]), load(&vc->op[op].count[FB_RES_REFUSED]),
				load(&vc->op[op].ns) / 1e3, load(&vc->op[op].ns) / 1e3 / n);
			sep = ", ";
		}
		fprintf(out, "}, \"other_refused\": %" PRIu64 ", \"hypercall_livelocks\": %" PRIu64 ", \"idle_checks\": %" PRIu64 "}",
			load(&vc->unknown_refused), load(&vc->hypercall_livelock), load(&vc->idle_checks));
	}
	fprintf(out, "]}");
}

void fb_stats_print(const struct fb_stats *s, FILE *out, bool json)
{
	if (json)
		print_json(s, out);
	else
		print_text(s, out);
}
