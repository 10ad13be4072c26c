/* dhyvectl(8): talk to a running dhyve over its control socket (--get-all, --get-stats,
 * --destroy), as bhyvectl does for bhyve. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/control.h"
#include "vmm/vm.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: dhyvectl --vm=NAME [--get-all] [--get-stats] [--destroy]\n"
		     "       --vm=NAME     the VM to talk to (as given to dhyve)\n"
		     "       --get-all     registers of every vCPU\n"
		     "       --get-stats   exit counts and handling times per vCPU\n"
		     "       --destroy     end the VM\n");
}

int main(int argc, char **argv)
{
	enum { OPT_VM = 1, OPT_GET_ALL, OPT_GET_STATS, OPT_DESTROY, OPT_HELP };
	static const struct option longopts[] = {
		{ "vm", required_argument, NULL, OPT_VM },
		{ "get-all", no_argument, NULL, OPT_GET_ALL },
		{ "get-stats", no_argument, NULL, OPT_GET_STATS },
		{ "destroy", no_argument, NULL, OPT_DESTROY },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *vm = NULL;
	const char *requests[4];
	unsigned nreq = 0;
	int ch;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_VM: vm = optarg; break;
		case OPT_GET_ALL: requests[nreq++] = "get-all"; break;
		case OPT_GET_STATS: requests[nreq++] = "get-stats"; break;
		case OPT_DESTROY: requests[nreq++] = "destroy"; break;
		case OPT_HELP:
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "dhyvectl: %s: unknown option\n", argv[optind - 1]);
			usage(stderr);
			return 1;
		}
		if (nreq == 4) {
			fprintf(stderr, "dhyvectl: too many requests\n");
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dhyvectl: '%s': unexpected argument\n", argv[optind]);
		return 1;
	}
	if (!vm || !vm[0] || strlen(vm) > VM_NAME_MAX || strchr(vm, '/')) {
		fprintf(stderr, "dhyvectl: --vm=NAME is required (a name of 1 to %d characters, no '/')\n", VM_NAME_MAX);
		return 1;
	}
	if (nreq == 0) {
		fprintf(stderr, "dhyvectl: nothing to do: give --get-all, --get-stats or --destroy\n");
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
