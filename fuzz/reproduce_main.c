/* main() for the plain reproducers (fuzz_<target>_repro, any C compiler, no libFuzzer): runs every
 * file named on the command line, or found under a named directory, through LLVMFuzzerTestOneInput.
 * With DHYVE_FUZZ_SELFTEST=1 it runs each on a machine built for it alone, then all again in
 * reverse order on the machine the harness keeps between inputs, and checks that each input's
 * outcome (fuzz_outcome) is the same both times: a harness's reset between inputs is complete. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/fuzz_check.h"

/* The self-test's record of the first pass: each input's path and outcome. */
static struct {
	bool on, pass2;
	char **paths;
	uint64_t *outcomes;
	size_t n, cap;
} selftest;

static void remember(const char *path, uint64_t outcome)
{
	if (selftest.n == selftest.cap) {
		size_t cap = selftest.cap ? 2 * selftest.cap : 64;
		char **np = realloc(selftest.paths, cap * sizeof(*np));
		if (np)
			selftest.paths = np;
		uint64_t *no = realloc(selftest.outcomes, cap * sizeof(*no));
		if (no)
			selftest.outcomes = no;
		if (!np || !no)
			return;
		selftest.cap = cap;
	}
	selftest.paths[selftest.n] = strdup(path);
	selftest.outcomes[selftest.n++] = outcome;
}

static int run_file(const char *path, unsigned *count)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t cap = 4096, len = 0;
	uint8_t *buf = malloc(cap);
	while (buf) {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int err = ferror(f);
	fclose(f);
	if (!buf || err) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		return -1;
	}
	/* Say which input runs before it runs: a crash then names its input (in either pass). */
	fprintf(stderr, "running %s (%zu bytes)\n", path, len);
	/* An exact-size copy, so ASan sees an overread of even one byte past the input. */
	uint8_t *exact = malloc(len ? len : 1);
	if (exact) {
		memcpy(exact, buf, len);
		fuzz_outcome = 0;
		LLVMFuzzerTestOneInput(exact, len);
		(*count)++;
		if (selftest.on && !selftest.pass2)
			remember(path, fuzz_outcome);
	}
	free(exact);
	free(buf);
	return exact ? 0 : -1;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Directories are walked in name order, so a run is the same run everywhere. */
static int run_path(const char *path, unsigned *count)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path, count);
	struct dirent **names;
	int n = scandir(path, &names, NULL, NULL);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	char **paths = calloc((size_t)n + 1, sizeof(*paths));
	int np = 0, rc = 0;
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		if (paths && name[0] != '.' && asprintf(&paths[np], "%s/%s", path, name) >= 0)
			np++;
		free(names[i]);
	}
	free(names);
	if (!paths)
		return -1;
	qsort(paths, (size_t)np, sizeof(*paths), compare_names);
	for (int i = 0; i < np; i++) {
		if (run_path(paths[i], count) < 0)
			rc = -1;
		free(paths[i]);
	}
	free(paths);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n"
			"runs each input (dot files skipped) through the harness once; a crash is a finding\n", argv[0]);
		return 2;
	}
	unsigned count = 0;
	int rc = 0;
	const char *st = getenv("DHYVE_FUZZ_SELFTEST");
	selftest.on = st && *st && strcmp(st, "0") != 0;
	fuzz_outcome_wanted = fuzz_fresh_machines = selftest.on;
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i], &count) < 0)
			rc = 1;
	fprintf(stderr, "%s: %u inputs ran without a crash\n", argv[0], count);
	if (selftest.on) {
		/* Reverse order: every input now follows a different one (and the last runs twice in a row). */
		selftest.pass2 = true;
		fuzz_fresh_machines = false;
		unsigned again = 0, differ = 0;
		for (size_t i = selftest.n; i-- > 0;) {
			uint64_t first = selftest.outcomes[i];
			if (!selftest.paths[i] || run_file(selftest.paths[i], &again) < 0)
				continue;
			if (fuzz_outcome != first) {
				fprintf(stderr, "%s: outcome %016llx, %016llx the first time\n", selftest.paths[i],
					(unsigned long long)fuzz_outcome, (unsigned long long)first);
				differ++;
			}
			free(selftest.paths[i]);
		}
		fprintf(stderr, "%s: self-test: %u inputs ran again in reverse order, %u with another outcome\n",
			argv[0], again, differ);
		if (differ || again != selftest.n)
			rc = 1;
		free(selftest.paths);
		free(selftest.outcomes);
	}
	return rc;
}
