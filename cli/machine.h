/* A machine: a VM plus the devices the options ask for, wired to it through the doors
 * (I/O buses, the interrupt sink, asynchronous console input at kick exits). */
#ifndef DHYVE_CLI_MACHINE_H
#define DHYVE_CLI_MACHINE_H

#include <pthread.h>
#include <stdio.h>

#include "base/time_source.h"
#include "base/errmsg.h"
#include "base/irq.h"
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
struct rtc;
struct fw_cfg;
struct pci_bus;
struct recorder;
struct replayer;

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
	struct rtc *rtc;           /* ports 0x70-0x71, IRQ 8 */
	pthread_mutex_t rtc_lock;  /* its accesses come from every vCPU, its polls from vCPU 0 */
	int rtc_timer_fd;          /* timerfd armed at the RTC's next deadline */
	int rtc_quit_fd;           /* eventfd that ends the timer thread */
	pthread_t rtc_timer;
	bool rtc_timer_running;
	struct fw_cfg *fw_cfg;     /* ports 0x510-0x511, DMA at 0x514-0x51b */
	struct gmem dev_mem;       /* guest memory as devices see it (observed while recording) */
	struct time_source time;   /* host time as devices see it (door 4) */
	struct recorder *rec;      /* -o record=DIR */
	struct replayer *rep;      /* -o replay=DIR: no devices then, the log plays them */
	char *record_dir;
	/* PCI devices' back-end threads (virtio-net) kick input_vm; machine_destroy clears it under
	 * input_lock before the VM goes, since those threads stop only with the bus. */
	pthread_mutex_t input_lock;
	struct vm *input_vm;
};

/* Creates the VM, its devices and loads the kernel; nothing runs yet. */
int machine_create(struct machine *m, const struct dhyve_options *o, struct errmsg *e);
void machine_destroy(struct machine *m);

/* Door 3 for the machine's devices: GSI levels on the VM's in-kernel irqchip. */
struct irq_sink machine_irq_sink(struct machine *m);
/* Door 2: the guest-memory view devices are given. */
const struct gmem *machine_dev_mem(struct machine *m);

/* cli/machine_replay.c: -o record=DIR and -o replay=DIR. Recording starts before the devices
 * are made (they are wired to the recorder's doors); replay replaces them. */
int machine_start_recording(struct machine *m, const struct dhyve_options *o, struct errmsg *e);
int machine_start_replay(struct machine *m, const struct dhyve_options *o, struct errmsg *e);
/* After the VM ended: closes the log, writes the last trace records and README.txt into DIR. */
int machine_finish_recording(struct machine *m, enum vm_end how, uint32_t code, const char *why, struct errmsg *e);
/* After the VM ended: one line on what the replay matched; false when it diverged. */
bool machine_report_replay(struct machine *m, FILE *out);

/* cli/machine_rtc.c: the RTC with its clock and timer; polled at exits on vCPU 0. */
int machine_add_rtc(struct machine *m, const struct dhyve_options *o, struct errmsg *e);
void machine_rtc_poll(struct machine *m);
void machine_remove_rtc(struct machine *m);

/* Checks whether every vCPU is halted with interrupts disabled (nothing can wake it): the
 * machine is then dead, and it ends with bhyve's "halted" status. Pauses the VM briefly. */
bool machine_all_halted(struct machine *m);

#endif
