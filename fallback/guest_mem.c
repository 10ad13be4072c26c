/* Guest memory as a completed instruction or an event delivery sees it: linear addresses through
 * the guest's page tables, with the page-fault checks the CPU makes, over the bounds-checked gmem. */
#include <string.h>

#include "fallback/cpu_state.h"

#define PAGE_SIZE 4096ull
#define PF_P (1u << 0)
#define PF_W (1u << 1)
#define PF_U (1u << 2)
#define PF_RSVD (1u << 3)

enum fb_step fb_raise(struct fb_cpu *c, uint8_t vector, bool has_error, uint32_t error)
{
	c->exc = (struct fb_exception){ .vector = vector, .has_error = has_error, .error = error };
	return FB_STEP_FAULT;
}

enum fb_step fb_raise_pf(struct fb_cpu *c, uint64_t la, uint32_t error)
{
	c->exc = (struct fb_exception){ .vector = FB_PF, .has_error = true, .error = error, .cr2 = la };
	return FB_STEP_FAULT;
}

/* Outside long mode linear addresses are 32 bits and wrap. */
static uint64_t wrap(const struct fb_cpu *c, uint64_t la)
{
	return fb_long_mode(c) ? la : (la & 0xffffffffull);
}

/* One page's translation with the rights the CPU would check; the table bits are what the
 * walker reports (WP, SMAP and the U/S rule are applied here, protection keys are not). */
static enum fb_step translate(struct fb_cpu *c, uint64_t la, unsigned acc, uint64_t *gpa)
{
	const struct kvm_sregs *s = &c->sregs;
	struct paging_regs pr = { .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer };
	uint32_t err = ((acc & FB_ACC_WRITE) ? PF_W : 0) | ((acc & FB_ACC_USER) ? PF_U : 0);
	struct pagewalk w;
	switch (pagewalk_translate(c->mem, &pr, la, &w)) {
	case PAGEWALK_OK:
		break;
	case PAGEWALK_NOT_PRESENT:
		return fb_raise_pf(c, la, err);
	case PAGEWALK_NONCANONICAL:
		return fb_raise(c, FB_GP, true, 0);
	case PAGEWALK_RESERVED:
	case PAGEWALK_BAD_TABLE: /* a table outside RAM reads as all-ones on a real machine */
	default:
		return fb_raise_pf(c, la, err | PF_P | PF_RSVD);
	}
	if (s->cr0 & FB_CR0_PG) {
		if ((acc & FB_ACC_USER) && !w.user)
			return fb_raise_pf(c, la, err | PF_P);
		if ((acc & FB_ACC_WRITE) && !w.writable && ((acc & FB_ACC_USER) || (s->cr0 & FB_CR0_WP)))
			return fb_raise_pf(c, la, err | PF_P);
		/* SMAP: the CPU's own accesses always, explicit ones unless RFLAGS.AC says otherwise. */
		if (!(acc & (FB_ACC_USER | FB_ACC_FETCH)) && w.user && (s->cr4 & FB_CR4_SMAP) &&
		    ((acc & FB_ACC_IMPLICIT) || !(c->regs.rflags & FB_RFLAGS_AC)))
			return fb_raise_pf(c, la, err | PF_P);
	}
	*gpa = w.gpa;
	return FB_STEP_OK;
}

/* Walks [la, la+len) page by page; with dst/src NULL it only checks. write: copy src in. */
static enum fb_step access(struct fb_cpu *c, uint64_t la, void *dst, const void *src, size_t len, unsigned acc)
{
	for (size_t done = 0; done < len;) {
		uint64_t at = wrap(c, la + done), gpa;
		size_t chunk = PAGE_SIZE - (at & (PAGE_SIZE - 1));
		if (chunk > len - done)
			chunk = len - done;
		enum fb_step st = translate(c, at, acc, &gpa);
		if (st != FB_STEP_OK)
			return st;
		uint8_t *host = gmem_map(c->mem, gpa, chunk);
		if (!host)
			return FB_STEP_UNHANDLED; /* MMIO or no memory: only KVM could complete it */
		if (dst)
			memcpy((uint8_t *)dst + done, host, chunk);
		else if (src)
			memcpy(host, (const uint8_t *)src + done, chunk);
		done += chunk;
	}
	return FB_STEP_OK;
}

enum fb_step fb_probe_linear(struct fb_cpu *c, uint64_t la, size_t len, unsigned acc)
{
	return access(c, la, NULL, NULL, len, acc);
}

enum fb_step fb_read_linear(struct fb_cpu *c, uint64_t la, void *dst, size_t len, unsigned acc)
{
	return access(c, la, dst, NULL, len, acc & ~FB_ACC_WRITE);
}

enum fb_step fb_write_linear(struct fb_cpu *c, uint64_t la, const void *src, size_t len, unsigned acc)
{
	/* Check every page first: a fault in the last page must not leave the first ones written. */
	enum fb_step st = access(c, la, NULL, NULL, len, acc | FB_ACC_WRITE);
	return st != FB_STEP_OK ? st : access(c, la, NULL, src, len, acc | FB_ACC_WRITE);
}

enum fb_step fb_map_linear(struct fb_cpu *c, uint64_t la, size_t len, unsigned acc, void **host)
{
	la = wrap(c, la);
	if (len == 0 || (la & (PAGE_SIZE - 1)) + len > PAGE_SIZE)
		return FB_STEP_UNHANDLED;
	uint64_t gpa;
	enum fb_step st = translate(c, la, acc, &gpa);
	if (st != FB_STEP_OK)
		return st;
	*host = gmem_map(c->mem, gpa, len);
	return *host ? FB_STEP_OK : FB_STEP_UNHANDLED;
}
