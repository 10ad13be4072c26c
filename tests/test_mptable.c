/* Unit tests for devmodel/mptable.c: the floating pointer where the scan finds it, checksums,
 * one processor entry per vCPU with vCPU 0 the BSP, the I/O APIC, ISA IRQ 0 on pin 2, and every
 * PCI slot's INTA-D on the pin pci_intx_gsi() drives. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devmodel/mptable.h"
#include "devmodel/pci.h"

static uint8_t buf[MPTABLE_SIZE];

static uint64_t get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static void test_table(void **state)
{
	(void)state;
	size_t used = 0;
	struct errmsg e;
	assert_int_equal(mptable_build(buf, sizeof(buf), MPTABLE_GPA, 3, &used, &e), 0);
	/* Floating pointer: 16-byte aligned in 0xf0000-0xfffff, checksum 0, points right after. */
	assert_int_equal(MPTABLE_GPA % 16, 0);
	assert_true(MPTABLE_GPA >= 0xf0000 && MPTABLE_GPA + used <= 0x100000);
	assert_memory_equal(buf, "_MP_", 4);
	assert_int_equal(sum(buf, 16), 0);
	assert_int_equal(buf[8], 1);
	assert_int_equal(buf[9], 4);
	assert_int_equal(buf[11], 0); /* a configuration table, not a default configuration */
	uint64_t cfg = get(buf + 4, 4);
	assert_int_equal(cfg, MPTABLE_GPA + 16);
	const uint8_t *t = buf + (cfg - MPTABLE_GPA);
	assert_memory_equal(t, "PCMP", 4);
	size_t len = get(t + 4, 2);
	assert_int_equal(16 + len, used);
	assert_int_equal(sum(t, len), 0);
	assert_int_equal(get(t + 36, 4), 0xfee00000);

	unsigned nentries = (unsigned)get(t + 34, 2), procs = 0, ioapics = 0, isa = 0, lints = 0;
	int pci_bus = -1, isa_bus = -1, ioapic_id = -1;
	bool pci_seen[PCI_SLOTS][4] = { { false } };
	const uint8_t *p = t + 44;
	for (unsigned i = 0; i < nentries; i++) {
		assert_true(p < t + len);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], procs);
			assert_int_equal(p[3], procs == 0 ? 3 : 1);
			procs++;
			p += 20;
			continue;
		case 1:
			if (memcmp(p + 2, "PCI   ", 6) == 0)
				pci_bus = p[1];
			else if (memcmp(p + 2, "ISA   ", 6) == 0)
				isa_bus = p[1];
			else
				fail_msg("bus type %.6s", (const char *)p + 2);
			break;
		case 2:
			ioapic_id = p[1];
			assert_int_equal(p[3] & 1, 1);
			assert_int_equal(get(p + 4, 4), 0xfec00000);
			ioapics++;
			break;
		case 3:
			assert_int_equal(p[6], ioapic_id);
			if (p[4] == isa_bus) {
				assert_int_equal(p[7], p[5] == 0 ? 2 : p[5]);
				isa++;
			} else {
				assert_int_equal(p[4], pci_bus);
				unsigned slot = p[5] >> 2, pin = p[5] & 3;
				assert_int_equal(p[7], pci_intx_gsi(slot, pin + 1));
				assert_int_equal(get(p + 2, 2), 0xf); /* level, active low */
				pci_seen[slot][pin] = true;
			}
			break;
		case 4:
			assert_int_equal(p[6], 0xff);
			assert_int_equal(p[7], lints);
			assert_int_equal(p[1], lints == 0 ? 3 : 1); /* ExtINT on LINT0, NMI on LINT1 */
			lints++;
			break;
		default:
			fail_msg("entry type %u", p[0]);
		}
		p += 8;
	}
	assert_ptr_equal(p, t + len);
	assert_int_equal(procs, 3);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ioapic_id, 3);
	assert_int_equal(isa, 15);
	assert_int_equal(lints, 2);
	for (unsigned s = 0; s < PCI_SLOTS; s++)
		for (unsigned pin = 0; pin < 4; pin++)
			assert_true(pci_seen[s][pin]);
}

static void test_refusals(void **state)
{
	(void)state;
	struct errmsg e;
	assert_int_equal(mptable_build(buf, sizeof(buf), MPTABLE_GPA, 0, NULL, &e), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), MPTABLE_GPA, 255, NULL, &e), -EINVAL);
	assert_int_equal(mptable_build(buf, 64, MPTABLE_GPA, 1, NULL, &e), -ENOSPC);
	assert_int_equal(mptable_build(buf, sizeof(buf), MPTABLE_GPA, 254, NULL, &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
