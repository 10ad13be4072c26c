/* Block back-ends behind virtio-blk (and later AHCI): a small ops table so replay and fuzz can put
 * their own disk in place; the raw-file one reads and writes a host file or block device. */
#ifndef DHYVE_DEVMODEL_BLK_BACKEND_H
#define DHYVE_DEVMODEL_BLK_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"

/* Each call is one whole request at a byte offset; 0 or a negative errno. The calls are
 * synchronous today; an asynchronous worker can later sit behind the same table (submit on the
 * vCPU thread, complete at an exit) without the device models changing their request parsing. */
struct blk_backend_ops {
	int (*read)(void *ctx, void *buf, size_t len, uint64_t off);
	int (*write)(void *ctx, const void *buf, size_t len, uint64_t off);
	int (*flush)(void *ctx);
	int (*discard)(void *ctx, uint64_t off, uint64_t len); /* NULL: not supported */
	void (*close)(void *ctx);
};

struct blk_backend {
	const struct blk_backend_ops *ops;
	void *ctx;
	uint64_t size; /* bytes */
	bool ro;
};

/* Opens path read-write (read-only with ro) as a raw image into *out: 0, or a negative errno
 * with a message. */
int blk_backend_open_raw(const char *path, bool ro, struct blk_backend **out, struct errmsg *e);
void blk_backend_close(struct blk_backend *b); /* NULL is fine */

#endif
