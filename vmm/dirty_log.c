/* Dirty-page logging: re-registering each RAM slot with KVM_MEM_LOG_DIRTY_PAGES, and reading
 * (and so clearing and re-protecting) its bitmap with KVM_GET_DIRTY_LOG. */
#include "vmm/dirty_log.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/vmm_impl.h"

int vm_dirty_log_enable(struct vm *vm, bool on, struct errmsg *e)
{
	for (unsigned i = 0; i < vm->gmem.nslots; i++) {
		const struct gmem_slot *s = &vm->gmem.slot[i];
		struct kvm_userspace_memory_region r = {
			.slot = i, .flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0, .guest_phys_addr = s->gpa,
			.memory_size = s->size, .userspace_addr = (uintptr_t)s->host,
		};
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return errmsg_set(e, errno, "KVM_SET_USER_MEMORY_REGION (dirty logging %s, slot %u): %s",
					  on ? "on" : "off", i, strerror(errno));
	}
	return 0;
}

int vm_dirty_log_fetch(struct vm *vm, unsigned slot, uint64_t *bitmap)
{
	if (slot >= vm->gmem.nslots)
		return -EINVAL;
	struct kvm_dirty_log d = { .slot = slot, .dirty_bitmap = bitmap };
	return ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0 ? -errno : 0;
}
