/* Software breakpoints (an int3 planted by guest-physical address, its original byte kept and
 * shown to gdb), hardware execute breakpoints in DR0-3, and guest memory access for gdb. */
#include <errno.h>
#include <string.h>

#include "base/pagewalk.h"
#include "gdbstub/stub_impl.h"

#define INT3 0xcc

/* ---- guest memory, by page ----------------------------------------------------------------- */

/* The guest-physical piece of [gva, gva+len) that lies in one 4 KiB frame: *gpa and its length,
 * or 0 where the address does not translate. */
static size_t translate_piece(struct gdbstub *s, const struct paging_regs *pr, uint64_t gva, size_t len, uint64_t *gpa)
{
	struct pagewalk w;
	if (pagewalk_translate(vm_gmem(s->vm), pr, gva, &w) != PAGEWALK_OK)
		return 0;
	size_t n = 0x1000 - (w.gpa & 0xfff);
	*gpa = w.gpa;
	return n < len ? n : len;
}

size_t mem_read_virt(struct gdbstub *s, const struct paging_regs *pr, uint64_t gva, uint8_t *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		uint64_t gpa;
		size_t n = translate_piece(s, pr, gva + done, len - done, &gpa);
		if (n == 0 || gmem_read(vm_gmem(s->vm), gpa, buf + done, n) < 0)
			break;
		/* gdb must see the code, not our int3s (it disassembles and unwinds with it). */
		for (unsigned i = 0; i < STUB_MAX_SW_BP; i++) {
			const struct sw_bp *b = &s->sw[i];
			if (b->used && !b->lifted && b->gpa >= gpa && b->gpa < gpa + n)
				buf[done + (b->gpa - gpa)] = b->orig;
		}
		done += n;
	}
	return done;
}

size_t mem_write_virt(struct gdbstub *s, const struct paging_regs *pr, uint64_t gva, const uint8_t *buf, size_t len)
{
	size_t done = 0;
	struct gmem *g = vm_gmem(s->vm);
	while (done < len) {
		uint64_t gpa;
		size_t n = translate_piece(s, pr, gva + done, len - done, &gpa);
		if (n == 0 || gmem_write(g, gpa, buf + done, n) < 0)
			break;
		/* A write over a planted breakpoint changes the byte it restores; the int3 stays. */
		for (unsigned i = 0; i < STUB_MAX_SW_BP; i++) {
			struct sw_bp *b = &s->sw[i];
			if (b->used && b->gpa >= gpa && b->gpa < gpa + n) {
				b->orig = buf[done + (b->gpa - gpa)];
				if (!b->lifted)
					gmem_write(g, b->gpa, &(uint8_t){ INT3 }, 1);
			}
		}
		done += n;
	}
	return done;
}

/* ---- software breakpoints ------------------------------------------------------------------ */

int bp_find_sw_gva(const struct gdbstub *s, uint64_t gva)
{
	for (int i = 0; i < STUB_MAX_SW_BP; i++)
		if (s->sw[i].used && s->sw[i].gva == gva)
			return i;
	return -1;
}

int bp_find_sw_gpa(const struct gdbstub *s, uint64_t gpa)
{
	for (int i = 0; i < STUB_MAX_SW_BP; i++)
		if (s->sw[i].used && s->sw[i].gpa == gpa)
			return i;
	return -1;
}

bool bp_any_sw(const struct gdbstub *s)
{
	for (int i = 0; i < STUB_MAX_SW_BP; i++)
		if (s->sw[i].used)
			return true;
	return false;
}

int bp_insert_sw(struct gdbstub *s, const struct paging_regs *pr, uint64_t gva)
{
	if (bp_find_sw_gva(s, gva) >= 0)
		return 0; /* gdb may insert the same address twice; it counts references itself */
	struct pagewalk w;
	if (pagewalk_translate(vm_gmem(s->vm), pr, gva, &w) != PAGEWALK_OK)
		return -EFAULT;
	int slot = -1;
	for (int i = 0; i < STUB_MAX_SW_BP && slot < 0; i++)
		if (!s->sw[i].used)
			slot = i;
	if (slot < 0)
		return -ENOSPC;
	struct sw_bp *b = &s->sw[slot];
	/* Another virtual alias of the same byte: share its original byte, the int3 is there. */
	int alias = bp_find_sw_gpa(s, w.gpa);
	if (alias >= 0) {
		*b = (struct sw_bp){ .used = true, .gva = gva, .gpa = w.gpa, .orig = s->sw[alias].orig,
				     .lifted = s->sw[alias].lifted };
		return 0;
	}
	uint8_t orig;
	if (gmem_read(vm_gmem(s->vm), w.gpa, &orig, 1) < 0 || gmem_write(vm_gmem(s->vm), w.gpa, &(uint8_t){ INT3 }, 1) < 0)
		return -EFAULT;
	*b = (struct sw_bp){ .used = true, .gva = gva, .gpa = w.gpa, .orig = orig };
	return 0;
}

int bp_remove_sw(struct gdbstub *s, uint64_t gva)
{
	int i = bp_find_sw_gva(s, gva);
	if (i < 0)
		return -ENOENT;
	struct sw_bp b = s->sw[i];
	s->sw[i].used = false;
	if (bp_find_sw_gpa(s, b.gpa) >= 0)
		return 0; /* an alias still wants the int3 */
	/* Put the byte back only if our int3 is still there: the guest may have rewritten its code. */
	uint8_t now;
	struct gmem *g = vm_gmem(s->vm);
	if (!b.lifted && gmem_read(g, b.gpa, &now, 1) == 0 && now == INT3)
		gmem_write(g, b.gpa, &b.orig, 1);
	return 0;
}

/* Lifting and planting act on every entry with the same guest-physical byte (aliases). */
static void set_lifted(struct gdbstub *s, uint64_t gpa, bool lifted)
{
	for (int i = 0; i < STUB_MAX_SW_BP; i++)
		if (s->sw[i].used && s->sw[i].gpa == gpa)
			s->sw[i].lifted = lifted;
}

void bp_lift_sw(struct gdbstub *s, int idx)
{
	struct sw_bp *b = &s->sw[idx];
	if (!b->used || b->lifted)
		return;
	uint8_t now;
	struct gmem *g = vm_gmem(s->vm);
	if (gmem_read(g, b->gpa, &now, 1) == 0 && now == INT3)
		gmem_write(g, b->gpa, &b->orig, 1);
	set_lifted(s, b->gpa, true);
}

void bp_plant_sw(struct gdbstub *s, int idx)
{
	struct sw_bp *b = &s->sw[idx];
	if (!b->used || !b->lifted)
		return;
	struct gmem *g = vm_gmem(s->vm);
	/* The guest may have changed the byte while it was lifted (self-modifying code): keep
	 * what it wrote as the byte to restore. */
	gmem_read(g, b->gpa, &b->orig, 1);
	gmem_write(g, b->gpa, &(uint8_t){ INT3 }, 1);
	for (int i = 0; i < STUB_MAX_SW_BP; i++)
		if (s->sw[i].used && s->sw[i].gpa == b->gpa)
			s->sw[i].orig = b->orig;
	set_lifted(s, b->gpa, false);
}

void bp_lift_all(struct gdbstub *s)
{
	for (int i = 0; i < STUB_MAX_SW_BP; i++)
		bp_lift_sw(s, i);
}

void bp_plant_all(struct gdbstub *s)
{
	for (int i = 0; i < STUB_MAX_SW_BP; i++)
		bp_plant_sw(s, i);
}

/* ---- debug registers ----------------------------------------------------------------------- */

int bp_find_hw_exec(const struct gdbstub *s, uint64_t addr)
{
	for (int i = 0; i < STUB_HW_SLOTS; i++)
		if (s->hw[i].used && s->hw[i].type == HW_EXEC && s->hw[i].addr == addr)
			return i;
	return -1;
}

bool bp_any_hw(const struct gdbstub *s)
{
	for (int i = 0; i < STUB_HW_SLOTS; i++)
		if (s->hw[i].used)
			return true;
	return false;
}

int bp_insert_hw(struct gdbstub *s, uint64_t addr)
{
	if (bp_find_hw_exec(s, addr) >= 0)
		return 0;
	for (int i = 0; i < STUB_HW_SLOTS; i++) {
		if (!s->hw[i].used) {
			s->hw[i] = (struct hw_slot){ .used = true, .type = HW_EXEC, .len = 1, .addr = addr };
			return 0;
		}
	}
	return -ENOSPC;
}

int bp_remove_hw(struct gdbstub *s, uint64_t addr)
{
	int i = bp_find_hw_exec(s, addr);
	if (i < 0)
		return -ENOENT;
	s->hw[i].used = false;
	return 0;
}

uint64_t bp_dr7(const struct gdbstub *s, unsigned skip_mask)
{
	uint64_t dr7 = 0;
	for (int i = 0; i < STUB_HW_SLOTS; i++) {
		const struct hw_slot *h = &s->hw[i];
		if (!h->used || (skip_mask & (1u << i)))
			continue;
		/* LEN: 00 one byte, 01 two, 11 four, 10 eight; execute breakpoints use 00. */
		uint64_t len = h->len == 2 ? 1 : h->len == 4 ? 3 : h->len == 8 ? 2 : 0;
		dr7 |= (2ull << (i * 2)) | ((uint64_t)h->type << (16 + i * 4)) | (len << (18 + i * 4));
	}
	return dr7 ? dr7 | 0x600 : 0; /* GE and the reserved bit 10, as QEMU sets them */
}

void bp_remove_all(struct gdbstub *s)
{
	for (int i = 0; i < STUB_MAX_SW_BP; i++)
		if (s->sw[i].used)
			bp_remove_sw(s, s->sw[i].gva);
	for (int i = 0; i < STUB_HW_SLOTS; i++)
		if (s->hw[i].used && s->hw[i].type == HW_EXEC)
			s->hw[i].used = false;
}
