/* bhyve-style configuration variables: every flag becomes a "name=value" setting (-c → cpus,
 * -m → memory.size, -s → pci.0.S.F.device ...), and -o / -k set them directly. Later wins. */
#ifndef DHYVE_CLI_CONFIG_H
#define DHYVE_CLI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errmsg.h"

struct config_var {
	char *name;
	char *value;
};

struct config {
	struct config_var *vars;
	unsigned n, cap;
};

void config_init(struct config *c);
void config_free(struct config *c);
/* Sets name to value (replacing an earlier value). */
int config_set(struct config *c, const char *name, const char *value);
/* Parses "name=value"; -EINVAL with a message when there is no '=' or the name is empty. */
int config_set_assignment(struct config *c, const char *assignment, struct errmsg *e);
/* Reads a -k file: one "name=value" per line, '#' comments and blank lines ignored.
 * Errors name the file and line. */
int config_load_file(struct config *c, const char *path, struct errmsg *e);
const char *config_get(const struct config *c, const char *name);
const char *config_get_default(const struct config *c, const char *name, const char *dflt);

/* Typed readers: -EINVAL with "name: why" in e when the value is malformed. A missing variable
 * gives the default. */
int config_get_bool(const struct config *c, const char *name, bool dflt, bool *out, struct errmsg *e);
int config_get_uint(const struct config *c, const char *name, uint64_t dflt, uint64_t max, uint64_t *out,
		    struct errmsg *e);

/* A size with an optional K/M/G/T suffix (either case, "MB"/"MiB" forms too); a plain number
 * is taken in units of dflt_unit (bhyve's -m takes megabytes). */
int parse_size(const char *s, uint64_t dflt_unit, uint64_t *out);
/* A non-negative integer, decimal or 0x-hex, at most max. */
int parse_uint(const char *s, uint64_t max, uint64_t *out);

#endif
