/* Names of exit kinds, as printed by statistics, traces and crash reports. Stable: scripts
 * parse dhyvectl --get-stats output by these names. */
#include "vmm/exit.h"

static const char *const names[VMEXIT__COUNT] = {
	[VMEXIT_PIO] = "pio",
	[VMEXIT_MMIO] = "mmio",
	[VMEXIT_HLT] = "hlt",
	[VMEXIT_SHUTDOWN] = "shutdown",
	[VMEXIT_DEBUG] = "debug",
	[VMEXIT_EMULATION_FAIL] = "emulation-failure",
	[VMEXIT_FAIL_ENTRY] = "fail-entry",
	[VMEXIT_SYSTEM_EVENT] = "system-event",
	[VMEXIT_KICK] = "kick",
	[VMEXIT_IRQ_WINDOW] = "irq-window",
	[VMEXIT_HYPERCALL] = "hypercall",
	[VMEXIT_MSR] = "msr",
	[VMEXIT_OTHER] = "other",
};

const char *vmexit_kind_name(enum vmexit_kind kind)
{
	return (unsigned)kind < VMEXIT__COUNT ? names[kind] : "invalid";
}
