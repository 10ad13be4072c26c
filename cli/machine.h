/* A machine: a VM plus the devices the options ask for, wired to it through the doors
 * (I/O buses, the interrupt sink, asynchronous console input at kick exits). */
#ifndef DHYVE_CLI_MACHINE_H
#define DHYVE_CLI_MACHINE_H

#include "base/errmsg.h"
#include "cli/options.h"
#include "devmodel/iobus.h"
#include "loader/loader.h"
#include "vmm/vm.h"

struct chardev;
struct uart16550;
struct power_ctl;
struct tracer;
struct fallback;
struct gdbstub;
struct pci_bus;

struct machine {
	struct vm *vm;
	struct iobus pio, mmio;
	struct chardev *com_backend[OPT_NCOM];
	struct uart16550 *com[OPT_NCOM];
	struct power_ctl *power;
	struct pci_bus *pci;      /* bus 0: always there (it also owns the reset port 0xcf9) */
	struct kernel_info kernel;
	struct tracer *tracer;    /* NULL unless trace.entries/trace.file asked for rings */
	struct fallback *fallback; /* completes what KVM cannot emulate; the hang watchdog */
	struct gdbstub *gdb;       /* set by the caller when -G asked for a stub */
};

/* Creates the VM, its devices and loads the kernel; nothing runs yet. */
int machine_create(struct machine *m, const struct dhyve_options *o, struct errmsg *e);
void machine_destroy(struct machine *m);

/* Checks whether every vCPU is halted with interrupts disabled (nothing can wake it): the
 * machine is then dead, and it ends with bhyve's "halted" status. Pauses the VM briefly. */
bool machine_all_halted(struct machine *m);

#endif
