/* Fuzz target cmdline: the input, split on NUL bytes, is dhyve's argv; options_parse_argv turns it
 * into configuration variables and options_from_config checks them, as dhyve's main() does. */
#include <stdbool.h>
#include <string.h>

#include "cli/config.h"
#include "cli/options.h"
#include "fuzz/fuzz_check.h"

#define MAX_ARGS 256

/* -k FILE would read any file the input names (or block on a fifo): the config_file target
 * covers that reader. This follows getopt over the optstring of options.c, erring towards "yes". */
static bool names_a_file(char **argv, int argc)
{
	static const char with_arg[] = "cGklmos";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return false;
		if (a[0] != '-' || !a[1])
			continue; /* an operand: GNU getopt keeps scanning past it */
		for (size_t j = 1; a[j]; j++) {
			if (a[j] == 'k')
				return true;
			if (strchr(with_arg, a[j])) {
				if (!a[j + 1])
					i++; /* the argument is the next word, whatever it looks like */
				break;
			}
		}
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private, NUL-terminated copy: getopt permutes argv, and the words point into it. */
	char *buf = malloc(size + 1);
	char **argv = malloc((MAX_ARGS + 2) * sizeof(*argv));
	if (!buf || !argv) {
		free(buf);
		free(argv);
		return 0;
	}
	memcpy(buf, data, size);
	buf[size] = '\0';
	int argc = 0;
	argv[argc++] = "dhyve";
	for (size_t i = 0; i < size && argc <= MAX_ARGS;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;

	if (!names_a_file(argv, argc)) {
		struct config c;
		struct errmsg e = { .text = "" };
		config_init(&c);
		int rc = options_parse_argv(argc, argv, &c, &e);
		FUZZ_CHECK(rc <= 1, "options_parse_argv returned %d", rc);
		if (rc < 0)
			FUZZ_CHECK(e.text[0] && memchr(e.text, 0, sizeof(e.text)), "refusal without a message");
		if (rc == 0) {
			FUZZ_CHECK(config_get(&c, "name") != NULL, "no name after a successful parse");
			struct dhyve_options o;
			e.text[0] = '\0';
			if (options_from_config(&c, &o, &e) == 0) {
				FUZZ_CHECK(o.name[0] && o.kernel && o.ncpus >= 1 && o.ncpus == o.sockets * o.cores * o.threads,
					   "options accepted without a name, kernel or topology");
				FUZZ_CHECK(o.gdb_port <= 65535 && o.debugexit_port <= 0xffff, "ports %d/%d", o.gdb_port, o.debugexit_port);
				for (unsigned i = 0; i < o.nslots; i++)
					FUZZ_CHECK(o.slots[i].slot <= 31 && o.slots[i].func <= 7, "slot %u:%u", o.slots[i].slot, o.slots[i].func);
			} else {
				FUZZ_CHECK(e.text[0], "options refused without a message");
			}
		}
		config_free(&c);
	}
	free(buf);
	free(argv);
	return 0;
}
