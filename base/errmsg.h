/* Error messages that travel with a negative errno: the function that fails says why, once,
 * and the caller (usually the CLI) prints "dhyve: <what>: <why>". */
#ifndef DHYVE_BASE_ERRMSG_H
#define DHYVE_BASE_ERRMSG_H

#include <stddef.h>

#define ERRMSG_LEN 256

struct errmsg {
	char text[ERRMSG_LEN];
};

/* Formats into e (if e is not NULL) and returns -err, so a failing path reads
 * `return errmsg_set(e, EINVAL, "segment %d overlaps", i);`. */
int errmsg_set(struct errmsg *e, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
