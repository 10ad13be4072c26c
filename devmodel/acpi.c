/* ACPI tables (ACPI 6.4 chapter 5): RSDP, RSDT, XSDT, FADT, FACS, MADT, MCFG and the DSDT from
 * acpi_dsdt.c, laid out one after the other in the BIOS area with checksums. */
#include "devmodel/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "devmodel/pci.h"
#include "devmodel/power.h"
#include "devmodel/rtc.h"

#define HDR_LEN   36
#define RSDP_LEN  36
#define FADT_LEN  276 /* revision 6 */
#define FACS_LEN  64
#define MCFG_LEN  (HDR_LEN + 8 + 16)

#define OEM_ID       "DHYVE "
#define OEM_TABLE_ID_PREFIX "DHYVE"
#define CREATOR_ID   "DHYV"

/* FADT flags (ACPI 6.4, table 5.10). */
#define FADT_WBINVD        (1u << 0)
#define FADT_PROC_C1       (1u << 2)
#define FADT_PWR_BUTTON    (1u << 4) /* no fixed-feature power button */
#define FADT_SLP_BUTTON    (1u << 5) /* no sleep button */
#define FADT_FIX_RTC       (1u << 6) /* no RTC wake status in PM1 */
#define FADT_RESET_REG_SUP (1u << 10)
/* IA-PC boot architecture flags: legacy devices (COM, RTC) are there; no 8042, so Linux does
 * not spend emulated time probing a keyboard controller; no VGA. */
#define BOOT_LEGACY_DEVICES 0x0001
#define BOOT_VGA_NOT_PRESENT 0x0004

/* The 0xcf9 value that resets: CPU reset plus hard reset, as devmodel/power.c needs. */
#define RESET_VALUE 0x06

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;
	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put_le(t + 4, len, 4);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID_PREFIX, 5);
	memcpy(t + 21, sig, 3);              /* "DHYVEFAC", "DHYVEAPI": one table ID per table */
	put_le(t + 24, 1, 4);                /* OEM revision */
	memcpy(t + 28, CREATOR_ID, 4);
	put_le(t + 32, 1, 4);                /* creator revision */
}

static void finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = (uint8_t)(0 - acpi_checksum(t, len));
}

/* A Generic Address Structure for a system I/O port block. */
static void gas_io(uint8_t *p, uint64_t port, uint8_t bits, uint8_t access)
{
	p[0] = 1;        /* system I/O space */
	p[1] = bits;
	p[2] = 0;        /* bit offset */
	p[3] = access;   /* 1 byte, 2 word, 3 dword */
	put_le(p + 4, port, 8);
}

static void build_fadt(uint8_t *t, uint64_t facs, uint64_t dsdt)
{
	header(t, "FACP", FADT_LEN, 6);
	put_le(t + 36, facs, 4);              /* FIRMWARE_CTRL */
	put_le(t + 40, dsdt, 4);              /* DSDT */
	t[45] = 0;                            /* preferred PM profile: unspecified */
	put_le(t + 46, ACPI_SCI_IRQ, 2);
	/* SMI_CMD 0: no SMM, the platform is always in ACPI mode (power.c reads SCI_EN as 1). */
	put_le(t + 56, PM1A_EVT_PORT, 4);
	put_le(t + 64, PM1A_CNT_PORT, 4);
	t[88] = 4;                            /* PM1_EVT_LEN */
	t[89] = 2;                            /* PM1_CNT_LEN */
	put_le(t + 96, 101, 2);               /* P_LVL2_LAT > 100: no C2 */
	put_le(t + 98, 1001, 2);              /* P_LVL3_LAT > 1000: no C3 */
	t[108] = RTC_REG_CENTURY;              /* the CMOS index rtc.c keeps the century at */
	put_le(t + 109, BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT, 2);
	put_le(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON | FADT_FIX_RTC |
			FADT_RESET_REG_SUP, 4); /* HW_REDUCED_ACPI (bit 20) off: PM1 registers exist */
	gas_io(t + 116, RESET_CTL_PORT, 8, 1);
	t[128] = RESET_VALUE;
	t[131] = 0;                           /* FADT minor version: 6.0 */
	put_le(t + 140, dsdt, 8);             /* X_DSDT */
	gas_io(t + 148, PM1A_EVT_PORT, 32, 2);
	gas_io(t + 172, PM1A_CNT_PORT, 16, 2);
	memcpy(t + 268, "DHYVE\0\0\0", 8);    /* hypervisor vendor identity */
	finish(t, FADT_LEN);
}

static void build_facs(uint8_t *t)
{
	memcpy(t, "FACS", 4);
	put_le(t + 4, FACS_LEN, 4);
	t[32] = 2;                            /* version; no checksum in the FACS */
}

static uint32_t madt_len(unsigned ncpus)
{
	return HDR_LEN + 8 + 8 * ncpus + 12 + 2 * 10 + 6;
}

static void build_madt(uint8_t *t, unsigned ncpus)
{
	uint32_t len = madt_len(ncpus);
	header(t, "APIC", len, 4);
	put_le(t + 36, ACPI_LAPIC_GPA, 4);
	put_le(t + 40, 1, 4);                 /* PCAT_COMPAT: the 8259 pair is there too */
	uint8_t *p = t + 44;
	for (unsigned i = 0; i < ncpus; i++, p += 8) {
		p[0] = 0;                         /* Processor Local APIC */
		p[1] = 8;
		p[2] = (uint8_t)i;                /* ACPI processor UID */
		p[3] = (uint8_t)i;                /* APIC ID: KVM gives vCPU i APIC ID i */
		put_le(p + 4, 1, 4);              /* enabled */
	}
	p[0] = 1;                             /* I/O APIC */
	p[1] = 12;
	p[2] = (uint8_t)ncpus;                /* its ID: the first one after the CPUs' */
	put_le(p + 4, ACPI_IOAPIC_GPA, 4);
	put_le(p + 8, 0, 4);                  /* GSI base */
	p += 12;
	/* ISA IRQ 0 (the PIT) is wired to pin 2 by KVM's default routing. */
	p[0] = 2;
	p[1] = 10;
	p[2] = 0;                             /* ISA bus */
	p[3] = 0;
	put_le(p + 4, 2, 4);
	put_le(p + 8, 0, 2);                  /* conforming polarity and trigger */
	p += 10;
	/* The SCI: level triggered, active high, as ACPI wants it on an I/O APIC. */
	p[0] = 2;
	p[1] = 10;
	p[2] = 0;
	p[3] = ACPI_SCI_IRQ;
	put_le(p + 4, ACPI_SCI_IRQ, 4);
	put_le(p + 8, 0x0d, 2);               /* polarity 01 high, trigger 11 level */
	p += 10;
	/* NMI on every CPU's LINT1, as on a PC. */
	p[0] = 4;
	p[1] = 6;
	p[2] = 0xff;                          /* all processors */
	put_le(p + 3, 0x0005, 2);             /* active high, edge */
	p[5] = 1;                             /* LINT1 */
	finish(t, len);
}

static void build_mcfg(uint8_t *t)
{
	header(t, "MCFG", MCFG_LEN, 1);
	uint8_t *p = t + HDR_LEN + 8;
	put_le(p, PCI_ECAM_BASE, 8);
	put_le(p + 8, 0, 2);                  /* segment group */
	p[10] = 0;                            /* first bus */
	p[11] = (uint8_t)((PCI_ECAM_SIZE >> 20) - 1); /* 1 MiB per bus */
	finish(t, MCFG_LEN);
}

static void build_sdt(uint8_t *t, const char *sig, const uint64_t *ptr, unsigned n, unsigned width)
{
	uint32_t len = HDR_LEN + n * width;
	header(t, sig, len, 1);
	for (unsigned i = 0; i < n; i++)
		put_le(t + HDR_LEN + i * width, ptr[i], width);
	finish(t, len);
}

static void build_rsdp(uint8_t *t, uint64_t rsdt, uint64_t xsdt)
{
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, OEM_ID, 6);
	t[15] = 2;                            /* ACPI 2.0+: XSDT and the 36-byte form */
	put_le(t + 16, rsdt, 4);
	put_le(t + 20, RSDP_LEN, 4);
	put_le(t + 24, xsdt, 8);
	t[8] = (uint8_t)(0 - acpi_checksum(t, 20));
	t[32] = (uint8_t)(0 - acpi_checksum(t, RSDP_LEN));
}

/* Hands out aligned room in the area. */
struct area {
	uint8_t *buf;
	size_t size, used;
	uint64_t gpa;
};

static uint8_t *take(struct area *a, size_t len, size_t align, uint64_t *gpa)
{
	size_t at = (a->used + align - 1) & ~(align - 1);
	if (at > a->size || len > a->size - at)
		return NULL;
	a->used = at + len;
	*gpa = a->gpa + at;
	return a->buf + at;
}

int acpi_build(uint8_t *buf, size_t size, uint64_t gpa, const struct acpi_config *c, struct acpi_layout *out,
	       struct errmsg *e)
{
	if (c->ncpus == 0 || c->ncpus > ACPI_MAX_CPUS)
		return errmsg_set(e, EINVAL, "ACPI: %u vCPUs, the MADT describes 1 to %d", c->ncpus, ACPI_MAX_CPUS);
	if (gpa + size > (1ull << 32))
		return errmsg_set(e, EINVAL, "ACPI: the tables must lie below 4 GiB (the RSDT holds 32-bit pointers)");
	uint8_t *dsdt = NULL;
	size_t dsdt_len = 0;
	int r = acpi_build_dsdt(c, &dsdt, &dsdt_len, e);
	if (r < 0)
		return r;

	struct acpi_layout l;
	memset(&l, 0, sizeof(l));
	memset(buf, 0, size);
	struct area a = { buf, size, 0, gpa };
	uint8_t *t[ACPI_NTABLES];
	const size_t len[ACPI_NTABLES] = {
		[ACPI_RSDP] = RSDP_LEN, [ACPI_RSDT] = HDR_LEN + 4 * 4, [ACPI_XSDT] = HDR_LEN + 8 * 4,
		[ACPI_FADT] = FADT_LEN, [ACPI_FACS] = FACS_LEN, [ACPI_DSDT] = dsdt_len,
		[ACPI_MADT] = madt_len(c->ncpus), [ACPI_MCFG] = MCFG_LEN,
	};
	for (unsigned i = 0; i < ACPI_NTABLES; i++) {
		/* The RSDP on 16 bytes, as the scan needs; the FACS on 64, as the spec asks. */
		t[i] = take(&a, len[i], i == ACPI_FACS ? 64 : 16, &l.gpa[i]);
		if (!t[i]) {
			free(dsdt);
			return errmsg_set(e, ENOSPC, "ACPI: %zu bytes are not enough for the tables", size);
		}
		l.len[i] = (uint32_t)len[i];
	}
	memcpy(t[ACPI_DSDT], dsdt, dsdt_len);
	free(dsdt);
	header(t[ACPI_DSDT], "DSDT", (uint32_t)dsdt_len, 2); /* revision 2: 64-bit integers */
	finish(t[ACPI_DSDT], (uint32_t)dsdt_len);
	build_facs(t[ACPI_FACS]);
	build_fadt(t[ACPI_FADT], l.gpa[ACPI_FACS], l.gpa[ACPI_DSDT]);
	build_madt(t[ACPI_MADT], c->ncpus);
	build_mcfg(t[ACPI_MCFG]);
	/* The FACS and DSDT are reached through the FADT, not listed in the RSDT/XSDT. */
	const uint64_t listed[] = { l.gpa[ACPI_FADT], l.gpa[ACPI_MADT], l.gpa[ACPI_MCFG] };
	const unsigned nlisted = sizeof(listed) / sizeof(listed[0]);
	build_sdt(t[ACPI_RSDT], "RSDT", listed, nlisted, 4);
	build_sdt(t[ACPI_XSDT], "XSDT", listed, nlisted, 8);
	l.len[ACPI_RSDT] = HDR_LEN + 4 * nlisted;
	l.len[ACPI_XSDT] = HDR_LEN + 8 * nlisted;
	build_rsdp(t[ACPI_RSDP], l.gpa[ACPI_RSDT], l.gpa[ACPI_XSDT]);
	l.used = a.used;
	if (out)
		*out = l;
	return 0;
}

int acpi_install(const struct gmem *m, const struct acpi_config *c, struct acpi_layout *out, struct errmsg *e)
{
	uint8_t *buf = malloc(ACPI_AREA_SIZE);
	if (!buf)
		return errmsg_set(e, ENOMEM, "ACPI: out of memory");
	struct acpi_layout l;
	int r = acpi_build(buf, ACPI_AREA_SIZE, ACPI_AREA_GPA, c, &l, e);
	if (r == 0 && gmem_write(m, ACPI_AREA_GPA, buf, l.used) < 0)
		r = errmsg_set(e, EFAULT, "ACPI: guest RAM does not cover [0x%llx, 0x%llx) for the tables",
			       ACPI_AREA_GPA, ACPI_AREA_GPA + l.used);
	if (r == 0 && out)
		*out = l;
	free(buf);
	return r;
}
