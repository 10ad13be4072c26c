/* The raw-file block back-end: pread/pwrite on a host file or block device, fdatasync for flush
 * and hole punching for discard. */
#include "devmodel/blk_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct raw {
	int fd;
	bool is_blockdev;
};

static int raw_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct raw *r = ctx;
	uint8_t *p = buf;
	while (len) {
		ssize_t n = pread(r->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			/* Past the end of a file whose size is not a sector multiple: the tail reads
			 * as zeroes, as it would from a disk padded to whole sectors. */
			memset(p, 0, len);
			return 0;
		}
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

static int raw_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct raw *r = ctx;
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = pwrite(r->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

static int raw_flush(void *ctx)
{
	struct raw *r = ctx;
	return fdatasync(r->fd) < 0 ? -errno : 0;
}

static int raw_discard(void *ctx, uint64_t off, uint64_t len)
{
	struct raw *r = ctx;
	if (r->is_blockdev) {
		uint64_t range[2] = { off, len };
		return ioctl(r->fd, BLKDISCARD, range) < 0 ? -errno : 0;
	}
	/* KEEP_SIZE: a discard must not shrink the disk the guest sees. */
	if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return -errno;
	return 0;
}

static void raw_close(void *ctx)
{
	struct raw *r = ctx;
	close(r->fd);
	free(r);
}

static const struct blk_backend_ops raw_ops = {
	.read = raw_read, .write = raw_write, .flush = raw_flush, .discard = raw_discard, .close = raw_close,
};

int blk_backend_open_raw(const char *path, bool ro, struct blk_backend **out, struct errmsg *e)
{
	int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(e, errno, "%s: %s", path, strerror(errno));
	struct stat st;
	uint64_t size = 0;
	bool blockdev = false;
	int rc;
	if (fstat(fd, &st) < 0) {
		rc = errmsg_set(e, errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		blockdev = true;
		if (ioctl(fd, BLKGETSIZE64, &size) < 0) {
			rc = errmsg_set(e, errno, "%s: cannot get the device size: %s", path, strerror(errno));
			goto fail;
		}
	} else if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else {
		rc = errmsg_set(e, EINVAL, "%s: not a regular file or block device", path);
		goto fail;
	}
	struct raw *r = calloc(1, sizeof(*r));
	struct blk_backend *b = calloc(1, sizeof(*b));
	if (!r || !b) {
		free(r);
		free(b);
		rc = errmsg_set(e, ENOMEM, "out of memory");
		goto fail;
	}
	*r = (struct raw){ .fd = fd, .is_blockdev = blockdev };
	*b = (struct blk_backend){ .ops = &raw_ops, .ctx = r, .size = size, .ro = ro };
	*out = b;
	return 0;
fail:
	close(fd);
	return rc;
}

void blk_backend_close(struct blk_backend *b)
{
	if (!b)
		return;
	if (b->ops->close)
		b->ops->close(b->ctx);
	free(b);
}
