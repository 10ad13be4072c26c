/* Fuzz target config_file: the input is a -k configuration file, read by config_load_file through a
 * memfd (it takes a path), then checked as dhyve checks it: options_from_config and the typed readers. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/config.h"
#include "cli/options.h"
#include "fuzz/fuzz_check.h"

/* A variable name as config_set_assignment allows it. */
static bool name_ok(const char *s)
{
	if (!*s || strlen(s) >= 256)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || strchr("._-", *s)))
			return false;
	return true;
}

static void check_config(const struct config *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		const struct config_var *v = &c->vars[i];
		FUZZ_CHECK(name_ok(v->name), "variable name '%s'", v->name);
		FUZZ_CHECK(config_get(c, v->name) == v->value, "'%s' is stored twice", v->name);
		/* The typed readers on every value: they may refuse, never misbehave. */
		struct errmsg e;
		bool b;
		uint64_t u;
		int rb = config_get_bool(c, v->name, false, &b, &e);
		int ru = config_get_uint(c, v->name, 0, UINT64_MAX, &u, &e);
		FUZZ_CHECK(rb <= 0 && ru <= 0, "typed readers returned %d/%d", rb, ru);
		if (parse_size(v->value, 1 << 20, &u) == 0)
			FUZZ_CHECK(v->value[0] >= '0' && v->value[0] <= '9', "size '%s' accepted", v->value);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	size_t done = 0;
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (done == size) {
		struct config c;
		struct errmsg e = { .text = "" };
		config_init(&c);
		int rc = config_load_file(&c, path, &e);
		if (rc < 0) {
			/* Every refusal names the file. */
			FUZZ_CHECK(strncmp(e.text, path, strlen(path)) == 0, "message '%s'", e.text);
		}
		check_config(&c);
		struct dhyve_options o;
		if (options_from_config(&c, &o, &e) == 0) {
			FUZZ_CHECK(o.name[0] && o.kernel && o.ncpus >= 1 && o.ncpus == o.sockets * o.cores * o.threads,
				   "options accepted without a name, kernel or topology");
			FUZZ_CHECK(o.mem_bytes >= (2u << 20) && !(o.mem_bytes & 0xfff), "memory %llu", (unsigned long long)o.mem_bytes);
			FUZZ_CHECK(o.nslots <= OPT_MAX_SLOTS, "%u slots", o.nslots);
		}
		config_free(&c);
	}
	close(fd);
	return 0;
}
