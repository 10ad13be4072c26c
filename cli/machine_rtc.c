/* The RTC's side of the machine: the live host clocks it reads (door 4), its lock, and the timer
 * thread that kicks vCPU 0 at the RTC's next deadline so that it is polled at an exit. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/time_source.h"
#include "replay/recorder.h"
#include "cli/machine.h"
#include "devmodel/rtc.h"

/* Door 4, live: the host's clocks. (Record and replay will put their own table here.) */
static uint64_t host_now_ns(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t host_wall_ns(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int32_t host_utc_offset_s(void *ctx, int64_t unix_s)
{
	(void)ctx;
	time_t t = (time_t)unix_s;
	struct tm tm;
	return localtime_r(&t, &tm) ? (int32_t)tm.tm_gmtoff : 0;
}

static const struct time_source host_time = { host_now_ns, host_wall_ns, host_utc_offset_s, NULL };

static int rtc_locked_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *value)
{
	struct machine *m = opaque;
	pthread_mutex_lock(&m->rtc_lock);
	int rc = rtc_access(m->rtc, offset, size, is_write, value);
	pthread_mutex_unlock(&m->rtc_lock);
	return rc;
}

/* The RTC has no thread: poll it, then arm the timer for its next deadline (or disarm it). */
void machine_rtc_poll(struct machine *m)
{
	pthread_mutex_lock(&m->rtc_lock);
	uint64_t d = rtc_poll(m->rtc);
	pthread_mutex_unlock(&m->rtc_lock);
	struct itimerspec its = { 0 };
	if (d != RTC_NO_DEADLINE) {
		d = d ? d : 1; /* an all-zero it_value would disarm */
		its.it_value.tv_sec = (time_t)(d / 1000000000u);
		its.it_value.tv_nsec = (long)(d % 1000000000u);
	}
	timerfd_settime(m->rtc_timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Sleeps until the RTC's deadline and kicks vCPU 0, whose kick exit polls the RTC: device
 * state is only touched on vCPU threads, at exits (door 5's rule, for door 4). */
static void *rtc_timer_main(void *opaque)
{
	struct machine *m = opaque;
	for (;;) {
		struct pollfd fds[2] = { { .fd = m->rtc_timer_fd, .events = POLLIN }, { .fd = m->rtc_quit_fd, .events = POLLIN } };
		if (poll(fds, 2, -1) < 0)
			continue;
		if (fds[1].revents)
			return NULL;
		uint64_t expirations;
		if (read(m->rtc_timer_fd, &expirations, sizeof(expirations)) == sizeof(expirations))
			vm_kick_vcpu(m->vm, 0);
	}
}

int machine_add_rtc(struct machine *m, const struct dhyve_options *o, struct errmsg *e)
{
	pthread_mutex_init(&m->rtc_lock, NULL);
	m->time = m->rec ? recorder_time_source(m->rec, &host_time) : host_time;
	m->rtc = rtc_create(&m->time, machine_irq_sink(m), RTC_IRQ, o->rtc_localtime);
	if (!m->rtc)
		return errmsg_set(e, ENOMEM, "rtc: out of memory");
	uint64_t below = o->mem_bytes < VM_LOWMEM_LIMIT ? o->mem_bytes : VM_LOWMEM_LIMIT;
	rtc_set_memory(m->rtc, below, o->mem_bytes - below);
	int rc = iobus_register(&m->pio, RTC_PORT_BASE, RTC_PORT_COUNT, "rtc", rtc_locked_access, m, e);
	if (rc < 0)
		return rc;
	m->rtc_timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	m->rtc_quit_fd = eventfd(0, EFD_CLOEXEC);
	if (m->rtc_timer_fd < 0 || m->rtc_quit_fd < 0)
		return errmsg_set(e, errno, "rtc timer: %s", strerror(errno));
	rc = pthread_create(&m->rtc_timer, NULL, rtc_timer_main, m);
	if (rc)
		return errmsg_set(e, rc, "rtc timer thread: %s", strerror(rc));
	pthread_setname_np(m->rtc_timer, "rtc-timer");
	m->rtc_timer_running = true;
	return 0;
}

void machine_remove_rtc(struct machine *m)
{
	if (m->rtc_timer_running) {
		uint64_t one = 1;
		if (write(m->rtc_quit_fd, &one, sizeof(one)) == sizeof(one))
			pthread_join(m->rtc_timer, NULL);
		m->rtc_timer_running = false;
	}
	if (m->rtc_timer_fd >= 0)
		close(m->rtc_timer_fd);
	if (m->rtc_quit_fd >= 0)
		close(m->rtc_quit_fd);
	m->rtc_timer_fd = m->rtc_quit_fd = -1;
	if (m->rtc) {
		rtc_destroy(m->rtc);
		pthread_mutex_destroy(&m->rtc_lock);
	}
	m->rtc = NULL;
}
