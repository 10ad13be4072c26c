/* bhyve-compatible flags → configuration variables → checked dhyve_options. Every refusal
 * names the flag or variable and says why. */
#include "cli/options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fallback/fallback.h"
#include "trace/ring.h"
#include "trace/tracer.h"
#include "vmm/vm.h"

#define DEFAULT_MEM (256ull << 20)

/* Emulations this build implements, and the ones it knows by name but does not yet. */
static const char *const known_emulations[] = { "hostbridge", "amd_hostbridge", "lpc", "virtio-blk", "virtio-net",
						"ahci", "ahci-hd", "ahci-cd" };
static const char *const future_emulations[] = {
	"virtio-rnd", "virtio-console", "virtio-9p", "virtio-scsi",
	"nvme", "e1000", "uart", "xhci", "fbuf", "passthru",
};

void options_usage(FILE *out)
{
	fprintf(out,
		"usage: dhyve [-AHPuw] [-c [[cpus=]n][,sockets=n][,cores=n][,threads=n]] [-G [w][addr:]port]\n"
		"             [-k config_file] [-l lpcdev[,conf]] [-m memsize[K|M|G|T]] [-o var=value]\n"
		"             [-s slot,emulation[,conf]] vmname\n"
		"       dhyve -r file [flags] [vmname]\n"
		"       -A: create ACPI tables\n"
		"       -c: number of vCPUs (default 1)\n"
		"       -G: GDB remote stub on port (127.0.0.1 unless addr is given); w: wait for gdb\n"
		"       -H: accepted (a halted vCPU always sleeps in the kernel here)\n"
		"       -k: read name=value configuration variables from a file\n"
		"       -l: LPC device: com1,BACKEND or com2,BACKEND (stdio, pty, file=PATH, unix=PATH, null)\n"
		"       -m: guest memory (default 256M; a plain number means megabytes)\n"
		"       -o: set a configuration variable (kernel=PATH, initrd=PATH, cmdline=STRING,\n"
		"           debugexit.port=N, trace.entries=N, trace.file=PATH, watchdog=SECONDS, record=DIR,\n"
		"           replay=DIR, record.copy_images=BOOL, record.panic_at=SYMBOL|ADDR)\n"
		"       -P: accepted (PAUSE exits are handled by KVM)\n"
		"       -r: resume from a snapshot file (dhyvectl --checkpoint/--suspend); the VM name\n"
		"           and configuration come from it unless given here\n"
		"       -s: PCI slot: [bus:]slot[:func],emulation[,conf] (hostbridge, lpc,\n"
		"           virtio-blk,PATH[,ro][,nodelete][,sectorsize=N[/P]],\n"
		"           virtio-net,tapN|tap=NAME|slirp|unix=PATH|null[,mac=xx:xx:xx:xx:xx:xx])\n"
		"       -u: RTC keeps UTC\n"
		"       -w: ignore accesses to unimplemented MSRs\n");
}

static int set(struct config *cfg, const char *name, const char *value, struct errmsg *e)
{
	return config_set(cfg, name, value) < 0 ? errmsg_set(e, ENOMEM, "out of memory") : 0;
}

/* -c [[cpus=]n][,sockets=n][,cores=n][,threads=n] */
static int parse_cpus(struct config *cfg, const char *arg, struct errmsg *e)
{
	char buf[256];
	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
		return errmsg_set(e, EINVAL, "-c %s: too long", arg);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *key = "cpus", *val = tok;
		if (eq) {
			*eq = '\0';
			key = tok;
			val = eq + 1;
			if (strcmp(key, "cpus") && strcmp(key, "sockets") && strcmp(key, "cores") && strcmp(key, "threads"))
				return errmsg_set(e, EINVAL, "-c %s: unknown topology key '%s'", arg, key);
		}
		int rc = set(cfg, key, val, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* -s [bus:]slot[:func],emulation[,conf] → pci.B.S.F.device=emulation and pci.B.S.F.config=conf */
static int parse_slot(struct config *cfg, const char *arg, struct errmsg *e)
{
	const char *comma = strchr(arg, ',');
	if (!comma || comma == arg || !comma[1])
		return errmsg_set(e, EINVAL, "-s %s: expected slot,emulation[,conf]", arg);
	unsigned v[3] = { 0, 0, 0 }, n = 0;
	const char *p = arg;
	while (p < comma) {
		if (n == 3)
			return errmsg_set(e, EINVAL, "-s %s: slot has more than bus:slot:func", arg);
		char *end;
		errno = 0;
		unsigned long x = strtoul(p, &end, 10);
		if (end == p || errno || (end != comma && *end != ':'))
			return errmsg_set(e, EINVAL, "-s %s: '%.*s' is not a slot number", arg, (int)(comma - arg), arg);
		v[n++] = x > 0xffff ? 0xffff : (unsigned)x;
		p = end + (*end == ':');
	}
	unsigned bus = 0, slot, func = 0;
	if (n == 3) {
		bus = v[0], slot = v[1], func = v[2];
	} else {
		slot = v[0];
		func = n == 2 ? v[1] : 0;
	}
	if (bus > 255 || slot > 31 || func > 7)
		return errmsg_set(e, EINVAL, "-s %s: bus must be 0-255, slot 0-31, function 0-7", arg);
	char key[64], emu[64];
	const char *conf = strchr(comma + 1, ',');
	size_t emulen = conf ? (size_t)(conf - comma - 1) : strlen(comma + 1);
	if (emulen == 0 || emulen >= sizeof(emu))
		return errmsg_set(e, EINVAL, "-s %s: bad emulation name", arg);
	memcpy(emu, comma + 1, emulen);
	emu[emulen] = '\0';
	snprintf(key, sizeof(key), "pci.%u.%u.%u.device", bus, slot, func);
	if (config_get(cfg, key))
		return errmsg_set(e, EEXIST, "-s %s: slot %u:%u:%u is already used by %s", arg, bus, slot, func,
				  config_get(cfg, key));
	int rc = set(cfg, key, emu, e);
	if (rc == 0 && conf) {
		snprintf(key, sizeof(key), "pci.%u.%u.%u.config", bus, slot, func);
		rc = set(cfg, key, conf + 1, e);
	}
	return rc;
}

/* -G [w][bind_addr:]port → gdb.port, gdb.address, gdb.wait (bhyve's spelling) */
static int parse_gdb(struct config *cfg, const char *arg, struct errmsg *e)
{
	const char *p = arg;
	int rc = 0;
	if (*p == 'w') {
		rc = set(cfg, "gdb.wait", "true", e);
		p++;
	}
	const char *colon = strrchr(p, ':');
	if (rc == 0 && colon) {
		char addr[64];
		if ((size_t)(colon - p) >= sizeof(addr) || colon == p)
			return errmsg_set(e, EINVAL, "-G %s: bad listen address", arg);
		memcpy(addr, p, (size_t)(colon - p));
		addr[colon - p] = '\0';
		rc = set(cfg, "gdb.address", addr, e);
		p = colon + 1;
	}
	return rc < 0 ? rc : set(cfg, "gdb.port", p, e);
}

/* -l com1,BACKEND → lpc.com1.path=BACKEND */
static int parse_lpc(struct config *cfg, const char *arg, struct errmsg *e)
{
	const char *comma = strchr(arg, ',');
	size_t len = comma ? (size_t)(comma - arg) : strlen(arg);
	if (len == 4 && (strncmp(arg, "com1", 4) == 0 || strncmp(arg, "com2", 4) == 0)) {
		if (!comma || !comma[1])
			return errmsg_set(e, EINVAL, "-l %s: expected %.4s,BACKEND (stdio, pty, file=PATH, unix=PATH, null)", arg, arg);
		char key[32];
		snprintf(key, sizeof(key), "lpc.%.4s.path", arg);
		return set(cfg, key, comma + 1, e);
	}
	return errmsg_set(e, EINVAL, "-l %s: unknown LPC device '%.*s' (this build has com1 and com2)", arg, (int)len, arg);
}

int options_parse_argv(int argc, char **argv, struct config *cfg, struct errmsg *e)
{
	int ch, rc = 0;
	optind = 0; /* 0, not 1: glibc then also forgets the position inside a bundled flag group */
	opterr = 0;
	while (rc == 0 && (ch = getopt(argc, argv, ":Ac:G:Hhk:l:m:o:Pr:s:uw")) != -1) {
		switch (ch) {
		case 'A': rc = set(cfg, "acpi_tables", "true", e); break;
		case 'c': rc = parse_cpus(cfg, optarg, e); break;
		case 'G': rc = parse_gdb(cfg, optarg, e); break;
		case 'H': rc = set(cfg, "x86.vmexit_on_hlt", "true", e); break;
		case 'h': return 1;
		case 'k': rc = config_load_file(cfg, optarg, e); break;
		case 'l': rc = parse_lpc(cfg, optarg, e); break;
		case 'm': rc = set(cfg, "memory.size", optarg, e); break;
		case 'o': rc = config_set_assignment(cfg, optarg, e); break;
		case 'P': rc = set(cfg, "x86.vmexit_on_pause", "true", e); break;
		case 'r': rc = set(cfg, "restore.file", optarg, e); break;
		case 's': rc = parse_slot(cfg, optarg, e); break;
		case 'u': rc = set(cfg, "rtc.use_localtime", "false", e); break;
		case 'w': rc = set(cfg, "x86.strictmsr", "false", e); break;
		case ':': return errmsg_set(e, EINVAL, "-%c: needs an argument", optopt);
		default: return errmsg_set(e, EINVAL, "-%c: unknown option (see dhyve -h)", optopt);
		}
	}
	if (rc < 0)
		return rc;
	if (optind < argc - 1)
		return errmsg_set(e, EINVAL, "'%s': unexpected argument after the VM name '%s'", argv[optind + 1], argv[optind]);
	if (optind == argc - 1)
		return set(cfg, "name", argv[optind], e);
	if (!config_get(cfg, "name") && !config_get(cfg, "restore.file")) /* -r: the snapshot names it */
		return errmsg_set(e, EINVAL, "no VM name given (usage: dhyve [flags] vmname)");
	return 0;
}

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static int collect_slots(const struct config *cfg, struct dhyve_options *o, struct errmsg *e)
{
	for (unsigned i = 0; i < cfg->n; i++) {
		const struct config_var *v = &cfg->vars[i];
		unsigned bus, slot, func;
		int end = 0;
		if (sscanf(v->name, "pci.%u.%u.%u.device%n", &bus, &slot, &func, &end) != 3 || v->name[end] != '\0')
			continue;
		if (bus > 255 || slot > 31 || func > 7)
			return errmsg_set(e, EINVAL, "%s: bus must be 0-255, slot 0-31, function 0-7", v->name);
		if (!in_list(v->value, known_emulations, sizeof(known_emulations) / sizeof(known_emulations[0]))) {
			if (in_list(v->value, future_emulations, sizeof(future_emulations) / sizeof(future_emulations[0])))
				return errmsg_set(e, ENOTSUP, "-s %u:%u,%s: device emulation '%s' is not implemented in this build yet",
						  slot, func, v->value, v->value);
			return errmsg_set(e, EINVAL, "-s %u:%u,%s: unknown device emulation '%s'", slot, func, v->value, v->value);
		}
		if (o->nslots == OPT_MAX_SLOTS)
			return errmsg_set(e, E2BIG, "more than %d PCI slots", OPT_MAX_SLOTS);
		struct slot_opt *s = &o->slots[o->nslots++];
		*s = (struct slot_opt){ .bus = bus, .slot = slot, .func = func };
		snprintf(s->emulation, sizeof(s->emulation), "%s", v->value);
		char key[64];
		snprintf(key, sizeof(key), "pci.%u.%u.%u.config", bus, slot, func);
		const char *conf = config_get_default(cfg, key, "");
		if (strlen(conf) >= sizeof(s->conf)) /* a cut image path would open another file */
			return errmsg_set(e, ENAMETOOLONG, "-s %u:%u,%s: device configuration longer than %zu bytes", slot, func,
					  v->value, sizeof(s->conf) - 1);
		snprintf(s->conf, sizeof(s->conf), "%s", conf);
	}
	return 0;
}

static int get_topology(const struct config *cfg, struct dhyve_options *o, struct errmsg *e)
{
	uint64_t cpus, sockets, cores, threads;
	int rc = config_get_uint(cfg, "cpus", 1, VM_MAX_VCPUS, &cpus, e);
	if (rc == 0)
		rc = config_get_uint(cfg, "sockets", 0, VM_MAX_VCPUS, &sockets, e);
	if (rc == 0)
		rc = config_get_uint(cfg, "cores", 1, VM_MAX_VCPUS, &cores, e);
	if (rc == 0)
		rc = config_get_uint(cfg, "threads", 1, VM_MAX_VCPUS, &threads, e);
	if (rc < 0)
		return rc;
	if (cpus == 0)
		return errmsg_set(e, EINVAL, "cpus: at least one vCPU is needed");
	if (cores == 0 || threads == 0) /* found by fuzz/cmdline: the division below trapped */
		return errmsg_set(e, EINVAL, "-c: cores and threads must be at least 1");
	if (sockets == 0) /* bhyve: sockets defaults to cpus / (cores * threads) */
		sockets = cpus / (cores * threads) ? cpus / (cores * threads) : 1;
	if (sockets * cores * threads != cpus)
		return errmsg_set(e, EINVAL, "-c: sockets (%llu) x cores (%llu) x threads (%llu) must equal cpus (%llu)",
				  (unsigned long long)sockets, (unsigned long long)cores, (unsigned long long)threads,
				  (unsigned long long)cpus);
	o->ncpus = (unsigned)cpus;
	o->sockets = (unsigned)sockets;
	o->cores = (unsigned)cores;
	o->threads = (unsigned)threads;
	return 0;
}

static int get_gdb(const struct config *cfg, struct dhyve_options *o, struct errmsg *e)
{
	o->gdb_port = -1;
	o->gdb_addr = config_get_default(cfg, "gdb.address", "127.0.0.1");
	const char *port = config_get(cfg, "gdb.port");
	if (!port)
		return 0;
	uint64_t v;
	if (parse_uint(port, 65535, &v) < 0)
		return errmsg_set(e, EINVAL, "-G: '%s' is not a TCP port (0-65535)", port);
	o->gdb_port = (int)v;
	struct in_addr a;
	if (inet_pton(AF_INET, o->gdb_addr, &a) != 1)
		return errmsg_set(e, EINVAL, "-G: '%s' is not an IPv4 address", o->gdb_addr);
	return config_get_bool(cfg, "gdb.wait", false, &o->gdb_wait, e);
}

/* record=DIR and replay=DIR (one or the other). A recording keeps trace rings by default: the
 * last records before a panic go into the bundle. */
static int get_record(const struct config *cfg, struct dhyve_options *o, struct errmsg *e)
{
	o->record_dir = config_get(cfg, "record");
	o->replay_dir = config_get(cfg, "replay");
	if ((o->record_dir && !o->record_dir[0]) || (o->replay_dir && !o->replay_dir[0]))
		return errmsg_set(e, EINVAL, "%s: empty directory name", o->record_dir ? "record" : "replay");
	if (o->record_dir && o->replay_dir)
		return errmsg_set(e, EINVAL, "record=%s and replay=%s: choose one", o->record_dir, o->replay_dir);
	o->record_panic_at = config_get(cfg, "record.panic_at");
	if (o->record_panic_at && (!o->record_dir || !o->record_panic_at[0]))
		return errmsg_set(e, EINVAL, "record.panic_at=%s: needs record=DIR and a symbol or address", o->record_panic_at);
	return config_get_bool(cfg, "record.copy_images", true, &o->record_copy_images, e);
}

/* Rings are opt-in: trace.entries turns them on; trace.file alone turns them on with the
 * default size. */
static int get_trace(const struct config *cfg, struct dhyve_options *o, struct errmsg *e)
{
	o->trace_file = config_get(cfg, "trace.file");
	if (o->trace_file && !o->trace_file[0])
		return errmsg_set(e, EINVAL, "trace.file: empty path");
	uint64_t dflt = o->trace_file || o->record_dir ? TRACE_DEFAULT_ENTRIES : 0;
	int rc = config_get_uint(cfg, "trace.entries", dflt, TRACE_RING_MAX, &o->trace_entries, e);
	if (rc < 0)
		return rc;
	if (o->trace_entries && o->trace_entries < TRACE_RING_MIN)
		return errmsg_set(e, EINVAL, "trace.entries: at least %d records per vCPU", TRACE_RING_MIN);
	return 0;
}

int options_from_config(const struct config *cfg, struct dhyve_options *o, struct errmsg *e)
{
	memset(o, 0, sizeof(*o));
	const char *name = config_get_default(cfg, "name", "");
	if (!name[0])
		return errmsg_set(e, EINVAL, "no VM name given");
	if (strlen(name) > VM_NAME_MAX)
		return errmsg_set(e, ENAMETOOLONG, "VM name '%s' is longer than %d characters", name, VM_NAME_MAX);
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p < 0x21 || *p > 0x7e)
			return errmsg_set(e, EINVAL, "VM name '%s' may not contain '/', spaces or control characters", name);
	snprintf(o->name, sizeof(o->name), "%s", name);

	int rc = get_topology(cfg, o, e);
	if (rc < 0)
		return rc;
	const char *mem = config_get(cfg, "memory.size");
	o->mem_bytes = DEFAULT_MEM;
	if (mem && parse_size(mem, 1ull << 20, &o->mem_bytes) < 0)
		return errmsg_set(e, EINVAL, "-m %s: not a size (use e.g. 256M, 1G)", mem);
	if (o->mem_bytes < (2ull << 20) || o->mem_bytes > (1ull << 40))
		return errmsg_set(e, EINVAL, "-m %s: memory must be between 2M and 1T", mem ? mem : "");
	if (o->mem_bytes & 0xfff)
		return errmsg_set(e, EINVAL, "-m %s: memory must be a multiple of 4K", mem);

	if ((rc = collect_slots(cfg, o, e)) < 0)
		return rc;
	o->com[0] = config_get(cfg, "lpc.com1.path");
	o->com[1] = config_get(cfg, "lpc.com2.path");
	o->kernel = config_get(cfg, "kernel");
	o->restore_file = config_get(cfg, "restore.file");
	if (o->restore_file && (!o->restore_file[0] || config_get(cfg, "record") || config_get(cfg, "replay")))
		return errmsg_set(e, EINVAL, "-r %s: needs a file, and cannot be combined with record= or replay= yet", o->restore_file);
	o->cmdline = config_get(cfg, "cmdline");
	o->initrd = config_get(cfg, "initrd");
	if (!o->kernel)
		return errmsg_set(e, EINVAL, "no kernel to boot: give -o kernel=PATH (ELF, Multiboot or Linux bzImage)");
	if (o->initrd && !o->initrd[0])
		return errmsg_set(e, EINVAL, "initrd: empty path");

	uint64_t port;
	o->debugexit_port = -1;
	if (config_get(cfg, "debugexit.port")) {
		if ((rc = config_get_uint(cfg, "debugexit.port", 0, 0xffff, &port, e)) < 0)
			return rc;
		o->debugexit_port = (int)port;
	}
	if ((rc = get_record(cfg, o, e)) < 0 || (rc = get_trace(cfg, o, e)) < 0 || (rc = get_gdb(cfg, o, e)) < 0)
		return rc;
	uint64_t watchdog;
	if ((rc = config_get_uint(cfg, "watchdog", FALLBACK_WATCHDOG_DEFAULT_S, 86400, &watchdog, e)) < 0)
		return rc;
	o->watchdog_s = (unsigned)watchdog;
	if ((rc = config_get_bool(cfg, "acpi_tables", false, &o->acpi, e)) < 0 ||
	    (rc = config_get_bool(cfg, "x86.vmexit_on_hlt", false, &o->yield_on_hlt, e)) < 0 ||
	    (rc = config_get_bool(cfg, "x86.vmexit_on_pause", false, &o->exit_on_pause, e)) < 0 ||
	    (rc = config_get_bool(cfg, "x86.strictmsr", true, &o->strict_msr, e)) < 0 ||
	    (rc = config_get_bool(cfg, "rtc.use_localtime", true, &o->rtc_localtime, e)) < 0)
		return rc;
	return 0;
}
