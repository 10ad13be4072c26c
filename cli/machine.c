/* Building a machine from dhyve_options: VM, buses, UARTs and their back-ends, power and reset
 * ports, the isa-debug-exit port, and the kernel. The glue between vmm/ and devmodel/. */
#include "cli/machine.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>

#include "devmodel/acpi.h"
#include "devmodel/chardev.h"
#include "devmodel/fw_cfg.h"
#include "devmodel/mptable.h"
#include "devmodel/pci.h"
#include "devmodel/pci_devices.h"
#include "devmodel/power.h"
#include "devmodel/rtc.h"
#include "devmodel/uart16550.h"
#include "fallback/fallback.h"
#include "gdbstub/gdbstub.h"
#include "replay/recorder.h"
#include "replay/replayer.h"
#include "trace/oops.h"
#include "trace/tracer.h"
#include "vmm/vcpu.h"

/* The PC BIOS area: firmware tables (RSDP, MP floating pointer) live here, where OSes look. */
#define MACHINE_BIOS_AREA_GPA  0xe0000ull
#define MACHINE_BIOS_AREA_SIZE 0x20000ull

static const struct { uint16_t base; unsigned irq; const char *label; } com_ports[OPT_NCOM] = {
	{ UART_COM1_BASE, UART_COM1_IRQ, "com1" },
	{ UART_COM2_BASE, UART_COM2_IRQ, "com2" },
};

/* The guest-memory view devices get: while recording, a copy that tells the recorder about
 * every byte a device reads or writes (door 2). */
const struct gmem *machine_dev_mem(struct machine *m)
{
	return &m->dev_mem;
}

static int bus_pio(void *opaque, struct vcpu *vcpu, uint16_t port, unsigned size, bool is_write, uint64_t *value)
{
	(void)vcpu;
	struct machine *m = opaque;
	return iobus_access(&m->pio, port, size, is_write, value);
}

static int bus_mmio(void *opaque, struct vcpu *vcpu, uint64_t gpa, unsigned size, bool is_write, uint64_t *value)
{
	(void)vcpu;
	struct machine *m = opaque;
	return iobus_access(&m->mmio, gpa, size, is_write, value);
}

static void set_irq_level(void *ctx, unsigned gsi, bool level)
{
	vm_irq_line(ctx, gsi, level);
}

struct irq_sink machine_irq_sink(struct machine *m)
{
	struct irq_sink live = { set_irq_level, m->vm };
	return m->rec ? recorder_irq_sink(m->rec, live) : live;
}

static void power_request(void *ctx, enum power_event ev, uint32_t code)
{
	struct machine *m = ctx;
	switch (ev) {
	case POWER_OFF: vm_request_end(m->vm, VM_END_POWEROFF, 0, "guest powered off"); break;
	case POWER_RESET: vm_request_end(m->vm, VM_END_RESET, 0, "guest reset the machine"); break;
	case POWER_DEBUG_EXIT: {
		char why[64];
		snprintf(why, sizeof(why), "guest wrote 0x%" PRIx32 " to the debug-exit port", code);
		vm_request_end(m->vm, VM_END_DEBUGEXIT, code, why);
		break;
	}
	case POWER_PANIC: {
		char why[64];
		snprintf(why, sizeof(why), "guest panicked (pvpanic event 0x%" PRIx32 ")", code);
		vm_request_end(m->vm, VM_END_PANIC, code, why);
		break;
	}
	}
}

/* Door 5: console input queued by a back-end thread is taken here, on a vCPU thread, at an exit. */
static void take_console_input(struct machine *m)
{
	for (unsigned i = 0; i < OPT_NCOM; i++)
		if (m->com[i] && chardev_pending(m->com_backend[i]))
			uart16550_poll_input(m->com[i]);
}

static enum vmexit_action on_kick(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	(void)ex;
	struct machine *m = opaque;
	take_console_input(m);
	pci_bus_poll_input(m->pci); /* door 5 for PCI devices: received packets */
	if (vcpu_index(vcpu) == 0)
		machine_rtc_poll(opaque);
	return vm_ended(vcpu_vm(vcpu)) ? VMEXIT_STOP : VMEXIT_RESUME;
}

/* The default PIO handler does the bus access; a UART read may have made FIFO room, and an RTC
 * access may have enabled or acknowledged an interrupt (a new deadline either way). */
static enum vmexit_action on_pio(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	enum vmexit_action act = vm_default_exit_handler(vcpu, ex);
	take_console_input(opaque);
	if (ex->addr >= RTC_PORT_BASE && ex->addr < RTC_PORT_BASE + RTC_PORT_COUNT)
		machine_rtc_poll(opaque);
	return act;
}

static bool hang_to_gdb(void *ctx, struct vcpu *vcpu)
{
	struct machine *m = ctx;
	return gdbstub_stop_on_fault(m->gdb, vcpu, GDB_SIGNAL_TRAP);
}

/* A guest that dies gets an oops-style report before the default handler ends the VM. */
static enum vmexit_action on_guest_death(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct machine *m = opaque;
	char reason[64];
	snprintf(reason, sizeof(reason), "vCPU %u: %s", vcpu_index(vcpu),
		 ex->kind == VMEXIT_SHUTDOWN ? "triple fault" :
		 ex->kind == VMEXIT_EMULATION_FAIL ? "KVM could not emulate an instruction" : "KVM refused to enter the guest");
	oops_print(stderr, vcpu, reason, m->tracer);
	/* With gdb attached, an instruction nothing could complete is a SIGILL stop there, so the
	 * developer can look; a triple fault or a failed entry leaves nothing to resume. */
	if (ex->kind == VMEXIT_EMULATION_FAIL && gdbstub_stop_on_fault(m->gdb, vcpu, GDB_SIGNAL_ILL))
		return VMEXIT_RESUME;
	return vm_default_exit_handler(vcpu, ex);
}

static void notify_input(void *ctx)
{
	vm_kick_vcpu(ctx, 0); /* the UARTs' interrupts are routed to the BSP */
}

/* Door 5 as the recorder sees it: the bytes each UART took from its back-end. */
static void com1_input(void *ctx, const void *buf, size_t len)
{
	recorder_input(ctx, 0, buf, len);
}

static void com2_input(void *ctx, const void *buf, size_t len)
{
	recorder_input(ctx, 1, buf, len);
}

static int add_uarts(struct machine *m, const struct dhyve_options *o, struct errmsg *e)
{
	struct irq_sink irq = machine_irq_sink(m);
	for (unsigned i = 0; i < OPT_NCOM; i++) {
		if (!o->com[i])
			continue;
		m->com_backend[i] = chardev_open(o->com[i], com_ports[i].label, e);
		if (!m->com_backend[i])
			return -EINVAL;
		m->com[i] = uart16550_create(m->com_backend[i], irq, com_ports[i].irq);
		if (!m->com[i])
			return errmsg_set(e, ENOMEM, "%s: out of memory", com_ports[i].label);
		int rc = iobus_register(&m->pio, com_ports[i].base, UART_REG_COUNT, com_ports[i].label,
					uart16550_access, m->com[i], e);
		if (rc < 0)
			return rc;
		chardev_set_notify(m->com_backend[i], notify_input, m->vm);
		if (m->rec)
			chardev_set_input_tap(m->com_backend[i], i ? com2_input : com1_input, m->rec);
	}
	return 0;
}

static int add_power(struct machine *m, const struct dhyve_options *o, struct errmsg *e)
{
	m->power = power_ctl_create((struct power_sink){ power_request, m });
	if (!m->power)
		return errmsg_set(e, ENOMEM, "out of memory");
	int rc = iobus_register(&m->pio, PM1A_EVT_PORT, 4, "pm1a_evt", power_pm1a_evt_access, m->power, e);
	if (rc == 0)
		rc = iobus_register(&m->pio, PM1A_CNT_PORT, 2, "pm1a_cnt", power_pm1a_cnt_access, m->power, e);
	if (rc == 0)
		rc = iobus_register(&m->pio, KBC_CMD_PORT, 1, "kbc", power_kbc_access, m->power, e);
	if (rc == 0)
		rc = iobus_register(&m->pio, PVPANIC_PORT, 1, "pvpanic", pvpanic_access, m->power, e);
	if (rc == 0 && o->debugexit_port >= 0) {
		struct errmsg inner;
		rc = iobus_register(&m->pio, (uint64_t)o->debugexit_port, 4, "debugexit", power_debugexit_access,
				    m->power, &inner);
		if (rc < 0)
			return errmsg_set(e, rc, "debugexit.port=0x%x: %s", o->debugexit_port, inner.text);
	}
	return rc;
}

static void notify_pci_input(void *ctx)
{
	struct machine *m = ctx;
	pthread_mutex_lock(&m->input_lock);
	if (m->input_vm)
		vm_kick_vcpu(m->input_vm, 0);
	pthread_mutex_unlock(&m->input_lock);
}

static void send_msi(void *ctx, uint64_t addr, uint32_t data)
{
	vm_signal_msi(ctx, addr, data);
}

/* The PCI bus and the devices of -s. 0xcf9 sits inside the config ports 0xcf8-0xcff, so the
 * bus forwards it to the reset control register, as bhyve and QEMU do. */
static int add_pci(struct machine *m, const struct dhyve_options *o, struct errmsg *e)
{
	struct pci_bus_config pc = {
		.pio = &m->pio, .mmio = &m->mmio,
		.irq = machine_irq_sink(m),
		.msi = { send_msi, m->vm },
		.mem = machine_dev_mem(m),
		.reset_port = power_reset_ctl_access, .reset_ctx = m->power,
		.input_notify = notify_pci_input, .input_ctx = m,
		.vm_name = o->name,
	};
	if (m->rec) {
		pc.msi = recorder_msi_sink(m->rec, pc.msi);
		pc.input_tap = recorder_input;
		pc.input_tap_ctx = m->rec;
	}
	m->input_vm = m->vm;
	m->pci = pci_bus_create(&pc, e);
	if (!m->pci)
		return -EINVAL;
	for (unsigned i = 0; i < o->nslots; i++) {
		const struct slot_opt *s = &o->slots[i];
		int rc = pci_create_device(m->pci, s->bus, s->slot, s->func, s->emulation, s->conf, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int add_fw_cfg(struct machine *m, const struct dhyve_options *o, struct errmsg *e)
{
	m->fw_cfg = fw_cfg_create(machine_dev_mem(m));
	if (!m->fw_cfg)
		return errmsg_set(e, ENOMEM, "fw_cfg: out of memory");
	int rc = fw_cfg_set_u64(m->fw_cfg, FW_CFG_RAM_SIZE, o->mem_bytes);
	if (rc == 0)
		rc = fw_cfg_set_u16(m->fw_cfg, FW_CFG_NB_CPUS, (uint16_t)o->ncpus);
	if (rc == 0)
		rc = fw_cfg_set_u16(m->fw_cfg, FW_CFG_MAX_CPUS, (uint16_t)o->ncpus);
	if (rc == 0)
		rc = fw_cfg_add_file(m->fw_cfg, "etc/dhyve/name", o->name, strlen(o->name));
	if (rc < 0)
		return errmsg_set(e, -rc, "fw_cfg: %s", strerror(-rc));
	rc = iobus_register(&m->pio, FW_CFG_PORT_SEL, FW_CFG_PORT_COUNT, "fw_cfg", fw_cfg_access, m->fw_cfg, e);
	if (rc == 0)
		rc = iobus_register(&m->pio, FW_CFG_PORT_DMA, FW_CFG_DMA_COUNT, "fw_cfg_dma", fw_cfg_dma_access,
				    m->fw_cfg, e);
	return rc;
}

static int add_devices(struct machine *m, const struct dhyve_options *o, struct errmsg *e)
{
	int rc = o->record_dir ? machine_start_recording(m, o, e) : 0;
	struct vm_io_ops live = { .pio = bus_pio, .mmio = bus_mmio, .opaque = m };
	struct vm_io_ops io = m->rec ? recorder_io_ops(m->rec, &live) : live;
	vm_set_io_ops(m->vm, &io);
	if (rc == 0)
		rc = add_uarts(m, o, e);
	if (rc == 0)
		rc = add_power(m, o, e);
	if (rc == 0)
		rc = add_pci(m, o, e);
	if (rc == 0)
		rc = machine_add_rtc(m, o, e);
	if (rc == 0)
		rc = add_fw_cfg(m, o, e);
	if (rc < 0)
		return rc;
	vm_set_exit_handler(m->vm, VMEXIT_PIO, on_pio, m);
	vm_set_exit_handler(m->vm, VMEXIT_KICK, on_kick, m);
	return 0;
}

int machine_create(struct machine *m, const struct dhyve_options *o, struct errmsg *e)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->input_lock, NULL);
	m->rtc_timer_fd = m->rtc_quit_fd = -1;
	iobus_init(&m->pio, "pio");
	iobus_init(&m->mmio, "mmio");
	struct vm_config vc = { .name = o->name, .mem_bytes = o->mem_bytes, .ncpus = o->ncpus,
				.deterministic = o->record_dir || o->replay_dir };
	m->vm = vm_create(&vc, e);
	if (!m->vm)
		return -EINVAL;
	m->dev_mem = *vm_gmem(m->vm);
	int rc = 0;
	if (o->replay_dir)
		rc = machine_start_replay(m, o, e); /* the log stands in for every device */
	else
		rc = add_devices(m, o, e);
	if (rc < 0)
		return rc;

	/* Firmware tables are guest memory, like the kernel: written for a replay too. */
	if (o->acpi && !o->restore_file) {
		struct acpi_config ac = { .ncpus = o->ncpus, .com = { o->com[0] != NULL, o->com[1] != NULL } };
		rc = acpi_install(vm_gmem(m->vm), &ac, NULL, e);
	}
	if (rc < 0)
		return rc;

	struct boot_state bs;
	if (!o->restore_file) { /* -r: RAM and registers come from the snapshot (machine_restore) */
		/* What a Linux kernel's e820 map must show as not RAM: the BIOS area (firmware tables)
		 * and the ECAM window, which Linux only trusts for PCI config when it is reserved. */
		const struct loader_range reserved[] = {
			{ MACHINE_BIOS_AREA_GPA, MACHINE_BIOS_AREA_SIZE },
			{ PCI_ECAM_BASE, PCI_ECAM_SIZE },
		};
		struct loader_opts lo = {
			.cmdline = o->cmdline, .initrd_path = o->initrd,
			.reserved = reserved, .nreserved = sizeof(reserved) / sizeof(reserved[0]),
		};
		rc = loader_load_file_opts(vm_gmem(m->vm), o->kernel, &lo, &bs, &m->kernel, e);
		/* The MP table, for a Linux kernel without ACPI (acpi=off, or built without it) to find the
		 * APs and the I/O APIC. Only for Linux: with it in memory, replay.sh's watchpoint replay of
		 * its test guest diverges (not understood yet), and the test guests have no use for it. */
		if (rc == 0 && m->kernel.format == KERNEL_BZIMAGE)
			rc = mptable_install(vm_gmem(m->vm), o->ncpus, e);
		if (rc < 0)
			return rc;
		rc = vcpu_apply_boot_state(vm_vcpu(m->vm, 0), &bs, e);
		if (rc < 0)
			return rc;
	}

	vm_set_exit_handler(m->vm, VMEXIT_SHUTDOWN, on_guest_death, m);
	vm_set_exit_handler(m->vm, VMEXIT_EMULATION_FAIL, on_guest_death, m);
	vm_set_exit_handler(m->vm, VMEXIT_FAIL_ENTRY, on_guest_death, m);
	if (o->trace_entries) {
		m->tracer = tracer_create(m->vm, o->trace_entries, e);
		if (!m->tracer)
			return -EINVAL;
	}
	/* After the death handlers: the fallback wraps them and passes on what it cannot complete. */
	struct fallback_config fc;
	fallback_config_init(&fc);
	fc.watchdog_s = o->watchdog_s;
	fc.tracer = m->tracer;
	fc.hang_to_debugger = hang_to_gdb;
	fc.hang_ctx = m;
	m->fallback = fallback_install(m->vm, &fc, e);
	if (!m->fallback)
		return -EINVAL;
	/* Last, around everything else (a debugger wraps them later and sees its own events first). */
	if (m->rec)
		return recorder_install(m->rec, e);
	if (m->rep)
		return replayer_install(m->rep, e);
	return 0;
}

void machine_destroy(struct machine *m)
{
	/* Back-ends first: their threads may still kick vCPUs of the VM. */
	for (unsigned i = 0; i < OPT_NCOM; i++) {
		chardev_close(m->com_backend[i]);
		uart16550_destroy(m->com[i]);
		m->com_backend[i] = NULL;
		m->com[i] = NULL;
	}
	power_ctl_destroy(m->power);
	m->power = NULL;
	machine_remove_rtc(m); /* its timer thread kicks vCPUs: stopped before the VM goes */
	fw_cfg_destroy(m->fw_cfg);
	m->fw_cfg = NULL;
	replayer_destroy(m->rep); /* joins its timer thread, which kicks vCPUs */
	m->rep = NULL;
	if (m->rec) { /* machine_finish_recording did not run: dhyve stopped before the guest ran */
		struct errmsg e;
		recorder_finish(m->rec, VM_END_ERROR, 0, "dhyve stopped before the guest ran", &e);
		m->rec = NULL;
	}
	fallback_destroy(m->fallback); /* joins its watchdog thread */
	m->fallback = NULL;
	tracer_destroy(m->tracer);
	m->tracer = NULL;
	pthread_mutex_lock(&m->input_lock);
	m->input_vm = NULL;
	pthread_mutex_unlock(&m->input_lock);
	vm_destroy(m->vm);
	m->vm = NULL;
	pci_bus_destroy(m->pci); /* after the vCPUs: the buses keep pointing at its regions */
	m->pci = NULL;
	iobus_destroy(&m->pio);
	iobus_destroy(&m->mmio);
	pthread_mutex_destroy(&m->input_lock);
}

bool machine_all_halted(struct machine *m)
{
	bool all = true;
	vm_pause_all(m->vm);
	for (unsigned i = 0; i < vm_ncpus(m->vm) && all; i++) {
		struct vcpu *v = vm_vcpu(m->vm, i);
		uint32_t mp;
		struct kvm_regs regs;
		if (vcpu_get_mp_state(v, &mp) < 0 || vcpu_get_regs(v, &regs) < 0) {
			all = false;
			break;
		}
		/* An AP that was never started cannot run either; the BSP must be in HLT with IF=0. */
		bool stuck = mp == KVM_MP_STATE_UNINITIALIZED || mp == KVM_MP_STATE_INIT_RECEIVED ||
			     (mp == KVM_MP_STATE_HALTED && !(regs.rflags & 0x200));
		all = stuck;
	}
	vm_resume_all(m->vm);
	return all;
}
