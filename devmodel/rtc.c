/* An MC146818A RTC as a plain state machine: a divider chain counted on the time source's clock,
 * calendar registers computed on demand, interrupt flags caught up at each access and rtc_poll. */
#include "devmodel/rtc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"

#define NS_PER_S 1000000000LL
#define CRYSTAL_HZ 32768
#define UIP_TICKS 8 /* UIP rises 8 crystal ticks (244 us) before each update */
#define CMOS_SIZE 128
#define ALARM_DONT_CARE 0xc0 /* an alarm byte with both top bits set matches any value */
#define SECS_PER_DAY 86400

struct rtc {
	struct time_source ts;
	struct irq_sink irq;
	unsigned gsi;
	bool irq_level; /* what we last told the sink */

	uint8_t index;
	bool nmi_disabled; /* bit 7 of port 0x70: kept for snapshots; we raise no NMIs */
	/* All 128 bytes as the chip holds them. The time bytes (0x00-0x09 but the alarms, and the
	 * century at 0x32) are authoritative only while updates are stopped; otherwise they are
	 * computed from the divider at each read. */
	uint8_t cmos[CMOS_SIZE];

	/* The divider chain: its second boundaries lie at div_origin + k s (monotonic ns), and
	 * while updates run the clock shows sec0 + k seconds (since 1970, in the RTC's zone). */
	int64_t div_origin;
	int64_t sec0;
	int64_t last_sync; /* flags account for every event up to this monotonic time */
};

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

/* Days since 1970-01-01 of a proleptic Gregorian date and back (H. Hinnant's algorithms):
 * exact for any year, so whatever a guest writes converts without a table or a crash. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static bool binary_mode(const struct rtc *r)
{
	return r->cmos[RTC_REG_B] & RTC_B_DM;
}

static uint8_t to_reg(const struct rtc *r, int64_t v)
{
	if (v < 0)
		v = 0;
	if (binary_mode(r))
		return (uint8_t)(v > 0xff ? 0xff : v);
	v %= 100;
	return (uint8_t)((v / 10) << 4 | v % 10);
}

/* BCD with invalid nibbles decodes to whatever the arithmetic gives, as a chip's counter would
 * count on from it; nothing here depends on the value being in range. */
static int64_t from_reg(const struct rtc *r, uint8_t raw)
{
	return binary_mode(r) ? raw : (raw >> 4) * 10 + (raw & 0x0f);
}

static uint8_t hour_to_reg(const struct rtc *r, int64_t h)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return to_reg(r, h);
	int64_t h12 = h % 12 ? h % 12 : 12;
	return to_reg(r, h12) | (h >= 12 ? 0x80 : 0);
}

static int64_t hour_from_reg(const struct rtc *r, uint8_t raw)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return from_reg(r, raw);
	return from_reg(r, raw & 0x7f) % 12 + (raw & 0x80 ? 12 : 0);
}

/* The calendar registers for a time, in the current data mode, into out (indexed like cmos). */
static void encode_time(const struct rtc *r, int64_t secs, uint8_t *out)
{
	int64_t days = floor_div(secs, SECS_PER_DAY), sod = secs - days * SECS_PER_DAY;
	int64_t y, m, d;
	civil_from_days(days, &y, &m, &d);
	out[RTC_REG_SEC] = to_reg(r, sod % 60);
	out[RTC_REG_MIN] = to_reg(r, sod / 60 % 60);
	out[RTC_REG_HOUR] = hour_to_reg(r, sod / 3600);
	out[RTC_REG_WDAY] = to_reg(r, floor_mod(days + 4, 7) + 1); /* 1970-01-01 was a Thursday; Sunday is 1 */
	out[RTC_REG_MDAY] = to_reg(r, d);
	out[RTC_REG_MONTH] = to_reg(r, m);
	out[RTC_REG_YEAR] = to_reg(r, floor_mod(y, 100));
	out[RTC_REG_CENTURY] = to_reg(r, floor_div(y, 100));
}

/* The time the stored calendar registers say (the weekday is derived, not read). */
static int64_t decode_time(const struct rtc *r)
{
	const uint8_t *c = r->cmos;
	int64_t y = from_reg(r, c[RTC_REG_CENTURY]) * 100 + from_reg(r, c[RTC_REG_YEAR]);
	int64_t m = from_reg(r, c[RTC_REG_MONTH]) - 1;
	y += floor_div(m, 12);
	m = floor_mod(m, 12) + 1;
	int64_t days = days_from_civil(y, m, 1) + from_reg(r, c[RTC_REG_MDAY]) - 1;
	return days * SECS_PER_DAY + hour_from_reg(r, c[RTC_REG_HOUR]) * 3600 +
	       from_reg(r, c[RTC_REG_MIN]) * 60 + from_reg(r, c[RTC_REG_SEC]);
}

static bool is_time_reg(unsigned idx)
{
	return idx == RTC_REG_SEC || idx == RTC_REG_MIN || idx == RTC_REG_HOUR || idx == RTC_REG_WDAY ||
	       idx == RTC_REG_MDAY || idx == RTC_REG_MONTH || idx == RTC_REG_YEAR || idx == RTC_REG_CENTURY;
}

/* DV 000 and 001 select other crystals on the real chip; like QEMU we let them run at ours.
 * 011-101 are test modes and 11x holds the chain in reset: no updates, no periodic ticks. */
static bool divider_running(const struct rtc *r)
{
	return ((r->cmos[RTC_REG_A] & RTC_A_DV) >> 4) <= 2;
}

static bool updating(const struct rtc *r)
{
	return divider_running(r) && !(r->cmos[RTC_REG_B] & RTC_B_SET);
}

static int64_t boundaries(const struct rtc *r, int64_t t)
{
	return floor_div(t - r->div_origin, NS_PER_S);
}

static int64_t current_secs(const struct rtc *r, int64_t t)
{
	return r->sec0 + boundaries(r, t);
}

/* Crystal ticks since div_origin: the divider's whole state. */
static int64_t ticks(const struct rtc *r, int64_t t)
{
	int64_t d = t - r->div_origin, q = floor_div(d, NS_PER_S);
	return q * CRYSTAL_HZ + (d - q * NS_PER_S) * CRYSTAL_HZ / NS_PER_S;
}

/* Monotonic time of crystal tick n (the first ns at which ticks() reaches n); INT64_MAX when that
 * lies past the end of the clock (a time source near 2^63 ns, as a replayed log may give). */
static int64_t tick_time(const struct rtc *r, int64_t n)
{
	int64_t q = floor_div(n, CRYSTAL_HZ), rem = n - q * CRYSTAL_HZ, t;
	if (__builtin_mul_overflow(q, NS_PER_S, &t) || __builtin_add_overflow(t, r->div_origin, &t) ||
	    __builtin_add_overflow(t, (rem * NS_PER_S + CRYSTAL_HZ - 1) / CRYSTAL_HZ, &t))
		return INT64_MAX;
	return t;
}

/* Crystal ticks per periodic interrupt, 0 when off (rates 1 and 2 act as 8 and 9). */
static int64_t periodic_ticks(const struct rtc *r)
{
	unsigned rs = r->cmos[RTC_REG_A] & RTC_A_RS;
	if (!rs)
		return 0;
	if (rs <= 2)
		rs += 7;
	return 1LL << (rs - 1);
}

/* Never let time run backwards under the device (a replayed or odd source). */
static int64_t now(struct rtc *r)
{
	uint64_t v = time_now_ns(&r->ts);
	int64_t t = v > INT64_MAX ? INT64_MAX : (int64_t)v;
	return t < r->last_sync ? r->last_sync : t;
}

static void update_irq(struct rtc *r)
{
	uint8_t *c = &r->cmos[RTC_REG_C];
	if (*c & r->cmos[RTC_REG_B] & (RTC_C_PF | RTC_C_AF | RTC_C_UF))
		*c |= RTC_C_IRQF;
	else
		*c &= ~RTC_C_IRQF;
	bool level = *c & RTC_C_IRQF;
	if (level != r->irq_level) {
		r->irq_level = level;
		irq_set_level(&r->irq, r->gsi, level);
	}
}

static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
	return (alarm & ALARM_DONT_CARE) == ALARM_DONT_CARE || alarm == now;
}

static bool alarm_matches(const struct rtc *r, int64_t secs)
{
	uint8_t reg[CMOS_SIZE];
	int64_t sod = floor_mod(secs, SECS_PER_DAY);
	reg[RTC_REG_SEC] = to_reg(r, sod % 60);
	reg[RTC_REG_MIN] = to_reg(r, sod / 60 % 60);
	reg[RTC_REG_HOUR] = hour_to_reg(r, sod / 3600);
	return alarm_field_matches(r->cmos[RTC_REG_SEC_ALARM], reg[RTC_REG_SEC]) &&
	       alarm_field_matches(r->cmos[RTC_REG_MIN_ALARM], reg[RTC_REG_MIN]) &&
	       alarm_field_matches(r->cmos[RTC_REG_HOUR_ALARM], reg[RTC_REG_HOUR]);
}

/* Whether an update at a boundary in [k, k1] matches the alarm. Steps over whole hours and minutes
 * whose alarm byte cannot match, so a day-long gap costs at most ~1,600 steps instead of 86,400
 * (the fuzz harness found time advances of days spending most of its time here). */
static bool alarm_in(const struct rtc *r, int64_t k, int64_t k1)
{
	bool sec_can_match = false;
	for (int64_t s = 0; s < 60 && !sec_can_match; s++)
		sec_can_match = alarm_field_matches(r->cmos[RTC_REG_SEC_ALARM], to_reg(r, s));
	if (!sec_can_match)
		return false;
	while (k <= k1) {
		int64_t sod = floor_mod(r->sec0 + k, SECS_PER_DAY);
		if (!alarm_field_matches(r->cmos[RTC_REG_HOUR_ALARM], hour_to_reg(r, sod / 3600)))
			k += 3600 - sod % 3600;
		else if (!alarm_field_matches(r->cmos[RTC_REG_MIN_ALARM], to_reg(r, sod / 60 % 60)))
			k += 60 - sod % 60;
		else if (!alarm_matches(r, r->sec0 + k))
			k++;
		else
			return true;
	}
	return false;
}

/* Sets the flags for every periodic tick and update in (last_sync, t], with the registers as
 * they are: callers sync before changing anything that moves events. */
static void sync(struct rtc *r, int64_t t)
{
	if (t <= r->last_sync)
		return;
	if (divider_running(r)) {
		int64_t p = periodic_ticks(r);
		if (p && floor_div(ticks(r, t), p) > floor_div(ticks(r, r->last_sync), p))
			r->cmos[RTC_REG_C] |= RTC_C_PF;
		int64_t k0 = boundaries(r, r->last_sync), k1 = boundaries(r, t);
		if (updating(r) && k1 > k0) {
			r->cmos[RTC_REG_C] |= RTC_C_UF;
			/* One day of updates shows every time of day: no need to look further back. */
			int64_t k = k1 - k0 > SECS_PER_DAY ? k1 - SECS_PER_DAY + 1 : k0 + 1;
			if (alarm_in(r, k, k1))
				r->cmos[RTC_REG_C] |= RTC_C_AF;
		}
	}
	r->last_sync = t;
	update_irq(r);
}

/* Updates stop: the registers keep the time shown now, for the guest to read or overwrite. */
static void freeze(struct rtc *r, int64_t t)
{
	uint8_t reg[CMOS_SIZE];
	encode_time(r, current_secs(r, t), reg);
	for (unsigned i = 0; i < CMOS_SIZE; i++)
		if (is_time_reg(i))
			r->cmos[i] = reg[i];
}

/* Updates resume from what the registers hold; the divider keeps its phase, so the next update
 * comes at its next second boundary (as on the chip, where SET only inhibits updates). */
static void thaw(struct rtc *r, int64_t t)
{
	r->sec0 = decode_time(r) - boundaries(r, t);
}

static uint8_t read_reg(struct rtc *r, unsigned idx, int64_t t)
{
	uint8_t v;
	if (is_time_reg(idx) && updating(r)) {
		uint8_t reg[CMOS_SIZE];
		encode_time(r, current_secs(r, t), reg);
		return reg[idx];
	}
	switch (idx) {
	case RTC_REG_A:
		v = r->cmos[RTC_REG_A];
		if (updating(r) && floor_mod(ticks(r, t), CRYSTAL_HZ) >= CRYSTAL_HZ - UIP_TICKS)
			v |= RTC_A_UIP;
		return v;
	case RTC_REG_C:
		v = r->cmos[RTC_REG_C];
		r->cmos[RTC_REG_C] = 0;
		update_irq(r);
		return v;
	case RTC_REG_D:
		return RTC_D_VRT; /* the battery is always good */
	default:
		return r->cmos[idx];
	}
}

/* A change to A or B may stop or restart updates; keeps the time right across it. */
static void write_control(struct rtc *r, unsigned idx, uint8_t v, int64_t t)
{
	bool was_running = divider_running(r), was_updating = updating(r);
	if (idx == RTC_REG_A) {
		r->cmos[RTC_REG_A] = v & ~RTC_A_UIP;
	} else {
		if (v & RTC_B_SET)
			v &= ~RTC_B_UIE; /* the datasheet: SET going high clears UIE */
		r->cmos[RTC_REG_B] = v;
	}
	/* Out of divider reset the first update comes half a second later. */
	if (!was_running && divider_running(r))
		r->div_origin = t - NS_PER_S / 2;
	if (was_updating && !updating(r))
		freeze(r, t);
	else if (!was_updating && updating(r))
		thaw(r, t);
	update_irq(r); /* B may have enabled a flag already set */
}

static void write_reg(struct rtc *r, unsigned idx, uint8_t v, int64_t t)
{
	switch (idx) {
	case RTC_REG_A:
	case RTC_REG_B:
		write_control(r, idx, v, t);
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return; /* read-only */
	default:
		break;
	}
	if (is_time_reg(idx) && updating(r)) {
		/* Without SET the write still takes effect at once (QEMU does the same); the chip
		 * would risk an update in between, which no guest relies on. */
		freeze(r, t);
		r->cmos[idx] = v;
		thaw(r, t);
		return;
	}
	r->cmos[idx] = v;
}

static void data_access(struct rtc *r, bool is_write, uint8_t *v)
{
	int64_t t = now(r);
	sync(r, t);
	if (is_write)
		write_reg(r, r->index, *v, t);
	else
		*v = read_reg(r, r->index, t);
}

int rtc_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *value)
{
	struct rtc *r = opaque;
	if (offset >= RTC_PORT_COUNT || size == 0 || size > RTC_PORT_COUNT - offset) {
		if (!is_write)
			*value = ~0ULL;
		return -EINVAL;
	}
	uint64_t result = 0;
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = (uint8_t)(*value >> (8 * i));
		if (offset + i == 0) {
			if (is_write) {
				r->index = b & 0x7f;
				r->nmi_disabled = b & 0x80;
			} else {
				b = 0xff; /* the index port is write-only */
			}
		} else {
			data_access(r, is_write, &b);
		}
		result |= (uint64_t)b << (8 * i);
	}
	if (!is_write)
		*value = result;
	return 0;
}

uint64_t rtc_poll(struct rtc *r)
{
	int64_t t = now(r);
	sync(r, t);
	if (r->irq_level || !divider_running(r))
		return RTC_NO_DEADLINE;
	uint8_t b = r->cmos[RTC_REG_B];
	int64_t next = INT64_MAX, p = periodic_ticks(r);
	if ((b & RTC_B_PIE) && p)
		next = tick_time(r, (floor_div(ticks(r, t), p) + 1) * p);
	if ((b & (RTC_B_UIE | RTC_B_AIE)) && updating(r)) {
		int64_t u;
		if (__builtin_mul_overflow(boundaries(r, t) + 1, NS_PER_S, &u) ||
		    __builtin_add_overflow(u, r->div_origin, &u))
			u = INT64_MAX;
		if (u < next)
			next = u;
	}
	return next == INT64_MAX || next < 0 ? RTC_NO_DEADLINE : (uint64_t)next;
}

void rtc_reset(struct rtc *r)
{
	sync(r, now(r));
	r->cmos[RTC_REG_B] &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
	r->cmos[RTC_REG_C] = 0;
	r->index = 0;
	r->nmi_disabled = false;
	update_irq(r);
}

struct rtc *rtc_create(const struct time_source *ts, struct irq_sink irq, unsigned gsi, bool localtime)
{
	struct rtc *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	if (ts)
		r->ts = *ts;
	r->irq = irq;
	r->gsi = gsi;
	r->cmos[RTC_REG_A] = 0x26; /* 32.768 kHz divider, 1024 Hz periodic rate: what BIOSes set */
	r->cmos[RTC_REG_B] = RTC_B_24H;
	r->cmos[RTC_REG_D] = RTC_D_VRT;

	/* Start at the host's wall clock, our second boundaries on its second boundaries. */
	int64_t wall = time_wall_ns(&r->ts), utc = floor_div(wall, NS_PER_S);
	int64_t t = now(r);
	r->last_sync = t;
	r->div_origin = t - (wall - utc * NS_PER_S);
	r->sec0 = utc + (localtime ? time_utc_offset_s(&r->ts, utc) : 0);
	freeze(r, t); /* so the time bytes are meaningful from the start, e.g. in a saved image */
	return r;
}

void rtc_destroy(struct rtc *r)
{
	free(r);
}

static void put16(struct rtc *r, unsigned idx, uint64_t v)
{
	r->cmos[idx] = (uint8_t)v;
	r->cmos[idx + 1] = (uint8_t)(v >> 8);
}

void rtc_set_memory(struct rtc *r, uint64_t below_4g, uint64_t above_4g)
{
	const uint64_t kib = 1024, mib = 1024 * kib;
	uint64_t base = below_4g / kib < 640 ? below_4g / kib : 640;
	uint64_t ext = below_4g > mib ? (below_4g - mib) / kib : 0;
	uint64_t above16 = below_4g > 16 * mib ? (below_4g - 16 * mib) / (64 * kib) : 0;
	uint64_t high = above_4g / (64 * kib);
	if (ext > 0xffff)
		ext = 0xffff;
	if (above16 > 0xffff)
		above16 = 0xffff;
	if (high > 0xffffff)
		high = 0xffffff;
	put16(r, 0x15, base);
	put16(r, 0x17, ext);
	put16(r, 0x30, ext);
	put16(r, 0x34, above16);
	put16(r, 0x5b, high);
	r->cmos[0x5d] = (uint8_t)(high >> 16);
}

/* Snapshot layout, version 1, little-endian:
 *   0 version (1)   1 index (0-0x7f)   2 flags (bit 0: NMI disabled)   3 zero
 *   4..131   the 128 CMOS bytes (time bytes as they were last stored; A without UIP)
 *   132..139 int64: the seconds the clock shows (since 1970, in its zone) while updating
 *   140..143 uint32: ns since the divider's last second boundary (< 1e9) */
#define SNAP_VERSION 1
#define SNAP_CMOS 4
#define SNAP_SECS 132
#define SNAP_PHASE 140
#define SNAP_MAX_SECS 1000000000000LL /* beyond year 30000: no guest can set that */

size_t rtc_save(struct rtc *r, void *buf, size_t len)
{
	if (!buf)
		return RTC_STATE_SIZE;
	if (len < RTC_STATE_SIZE)
		return 0;
	int64_t t = now(r);
	sync(r, t); /* the flags in the image are those of the moment it was taken */
	uint8_t *p = buf;
	memset(p, 0, RTC_STATE_SIZE);
	p[0] = SNAP_VERSION;
	p[1] = r->index;
	p[2] = r->nmi_disabled ? 1 : 0;
	memcpy(p + SNAP_CMOS, r->cmos, CMOS_SIZE);
	put_le(p + SNAP_SECS, (uint64_t)current_secs(r, t), 8);
	put_le(p + SNAP_PHASE, (uint64_t)floor_mod(t - r->div_origin, NS_PER_S), 4);
	return RTC_STATE_SIZE;
}

int rtc_load(struct rtc *r, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	if (!p || len != RTC_STATE_SIZE || p[0] != SNAP_VERSION)
		return -EINVAL;
	const uint8_t *c = p + SNAP_CMOS;
	int64_t secs = (int64_t)get_le(p + SNAP_SECS, 8);
	uint64_t phase = get_le(p + SNAP_PHASE, 4);
	uint8_t flags = c[RTC_REG_C] & (RTC_C_PF | RTC_C_AF | RTC_C_UF);
	bool irqf = flags & c[RTC_REG_B];
	/* Validate everything before changing anything: a bad image leaves the device as it was. */
	if (p[1] > 0x7f || (p[2] & ~1u) || p[3] || phase >= NS_PER_S || secs > SNAP_MAX_SECS ||
	    secs < -SNAP_MAX_SECS)
		return -EINVAL;
	if ((c[RTC_REG_A] & RTC_A_UIP) || (c[RTC_REG_C] & 0x0f) || c[RTC_REG_D] != RTC_D_VRT ||
	    !!(c[RTC_REG_C] & RTC_C_IRQF) != irqf ||
	    ((c[RTC_REG_B] & RTC_B_SET) && (c[RTC_REG_B] & RTC_B_UIE)))
		return -EINVAL;

	int64_t t = now(r);
	r->index = p[1];
	r->nmi_disabled = p[2] & 1;
	memcpy(r->cmos, c, CMOS_SIZE);
	r->div_origin = t - (int64_t)phase;
	r->sec0 = secs;
	r->last_sync = t;
	update_irq(r);
	return 0;
}
