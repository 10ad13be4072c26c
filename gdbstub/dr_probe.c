/* The start-up probe that decides how watchpoints work: a throwaway one-vCPU VM writes a word
 * that DR0/DR7 watch; if KVM reports a debug exit first, data breakpoints work on this KVM. */
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/bootstate.h"
#include "gdbstub/stub_impl.h"

#define PROBE_CODE_GPA 0x100000ull
#define PROBE_DATA_GPA 0x200000ull
#define PROBE_TIMEOUT_MS 2000

/* 32-bit protected mode, paging off: write the watched word, then an `out` that ends the probe. */
static const uint8_t probe_code[] = {
	0xc7, 0x05, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, /* mov dword [0x200000], 1 */
	0x66, 0xba, 0x04, 0x04,                                     /* mov dx, 0x404 */
	0x66, 0xef,                                                 /* out dx, ax */
	0xf4,                                                       /* hlt */
};

struct probe_result {
	bool fired;   /* a debug exit with DR6.B0 came before the out */
};

static enum vmexit_action probe_on_debug(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	(void)ex;
	struct probe_result *r = opaque;
	if (vcpu_run_page(vcpu)->debug.arch.dr6 & 1)
		r->fired = true;
	vm_request_end(vcpu_vm(vcpu), VM_END_POWEROFF, 0, "probe: debug exit");
	return VMEXIT_STOP;
}

static enum vmexit_action probe_on_pio(struct vcpu *vcpu, struct vm_exit *ex, void *opaque)
{
	(void)ex;
	(void)opaque;
	vm_request_end(vcpu_vm(vcpu), VM_END_POWEROFF, 0, "probe: out reached");
	return VMEXIT_STOP;
}

static void prot32_state(struct boot_state *bs)
{
	memset(bs, 0, sizeof(*bs));
	bs->mode = BOOT_MODE_PROT32;
	bs->rip = PROBE_CODE_GPA;
	bs->rsp = BOOT_STACK_TOP;
	bs->rflags = 0x2;
	bs->cr0 = 0x1;
	bs->cs = (struct boot_segment){ .limit = 0xffffffff, .selector = BOOT_SEL_CODE32, .type = 0xb,
					.present = 1, .db = 1, .s = 1, .g = 1 };
	bs->ds = (struct boot_segment){ .limit = 0xffffffff, .selector = BOOT_SEL_DATA, .type = 0x3,
					.present = 1, .db = 1, .s = 1, .g = 1 };
	bs->gdt_base = BOOT_GDT_GPA;
	bs->gdt_limit = 31;
}

static bool run_probe(void)
{
	struct errmsg e = { "" };
	struct vm_config cfg = { .name = "dhyve-dr-probe", .mem_bytes = 4ull << 20, .ncpus = 1 };
	struct vm *vm = vm_create(&cfg, &e);
	if (!vm)
		return false;
	static const uint64_t gdt[4] = { 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull };
	struct gmem *g = vm_gmem(vm);
	struct boot_state bs;
	prot32_state(&bs);
	struct probe_result r = { false };
	/* DR0 = the word, DR7: G0, R/W0 = 01 (write), LEN0 = 11 (4 bytes), GE and the reserved 1. */
	uint64_t db[8] = { PROBE_DATA_GPA, 0, 0, 0, 0, 0, 0, 0x0602 | (1ull << 16) | (3ull << 18) };
	struct vcpu *v = vm_vcpu(vm, 0);
	if (gmem_write(g, BOOT_GDT_GPA, gdt, sizeof(gdt)) < 0 || gmem_write(g, PROBE_CODE_GPA, probe_code, sizeof(probe_code)) < 0 ||
	    vcpu_apply_boot_state(v, &bs, &e) < 0 ||
	    vcpu_set_guest_debug(v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, db) < 0) {
		vm_destroy(vm);
		return false;
	}
	vm_set_exit_handler(vm, VMEXIT_DEBUG, probe_on_debug, &r);
	vm_set_exit_handler(vm, VMEXIT_PIO, probe_on_pio, &r);
	if (vm_start(vm, &e) < 0) {
		vm_wait(vm);
		vm_destroy(vm);
		return false;
	}
	struct pollfd pfd = { .fd = vm_end_fd(vm), .events = POLLIN };
	if (poll(&pfd, 1, PROBE_TIMEOUT_MS) <= 0)
		vm_request_end(vm, VM_END_ERROR, 0, "probe: timed out");
	vm_wait(vm);
	vm_destroy(vm);
	return r.fired;
}

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool probe_fired;

static void probe_once_fn(void)
{
	/* DHYVE_GDB_WATCH=step forces the stepping implementation (to test it where DRs work). */
	const char *force = getenv("DHYVE_GDB_WATCH");
	if (force && strcmp(force, "step") == 0)
		probe_fired = false;
	else
		probe_fired = run_probe();
}

bool dr_probe_data_watch(void)
{
	pthread_once(&probe_once, probe_once_fn);
	return probe_fired;
}
