/* Door 3 of DESIGN.md: how a device model raises or lowers an interrupt line. The VM (or a
 * recorder, or a fuzz harness) provides the function; devices never call KVM themselves. */
#ifndef DHYVE_BASE_IRQ_H
#define DHYVE_BASE_IRQ_H

#include <stdbool.h>

struct irq_sink {
	void (*set_level)(void *ctx, unsigned gsi, bool level);
	void *ctx;
};

static inline void irq_set_level(const struct irq_sink *s, unsigned gsi, bool level)
{
	if (s && s->set_level)
		s->set_level(s->ctx, gsi, level);
}

#endif
