/* Reading and applying a vCPU's whole state through KVM's ioctls, and its byte image: a list of
 * tagged KVM structures, so that an image from a KVM with other optional parts is refused by
 * name rather than misread. */
#include "vmm/vcpu_state.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "base/bytes.h"
#include "vmm/vmm_impl.h"

/* ---- MSRs: KVM_GET_MSR_INDEX_LIST, less those this vCPU refuses to read ---- */

static pthread_mutex_t msr_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t msr_list[VCPU_STATE_MAX_MSRS];
static int msr_count = -1; /* -1: not probed yet (the same KVM answers the same for every VM) */

union msr_buf {
	struct kvm_msrs msrs;
	uint8_t room[sizeof(struct kvm_msrs) + VCPU_STATE_MAX_MSRS * sizeof(struct kvm_msr_entry)];
};

static int probe_msrs(struct vcpu *v, struct errmsg *e)
{
	union {
		struct kvm_msr_list l;
		uint8_t room[sizeof(struct kvm_msr_list) + 1024 * sizeof(uint32_t)];
	} u;
	memset(&u, 0, sizeof(u));
	u.l.nmsrs = 1024;
	if (ioctl(v->vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &u.l) < 0)
		return errmsg_set(e, errno, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
	/* KVM reads them all at once and stops at the first it refuses: drop that one, go on. */
	static union msr_buf b;
	uint32_t n = 0;
	for (uint32_t i = 0; i < u.l.nmsrs && n < VCPU_STATE_MAX_MSRS; i++) {
		memset(&b, 0, sizeof(b));
		b.msrs.nmsrs = 1;
		b.msrs.entries[0].index = u.l.indices[i];
		if (ioctl(v->fd, KVM_GET_MSRS, &b.msrs) == 1)
			msr_list[n++] = u.l.indices[i];
	}
	msr_count = (int)n;
	return 0;
}

static int get_msrs(struct vcpu *v, struct vcpu_state *s, struct errmsg *e)
{
	pthread_mutex_lock(&msr_lock);
	int rc = msr_count < 0 ? probe_msrs(v, e) : 0;
	pthread_mutex_unlock(&msr_lock);
	if (rc < 0)
		return rc;
	static __thread union msr_buf b;
	memset(&b, 0, sizeof(b));
	b.msrs.nmsrs = (uint32_t)msr_count;
	for (int i = 0; i < msr_count; i++)
		b.msrs.entries[i].index = msr_list[i];
	int n = ioctl(v->fd, KVM_GET_MSRS, &b.msrs);
	if (n < 0)
		return errmsg_set(e, errno, "vCPU %u: KVM_GET_MSRS: %s", v->index, strerror(errno));
	if (n != msr_count)
		return errmsg_set(e, EIO, "vCPU %u: KVM_GET_MSRS read %d of %d MSRs (stopped at 0x%x)", v->index, n, msr_count,
				  msr_list[n]);
	s->nmsrs = (uint32_t)n;
	memcpy(s->msrs, b.msrs.entries, (size_t)n * sizeof(s->msrs[0]));
	return 0;
}

/* Sets them all; one KVM refuses to write (a read-only one) is skipped, not fatal. */
static int set_msrs(struct vcpu *v, const struct vcpu_state *s, struct errmsg *e)
{
	static __thread union msr_buf b;
	uint32_t done = 0;
	while (done < s->nmsrs) {
		memset(&b, 0, sizeof(b));
		b.msrs.nmsrs = s->nmsrs - done;
		memcpy(b.msrs.entries, s->msrs + done, b.msrs.nmsrs * sizeof(s->msrs[0]));
		int n = ioctl(v->fd, KVM_SET_MSRS, &b.msrs);
		if (n < 0)
			return errmsg_set(e, errno, "vCPU %u: KVM_SET_MSRS: %s", v->index, strerror(errno));
		done += (uint32_t)n + ((uint32_t)n < b.msrs.nmsrs); /* skip the refused one */
	}
	return 0;
}

/* ---- the whole vCPU ---- */

#define IOC(what, req, arg)                                                                                    \
	do {                                                                                                   \
		if (ioctl(v->fd, req, arg) < 0)                                                                \
			return errmsg_set(e, errno, "vCPU %u: " what ": %s", v->index, strerror(errno));        \
	} while (0)

/* A vCPU stopped at a port or MMIO exit still owes KVM the end of that instruction: the next
 * KVM_RUN completes it (moves RIP past an OUT; on an emulated instruction, writes back the
 * emulator's registers) before anything else. Saved before that, a resumed guest would run the
 * access twice; registers set before it would be overwritten by the emulator. A KVM_RUN with
 * immediate_exit does just the completion (and applies registers left dirty in kvm_run) and
 * returns EINTR, as QEMU does before it saves a vCPU. */
static int complete_pending_io(struct vcpu *v, struct errmsg *e)
{
	uint8_t old = __atomic_load_n(&v->run->immediate_exit, __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	int rc = ioctl(v->fd, KVM_RUN, 0);
	int err = errno;
	__atomic_store_n(&v->run->immediate_exit, old, __ATOMIC_SEQ_CST);
	if (rc == 0) /* a string instruction's next round trip: not a boundary where state can move */
		return errmsg_set(e, EBUSY, "vCPU %u is in the middle of a string I/O instruction", v->index);
	if (err != EINTR && err != EAGAIN)
		return errmsg_set(e, err, "vCPU %u: KVM_RUN (completing its last exit): %s", v->index, strerror(err));
	v->run->kvm_dirty_regs = 0; /* KVM took them */
	return 0;
}

int vcpu_state_get(struct vcpu *v, struct vcpu_state *s, struct errmsg *e)
{
	memset(s, 0, sizeof(*s));
	int rc = complete_pending_io(v, e);
	if (rc < 0)
		return rc;
	IOC("KVM_GET_REGS", KVM_GET_REGS, &s->regs);
	IOC("KVM_GET_SREGS", KVM_GET_SREGS, &s->sregs);
	IOC("KVM_GET_VCPU_EVENTS", KVM_GET_VCPU_EVENTS, &s->events);
	IOC("KVM_GET_DEBUGREGS", KVM_GET_DEBUGREGS, &s->debugregs);
	IOC("KVM_GET_MP_STATE", KVM_GET_MP_STATE, &s->mp_state);
	IOC("KVM_GET_LAPIC", KVM_GET_LAPIC, &s->lapic);
	s->has_xsave = ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	if (s->has_xsave)
		IOC("KVM_GET_XSAVE", KVM_GET_XSAVE, (struct kvm_xsave *)s->xsave);
	else
		IOC("KVM_GET_FPU", KVM_GET_FPU, &s->fpu);
	s->has_xcrs = ioctl(v->vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	if (s->has_xcrs)
		IOC("KVM_GET_XCRS", KVM_GET_XCRS, &s->xcrs);
	return get_msrs(v, s, e);
}

/* After an ioctl wrote them, the sync_regs copy in kvm_run must show the new values too. */
static void refresh_sync_copy(struct vcpu *v, const struct vcpu_state *s, unsigned what)
{
	struct kvm_run *run = v->run;
	if (what & VCPU_STATE_REGS) {
		run->s.regs.regs = s->regs;
		run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_REGS;
	}
	if (what & VCPU_STATE_SREGS) {
		run->s.regs.sregs = s->sregs;
		run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_SREGS;
	}
	if (what & VCPU_STATE_EVENTS) {
		run->s.regs.events = s->events;
		run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_EVENTS;
	}
}

static bool sync_ok(const struct vcpu *v, uint64_t bit)
{
	return v->synced && (v->run->kvm_valid_regs & bit) && (v->vm->sync_mask & bit);
}

/* Only registers: straight into kvm_run (KVM loads them at the next entry), no ioctl. */
static bool set_through_sync_regs(struct vcpu *v, const struct vcpu_state *s, unsigned what)
{
	if ((what & ~(unsigned)VCPU_STATE_SYNCED) || !sync_ok(v, KVM_SYNC_X86_REGS) ||
	    !sync_ok(v, KVM_SYNC_X86_SREGS) || !sync_ok(v, KVM_SYNC_X86_EVENTS))
		return false;
	struct kvm_run *run = v->run;
	if (what & VCPU_STATE_REGS) {
		run->s.regs.regs = s->regs;
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	}
	/* KVM_SET_SREGS resets the MMU's context: skip it when nothing changed. */
	if ((what & VCPU_STATE_SREGS) && memcmp(&run->s.regs.sregs, &s->sregs, sizeof(s->sregs)) != 0) {
		run->s.regs.sregs = s->sregs;
		run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
	}
	if (what & VCPU_STATE_EVENTS) {
		run->s.regs.events = s->events;
		run->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
	}
	return true;
}

int vcpu_state_set(struct vcpu *v, const struct vcpu_state *s, unsigned what, struct errmsg *e)
{
	int rc = complete_pending_io(v, e);
	if (rc < 0)
		return rc;
	if (set_through_sync_regs(v, s, what))
		return 0;
	/* Anything still dirty in kvm_run would overwrite what we set at the next entry. */
	v->run->kvm_dirty_regs = 0;
	if (what & VCPU_STATE_REGS)
		IOC("KVM_SET_REGS", KVM_SET_REGS, &s->regs);
	if (what & VCPU_STATE_FPU) {
		if (s->has_xsave)
			IOC("KVM_SET_XSAVE", KVM_SET_XSAVE, (const struct kvm_xsave *)s->xsave);
		else
			IOC("KVM_SET_FPU", KVM_SET_FPU, &s->fpu);
	}
	if ((what & VCPU_STATE_XCRS) && s->has_xcrs)
		IOC("KVM_SET_XCRS", KVM_SET_XCRS, &s->xcrs);
	if (what & VCPU_STATE_SREGS)
		IOC("KVM_SET_SREGS", KVM_SET_SREGS, &s->sregs);
	if (what & VCPU_STATE_MSRS) {
		int rc = set_msrs(v, s, e);
		if (rc < 0)
			return rc;
	}
	if (what & VCPU_STATE_MP)
		IOC("KVM_SET_MP_STATE", KVM_SET_MP_STATE, &s->mp_state);
	if (what & VCPU_STATE_LAPIC)
		IOC("KVM_SET_LAPIC", KVM_SET_LAPIC, &s->lapic);
	if (what & VCPU_STATE_EVENTS)
		IOC("KVM_SET_VCPU_EVENTS", KVM_SET_VCPU_EVENTS, &s->events);
	if (what & VCPU_STATE_DEBUGREGS)
		IOC("KVM_SET_DEBUGREGS", KVM_SET_DEBUGREGS, &s->debugregs);
	refresh_sync_copy(v, s, what);
	return 0;
}

/* ---- byte images: "magic, version, count" then (u32 tag, u32 length, payload padded to 8) ---- */

#define VCPU_IMAGE_MAGIC 0x50435644u /* "DVCP" */
#define CHIP_IMAGE_MAGIC 0x50494844u /* "DHIP" */
#define IMAGE_VERSION 1
#define IMAGE_HEADER 16

enum {
	TAG_REGS = 1, TAG_SREGS, TAG_EVENTS, TAG_DEBUGREGS, TAG_MP, TAG_LAPIC, TAG_XSAVE, TAG_FPU, TAG_XCRS, TAG_MSRS,
	TAG_PIC_MASTER = 32, TAG_PIC_SLAVE, TAG_IOAPIC, TAG_PIT, TAG_CLOCK,
};

struct part {
	uint32_t tag;
	const void *data;
	size_t len;
};

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static size_t encode_parts(uint32_t magic, const struct part *p, unsigned n, void *buf, size_t len)
{
	size_t need = IMAGE_HEADER;
	for (unsigned i = 0; i < n; i++)
		need += 8 + pad8(p[i].len);
	if (!buf)
		return need;
	if (len < need)
		return 0;
	uint8_t *o = buf;
	memset(o, 0, need);
	put_le(o, magic, 4);
	put_le(o + 4, IMAGE_VERSION, 4);
	put_le(o + 8, n, 4);
	o += IMAGE_HEADER;
	for (unsigned i = 0; i < n; i++) {
		put_le(o, p[i].tag, 4);
		put_le(o + 4, p[i].len, 4);
		memcpy(o + 8, p[i].data, p[i].len);
		o += 8 + pad8(p[i].len);
	}
	return need;
}

/* Where each expected tag's payload must go, and how long it must be. */
struct slot {
	uint32_t tag;
	void *dst;
	size_t len;
	bool required, seen;
	const char *name;
};

static int decode_parts(uint32_t magic, const char *what, struct slot *slots, unsigned nslots, const void *buf,
			size_t len, struct errmsg *e)
{
	const uint8_t *p = buf;
	if (!buf || len < IMAGE_HEADER || get_le(p, 4) != magic)
		return errmsg_set(e, EINVAL, "%s image: not one (bad magic or too short)", what);
	if (get_le(p + 4, 4) != IMAGE_VERSION)
		return errmsg_set(e, EINVAL, "%s image: version %u, this build reads %u", what, (unsigned)get_le(p + 4, 4),
				  IMAGE_VERSION);
	uint32_t n = (uint32_t)get_le(p + 8, 4);
	size_t off = IMAGE_HEADER;
	for (uint32_t i = 0; i < n; i++) {
		if (len - off < 8)
			return errmsg_set(e, EINVAL, "%s image: truncated in part %u", what, i);
		uint32_t tag = (uint32_t)get_le(p + off, 4);
		size_t plen = (size_t)get_le(p + off + 4, 4);
		if (len - off - 8 < pad8(plen))
			return errmsg_set(e, EINVAL, "%s image: part %u (tag %u) runs past the end", what, i, tag);
		struct slot *s = NULL;
		for (unsigned k = 0; k < nslots; k++)
			if (slots[k].tag == tag)
				s = &slots[k];
		if (!s)
			return errmsg_set(e, EINVAL, "%s image: unknown part (tag %u)", what, tag);
		if (s->seen || plen != s->len)
			return errmsg_set(e, EINVAL, "%s image: %s is %zu bytes, this build's KVM structure is %zu%s", what,
					  s->name, plen, s->len, s->seen ? " (or given twice)" : "");
		memcpy(s->dst, p + off + 8, plen);
		s->seen = true;
		off += 8 + pad8(plen);
	}
	if (off != len)
		return errmsg_set(e, EINVAL, "%s image: %zu bytes left over after its %u parts", what, len - off, n);
	for (unsigned k = 0; k < nslots; k++)
		if (slots[k].required && !slots[k].seen)
			return errmsg_set(e, EINVAL, "%s image: %s is missing", what, slots[k].name);
	return 0;
}

size_t vcpu_state_encode(const struct vcpu_state *s, void *buf, size_t len)
{
	if (s->nmsrs > VCPU_STATE_MAX_MSRS)
		return 0;
	struct part p[10] = {
		{ TAG_REGS, &s->regs, sizeof(s->regs) },
		{ TAG_SREGS, &s->sregs, sizeof(s->sregs) },
		{ TAG_EVENTS, &s->events, sizeof(s->events) },
		{ TAG_DEBUGREGS, &s->debugregs, sizeof(s->debugregs) },
		{ TAG_MP, &s->mp_state, sizeof(s->mp_state) },
		{ TAG_LAPIC, &s->lapic, sizeof(s->lapic) },
		{ TAG_MSRS, s->msrs, s->nmsrs * sizeof(s->msrs[0]) },
	};
	unsigned n = 7;
	if (s->has_xsave)
		p[n++] = (struct part){ TAG_XSAVE, s->xsave, sizeof(s->xsave) };
	else
		p[n++] = (struct part){ TAG_FPU, &s->fpu, sizeof(s->fpu) };
	if (s->has_xcrs)
		p[n++] = (struct part){ TAG_XCRS, &s->xcrs, sizeof(s->xcrs) };
	return encode_parts(VCPU_IMAGE_MAGIC, p, n, buf, len);
}

int vcpu_state_decode(struct vcpu_state *s, const void *buf, size_t len, struct errmsg *e)
{
	static __thread struct vcpu_state t; /* 11 KiB: not on a vCPU thread's stack */
	memset(&t, 0, sizeof(t));
	/* The MSR part's length varies: find it first, then expect exactly that. */
	size_t msr_len = 0;
	const uint8_t *p = buf;
	if (buf && len >= IMAGE_HEADER && get_le(p, 4) == VCPU_IMAGE_MAGIC) {
		size_t off = IMAGE_HEADER;
		for (uint32_t i = 0; i < get_le(p + 8, 4) && len - off >= 8; i++) {
			size_t plen = (size_t)get_le(p + off + 4, 4);
			if (get_le(p + off, 4) == TAG_MSRS)
				msr_len = plen;
			if (len - off - 8 < pad8(plen))
				break;
			off += 8 + pad8(plen);
		}
	}
	if (msr_len % sizeof(t.msrs[0]) || msr_len / sizeof(t.msrs[0]) > VCPU_STATE_MAX_MSRS)
		return errmsg_set(e, EINVAL, "vCPU image: MSR part of %zu bytes (at most %d MSRs of %zu bytes)", msr_len,
				  VCPU_STATE_MAX_MSRS, sizeof(t.msrs[0]));
	struct slot slots[] = {
		{ TAG_REGS, &t.regs, sizeof(t.regs), true, false, "general registers" },
		{ TAG_SREGS, &t.sregs, sizeof(t.sregs), true, false, "special registers" },
		{ TAG_EVENTS, &t.events, sizeof(t.events), true, false, "pending events" },
		{ TAG_DEBUGREGS, &t.debugregs, sizeof(t.debugregs), true, false, "debug registers" },
		{ TAG_MP, &t.mp_state, sizeof(t.mp_state), true, false, "MP state" },
		{ TAG_LAPIC, &t.lapic, sizeof(t.lapic), true, false, "LAPIC" },
		{ TAG_MSRS, t.msrs, msr_len, true, false, "MSRs" },
		{ TAG_XSAVE, t.xsave, sizeof(t.xsave), false, false, "XSAVE area" },
		{ TAG_FPU, &t.fpu, sizeof(t.fpu), false, false, "FPU" },
		{ TAG_XCRS, &t.xcrs, sizeof(t.xcrs), false, false, "XCRs" },
	};
	int rc = decode_parts(VCPU_IMAGE_MAGIC, "vCPU", slots, sizeof(slots) / sizeof(slots[0]), buf, len, e);
	if (rc < 0)
		return rc;
	t.has_xsave = slots[7].seen;
	t.has_xcrs = slots[9].seen;
	if (t.has_xsave == slots[8].seen)
		return errmsg_set(e, EINVAL, "vCPU image: needs exactly one of the XSAVE area and the FPU");
	t.nmsrs = (uint32_t)(msr_len / sizeof(t.msrs[0]));
	*s = t;
	return 0;
}

/* ---- the VM's irqchip, PIT and clock ---- */

#define VM_IOC(what, req, arg)                                                                                 \
	do {                                                                                                   \
		if (ioctl(vm->vm_fd, req, arg) < 0)                                                            \
			return errmsg_set(e, errno, what ": %s", strerror(errno));                             \
	} while (0)

int vm_chip_state_get(struct vm *vm, struct vm_chip_state *s, bool with_clock, struct errmsg *e)
{
	memset(s, 0, sizeof(*s));
	s->pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
	s->pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	s->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
	VM_IOC("KVM_GET_IRQCHIP (PIC master)", KVM_GET_IRQCHIP, &s->pic_master);
	VM_IOC("KVM_GET_IRQCHIP (PIC slave)", KVM_GET_IRQCHIP, &s->pic_slave);
	VM_IOC("KVM_GET_IRQCHIP (IOAPIC)", KVM_GET_IRQCHIP, &s->ioapic);
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &s->pit) == 0)
		s->has_pit = true;
	else if (errno != ENXIO && errno != ENOENT)
		return errmsg_set(e, errno, "KVM_GET_PIT2: %s", strerror(errno));
	if (with_clock)
		VM_IOC("KVM_GET_CLOCK", KVM_GET_CLOCK, &s->clock);
	return 0;
}

int vm_chip_state_set(struct vm *vm, const struct vm_chip_state *s, bool with_clock, struct errmsg *e)
{
	struct kvm_pit_state2 probe;
	bool vm_has_pit = ioctl(vm->vm_fd, KVM_GET_PIT2, &probe) == 0;
	if (s->has_pit != vm_has_pit)
		return errmsg_set(e, EINVAL, "the state %s a PIT and this VM %s", s->has_pit ? "has" : "has no",
				  vm_has_pit ? "has one" : "has none");
	VM_IOC("KVM_SET_IRQCHIP (PIC master)", KVM_SET_IRQCHIP, &s->pic_master);
	VM_IOC("KVM_SET_IRQCHIP (PIC slave)", KVM_SET_IRQCHIP, &s->pic_slave);
	VM_IOC("KVM_SET_IRQCHIP (IOAPIC)", KVM_SET_IRQCHIP, &s->ioapic);
	if (s->has_pit)
		VM_IOC("KVM_SET_PIT2", KVM_SET_PIT2, &s->pit);
	if (with_clock) {
		struct kvm_clock_data c = { .clock = s->clock.clock }; /* flags must be 0 on set */
		VM_IOC("KVM_SET_CLOCK", KVM_SET_CLOCK, &c);
	}
	return 0;
}

size_t vm_chip_state_encode(const struct vm_chip_state *s, void *buf, size_t len)
{
	struct part p[5] = {
		{ TAG_PIC_MASTER, &s->pic_master, sizeof(s->pic_master) },
		{ TAG_PIC_SLAVE, &s->pic_slave, sizeof(s->pic_slave) },
		{ TAG_IOAPIC, &s->ioapic, sizeof(s->ioapic) },
		{ TAG_CLOCK, &s->clock, sizeof(s->clock) },
	};
	unsigned n = 4;
	if (s->has_pit)
		p[n++] = (struct part){ TAG_PIT, &s->pit, sizeof(s->pit) };
	return encode_parts(CHIP_IMAGE_MAGIC, p, n, buf, len);
}

int vm_chip_state_decode(struct vm_chip_state *s, const void *buf, size_t len, struct errmsg *e)
{
	struct vm_chip_state t;
	memset(&t, 0, sizeof(t));
	struct slot slots[] = {
		{ TAG_PIC_MASTER, &t.pic_master, sizeof(t.pic_master), true, false, "PIC master" },
		{ TAG_PIC_SLAVE, &t.pic_slave, sizeof(t.pic_slave), true, false, "PIC slave" },
		{ TAG_IOAPIC, &t.ioapic, sizeof(t.ioapic), true, false, "IOAPIC" },
		{ TAG_CLOCK, &t.clock, sizeof(t.clock), true, false, "KVM clock" },
		{ TAG_PIT, &t.pit, sizeof(t.pit), false, false, "PIT" },
	};
	int rc = decode_parts(CHIP_IMAGE_MAGIC, "irqchip", slots, sizeof(slots) / sizeof(slots[0]), buf, len, e);
	if (rc < 0)
		return rc;
	if (t.pic_master.chip_id != KVM_IRQCHIP_PIC_MASTER || t.pic_slave.chip_id != KVM_IRQCHIP_PIC_SLAVE ||
	    t.ioapic.chip_id != KVM_IRQCHIP_IOAPIC)
		return errmsg_set(e, EINVAL, "irqchip image: a chip has the wrong id");
	t.has_pit = slots[4].seen;
	*s = t;
	return 0;
}
