/* Data watchpoints: in debug registers where the start-up probe saw them fire, otherwise by
 * single-stepping: the watched bytes are compared after each instruction (write), and each
 * instruction's memory operands are decoded with capstone before it runs (read, access). */
#include <capstone/capstone.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/pagewalk.h"
#include "gdbstub/stub_impl.h"
#include "trace/disas.h"

/* ---- the table ----------------------------------------------------------------------------- */

static void update_flags(struct gdbstub *s)
{
	s->step_watch_active = s->access_watch_active = false;
	for (int i = 0; i < STUB_MAX_WATCH; i++) {
		const struct watch *w = &s->watches[i];
		if (!w->used || w->slot >= 0)
			continue;
		s->step_watch_active = true;
		if (w->type != 2)
			s->access_watch_active = true;
	}
}

static int read_value(struct gdbstub *s, const struct watch *w, uint8_t *buf)
{
	struct gmem *g = vm_gmem(s->vm);
	if (gmem_read(g, w->gpa[0], buf, w->piece[0]) < 0)
		return -EFAULT;
	if (w->piece[1] && gmem_read(g, w->gpa[1], buf + w->piece[0], w->piece[1]) < 0)
		return -EFAULT;
	return 0;
}

/* Where the bytes of [gva, gva+len) live (len <= STUB_WATCH_MAX_LEN < a page: two pieces at most). */
static int locate(struct gdbstub *s, const struct paging_regs *pr, struct watch *w)
{
	struct pagewalk pw;
	if (pagewalk_translate(vm_gmem(s->vm), pr, w->gva, &pw) != PAGEWALK_OK)
		return -EFAULT;
	unsigned room = 0x1000 - (unsigned)(pw.gpa & 0xfff);
	w->gpa[0] = pw.gpa;
	w->piece[0] = w->len < room ? w->len : room;
	w->piece[1] = w->len - w->piece[0];
	if (w->piece[1]) {
		if (pagewalk_translate(vm_gmem(s->vm), pr, w->gva + w->piece[0], &pw) != PAGEWALK_OK)
			return -EFAULT;
		w->gpa[1] = pw.gpa;
	}
	return 0;
}

static bool fits_debug_register(uint64_t gva, uint64_t len)
{
	return (len == 1 || len == 2 || len == 4 || len == 8) && (gva & (len - 1)) == 0;
}

static int free_hw_slot(const struct gdbstub *s)
{
	for (int i = 0; i < STUB_HW_SLOTS; i++)
		if (!s->hw[i].used)
			return i;
	return -1;
}

int watch_insert(struct gdbstub *s, const struct paging_regs *pr, int type, uint64_t gva, uint64_t len)
{
	if (type < 2 || type > 4 || len == 0 || len > STUB_WATCH_MAX_LEN)
		return -EINVAL;
	struct watch *w = NULL;
	for (int i = 0; i < STUB_MAX_WATCH && !w; i++)
		if (!s->watches[i].used)
			w = &s->watches[i];
	if (!w)
		return -ENOSPC;
	struct watch nw = { .used = true, .type = type, .gva = gva, .len = (unsigned)len, .slot = -1 };
	if (s->dr_watch_works) {
		/* x86 debug registers cannot watch reads alone: gdb then asks for an access watchpoint. */
		if (type == 3)
			return -EOPNOTSUPP;
		int slot = free_hw_slot(s);
		if (slot >= 0 && fits_debug_register(gva, len)) {
			s->hw[slot] = (struct hw_slot){ .used = true, .type = type == 2 ? HW_WRITE : HW_ACCESS,
							.len = (uint8_t)len, .addr = gva };
			nw.slot = slot;
		}
	}
	if (nw.slot < 0) {
		int rc = locate(s, pr, &nw);
		if (rc < 0 && type == 2)
			return rc; /* a write watchpoint compares values: it needs the bytes */
		if (rc == 0)
			read_value(s, &nw, nw.old);
	}
	*w = nw;
	update_flags(s);
	return 0;
}

int watch_remove(struct gdbstub *s, int type, uint64_t gva, uint64_t len)
{
	for (int i = 0; i < STUB_MAX_WATCH; i++) {
		struct watch *w = &s->watches[i];
		if (w->used && w->type == type && w->gva == gva && w->len == len) {
			if (w->slot >= 0)
				s->hw[w->slot].used = false;
			w->used = false;
			update_flags(s);
			return 0;
		}
	}
	return -ENOENT;
}

void watch_remove_all(struct gdbstub *s)
{
	for (int i = 0; i < STUB_MAX_WATCH; i++) {
		struct watch *w = &s->watches[i];
		if (w->used && w->slot >= 0)
			s->hw[w->slot].used = false;
		w->used = false;
	}
	update_flags(s);
}

void watch_snapshot(struct gdbstub *s)
{
	for (int i = 0; i < STUB_MAX_WATCH; i++) {
		struct watch *w = &s->watches[i];
		if (w->used && w->slot < 0 && w->type == 2)
			read_value(s, w, w->old);
	}
}

/* ---- checks after a step ------------------------------------------------------------------- */

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Whether v's last instruction (decoded before its step) wrote into w's range. */
static bool wrote_range(const struct stub_vcpu *v, const struct watch *w)
{
	for (unsigned k = 0; k < v->nacc; k++)
		if (v->acc[k].write && overlaps(v->acc[k].addr, v->acc[k].size, w->gva, w->len))
			return true;
	return false;
}

bool watch_check_step(struct gdbstub *s, struct stub_vcpu *v, struct stop_event *ev)
{
	for (int i = 0; i < STUB_MAX_WATCH; i++) {
		struct watch *w = &s->watches[i];
		if (!w->used || w->slot >= 0)
			continue;
		if (w->type == 2) {
			uint8_t now[STUB_WATCH_MAX_LEN];
			if (read_value(s, w, now) == 0 && memcmp(now, w->old, w->len) != 0) {
				/* With several vCPUs stepping, the first to look may not be the writer: the
				 * change belongs to the vCPU whose instruction wrote the range, and one whose
				 * instruction did not leaves it to the writer's own look. A change nobody
				 * claims (a device's DMA, an access we could not decode) goes to whoever sees
				 * it once every vCPU has had two looks. */
				if (s->ncpus > 1 && !wrote_range(v, w) && ++w->unclaimed < 2 * s->ncpus)
					continue;
				w->unclaimed = 0;
				memcpy(w->old, now, w->len);
				*ev = (struct stop_event){ v->index, GDB_SIGTRAP, STOP_WATCH, w->gva };
				return true;
			}
			continue;
		}
		for (unsigned k = 0; k < v->nacc; k++) {
			const struct mem_access *a = &v->acc[k];
			if (!overlaps(a->addr, a->size, w->gva, w->len))
				continue;
			if (w->type == 4 || a->read) {
				*ev = (struct stop_event){ v->index, GDB_SIGTRAP, w->type == 3 ? STOP_RWATCH : STOP_AWATCH, w->gva };
				v->nacc = 0;
				return true;
			}
		}
	}
	return false;
}

bool watch_from_dr6(struct gdbstub *s, uint64_t dr6, struct stop_event *ev)
{
	for (int i = 0; i < STUB_MAX_WATCH; i++) {
		const struct watch *w = &s->watches[i];
		if (w->used && w->slot >= 0 && (dr6 & (1ull << w->slot))) {
			ev->signal = GDB_SIGTRAP;
			ev->why = w->type == 2 ? STOP_WATCH : STOP_AWATCH;
			ev->addr = w->gva;
			return true;
		}
	}
	return false;
}

/* ---- decoding the next instruction's memory accesses --------------------------------------- */

static uint64_t segment_base(const struct kvm_sregs *sr, enum vcpu_mode mode, unsigned seg)
{
	switch (seg) {
	case X86_REG_FS: return sr->fs.base;
	case X86_REG_GS: return sr->gs.base;
	default: break;
	}
	if (mode == VCPU_MODE_LONG64)
		return 0; /* CS, DS, ES and SS have no base in 64-bit mode */
	switch (seg) {
	case X86_REG_ES: return sr->es.base;
	case X86_REG_CS: return sr->cs.base;
	case X86_REG_SS: return sr->ss.base;
	default: return sr->ds.base;
	}
}

static void add_access(struct stub_vcpu *v, uint64_t addr, unsigned size, bool read, bool write)
{
	if (v->nacc < STUB_MAX_ACCESS)
		v->acc[v->nacc++] = (struct mem_access){ addr, size ? size : 1, read, write };
}

/* push/call write below the stack pointer, pop/ret read at it: operands capstone leaves implicit. */
static void add_stack_access(struct stub_vcpu *v, const cs_insn *in, const struct kvm_regs *r,
			     const struct kvm_sregs *sr, enum vcpu_mode mode)
{
	unsigned width = mode == VCPU_MODE_LONG64 ? 8 : mode == VCPU_MODE_PROT32 ? 4 : 2;
	uint64_t sp = mode == VCPU_MODE_LONG64 ? r->rsp : mode == VCPU_MODE_PROT32 ? (uint32_t)r->rsp : (uint16_t)r->rsp;
	uint64_t base = segment_base(sr, mode, X86_REG_SS);
	switch (in->id) {
	case X86_INS_PUSH:
	case X86_INS_CALL:
		add_access(v, base + sp - width, width, false, true);
		break;
	case X86_INS_POP:
	case X86_INS_RET:
		add_access(v, base + sp, width, true, false);
		break;
	default:
		break;
	}
}

void watch_decode_next(struct gdbstub *s, struct stub_vcpu *v)
{
	v->nacc = 0;
	struct kvm_regs r;
	struct kvm_sregs sr;
	if (vcpu_get_regs(v->vcpu, &r) < 0 || vcpu_get_sregs(v->vcpu, &sr) < 0)
		return;
	enum vcpu_mode mode = vcpu_mode_of(&sr);
	struct paging_regs pr = { .cr0 = sr.cr0, .cr3 = sr.cr3, .cr4 = sr.cr4, .efer = sr.efer };
	uint64_t lin = mode == VCPU_MODE_LONG64 ? r.rip : sr.cs.base + r.rip;
	uint8_t bytes[15];
	size_t n = mem_read_virt(s, &pr, lin, bytes, sizeof(bytes));
	csh *h = disas_detail_handle(mode);
	cs_insn *in = NULL;
	if (n == 0 || !h || cs_disasm(*h, bytes, n, r.rip, 1, &in) != 1)
		return;
	switch (in->id) {
	case X86_INS_LEA: case X86_INS_NOP: case X86_INS_PREFETCH: case X86_INS_PREFETCHW:
	case X86_INS_PREFETCHNTA: case X86_INS_PREFETCHT0: case X86_INS_PREFETCHT1: case X86_INS_PREFETCHT2:
		break; /* a memory operand that is not an access */
	default: {
		const cs_x86 *x = &in->detail->x86;
		uint64_t amask = x->addr_size == 2 ? 0xffff : x->addr_size == 4 ? 0xffffffff : ~0ull;
		for (unsigned i = 0; i < x->op_count; i++) {
			const cs_x86_op *op = &x->operands[i];
			uint64_t base, index;
			if (op->type != X86_OP_MEM || !disas_reg_value(&r, op->mem.base, r.rip + in->size, &base) ||
			    !disas_reg_value(&r, op->mem.index, r.rip + in->size, &index))
				continue;
			uint64_t ea = (base + index * (uint64_t)op->mem.scale + (uint64_t)op->mem.disp) & amask;
			uint64_t addr = segment_base(&sr, mode, op->mem.segment) + ea;
			if (mode != VCPU_MODE_LONG64)
				addr &= 0xffffffff;
			/* capstone 4 fills `access`; where it does not, count the operand as both. */
			bool rd = op->access ? (op->access & CS_AC_READ) != 0 : true;
			bool wr = op->access ? (op->access & CS_AC_WRITE) != 0 : true;
			add_access(v, addr, op->size, rd, wr);
		}
		add_stack_access(v, in, &r, &sr, mode);
		break;
	}
	}
	cs_free(in, 1);
}
