/* Host back-ends for serial ports (bhyve's -l com1,BACKEND): stdio, a file, a pty, a unix
 * socket. Output is written synchronously; input arrives on a back-end thread, is queued here
 * and taken by the vCPU thread at an exit (door 5 of DESIGN.md). */
#ifndef DHYVE_DEVMODEL_CHARDEV_H
#define DHYVE_DEVMODEL_CHARDEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/errmsg.h"

struct chardev;

/* spec is the part after "com1,":
 *   stdio          the terminal (raw mode while the VM runs when stdin is a tty; restored on close)
 *   pty            a new pseudo-terminal; its path is printed to stderr ("dhyve: com1: /dev/pts/N")
 *   file=PATH      output appended to PATH (created 0600), no input
 *   unix=PATH      listens on a unix socket at PATH (0600); one client at a time, input and output
 *   null           output discarded, no input
 * An unknown spec or an unusable path gives -EINVAL/-errno and a message. On failure the
 * result is NULL, e holds "<label>: <why>" and errno the error. A unix= path that exists is
 * replaced only if it is a socket; only one stdio back-end may be open at a time (-EBUSY). */
struct chardev *chardev_open(const char *spec, const char *label, struct errmsg *e);
void chardev_close(struct chardev *cd);

/* Guest output. Never blocks on a slow or absent reader (socket/pty without a peer: bytes are
 * dropped and counted); stdio and file writes complete. */
void chardev_write(struct chardev *cd, const void *buf, size_t len);

/* Called on the back-end's input thread after new bytes were queued (so the VM can kick a vCPU
 * to take them at an exit). Set before input can arrive. */
void chardev_set_notify(struct chardev *cd, void (*notify)(void *ctx), void *ctx);
/* Takes up to max queued input bytes; returns how many. Thread-safe, never blocks. */
size_t chardev_take_input(struct chardev *cd, void *buf, size_t max);
/* Called with every byte chardev_take_input hands out, on the taking (vCPU) thread: door 5 as the
 * recorder sees it. Set before the VM runs. */
void chardev_set_input_tap(struct chardev *cd, void (*tap)(void *ctx, const void *buf, size_t len), void *ctx);
/* Bytes queued and not yet taken. */
size_t chardev_pending(struct chardev *cd);
/* The path of a pty or socket back-end, or NULL. */
const char *chardev_path(const struct chardev *cd);
/* Output bytes dropped so far (no client on a socket, a pty or socket peer too slow, a file
 * write error, the memory back-end's cap). */
uint64_t chardev_dropped(struct chardev *cd);

/* Puts the terminal back the way the stdio back-end found it. Safe to call at any time, any
 * number of times, and from a signal handler (only tcsetattr(), which is async-signal-safe);
 * also registered with atexit() when stdio first enters raw mode. */
void chardev_restore_terminal(void);

/* In-memory back-end for unit tests, replay and fuzzing: output is captured in a growable
 * buffer (capped at 16 MiB, the excess counted as dropped); input is whatever the caller
 * injects. No thread. */
struct chardev *chardev_open_memory(void);
/* Queues input as if it had arrived from the host; returns the bytes queued (fewer than len
 * when the 4 KiB input queue is full). Calls the notify callback, on the caller's thread. */
size_t chardev_inject_input(struct chardev *cd, const void *buf, size_t len);
/* The captured output of a memory back-end (NULL and *len = 0 for other back-ends). The
 * pointer is valid until the next chardev_write or chardev_memory_clear; do not call it while
 * another thread writes. */
const uint8_t *chardev_memory_output(const struct chardev *cd, size_t *len);
void chardev_memory_clear(struct chardev *cd);

#endif
