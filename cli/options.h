/* dhyve's command line, as bhyve(8) spells it: flags become configuration variables (so -o and
 * -k can say the same), which are then checked and turned into one typed machine description. */
#ifndef DHYVE_CLI_OPTIONS_H
#define DHYVE_CLI_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/errmsg.h"
#include "cli/config.h"

#define OPT_MAX_SLOTS 32
#define OPT_NCOM 2

struct slot_opt {
	unsigned bus, slot, func;
	char emulation[32];
	char conf[256];
};

struct dhyve_options {
	char name[32];
	unsigned ncpus, sockets, cores, threads;
	uint64_t mem_bytes;
	struct slot_opt slots[OPT_MAX_SLOTS];
	unsigned nslots;
	const char *com[OPT_NCOM];     /* back-end spec of com1/com2, or NULL when absent */
	const char *kernel;            /* -o kernel=PATH */
	const char *cmdline;           /* -o cmdline=STRING */
	const char *initrd;            /* -o initrd=PATH: Linux initramfs (bzImage kernels only) */
	int debugexit_port;            /* -o debugexit.port=N, -1 when off */
	int gdb_port;                  /* -G [w][addr:]port: -1 when off */
	const char *gdb_addr;          /* listen address, default 127.0.0.1 */
	bool gdb_wait;                 /* w: hold the guest until gdb attaches */
	unsigned watchdog_s;           /* -o watchdog=SECONDS: report a vCPU that makes no progress; 0 = off */
	uint64_t trace_entries;        /* -o trace.entries=N: records per vCPU ring, 0 = tracing off */
	const char *trace_file;        /* -o trace.file=PATH: dump the rings there when the VM ends */
	const char *record_dir;        /* -o record=DIR: record the run into a repro bundle */
	const char *replay_dir;        /* -o replay=DIR: replay a bundle instead of running devices */
	bool record_copy_images;       /* -o record.copy_images: the kernel goes into the bundle */
	const char *record_panic_at;   /* -o record.panic_at=SYMBOL|ADDR: reaching it is a panic */
	const char *restore_file;      /* -r FILE: resume from a snapshot instead of booting the kernel */
	bool acpi, yield_on_hlt, exit_on_pause, strict_msr, rtc_localtime;
};

/* Parses argv (getopt-style, bhyve's flags) into cfg. Returns 0, 1 when -h was given (usage
 * printed), or a negative errno with a message in e. */
int options_parse_argv(int argc, char **argv, struct config *cfg, struct errmsg *e);
/* Checks every variable and fills o. Strings in o point into cfg, which must outlive o. */
int options_from_config(const struct config *cfg, struct dhyve_options *o, struct errmsg *e);
void options_usage(FILE *out);

#endif
