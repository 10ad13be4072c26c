/* Power and reset registers: ACPI PM1a event/control, the 0xcf9 reset control, the keyboard
 * controller's reset command and isa-debug-exit; each turns a guest write into a power_sink request. */
#include "devmodel/power.h"

#include <errno.h>
#include <stdlib.h>

#define PM1_SCI_EN       (1u << 0)
#define PM1_BM_RLD       (1u << 1)
#define PM1_GBL_RLS      (1u << 2) /* write-only */
#define PM1_SLP_TYP_MASK (7u << PM1_SLP_TYP_SHIFT)
/* Bits of PM1_CNT that read back what was written; SLP_EN and GBL_RLS are write-only and
 * SCI_EN is the platform's (see power_ctl_reset). */
#define PM1_CNT_RW       (PM1_BM_RLD | PM1_SLP_TYP_MASK)

#define RST_SYS_RST  0x02 /* hard (vs soft) reset select */
#define RST_CPU      0x04 /* writing 1 performs the reset */
#define RST_FULL_RST 0x08
#define RST_STORED   (RST_SYS_RST | RST_FULL_RST)

#define KBC_CMD_PULSE_RESET 0xfe
/* i8042 status: output buffer empty (bit 0), input buffer empty (bit 1), system flag (the
 * self-test passed), last write was a command, keyboard not inhibited. Bit 1 must stay clear
 * or guests spin forever waiting to send their reset command. */
#define KBC_STATUS 0x1c

struct power_ctl {
	struct power_sink sink;
	uint16_t pm1_sts, pm1_en, pm1_cnt;
	uint8_t reset_ctl;
};

static void request(struct power_ctl *p, enum power_event ev, uint32_t code)
{
	if (p->sink.request)
		p->sink.request(p->sink.ctx, ev, code);
}

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? UINT64_MAX : (UINT64_C(1) << (size * 8)) - 1;
}

void power_ctl_reset(struct power_ctl *p)
{
	p->pm1_sts = 0;
	p->pm1_en = 0;
	/* There is no SMI_CMD port: by ACPI that means the hardware is always in ACPI mode,
	 * which OSPM checks by reading SCI_EN = 1. */
	p->pm1_cnt = PM1_SCI_EN;
	p->reset_ctl = 0;
}

struct power_ctl *power_ctl_create(struct power_sink sink)
{
	struct power_ctl *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->sink = sink;
	power_ctl_reset(p);
	return p;
}

void power_ctl_destroy(struct power_ctl *p)
{
	free(p);
}

/* Registers narrower than an access are handled byte by byte: byte i of the access is byte
 * offset+i of the register block, so 1-, 2- and 4-byte accesses at any legal offset work. */
static bool in_block(uint64_t offset, unsigned size, unsigned block)
{
	return offset < block && size <= block - offset;
}

int power_pm1a_evt_access(void *opaque, uint64_t offset, unsigned size, bool is_write,
			  uint64_t *value)
{
	struct power_ctl *p = opaque;
	if (!in_block(offset, size, 4)) {
		if (!is_write)
			*value = size_mask(size);
		return -EINVAL;
	}
	uint32_t block = p->pm1_sts | (uint32_t)p->pm1_en << 16;
	unsigned shift = (unsigned)offset * 8;
	if (!is_write) {
		*value = (block >> shift) & size_mask(size);
		return 0;
	}
	uint32_t bytes = (uint32_t)(size_mask(size) << shift); /* the lanes written */
	uint32_t v = (uint32_t)(*value << shift) & bytes;
	/* PM1_STS is write-1-to-clear; PM1_EN is a plain register. */
	p->pm1_sts &= (uint16_t)~(v & 0xffff);
	p->pm1_en = (uint16_t)((p->pm1_en & ~(bytes >> 16)) | (v >> 16));
	return 0;
}

int power_pm1a_cnt_access(void *opaque, uint64_t offset, unsigned size, bool is_write,
			  uint64_t *value)
{
	struct power_ctl *p = opaque;
	if (!in_block(offset, size, 2)) {
		if (!is_write)
			*value = size_mask(size);
		return -EINVAL;
	}
	unsigned shift = (unsigned)offset * 8;
	if (!is_write) {
		*value = ((uint32_t)p->pm1_cnt >> shift) & size_mask(size);
		return 0;
	}
	uint16_t lanes = (uint16_t)(size_mask(size) << shift);
	/* Bytes not written keep their current (readable) value, so a byte write of the high half
	 * with SLP_EN sees the SLP_TYP written before it. */
	uint16_t v = (uint16_t)(((uint32_t)*value << shift) & lanes) | (p->pm1_cnt & ~lanes);
	p->pm1_cnt = (uint16_t)((p->pm1_cnt & ~PM1_CNT_RW) | (v & PM1_CNT_RW));
	if ((v & PM1_SLP_EN) && ((v & PM1_SLP_TYP_MASK) >> PM1_SLP_TYP_SHIFT) == PM1_SLP_TYP_S5)
		request(p, POWER_OFF, 0);
	/* Other sleep states (S1-S4) are not offered by our \_Sx objects; such a write is ignored
	 * and the guest carries on. */
	return 0;
}

int power_reset_ctl_access(void *opaque, uint64_t offset, unsigned size, bool is_write,
			   uint64_t *value)
{
	struct power_ctl *p = opaque;
	(void)size; /* one byte register: a wider access uses its low byte */
	if (offset != 0) {
		if (!is_write)
			*value = size_mask(size);
		return -EINVAL;
	}
	if (!is_write) {
		*value = p->reset_ctl;
		return 0;
	}
	uint8_t v = (uint8_t)*value;
	p->reset_ctl = v & RST_STORED;
	if (v & RST_CPU)
		request(p, POWER_RESET, 0);
	return 0;
}

int power_kbc_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *value)
{
	struct power_ctl *p = opaque;
	(void)size;
	if (offset != 0) {
		if (!is_write)
			*value = size_mask(size);
		return -EINVAL;
	}
	if (!is_write) {
		*value = KBC_STATUS;
		return 0;
	}
	/* Only the pulse-reset command means anything here; there is no keyboard behind it. */
	if ((uint8_t)*value == KBC_CMD_PULSE_RESET)
		request(p, POWER_RESET, 0);
	return 0;
}

int power_debugexit_access(void *opaque, uint64_t offset, unsigned size, bool is_write,
			   uint64_t *value)
{
	struct power_ctl *p = opaque;
	(void)offset; /* QEMU's device answers on every port of its range */
	if (!is_write) {
		*value = 0;
		return 0;
	}
	request(p, POWER_DEBUG_EXIT, (uint32_t)(*value & size_mask(size)));
	return 0;
}

int pvpanic_access(void *opaque, uint64_t offset, unsigned size, bool is_write, uint64_t *value)
{
	(void)offset;
	(void)size;
	struct power_ctl *p = opaque;
	if (!is_write) {
		*value = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
		return 0;
	}
	uint32_t events = (uint32_t)*value & (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	if (events)
		request(p, POWER_PANIC, events);
	return 0;
}
