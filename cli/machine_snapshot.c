/* Checkpoint and resume of a whole machine: the configuration it was built from, its disk
 * images' identities, every vCPU, the irqchip and PIT, each device's save image by name, and
 * RAM, into a snapshot file (replay/snapfile.c) and back into a machine built from that file. */
#include "cli/machine_snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "devmodel/fw_cfg.h"
#include "devmodel/pci.h"
#include "devmodel/power.h"
#include "devmodel/rtc.h"
#include "devmodel/uart16550.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_state.h"

#ifndef DHYVE_BUILD_ID
#define DHYVE_BUILD_ID "dhyve-unknown"
#endif

const char *snapshot_build_id(void)
{
	return DHYVE_BUILD_ID;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the configuration ---- */

/* Keys that say how this dhyve was started, not what the machine is. A debugger's stub is one:
 * a VM checkpointed under gdb (-G w1234) would otherwise wait for gdb again on every resume. */
static bool not_saved(const char *name)
{
	return strcmp(name, "restore.file") == 0 || strcmp(name, "record") == 0 || strncmp(name, "record.", 7) == 0 ||
	       strcmp(name, "replay") == 0 || strncmp(name, "kernel.", 7) == 0 || strncmp(name, "gdb.", 4) == 0;
}

static int config_text(const struct config *cfg, char **text, size_t *len, struct errmsg *e)
{
	FILE *f = open_memstream(text, len);
	if (!f)
		return errmsg_set(e, ENOMEM, "out of memory");
	int rc = 0;
	for (unsigned i = 0; i < cfg->n; i++) {
		const struct config_var *v = &cfg->vars[i];
		if (not_saved(v->name))
			continue;
		if (strchr(v->value, '\n') && rc == 0)
			rc = errmsg_set(e, EINVAL, "configuration variable %s holds a newline: it cannot be saved", v->name);
		fprintf(f, "%s=%s\n", v->name, v->value);
	}
	fclose(f);
	if (rc < 0)
		free(*text);
	return rc;
}

int snapshot_open_for_resume(struct snapfile *snap, struct config *cfg, struct errmsg *e)
{
	const char *path = config_get(cfg, "restore.file");
	struct errmsg why;
	if (snapfile_open(snap, path, DHYVE_BUILD_ID, &why) < 0)
		return errmsg_set(e, EINVAL, "-r: %s", why.text);
	const struct snap_section *s = snapfile_find(snap, SNAP_SEC_CONFIG, "config");
	uint8_t *text;
	size_t len;
	int rc = !s ? errmsg_set(e, EINVAL, "-r %s: the snapshot has no configuration", path) :
		      snapfile_payload(snap, s, &text, &len, e);
	if (rc < 0) {
		snapfile_close(snap);
		return rc;
	}
	/* What the command line says wins (another console, -G to attach gdb, another name). */
	char *save = NULL;
	for (char *line = strtok_r((char *)text, "\n", &save); line && rc == 0; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (!config_get(cfg, line) && config_set(cfg, line, eq + 1) < 0)
			rc = errmsg_set(e, ENOMEM, "out of memory");
	}
	free(text);
	if (rc < 0)
		snapfile_close(snap);
	return rc;
}

/* ---- disk images: identified by size and modification time ---- */

/* The image path of a slot's configuration, for the emulations that have one. */
static bool disk_path(const struct slot_opt *s, char *path, size_t len)
{
	/* Single-image devices; a multi-port "ahci" slot is not checked (noted in the man page). */
	if (strcmp(s->emulation, "virtio-blk") != 0 && strcmp(s->emulation, "ahci-hd") != 0 &&
	    strcmp(s->emulation, "ahci-cd") != 0)
		return false;
	size_t n = strcspn(s->conf, ",");
	if (n == 0 || n >= len)
		return false;
	memcpy(path, s->conf, n);
	path[n] = '\0';
	return true;
}

static int disk_identity(const char *path, char *out, size_t len, struct errmsg *e)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errmsg_set(e, errno, "disk image %s: %s", path, strerror(errno));
	snprintf(out, len, "%s\n%" PRIu64 "\n%" PRIu64 "\n", path, (uint64_t)st.st_size,
		 (uint64_t)((uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec));
	return 0;
}

static void slot_name(char *out, size_t len, const struct slot_opt *s)
{
	snprintf(out, len, "pci.%u.%u.%u", s->bus, s->slot, s->func);
}

static int check_disks(const struct snapfile *snap, const struct dhyve_options *o, struct errmsg *e)
{
	for (unsigned i = 0; i < o->nslots; i++) {
		char path[256], name[32], now[512];
		if (!disk_path(&o->slots[i], path, sizeof(path)))
			continue;
		slot_name(name, sizeof(name), &o->slots[i]);
		const struct snap_section *s = snapfile_find(snap, SNAP_SEC_DISK, name);
		if (!s)
			return errmsg_set(e, EINVAL, "%s: the snapshot has no identity for disk image %s", name, path);
		uint8_t *then;
		size_t len;
		int rc = snapfile_payload(snap, s, &then, &len, e);
		if (rc == 0)
			rc = disk_identity(path, now, sizeof(now), e);
		if (rc == 0) {
			/* Compare size and mtime; the path may have been moved on the command line. */
			const char *a = strchr((char *)then, '\n'), *b = strchr(now, '\n');
			if (!a || !b || strcmp(a, b) != 0) {
				uint64_t sz0 = 0, mt0 = 0, sz1 = 0, mt1 = 0;
				if (a)
					sscanf(a, "%" SCNu64 "%" SCNu64, &sz0, &mt0);
				sscanf(b, "%" SCNu64 "%" SCNu64, &sz1, &mt1);
				rc = errmsg_set(e, EINVAL,
						"%s: disk image %s changed since the snapshot (size %" PRIu64 " -> %" PRIu64
						" bytes, modified %s): the guest's view of it would be wrong",
						name, path, sz0, sz1, mt0 == mt1 ? "at the same time" : "since");
			}
		}
		free(then);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- devices by name ---- */


static size_t uart_save(void *d, void *b, size_t l) { return uart16550_save(d, b, l); }
static int uart_load(void *d, const void *b, size_t l) { return uart16550_load(d, b, l); }
static size_t rtc_save_(void *d, void *b, size_t l) { return rtc_save(d, b, l); }
static int rtc_load_(void *d, const void *b, size_t l) { return rtc_load(d, b, l); }
static size_t fwcfg_save(void *d, void *b, size_t l) { return fw_cfg_save(d, b, l); }
static int fwcfg_load(void *d, const void *b, size_t l) { return fw_cfg_load(d, b, l); }
static size_t power_save(void *d, void *b, size_t l) { return power_ctl_save(d, b, l); }
static int power_load(void *d, const void *b, size_t l) { return power_ctl_load(d, b, l); }
static size_t bus_save(void *d, void *b, size_t l) { return pci_bus_save(d, b, l); }
static int bus_load(void *d, const void *b, size_t l) { return pci_bus_load(d, b, l); }
static size_t func_save(void *d, void *b, size_t l) { struct pci_func *f = d; return f->ops->save(f, b, l); }
static int func_load(void *d, const void *b, size_t l) { struct pci_func *f = d; return f->ops->load(f, b, l); }


/* Every device of the machine with state of its own. The bus (config spaces) comes before the
 * functions' own state: a virtio queue is checked against RAM and BARs when it is loaded. */
unsigned machine_snapshot_devices(struct machine *m, struct snap_dev *d)
{
	unsigned n = 0;
	static const char *const com[] = { "com1", "com2" };
	for (unsigned i = 0; i < OPT_NCOM; i++)
		if (m->com[i]) {
			d[n] = (struct snap_dev){ "", uart_save, uart_load, m->com[i] };
			snprintf(d[n].name, sizeof(d[n].name), "%s", com[i]);
			n++;
		}
	if (m->rtc)
		d[n++] = (struct snap_dev){ "rtc", rtc_save_, rtc_load_, m->rtc };
	if (m->fw_cfg)
		d[n++] = (struct snap_dev){ "fw_cfg", fwcfg_save, fwcfg_load, m->fw_cfg };
	if (m->power)
		d[n++] = (struct snap_dev){ "power", power_save, power_load, m->power };
	if (m->pci) {
		d[n++] = (struct snap_dev){ "pci", bus_save, bus_load, m->pci };
		for (unsigned s = 0; s < PCI_SLOTS; s++)
			for (unsigned fn = 0; fn < PCI_FUNCS; fn++) {
				struct pci_func *f = pci_find(m->pci, s, fn);
				if (f && f->ops->save && f->ops->load) {
					d[n] = (struct snap_dev){ "", func_save, func_load, f };
					snprintf(d[n].name, sizeof(d[n].name), "pci.0.%u.%u", s, fn);
					n++;
				}
			}
	}
	return n;
}

/* ---- checkpoint ---- */

static int add_vm_state(struct machine *m, struct snapfile_writer *w, struct errmsg *e)
{
	static struct vcpu_state vs; /* 11 KiB; the control socket is served by one thread */
	int rc = 0;
	for (unsigned i = 0; i < vm_ncpus(m->vm) && rc == 0; i++) {
		rc = vcpu_state_get(vm_vcpu(m->vm, i), &vs, e);
		size_t len = rc == 0 ? vcpu_state_encode(&vs, NULL, 0) : 0;
		uint8_t *buf = rc == 0 ? malloc(len) : NULL;
		if (rc == 0 && !buf)
			rc = errmsg_set(e, ENOMEM, "out of memory");
		if (rc == 0) {
			char name[16];
			snprintf(name, sizeof(name), "vcpu%u", i);
			vcpu_state_encode(&vs, buf, len);
			rc = snapfile_add(w, SNAP_SEC_VCPU, name, buf, len, true, e);
		}
		free(buf);
	}
	struct vm_chip_state cs;
	uint8_t chip[4096];
	if (rc == 0)
		rc = vm_chip_state_get(m->vm, &cs, true, e);
	if (rc == 0 && vm_chip_state_encode(&cs, NULL, 0) > sizeof(chip))
		rc = errmsg_set(e, E2BIG, "irqchip image larger than expected");
	if (rc == 0)
		rc = snapfile_add(w, SNAP_SEC_CHIP, "irqchip", chip, vm_chip_state_encode(&cs, chip, sizeof(chip)), true, e);
	return rc;
}

static int add_devices(struct machine *m, struct snapfile_writer *w, struct errmsg *e)
{
	static struct snap_dev devs[MACHINE_SNAPSHOT_MAX_DEVS];
	unsigned n = machine_snapshot_devices(m, devs);
	int rc = 0;
	for (unsigned i = 0; i < n && rc == 0; i++) {
		size_t len = devs[i].save(devs[i].dev, NULL, 0);
		uint8_t *buf = malloc(len ? len : 1);
		if (!buf)
			return errmsg_set(e, ENOMEM, "out of memory");
		if (devs[i].save(devs[i].dev, buf, len) != len)
			rc = errmsg_set(e, EIO, "device %s: its image changed size while saved", devs[i].name);
		else
			rc = snapfile_add(w, SNAP_SEC_DEVICE, devs[i].name, buf, len, true, e);
		free(buf);
	}
	return rc;
}

static int add_disks(const struct dhyve_options *o, struct snapfile_writer *w, struct errmsg *e)
{
	for (unsigned i = 0; i < o->nslots; i++) {
		char path[256], name[32], id[512];
		if (!disk_path(&o->slots[i], path, sizeof(path)))
			continue;
		slot_name(name, sizeof(name), &o->slots[i]);
		int rc = disk_identity(path, id, sizeof(id), e);
		if (rc == 0)
			rc = snapfile_add(w, SNAP_SEC_DISK, name, id, strlen(id), false, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* With the VM paused: everything, in the order resume applies it. */
static int write_all_sections(struct machine *m, struct snapfile_writer *w, struct errmsg *e)
{
	char *text;
	size_t len;
	struct dhyve_options o;
	int rc = options_from_config(m->cfg, &o, e);
	if (rc == 0)
		rc = config_text(m->cfg, &text, &len, e);
	if (rc < 0)
		return rc;
	rc = snapfile_add(w, SNAP_SEC_CONFIG, "config", text, len, false, e);
	free(text);
	if (rc == 0)
		rc = add_disks(&o, w, e);
	if (rc == 0)
		rc = add_vm_state(m, w, e);
	if (rc == 0)
		rc = add_devices(m, w, e);
	if (rc == 0)
		rc = snapfile_add_ram(w, vm_gmem(m->vm), e);
	return rc;
}

int machine_checkpoint(struct machine *m, const char *path, bool stop, struct snapshot_figures *fig,
		       struct errmsg *e)
{
	memset(fig, 0, sizeof(*fig));
	if (m->rec || m->rep)
		return errmsg_set(e, ENOTSUP, "snapshots of a recorded or replayed run are not supported yet");
	if (!m->cfg)
		return errmsg_set(e, EINVAL, "the machine's configuration is not known");
	uint64_t t0 = now_ns();
	vm_pause_all(m->vm);
	uint64_t t1 = now_ns();
	struct snapfile_writer *w = snapfile_create(path, DHYVE_BUILD_ID, e);
	int rc = w ? write_all_sections(m, w, e) : -EINVAL;
	if (rc == 0) {
		fig->bytes = snapfile_written(w) + SNAPFILE_SECTION_HEADER;
		rc = snapfile_commit(w, e);
	} else {
		snapfile_abort(w);
	}
	if (rc == 0 && stop)
		vm_request_end(m->vm, VM_END_POWEROFF, 0, "suspended to a snapshot by dhyvectl");
	uint64_t t2 = now_ns();
	vm_resume_all(m->vm);
	fig->pause_ns = t1 - t0;
	fig->write_ns = t2 - t1;
	fig->ram_bytes = vm_gmem(m->vm)->ram_size;
	return rc;
}

/* ---- resume ---- */

static int load_section(const struct snapfile *snap, enum snap_section_type type, const char *name, uint8_t **buf,
			size_t *len, struct errmsg *e)
{
	const struct snap_section *s = snapfile_find(snap, type, name);
	if (!s)
		return errmsg_set(e, EINVAL, "the snapshot has no '%s': it does not match this machine's configuration", name);
	return snapfile_payload(snap, s, buf, len, e);
}

static int restore_devices(struct machine *m, const struct snapfile *snap, struct errmsg *e)
{
	static struct snap_dev devs[MACHINE_SNAPSHOT_MAX_DEVS];
	unsigned n = machine_snapshot_devices(m, devs);
	for (unsigned i = 0; i < snap->nsec; i++) { /* and nothing in it that this machine lacks */
		if (snap->sec[i].type != SNAP_SEC_DEVICE)
			continue;
		unsigned k = 0;
		while (k < n && strcmp(devs[k].name, snap->sec[i].name) != 0)
			k++;
		if (k == n)
			return errmsg_set(e, EINVAL, "the snapshot has device '%s', which this machine does not", snap->sec[i].name);
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t *buf;
		size_t len;
		int rc = load_section(snap, SNAP_SEC_DEVICE, devs[i].name, &buf, &len, e);
		if (rc < 0)
			return rc;
		rc = devs[i].load(devs[i].dev, buf, len);
		free(buf);
		if (rc < 0)
			return errmsg_set(e, -rc, "device %s refused its image (%s)", devs[i].name, strerror(-rc));
	}
	if (m->rtc)
		machine_rtc_poll(m); /* its timer goes on from the loaded deadline */
	return 0;
}

static int restore_chips(struct machine *m, const struct snapfile *snap, struct errmsg *e)
{
	uint8_t *buf;
	size_t len;
	struct vm_chip_state cs;
	int rc = load_section(snap, SNAP_SEC_CHIP, "irqchip", &buf, &len, e);
	if (rc < 0)
		return rc;
	rc = vm_chip_state_decode(&cs, buf, len, e);
	free(buf);
	return rc < 0 ? rc : vm_chip_state_set(m->vm, &cs, true, e);
}

static int restore_vcpus(struct machine *m, const struct snapfile *snap, struct errmsg *e)
{
	unsigned nv = 0;
	for (unsigned i = 0; i < snap->nsec; i++)
		nv += snap->sec[i].type == SNAP_SEC_VCPU;
	if (nv != vm_ncpus(m->vm))
		return errmsg_set(e, EINVAL, "the snapshot has %u vCPUs, this machine %u", nv, vm_ncpus(m->vm));
	uint8_t *buf;
	size_t len;
	int rc = 0;
	static struct vcpu_state vs;
	for (unsigned i = 0; i < vm_ncpus(m->vm) && rc == 0; i++) {
		char name[16];
		snprintf(name, sizeof(name), "vcpu%u", i);
		rc = load_section(snap, SNAP_SEC_VCPU, name, &buf, &len, e);
		if (rc < 0)
			break;
		rc = vcpu_state_decode(&vs, buf, len, e);
		free(buf);
		if (rc == 0)
			rc = vcpu_state_set(vm_vcpu(m->vm, i), &vs, VCPU_STATE_ALL, e);
	}
	return rc;
}

int machine_restore(struct machine *m, const struct snapfile *snap, const struct dhyve_options *o,
		    struct snapshot_figures *fig, struct errmsg *e)
{
	memset(fig, 0, sizeof(*fig));
	uint64_t t0 = now_ns();
	int rc = check_disks(snap, o, e);
	if (rc == 0)
		rc = snapfile_load_ram(snap, vm_gmem(m->vm), e);
	/* The irqchip before the devices: a device that raises a line its image says is high then
	 * meets a PIC that remembers the line high (no new edge). Loaded the other way round, the
	 * fresh PIC saw an edge, passed it to the master's cascade input, and the snapshot's slave
	 * state then took the request back: the guest got a spurious IRQ 15. */
	if (rc == 0)
		rc = restore_chips(m, snap, e);
	if (rc == 0)
		rc = restore_devices(m, snap, e);
	if (rc == 0)
		rc = restore_vcpus(m, snap, e);
	fig->write_ns = now_ns() - t0;
	fig->bytes = snap->size;
	fig->ram_bytes = vm_gmem(m->vm)->ram_size;
	return rc;
}
