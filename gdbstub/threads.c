/* vCPUs as gdb threads: thread id = vCPU index + 1, named "vCPU N" (qXfer:threads:read), with
 * the CPU mode and run state as extra info. */
#include <stdio.h>

#include "gdbstub/stub_impl.h"

bool thread_valid(const struct gdbstub *s, long tid)
{
	return tid >= 1 && tid <= (long)s->ncpus;
}

static void state_text(struct gdbstub *s, unsigned i, char *buf, size_t cap);

/* gdb shows the element's text as the thread's extra info: `info threads` then reads
 * Thread 2 "vCPU 1" (real mode, CPL0, waiting for SIPI). Our text needs no XML escaping. */
size_t threads_xml(struct gdbstub *s, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "<?xml version=\"1.0\"?>\n<threads>\n");
	for (unsigned i = 0; i < s->ncpus && n < cap; i++) {
		char text[96];
		state_text(s, i, text, sizeof(text));
		n += (size_t)snprintf(buf + n, cap - n, "<thread id=\"%x\" core=\"%u\" name=\"vCPU %u\">%s</thread>\n",
				      i + 1, i, i, text);
	}
	if (n < cap)
		n += (size_t)snprintf(buf + n, cap - n, "</threads>\n");
	return n < cap ? n : cap - 1;
}

static const char *mode_name(enum vcpu_mode m)
{
	switch (m) {
	case VCPU_MODE_REAL: return "real mode";
	case VCPU_MODE_PROT16: return "16-bit protected mode";
	case VCPU_MODE_PROT32: return "32-bit protected mode";
	default: return "long mode";
	}
}

static const char *mp_name(uint32_t mp)
{
	switch (mp) {
	case KVM_MP_STATE_RUNNABLE: return "runnable";
	case KVM_MP_STATE_UNINITIALIZED: return "waiting for INIT";
	case KVM_MP_STATE_INIT_RECEIVED: return "waiting for SIPI";
	case KVM_MP_STATE_HALTED: return "halted";
	case KVM_MP_STATE_SIPI_RECEIVED: return "SIPI received";
	default: return "unknown state";
	}
}

/* Mode, privilege level and run state of a stopped vCPU. */
static void state_text(struct gdbstub *s, unsigned i, char *buf, size_t cap)
{
	struct vcpu *v = s->vcpus[i].vcpu;
	struct kvm_sregs sr;
	uint32_t mp;
	if (vcpu_get_sregs(v, &sr) < 0 || vcpu_get_mp_state(v, &mp) < 0) {
		snprintf(buf, cap, "state unknown");
		return;
	}
	enum vcpu_mode m = vcpu_mode_of(&sr);
	snprintf(buf, cap, "%s, CPL%u, %s", mode_name(m), m == VCPU_MODE_REAL ? 0u : sr.ss.dpl, mp_name(mp));
}

void thread_extra_info(struct gdbstub *s, unsigned i, char *buf, size_t cap)
{
	char text[96];
	state_text(s, i, text, sizeof(text));
	snprintf(buf, cap, "vCPU %u, %s", i, text);
}
