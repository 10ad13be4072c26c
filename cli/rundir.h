/* Where a running VM's control socket and lock live: $DHYVE_RUNDIR, else /run/dhyve for root,
 * else $XDG_RUNTIME_DIR/dhyve, else /tmp/dhyve-UID. The directory is 0700, the socket 0600. */
#ifndef DHYVE_CLI_RUNDIR_H
#define DHYVE_CLI_RUNDIR_H

#include <stddef.h>

#include "base/errmsg.h"

/* The directory, created (0700) when create is set; -errno with a message otherwise. */
int rundir_path(char *buf, size_t len, int create, struct errmsg *e);
/* <rundir>/<name><suffix> */
int rundir_file(char *buf, size_t len, const char *name, const char *suffix, int create, struct errmsg *e);

#endif
