/* Fuzz target empty: does nothing, built like every other harness, so that bench/fuzz_rate.sh can
 * show how much of a harness's rate is the engine's own cost. */
#include "fuzz/fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
