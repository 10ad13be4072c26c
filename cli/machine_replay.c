/* The machine's side of record and replay: wiring the recorder's doors before the devices are
 * made, standing the replayer in for them, and closing a recording into a repro bundle. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/bundle.h"
#include "cli/machine.h"
#include "devmodel/uart16550.h"
#include "gdbstub/gdbstub.h"
#include "loader/symbols.h"
#include "replay/recorder.h"
#include "replay/replayer.h"
#include "trace/disas.h"
#include "trace/tracer.h"
#include "vmm/vcpu.h"

int machine_start_recording(struct machine *m, const struct dhyve_options *o, struct errmsg *e)
{
	char *text = bundle_read_text(o->record_dir, BUNDLE_CONFIG, e);
	if (!text)
		return -EINVAL;
	char log[4096];
	bundle_path(log, sizeof(log), o->record_dir, BUNDLE_LOG);
	m->rec = recorder_create(m->vm, log, text, e);
	free(text);
	if (!m->rec)
		return -EINVAL;
	m->dev_mem.observer = recorder_gmem_observer(m->rec);
	if (o->record_panic_at) {
		uint64_t addr;
		struct errmsg why = { "" };
		if (elf_address_or_symbol(o->kernel, o->record_panic_at, &addr, &why) < 0)
			return errmsg_set(e, EINVAL, "record.panic_at=%s: %s", o->record_panic_at, why.text);
		if (recorder_set_panic_at(m->rec, addr, o->record_panic_at) < 0)
			return errmsg_set(e, EIO, "record.panic_at=%s: cannot set the breakpoint", o->record_panic_at);
	}
	m->record_dir = strdup(o->record_dir);
	return m->record_dir ? 0 : errmsg_set(e, ENOMEM, "out of memory");
}

static void show_code(void *ctx, FILE *out, struct vcpu *vcpu, uint64_t rip)
{
	struct machine *m = ctx;
	struct paging_regs pr;
	enum vcpu_mode mode;
	if (vcpu_get_paging(vcpu, &pr, &mode) == 0)
		disas_print_around(out, vm_gmem(m->vm), &pr, mode, rip, 4);
}

static bool stop_for_debugger(void *ctx, struct vcpu *vcpu)
{
	struct machine *m = ctx;
	return gdbstub_stop_on_fault(m->gdb, vcpu, GDB_SIGNAL_TRAP);
}

int machine_start_replay(struct machine *m, const struct dhyve_options *o, struct errmsg *e)
{
	char *text = bundle_read_text(o->replay_dir, BUNDLE_CONFIG, e);
	if (!text)
		return -EINVAL;
	char log[4096];
	bundle_path(log, sizeof(log), o->replay_dir, BUNDLE_LOG);
	struct replayer_config rc = {
		.log_path = log, .vm = m->vm, .console_out = stdout,
		.console_port = { o->com[0] ? UART_COM1_BASE : 0, o->com[1] ? UART_COM2_BASE : 0 },
		.show_code = show_code, .stop_for_debugger = stop_for_debugger, .ctx = m,
	};
	m->rep = replayer_create(&rc, e);
	int err = 0;
	if (m->rep && strcmp(replayer_config_text(m->rep), text) != 0)
		err = errmsg_set(e, EINVAL, "replay=%s: %s was changed after the recording (the log holds the original)",
				 o->replay_dir, BUNDLE_CONFIG);
	free(text);
	return !m->rep ? -EINVAL : err;
}

int machine_finish_recording(struct machine *m, enum vm_end how, uint32_t code, const char *why, struct errmsg *e)
{
	if (!m->rec)
		return 0;
	struct recorder_stats st;
	recorder_stats(m->rec, &st);
	int rc = recorder_finish(m->rec, how, code, why, e);
	m->rec = NULL;
	char path[4096], files[1024];
	bundle_path(path, sizeof(path), m->record_dir, BUNDLE_TRACE);
	bool traced = m->tracer && tracer_dump(m->tracer, path, e) == 0;
	snprintf(files, sizeof(files),
		 "    config        the configuration (dhyve -k syntax)\n"
		 "    kernel        the kernel image (and initrd, if any), if record.copy_images was on\n"
		 "    log.rlog      the replay log: %" PRIu64 " exits, %" PRIu64 " async points, %" PRIu64 " events (dhyvectl --log-dump)\n"
		 "%s",
		 st.exits, st.async_points, st.events,
		 traced ? "    trace.dtrace  the last exits before the end (dhyve-report)\n" : "");
	static const char *const words[] = {
		[VM_END_RESET] = "reset", [VM_END_POWEROFF] = "powered off", [VM_END_HALT] = "halted",
		[VM_END_TRIPLEFAULT] = "triple fault (a panic)", [VM_END_ERROR] = "error",
		[VM_END_DEBUGEXIT] = "debug exit", [VM_END_PANIC] = "guest panic",
	};
	const char *ended = how >= 0 && how <= VM_END_PANIC ? words[how] : "error";
	if (rc == 0)
		rc = bundle_write_readme(m->record_dir, vm_name(m->vm), ended, why ? why : "", files, e);
	struct stat sb;
	bundle_path(path, sizeof(path), m->record_dir, BUNDLE_LOG);
	fprintf(stderr, "dhyve: %s: recorded %" PRIu64 " exits and %" PRIu64 " async points into %s (%" PRIu64
		" vCPU switches, %lld log bytes)\n", vm_name(m->vm), st.exits, st.async_points, m->record_dir, st.switches,
		stat(path, &sb) == 0 ? (long long)sb.st_size : -1ll);
	free(m->record_dir);
	m->record_dir = NULL;
	return rc;
}

bool machine_report_replay(struct machine *m, FILE *out)
{
	if (!m->rep)
		return true;
	struct replayer_stats st;
	replayer_stats(m->rep, &st);
	fprintf(out, "dhyve: %s: replay %s: %" PRIu64 " exits and %" PRIu64 " async points matched (%" PRIu64 " vCPU switches, %" PRIu64 " slices, %" PRIu64
		" breakpoint stops and steps; instruction counter drifted at %" PRIu64 " exits, by up to %" PRIu64 ")\n",
		vm_name(m->vm), st.diverged ? "diverged" : st.reached_end ? "reached the recorded end" : "stopped early",
		st.exits, st.async_points, st.switches, st.slices, st.steps, st.drifts, st.max_drift);
	return !st.diverged;
}
