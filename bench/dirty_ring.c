/* dirty_ring: which of KVM's two ways of finding dirty pages makes the faster reset loop here,
 * the bitmap (KVM_MEM_LOG_DIRTY_PAGES + KVM_GET_DIRTY_LOG, what replay/snap_reset.c uses) or the
 * per-vCPU dirty ring (KVM_CAP_DIRTY_LOG_RING + KVM_RESET_DIRTY_RINGS). The ring must be turned
 * on before any vCPU exists, so this builds its own minimal VM (64 MiB, one vCPU, no devices)
 * with raw ioctls, runs guests/dirtyloop.elf and resets it as bench/snapshot_reset's bare loop
 * does, both ways, alternately, in the same process.
 * usage: dirty_ring GUEST [RESETS] */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "base/gmem.h"
#include "loader/loader.h"

#define RAM (64u << 20)
#define PAGE 4096u
#define READY_PORT 0xf0 /* guests/dirtyloop.c */
#define DONE_PORT 0xf1
#define COUNT_ADDR 0x500000ul
#define RING_ENTRIES 4096u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "dirty_ring: %s: %s\n", what, strerror(errno));
	exit(1);
}

struct rawvm {
	int kvm, vm, vcpu;
	uint8_t *ram, *copy;
	struct kvm_run *run;
	struct kvm_dirty_gfn *ring;
	uint32_t ring_next;
	uint64_t *bitmap;
};

static void seg(struct kvm_segment *k, const struct boot_segment *b)
{
	*k = (struct kvm_segment){ .base = b->base, .limit = b->limit, .selector = b->selector, .type = b->type,
				   .present = b->present, .dpl = b->dpl, .db = b->db, .s = b->s, .l = b->l, .g = b->g };
}

static void create(struct rawvm *v, const char *kernel, bool ring)
{
	memset(v, 0, sizeof(*v));
	if ((v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC)) < 0 || (v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0)) < 0)
		die("/dev/kvm");
	ioctl(v->vm, KVM_SET_TSS_ADDR, 0xfffbd000ul); /* VMX needs it; others ignore it */
	if (ring) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_DIRTY_LOG_RING, .args = { RING_ENTRIES * sizeof(struct kvm_dirty_gfn) } };
		if (ioctl(v->vm, KVM_ENABLE_CAP, &cap) < 0)
			die("KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING)");
	}
	v->ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	v->copy = malloc(RAM);
	v->bitmap = calloc(RAM / PAGE / 64, 8);
	struct kvm_userspace_memory_region r = { .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES, .memory_size = RAM,
						 .userspace_addr = (uintptr_t)v->ram };
	if (v->ram == MAP_FAILED || ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		die("RAM");
	struct gmem mem;
	gmem_init_flat(&mem, v->ram, RAM);
	struct boot_state bs;
	struct kernel_info ki;
	struct errmsg e;
	if (loader_load_file(&mem, kernel, NULL, &bs, &ki, &e) < 0) {
		fprintf(stderr, "dirty_ring: %s\n", e.text);
		exit(1);
	}
	if ((v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0)) < 0)
		die("KVM_CREATE_VCPU");
	static union {
		struct kvm_cpuid2 c;
		uint8_t room[sizeof(struct kvm_cpuid2) + 256 * sizeof(struct kvm_cpuid_entry2)];
	} cpuid;
	cpuid.c.nent = 256;
	if (ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, &cpuid.c) < 0 || ioctl(v->vcpu, KVM_SET_CPUID2, &cpuid.c) < 0)
		die("CPUID");
	long psz = sysconf(_SC_PAGESIZE);
	int size = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	v->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (v->run == MAP_FAILED)
		die("kvm_run");
	if (ring) {
		v->ring = mmap(NULL, RING_ENTRIES * sizeof(struct kvm_dirty_gfn), PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu,
			       KVM_DIRTY_LOG_PAGE_OFFSET * psz);
		if (v->ring == MAP_FAILED)
			die("the dirty ring");
	}
	struct kvm_sregs s;
	if (ioctl(v->vcpu, KVM_GET_SREGS, &s) < 0)
		die("KVM_GET_SREGS");
	seg(&s.cs, &bs.cs);
	seg(&s.ds, &bs.ds);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.gdt.base = bs.gdt_base;
	s.gdt.limit = bs.gdt_limit;
	s.cr0 = bs.cr0, s.cr3 = bs.cr3, s.cr4 = bs.cr4, s.efer = bs.efer;
	struct kvm_regs regs = { .rip = bs.rip, .rsp = bs.rsp, .rflags = bs.rflags ? bs.rflags : 2, .rax = bs.rax,
				 .rbx = bs.rbx, .rsi = bs.rsi };
	if (ioctl(v->vcpu, KVM_SET_SREGS, &s) < 0 || ioctl(v->vcpu, KVM_SET_REGS, &regs) < 0)
		die("boot state");
	v->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
}

static void destroy(struct rawvm *v)
{
	close(v->vcpu);
	close(v->vm);
	close(v->kvm);
	munmap(v->ram, RAM);
	free(v->copy);
	free(v->bitmap);
}

/* Calls fn(page) for each page dirtied since the last call; returns how many. */
static uint64_t harvest(struct rawvm *v, bool ring)
{
	uint64_t n = 0;
	if (ring) {
		for (;;) {
			struct kvm_dirty_gfn *g = &v->ring[v->ring_next % RING_ENTRIES];
			if (!(__atomic_load_n(&g->flags, __ATOMIC_ACQUIRE) & KVM_DIRTY_GFN_F_DIRTY))
				break;
			if (g->slot == 0 && g->offset < RAM / PAGE) {
				memcpy(v->ram + g->offset * PAGE, v->copy + g->offset * PAGE, PAGE);
				n++;
			}
			__atomic_store_n(&g->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
			v->ring_next++;
		}
		if (ioctl(v->vm, KVM_RESET_DIRTY_RINGS, 0) < 0)
			die("KVM_RESET_DIRTY_RINGS");
		return n;
	}
	struct kvm_dirty_log d = { .slot = 0, .dirty_bitmap = v->bitmap };
	if (ioctl(v->vm, KVM_GET_DIRTY_LOG, &d) < 0)
		die("KVM_GET_DIRTY_LOG");
	for (uint64_t w = 0; w < RAM / PAGE / 64; w++)
		for (uint64_t bits = v->bitmap[w]; bits; bits &= bits - 1) {
			uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(bits);
			memcpy(v->ram + p * PAGE, v->copy + p * PAGE, PAGE);
			n++;
		}
	return n;
}

static void complete_exit(struct rawvm *v)
{
	v->run->immediate_exit = 1;
	if (ioctl(v->vcpu, KVM_RUN, 0) == 0 || (errno != EINTR && errno != EAGAIN))
		die("completing the exit");
	v->run->immediate_exit = 0;
}

/* Resets per second; *dirty_us the time per reset spent finding and copying the dirty pages. */
static double loop(const char *kernel, bool ring, uint32_t pages, uint64_t resets, double *dirty_us, double *per)
{
	struct rawvm v;
	create(&v, kernel, ring);
	struct kvm_regs regs;
	bool have = false;
	uint64_t done = 0, t_start = 0, t_dirty = 0, npages = 0;
	while (done < resets) {
		if (ioctl(v.vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		if (v.run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "dirty_ring: unexpected exit %u\n", v.run->exit_reason);
			exit(1);
		}
		if (v.run->io.direction == KVM_EXIT_IO_IN) {
			memset((char *)v.run + v.run->io.data_offset, 0xff, v.run->io.size * v.run->io.count);
			continue;
		}
		if (v.run->io.port == READY_PORT && !have) {
			memcpy(v.ram + COUNT_ADDR, &pages, sizeof(pages));
			complete_exit(&v);
			regs = v.run->s.regs.regs;
			memcpy(v.copy, v.ram, RAM);
			harvest(&v, ring); /* clean from here on */
			have = true;
			t_start = now_ns();
		} else if (v.run->io.port == DONE_PORT && have) {
			uint64_t t0 = now_ns();
			npages += harvest(&v, ring);
			t_dirty += now_ns() - t0;
			complete_exit(&v);
			v.run->s.regs.regs = regs;
			v.run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
			done++;
		}
	}
	double rate = done / ((now_ns() - t_start) / 1e9);
	*dirty_us = t_dirty / 1e3 / done;
	*per = (double)npages / done;
	destroy(&v);
	return rate;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: dirty_ring GUEST(dirtyloop.elf) [RESETS]\n");
		return 2;
	}
	uint64_t resets = argc > 2 ? strtoull(argv[2], NULL, 0) : 20000;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = kvm >= 0 ? ioctl(kvm, KVM_CREATE_VM, 0) : -1;
	int max = vm >= 0 ? ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_DIRTY_LOG_RING) : -1;
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	if (max < (int)(RING_ENTRIES * sizeof(struct kvm_dirty_gfn))) {
		printf("dirty_ring: this KVM has no usable dirty ring (KVM_CAP_DIRTY_LOG_RING: %d)\n", max);
		return 0;
	}
	printf("dirty_ring: 64 MiB raw VM, %s; bare reset loops (pages, registers), two rounds each\n", argv[1]);
	printf("%5s  %-7s %10s %10s %14s %8s\n", "pages", "way", "resets/s", "us/reset", "dirty+copy us", "pages/r");
	static const uint32_t cases[] = { 1, 16, 256 };
	for (unsigned c = 0; c < 3; c++)
		for (unsigned round = 0; round < 2; round++)
			for (int ring = 0; ring < 2; ring++) {
				uint64_t n = cases[c] == 256 ? resets / 10 : resets;
				double dirty, per, rate = loop(argv[1], ring, cases[c], n, &dirty, &per);
				printf("%5u  %-7s %10.0f %10.2f %14.2f %8.1f\n", cases[c], ring ? "ring" : "bitmap", rate,
				       1e6 / rate, dirty, per);
				fflush(stdout);
			}
	return 0;
}
