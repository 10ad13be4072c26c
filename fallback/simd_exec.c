/* The host side of SSE/AVX/AVX-512 completion (see simd_exec.h). Each thread has one page,
 * mapped read-write-execute once: data slots, the operand buffer and a stub generated per call,
 * which does all the state switching itself, so that no compiler-generated vector code runs
 * while the guest's state is in the registers. A fault in the guest's instruction (an opcode
 * this CPU lacks, an unmasked exception) comes back as a signal, caught on this thread only. */
#include "fallback/simd_exec.h"

#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096
/* Data slots in the page, reached RIP-relative from the stub. */
#define SLOT_GPR 0x000
#define SLOT_FLAGS 0x080
#define SLOT_HOST_RSP 0x088
#define SLOT_GUEST_AREA 0x090
#define SLOT_HOST_AREA 0x098
#define SLOT_RFBM 0x0a0
#define SLOT_HOST_RFBM 0x0a8
#define SLOT_MEM 0x100 /* FB_SIMD_MEM_MAX bytes, 64-byte aligned, zero slack after */
#define SLOT_CODE 0x400
#define ARITH_FLAGS 0x8d5ull
#define HOST_AREA_SIZE 16384

static __thread uint8_t *page;
static __thread uint8_t host_area[HOST_AREA_SIZE] __attribute__((aligned(64)));
static __thread sigjmp_buf guard_jmp;
static __thread volatile sig_atomic_t guard_active;

static const int guarded[] = { SIGILL, SIGFPE, SIGSEGV, SIGBUS };
static struct sigaction previous[4];
static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;

/* Outside our stub, a signal is someone else's: the handler that was there before gets it (or,
 * if that was the default, the default comes back and the faulting instruction runs again). */
static void on_signal(int sig, siginfo_t *si, void *uc)
{
	if (guard_active) {
		guard_active = 0;
		siglongjmp(guard_jmp, sig);
	}
	for (unsigned i = 0; i < 4; i++) {
		if (guarded[i] != sig)
			continue;
		const struct sigaction *p = &previous[i];
		if ((p->sa_flags & SA_SIGINFO) && p->sa_sigaction)
			p->sa_sigaction(sig, si, uc);
		else if (p->sa_handler != SIG_DFL && p->sa_handler != SIG_IGN && p->sa_handler)
			p->sa_handler(sig);
		else
			sigaction(sig, p, NULL);
	}
}

/* Checked every GUARD_CHECK_EVERY runs and after a caught signal (a sigaction() query costs
 * ~0.4 us here): a handler installed after ours (a test framework's, a sanitizer's) is kept as
 * the one to pass other signals to, and ours goes back on top. */
#define GUARD_CHECK_EVERY 256
static __thread unsigned guard_age;

static void ensure_guard(void)
{
	if (guard_age++ % GUARD_CHECK_EVERY != 0)
		return;
	for (unsigned i = 0; i < 4; i++) {
		struct sigaction cur;
		if (sigaction(guarded[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_signal)
			continue;
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_signal;
		sa.sa_flags = SA_SIGINFO | SA_NODEFER;
		sigemptyset(&sa.sa_mask);
		pthread_mutex_lock(&guard_lock);
		sigaction(guarded[i], &sa, &previous[i]);
		pthread_mutex_unlock(&guard_lock);
	}
}

void fb_simd_exec_recheck_guard(void)
{
	guard_age = 0;
}

uint64_t fb_simd_host_xcr0(void)
{
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	if (!(c & (1u << 27))) /* OSXSAVE */
		return 0;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return lo | (uint64_t)hi << 32;
}

/* A thread's page goes when the thread does (vCPU threads end with their VM). */
static pthread_key_t page_key;
static pthread_once_t page_key_once = PTHREAD_ONCE_INIT;

static void unmap_page(void *p)
{
	munmap(p, PAGE);
}

static void make_page_key(void)
{
	pthread_key_create(&page_key, unmap_page);
}

/* ---- the stub ------------------------------------------------------------------------------ */

struct emitter {
	uint8_t *code;
	size_t n;
};

static void put(struct emitter *e, const void *b, size_t n)
{
	memcpy(e->code + e->n, b, n);
	e->n += n;
}

/* An instruction of n bytes ending in a disp32 to slot (RIP-relative). */
static void put_rip(struct emitter *e, const uint8_t *head, size_t n, unsigned slot)
{
	put(e, head, n);
	int32_t d = (int32_t)((int64_t)slot - (int64_t)(SLOT_CODE + e->n + 4));
	put(e, &d, 4);
}

static void mov_gpr(struct emitter *e, unsigned reg, unsigned slot, bool store)
{
	uint8_t h[3] = { (uint8_t)(0x48 | (reg >= 8 ? 4 : 0)), store ? 0x89 : 0x8b, (uint8_t)(((reg & 7) << 3) | 5) };
	put_rip(e, h, 3, slot);
}

/* rbx = area, edx:eax = rfbm, then xsave64 or xrstor64 [rbx]. */
static void xstate(struct emitter *e, unsigned area_slot, unsigned rfbm_slot, bool restore)
{
	static const uint8_t mov_rbx[] = { 0x48, 0x8b, 0x1d }, mov_eax[] = { 0x8b, 0x05 }, mov_edx[] = { 0x8b, 0x15 };
	put_rip(e, mov_rbx, 3, area_slot);
	put_rip(e, mov_eax, 2, rfbm_slot);
	put_rip(e, mov_edx, 2, rfbm_slot + 4);
	uint8_t op[4] = { 0x48, 0x0f, 0xae, restore ? 0x2b : 0x23 };
	put(e, op, 4);
}

/* vector: switch the vector state (else the instruction uses general registers only, and the
 * host's vector state can stay where it is). */
static size_t emit_stub(uint8_t *code, struct fb_simd_form *f, bool vector)
{
	struct emitter e = { code, 0 };
	static const uint8_t push_saved[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57 };
	static const uint8_t pop_saved[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3 };
	static const uint8_t save_rsp[] = { 0x48, 0x89, 0x25 }, load_rsp[] = { 0x48, 0x8b, 0x25 };
	static const uint8_t push_mem[] = { 0xff, 0x35 }, pop_mem[] = { 0x8f, 0x05 }, popf = 0x9d, pushf = 0x9c;
	put(&e, push_saved, sizeof(push_saved));
	put_rip(&e, save_rsp, 3, SLOT_HOST_RSP);
	if (vector) {
		xstate(&e, SLOT_HOST_AREA, SLOT_HOST_RFBM, false);
		xstate(&e, SLOT_GUEST_AREA, SLOT_RFBM, true);
	}
	put_rip(&e, push_mem, 2, SLOT_FLAGS);
	put(&e, &popf, 1);
	for (unsigned r = 0; r < 16; r++)
		if (r != 4)
			mov_gpr(&e, r, SLOT_GPR + 8 * r, false);
	fb_simd_set_target(f, (uint64_t)(uintptr_t)(code + e.n), (uint64_t)(uintptr_t)(page + SLOT_MEM));
	put(&e, f->bytes, f->len);
	for (unsigned r = 0; r < 16; r++)
		if (r != 4)
			mov_gpr(&e, r, SLOT_GPR + 8 * r, true);
	put(&e, &pushf, 1);
	put_rip(&e, pop_mem, 2, SLOT_FLAGS);
	if (vector) {
		xstate(&e, SLOT_GUEST_AREA, SLOT_RFBM, false);
		xstate(&e, SLOT_HOST_AREA, SLOT_HOST_RFBM, true);
	}
	put_rip(&e, load_rsp, 3, SLOT_HOST_RSP);
	put(&e, pop_saved, sizeof(pop_saved));
	return e.n;
}

static void put64(unsigned slot, uint64_t v)
{
	memcpy(page + slot, &v, 8);
}

static uint64_t get64(unsigned slot)
{
	uint64_t v;
	memcpy(&v, page + slot, 8);
	return v;
}

/* After a signal the vector registers hold whatever the kernel left: the host's own state
 * comes back from the copy the stub made first. */
static void restore_host(uint64_t rfbm)
{
	__asm__ volatile("xrstor64 %0" : : "m"(*(uint8_t(*)[HOST_AREA_SIZE])host_area), "a"((uint32_t)rfbm),
			 "d"((uint32_t)(rfbm >> 32)) : "memory");
}

int fb_simd_exec(struct fb_simd_job *job)
{
	static uint64_t host_xcr0;
	if (!host_xcr0)
		host_xcr0 = fb_simd_host_xcr0();
	if (!host_xcr0)
		return -ENOTSUP;
	if (!page) {
		void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
		page = p;
		pthread_once(&page_key_once, make_page_key);
		pthread_setspecific(page_key, p);
	}
	ensure_guard();
	struct fb_simd_form f = *job->form;
	memset(page, 0, SLOT_CODE);
	memcpy(page + SLOT_GPR, job->gpr, sizeof(job->gpr));
	put64(SLOT_FLAGS, (job->rflags & ARITH_FLAGS) | 0x202);
	put64(SLOT_GUEST_AREA, (uint64_t)(uintptr_t)job->xsave);
	put64(SLOT_HOST_AREA, (uint64_t)(uintptr_t)host_area);
	put64(SLOT_RFBM, job->rfbm & host_xcr0);
	put64(SLOT_HOST_RFBM, host_xcr0);
	memcpy(page + SLOT_MEM, job->mem, FB_SIMD_MEM_MAX);
	bool vector = (job->rfbm & host_xcr0) != 0;
	emit_stub(page + SLOT_CODE, &f, vector);
	void (*stub)(void) = (void (*)(void))(void *)(page + SLOT_CODE);

	job->signal = 0;
	/* SA_NODEFER leaves the signal unblocked in the handler: no mask to save and restore. */
	int sig = sigsetjmp(guard_jmp, 0);
	if (sig) {
		if (vector)
			restore_host(host_xcr0);
		job->signal = sig;
		guard_age = 0;
		return 0;
	}
	guard_active = 1;
	stub();
	guard_active = 0;
	memcpy(job->gpr, page + SLOT_GPR, sizeof(job->gpr));
	job->rflags = (job->rflags & ~ARITH_FLAGS) | (get64(SLOT_FLAGS) & ARITH_FLAGS);
	memcpy(job->mem, page + SLOT_MEM, FB_SIMD_MEM_MAX);
	return 0;
}
