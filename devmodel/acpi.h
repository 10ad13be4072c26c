/* ACPI tables (-A) describing dhyve's machine: RSDP, RSDT/XSDT, FADT with FACS, MADT, MCFG and a
 * DSDT, built from the device models' own constants so tables and devices cannot disagree.
 * Pure: the builder writes into a buffer; acpi_install() puts that into guest memory. */
#ifndef DHYVE_DEVMODEL_ACPI_H
#define DHYVE_DEVMODEL_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "base/gmem.h"

/* The tables live in the first 64 KiB of the BIOS area [0xe0000, 0x100000), where an OS
 * scans for the RSDP; the RSDP is the first thing there. */
#define ACPI_AREA_GPA  0xe0000ull
#define ACPI_AREA_SIZE 0x10000ull
#define ACPI_RSDP_GPA  ACPI_AREA_GPA

/* What the in-kernel irqchip (KVM_CREATE_IRQCHIP) provides, at its fixed addresses. */
#define ACPI_LAPIC_GPA    0xfee00000u
#define ACPI_IOAPIC_GPA   0xfec00000u
#define ACPI_IOAPIC_PINS  24
#define ACPI_SCI_IRQ      9

#define ACPI_MAX_CPUS 255 /* MADT processor UIDs and APIC IDs are bytes */

struct acpi_config {
	unsigned ncpus;    /* one Local APIC each, APIC IDs 0..ncpus-1 */
	bool com[2];       /* COM1 / COM2 present: described in the DSDT */
};

/* Where each table ended up (guest-physical), for tests and for dumps. */
enum acpi_table { ACPI_RSDP, ACPI_RSDT, ACPI_XSDT, ACPI_FADT, ACPI_FACS, ACPI_DSDT, ACPI_MADT, ACPI_MCFG, ACPI_NTABLES };
struct acpi_layout {
	uint64_t gpa[ACPI_NTABLES];
	uint32_t len[ACPI_NTABLES];
	size_t used; /* bytes of the area used */
};

/* Builds every table into buf, which will sit at guest-physical gpa (pointers between tables are
 * gpa-relative); size is the room there. */
int acpi_build(uint8_t *buf, size_t size, uint64_t gpa, const struct acpi_config *c, struct acpi_layout *out,
	       struct errmsg *e);
/* The DSDT alone (header and AML), malloc'd into *dsdt. */
int acpi_build_dsdt(const struct acpi_config *c, uint8_t **dsdt, size_t *len, struct errmsg *e);
/* Builds at ACPI_AREA_GPA and writes the result into guest memory. */
int acpi_install(const struct gmem *m, const struct acpi_config *c, struct acpi_layout *out, struct errmsg *e);

/* Sum of bytes: a table is valid when this is 0 over its length. */
uint8_t acpi_checksum(const uint8_t *p, size_t len);

#endif
