/* The Intel MultiProcessor Specification 1.4 table: CPUs, the I/O APIC and every interrupt's
 * pin, for kernels that find them without ACPI (Linux with acpi=off, or ACPI not built in).
 * Written for Linux bzImages (cli/machine.c says why not for every kernel, as bhyve does); from
 * the same device-model constants as the ACPI tables. */
#ifndef DHYVE_DEVMODEL_MPTABLE_H
#define DHYVE_DEVMODEL_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "base/gmem.h"

/* In the BIOS area's upper half, which OSes scan for the floating pointer; the ACPI tables
 * use the lower half (devmodel/acpi.h). */
#define MPTABLE_GPA  0xf0000ull
#define MPTABLE_SIZE 0x10000ull
#define MPTABLE_MAX_CPUS 254 /* APIC IDs are bytes, and the I/O APIC takes the next one */

/* Builds the floating pointer at buf[0] (guest-physical gpa) and the configuration table after
 * it; *used is the bytes written. */
int mptable_build(uint8_t *buf, size_t size, uint64_t gpa, unsigned ncpus, size_t *used, struct errmsg *e);
int mptable_install(const struct gmem *m, unsigned ncpus, struct errmsg *e);

#endif
