/* Unit tests for vmm/ on real KVM: vm_create's refusals, tiny hand-assembled 32-bit guests that
 * do port I/O, MMIO, loop forever or triple-fault, and what the run loop makes of them: the
 * I/O callbacks' sequence, the end status and message, the exit counters and hook, pausing and
 * resuming, and ending a VM whose vCPUs are inside KVM_RUN (the kick path).
 *
 * Without a usable /dev/kvm the KVM tests are skipped, unless DHYVE_REQUIRE_KVM=1, when they
 * fail instead. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/bootstate.h"
#include "base/gmem.h"
#include "vmm/exit.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define MiB (1ull << 20)
#define CODE_GPA 0x100000ull
#define WAIT_S 10

/* ---- KVM availability ---------------------------------------------------------------------- */

static void require_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return;
	}
	int err = errno;
	const char *req = getenv("DHYVE_REQUIRE_KVM");
	if (req && strcmp(req, "1") == 0)
		fail_msg("/dev/kvm: %s, and DHYVE_REQUIRE_KVM=1 forbids skipping", strerror(err));
	print_message("skipped: /dev/kvm cannot be opened read-write: %s\n", strerror(err));
	skip();
}

/* ---- I/O recording ------------------------------------------------------------------------- */

struct io_rec {
	uint16_t port;
	unsigned size;
	bool is_write;
	uint64_t value;
};

struct mmio_rec {
	uint64_t gpa;
	unsigned size;
	bool is_write;
	uint64_t value;
};

struct io_log {
	struct io_rec pio[32];
	unsigned npio;
	struct mmio_rec mmio[32];
	unsigned nmmio;
	uint64_t mmio_read_value;
	unsigned end_delay_ms; /* how long the power-off write takes before it ends the VM */
};

static void sleep_ms(unsigned ms);

static int pio_cb(void *opaque, struct vcpu *vcpu, uint16_t port, unsigned size, bool is_write, uint64_t *value)
{
	struct io_log *log = opaque;
	if (!is_write)
		*value = 0x5a;
	if (log->npio < sizeof(log->pio) / sizeof(log->pio[0]))
		log->pio[log->npio++] = (struct io_rec){ port, size, is_write, *value };
	if (is_write && port == 0x404) {
		if (log->end_delay_ms)
			sleep_ms(log->end_delay_ms);
		vm_request_end(vcpu_vm(vcpu), VM_END_POWEROFF, 0, "off");
	}
	return 0;
}

static int mmio_cb(void *opaque, struct vcpu *vcpu, uint64_t gpa, unsigned size, bool is_write, uint64_t *value)
{
	(void)vcpu;
	struct io_log *log = opaque;
	if (!is_write)
		*value = log->mmio_read_value;
	if (log->nmmio < sizeof(log->mmio) / sizeof(log->mmio[0]))
		log->mmio[log->nmmio++] = (struct mmio_rec){ gpa, size, is_write, *value };
	return 0;
}

/* ---- exit hook ------------------------------------------------------------------------------ */

struct hook_entry {
	unsigned vcpu;
	enum vmexit_kind kind;
	const char *name;
	uint64_t rip;
	uint64_t addr;
	uint64_t value;
	uint8_t is_write;
};

struct hook_log {
	pthread_mutex_t lock;
	struct hook_entry e[256];
	unsigned n;
	unsigned per_vcpu[VM_MAX_VCPUS];
	uint64_t per_kind[VM_MAX_VCPUS][VMEXIT__COUNT];
};

static void hook_cb(struct vcpu *vcpu, const struct vm_exit *ex, uint64_t handle_ns, void *opaque)
{
	(void)handle_ns;
	struct hook_log *h = opaque;
	pthread_mutex_lock(&h->lock);
	unsigned i = vcpu_index(vcpu);
	h->per_vcpu[i]++;
	h->per_kind[i][ex->kind]++;
	if (h->n < sizeof(h->e) / sizeof(h->e[0]))
		h->e[h->n++] = (struct hook_entry){ i, ex->kind, vmexit_kind_name(ex->kind), ex->rip, ex->addr,
						    ex->value, ex->is_write };
	pthread_mutex_unlock(&h->lock);
}

/* ---- thread creation with a delay --------------------------------------------------------- */

/* The test executable's pthread_create comes first, for vmm/ too: while create_delay_at is N > 0,
 * the Nth thread created returns to its creator only 200 ms after the thread started. That
 * holds vm_start between creating a vCPU thread and noting that it did, deterministically. */
static int create_delay_at, create_seen;

int pthread_create(pthread_t *restrict thread, const pthread_attr_t *restrict attr, void *(*fn)(void *),
		   void *restrict arg)
{
	typedef int (*create_fn)(pthread_t *restrict, const pthread_attr_t *restrict, void *(*)(void *),
				 void *restrict);
	static create_fn real;
	if (!real)
		real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
	if (!real)
		return EAGAIN;
	int rc = real(thread, attr, fn, arg);
	if (rc == 0 && create_delay_at > 0 && ++create_seen == create_delay_at)
		sleep_ms(200);
	return rc;
}

/* ---- guests --------------------------------------------------------------------------------- */

/* out 0x404, 0x3400 (the test's power-off port), then hlt */
#define POWEROFF_BYTES 0x66, 0xba, 0x04, 0x04, 0x66, 0xb8, 0x00, 0x34, 0x66, 0xef, 0xf4

static const uint8_t prog_io[] = {
	0x66, 0xba, 0xf8, 0x03, /* mov dx, 0x3f8 */
	0xb0, 0x41,             /* mov al, 'A' */
	0xee,                   /* out dx, al */
	0xec,                   /* in al, dx */
	POWEROFF_BYTES,
};

static const uint8_t prog_poweroff[] = { POWEROFF_BYTES };

static const uint8_t prog_loop[] = { 0xeb, 0xfe }; /* jmp $ */

static const uint8_t prog_counter[] = {
	0xff, 0x05, 0x00, 0x00, 0x20, 0x00, /* inc dword [0x200000] */
	0xeb, 0xf8,                         /* jmp 0x100000 */
};

static const uint8_t prog_ud2[] = { 0x0f, 0x0b };

static const uint8_t prog_mmio_read[] = {
	0xa1, 0x00, 0x00, 0x00, 0xd0, /* mov eax, [0xd0000000] */
	0x66, 0xba, 0x00, 0x05,       /* mov dx, 0x500 */
	0xef,                         /* out dx, eax */
	POWEROFF_BYTES,
};

static const uint8_t prog_mmio_write[] = {
	0xc7, 0x05, 0x10, 0x00, 0x00, 0xd0, 0x0d, 0xf0, 0xfe, 0xca, /* mov dword [0xd0000010], 0xcafef00d */
	POWEROFF_BYTES,
};

static const uint8_t prog_in_out[] = {
	0x66, 0xba, 0x60, 0x00, /* mov dx, 0x60 */
	0xec,                   /* in al, dx */
	0x66, 0xba, 0x00, 0x05, /* mov dx, 0x500 */
	0xee,                   /* out dx, al */
	POWEROFF_BYTES,
};

static void set_prot32_state(struct boot_state *bs)
{
	memset(bs, 0, sizeof(*bs));
	bs->mode = BOOT_MODE_PROT32;
	bs->rip = CODE_GPA;
	bs->rsp = BOOT_STACK_TOP;
	bs->rflags = 0x2;
	bs->cr0 = 0x1;
	bs->cs = (struct boot_segment){ .base = 0, .limit = 0xffffffff, .selector = BOOT_SEL_CODE32, .type = 0xb,
					.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1 };
	bs->ds = (struct boot_segment){ .base = 0, .limit = 0xffffffff, .selector = BOOT_SEL_DATA, .type = 0x3,
					.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1 };
	bs->gdt_base = BOOT_GDT_GPA;
	bs->gdt_limit = 31;
}

/* A 16 MiB VM with ncpus vCPUs whose boot vCPU starts in 32-bit protected mode at CODE_GPA. */
static struct vm *make_vm(unsigned ncpus, const uint8_t *code, size_t len)
{
	struct errmsg e = { "" };
	struct vm_config cfg = { .name = "test-vm", .mem_bytes = 16 * MiB, .ncpus = ncpus };
	struct vm *vm = vm_create(&cfg, &e);
	if (!vm)
		fail_msg("vm_create: %s", e.text);
	assert_string_equal(vm_name(vm), "test-vm");
	assert_int_equal(vm_ncpus(vm), ncpus);
	assert_non_null(vm_vcpu(vm, ncpus - 1));
	assert_null(vm_vcpu(vm, ncpus));
	assert_true(vm_fd(vm) >= 0);
	assert_false(vm_ended(vm));

	static const uint64_t gdt[4] = { 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull };
	struct gmem *g = vm_gmem(vm);
	assert_true(g->ram_size == 16 * MiB);
	assert_int_equal(gmem_write(g, BOOT_GDT_GPA, gdt, sizeof(gdt)), 0);
	assert_int_equal(gmem_write(g, CODE_GPA, code, len), 0);

	struct boot_state bs;
	set_prot32_state(&bs);
	int rc = vcpu_apply_boot_state(vm_vcpu(vm, 0), &bs, &e);
	if (rc < 0)
		fail_msg("vcpu_apply_boot_state: %s", e.text);
	return vm;
}

/* ---- bounded waits (a hang must fail the test, not the CI run) ----------------------------- */

struct bg {
	struct vm *vm;
	int status;
};

static void *bg_wait(void *arg)
{
	struct bg *b = arg;
	b->status = vm_wait(b->vm);
	return NULL;
}

static void *bg_pause(void *arg)
{
	struct bg *b = arg;
	vm_pause_all(b->vm);
	b->status = 0;
	return NULL;
}

/* Runs fn(vm) on a thread and waits at most secs for it; returns its status. On a timeout the
 * thread and its record are abandoned (the test fails). */
static int bounded(void *(*fn)(void *), struct vm *vm, int secs, const char *what)
{
	struct bg *b = malloc(sizeof(*b));
	assert_non_null(b);
	*b = (struct bg){ vm, -1000 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, fn, b), 0);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	int rc = pthread_timedjoin_np(t, NULL, &ts);
	if (rc == ETIMEDOUT)
		fail_msg("%s did not return within %d s", what, secs);
	assert_int_equal(rc, 0);
	int status = b->status;
	free(b);
	return status;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint32_t read_u32(struct vm *vm, uint64_t gpa)
{
	uint32_t v = 0;
	assert_int_equal(gmem_read(vm_gmem(vm), gpa, &v, sizeof(v)), 0);
	return v;
}

static void start(struct vm *vm)
{
	struct errmsg e = { "" };
	if (vm_start(vm, &e) < 0)
		fail_msg("vm_start: %s", e.text);
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* These refusals come before /dev/kvm is opened, so they run everywhere. */
static void test_create_refusals(void **state)
{
	(void)state;
	struct errmsg e = { "" };
	struct vm_config cfg = { .name = "", .mem_bytes = 16 * MiB, .ncpus = 1 };
	assert_null(vm_create(&cfg, &e));
	assert_non_null(strstr(e.text, "VM name is empty"));

	cfg.name = NULL;
	e.text[0] = '\0';
	assert_null(vm_create(&cfg, &e));
	assert_non_null(strstr(e.text, "empty"));

	cfg.name = "abcdefghijklmnopqrstuvwxyz012345"; /* 32 */
	e.text[0] = '\0';
	assert_null(vm_create(&cfg, &e));
	assert_non_null(strstr(e.text, "longer than 31 characters"));

	cfg.name = "a/b";
	e.text[0] = '\0';
	assert_null(vm_create(&cfg, &e));
	assert_non_null(strstr(e.text, "may not contain '/'"));

	cfg.name = "ok";
	cfg.ncpus = 0;
	e.text[0] = '\0';
	assert_null(vm_create(&cfg, &e));
	assert_non_null(strstr(e.text, "0 vCPUs: must be between 1 and 64"));

	cfg.ncpus = VM_MAX_VCPUS + 1;
	e.text[0] = '\0';
	assert_null(vm_create(&cfg, &e));
	assert_non_null(strstr(e.text, "must be between 1 and 64"));

	cfg.ncpus = 1;
	cfg.mem_bytes = 1 * MiB;
	e.text[0] = '\0';
	assert_null(vm_create(&cfg, &e));
	assert_non_null(strstr(e.text, "at least 2 MiB"));

	cfg.mem_bytes = 16 * MiB + 100;
	e.text[0] = '\0';
	assert_null(vm_create(&cfg, &e));
	assert_non_null(strstr(e.text, "multiple of 4 KiB"));
}

static void test_exit_kind_names(void **state)
{
	(void)state;
	assert_string_equal(vmexit_kind_name(VMEXIT_PIO), "pio");
	assert_string_equal(vmexit_kind_name(VMEXIT_MMIO), "mmio");
	assert_string_equal(vmexit_kind_name(VMEXIT_SHUTDOWN), "shutdown");
	assert_string_equal(vmexit_kind_name(VMEXIT_KICK), "kick");
	assert_string_equal(vmexit_kind_name(VMEXIT__COUNT), "invalid");
	assert_string_equal(vmexit_kind_name((enum vmexit_kind)-1), "invalid");
	for (int i = 0; i < VMEXIT__COUNT; i++) {
		assert_non_null(vmexit_kind_name((enum vmexit_kind)i));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(vmexit_kind_name((enum vmexit_kind)i), vmexit_kind_name((enum vmexit_kind)j));
	}
}

static void test_pio_program(void **state)
{
	(void)state;
	require_kvm();
	struct vm *vm = make_vm(2, prog_io, sizeof(prog_io));
	static struct io_log log;
	memset(&log, 0, sizeof(log));
	static struct hook_log hook;
	memset(&hook, 0, sizeof(hook));
	pthread_mutex_init(&hook.lock, NULL);
	vm_set_io_ops(vm, &(struct vm_io_ops){ .pio = pio_cb, .opaque = &log });
	static struct hook_log hook2; /* a second hook sees the same exits */
	memset(&hook2, 0, sizeof(hook2));
	pthread_mutex_init(&hook2.lock, NULL);
	assert_int_equal(vm_add_exit_hook(vm, hook_cb, &hook), 0);
	assert_int_equal(vm_add_exit_hook(vm, hook_cb, &hook2), 0);

	start(vm);
	int status = bounded(bg_wait, vm, WAIT_S, "vm_wait");
	assert_int_equal(status, VM_END_POWEROFF);
	assert_true(vm_ended(vm));
	uint32_t code = 99;
	const char *why = NULL;
	assert_int_equal(vm_end_reason(vm, &code, &why), VM_END_POWEROFF);
	assert_int_equal(code, 0);
	assert_string_equal(why, "off");
	assert_int_equal(vm_exit_status(vm), 1);
	struct pollfd p = { .fd = vm_end_fd(vm), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 1);

	/* The I/O the guest did, in order. */
	assert_int_equal(log.npio, 3);
	assert_int_equal(log.pio[0].port, 0x3f8);
	assert_int_equal(log.pio[0].size, 1);
	assert_true(log.pio[0].is_write);
	assert_int_equal(log.pio[0].value, 'A');
	assert_int_equal(log.pio[1].port, 0x3f8);
	assert_int_equal(log.pio[1].size, 1);
	assert_false(log.pio[1].is_write);
	assert_int_equal(log.pio[2].port, 0x404);
	assert_int_equal(log.pio[2].size, 2);
	assert_true(log.pio[2].is_write);
	assert_int_equal(log.pio[2].value, 0x3400);

	/* The guest stopped on the power-off write: rip is at that out (KVM completes an OUT on
	 * the next entry, which never came) or, with older KVMs, just past it. Never at the hlt's
	 * successor: the vCPU did not run on. */
	struct kvm_regs regs;
	assert_int_equal(vcpu_get_regs(vm_vcpu(vm, 0), &regs), 0);
	if (regs.rip != CODE_GPA + sizeof(prog_io) - 3 && regs.rip != CODE_GPA + sizeof(prog_io) - 1)
		fail_msg("rip 0x%llx after the power-off out", (unsigned long long)regs.rip);
	assert_int_equal(regs.rax & 0xffff, 0x3400);
	assert_int_equal(regs.rdx & 0xffff, 0x404);

	/* Counters. */
	struct vcpu_stats st;
	vcpu_read_stats(vm_vcpu(vm, 0), &st);
	assert_int_equal(st.count[VMEXIT_PIO], 3);
	assert_true(st.min_ns[VMEXIT_PIO] <= st.max_ns[VMEXIT_PIO]);
	assert_true(st.max_ns[VMEXIT_PIO] <= st.ns[VMEXIT_PIO]);
	assert_int_equal(st.count[VMEXIT_MMIO], 0);
	assert_int_equal(st.count[VMEXIT_SHUTDOWN], 0);
	assert_true(st.min_ns[VMEXIT_MMIO] == UINT64_MAX); /* never seen */

	/* The hook saw every exit of both vCPUs, once, with its name. */
	for (unsigned v = 0; v < 2; v++) {
		struct vcpu_stats s;
		vcpu_read_stats(vm_vcpu(vm, v), &s);
		uint64_t total = 0;
		for (unsigned k = 0; k < VMEXIT__COUNT; k++) {
			total += s.count[k];
			if (s.count[k] != hook.per_kind[v][k])
				fail_msg("vCPU %u: %s: %llu exits counted, %llu hooked", v,
					 vmexit_kind_name((enum vmexit_kind)k), (unsigned long long)s.count[k],
					 (unsigned long long)hook.per_kind[v][k]);
		}
		assert_int_equal(total, hook.per_vcpu[v]);
	}
	unsigned npio = 0;
	for (unsigned i = 0; i < hook.n; i++) {
		assert_string_equal(hook.e[i].name, vmexit_kind_name(hook.e[i].kind));
		if (hook.e[i].kind != VMEXIT_PIO)
			continue;
		assert_int_equal(hook.e[i].vcpu, 0);
		assert_string_equal(hook.e[i].name, "pio");
		static const uint16_t ports[] = { 0x3f8, 0x3f8, 0x404 };
		/* where each I/O instruction starts and ends in prog_io */
		static const uint64_t at[] = { 6, 7, 16 }, next[] = { 7, 8, 18 };
		assert_true(npio < 3);
		assert_int_equal(hook.e[i].addr, ports[npio]);
		if (hook.e[i].rip != CODE_GPA + at[npio] && hook.e[i].rip != CODE_GPA + next[npio])
			fail_msg("PIO exit %u: rip 0x%llx, want 0x%llx (or 0x%llx)", npio, (unsigned long long)hook.e[i].rip,
				 (unsigned long long)(CODE_GPA + at[npio]), (unsigned long long)(CODE_GPA + next[npio]));
		npio++;
	}
	assert_int_equal(npio, 3);
	/* The read's value as the guest got it (first element) is in the record. */
	for (unsigned i = 0, seen = 0; i < hook.n; i++)
		if (hook.e[i].kind == VMEXIT_PIO && seen++ == 1) {
			assert_false(hook.e[i].is_write);
			assert_int_equal(hook.e[i].value, 0x5a);
		}
	assert_int_equal(hook2.n, hook.n);
	for (unsigned i = 0; i < hook.n; i++) {
		assert_int_equal(hook2.e[i].kind, hook.e[i].kind);
		assert_int_equal(hook2.e[i].vcpu, hook.e[i].vcpu);
	}
	vm_destroy(vm);
	pthread_mutex_destroy(&hook.lock);
	pthread_mutex_destroy(&hook2.lock);
}

/* The value a pio callback returns for a read is what the guest's register gets. */
static void test_pio_read_reaches_guest(void **state)
{
	(void)state;
	require_kvm();
	struct vm *vm = make_vm(1, prog_in_out, sizeof(prog_in_out));
	static struct io_log log;
	memset(&log, 0, sizeof(log));
	vm_set_io_ops(vm, &(struct vm_io_ops){ .pio = pio_cb, .opaque = &log });
	start(vm);
	assert_int_equal(bounded(bg_wait, vm, WAIT_S, "vm_wait"), VM_END_POWEROFF);
	assert_int_equal(log.npio, 3);
	assert_int_equal(log.pio[0].port, 0x60);
	assert_false(log.pio[0].is_write);
	assert_int_equal(log.pio[1].port, 0x500);
	assert_true(log.pio[1].is_write);
	assert_int_equal(log.pio[1].value, 0x5a);
	vm_destroy(vm);
}

static void test_pause_resume_and_kick(void **state)
{
	(void)state;
	require_kvm();
	struct vm *vm = make_vm(2, prog_loop, sizeof(prog_loop));
	start(vm);
	sleep_ms(100);
	assert_false(vm_ended(vm));

	bounded(bg_pause, vm, 5, "vm_pause_all");
	struct kvm_regs regs;
	assert_int_equal(vcpu_get_regs(vm_vcpu(vm, 0), &regs), 0);
	assert_int_equal(regs.rip, CODE_GPA);
	struct kvm_sregs sregs;
	assert_int_equal(vcpu_get_sregs(vm_vcpu(vm, 0), &sregs), 0);
	assert_int_equal(sregs.cs.selector, BOOT_SEL_CODE32);
	assert_true(sregs.cr0 & 1);
	struct vcpu_stats st;
	vcpu_read_stats(vm_vcpu(vm, 0), &st);
	assert_true(st.count[VMEXIT_KICK] >= 1); /* the pause took it out of KVM_RUN */
	vm_resume_all(vm);
	sleep_ms(100);
	assert_false(vm_ended(vm));

	/* Ending from another thread while both vCPUs are inside KVM_RUN (one spinning, one an AP
	 * waiting for INIT/SIPI) must kick them out. */
	vm_request_end(vm, VM_END_POWEROFF, 0, "test says off");
	assert_true(vm_ended(vm));
	int status = bounded(bg_wait, vm, WAIT_S, "vm_wait after vm_request_end");
	assert_int_equal(status, VM_END_POWEROFF);
	const char *why = NULL;
	assert_int_equal(vm_end_reason(vm, NULL, &why), VM_END_POWEROFF);
	assert_string_equal(why, "test says off");

	/* After the end, pausing returns at once (threads that left count as parked). */
	bounded(bg_pause, vm, 5, "vm_pause_all after the end");
	vm_resume_all(vm);
	vm_destroy(vm);
}

/* True once the guest's counter differs from was (within 5 s: a loaded host may be slow). */
static bool counter_moves(struct vm *vm, uint32_t was)
{
	for (int i = 0; i < 500; i++) {
		if (read_u32(vm, 0x200000) != was)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* While paused the guest makes no progress; nested pauses need as many resumes. */
static void test_pause_stops_guest(void **state)
{
	(void)state;
	require_kvm();
	struct vm *vm = make_vm(1, prog_counter, sizeof(prog_counter));
	start(vm);
	uint32_t a = read_u32(vm, 0x200000);
	assert_true(counter_moves(vm, a)); /* it runs */

	bounded(bg_pause, vm, 5, "vm_pause_all");
	bounded(bg_pause, vm, 5, "nested vm_pause_all");
	struct kvm_regs regs;
	assert_int_equal(vcpu_get_regs(vm_vcpu(vm, 0), &regs), 0);
	assert_true(regs.rip == CODE_GPA || regs.rip == CODE_GPA + 6);
	uint32_t c = read_u32(vm, 0x200000);
	sleep_ms(100);
	assert_int_equal(read_u32(vm, 0x200000), c); /* paused */

	vm_resume_all(vm); /* depth 2 → 1: still paused */
	sleep_ms(100);
	assert_int_equal(read_u32(vm, 0x200000), c);

	vm_resume_all(vm); /* depth 1 → 0: runs again */
	assert_true(counter_moves(vm, c));

	vm_request_end(vm, VM_END_HALT, 0, "stop");
	assert_int_equal(bounded(bg_wait, vm, WAIT_S, "vm_wait"), VM_END_HALT);
	vm_destroy(vm);
}

static void test_triple_fault(void **state)
{
	(void)state;
	require_kvm();
	struct vm *vm = make_vm(1, prog_ud2, sizeof(prog_ud2));
	struct kvm_sregs sregs;
	assert_int_equal(vcpu_get_sregs(vm_vcpu(vm, 0), &sregs), 0);
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	assert_int_equal(vcpu_set_sregs(vm_vcpu(vm, 0), &sregs), 0);
	start(vm);
	int status = bounded(bg_wait, vm, WAIT_S, "vm_wait");
	assert_int_equal(status, VM_END_TRIPLEFAULT);
	const char *why = NULL;
	assert_int_equal(vm_end_reason(vm, NULL, &why), VM_END_TRIPLEFAULT);
	assert_non_null(strstr(why, "triple fault"));
	assert_non_null(strstr(why, "vCPU 0"));
	struct vcpu_stats st;
	vcpu_read_stats(vm_vcpu(vm, 0), &st);
	assert_int_equal(st.count[VMEXIT_SHUTDOWN], 1);
	vm_destroy(vm);
}

static void test_unclaimed_mmio_reads_all_ones(void **state)
{
	(void)state;
	require_kvm();
	struct vm *vm = make_vm(1, prog_mmio_read, sizeof(prog_mmio_read));
	static struct io_log log;
	memset(&log, 0, sizeof(log));
	vm_set_io_ops(vm, &(struct vm_io_ops){ .pio = pio_cb, .mmio = NULL, .opaque = &log });
	start(vm);
	assert_int_equal(bounded(bg_wait, vm, WAIT_S, "vm_wait"), VM_END_POWEROFF);
	assert_int_equal(log.npio, 2);
	assert_int_equal(log.pio[0].port, 0x500);
	assert_int_equal(log.pio[0].size, 4);
	assert_true(log.pio[0].is_write);
	assert_int_equal(log.pio[0].value, 0xffffffff);
	assert_int_equal(log.pio[1].port, 0x404);
	struct vcpu_stats st;
	vcpu_read_stats(vm_vcpu(vm, 0), &st);
	assert_int_equal(st.count[VMEXIT_MMIO], 1);
	assert_int_equal(st.count[VMEXIT_PIO], 2);
	vm_destroy(vm);
}

static void test_mmio_callback(void **state)
{
	(void)state;
	require_kvm();
	/* A read: the callback's value reaches the guest. */
	struct vm *vm = make_vm(1, prog_mmio_read, sizeof(prog_mmio_read));
	static struct io_log log;
	memset(&log, 0, sizeof(log));
	log.mmio_read_value = 0x12345678;
	vm_set_io_ops(vm, &(struct vm_io_ops){ .pio = pio_cb, .mmio = mmio_cb, .opaque = &log });
	start(vm);
	assert_int_equal(bounded(bg_wait, vm, WAIT_S, "vm_wait"), VM_END_POWEROFF);
	assert_int_equal(log.nmmio, 1);
	assert_int_equal(log.mmio[0].gpa, 0xd0000000);
	assert_int_equal(log.mmio[0].size, 4);
	assert_false(log.mmio[0].is_write);
	assert_int_equal(log.npio, 2);
	assert_int_equal(log.pio[0].value, 0x12345678);
	vm_destroy(vm);

	/* A write: the callback gets the address, size and value. */
	vm = make_vm(1, prog_mmio_write, sizeof(prog_mmio_write));
	memset(&log, 0, sizeof(log));
	vm_set_io_ops(vm, &(struct vm_io_ops){ .pio = pio_cb, .mmio = mmio_cb, .opaque = &log });
	start(vm);
	assert_int_equal(bounded(bg_wait, vm, WAIT_S, "vm_wait"), VM_END_POWEROFF);
	assert_int_equal(log.nmmio, 1);
	assert_int_equal(log.mmio[0].gpa, 0xd0000010);
	assert_int_equal(log.mmio[0].size, 4);
	assert_true(log.mmio[0].is_write);
	assert_int_equal(log.mmio[0].value, 0xcafef00d);
	vm_destroy(vm);
}

/* A VM that never started: the first end request wins, and the status encodes debug exits. */
static void test_end_request_first_wins(void **state)
{
	(void)state;
	require_kvm();
	struct vm *vm = make_vm(1, prog_loop, sizeof(prog_loop));
	assert_int_equal(vm_exit_status(vm), VM_END_ERROR); /* not ended yet */
	vm_request_end(vm, VM_END_DEBUGEXIT, 3, "debug exit 3");
	vm_request_end(vm, VM_END_POWEROFF, 0, "too late");
	assert_true(vm_ended(vm));
	assert_int_equal(bounded(bg_wait, vm, WAIT_S, "vm_wait"), (3 << 1) | 1);
	uint32_t code = 0;
	const char *why = NULL;
	assert_int_equal(vm_end_reason(vm, &code, &why), VM_END_DEBUGEXIT);
	assert_int_equal(code, 3);
	assert_string_equal(why, "debug exit 3");
	bounded(bg_pause, vm, 5, "vm_pause_all on a VM that never ran");
	vm_resume_all(vm);

	/* The hook table is bounded. */
	static struct hook_log hook;
	for (unsigned i = 0; i < VM_MAX_EXIT_HOOKS; i++)
		assert_int_equal(vm_add_exit_hook(vm, hook_cb, &hook), 0);
	assert_int_equal(vm_add_exit_hook(vm, hook_cb, &hook), -ENOSPC);
	vm_destroy(vm);
}

/* A vCPU that ends the VM while vm_start is still creating the other vCPU threads: vCPU 1 is
 * already blocked in KVM_RUN (an AP waiting for INIT/SIPI) when vCPU 0 powers off, but vm_start
 * has not yet returned from creating it. The end request must still kick it out, or vm_wait
 * never returns. */
static void test_end_during_vm_start_kicks_every_vcpu(void **state)
{
	(void)state;
	require_kvm();
	struct vm *vm = make_vm(2, prog_poweroff, sizeof(prog_poweroff));
	static struct io_log log;
	memset(&log, 0, sizeof(log));
	log.end_delay_ms = 50; /* vCPU 1 is inside KVM_RUN by then; vm_start is still in its create */
	vm_set_io_ops(vm, &(struct vm_io_ops){ .pio = pio_cb, .opaque = &log });
	create_seen = 0;
	create_delay_at = 2; /* vCPU 1's thread */
	start(vm);
	create_delay_at = 0;
	assert_int_equal(create_seen, 2);
	assert_true(vm_ended(vm)); /* vCPU 0 powered off during vm_start */
	int status = bounded(bg_wait, vm, WAIT_S, "vm_wait (vCPU 1 was never kicked out of KVM_RUN)");
	assert_int_equal(status, VM_END_POWEROFF);
	assert_int_equal(log.npio, 1);
	vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_refusals),
		cmocka_unit_test(test_exit_kind_names),
		cmocka_unit_test(test_pio_program),
		cmocka_unit_test(test_pio_read_reaches_guest),
		cmocka_unit_test(test_pause_resume_and_kick),
		cmocka_unit_test(test_pause_stops_guest),
		cmocka_unit_test(test_triple_fault),
		cmocka_unit_test(test_unclaimed_mmio_reads_all_ones),
		cmocka_unit_test(test_mmio_callback),
		cmocka_unit_test(test_end_request_first_wins),
		cmocka_unit_test(test_end_during_vm_start_kicks_every_vcpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
