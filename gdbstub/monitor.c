/* gdb's "monitor" commands (qRcmd): a look at the whole machine that gdb's own commands do not
 * give: every vCPU's registers at once, guest-physical memory, disassembly, exit statistics. */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub/stub_impl.h"
#include "trace/disas.h"

#define PHYS_MAX 4096
#define DISAS_MAX 200

static void cmd_help(FILE *out)
{
	fprintf(out,
		"dhyve monitor commands:\n"
		"  help                 this text\n"
		"  regs                 main registers of every vCPU\n"
		"  phys ADDR [LEN]      hex dump of guest-physical memory (LEN <= %d, default 64)\n"
		"  disas [ADDR] [N]     N instructions (default 10) at ADDR (default RIP) of the current thread\n"
		"  stats                VM exits per vCPU and kind\n"
		"  info                 breakpoints, watchpoints and how they are implemented here\n",
		PHYS_MAX);
}

static void cmd_regs(struct gdbstub *s, FILE *out)
{
	for (unsigned i = 0; i < s->ncpus; i++) {
		struct gdb_cpu_state *st = runctl_cpu_state(s, i);
		if (!st) {
			fprintf(out, "vCPU %u: registers unavailable\n", i);
			continue;
		}
		const struct kvm_regs *r = &st->regs;
		const struct kvm_sregs *sr = &st->sregs;
		fprintf(out, "vCPU %u (thread %u):\n", i, i + 1);
		fprintf(out, "  rip %016llx  rsp %016llx  rbp %016llx  rflags %08llx\n",
			r->rip, r->rsp, r->rbp, r->rflags);
		fprintf(out, "  rax %016llx  rbx %016llx  rcx %016llx  rdx %016llx\n", r->rax, r->rbx, r->rcx, r->rdx);
		fprintf(out, "  rsi %016llx  rdi %016llx  r8  %016llx  r9  %016llx\n", r->rsi, r->rdi, r->r8, r->r9);
		fprintf(out, "  r10 %016llx  r11 %016llx  r12 %016llx  r13 %016llx\n", r->r10, r->r11, r->r12, r->r13);
		fprintf(out, "  r14 %016llx  r15 %016llx\n", r->r14, r->r15);
		fprintf(out, "  cs %04x ss %04x ds %04x es %04x fs %04x gs %04x  fs_base %llx gs_base %llx\n",
			sr->cs.selector, sr->ss.selector, sr->ds.selector, sr->es.selector, sr->fs.selector,
			sr->gs.selector, sr->fs.base, sr->gs.base);
		fprintf(out, "  cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx\n", sr->cr0, sr->cr2, sr->cr3, sr->cr4, sr->efer);
	}
}

/* Parses a number the way a user types it: 0x... hex, else decimal (gdb passes text as is). */
static bool parse_num(const char **p, uint64_t *v)
{
	while (isspace((unsigned char)**p))
		(*p)++;
	if (!**p)
		return false;
	char *end;
	*v = strtoull(*p, &end, 0);
	if (end == *p || (*end && !isspace((unsigned char)*end)))
		return false;
	*p = end;
	return true;
}

static void cmd_phys(struct gdbstub *s, const char *args, FILE *out)
{
	uint64_t addr, len = 64;
	if (!parse_num(&args, &addr)) {
		fprintf(out, "usage: phys ADDR [LEN]\n");
		return;
	}
	if (*args && !parse_num(&args, &len)) {
		fprintf(out, "usage: phys ADDR [LEN]\n");
		return;
	}
	if (len > PHYS_MAX)
		len = PHYS_MAX;
	bp_lift_all(s); /* the guest's bytes, not our int3s (the VM is stopped) */
	for (uint64_t off = 0; off < len; off += 16) {
		uint8_t line[16];
		unsigned n = len - off < 16 ? (unsigned)(len - off) : 16;
		if (gmem_read(vm_gmem(s->vm), addr + off, line, n) < 0) {
			fprintf(out, "%016" PRIx64 ": not guest RAM\n", addr + off);
			break;
		}
		fprintf(out, "%016" PRIx64 ":", addr + off);
		for (unsigned k = 0; k < 16; k++) {
			if (k < n)
				fprintf(out, " %02x", line[k]);
			else
				fprintf(out, "   ");
		}
		fprintf(out, "  |");
		for (unsigned k = 0; k < n; k++)
			fputc(isprint(line[k]) ? line[k] : '.', out);
		fprintf(out, "|\n");
	}
	bp_plant_all(s);
}

static void cmd_disas(struct gdbstub *s, const char *args, FILE *out)
{
	unsigned cpu = s->g_thread >= 1 && (unsigned)s->g_thread <= s->ncpus ? (unsigned)s->g_thread - 1 : s->stop.vcpu;
	struct gdb_cpu_state *st = runctl_cpu_state(s, cpu);
	struct paging_regs pr;
	enum vcpu_mode mode;
	if (!st || runctl_paging(s, cpu, &pr, &mode) < 0) {
		fprintf(out, "vCPU %u: registers unavailable\n", cpu);
		return;
	}
	uint64_t addr = mode == VCPU_MODE_LONG64 ? st->regs.rip : st->sregs.cs.base + st->regs.rip;
	uint64_t count = 10;
	if (*args && !parse_num(&args, &addr)) {
		fprintf(out, "usage: disas [ADDR] [N]\n");
		return;
	}
	if (*args && !parse_num(&args, &count)) {
		fprintf(out, "usage: disas [ADDR] [N]\n");
		return;
	}
	if (count > DISAS_MAX)
		count = DISAS_MAX;
	/* Show the guest's code, not our int3s: the VM is stopped, so lifting them is safe. */
	bp_lift_all(s);
	fprintf(out, "vCPU %u:\n", cpu);
	disas_print_around(out, vm_gmem(s->vm), &pr, mode, addr, (int)count);
	bp_plant_all(s);
}

static void cmd_stats(struct gdbstub *s, FILE *out)
{
	for (unsigned i = 0; i < s->ncpus; i++) {
		struct vcpu_stats *st = malloc(sizeof(*st));
		if (!st)
			return;
		vcpu_read_stats(s->vcpus[i].vcpu, st);
		uint64_t total = 0;
		for (unsigned k = 0; k < VMEXIT__COUNT; k++)
			total += st->count[k];
		fprintf(out, "vCPU %u: %" PRIu64 " exits\n", i, total);
		for (unsigned k = 0; k < VMEXIT__COUNT; k++)
			if (st->count[k])
				fprintf(out, "  %-16s %12" PRIu64 "  avg %" PRIu64 " ns\n", vmexit_kind_name(k), st->count[k],
					st->ns[k] / st->count[k]);
		free(st);
	}
}

static void cmd_info(struct gdbstub *s, FILE *out)
{
	fprintf(out, "watchpoints: %s\n",
		s->dr_watch_works ? "debug registers (this KVM honours DR7 data breakpoints)"
				  : "single-stepping every running vCPU (this KVM ignores DR7 data breakpoints)");
	for (int i = 0; i < STUB_MAX_SW_BP; i++)
		if (s->sw[i].used)
			fprintf(out, "  int3 at %#" PRIx64 " (guest-physical %#" PRIx64 ")\n", s->sw[i].gva, s->sw[i].gpa);
	for (int i = 0; i < STUB_HW_SLOTS; i++)
		if (s->hw[i].used)
			fprintf(out, "  DR%d: %s at %#" PRIx64 ", %u byte(s)\n", i,
				s->hw[i].type == HW_EXEC ? "execute" : s->hw[i].type == HW_WRITE ? "write" : "access",
				s->hw[i].addr, s->hw[i].len);
	for (int i = 0; i < STUB_MAX_WATCH; i++)
		if (s->watches[i].used && s->watches[i].slot < 0)
			fprintf(out, "  %s watch at %#" PRIx64 ", %u byte(s), by stepping\n",
				s->watches[i].type == 2 ? "write" : s->watches[i].type == 3 ? "read" : "access",
				s->watches[i].gva, s->watches[i].len);
}

void monitor_run(struct gdbstub *s, const char *cmd, FILE *out)
{
	while (isspace((unsigned char)*cmd))
		cmd++;
	size_t w = strcspn(cmd, " \t");
	const char *args = cmd + w;
#define IS(name) (w == strlen(name) && strncmp(cmd, name, w) == 0)
	if (w == 0 || IS("help"))
		cmd_help(out);
	else if (IS("regs"))
		cmd_regs(s, out);
	else if (IS("phys"))
		cmd_phys(s, args, out);
	else if (IS("disas"))
		cmd_disas(s, args, out);
	else if (IS("stats"))
		cmd_stats(s, out);
	else if (IS("info"))
		cmd_info(s, out);
	else
		fprintf(out, "unknown monitor command '%.*s'; try 'monitor help'\n", (int)w, cmd);
#undef IS
}
