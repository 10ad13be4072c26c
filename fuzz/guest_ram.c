/* Guest RAM for harnesses through mmap, not malloc: ASan serves large blocks by mapping and
 * poisoning them anew each time, which made a 640 KiB guest cost over 100 us per input. */
#include "fuzz/guest_ram.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_round(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return (size + page - 1) / page * page;
}

void *guest_ram_alloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len = page_round(size);
	uint8_t *p = mmap(NULL, len + 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Only the inside becomes accessible: the first and last page stay PROT_NONE guards. */
	if (mprotect(p + page, len, PROT_READ | PROT_WRITE) != 0) {
		munmap(p, len + 2 * page);
		return NULL;
	}
	return p + page;
}

void guest_ram_free(void *ram, size_t size)
{
	if (!ram)
		return;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	munmap((uint8_t *)ram - page, page_round(size) + 2 * page);
}
