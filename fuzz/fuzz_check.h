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

/* What an input did, folded into one number by the device harnesses at its end (state images, guest
 * RAM, back-end contents). Harnesses keep their machine between inputs and put it back to a clean
 * state for each; the reproducer's self-test (DHYVE_FUZZ_SELFTEST=1) runs every input twice, in two
 * orders, and compares the numbers, so anything a reset misses shows as an input whose outcome
 * depends on the one before it. Weak: one definition per executable, whichever files include this. */
__attribute__((weak)) uint64_t fuzz_outcome;
/* Set by the self-test only: hashing RAM at the end of every input costs more than an input. */
__attribute__((weak)) bool fuzz_outcome_wanted;
/* Set by the self-test's first pass: harnesses build their machine afresh for every input, as
 * they all did before they kept one, so the second pass compares a kept machine with a new one. */
__attribute__((weak)) bool fuzz_fresh_machines;

static inline void fuzz_outcome_add(const void *p, size_t n)
{
	if (!fuzz_outcome_wanted)
		return;
	const uint8_t *b = p;
	uint64_t h = fuzz_outcome ? fuzz_outcome : 0xcbf29ce484222325ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	fuzz_outcome = h;
}

static inline void fuzz_outcome_u64(uint64_t v)
{
	fuzz_outcome_add(&v, sizeof(v));
}

/* The interrupt sink check of a single-line device: only its GSI, and only changes (a repeated
 * level means the device lost track of its line). *line holds the level last heard. */
static inline void fuzz_irq_change(bool *line, unsigned gsi, unsigned want_gsi, bool level)
{
	FUZZ_CHECK(gsi == want_gsi, "IRQ on gsi %u", gsi);
	FUZZ_CHECK(level != *line, "IRQ level %d reported twice", level);
	*line = level;
}

#endif
