/* Door 4 of DESIGN.md: host time as devices see it. A device is given this ops table when it is
 * created and never reads a host clock itself, so a recorder can log and a replayer serve time. */
#ifndef DHYVE_BASE_TIME_SOURCE_H
#define DHYVE_BASE_TIME_SOURCE_H

#include <stdint.h>

struct time_source {
	/* Monotonic nanoseconds (CLOCK_MONOTONIC when live): never steps. What device
	 * oscillators count, and the clock of every deadline a device returns. */
	uint64_t (*now_ns)(void *ctx);
	/* Wall-clock nanoseconds since the Unix epoch, UTC (CLOCK_REALTIME when live). Devices read
	 * it once, to set their clock at creation, and then count now_ns. */
	int64_t (*wall_ns)(void *ctx);
	/* Seconds east of UTC of the host's local time at wall-clock second unix_s (tm_gmtoff when
	 * live): for a clock that keeps local time. NULL means UTC. */
	int32_t (*utc_offset_s)(void *ctx, int64_t unix_s);
	void *ctx;
};

/* A missing function reads as 0, so a test or harness fills in only what it needs. */
static inline uint64_t time_now_ns(const struct time_source *ts)
{
	return ts && ts->now_ns ? ts->now_ns(ts->ctx) : 0;
}

static inline int64_t time_wall_ns(const struct time_source *ts)
{
	return ts && ts->wall_ns ? ts->wall_ns(ts->ctx) : 0;
}

static inline int32_t time_utc_offset_s(const struct time_source *ts, int64_t unix_s)
{
	return ts && ts->utc_offset_s ? ts->utc_offset_s(ts->ctx, unix_s) : 0;
}

#endif
