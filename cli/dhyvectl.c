/* dhyvectl(8): talk to a running dhyve over its control socket (--get-all, --get-stats,
 * --destroy), as bhyvectl does for bhyve. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/control.h"
#include "replay/rlog_dump.h"
#include "vmm/vm.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: dhyvectl --vm=NAME [--get-all] [--get-stats [--json]] [--trace-dump=FILE]\n"
		     "                [--disas [--vcpu=N] [--addr=A] [--count=N]] [--destroy]\n"
		     "       dhyvectl --log-dump=FILE\n"
		     "       --vm=NAME          the VM to talk to (as given to dhyve)\n"
		     "       --get-all          registers of every vCPU\n"
		     "       --get-stats        exit counts and handling-time percentiles per vCPU, and KVM's own counters\n"
		     "       --json             --get-stats as JSON\n"
		     "       --trace-dump=FILE  write the exit rings to FILE (the VM needs -o trace.entries=N)\n"
		     "       --disas            decode instructions of a vCPU (default: vCPU 0, 10 from its RIP)\n"
		     "       --destroy          end the VM\n"
		     "       --log-dump=FILE    print a replay log (DIR/log.rlog of -o record=DIR) readably; needs no VM\n");
}

/* The dump is written by the dhyve process, whose working directory is not ours. */
static int absolute_path(const char *path, char *out, size_t len)
{
	if (path[0] == '/')
		return snprintf(out, len, "%s", path) < (int)len ? 0 : -1;
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	return snprintf(out, len, "%s/%s", cwd, path) < (int)len ? 0 : -1;
}

int main(int argc, char **argv)
{
	enum { OPT_VM = 1, OPT_GET_ALL, OPT_GET_STATS, OPT_JSON, OPT_TRACE_DUMP, OPT_DISAS, OPT_VCPU, OPT_ADDR,
	       OPT_COUNT, OPT_DESTROY, OPT_LOG_DUMP, OPT_HELP };
	static const struct option longopts[] = {
		{ "vm", required_argument, NULL, OPT_VM },
		{ "get-all", no_argument, NULL, OPT_GET_ALL },
		{ "get-stats", no_argument, NULL, OPT_GET_STATS },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "trace-dump", required_argument, NULL, OPT_TRACE_DUMP },
		{ "disas", no_argument, NULL, OPT_DISAS },
		{ "vcpu", required_argument, NULL, OPT_VCPU },
		{ "addr", required_argument, NULL, OPT_ADDR },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "destroy", no_argument, NULL, OPT_DESTROY },
		{ "log-dump", required_argument, NULL, OPT_LOG_DUMP },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *vm = NULL, *vcpu = "0", *addr = "rip", *count = "10", *log_dump = NULL;
	char dump[CONTROL_REQUEST_MAX + 16], disas[CONTROL_REQUEST_MAX], path[CONTROL_REQUEST_MAX];
	const char *requests[5];
	unsigned nreq = 0;
	bool json = false, want_all = false, want_stats = false, want_dump = false, want_disas = false,
	     want_destroy = false;
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_VM: vm = optarg; break;
		case OPT_GET_ALL: want_all = true; break;
		case OPT_GET_STATS: want_stats = true; break;
		case OPT_JSON: json = true; break;
		case OPT_TRACE_DUMP:
			if (!optarg[0] || absolute_path(optarg, path, sizeof(path) - 12) < 0) {
				fprintf(stderr, "dhyvectl: --trace-dump=%s: path empty or too long\n", optarg);
				return 1;
			}
			snprintf(dump, sizeof(dump), "trace-dump %s", path);
			want_dump = true;
			break;
		case OPT_DISAS: want_disas = true; break;
		case OPT_VCPU: vcpu = optarg; break;
		case OPT_ADDR: addr = optarg; break;
		case OPT_COUNT: count = optarg; break;
		case OPT_DESTROY: want_destroy = true; break;
		case OPT_LOG_DUMP: log_dump = optarg; break;
		case OPT_HELP:
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "dhyvectl: %s: unknown option\n", argv[optind - 1]);
			usage(stderr);
			return 1;
		}
	}
	if (log_dump) { /* offline: a file, not a VM */
		struct errmsg e = { "" };
		if (rlog_dump(stdout, log_dump, &e) < 0) {
			fprintf(stderr, "dhyvectl: --log-dump: %s\n", e.text);
			return 1;
		}
		return 0;
	}
	/* A fixed order, so that --destroy always comes last. */
	if (want_all)
		requests[nreq++] = "get-all";
	if (want_stats)
		requests[nreq++] = json ? "get-stats json" : "get-stats";
	if (want_dump)
		requests[nreq++] = dump;
	if (want_disas) {
		if (snprintf(disas, sizeof(disas), "disas %s %s %s", vcpu, addr, count) >= (int)sizeof(disas)) {
			fprintf(stderr, "dhyvectl: --disas arguments too long\n");
			return 1;
		}
		requests[nreq++] = disas;
	}
	if (want_destroy)
		requests[nreq++] = "destroy";
	if (optind < argc) {
		fprintf(stderr, "dhyvectl: '%s': unexpected argument\n", argv[optind]);
		return 1;
	}
	if (!vm || !vm[0] || strlen(vm) > VM_NAME_MAX || strchr(vm, '/')) {
		fprintf(stderr, "dhyvectl: --vm=NAME is required (a name of 1 to %d characters, no '/')\n", VM_NAME_MAX);
		return 1;
	}
	if (nreq == 0) {
		fprintf(stderr, "dhyvectl: nothing to do: give --get-all, --get-stats, --trace-dump, --disas or --destroy\n");
		return 1;
	}
	for (unsigned i = 0; i < nreq; i++) {
		struct errmsg e = { "" };
		int rc = control_request(vm, requests[i], stdout, &e);
		if (rc < 0) {
			fprintf(stderr, "dhyvectl: %s\n", e.text);
			return 1;
		}
		if (rc > 0)
			return 1;
	}
	return 0;
}
