/* Fuzz target snapfile: the input is a snapshot file (docs/snapshot-format.md) for snapfile_open,
 * then every section through snapfile_payload, the vCPU and irqchip image decoders, and the RAM
 * sections into a 64 KiB guest. A file is untrusted input: nothing may crash, and what is
 * accepted must keep the format's promises. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz/fuzz_check.h"
#include "base/bytes.h"
#include "base/crc32.h"
#include "replay/snapfile.h"
#include "vmm/vcpu_state.h"

/* Flag bit 0: write the right CRCs where the file's own sizes put them, so that the fuzzer gets
 * past the checksums to the checks behind them (it cannot guess a CRC). */
static void fix_crcs(uint8_t *f, size_t len)
{
	if (len < SNAPFILE_HEADER_SIZE)
		return;
	size_t off = SNAPFILE_HEADER_SIZE;
	while (len - off >= SNAPFILE_SECTION_HEADER) {
		uint64_t stored = get_le(f + off + 40, 8);
		if (stored > len - off - SNAPFILE_SECTION_HEADER)
			break;
		put_le(f + off + 56, crc32_update(0, f + off + SNAPFILE_SECTION_HEADER, (size_t)stored), 4);
		put_le(f + off + 60, crc32_update(0, f + off, 60), 4);
		off += SNAPFILE_SECTION_HEADER + (size_t)stored;
	}
	put_le(f + 76, crc32_update(0, f, 76), 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t *file = malloc(size);
	if (!file)
		return 0;
	memcpy(file, data + 1, size - 1);
	if (data[0] & 1)
		fix_crcs(file, size - 1);
	int fd = memfd_create("snapfile", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0, "memfd_create");
	FUZZ_CHECK(write(fd, file, size - 1) == (ssize_t)(size - 1), "write");
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct snapfile f;
	struct errmsg e = { "" };
	if (snapfile_open(&f, path, NULL, &e) == 0) {
		FUZZ_CHECK(f.nsec >= 1 && f.sec[f.nsec - 1].type == SNAP_SEC_END, "no end marker");
		for (unsigned i = 0; i < f.nsec; i++) {
			const struct snap_section *s = &f.sec[i];
			FUZZ_CHECK(s->offset + s->stored <= f.size && s->name[SNAPFILE_NAME_MAX] == 0, "section %u", i);
			uint8_t *p;
			size_t len;
			if (snapfile_payload(&f, s, &p, &len, &e) < 0)
				continue;
			FUZZ_CHECK(len == s->raw && p[len] == 0, "payload of section %u", i);
			static struct vcpu_state vs;
			struct vm_chip_state cs;
			if (vcpu_state_decode(&vs, p, len, &e) == 0)
				FUZZ_CHECK(vs.nmsrs <= VCPU_STATE_MAX_MSRS, "MSR count");
			vm_chip_state_decode(&cs, p, len, &e);
			free(p);
		}
		static uint8_t ram[64 << 10];
		struct gmem mem;
		gmem_init_flat(&mem, ram, sizeof(ram));
		snapfile_load_ram(&f, &mem, &e);
		snapfile_close(&f);
	} else {
		FUZZ_CHECK(e.text[0] != 0, "a refusal without a message");
	}
	close(fd);
	free(file);
	return 0;
}
