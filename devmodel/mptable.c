/* MP table (Intel MPS 1.4, chapter 4): the floating pointer structure and a configuration table
 * with one processor entry per vCPU, a PCI and an ISA bus, the I/O APIC, an I/O interrupt entry
 * per ISA IRQ and per PCI slot and pin, and the local APICs' LINT0/LINT1 wiring. */
#include "devmodel/mptable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "devmodel/acpi.h"
#include "devmodel/pci.h"

#define FPS_LEN     16
#define HDR_LEN     44
#define PROC_LEN    20
#define SMALL_LEN   8  /* bus, I/O APIC, I/O and local interrupt entries */
#define BUS_PCI     0
#define BUS_ISA     1
#define NR_ISA_IRQS 16

enum { E_PROC, E_BUS, E_IOAPIC, E_IOINT, E_LINT };
enum { INT_INT = 0, INT_NMI = 1, INT_EXTINT = 3 };
/* I/O interrupt flags: polarity in bits 0-1, trigger in bits 2-3 (1 high/edge, 3 low/level). */
#define FLAGS_CONFORMING 0x0
#define FLAGS_PCI        0xf /* level, active low: the PCI convention */

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static uint8_t *ioint(uint8_t *p, uint8_t type, uint16_t flags, uint8_t bus, uint8_t irq, uint8_t apic, uint8_t pin)
{
	p[0] = E_IOINT;
	p[1] = type;
	put_le(p + 2, flags, 2);
	p[4] = bus;
	p[5] = irq;
	p[6] = apic;
	p[7] = pin;
	return p + SMALL_LEN;
}

int mptable_build(uint8_t *buf, size_t size, uint64_t gpa, unsigned ncpus, size_t *used, struct errmsg *e)
{
	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS)
		return errmsg_set(e, EINVAL, "MP table: %u vCPUs, it describes 1 to %d", ncpus, MPTABLE_MAX_CPUS);
	unsigned nisa = NR_ISA_IRQS - 1; /* IRQ 2 is the cascade: no entry */
	unsigned nentries = ncpus + 2 + 1 + nisa + PCI_SLOTS * 4 + 2;
	size_t table_len = HDR_LEN + ncpus * PROC_LEN + (nentries - ncpus) * SMALL_LEN;
	if (size < FPS_LEN + table_len)
		return errmsg_set(e, ENOSPC, "MP table: %zu bytes are not enough", size);
	memset(buf, 0, FPS_LEN + table_len);
	uint8_t ioapic_id = (uint8_t)ncpus; /* as in the MADT */

	uint8_t *t = buf + FPS_LEN, *p = t + HDR_LEN;
	for (unsigned i = 0; i < ncpus; i++, p += PROC_LEN) {
		p[0] = E_PROC;
		p[1] = (uint8_t)i;                 /* local APIC ID */
		p[2] = 0x14;                       /* local APIC version: integrated */
		p[3] = (uint8_t)(1 | (i == 0 ? 2 : 0)); /* enabled; vCPU 0 is the bootstrap processor */
		put_le(p + 4, 0x600, 4);           /* CPU signature: family 6 (informative) */
		put_le(p + 8, 0x201, 4);           /* features: FPU, APIC */
	}
	p[0] = E_BUS;
	p[1] = BUS_PCI;
	memcpy(p + 2, "PCI   ", 6);
	p += SMALL_LEN;
	p[0] = E_BUS;
	p[1] = BUS_ISA;
	memcpy(p + 2, "ISA   ", 6);
	p += SMALL_LEN;
	p[0] = E_IOAPIC;
	p[1] = ioapic_id;
	p[2] = 0x11;                               /* I/O APIC version */
	p[3] = 1;                                  /* enabled */
	put_le(p + 4, ACPI_IOAPIC_GPA, 4);
	p += SMALL_LEN;
	/* ISA IRQs on the same pins, but the PIT's IRQ 0 on pin 2 (KVM's routing). */
	for (unsigned irq = 0; irq < NR_ISA_IRQS; irq++)
		if (irq != 2)
			p = ioint(p, INT_INT, FLAGS_CONFORMING, BUS_ISA, (uint8_t)irq, ioapic_id, (uint8_t)(irq == 0 ? 2 : irq));
	/* PCI: source IRQ is slot << 2 | pin (0 = INTA); the pin is the one pci_intx_gsi() drives. */
	for (unsigned slot = 0; slot < PCI_SLOTS; slot++)
		for (unsigned pin = 0; pin < 4; pin++)
			p = ioint(p, INT_INT, FLAGS_PCI, BUS_PCI, (uint8_t)(slot << 2 | pin), ioapic_id,
				  (uint8_t)pci_intx_gsi(slot, pin + 1));
	/* Every local APIC: the 8259's output on LINT0 (virtual wire), NMI on LINT1. */
	p[0] = E_LINT;
	p[1] = INT_EXTINT;
	p[4] = BUS_ISA;
	p[6] = 0xff;
	p[7] = 0;
	p += SMALL_LEN;
	p[0] = E_LINT;
	p[1] = INT_NMI;
	p[4] = BUS_ISA;
	p[6] = 0xff;
	p[7] = 1;
	p += SMALL_LEN;

	memcpy(t, "PCMP", 4);
	put_le(t + 4, table_len, 2);
	t[6] = 4;                                  /* MPS 1.4 */
	memcpy(t + 8, "DHYVE   ", 8);
	memcpy(t + 16, "dhyve       ", 12);
	put_le(t + 34, nentries, 2);
	put_le(t + 36, ACPI_LAPIC_GPA, 4);
	t[7] = (uint8_t)(0 - sum(t, table_len));

	memcpy(buf, "_MP_", 4);
	put_le(buf + 4, gpa + FPS_LEN, 4);         /* the configuration table follows */
	buf[8] = 1;                                /* length in 16-byte units */
	buf[9] = 4;
	/* feature bytes 0: a configuration table is present, no IMCR (virtual wire mode). */
	buf[10] = (uint8_t)(0 - sum(buf, FPS_LEN));
	if (used)
		*used = FPS_LEN + table_len;
	return 0;
}

int mptable_install(const struct gmem *m, unsigned ncpus, struct errmsg *e)
{
	uint8_t *buf = malloc(MPTABLE_SIZE);
	if (!buf)
		return errmsg_set(e, ENOMEM, "MP table: out of memory");
	size_t used = 0;
	int r = mptable_build(buf, MPTABLE_SIZE, MPTABLE_GPA, ncpus, &used, e);
	if (r == 0 && gmem_write(m, MPTABLE_GPA, buf, used) < 0)
		r = errmsg_set(e, EFAULT, "MP table: guest RAM does not cover 0x%llx", MPTABLE_GPA);
	free(buf);
	return r;
}
