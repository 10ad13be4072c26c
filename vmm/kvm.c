/* Opening /dev/kvm and checking that it offers what dhyve relies on, with one clear message
 * per way it can be missing or unusable. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/vmm_impl.h"

int kvm_open(struct errmsg *e)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		if (err == ENOENT)
			return errmsg_set(e, err, "/dev/kvm: no such device (is the kvm module loaded? is this a VM without nested virtualization?)");
		if (err == EACCES || err == EPERM)
			return errmsg_set(e, err, "/dev/kvm: permission denied (run as root or join the kvm group)");
		return errmsg_set(e, err, "/dev/kvm: %s", strerror(err));
	}
	int version = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		close(fd);
		return errmsg_set(e, ENOTSUP, "/dev/kvm: KVM API version %d, dhyve needs %d", version, KVM_API_VERSION);
	}
	return fd;
}

int kvm_check_caps(int kvm_fd, struct errmsg *e)
{
	static const struct { int cap; const char *name; } needed[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, needed[i].cap) <= 0)
			return errmsg_set(e, ENOTSUP, "/dev/kvm: this KVM lacks %s", needed[i].name);
	return 0;
}
