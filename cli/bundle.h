/* Repro bundles: what -o record=DIR leaves and -o replay=DIR reads (docs/replay-format.md). */
#ifndef DHYVE_CLI_BUNDLE_H
#define DHYVE_CLI_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/errmsg.h"
#include "cli/config.h"

#define BUNDLE_CONFIG "config"     /* the configuration variables, dhyve -k syntax */
#define BUNDLE_KERNEL "kernel"     /* a copy of the kernel image (record.copy_images); also its config key */
#define BUNDLE_INITRD "initrd"     /* a copy of the initrd, when there is one */
#define BUNDLE_LOG    "log.rlog"   /* the replay log */
#define BUNDLE_TRACE  "trace.dtrace" /* the last exits before the end, a trace file */
#define BUNDLE_README "README.txt" /* how the run ended and the command that replays it */

void bundle_path(char *out, size_t size, const char *dir, const char *file);
/* Makes DIR (0700), copies the kernel (or notes its CRC and size) and writes the configuration. */
int bundle_prepare(const struct config *cfg, const char *dir, bool copy_images, struct errmsg *e);
/* A bundle file's whole text (malloc'd), or NULL with a message. */
char *bundle_read_text(const char *dir, const char *file, struct errmsg *e);
/* For replay=DIR in cfg: fills in the recorded configuration and the kernel to load. */
int bundle_load_for_replay(struct config *cfg, struct errmsg *e);
int bundle_write_readme(const char *dir, const char *name, const char *ended, const char *why,
			const char *what_is_there, struct errmsg *e);

#endif
