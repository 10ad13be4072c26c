/* The binary stats fd (KVM_GET_STATS_FD): descriptors read once per vCPU, values with one
 * pread each time (~0.2 µs), so statistics can show both sides of the exit boundary. */
#include "vmm/kvm_stats.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/vmm_impl.h"

#define STATS_MAX 128

struct kvm_stats_table {
	int fd;
	unsigned n;
	uint32_t data_offset;
	int insn_index; /* "insn_emulation" in stat[], or -1 */
	struct {
		char name[KVM_STAT_NAME_MAX];
		uint32_t offset;
	} stat[STATS_MAX];
};

/* Reads the descriptors: counters of one u64 (cumulative, instant or peak), not histograms. */
static struct kvm_stats_table *load_table(int vcpu_fd)
{
	int fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (fd < 0)
		return NULL;
	struct kvm_stats_header h;
	struct kvm_stats_table *t = calloc(1, sizeof(*t));
	if (!t || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) || h.name_size == 0 || h.name_size > 4096)
		goto fail;
	size_t desc_size = sizeof(struct kvm_stats_desc) + h.name_size;
	struct kvm_stats_desc *d = malloc(desc_size);
	if (!d)
		goto fail;
	t->fd = fd;
	t->data_offset = h.data_offset;
	for (uint32_t i = 0; i < h.num_desc && t->n < STATS_MAX; i++) {
		if (pread(fd, d, desc_size, h.desc_offset + (off_t)i * desc_size) != (ssize_t)desc_size)
			break;
		uint32_t type = d->flags & KVM_STATS_TYPE_MASK;
		if (d->size != 1 || type > KVM_STATS_TYPE_PEAK)
			continue;
		snprintf(t->stat[t->n].name, KVM_STAT_NAME_MAX, "%.*s", (int)h.name_size, d->name);
		t->stat[t->n].offset = d->offset;
		t->n++;
	}
	free(d);
	return t;
fail:
	free(t);
	close(fd);
	return NULL;
}

/* KVM_GET_STATS_FD is a vCPU ioctl: it takes the vCPU's mutex, which KVM_RUN holds while the
 * guest runs. So the table is loaded at creation, and later reads are plain preads. */
void vcpu_kvm_stats_load(struct vcpu *v)
{
	v->kvm_stats = load_table(v->fd);
	if (v->kvm_stats) {
		v->kvm_stats->insn_index = -1;
		for (unsigned i = 0; i < v->kvm_stats->n; i++)
			if (strcmp(v->kvm_stats->stat[i].name, "insn_emulation") == 0)
				v->kvm_stats->insn_index = (int)i;
	}
}

int vcpu_kvm_stats(struct vcpu *v, struct kvm_stat_counter *out, int max)
{
	struct kvm_stats_table *t = v->kvm_stats;
	if (!t)
		return -ENOTSUP;
	int n = 0;
	for (unsigned i = 0; i < t->n && n < max; i++) {
		uint64_t val;
		if (pread(t->fd, &val, sizeof(val), t->data_offset + t->stat[i].offset) != (ssize_t)sizeof(val))
			continue;
		memcpy(out[n].name, t->stat[i].name, KVM_STAT_NAME_MAX);
		out[n].value = val;
		n++;
	}
	return n;
}

int vcpu_kvm_stat(struct vcpu *v, const char *name, uint64_t *value)
{
	struct kvm_stats_table *t = v->kvm_stats;
	if (!t)
		return -ENOTSUP;
	for (unsigned i = 0; i < t->n; i++)
		if (strcmp(t->stat[i].name, name) == 0)
			return pread(t->fd, value, sizeof(*value), t->data_offset + t->stat[i].offset) == (ssize_t)sizeof(*value)
				       ? 0 : -EIO;
	return -ENOENT;
}

int vcpu_insn_count(struct vcpu *v, uint64_t *count)
{
	struct kvm_stats_table *t = v->kvm_stats;
	if (!t || t->insn_index < 0)
		return -ENOTSUP;
	return pread(t->fd, count, sizeof(*count), t->data_offset + t->stat[t->insn_index].offset) ==
			       (ssize_t)sizeof(*count) ? 0 : -EIO;
}

void vcpu_kvm_stats_free(struct vcpu *v)
{
	if (v->kvm_stats) {
		close(v->kvm_stats->fd);
		free(v->kvm_stats);
		v->kvm_stats = NULL;
	}
}
