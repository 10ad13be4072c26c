/* Writing a whole buffer to a file descriptor: the one loop over short writes and EINTR that the
 * file writers (replay logs, snapshot files) share. */
#ifndef DHYVE_BASE_FDIO_H
#define DHYVE_BASE_FDIO_H

#include <stddef.h>

/* 0, or a negative errno (-EIO when write() returned 0). */
int fd_write_all(int fd, const void *buf, size_t len);

#endif
