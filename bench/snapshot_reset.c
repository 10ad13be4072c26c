/* snapshot_reset: resets per second of a 64 MiB guest (guests/dirtyloop.elf) that dirties 1, 16
 * and 256 pages between resets, with the cost split, three ways in the same run:
 *   bare        the benchmark's own KVM_RUN loop: dirty log, page copies, registers through
 *               sync_regs (plus the KVM_RUN that completes the exit the reset happens at);
 *   dhyve regs  replay/snap_reset.c from dhyve's run loop on a whole machine (hostbridge, LPC,
 *               virtio-blk, UART, RTC, fw_cfg, power): also the irqchip/PIT and every device
 *               compared and reloaded where they changed;
 *   dhyve full  the same with the whole vCPU state (FPU, MSRs, LAPIC, ...) put back each time.
 * usage: snapshot_reset GUEST [RESETS]   (RESETS for 1 and 16 pages; a tenth of it for 256) */
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_machine.h"
#include "cli/machine.h"
#include "cli/machine_snapshot.h"
#include "cli/options.h"
#include "replay/snap_reset.h"
#include "vmm/dirty_log.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_state.h"

#define READY_PORT 0xf0 /* guests/dirtyloop.c */
#define DONE_PORT 0xf1
#define COUNT_ADDR 0x500000ul
#define PAGE 4096u

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char disk[64];

static void die(const char *what, const char *why)
{
	fprintf(stderr, "snapshot_reset: %s: %s\n", what, why);
	unlink(disk);
	exit(1);
}

static void build(struct machine *m, struct config *cfg, const char *kernel)
{
	struct dhyve_options o;
	struct errmsg e = { "" };
	if (bench_build_machine(m, cfg, &o, "bench-reset", kernel, "64M", disk, &e) < 0)
		die("building the machine", e.text);
}

struct result {
	double rate;
	uint64_t resets;
	struct snap_reset_stats st;
};

/* ---- bare: nothing but KVM_RUN, the dirty log, memcpy and sync_regs ---- */

static void complete_exit(int fd, struct kvm_run *run)
{
	run->immediate_exit = 1;
	if (ioctl(fd, KVM_RUN, 0) == 0 || (errno != EINTR && errno != EAGAIN))
		die("bare loop", "completing the exit did not return EINTR");
	run->immediate_exit = 0;
}

static struct result run_bare(const char *kernel, uint32_t pages, uint64_t resets)
{
	struct config cfg;
	struct machine m;
	struct errmsg e;
	build(&m, &cfg, kernel);
	struct vcpu *v = vm_vcpu(m.vm, 0);
	struct kvm_run *run = vcpu_run_page(v);
	int fd = vcpu_fd(v);
	const struct gmem_slot *slot = &vm_gmem(m.vm)->slot[0];
	uint64_t npages = slot->size / PAGE, words = (npages + 63) / 64;
	uint8_t *copy = malloc(slot->size);
	uint64_t *bitmap = calloc(words, 8);
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct result res = { 0 };
	bool have = false;
	uint64_t t_start = 0;
	run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS;
	while (res.resets < resets) {
		if (ioctl(fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR) {
				run->immediate_exit = 0;
				continue;
			}
			die("bare loop: KVM_RUN", strerror(errno));
		}
		if (run->exit_reason != KVM_EXIT_IO)
			die("bare loop", "an exit other than port I/O");
		if (run->io.direction == KVM_EXIT_IO_IN) {
			memset((char *)run + run->io.data_offset, 0xff, run->io.size * run->io.count);
			continue;
		}
		if (run->io.port == READY_PORT && !have) {
			gmem_write(vm_gmem(m.vm), COUNT_ADDR, &pages, sizeof(pages));
			complete_exit(fd, run);
			regs = run->s.regs.regs;
			sregs = run->s.regs.sregs;
			memcpy(copy, slot->host, slot->size);
			if (vm_dirty_log_enable(m.vm, true, &e) < 0)
				die("dirty log", e.text);
			vm_dirty_log_fetch(m.vm, 0, bitmap);
			have = true;
			t_start = now_ns();
		} else if (run->io.port == DONE_PORT && have) {
			uint64_t t0 = now_ns();
			if (vm_dirty_log_fetch(m.vm, 0, bitmap) < 0)
				die("bare loop", "KVM_GET_DIRTY_LOG failed");
			uint64_t t1 = now_ns();
			for (uint64_t w = 0; w < words; w++)
				for (uint64_t bits = bitmap[w]; bits; bits &= bits - 1) {
					uint64_t p = w * 64 + (uint64_t)__builtin_ctzll(bits);
					memcpy(slot->host + p * PAGE, copy + p * PAGE, PAGE);
					res.st.pages++;
				}
			uint64_t t2 = now_ns();
			complete_exit(fd, run);
			run->s.regs.regs = regs;
			run->kvm_dirty_regs = KVM_SYNC_X86_REGS;
			if (memcmp(&run->s.regs.sregs, &sregs, sizeof(sregs)) != 0) {
				run->s.regs.sregs = sregs;
				run->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
			}
			uint64_t t3 = now_ns();
			res.st.dirty_log_ns += t1 - t0;
			res.st.copy_ns += t2 - t1;
			res.st.vcpu_ns += t3 - t2;
			res.resets++;
		}
	}
	res.rate = res.resets / ((now_ns() - t_start) / 1e9);
	free(copy);
	free(bitmap);
	machine_destroy(&m);
	config_free(&cfg);
	return res;
}

/* ---- dhyve: snap_reset from an exit handler on the vCPU thread, the machine's devices ---- */

struct dhyve_run {
	struct machine *m;
	vmexit_handler_fn old_fn;
	void *old_opaque;
	struct snap_reset *r;
	uint32_t pages;
	unsigned parts;
	uint64_t resets, want, t_start, t_end;
	struct snap_reset_stats st;
	char err[ERRMSG_LEN];
};

static enum vmexit_action on_pio(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	struct dhyve_run *d = opaque;
	struct errmsg e = { "" };
	if (ex->is_write && ex->addr == READY_PORT && !d->r) {
		static struct snap_dev devs[MACHINE_SNAPSHOT_MAX_DEVS];
		unsigned n = machine_snapshot_devices(d->m, devs);
		gmem_write(vm_gmem(d->m->vm), COUNT_ADDR, &d->pages, sizeof(d->pages));
		d->r = snap_reset_create(d->m->vm, devs, n, &e);
		if (!d->r) {
			snprintf(d->err, sizeof(d->err), "%s", e.text);
			vm_request_end(d->m->vm, VM_END_ERROR, 0, "snapshot failed");
			return VMEXIT_STOP;
		}
		d->m->dev_mem.observer = snap_reset_observer(d->r); /* DMA into RAM is reset too */
		d->t_start = now_ns();
		return VMEXIT_RESUME;
	}
	if (ex->is_write && ex->addr == DONE_PORT && d->r) {
		if (snap_reset_restore(d->r, d->parts, &d->st, &e) < 0) {
			snprintf(d->err, sizeof(d->err), "%s", e.text);
			vm_request_end(d->m->vm, VM_END_ERROR, 0, "reset failed");
			return VMEXIT_STOP;
		}
		if (++d->resets == d->want) {
			d->t_end = now_ns();
			vm_request_end(d->m->vm, VM_END_POWEROFF, 0, "done");
			return VMEXIT_STOP;
		}
		return VMEXIT_RESUME;
	}
	return d->old_fn(vcpu, ex, d->old_opaque);
}

static struct result run_dhyve(const char *kernel, uint32_t pages, uint64_t resets, unsigned parts)
{
	struct config cfg;
	struct machine m;
	struct errmsg e;
	build(&m, &cfg, kernel);
	struct dhyve_run d = { .m = &m, .pages = pages, .parts = parts, .want = resets };
	vm_get_exit_handler(m.vm, VMEXIT_PIO, &d.old_fn, &d.old_opaque);
	vm_set_exit_handler(m.vm, VMEXIT_PIO, on_pio, &d);
	if (vm_start(m.vm, &e) < 0)
		die("starting the VM", e.text);
	vm_wait(m.vm);
	if (d.err[0] || d.resets != resets)
		die("dhyve loop", d.err[0] ? d.err : "the VM ended early");
	struct result res = { .rate = resets / ((d.t_end - d.t_start) / 1e9), .resets = resets, .st = d.st };
	m.dev_mem.observer = NULL;
	snap_reset_destroy(d.r);
	machine_destroy(&m);
	config_free(&cfg);
	return res;
}

static void print(uint32_t pages, const char *mode, const struct result *r)
{
	double n = (double)r->resets;
	printf("%5u  %-11s %10.0f %10.2f %10.2f %8.2f %8.2f %8.2f %8.2f %8.1f\n", pages, mode, r->rate, 1e6 / r->rate,
	       r->st.dirty_log_ns / n / 1e3, r->st.copy_ns / n / 1e3, r->st.vcpu_ns / n / 1e3, r->st.chip_ns / n / 1e3,
	       r->st.dev_ns / n / 1e3, r->st.pages / n);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: snapshot_reset GUEST(dirtyloop.elf) [RESETS]\n");
		return 2;
	}
	uint64_t resets = argc > 2 ? strtoull(argv[2], NULL, 0) : 20000;
	if (resets < 10)
		resets = 10;
	snprintf(disk, sizeof(disk), "/tmp/snapshot_reset.%d.img", (int)getpid());
	FILE *f = fopen(disk, "w");
	if (!f || ftruncate(fileno(f), 1 << 20) < 0)
		die(disk, strerror(errno));
	fclose(f);
	printf("snapshot_reset: 64 MiB guest (%s), resets per second and microseconds per reset\n", argv[1]);
	printf("%5s  %-11s %10s %10s %10s %8s %8s %8s %8s %8s\n", "pages", "mode", "resets/s", "us/reset", "dirty-log",
	       "copy", "vcpu", "irqchip", "devices", "pages/r");
	static const uint32_t cases[] = { 1, 16, 256 };
	struct result sum[3][3];
	for (unsigned c = 0; c < 3; c++) {
		uint64_t n = cases[c] == 256 ? resets / 10 : resets;
		sum[c][0] = run_bare(argv[1], cases[c], n);
		print(cases[c], "bare", &sum[c][0]);
		sum[c][1] = run_dhyve(argv[1], cases[c], n, VCPU_STATE_SYNCED);
		print(cases[c], "dhyve regs", &sum[c][1]);
		sum[c][2] = run_dhyve(argv[1], cases[c], n, VCPU_STATE_ALL);
		print(cases[c], "dhyve full", &sum[c][2]);
		fflush(stdout);
	}
	printf("(us/reset includes the guest's own run between resets; the split columns are the reset's parts;\n"
	       " vcpu includes one KVM_RUN that completes the port exit the reset is made at)\n");
	printf("goal: >= 30000 resets/s at 1 page: %s (%.0f); >= 10000/s at 16 pages: %s (%.0f)  [dhyve regs]\n",
	       sum[0][1].rate >= 30000 ? "met" : "NOT met", sum[0][1].rate, sum[1][1].rate >= 10000 ? "met" : "NOT met",
	       sum[1][1].rate);
	unlink(disk);
	return 0;
}
