/* Ways a guest ends or restarts the machine: the ACPI PM1a control register (bhyve's port
 * 0x404, SLP_TYP 5 + SLP_EN = soft off), the reset control register 0xcf9, the keyboard
 * controller's pulse-reset command (0xfe to port 0x64) and QEMU's isa-debug-exit port. */
#ifndef DHYVE_DEVMODEL_POWER_H
#define DHYVE_DEVMODEL_POWER_H

#include <stdbool.h>
#include <stdint.h>

#define PM1A_EVT_PORT 0x400  /* PM1a status (2) + enable (2) */
#define PM1A_CNT_PORT 0x404  /* PM1a control, 16 bits */
#define RESET_CTL_PORT 0xcf9
#define KBC_CMD_PORT  0x64
#define PM1_SLP_EN    (1u << 13)
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_S5 5u

enum power_event {
	POWER_OFF,        /* S5 through PM1a_CNT */
	POWER_RESET,      /* 0xcf9 or keyboard controller reset */
	POWER_DEBUG_EXIT, /* isa-debug-exit: code is the value written */
	POWER_PANIC,      /* pvpanic: code is the event bits the guest wrote */
};

struct power_sink {
	void (*request)(void *ctx, enum power_event ev, uint32_t code);
	void *ctx;
};

struct power_ctl; /* PM1a event/control registers, reset control, KBC command port */

struct power_ctl *power_ctl_create(struct power_sink sink);
void power_ctl_destroy(struct power_ctl *p);
void power_ctl_reset(struct power_ctl *p);
int power_pm1a_evt_access(void *p, uint64_t offset, unsigned size, bool is_write, uint64_t *value);
int power_pm1a_cnt_access(void *p, uint64_t offset, unsigned size, bool is_write, uint64_t *value);
int power_reset_ctl_access(void *p, uint64_t offset, unsigned size, bool is_write, uint64_t *value);
int power_kbc_access(void *p, uint64_t offset, unsigned size, bool is_write, uint64_t *value);
/* isa-debug-exit: a write of v asks to end with status (v << 1) | 1; reads return 0. */
int power_debugexit_access(void *p, uint64_t offset, unsigned size, bool is_write, uint64_t *value);

/* QEMU's ISA pvpanic device, which Linux's pvpanic driver drives: a read tells the events it
 * supports, a write of PANICKED or CRASH_LOADED reports a guest panic (here with the other ways a guest ends the machine). */
#define PVPANIC_PORT 0x505
#define PVPANIC_PANICKED 1u
#define PVPANIC_CRASH_LOADED 2u
int pvpanic_access(void *p, uint64_t offset, unsigned size, bool is_write, uint64_t *value);

#endif
