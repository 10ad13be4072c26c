/* The control socket of a running VM (what dhyvectl talks to): one request line in, a text
 * reply out, one client at a time, served from dhyve's main loop. */
#ifndef DHYVE_CLI_CONTROL_H
#define DHYVE_CLI_CONTROL_H

#include <stdio.h>

#include "base/errmsg.h"

/* Longest request line a client may send. */
#define CONTROL_REQUEST_MAX 256

/* Writes the reply to a request to out; returns 0, or a negative errno (the reply then starts
 * with "error: " and says why). */
typedef int (*control_handler_fn)(void *ctx, const char *request, FILE *out);

struct control {
	int listen_fd;
	int lock_fd;
	char sock_path[108];
	char lock_path[256];
	control_handler_fn handler;
	void *ctx;
};

/* Takes the name's lock (a second dhyve with the same name is refused) and listens on
 * <rundir>/<name>.sock with mode 0600. */
int control_open(struct control *c, const char *name, control_handler_fn fn, void *ctx, struct errmsg *e);
/* Serves one pending client (call when listen_fd is readable). */
void control_serve_one(struct control *c);
/* Removes the socket and releases the lock. */
void control_close(struct control *c);

/* Client side: sends request to the VM's socket and copies the reply to out. Returns 0 when
 * the reply is not an error, 1 when it is, negative errno (with e) when the VM is unreachable. */
int control_request(const char *name, const char *request, FILE *out, struct errmsg *e);

#endif
