/* acpiread.elf: finds the ACPI tables the way an OS does (RSDP scan of the BIOS area, XSDT,
 * FADT, DSDT's \_S5, MADT) and the MP table, prints what it found, then powers off through the
 * PM1a control port and SLP_TYP value the tables name (not the ones it knows), so a wrong FADT or
 * \_S5 shows as a VM that does not power off. Without tables it prints "none" and powers off. */
#include "guest.h"

static void put_hex(uint64_t v)
{
	char buf[17];
	int n = 0;
	do {
		buf[n++] = "0123456789abcdef"[v & 0xf];
		v >>= 4;
	} while (v);
	serial_puts("0x");
	while (n)
		serial_putc(buf[--n]);
}

static uint64_t rd(uint64_t addr, unsigned n)
{
	const volatile uint8_t *p = (const volatile uint8_t *)addr;
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int same(uint64_t addr, const char *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (rd(addr + i, 1) != (uint8_t)s[i])
			return 0;
	return 1;
}

static int sum_ok(uint64_t addr, uint64_t len)
{
	uint8_t s = 0;
	for (uint64_t i = 0; i < len; i++)
		s = (uint8_t)(s + rd(addr + i, 1));
	return s == 0;
}

static uint64_t scan(const char *sig, unsigned n, uint64_t from, uint64_t to)
{
	for (uint64_t a = from; a < to; a += 16)
		if (same(a, sig, n))
			return a;
	return 0;
}

static void put_sig(uint64_t addr)
{
	for (unsigned i = 0; i < 4; i++)
		serial_putc((char)rd(addr + i, 1));
}

/* The first byte value after "_S5_" and a PackageOp: SLP_TYPa (a BytePrefix'd or bare 0/1). */
static int s5_slp_typ(uint64_t dsdt)
{
	uint64_t len = rd(dsdt + 4, 4);
	for (uint64_t a = dsdt + 36; a + 8 < dsdt + len; a++) {
		if (!same(a, "_S5_", 4) || rd(a + 4, 1) != 0x12)
			continue;
		uint64_t p = a + 5 + 1 + ((rd(a + 5, 1) >> 6) & 3) + 1; /* PkgLength, NumElements */
		uint8_t op = (uint8_t)rd(p, 1);
		return op == 0x0a ? (int)rd(p + 1, 1) : op <= 1 ? op : -1;
	}
	return -1;
}

static unsigned madt_cpus(uint64_t madt, uint64_t *ioapic)
{
	unsigned n = 0;
	uint64_t end = madt + rd(madt + 4, 4);
	for (uint64_t p = madt + 44; p + 2 <= end && rd(p + 1, 1) >= 2; p += rd(p + 1, 1)) {
		if (rd(p, 1) == 0 && (rd(p + 4, 4) & 1))
			n++;
		else if (rd(p, 1) == 1)
			*ioapic = rd(p + 4, 4);
	}
	return n;
}

static void mp_table(void)
{
	uint64_t fps = scan("_MP_", 4, 0xf0000, 0x100000);
	serial_puts("mp: ");
	if (!fps || !sum_ok(fps, 16)) {
		serial_puts("none\n");
		return;
	}
	uint64_t cfg = rd(fps + 4, 4);
	unsigned cpus = 0, entries = (unsigned)rd(cfg + 34, 2);
	uint64_t p = cfg + 44;
	for (unsigned i = 0; i < entries; i++)
		if (rd(p, 1) == 0) {
			cpus++;
			p += 20;
		} else {
			p += 8;
		}
	serial_puts(sum_ok(cfg, rd(cfg + 4, 2)) ? "checksum ok, " : "BAD checksum, ");
	serial_putu(cpus);
	serial_puts(" cpus\n");
}

void kmain(void)
{
	mp_table();
	uint64_t rsdp = scan("RSD PTR ", 8, 0xe0000, 0x100000);
	serial_puts("rsdp: ");
	if (!rsdp) {
		serial_puts("none\n");
		power_off();
	}
	put_hex(rsdp);
	serial_puts(sum_ok(rsdp, 20) && sum_ok(rsdp, 36) ? " checksum ok\n" : " BAD checksum\n");
	uint64_t xsdt = rd(rsdp + 24, 8), fadt = 0, madt = 0;
	unsigned n = (unsigned)((rd(xsdt + 4, 4) - 36) / 8);
	for (unsigned i = 0; i < n; i++) {
		uint64_t t = rd(xsdt + 36 + 8 * i, 8);
		serial_puts("table: ");
		put_sig(t);
		serial_puts(sum_ok(t, rd(t + 4, 4)) ? " checksum ok\n" : " BAD checksum\n");
		if (same(t, "FACP", 4))
			fadt = t;
		if (same(t, "APIC", 4))
			madt = t;
	}
	if (madt) {
		uint64_t ioapic = 0;
		serial_puts("madt: ");
		serial_putu(madt_cpus(madt, &ioapic));
		serial_puts(" cpus, ioapic ");
		put_hex(ioapic);
		serial_puts("\n");
	}
	if (!fadt) {
		serial_puts("no FADT\n");
		halt_forever();
	}
	uint64_t dsdt = rd(fadt + 40, 4);
	uint16_t pm1a_cnt = (uint16_t)rd(fadt + 64, 4);
	int slp_typ = s5_slp_typ(dsdt);
	serial_puts("fadt: sci ");
	serial_putu((uint32_t)rd(fadt + 46, 2));
	serial_puts(", pm1a_cnt ");
	put_hex(pm1a_cnt);
	serial_puts(", reset ");
	put_hex(rd(fadt + 120, 8));
	serial_puts("=");
	put_hex(rd(fadt + 128, 1));
	serial_puts(", dsdt ");
	put_sig(dsdt);
	serial_puts(sum_ok(dsdt, rd(dsdt + 4, 4)) ? " checksum ok" : " BAD checksum");
	serial_puts(", _S5 ");
	serial_putu((uint32_t)slp_typ);
	serial_puts("\n");
	if (slp_typ < 0)
		halt_forever();
	outw(pm1a_cnt, (uint16_t)((unsigned)slp_typ << 10 | 1u << 13)); /* SLP_TYPa | SLP_EN */
	halt_forever();
}
