/* dhyve(8): parse bhyve's flags, build the machine, run it, serve the control socket, and exit
 * with a status that says how the guest ended (bhyve's: 0 reset, 1 off, 2 halted, 3 triple
 * fault, 4 error; (v<<1)|1 for isa-debug-exit; 128+N when stopped by signal N). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli/control.h"
#include "cli/control_cmds.h"
#include "cli/machine.h"
#include "cli/options.h"
#include "cli/bundle.h"
#include "gdbstub/gdbstub.h"
#include "replay/recorder.h"
#include "replay/replayer.h"
#include "trace/tracer.h"
#include "vmm/vcpu.h"

#define IDLE_CHECK_MS 500

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "dhyve: %s%s%s\n", what, what[0] ? ": " : "", why);
	return VM_END_ERROR;
}

static uint64_t total_exits(struct machine *m)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < vm_ncpus(m->vm); i++) {
		struct vcpu_stats st;
		vcpu_read_stats(vm_vcpu(m->vm, i), &st);
		for (unsigned k = 0; k < VMEXIT__COUNT; k++)
			n += st.count[k];
	}
	return n;
}

/* Serves the control socket and signals until the VM ends. Returns the signal that stopped
 * it, or 0. A VM that makes no exits for a while is checked for being dead-halted. */
static int main_loop(struct machine *m, struct control *ctl, int sigfd)
{
	uint64_t last_exits = UINT64_MAX;
	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = vm_end_fd(m->vm), .events = POLLIN },
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = ctl->listen_fd, .events = POLLIN },
		};
		int n = poll(fds, 3, IDLE_CHECK_MS);
		if (n < 0 && errno != EINTR)
			return 0;
		if (fds[0].revents)
			return 0;
		if (fds[1].revents) {
			struct signalfd_siginfo si;
			if (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
				char why[64];
				snprintf(why, sizeof(why), "stopped by signal %s", strsignal((int)si.ssi_signo));
				vm_request_end(m->vm, VM_END_POWEROFF, 0, why);
				return (int)si.ssi_signo;
			}
		}
		if (fds[2].revents)
			control_serve_one(ctl);
		if (n == 0) {
			uint64_t exits = total_exits(m);
			if (exits == last_exits && machine_all_halted(m))
				vm_request_end(m->vm, VM_END_HALT, 0, "all vCPUs halted with interrupts disabled");
			last_exits = exits;
		}
	}
}

static int start_gdbstub(struct machine *m, const struct dhyve_options *o, struct gdbstub **stub, struct errmsg *e)
{
	if (o->gdb_port < 0)
		return 0;
	struct gdbstub_config gc = {
		.bind_addr = o->gdb_addr, .port = (uint16_t)o->gdb_port, .wait = o->gdb_wait, .tracer = m->tracer,
	};
	*stub = gdbstub_create(m->vm, &gc, e);
	if (!*stub)
		return -EINVAL;
	m->gdb = *stub;
	fprintf(stderr, "dhyve: %s: gdb stub listening on %s:%u%s\n", o->name, o->gdb_addr, gdbstub_port(*stub),
		o->gdb_wait ? ", waiting for gdb to attach" : "");
	return 0;
}

static const char *end_word(enum vm_end how)
{
	switch (how) {
	case VM_END_RESET: return "reset";
	case VM_END_POWEROFF: return "powered off";
	case VM_END_HALT: return "halted";
	case VM_END_TRIPLEFAULT: return "triple fault";
	case VM_END_DEBUGEXIT: return "debug exit";
	case VM_END_PANIC: return "guest panic";
	default: return "error";
	}
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct dhyve_options o;
	struct errmsg e = { "" };
	config_init(&cfg);
	int rc = options_parse_argv(argc, argv, &cfg, &e);
	if (rc == 1) {
		options_usage(stdout);
		return 0;
	}
	if (rc == 0 && config_get(&cfg, "replay"))
		rc = bundle_load_for_replay(&cfg, &e);
	if (rc < 0 || options_from_config(&cfg, &o, &e) < 0 ||
	    (o.record_dir && bundle_prepare(&cfg, o.record_dir, o.record_copy_images, &e) < 0)) {
		fail("", e.text);
		fprintf(stderr, "(dhyve -h lists the options)\n");
		config_free(&cfg);
		return VM_END_ERROR;
	}

	/* Every thread created from here on inherits this mask: signals reach only the signalfd. */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sigfd = signalfd(-1, &mask, SFD_CLOEXEC);

	struct control ctl;
	struct machine m;
	struct gdbstub *stub = NULL;
	memset(&m, 0, sizeof(m));
	int status = VM_END_ERROR;
	if (control_open(&ctl, o.name, control_cmds_handle, &m, &e) < 0) {
		status = fail(o.name, e.text);
		goto out_ctl;
	}
	if (machine_create(&m, &o, &e) < 0 || start_gdbstub(&m, &o, &stub, &e) < 0) {
		status = fail(o.name, e.text);
		goto out;
	}
	if (m.rep) /* around the stub's handler: their own steps stay their own */
		replayer_install_debug(m.rep);
	if (m.rec)
		recorder_install_debug(m.rec);
	if (vm_start(m.vm, &e) < 0) {
		status = fail(o.name, e.text);
		goto out;
	}
	int sig = main_loop(&m, &ctl, sigfd);
	status = vm_wait(m.vm);
	uint32_t code;
	const char *why;
	enum vm_end how = vm_end_reason(m.vm, &code, &why);
	if (sig)
		status = 128 + sig;
	fprintf(stderr, "dhyve: %s: %s (%s), exit status %d\n", o.name, end_word(how), why, status);
	if (o.trace_file && tracer_dump(m.tracer, o.trace_file, &e) < 0)
		fprintf(stderr, "dhyve: %s: trace.file=%s: %s\n", o.name, o.trace_file, e.text);
	if (m.rec && machine_finish_recording(&m, how, code, why, &e) < 0)
		fprintf(stderr, "dhyve: %s: record=%s: %s\n", o.name, o.record_dir, e.text);
	if (!machine_report_replay(&m, stderr))
		status = VM_END_ERROR; /* however it ended after that (gdb's kill, say): not the recorded run */
out:
	gdbstub_destroy(stub); /* tells an attached gdb how the VM ended */
	m.gdb = NULL;
	machine_destroy(&m);
out_ctl:
	control_close(&ctl);
	config_free(&cfg);
	close(sigfd);
	return status;
}
