/* A tiny AML encoder: just the opcodes and resource descriptors dhyve's DSDT needs, written
 * into a growable buffer. Package lengths are fixed up when a scope closes. */
#ifndef DHYVE_DEVMODEL_ACPI_AML_H
#define DHYVE_DEVMODEL_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool failed; /* out of memory or a malformed name: every later call does nothing */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/* "\\_SB.PCI0", "_HID", "COM1": 1-4 characters a segment (padded with '_'). */
void aml_name_string(struct aml *a, const char *path);
/* The smallest integer encoding (ZeroOp, OneOp, Byte/Word/DWord/QWord prefix). */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0A08") as the DWord ACPI compresses it to. */
void aml_eisaid(struct aml *a, const char *id);

/* Opens a length-prefixed term (Scope, Device, Package, Buffer, Method); returns the mark that
 * aml_end() needs. */
size_t aml_scope(struct aml *a, const char *name);
size_t aml_device(struct aml *a, const char *name);
size_t aml_package(struct aml *a, uint8_t nelem);
size_t aml_buffer(struct aml *a);        /* its size is computed by aml_end */
size_t aml_method(struct aml *a, const char *name, uint8_t nargs);
void aml_end(struct aml *a, size_t mark);
/* Name(name, ...): the object follows. */
void aml_name(struct aml *a, const char *name);
void aml_return(struct aml *a); /* the value follows */

/* Resource descriptors, for a buffer opened with aml_buffer(); close with aml_res_end(). */
void aml_res_bus_range(struct aml *a, uint16_t min, uint16_t max);
void aml_res_io_window(struct aml *a, uint16_t min, uint16_t max);   /* WordIO, producer */
void aml_res_mem_window(struct aml *a, uint32_t min, uint32_t max);  /* DWordMemory, producer */
void aml_res_io(struct aml *a, uint16_t base, uint8_t align, uint8_t len); /* IO(Decode16) */
void aml_res_irq(struct aml *a, unsigned irq);                       /* IRQNoFlags */
void aml_res_end(struct aml *a);

#endif
