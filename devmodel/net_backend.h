/* Host back-ends for network devices (bhyve's `-s N,virtio-net,BACKEND`): tap, slirp, a unix
 * socket, null, and an in-memory one. Frames to the host are sent synchronously and never block;
 * frames from the host arrive on a back-end thread, are queued here and taken by the vCPU thread
 * at an exit (door 5 of DESIGN.md), never written into a device from that thread. */
#ifndef DHYVE_DEVMODEL_NET_BACKEND_H
#define DHYVE_DEVMODEL_NET_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"

#define NET_FRAME_MAX 65550   /* an Ethernet frame with a 64 KiB payload: what a tap may hand us */
#define NET_RXQ_FRAMES 256    /* queued host-to-guest frames before the back-end drops */

struct net_backend;

/* spec (the first word of the device's conf):
 *   tapN, tap=NAME   a tap interface through /dev/net/tun (created if absent; needs CAP_NET_ADMIN
 *                    unless it exists and belongs to the caller)
 *   slirp            user-mode networking (libslirp): 10.0.2.0/24, gateway and DNS 10.0.2.2/3,
 *                    DHCP hands out 10.0.2.15; no privileges needed
 *   unix=PATH        frames as messages on a SOCK_SEQPACKET unix socket: dhyve connects to a
 *                    peer listening at PATH (a test's responder, a switch), which must be there
 *   null             drops what the guest sends, never receives
 * label prefixes what it reports while running ("virtio-net 1:0: slirp: ..."). NULL with e set
 * on failure (the message does not repeat the label). */
struct net_backend *net_backend_open(const char *spec, const char *label, struct errmsg *e);
void net_backend_close(struct net_backend *nb);
const char *net_backend_name(const struct net_backend *nb);

/* A frame from the guest. Never blocks: when the host side is slow the frame is dropped and
 * counted. 0, or a negative errno for a frame the back-end refuses (too long). */
int net_backend_send(struct net_backend *nb, const void *frame, size_t len);

/* Called on the back-end's thread after a frame was queued, so the VM kicks a vCPU to take it.
 * Set before frames can arrive. */
void net_backend_set_notify(struct net_backend *nb, void (*notify)(void *ctx), void *ctx);
/* The length of the oldest queued frame, 0 when none. Thread-safe, never blocks. */
size_t net_backend_peek(struct net_backend *nb);
/* Dequeues the oldest frame, copying up to max bytes of it; returns its full length (0: none). */
size_t net_backend_take(struct net_backend *nb, void *buf, size_t max);
/* Frames the back-end dropped: queue full, host side slow, too long. */
uint64_t net_backend_dropped(struct net_backend *nb);

/* In-memory back-end for unit tests, replay and fuzzing: no thread. Injected frames are queued as
 * if they had come from the host (notify runs on the caller's thread); sent frames are kept, the
 * last NET_MEMORY_TX of them. */
#define NET_MEMORY_TX 16
struct net_backend *net_backend_open_memory(void);
int net_backend_inject(struct net_backend *nb, const void *frame, size_t len);
/* Frames sent so far (all of them, also those no longer kept). */
uint64_t net_backend_memory_sent(struct net_backend *nb);
/* Sent frame i counted back from the newest (0 = the last one); NULL when not kept. */
const uint8_t *net_backend_memory_frame(struct net_backend *nb, unsigned i, size_t *len);

#endif
