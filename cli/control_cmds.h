/* What a running dhyve answers on its control socket: get-all, get-stats, destroy. */
#ifndef DHYVE_CLI_CONTROL_CMDS_H
#define DHYVE_CLI_CONTROL_CMDS_H

#include <stdio.h>

/* control_handler_fn over a struct machine. */
int control_cmds_handle(void *machine, const char *request, FILE *out);

#endif
