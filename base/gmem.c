/* Guest-physical memory view: slot lookup and bounds-checked copies.
 * No KVM here: the vmm fills the slots, everything else only reads through them. */
#include "base/gmem.h"

#include <errno.h>
#include <string.h>

void gmem_init_flat(struct gmem *m, void *buf, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->slot[0] = (struct gmem_slot){ .gpa = 0, .size = size, .host = buf };
	m->nslots = 1;
	m->ram_size = size;
}

int gmem_add_slot(struct gmem *m, uint64_t gpa, uint64_t size, void *host)
{
	if (m->nslots == GMEM_MAX_SLOTS || size == 0 || gpa + size < gpa)
		return -EINVAL;
	for (unsigned i = 0; i < m->nslots; i++) {
		const struct gmem_slot *s = &m->slot[i];
		if (gpa < s->gpa + s->size && s->gpa < gpa + size)
			return -EINVAL;
	}
	m->slot[m->nslots++] = (struct gmem_slot){ .gpa = gpa, .size = size, .host = host };
	m->ram_size += size;
	return 0;
}

void *gmem_map(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		return NULL;
	for (unsigned i = 0; i < m->nslots; i++) {
		const struct gmem_slot *s = &m->slot[i];
		/* Written so that no sum can overflow: gpa - s->gpa only when gpa >= s->gpa. */
		if (gpa >= s->gpa && gpa - s->gpa < s->size && len <= s->size - (gpa - s->gpa))
			return s->host + (gpa - s->gpa);
	}
	return NULL;
}

int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = gmem_map(m, gpa, len);
	if (!p)
		return len ? -EFAULT : 0;
	memcpy(dst, p, len);
	gmem_note_read(m, gpa, len);
	return 0;
}

int gmem_write(const struct gmem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gmem_map(m, gpa, len);
	if (!p)
		return len ? -EFAULT : 0;
	memcpy(p, src, len);
	gmem_note_write(m, gpa, len);
	return 0;
}

int gmem_zero(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	void *p = gmem_map(m, gpa, len);
	if (!p)
		return len ? -EFAULT : 0;
	memset(p, 0, len);
	gmem_note_write(m, gpa, len);
	return 0;
}

void gmem_note_write(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	if (m->observer && m->observer->wrote && len)
		m->observer->wrote(m->observer->ctx, gpa, len);
}

void gmem_note_read(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	if (m->observer && m->observer->read && len)
		m->observer->read(m->observer->ctx, gpa, len);
}
