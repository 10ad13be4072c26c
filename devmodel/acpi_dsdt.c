/* The DSDT: the PCI root bridge (windows, routing of every slot's INTA-D to the GSIs that
 * devmodel/pci_intx.c drives), the COM ports, the RTC and \_S5 for power-off, in AML. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devmodel/acpi.h"
#include "devmodel/acpi_aml.h"
#include "devmodel/pci.h"
#include "devmodel/power.h"
#include "devmodel/rtc.h"
#include "devmodel/uart16550.h"

#define HDR_LEN 36

static void root_bridge(struct aml *a)
{
	size_t dev = aml_device(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A08"); /* PCI Express root bridge: ECAM through MCFG */
	aml_name(a, "_CID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_SEG");
	aml_integer(a, 0);
	aml_name(a, "_BBN");
	aml_integer(a, 0);

	aml_name(a, "_CRS");
	size_t buf = aml_buffer(a);
	aml_res_bus_range(a, 0, 0);
	aml_res_io(a, PCI_CFG_ADDR_PORT, 1, 8);                    /* consumed: 0xcf8-0xcff */
	aml_res_io_window(a, 0x0000, PCI_CFG_ADDR_PORT - 1);       /* legacy ports below */
	aml_res_io_window(a, PCI_IO_WINDOW_BASE, PCI_IO_WINDOW_END - 1);
	aml_res_mem_window(a, (uint32_t)PCI_MEM_WINDOW_BASE, (uint32_t)(PCI_MEM_WINDOW_END - 1));
	aml_res_end(a);
	aml_end(a, buf);

	/* _PRT: (slot << 16 | 0xffff, pin 0-3, no link device, GSI), as pci_intx_gsi() wires it. */
	aml_name(a, "_PRT");
	size_t prt = aml_package(a, PCI_SLOTS * 4);
	for (unsigned slot = 0; slot < PCI_SLOTS; slot++)
		for (unsigned pin = 0; pin < 4; pin++) {
			size_t e = aml_package(a, 4);
			aml_integer(a, (uint64_t)slot << 16 | 0xffff);
			aml_integer(a, pin);
			aml_integer(a, 0);
			aml_integer(a, pci_intx_gsi(slot, pin + 1));
			aml_end(a, e);
		}
	aml_end(a, prt);
	aml_end(a, dev);
}

static void legacy_device(struct aml *a, const char *name, const char *hid, unsigned uid, uint16_t port,
			  uint8_t nports, unsigned irq)
{
	size_t dev = aml_device(a, name);
	aml_name(a, "_HID");
	aml_eisaid(a, hid);
	aml_name(a, "_UID");
	aml_integer(a, uid);
	aml_name(a, "_CRS");
	size_t buf = aml_buffer(a);
	aml_res_io(a, port, 1, nports);
	aml_res_irq(a, irq);
	aml_res_end(a);
	aml_end(a, buf);
	aml_end(a, dev);
}

/* QEMU's ISA pvpanic device, which Linux's pvpanic driver binds by its _HID "QEMU0001": how a
 * guest panic reaches dhyve (a repro bundle when recording). */
static void pvpanic_device(struct aml *a)
{
	size_t dev = aml_device(a, "PEVT");
	aml_name(a, "_HID");
	aml_string(a, "QEMU0001");
	aml_name(a, "_CRS");
	size_t buf = aml_buffer(a);
	aml_res_io(a, PVPANIC_PORT, 1, 1);
	aml_res_end(a);
	aml_end(a, buf);
	aml_end(a, dev);
}

int acpi_build_dsdt(const struct acpi_config *c, uint8_t **dsdt, size_t *len, struct errmsg *e)
{
	struct aml a;
	aml_init(&a);
	uint8_t hdr[HDR_LEN] = { 0 };
	aml_bytes(&a, hdr, sizeof(hdr)); /* filled by the caller's table writer */

	/* \_S5: SLP_TYPa/SLP_TYPb for soft-off, the value devmodel/power.c takes as S5. */
	aml_name(&a, "\\_S5");
	size_t s5 = aml_package(&a, 4);
	aml_integer(&a, PM1_SLP_TYP_S5);
	aml_integer(&a, PM1_SLP_TYP_S5);
	aml_integer(&a, 0);
	aml_integer(&a, 0);
	aml_end(&a, s5);

	size_t sb = aml_scope(&a, "\\_SB");
	root_bridge(&a);
	if (c->com[0])
		legacy_device(&a, "COM1", "PNP0501", 1, UART_COM1_BASE, UART_REG_COUNT, UART_COM1_IRQ);
	if (c->com[1])
		legacy_device(&a, "COM2", "PNP0501", 2, UART_COM2_BASE, UART_REG_COUNT, UART_COM2_IRQ);
	legacy_device(&a, "RTC", "PNP0B00", 0, RTC_PORT_BASE, RTC_PORT_COUNT, RTC_IRQ);
	pvpanic_device(&a);
	aml_end(&a, sb);

	if (a.failed) {
		aml_free(&a);
		return errmsg_set(e, ENOMEM, "DSDT: out of memory while encoding AML");
	}
	*dsdt = a.buf;
	*len = a.len;
	return 0;
}
