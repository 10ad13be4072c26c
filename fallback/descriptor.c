/* Segment descriptors from the guest's GDT and LDT: what interrupt delivery and iret load into
 * CS and SS, in KVM's kvm_segment form. */
#include <string.h>

#include "fallback/cpu_state.h"

#define SEL_TI 0x4u
#define DESC_ACCESSED (1ull << 40)

static bool table_of(const struct fb_cpu *c, uint16_t selector, uint64_t *base, uint32_t *limit)
{
	if (selector & SEL_TI) {
		if (c->sregs.ldt.unusable || !c->sregs.ldt.present || (c->sregs.ldt.selector & ~3u) == 0)
			return false;
		*base = c->sregs.ldt.base;
		*limit = c->sregs.ldt.limit;
	} else {
		*base = c->sregs.gdt.base;
		*limit = c->sregs.gdt.limit;
	}
	return true;
}

enum fb_step fb_read_descriptor(struct fb_cpu *c, uint16_t selector, bool ext, uint64_t *desc)
{
	uint64_t base;
	uint32_t limit, off = selector & ~7u;
	if (!table_of(c, selector, &base, &limit) || off + 7 > limit)
		return fb_raise(c, FB_GP, true, (selector & 0xfffcu) | ext);
	return fb_read_linear(c, base + off, desc, 8, FB_ACC_IMPLICIT);
}

void fb_segment_from_descriptor(struct kvm_segment *s, uint16_t selector, uint64_t d)
{
	memset(s, 0, sizeof(*s));
	uint32_t limit = (uint32_t)(d & 0xffff) | (uint32_t)((d >> 32) & 0xf0000);
	s->g = (d >> 55) & 1;
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
	s->base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	s->selector = selector;
	s->type = (uint8_t)(((d >> 40) & 0xf) | 1); /* the CPU marks it accessed while loading it */
	s->s = (d >> 44) & 1;
	s->dpl = (d >> 45) & 3;
	s->present = (d >> 47) & 1;
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
}

void fb_segment_null(struct kvm_segment *s, uint16_t selector)
{
	memset(s, 0, sizeof(*s));
	s->selector = selector;
	s->unusable = 1;
}

void fb_mark_descriptor_accessed(struct fb_cpu *c, uint16_t selector, uint64_t desc)
{
	uint64_t base;
	uint32_t limit;
	if ((desc & DESC_ACCESSED) || !table_of(c, selector, &base, &limit))
		return;
	uint8_t access_byte = (uint8_t)((desc >> 40) | 1);
	/* Best effort, as on the CPU a read-only GDT page would fault; we leave it unset then. */
	(void)fb_write_linear(c, base + (selector & ~7u) + 5, &access_byte, 1, FB_ACC_IMPLICIT);
}
