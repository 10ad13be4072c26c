/* The PC's real-time clock and CMOS memory (an MC146818A at ports 0x70/0x71, IRQ 8): the
 * guest's calendar clock, its periodic/alarm/update interrupts, and the NVRAM firmware reads. */
#ifndef DHYVE_DEVMODEL_RTC_H
#define DHYVE_DEVMODEL_RTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/irq.h"
#include "base/time_source.h"

#define RTC_PORT_BASE 0x70 /* 0x70: index (bit 7 disables NMI), 0x71: data */
#define RTC_PORT_COUNT 2
#define RTC_IRQ 8
#define RTC_NO_DEADLINE UINT64_MAX

/* CMOS bytes the device gives meaning to (the rest of 0x0e-0x7f is plain NVRAM). */
#define RTC_REG_SEC       0x00
#define RTC_REG_SEC_ALARM 0x01
#define RTC_REG_MIN       0x02
#define RTC_REG_MIN_ALARM 0x03
#define RTC_REG_HOUR      0x04
#define RTC_REG_HOUR_ALARM 0x05
#define RTC_REG_WDAY      0x06
#define RTC_REG_MDAY      0x07
#define RTC_REG_MONTH     0x08
#define RTC_REG_YEAR      0x09
#define RTC_REG_A         0x0a
#define RTC_REG_B         0x0b
#define RTC_REG_C         0x0c
#define RTC_REG_D         0x0d
#define RTC_REG_CENTURY   0x32

#define RTC_A_UIP   0x80 /* an update begins within 244 us */
#define RTC_A_DV    0x70 /* divider: 010 runs from the 32.768 kHz crystal, 11x holds it in reset */
#define RTC_A_RS    0x0f /* periodic rate: 0 off, else 32768 >> (rs - 1) Hz (1, 2 act as 8, 9) */
#define RTC_B_SET   0x80 /* stop updates so software can set the time */
#define RTC_B_PIE   0x40
#define RTC_B_AIE   0x20
#define RTC_B_UIE   0x10
#define RTC_B_SQWE  0x08
#define RTC_B_DM    0x04 /* 1: binary, 0: BCD */
#define RTC_B_24H   0x02 /* 1: 24-hour, 0: 12-hour with bit 7 of the hour = PM */
#define RTC_B_DSE   0x01
#define RTC_C_IRQF  0x80
#define RTC_C_PF    0x40
#define RTC_C_AF    0x20
#define RTC_C_UF    0x10
#define RTC_D_VRT   0x80

struct rtc;

/* The clock starts at the time source's wall clock (UTC, or local time when localtime), its
 * seconds ticking in step with the host's, and then counts ts->now_ns. ts is copied. IRQ 8
 * goes to irq as gsi. Power-on registers: A 0x26 (running, 1024 Hz), B 0x02 (24-hour BCD). */
struct rtc *rtc_create(const struct time_source *ts, struct irq_sink irq, unsigned gsi, bool localtime);
void rtc_destroy(struct rtc *rtc);
/* The machine's reset: clears the interrupt enables and flags and lowers the line; the time,
 * the data mode and the NVRAM survive, as with the chip's RESET pin. */
void rtc_reset(struct rtc *rtc);

/* Writes the RAM sizes into NVRAM where BIOSes look (QEMU's and bhyve's layout): base memory
 * KiB at 0x15/0x16, KiB above 1 MiB at 0x17/0x18 and 0x30/0x31 (at most 65535), 64 KiB units
 * above 16 MiB at 0x34/0x35 (at most 65535), 64 KiB units above 4 GiB at 0x5b-0x5d. */
void rtc_set_memory(struct rtc *rtc, uint64_t below_4g, uint64_t above_4g);

/* iobus_access_fn for ports 0x70-0x71 (offset 0 index, 1 data). A wider access is split into
 * byte accesses, as an ISA bus does. Reads of the index port return 0xff (it is write-only). */
int rtc_access(void *rtc, uint64_t offset, unsigned size, bool is_write, uint64_t *value);

/* Brings the interrupt flags up to the time source's now and the IRQ line with them. The
 * device has no thread: call this at exits (after each access to its ports is enough for the
 * guest's own view) and when the deadline it returned last has passed. Returns that deadline,
 * in now_ns's clock: when the next interrupt can become due, or RTC_NO_DEADLINE when none can
 * (no interrupt enabled, or the line is high until the guest reads status C). */
uint64_t rtc_poll(struct rtc *rtc);

/* Device state for snapshots: a fixed, versioned byte layout (see rtc.c). The clock is saved
 * as the time it shows, so a loaded RTC goes on from there (as if the VM had been paused).
 * save: with buf NULL returns the size needed; with len too small writes nothing and returns
 * 0; else writes RTC_STATE_SIZE bytes and returns that. load: -EINVAL (state unchanged)
 * unless buf is exactly one valid image; the IRQ line then follows the loaded status C. */
#define RTC_STATE_SIZE 144
size_t rtc_save(struct rtc *rtc, void *buf, size_t len);
int rtc_load(struct rtc *rtc, const void *buf, size_t len);

#endif
