/* Unit tests for devmodel/acpi.c, acpi_dsdt.c and acpi_aml.c: the tables' pointers, checksums
 * and fields, the _PRT against pci_intx_gsi(), the AML encoder's corner cases, and (when
 * acpica-tools is installed) iasl's verdict: every table disassembles, the DSDT recompiles
 * without errors or warnings, and each data table recompiles to the same bytes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "devmodel/acpi.h"
#include "devmodel/acpi_aml.h"
#include "devmodel/pci.h"

static uint8_t area[ACPI_AREA_SIZE];

static uint64_t get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static const uint8_t *at(uint64_t gpa)
{
	assert_true(gpa >= ACPI_AREA_GPA && gpa < ACPI_AREA_GPA + ACPI_AREA_SIZE);
	return area + (gpa - ACPI_AREA_GPA);
}

static struct acpi_layout build(unsigned ncpus, bool com1, bool com2)
{
	struct acpi_config c = { .ncpus = ncpus, .com = { com1, com2 } };
	struct acpi_layout l;
	struct errmsg e;
	int r = acpi_build(area, sizeof(area), ACPI_AREA_GPA, &c, &l, &e);
	if (r < 0)
		fail_msg("acpi_build: %s", e.text);
	return l;
}

/* A table found by its pointer: signature, length as the layout says, checksum 0. */
static const uint8_t *table(uint64_t gpa, const char *sig)
{
	const uint8_t *t = at(gpa);
	assert_memory_equal(t, sig, 4);
	assert_int_equal(acpi_checksum(t, get(t + 4, 4)), 0);
	return t;
}

static void test_pointers_and_checksums(void **state)
{
	(void)state;
	struct acpi_layout l = build(2, true, false);
	/* The RSDP where the scan of 0xe0000-0xfffff finds it, both checksums right. */
	const uint8_t *rsdp = at(ACPI_RSDP_GPA);
	assert_int_equal(l.gpa[ACPI_RSDP], ACPI_RSDP_GPA);
	assert_int_equal(ACPI_RSDP_GPA % 16, 0);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(acpi_checksum(rsdp, 20), 0);
	assert_int_equal(acpi_checksum(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(get(rsdp + 20, 4), 36);

	const uint8_t *rsdt = table(get(rsdp + 16, 4), "RSDT");
	const uint8_t *xsdt = table(get(rsdp + 24, 8), "XSDT");
	assert_int_equal(get(rsdt + 4, 4), 36 + 3 * 4);
	assert_int_equal(get(xsdt + 4, 4), 36 + 3 * 8);
	const char *sigs[] = { "FACP", "APIC", "MCFG" };
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(get(rsdt + 36 + 4 * i, 4), get(xsdt + 36 + 8 * i, 8));
		table(get(xsdt + 36 + 8 * i, 8), sigs[i]);
	}
	const uint8_t *fadt = table(l.gpa[ACPI_FADT], "FACP");
	table(get(fadt + 40, 4), "DSDT");
	assert_int_equal(get(fadt + 140, 8), get(fadt + 40, 4)); /* X_DSDT = DSDT */
	const uint8_t *facs = at(get(fadt + 36, 4));
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(get(fadt + 36, 4) % 64, 0);
	/* Everything inside the area, nothing overlapping: tables are laid out in order. */
	for (unsigned i = 1; i < ACPI_NTABLES; i++)
		assert_true(l.gpa[i] >= l.gpa[i - 1] + l.len[i - 1]);
	assert_true(l.used <= ACPI_AREA_SIZE);
}

static void test_fadt(void **state)
{
	(void)state;
	struct acpi_layout l = build(1, true, true);
	const uint8_t *f = table(l.gpa[ACPI_FADT], "FACP");
	assert_int_equal(get(f + 4, 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(get(f + 46, 2), 9);          /* SCI_INT */
	assert_int_equal(get(f + 48, 4), 0);          /* SMI_CMD: always in ACPI mode */
	assert_int_equal(get(f + 56, 4), 0x400);      /* PM1a_EVT_BLK */
	assert_int_equal(get(f + 64, 4), 0x404);      /* PM1a_CNT_BLK */
	assert_int_equal(f[88], 4);
	assert_int_equal(f[89], 2);
	uint32_t flags = (uint32_t)get(f + 112, 4);
	assert_true(flags & (1u << 10));              /* RESET_REG_SUP */
	assert_false(flags & (1u << 20));             /* HW_REDUCED_ACPI off */
	assert_int_equal(f[116], 1);                  /* reset register in I/O space */
	assert_int_equal(get(f + 120, 8), 0xcf9);
	assert_int_equal(f[128], 0x06);
	assert_int_equal(get(f + 152, 8), 0x400);     /* X_PM1a_EVT_BLK */
	assert_int_equal(get(f + 176, 8), 0x404);     /* X_PM1a_CNT_BLK */
	assert_int_equal(get(f + 109, 2) & 0x2, 0);   /* no 8042 */
}

static void test_madt(void **state)
{
	(void)state;
	struct acpi_layout l = build(4, false, false);
	const uint8_t *m = table(l.gpa[ACPI_MADT], "APIC");
	assert_int_equal(get(m + 36, 4), 0xfee00000);
	const uint8_t *p = m + 44, *end = m + get(m + 4, 4);
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;
	while (p < end) {
		assert_true(p[1] >= 2 && p + p[1] <= end);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[2], lapics);   /* UID */
			assert_int_equal(p[3], lapics);   /* APIC ID */
			assert_int_equal(get(p + 4, 4) & 1, 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(get(p + 4, 4), 0xfec00000);
			assert_int_equal(get(p + 8, 4), 0);
			assert_true(p[2] >= 4);          /* its ID does not collide with a CPU's */
			ioapics++;
			break;
		case 2:
			if (p[3] == 0) {
				assert_int_equal(get(p + 4, 4), 2);
				assert_int_equal(get(p + 8, 2), 0);
			} else {
				assert_int_equal(p[3], 9);
				assert_int_equal(get(p + 4, 4), 9);
				assert_int_equal(get(p + 8, 2), 0x0d); /* level, active high */
			}
			isos++;
			break;
		case 4:
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", p[0]);
		}
		p += p[1];
	}
	assert_int_equal(lapics, 4);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 2);
	assert_int_equal(nmis, 1);
}

static void test_mcfg(void **state)
{
	(void)state;
	struct acpi_layout l = build(1, false, false);
	const uint8_t *m = table(l.gpa[ACPI_MCFG], "MCFG");
	assert_int_equal(get(m + 4, 4), 60);
	assert_int_equal(get(m + 44, 8), PCI_ECAM_BASE);
	assert_int_equal(get(m + 52, 2), 0);
	assert_int_equal(m[54], 0);
	assert_int_equal(m[55], 0); /* bus 0 only: PCI_ECAM_SIZE is 1 MiB */
}

/* ---- the DSDT, decoded just far enough to check it ------------------------------------------ */

static size_t pkglen(const uint8_t *p, size_t *nbytes)
{
	unsigned n = (p[0] >> 6) + 1;
	size_t v = n == 1 ? (p[0] & 0x3f) : (p[0] & 0x0f);
	for (unsigned i = 1; i < n; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	*nbytes = n;
	return v;
}

static uint64_t integer(const uint8_t **pp)
{
	const uint8_t *p = *pp;
	uint64_t v;
	switch (p[0]) {
	case 0x00: v = 0; *pp = p + 1; return v;
	case 0x01: v = 1; *pp = p + 1; return v;
	case 0x0a: v = p[1]; *pp = p + 2; return v;
	case 0x0b: v = get(p + 1, 2); *pp = p + 3; return v;
	case 0x0c: v = get(p + 1, 4); *pp = p + 5; return v;
	case 0x0e: v = get(p + 1, 8); *pp = p + 9; return v;
	}
	fail_msg("not an integer opcode: 0x%02x", p[0]);
	return 0;
}

static const uint8_t *find(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

static void test_dsdt_prt(void **state)
{
	(void)state;
	struct acpi_layout l = build(1, true, false);
	const uint8_t *d = table(l.gpa[ACPI_DSDT], "DSDT");
	size_t len = get(d + 4, 4);
	const uint8_t *p = find(d, len, "\x08_PRT\x12", 6);
	assert_non_null(p);
	p += 6;
	size_t n, body = pkglen(p, &n);
	const uint8_t *end = p + body;
	p += n;
	assert_int_equal(*p++, PCI_SLOTS * 4);
	for (unsigned slot = 0; slot < PCI_SLOTS; slot++)
		for (unsigned pin = 0; pin < 4; pin++) {
			assert_int_equal(*p++, 0x12);
			size_t eb = pkglen(p, &n);
			const uint8_t *eend = p + eb;
			p += n;
			assert_int_equal(*p++, 4);
			assert_int_equal(integer(&p), (uint64_t)slot << 16 | 0xffff);
			assert_int_equal(integer(&p), pin);
			assert_int_equal(integer(&p), 0);
			uint64_t gsi = integer(&p);
			/* What the bus drives, and the rule written out. */
			assert_int_equal(gsi, pci_intx_gsi(slot, pin + 1));
			assert_int_equal(gsi, 16 + (slot + pin) % 8);
			assert_ptr_equal(p, eend);
		}
	assert_ptr_equal(p, end);
}

static void test_dsdt_devices(void **state)
{
	(void)state;
	struct acpi_layout l = build(1, true, false);
	const uint8_t *d = table(l.gpa[ACPI_DSDT], "DSDT");
	size_t len = get(d + 4, 4);
	assert_int_equal(d[8], 2);
	/* \_S5 = Package(4) { 5, 5, 0, 0 }: SLP_TYP 5 is what power.c powers off on. */
	assert_non_null(find(d, len, "\x08\\_S5_\x12\x08\x04\x0a\x05\x0a\x05\x00\x00", 14));
	/* EisaId("PNP0A08") = 0x080ad041, PNP0501, PNP0B00 */
	assert_non_null(find(d, len, "\x0c\x41\xd0\x0a\x08", 5));
	assert_non_null(find(d, len, "PCI0", 4));
	assert_non_null(find(d, len, "COM1", 4));
	assert_null(find(d, len, "COM2", 4)); /* only the ports that exist */
	assert_non_null(find(d, len, "\x0c\x41\xd0\x05\x01", 5));
	assert_non_null(find(d, len, "\x0c\x41\xd0\x0b\x00", 5));
	/* The root bridge's MMIO window, as DWordMemory min/max. */
	assert_non_null(find(d, len, "\x00\x00\x00\xc0\xff\xff\xff\xdf", 8));
	/* pvpanic: _HID "QEMU0001" (a string, which Linux's driver matches) and IO(Decode16, 0x505,
	 * 0x505, 1, 1). */
	assert_non_null(find(d, len, "\x08_HID\x0dQEMU0001\x00", 15));
	assert_non_null(find(d, len, "\x47\x01\x05\x05\x05\x05\x01\x01", 8));
}

static void test_aml_encoder(void **state)
{
	(void)state;
	struct aml a;
	/* PkgLength: 1 byte up to 63, then 2 bytes with the low nibble first. */
	aml_init(&a);
	size_t m = aml_package(&a, 0);
	for (unsigned i = 0; i < 61; i++)
		aml_byte(&a, 0);
	aml_end(&a, m);
	assert_int_equal(a.buf[1], 63);
	aml_free(&a);
	aml_init(&a);
	m = aml_package(&a, 0);
	for (unsigned i = 0; i < 62; i++)
		aml_byte(&a, 0);
	aml_end(&a, m);
	assert_int_equal(a.len, 1 + 2 + 63);
	assert_int_equal(a.buf[1], 0x40 | ((2 + 63) & 0xf));
	assert_int_equal(a.buf[2], (2 + 63) >> 4);
	aml_free(&a);
	/* 3-byte lengths for a big body. */
	aml_init(&a);
	m = aml_scope(&a, "\\_SB");
	for (unsigned i = 0; i < 5000; i++)
		aml_byte(&a, 0xa3);
	aml_end(&a, m);
	size_t n;
	assert_int_equal(pkglen(a.buf + 1, &n), a.len - 1);
	assert_int_equal(n, 3);
	aml_free(&a);
	/* Integers take the smallest form; names are padded; bad names fail the encoder. */
	aml_init(&a);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x1ffffffffull);
	aml_name_string(&a, "\\_SB.PCI0.S1");
	const uint8_t want[] = { 0x0b, 0x00, 0x01, 0x0e, 0xff, 0xff, 0xff, 0xff, 0x01, 0, 0, 0,
				 '\\', 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S', '1', '_', '_' };
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.buf, want, sizeof(want));
	assert_false(a.failed);
	aml_name_string(&a, "toolong");
	assert_true(a.failed);
	aml_free(&a);
}

static void test_refusals(void **state)
{
	(void)state;
	struct errmsg e;
	struct acpi_config c = { .ncpus = 0 };
	assert_int_equal(acpi_build(area, sizeof(area), ACPI_AREA_GPA, &c, NULL, &e), -EINVAL);
	c.ncpus = 256;
	assert_int_equal(acpi_build(area, sizeof(area), ACPI_AREA_GPA, &c, NULL, &e), -EINVAL);
	assert_non_null(strstr(e.text, "256 vCPUs"));
	c.ncpus = 1;
	assert_int_equal(acpi_build(area, 200, ACPI_AREA_GPA, &c, NULL, &e), -ENOSPC);
	/* 255 vCPUs still fit the area. */
	c.ncpus = 255;
	assert_int_equal(acpi_build(area, sizeof(area), ACPI_AREA_GPA, &c, NULL, &e), 0);
}

/* ---- iasl ------------------------------------------------------------------------------------ */

static int run(const char *dir, const char *cmd, char *out, size_t outsz)
{
	char line[1024];
	snprintf(line, sizeof(line), "cd %s && %s 2>&1", dir, cmd);
	FILE *p = popen(line, "r");
	if (!p)
		return -1;
	size_t n = fread(out, 1, outsz - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_iasl(void **state)
{
	(void)state;
	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		print_message("iasl not installed (apt-get install acpica-tools): skipped\n");
		skip();
	}
	struct acpi_layout l = build(2, true, true);
	char dir[] = "/tmp/dhyve-test-acpi-XXXXXX";
	assert_non_null(mkdtemp(dir));
	static char out[65536];
	static const char *const name[ACPI_NTABLES] = { "rsdp", "rsdt", "xsdt", "facp", "facs", "dsdt", "apic", "mcfg" };
	for (unsigned i = ACPI_RSDT; i < ACPI_NTABLES; i++) { /* this iasl cannot read a bare RSDP */
		char path[128];
		snprintf(path, sizeof(path), "%s/%s.dat", dir, name[i]);
		FILE *f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(at(l.gpa[i]), 1, l.len[i], f), l.len[i]);
		fclose(f);
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", name[i]);
		int rc = run(dir, cmd, out, sizeof(out));
		if (rc != 0 || strstr(out, "rror") || strstr(out, "arning") || strstr(out, "hecksum"))
			fail_msg("iasl -d %s: rc %d\n%s", name[i], rc, out);
		/* Recompile what iasl understood: the DSDT must be valid ASL without complaint, and a
		 * data table must come back byte for byte (but for the compiler ID and checksum). */
		snprintf(cmd, sizeof(cmd), "cp %s.dsl re_%s.dsl && iasl re_%s.dsl", name[i], name[i], name[i]);
		rc = run(dir, cmd, out, sizeof(out));
		if (rc != 0 || !strstr(out, "0 Errors, 0 Warnings"))
			fail_msg("iasl %s.dsl: rc %d\n%s", name[i], rc, out);
		if (i == ACPI_DSDT)
			continue;
		snprintf(path, sizeof(path), "%s/re_%s.aml", dir, name[i]);
		f = fopen(path, "rb");
		assert_non_null(f);
		static uint8_t back[4096];
		size_t n = fread(back, 1, sizeof(back), f);
		fclose(f);
		assert_int_equal(n, l.len[i]);
		const uint8_t *orig = at(l.gpa[i]);
		size_t hdr = i == ACPI_FACS ? 0 : 36;
		if (hdr) {
			assert_memory_equal(back, orig, 9);        /* signature, length, revision */
			assert_memory_equal(back + 10, orig + 10, 18); /* OEM fields */
		}
		assert_memory_equal(back + hdr, orig + hdr, n - hdr);
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pointers_and_checksums),
		cmocka_unit_test(test_fadt),
		cmocka_unit_test(test_madt),
		cmocka_unit_test(test_mcfg),
		cmocka_unit_test(test_dsdt_prt),
		cmocka_unit_test(test_dsdt_devices),
		cmocka_unit_test(test_aml_encoder),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_iasl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
