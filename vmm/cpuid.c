/* The CPUID guests see: what KVM supports, minus the features a nested, software KVM cannot
 * emulate at CPL0 (../shared/PLATFORM.md), so guests do not pick instructions that then fail. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vmm_impl.h"


/* Leaf 1 ECX */
#define F1_ECX_FMA      (1u << 12)
#define F1_ECX_CX16     (1u << 13) /* lock cmpxchg16b fails to emulate */
#define F1_ECX_XSAVE    (1u << 26) /* xsave/xrstor/xgetbv fail to emulate */
#define F1_ECX_OSXSAVE  (1u << 27)
#define F1_ECX_AVX      (1u << 28) /* needs XSAVE */
#define F1_ECX_F16C     (1u << 29)
/* Leaf 7 subleaf 0 EBX */
#define F7_EBX_AVX2     (1u << 5)
#define F7_EBX_INVPCID  (1u << 10)
#define F7_EBX_AVX512F  (1u << 16)
#define F7_EBX_SMAP     (1u << 20) /* clac/stac fail to emulate */
#define F7_EBX_CLFLUSHOPT (1u << 23)
#define F7_EBX_CLWB     (1u << 24)
#define F7_EBX_AVX512_ALL 0xdc230000u /* F, DQ, IFMA, PF, ER, CD, BW, VL */
/* Leaf 0x40000001 EAX (KVM_FEATURE_*) */
#define KVM_PV_UNHALT      (1u << 7)
#define KVM_PV_SEND_IPI    (1u << 11)
#define KVM_PV_SCHED_YIELD (1u << 13)
/* Leaf 0x80000008 EBX */
#define F88_EBX_RDPRU   (1u << 4)

static void filter_entry(struct kvm_cpuid_entry2 *ent)
{
	switch (ent->function) {
	case 1:
		ent->ecx &= ~(F1_ECX_FMA | F1_ECX_CX16 | F1_ECX_XSAVE | F1_ECX_OSXSAVE | F1_ECX_AVX | F1_ECX_F16C);
		break;
	case 7:
		if (ent->index == 0) {
			ent->ebx &= ~(F7_EBX_AVX2 | F7_EBX_INVPCID | F7_EBX_AVX512F | F7_EBX_SMAP |
				      F7_EBX_CLFLUSHOPT | F7_EBX_CLWB | F7_EBX_AVX512_ALL);
			ent->ecx = 0; /* AVX-512 extensions, PKU, ... */
			ent->edx = 0;
		} else {
			ent->eax = ent->ebx = ent->ecx = ent->edx = 0;
		}
		break;
	case 0x40000001: /* KVM paravirt features: these are hypercalls, which live-lock at CPL0 on PVM */
		ent->eax &= ~(KVM_PV_UNHALT | KVM_PV_SEND_IPI | KVM_PV_SCHED_YIELD);
		break;
	case 0xd: /* XSAVE state enumeration: nothing, since XSAVE is hidden */
		ent->eax = ent->ebx = ent->ecx = ent->edx = 0;
		break;
	case 0x80000008:
		ent->ebx &= ~F88_EBX_RDPRU;
		break;
	default:
		break;
	}
}

/* Recording: what would feed the guest host state outside the five doors is hidden (where KVM
 * lets it; the table goes into the log, so a replay sees exactly this): RDRAND, RDSEED, RDTSCP,
 * and the paravirtual clock, async page faults and steal time, which KVM writes into guest memory
 * on its own. The TSC itself cannot be hidden (docs/replay-format.md). */
void cpuid_hide_nondeterministic(struct kvm_cpuid2 *c)
{
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *ent = &c->entries[i];
		if (ent->function == 1)
			ent->ecx &= ~(1u << 30);         /* RDRAND */
		else if (ent->function == 7 && ent->index == 0)
			ent->ebx &= ~(1u << 18);         /* RDSEED */
		else if (ent->function == 0x80000001)
			ent->edx &= ~(1u << 27);         /* RDTSCP */
		else if (ent->function == 0x40000001) /* CLOCKSOURCE, CLOCKSOURCE2, ASYNC_PF, STEAL_TIME, ASYNC_PF_INT, CLOCKSOURCE_STABLE */
			ent->eax &= ~(1u << 0 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 14 | 1u << 24);
	}
}

struct kvm_cpuid2 *cpuid_supported_filtered(int kvm_fd, struct errmsg *e)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + CPUID_MAX_ENTRIES * sizeof(c->entries[0]));
	if (!c) {
		errmsg_set(e, ENOMEM, "cpuid: out of memory");
		return NULL;
	}
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		errmsg_set(e, errno, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return NULL;
	}
	for (unsigned i = 0; i < c->nent; i++)
		filter_entry(&c->entries[i]);
	return c;
}

int cpuid_set_for_vcpu(const struct kvm_cpuid2 *tmpl, int vcpu_fd, unsigned apic_id, struct errmsg *e)
{
	size_t bytes = sizeof(*tmpl) + tmpl->nent * sizeof(tmpl->entries[0]);
	struct kvm_cpuid2 *c = malloc(bytes);
	if (!c)
		return errmsg_set(e, ENOMEM, "cpuid: out of memory");
	memcpy(c, tmpl, bytes);
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *ent = &c->entries[i];
		if (ent->function == 1)
			ent->ebx = (ent->ebx & 0x00ffffffu) | (apic_id << 24);
		else if (ent->function == 0xb || ent->function == 0x1f)
			ent->edx = apic_id; /* x2APIC id */
	}
	int rc = ioctl(vcpu_fd, KVM_SET_CPUID2, c) < 0 ? errmsg_set(e, errno, "KVM_SET_CPUID2: %s", strerror(errno)) : 0;
	free(c);
	return rc;
}
