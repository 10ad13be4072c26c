/* VM lifetime: creation (RAM slots, irqchip, PIT, vCPUs), the end request every thread may
 * make, and pausing all vCPUs for the debugger or the control socket. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/vmm_impl.h"

#define TSS_GPA 0xfffbd000u           /* 3 pages KVM needs on VMX, just below 4 GiB */
#define IDENTITY_MAP_GPA 0xfffbc000u

static int check_config(const struct vm_config *cfg, struct errmsg *e)
{
	if (!cfg->name || !cfg->name[0])
		return errmsg_set(e, EINVAL, "VM name is empty");
	if (strlen(cfg->name) > VM_NAME_MAX)
		return errmsg_set(e, ENAMETOOLONG, "VM name '%s' is longer than %d characters", cfg->name, VM_NAME_MAX);
	for (const char *p = cfg->name; *p; p++)
		if (*p == '/' || *p < 0x21 || *p > 0x7e)
			return errmsg_set(e, EINVAL, "VM name '%s' may not contain '/', spaces or control characters", cfg->name);
	if (cfg->ncpus == 0 || cfg->ncpus > VM_MAX_VCPUS)
		return errmsg_set(e, EINVAL, "%u vCPUs: must be between 1 and %d", cfg->ncpus, VM_MAX_VCPUS);
	if (cfg->mem_bytes < (2u << 20))
		return errmsg_set(e, EINVAL, "%llu bytes of memory: at least 2 MiB are needed", (unsigned long long)cfg->mem_bytes);
	if (cfg->mem_bytes & 0xfff)
		return errmsg_set(e, EINVAL, "memory size must be a multiple of 4 KiB");
	return 0;
}

static int add_ram_slot(struct vm *vm, unsigned slot, uint64_t gpa, uint64_t size, uint8_t *host, struct errmsg *e)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = (uintptr_t)host,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return errmsg_set(e, errno, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	return gmem_add_slot(&vm->gmem, gpa, size, host) < 0 ? errmsg_set(e, EINVAL, "memory slot overlaps") : 0;
}

/* RAM below 3 GiB is mapped at 0; the rest above 4 GiB, leaving the hole for devices. */
static int setup_ram(struct vm *vm, uint64_t bytes, struct errmsg *e)
{
	vm->ram = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		return errmsg_set(e, errno, "cannot map %llu MiB of guest memory: %s",
				  (unsigned long long)(bytes >> 20), strerror(errno));
	}
	vm->ram_bytes = bytes;
	madvise(vm->ram, bytes, MADV_MERGEABLE);
	uint64_t low = bytes < VM_LOWMEM_LIMIT ? bytes : VM_LOWMEM_LIMIT;
	int rc = add_ram_slot(vm, 0, 0, low, vm->ram, e);
	if (rc == 0 && bytes > low)
		rc = add_ram_slot(vm, 1, 1ull << 32, bytes - low, (uint8_t *)vm->ram + low, e);
	return rc;
}

static int setup_irqchip(struct vm *vm, bool no_pit, struct errmsg *e)
{
	/* Needed on VMX before the irqchip and vCPUs exist; harmless elsewhere. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_GPA) < 0 && errno != ENOTTY)
		return errmsg_set(e, errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	uint64_t idmap = IDENTITY_MAP_GPA;
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0 && errno != ENOTTY)
		return errmsg_set(e, errno, "KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return errmsg_set(e, errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	if (!no_pit && ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return errmsg_set(e, errno, "KVM_CREATE_PIT2: %s", strerror(errno));
	return 0;
}

struct vm *vm_create(const struct vm_config *cfg, struct errmsg *e)
{
	if (check_config(cfg, e) < 0)
		return NULL;
	struct vm *vm = calloc(1, sizeof(*vm));
	if (!vm) {
		errmsg_set(e, ENOMEM, "out of memory");
		return NULL;
	}
	snprintf(vm->name, sizeof(vm->name), "%s", cfg->name);
	vm->kvm_fd = vm->vm_fd = vm->end_fd = -1;
	vm->end_how = VM_END_NONE;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm_install_default_handlers(vm);
	vcpu_kick_signal_init();

	vm->kvm_fd = kvm_open(e);
	if (vm->kvm_fd < 0 || kvm_check_caps(vm->kvm_fd, e) < 0)
		goto fail;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		errmsg_set(e, errno, "KVM_CREATE_VM: %s", strerror(errno));
		goto fail;
	}
	vm->end_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->end_fd < 0) {
		errmsg_set(e, errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	if (setup_ram(vm, cfg->mem_bytes, e) < 0 || setup_irqchip(vm, cfg->deterministic, e) < 0)
		goto fail;
	vm->cpuid = cpuid_supported_filtered(vm->kvm_fd, e);
	if (vm->cpuid && cfg->deterministic)
		cpuid_hide_nondeterministic(vm->cpuid);
	if (!vm->cpuid)
		goto fail;
	int sync = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	vm->sync_mask = sync > 0 ? (uint64_t)sync & (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS) : 0;
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		vm->vcpus[i] = vcpu_create(vm, i, e);
		if (!vm->vcpus[i])
			goto fail;
		vm->ncpus = i + 1;
	}
	vm->nparked = vm->ncpus; /* vCPUs that are not running count as parked */
	return vm;
fail:
	vm_destroy(vm);
	return NULL;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	free(vm->cpuid);
	if (vm->ram)
		munmap(vm->ram, vm->ram_bytes);
	if (vm->end_fd >= 0)
		close(vm->end_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
	free(vm);
}

const char *vm_name(const struct vm *vm) { return vm->name; }
struct gmem *vm_gmem(struct vm *vm) { return &vm->gmem; }
unsigned vm_ncpus(const struct vm *vm) { return vm->ncpus; }
int vm_fd(const struct vm *vm) { return vm->vm_fd; }
int vm_end_fd(const struct vm *vm) { return vm->end_fd; }

struct vcpu *vm_vcpu(struct vm *vm, unsigned index)
{
	return index < vm->ncpus ? vm->vcpus[index] : NULL;
}

void vm_set_io_ops(struct vm *vm, const struct vm_io_ops *ops) { vm->io = *ops; }

void vm_set_exit_handler(struct vm *vm, enum vmexit_kind kind, vmexit_handler_fn fn, void *opaque)
{
	if ((unsigned)kind < VMEXIT__COUNT)
		vm->handlers[kind] = (struct exit_handler){ fn, opaque };
}

void vm_get_exit_handler(struct vm *vm, enum vmexit_kind kind, vmexit_handler_fn *fn, void **opaque)
{
	*fn = (unsigned)kind < VMEXIT__COUNT ? vm->handlers[kind].fn : NULL;
	*opaque = (unsigned)kind < VMEXIT__COUNT ? vm->handlers[kind].opaque : NULL;
}

int vm_add_exit_hook(struct vm *vm, vmexit_hook_fn fn, void *opaque)
{
	if (vm->nhooks == VM_MAX_EXIT_HOOKS)
		return -ENOSPC;
	vm->hooks[vm->nhooks].fn = fn;
	vm->hooks[vm->nhooks].opaque = opaque;
	vm->nhooks++;
	return 0;
}

int vm_irq_line(struct vm *vm, unsigned gsi, bool level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };
	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int vm_signal_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data };
	return ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) < 0 ? -errno : 0;
}

int vm_start(struct vm *vm, struct errmsg *e)
{
	pthread_mutex_lock(&vm->lock);
	vm->nparked = 0;
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		int rc = pthread_create(&v->thread, NULL, vcpu_thread_main, v);
		if (rc) {
			pthread_mutex_lock(&vm->lock);
			vm->nparked += vm->ncpus - i; /* the threads never started */
			pthread_mutex_unlock(&vm->lock);
			vm_request_end(vm, VM_END_ERROR, 0, "cannot start vCPU threads");
			return errmsg_set(e, rc, "vCPU %u thread: %s", i, strerror(rc));
		}
		v->thread_created = true;
		char tname[16];
		snprintf(tname, sizeof(tname), "vcpu%u", i);
		pthread_setname_np(v->thread, tname);
	}
	return 0;
}

void vm_kick_vcpu(struct vm *vm, unsigned index)
{
	struct vcpu *v = vm_vcpu(vm, index);
	if (!v)
		return;
	/* immediate_exit covers a kick that lands before KVM_RUN; the signal one inside it. The
	 * thread publishes `running` (seq_cst) before its first KVM_RUN, so either we see it and
	 * signal, or its first KVM_RUN sees immediate_exit. */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->running, __ATOMIC_SEQ_CST))
		pthread_kill(v->running_thread, SIGUSR1);
}

static void kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		vm_kick_vcpu(vm, i);
}

void vm_request_end(struct vm *vm, enum vm_end how, uint32_t code, const char *why)
{
	pthread_mutex_lock(&vm->lock);
	bool first = !vm->ended;
	if (first) {
		vm->ended = true;
		vm->end_how = how;
		vm->end_code = code;
		snprintf(vm->end_why, sizeof(vm->end_why), "%s", why ? why : "");
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
	if (first) {
		uint64_t one = 1;
		if (write(vm->end_fd, &one, sizeof(one)) < 0) {
			/* eventfd write only fails on overflow, which one write cannot cause */
		}
		kick_all(vm);
	}
}

bool vm_ended(const struct vm *vm)
{
	return __atomic_load_n(&vm->ended, __ATOMIC_ACQUIRE);
}

enum vm_end vm_end_reason(const struct vm *vm, uint32_t *code, const char **why)
{
	if (code)
		*code = vm->end_code;
	if (why)
		*why = vm->end_why;
	return vm->end_how;
}

int vm_exit_status(const struct vm *vm)
{
	if (vm->end_how == VM_END_DEBUGEXIT)
		return (int)(((vm->end_code << 1) | 1) & 0xff);
	return vm->end_how == VM_END_NONE ? VM_END_ERROR : (int)vm->end_how;
}

int vm_wait(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	while (!vm->ended)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = vm->vcpus[i];
		if (v->thread_created) {
			pthread_join(v->thread, NULL);
			v->thread_created = false;
		}
	}
	return vm_exit_status(vm);
}

void vm_pause_request(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_depth++;
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
}

void vm_pause_wait(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	/* A vCPU thread that has left its loop (VM ended) counts as parked. */
	while (vm->nparked < vm->ncpus)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

void vm_pause_all(struct vm *vm)
{
	vm_pause_request(vm);
	vm_pause_wait(vm);
}

void vcpu_hold(struct vcpu *v, bool hold)
{
	struct vm *vm = v->vm;
	pthread_mutex_lock(&vm->lock);
	v->held = hold;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	if (hold)
		vm_kick_vcpu(vm, v->index);
}

void vcpu_set_scheduled(struct vcpu *v, bool may_run)
{
	struct vm *vm = v->vm;
	pthread_mutex_lock(&vm->lock);
	__atomic_store_n(&v->unscheduled, !may_run, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

void vm_resume_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->pause_depth > 0 && --vm->pause_depth == 0)
		pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

int vm_irq_vector(struct vm *vm, unsigned gsi, uint8_t *vector)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };
	if (gsi < KVM_IOAPIC_NUM_PINS && ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) == 0 &&
	    !chip.chip.ioapic.redirtbl[gsi].fields.mask) {
		*vector = chip.chip.ioapic.redirtbl[gsi].fields.vector;
		return 0;
	}
	struct kvm_irqchip master = { .chip_id = KVM_IRQCHIP_PIC_MASTER }, slave = { .chip_id = KVM_IRQCHIP_PIC_SLAVE };
	if (gsi >= 16 || ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &master) < 0 || ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &slave) < 0)
		return -ENOENT;
	if (gsi < 8 && !(master.chip.pic.imr & (1u << gsi))) {
		*vector = (uint8_t)(master.chip.pic.irq_base + gsi);
		return 0;
	}
	if (gsi >= 8 && !(master.chip.pic.imr & 4) && !(slave.chip.pic.imr & (1u << (gsi - 8)))) {
		*vector = (uint8_t)(slave.chip.pic.irq_base + gsi - 8);
		return 0;
	}
	return -ENOENT;
}

unsigned vm_cpuid(const struct vm *vm, const struct kvm_cpuid_entry2 **entries)
{
	*entries = vm->cpuid->entries;
	return vm->cpuid->nent;
}

int vm_set_cpuid(struct vm *vm, const struct kvm_cpuid_entry2 *entries, unsigned n, struct errmsg *e)
{
	if (n == 0 || n > CPUID_MAX_ENTRIES)
		return errmsg_set(e, EINVAL, "cpuid: %u entries (1 to %d)", n, CPUID_MAX_ENTRIES);
	memcpy(vm->cpuid->entries, entries, n * sizeof(*entries));
	vm->cpuid->nent = n;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (cpuid_set_for_vcpu(vm->cpuid, vcpu_fd(vm->vcpus[i]), i, e) < 0)
			return -EINVAL;
	return 0;
}
