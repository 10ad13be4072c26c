/* Printing replay-log events for people: `dhyvectl --log-dump` and the replay's messages. */
#ifndef DHYVE_REPLAY_RLOG_DUMP_H
#define DHYVE_REPLAY_RLOG_DUMP_H

#include <stdbool.h>
#include <stdio.h>

#include "replay/rlog.h"

/* Whether the payload is long enough for its type's fixed part. */
bool rlog_event_well_formed(const struct rlog_event *ev);
void rlog_print_event(FILE *out, const struct rlog_event *ev);
/* Prints the whole log and a line of totals per type; a damaged log is an error naming the offset. */
int rlog_dump(FILE *out, const char *path, struct errmsg *e);

#endif
