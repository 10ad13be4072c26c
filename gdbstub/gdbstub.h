/* dhyve's GDB remote stub: every vCPU a thread, all-stop, software and hardware breakpoints,
 * watchpoints (by debug registers where this KVM honours them, by single-step otherwise),
 * stepping that does not fall into interrupt handlers, monitor commands. One client at a time,
 * served by its own thread, talking to the VM only through vmm/ calls. */
#ifndef DHYVE_GDBSTUB_GDBSTUB_H
#define DHYVE_GDBSTUB_GDBSTUB_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errmsg.h"

struct vcpu;
struct vm;
struct tracer;
struct gdbstub;

#define GDB_SIGNAL_ILL 4
#define GDB_SIGNAL_TRAP 5

struct gdbstub_config {
	const char *bind_addr; /* default "127.0.0.1": never listen beyond loopback unless asked */
	uint16_t port;
	bool wait;             /* -G w: hold every vCPU before its first instruction until gdb attaches */
	struct tracer *tracer; /* optional, for "monitor stats"/"monitor trace" */
};

/* Listens, installs the stub's exit handlers (wrapping those already installed) and starts the
 * stub's thread. Call after the machine is built and before vm_start. */
struct gdbstub *gdbstub_create(struct vm *vm, const struct gdbstub_config *cfg, struct errmsg *e);
/* Tells an attached gdb how the VM ended (W packet), closes the connection, stops the thread. */
void gdbstub_destroy(struct gdbstub *stub);
/* When a gdb is attached, stop every vCPU and report signal on vcpu's thread to gdb (4, SIGILL,
 * for an instruction nothing could complete; 5, SIGTRAP, for a hang the watchdog found) instead
 * of letting the VM die; returns true then. From an exit handler (which then returns
 * VMEXIT_RESUME: the vCPU parks) or from another thread. A continue from gdb runs the same
 * instruction again. */
bool gdbstub_stop_on_fault(struct gdbstub *stub, struct vcpu *vcpu, int signal);
/* The port actually bound (useful with port 0 in tests). */
uint16_t gdbstub_port(const struct gdbstub *stub);

#endif
