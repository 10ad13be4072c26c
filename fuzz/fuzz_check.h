/* What every harness shares: the libFuzzer entry point's prototype and the invariant check, which
 * aborts so that libFuzzer, AFL++ and the reproducers all report the input as a crash. */
#ifndef DHYVE_FUZZ_FUZZ_CHECK_H
#define DHYVE_FUZZ_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test failed: say which, where, and crash. */
#define FUZZ_CHECK(cond, ...)                                                              \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                      \
			fputc('\n', stderr);                                               \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* The interrupt sink check of a single-line device: only its GSI, and only changes (a repeated
 * level means the device lost track of its line). *line holds the level last heard. */
static inline void fuzz_irq_change(bool *line, unsigned gsi, unsigned want_gsi, bool level)
{
	FUZZ_CHECK(gsi == want_gsi, "IRQ on gsi %u", gsi);
	FUZZ_CHECK(level != *line, "IRQ level %d reported twice", level);
	*line = level;
}

#endif
