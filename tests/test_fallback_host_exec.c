/* The host-executed completions (fallback/decode_host.c, simd_rewrite.c, simd_exec.c,
 * host_exec.c): the re-encoding checked against capstone, the executor on synthetic states, and
 * every integer instruction this KVM fails to emulate completed on a fake guest and compared,
 * result and flags, with the same bytes run natively by this test. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <capstone/capstone.h>

#include "fallback/simd_exec.h"
#include "fallback/simd_rewrite.h"
#include "test_fallback_fixture.h"
#include "trace/disas.h"

#define ARITH 0x8d5ull
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define DATA 0x50000ull /* guest data in the fixture's RAM */

/* ---- re-encoding ---------------------------------------------------------------------------- */

/* The rewritten form, decoded by capstone at address at, must be the same instruction with
 * [rip + disp] (pointing at target) as its memory operand. */
static void check_rewrite(const uint8_t *b, size_t n, const uint8_t *want, size_t want_n, bool mem)
{
	struct fb_simd_form f;
	assert_int_equal(fb_simd_rewrite(b, n, &f), 0);
	assert_int_equal(f.has_mem, mem);
	assert_int_equal(f.len, want_n);
	assert_memory_equal(f.bytes, want, want_n);
	const uint64_t at = 0x10000, target = 0x20000;
	fb_simd_set_target(&f, at, target);
	cs_insn *a = NULL, *r = NULL;
	csh *h = disas_detail_handle(VCPU_MODE_LONG64);
	assert_non_null(h);
	assert_int_equal(cs_disasm(*h, b, n, 0, 1, &a), 1);
	unsigned id = a->id;
	cs_free(a, 1);
	assert_int_equal(cs_disasm(*h, f.bytes, f.len, at, 1, &r), 1);
	assert_int_equal(r->id, id);
	assert_int_equal(r->size, f.len);
	if (mem) {
		const cs_x86 *x = &r->detail->x86;
		bool found = false;
		for (unsigned i = 0; i < x->op_count; i++)
			if (x->operands[i].type == X86_OP_MEM) {
				assert_int_equal(x->operands[i].mem.base, X86_REG_RIP);
				assert_int_equal(x->operands[i].mem.index, X86_REG_INVALID);
				assert_int_equal(at + f.len + (uint64_t)x->operands[i].mem.disp, target);
				found = true;
			}
		assert_true(found);
	}
	cs_free(r, 1);
}

static void test_rewrite(void **state)
{
	(void)state;
	/* paddd xmm3, [rip + 0x28ee]: only the displacement changes */
	check_rewrite((const uint8_t[]){ 0x66, 0x0f, 0xfe, 0x1d, 0xee, 0x28, 0, 0 }, 8,
		      (const uint8_t[]){ 0x66, 0x0f, 0xfe, 0x1d, 0, 0, 0, 0 }, 8, true);
	/* pxor xmm0, xmm9: a register form runs as it is */
	check_rewrite((const uint8_t[]){ 0x66, 0x41, 0x0f, 0xef, 0xc1 }, 5,
		      (const uint8_t[]){ 0x66, 0x41, 0x0f, 0xef, 0xc1 }, 5, false);
	/* gs: addr32 paddd xmm3, [eax + r9*4 + 0x10]: prefixes, SIB and REX.X go */
	check_rewrite((const uint8_t[]){ 0x65, 0x67, 0x66, 0x42, 0x0f, 0xfe, 0x5c, 0x88, 0x10 }, 9,
		      (const uint8_t[]){ 0x66, 0x40, 0x0f, 0xfe, 0x1d, 0, 0, 0, 0 }, 9, true);
	/* vbroadcastss ymm0, [r12 + 4]: VEX.B and the SIB go */
	check_rewrite((const uint8_t[]){ 0xc4, 0xc2, 0x7d, 0x18, 0x44, 0x24, 0x04 }, 7,
		      (const uint8_t[]){ 0xc4, 0xe2, 0x7d, 0x18, 0x05, 0, 0, 0, 0 }, 9, true);
	/* vpaddd zmm0, zmm0, [r8 + 0x40] (EVEX, disp8 scaled by 64): EVEX.B goes, disp32 instead */
	check_rewrite((const uint8_t[]){ 0x62, 0xd1, 0x7d, 0x48, 0xfe, 0x40, 0x01 }, 7,
		      (const uint8_t[]){ 0x62, 0xf1, 0x7d, 0x48, 0xfe, 0x05, 0, 0, 0, 0 }, 10, true);
	/* vpaddd zmm20, zmm0, zmm17 */
	check_rewrite((const uint8_t[]){ 0x62, 0xa1, 0x7d, 0x48, 0xfe, 0xe1 }, 6,
		      (const uint8_t[]){ 0x62, 0xa1, 0x7d, 0x48, 0xfe, 0xe1 }, 6, false);
	/* palignr xmm0, [rax + 8], 4: the immediate follows the new displacement */
	check_rewrite((const uint8_t[]){ 0x66, 0x0f, 0x3a, 0x0f, 0x40, 0x08, 0x04 }, 7,
		      (const uint8_t[]){ 0x66, 0x0f, 0x3a, 0x0f, 0x05, 0, 0, 0, 0, 0x04 }, 10, true);
	/* crc32 rax, qword ptr [rbx + rcx*8 + 0x12345678] */
	check_rewrite((const uint8_t[]){ 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x84, 0xcb, 0x78, 0x56, 0x34, 0x12 }, 11,
		      (const uint8_t[]){ 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x05, 0, 0, 0, 0 }, 10, true);
	/* vzeroupper: no ModRM */
	check_rewrite((const uint8_t[]){ 0xc5, 0xf8, 0x77 }, 3, (const uint8_t[]){ 0xc5, 0xf8, 0x77 }, 3, false);

	struct fb_simd_form f;
	assert_int_equal(fb_simd_rewrite((const uint8_t[]){ 0xf0, 0x66, 0x0f, 0xfe, 0x00 }, 5, &f), -ENOTSUP);
	assert_int_equal(fb_simd_rewrite((const uint8_t[]){ 0x48, 0xc5, 0xf8, 0x77 }, 4, &f), -ENOTSUP);
	assert_int_equal(fb_simd_rewrite((const uint8_t[]){ 0xdd, 0x05, 0, 0, 0, 0 }, 6, &f), -EINVAL);
	assert_int_equal(fb_simd_rewrite((const uint8_t[]){ 0x66, 0x0f, 0xfe, 0x1d, 0xee, 0x28, 0, 0 }, 3, &f), -EINVAL);
	assert_int_equal(fb_simd_rewrite((const uint8_t[]){ 0x66, 0x0f, 0xfe }, 3, &f), -EINVAL);
	/* 15 bytes with a disp8 grow past 15: refused, never run */
	assert_int_equal(fb_simd_rewrite((const uint8_t[]){ 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
							 0x0f, 0xfe, 0x44, 0x24, 0x08 }, 15, &f),
			 -ENOTSUP);
	/* Every truncation of a valid instruction is refused or parsed, never read past. */
	static const uint8_t evex[] = { 0x62, 0xd1, 0x7d, 0x48, 0xfe, 0x40, 0x01 };
	for (size_t n = 0; n < sizeof(evex); n++)
		assert_true(fb_simd_rewrite(evex, n, &f) < 0);
}

/* ---- the executor on synthetic states -------------------------------------------------------- */

static uint8_t image[4096] __attribute__((aligned(64)));

static void image_init(void)
{
	memset(image, 0, sizeof(image));
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80, mask = 0xffff;
	memcpy(image, &fcw, 2);
	memcpy(image + 24, &mxcsr, 4);
	memcpy(image + 28, &mask, 4);
	uint64_t bv = 3;
	memcpy(image + 512, &bv, 8);
}

static uint32_t host_mxcsr(void)
{
	uint32_t m;
	__asm__ volatile("stmxcsr %0" : "=m"(m));
	return m;
}

static void run_form(const uint8_t *b, size_t n, struct fb_simd_job *job)
{
	static struct fb_simd_form f;
	assert_int_equal(fb_simd_rewrite(b, n, &f), 0);
	job->form = &f;
	job->xsave = image;
	job->rfbm = 3;
	assert_int_equal(fb_simd_exec(job), 0);
}

static void test_exec(void **state)
{
	(void)state;
	fb_simd_exec_recheck_guard(); /* cmocka installed its handlers for this test */
	image_init();
	const uint32_t x0[4] = { 1, 2, 3, 4 }, m[4] = { 10, 20, 30, 40 }, sum[4] = { 11, 22, 33, 44 };
	memcpy(image + 160, x0, 16);
	uint32_t rz = 0x7f80; /* round toward zero, all masked: must not leak into the host */
	memcpy(image + 24, &rz, 4);
	uint32_t before = host_mxcsr();
	struct fb_simd_job job = { 0 };
	memcpy(job.mem, m, 16);
	for (unsigned i = 0; i < 16; i++)
		job.gpr[i] = 0x1111111111111111ull * i;
	/* paddd xmm0, [rip + x] */
	run_form((const uint8_t[]){ 0x66, 0x0f, 0xfe, 0x05, 0, 0, 0, 0 }, 8, &job);
	assert_int_equal(job.signal, 0);
	assert_memory_equal(image + 160, sum, 16);
	assert_int_equal(host_mxcsr(), before);
	uint32_t mx;
	memcpy(&mx, image + 24, 4);
	assert_int_equal(mx, 0x7f80);
	for (unsigned i = 0; i < 16; i++)
		if (i != 4)
			assert_int_equal(job.gpr[i], 0x1111111111111111ull * i);
	/* pextrd r9d, xmm0, 3 (66 41 0f 3a 16 c1 03) */
	run_form((const uint8_t[]){ 0x66, 0x41, 0x0f, 0x3a, 0x16, 0xc1, 0x03 }, 7, &job);
	assert_int_equal(job.gpr[9], 44);
	/* ptest xmm0, xmm0 on a nonzero register: ZF clear, CF set; the other flags as given */
	job.rflags = 0x202 | ARITH;
	run_form((const uint8_t[]){ 0x66, 0x0f, 0x38, 0x17, 0xc0 }, 5, &job);
	assert_int_equal(job.rflags & ARITH, 0x01);
	assert_int_equal(job.rflags & ~ARITH, 0x202);
	/* movdqu [rip + x], xmm0 writes the buffer */
	memset(job.mem, 0, sizeof(job.mem));
	run_form((const uint8_t[]){ 0xf3, 0x0f, 0x7f, 0x05, 0, 0, 0, 0 }, 8, &job);
	assert_memory_equal(job.mem, sum, 16);
	/* ud1 raises SIGILL on the host: caught, reported, the host state is back */
	run_form((const uint8_t[]){ 0x0f, 0xb9, 0xc0 }, 3, &job);
	assert_int_equal(job.signal, SIGILL);
	assert_int_equal(host_mxcsr(), before);
	/* and the next one runs normally */
	run_form((const uint8_t[]){ 0x66, 0x41, 0x0f, 0x3a, 0x16, 0xc1, 0x02 }, 7, &job);
	assert_int_equal(job.signal, 0);
	assert_int_equal(job.gpr[9], 33);
}

/* A signal outside the executor still reaches the handler that was there before (installed
 * first: this test runs before any other use of the executor, and leaves its handler there). */
static sigjmp_buf outside_jmp;
static void outside_handler(int sig)
{
	siglongjmp(outside_jmp, sig);
}

static void test_exec_signal_chain(void **state)
{
	(void)state;
	struct sigaction sa = { .sa_handler = outside_handler };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGILL, &sa, NULL);
	image_init();
	struct fb_simd_job job = { 0 };
	run_form((const uint8_t[]){ 0x0f, 0xb9, 0xc0 }, 3, &job); /* installs the executor's handler */
	assert_int_equal(job.signal, SIGILL);
	int sig = sigsetjmp(outside_jmp, 1);
	if (!sig)
		__asm__ volatile("ud2");
	assert_int_equal(sig, SIGILL);
}

/* ---- integer completions against the host's own results --------------------------------- */

/* Each case's text is assembled twice: into .rodata as the guest's bytes, and inline for the
 * native run; operands are rax, rbx, rcx, rdx and [rsi]. */
struct regs5 {
	uint64_t rax, rbx, rcx, rdx, flags;
};

#define INT_CASE(name, text)                                                                             \
	__asm__(".pushsection .text\n" #name "_native:\n\tpush %rbx\n\tmov %rdi, %r8\n\t"                 \
		"mov 0(%r8), %rax\n\tmov 8(%r8), %rbx\n\tmov 16(%r8), %rcx\n\tmov 24(%r8), %rdx\n\t"            \
		"push 32(%r8)\n\tpopfq\n" #name "_bytes: " text "\n" #name "_end:\n\tpushfq\n\tpop 32(%r8)\n\t"  \
		"mov %rax, 0(%r8)\n\tmov %rbx, 8(%r8)\n\tmov %rcx, 16(%r8)\n\tmov %rdx, 24(%r8)\n\t"            \
		"pop %rbx\n\tret\n.popsection");                                                                \
	extern const uint8_t name##_bytes[], name##_end[];                                               \
	void name##_native(struct regs5 *r, const uint64_t *mem);

INT_CASE(popcnt64, "popcnt %rbx, %rax")
INT_CASE(popcnt32m, "popcntl (%rsi), %eax")
INT_CASE(popcnt16, "popcnt %bx, %ax")
INT_CASE(lzcnt64, "lzcnt %rbx, %rax")
INT_CASE(lzcnt32, "lzcnt %ebx, %eax")
INT_CASE(tzcnt64, "tzcnt %rbx, %rax")
INT_CASE(tzcnt16m, "tzcntw (%rsi), %ax")
INT_CASE(crc32b, "crc32b %bl, %eax")
INT_CASE(crc32w, "crc32w %bx, %eax")
INT_CASE(crc32l, "crc32l %ebx, %eax")
INT_CASE(crc32q, "crc32q %rbx, %rax")
INT_CASE(crc32qm, "crc32q (%rsi), %rax")
INT_CASE(andn64, "andn %rcx, %rbx, %rax")
INT_CASE(andn32m, "andnl (%rsi), %ebx, %eax")
INT_CASE(bextr64, "bextr %rcx, %rbx, %rax")
INT_CASE(bextr32, "bextr %ecx, %ebx, %eax")
INT_CASE(blsi64, "blsi %rbx, %rax")
INT_CASE(blsmsk32, "blsmsk %ebx, %eax")
INT_CASE(blsr64m, "blsrq (%rsi), %rax")
INT_CASE(bzhi64, "bzhi %rcx, %rbx, %rax")
INT_CASE(bzhi32, "bzhi %ecx, %ebx, %eax")
INT_CASE(pdep64, "pdep %rcx, %rbx, %rax")
INT_CASE(pext64, "pext %rcx, %rbx, %rax")
INT_CASE(pext32m, "pextl (%rsi), %ebx, %eax")
INT_CASE(rorx64, "rorx $13, %rbx, %rax")
INT_CASE(rorx32, "rorx $31, %ebx, %eax")
INT_CASE(sarx64, "sarx %rcx, %rbx, %rax")
INT_CASE(shlx32, "shlx %ecx, %ebx, %eax")
INT_CASE(shrx64m, "shrxq %rcx, (%rsi), %rax")
INT_CASE(mulx64, "mulx %rbx, %rcx, %rax")
INT_CASE(mulx32, "mulx %ebx, %ecx, %eax")
INT_CASE(adcx64, "adcx %rbx, %rax")
INT_CASE(adcx32m, "adcxl (%rsi), %eax")
INT_CASE(adox64, "adox %rbx, %rax")

struct int_case {
	const char *name;
	const uint8_t *bytes, *end;
	void (*native)(struct regs5 *, const uint64_t *);
};
#define IC(n) { #n, n##_bytes, n##_end, n##_native }
static const struct int_case int_cases[] = {
	IC(popcnt64), IC(popcnt32m), IC(popcnt16), IC(lzcnt64), IC(lzcnt32), IC(tzcnt64), IC(tzcnt16m),
	IC(crc32b), IC(crc32w), IC(crc32l), IC(crc32q), IC(crc32qm), IC(andn64), IC(andn32m),
	IC(bextr64), IC(bextr32), IC(blsi64), IC(blsmsk32), IC(blsr64m), IC(bzhi64), IC(bzhi32),
	IC(pdep64), IC(pext64), IC(pext32m), IC(rorx64), IC(rorx32), IC(sarx64), IC(shlx32),
	IC(shrx64m), IC(mulx64), IC(mulx32), IC(adcx64), IC(adcx32m), IC(adox64),
};

static const uint64_t values[] = {
	0, 1, 2, 0x3f, 0x40, 0x41, 0x80, 0xff, 0x1008, 0x2010, 0x7fff, 0x8000, 0xffff, 0x80000000ull,
	0xffffffffull, 0x100000000ull, 0x8000000000000000ull, 0x7fffffffffffffffull, ~0ull,
	0x0123456789abcdefull, 0xf0f0f0f00ff00ff0ull, 0xdeadbeefcafef00dull,
};
#define NV (sizeof(values) / sizeof(values[0]))

static uint64_t mix(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_integer_against_host(void **state)
{
	(void)state;
	fb_simd_exec_recheck_guard(); /* cmocka installed its handlers for this test */
	struct fx *f = fx_new(true);
	struct fb_cpu *c = &f->cpu;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned runs = 0;
	for (size_t k = 0; k < sizeof(int_cases) / sizeof(int_cases[0]); k++) {
		const struct int_case *ic = &int_cases[k];
		size_t n = (size_t)(ic->end - ic->bytes);
		for (unsigned t = 0; t < 3 * NV; t++) {
			uint64_t a = t < NV ? values[t] : mix(&seed), b = values[t % NV], cc = mix(&seed) & (t & 1 ? 0xff : ~0ull);
			uint64_t d = values[(t * 7) % NV], mem = t < 2 * NV ? values[(t * 5) % NV] : mix(&seed);
			uint64_t fl = (t & 2) ? 0x202 | ARITH : 0x202;
			struct regs5 want = { .rax = d, .rbx = a, .rcx = cc, .rdx = b, .flags = fl };
			ic->native(&want, &mem);
			c->regs = (struct kvm_regs){ .rax = d, .rbx = a, .rcx = cc, .rdx = b, .rsi = DATA, .rdi = 0x5555,
						     .rsp = FX_STACK, .rip = FX_CODE, .rflags = fl };
			fx_w64(f, DATA, mem);
			enum fb_outcome o = fx_run(f, ic->bytes, n);
			if (o != FB_COMPLETED || c->regs.rax != want.rax || c->regs.rbx != want.rbx || c->regs.rcx != want.rcx ||
			    c->regs.rdx != want.rdx || (c->regs.rflags & ARITH) != (want.flags & ARITH)) {
				print_error("%s a=%#lx b=%#lx c=%#lx d=%#lx mem=%#lx: outcome %d rax %#llx/%#lx rcx %#llx/%#lx "
					    "rdx %#llx/%#lx flags %#llx/%#lx\n",
					    ic->name, (unsigned long)a, (unsigned long)b, (unsigned long)cc, (unsigned long)d,
					    (unsigned long)mem, o, c->regs.rax, (unsigned long)want.rax, c->regs.rcx,
					    (unsigned long)want.rcx, c->regs.rdx, (unsigned long)want.rdx, c->regs.rflags,
					    (unsigned long)want.flags);
				fail();
			}
			assert_int_equal(c->regs.rip, FX_CODE + n);
			assert_int_equal(c->regs.rsi, DATA);
			assert_int_equal(c->regs.rdi, 0x5555);
			assert_int_equal(c->regs.rflags & ~ARITH, 0x202);
			assert_int_equal(fx_r64(f, DATA), mem);
			runs++;
		}
	}
	assert_true(runs > 2000);
	/* A memory operand in the hole: #PF (delivered through the IDT, which has no gate here). */
	c->regs = (struct kvm_regs){ .rsi = FX_HOLE, .rsp = FX_STACK, .rip = FX_CODE, .rflags = 0x202 };
	struct fb_insn in;
	fx_code(f, FX_CODE, popcnt32m_bytes, (size_t)(popcnt32m_end - popcnt32m_bytes));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(in.op, FB_OP_HOST_EXEC);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_PF);
	assert_int_equal(c->exc.cr2, FX_HOLE);
	fx_free(f);
}

/* ---- vector completions on a fake guest ------------------------------------------------------ */

struct fake_xstate {
	uint64_t xcr0;
	struct kvm_xsave xs;
	int sets;
};
static int fk_get_xcr0(void *ctx, uint64_t *v) { *v = ((struct fake_xstate *)ctx)->xcr0; return 0; }
static int fk_set_xcr0(void *ctx, uint64_t v) { ((struct fake_xstate *)ctx)->xcr0 = v; return 0; }
static int fk_get_xsave(void *ctx, struct kvm_xsave *x) { *x = ((struct fake_xstate *)ctx)->xs; return 0; }
static int fk_set_xsave(void *ctx, const struct kvm_xsave *x)
{
	struct fake_xstate *fs = ctx;
	fs->xs = *x;
	fs->sets++;
	return 0;
}
static int fk_get_msr(void *ctx, uint32_t index, uint64_t *v)
{
	(void)ctx;
	*v = index == 0x10 ? 0x123456789abcdef0ull : index == 0xc0000103 ? 0xffffffff00000007ull : 0;
	return index == 0x10 || index == 0xc0000103 ? 0 : -EINVAL;
}
static const struct fb_xstate_ops fake_ops = { fk_get_xcr0, fk_set_xcr0, fk_get_xsave, fk_set_xsave, fk_get_msr };
static struct fb_xlayout host_layout;

static uint8_t *kx(struct fake_xstate *fs)
{
	return (uint8_t *)fs->xs.region;
}

static struct fx *vfx(struct fake_xstate *fs)
{
	struct fx *f = fx_new(true);
	fb_xlayout_host(&host_layout);
	f->cpu.xs = &fake_ops;
	f->cpu.xs_ctx = fs;
	f->cpu.xl = &host_layout;
	f->cpu.sregs.cr4 |= FB_CR4_OSXSAVE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	memset(fs, 0, sizeof(*fs));
	fs->xcr0 = 7;
	uint8_t *k = kx(fs);
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(k, &fcw, 2);
	memcpy(k + 24, &mxcsr, 4);
	for (int i = 0; i < 256; i++)
		k[160 + i] = (uint8_t)i;          /* XMM0-15 */
	for (int i = 0; i < 256; i++)
		k[576 + i] = (uint8_t)(0x80 ^ i); /* YMM_Hi128 */
	uint64_t bv = 7;
	memcpy(k + 512, &bv, 8);
	f->cpu.regs.rsi = DATA;
	return f;
}

static const uint8_t PADDD_RSI[] = { 0x66, 0x0f, 0xfe, 0x06 };            /* paddd xmm0, [rsi] */
static const uint8_t VMOVDQU_STORE_RSI[] = { 0xc5, 0xfe, 0x7f, 0x0e };     /* vmovdqu [rsi], ymm1 */
static const uint8_t VPADDD_YMM[] = { 0xc5, 0xf5, 0xfe, 0xc2 };            /* vpaddd ymm0, ymm1, ymm2 */
static const uint8_t DIVPS[] = { 0x0f, 0x5e, 0xc1 };                       /* divps xmm0, xmm1 */

static void test_vector_completions(void **state)
{
	(void)state;
	fb_simd_exec_recheck_guard(); /* cmocka installed its handlers for this test */
	struct fake_xstate fs;
	struct fx *f = vfx(&fs);
	struct fb_cpu *c = &f->cpu;
	uint8_t want[32], x0[16];
	/* paddd with a memory operand: XMM0 += [rsi], YMM0's upper half kept, one SET_XSAVE */
	memcpy(x0, kx(&fs) + 160, 16);
	for (int i = 0; i < 16; i++)
		f->ram[DATA + i] = (uint8_t)(i == 0 ? 0xff : 1);
	assert_int_equal(fx_run(f, PADDD_RSI, sizeof(PADDD_RSI)), FB_COMPLETED);
	for (int i = 0; i < 4; i++) {
		uint32_t a, b, s;
		memcpy(&a, x0 + 4 * i, 4);
		memcpy(&b, f->ram + DATA + 4 * i, 4);
		memcpy(&s, kx(&fs) + 160 + 4 * i, 4);
		assert_int_equal(s, a + b);
	}
	assert_int_equal(kx(&fs)[576], 0x80);
	assert_int_equal(fs.sets, 1);
	assert_int_equal(c->regs.rip, FX_CODE + sizeof(PADDD_RSI));

	/* vmovdqu [rsi], ymm1 writes 32 bytes: XMM1 then YMM1's upper half; no SET_XSAVE */
	c->regs.rip = FX_CODE;
	memcpy(want, kx(&fs) + 176, 16);
	memcpy(want + 16, kx(&fs) + 592, 16);
	assert_int_equal(fx_run(f, VMOVDQU_STORE_RSI, sizeof(VMOVDQU_STORE_RSI)), FB_COMPLETED);
	assert_memory_equal(f->ram + DATA, want, 32);
	assert_int_equal(fs.sets, 1);

	/* ... to a read-only page: #PF with W, nothing written */
	struct fb_insn in;
	c->regs.rip = FX_CODE;
	c->regs.rsi = FX_RO_PAGE;
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_PF);
	assert_int_equal(c->exc.error & 2, 2);
	assert_int_equal(fx_r64(f, FX_RO_PAGE), 0);
	c->regs.rsi = DATA;

	/* legacy SSE m128 misaligned: #GP(0); VEX is not */
	c->regs.rip = FX_CODE;
	c->regs.rsi = DATA + 4;
	fx_code(f, FX_CODE, PADDD_RSI, sizeof(PADDD_RSI));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_GP);
	fx_code(f, FX_CODE, VMOVDQU_STORE_RSI, sizeof(VMOVDQU_STORE_RSI));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_OK);
	c->regs.rsi = DATA;

	/* #UD and #NM as the CPU checks them */
	fx_code(f, FX_CODE, VPADDD_YMM, sizeof(VPADDD_YMM));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	fs.xcr0 = 3; /* AVX not enabled */
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_UD);
	fs.xcr0 = 7;
	c->sregs.cr0 |= FB_CR0_TS;
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_NM);
	c->sregs.cr0 &= ~FB_CR0_TS;
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_OK);
	fx_code(f, FX_CODE, PADDD_RSI, sizeof(PADDD_RSI));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	c->sregs.cr4 &= ~CR4_OSFXSR;
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_UD);
	c->sregs.cr4 |= CR4_OSFXSR;

	/* divps by zero: masked gives infinity and sets ZE; unmasked raises #XM, XMM0 untouched */
	const uint32_t one[4] = { 0x3f800000, 0x3f800000, 0x3f800000, 0x3f800000 }, zero[4] = { 0 };
	memcpy(kx(&fs) + 160, one, 16);
	memcpy(kx(&fs) + 176, zero, 16);
	fx_code(f, FX_CODE, DIVPS, sizeof(DIVPS));
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_OK);
	uint32_t v, mx;
	memcpy(&v, kx(&fs) + 160, 4);
	memcpy(&mx, kx(&fs) + 24, 4);
	assert_int_equal(v, 0x7f800000);
	assert_int_equal(mx, 0x1f80 | 0x4);
	memcpy(kx(&fs) + 160, one, 16);
	mx = 0x1f80 & ~0x200u; /* ZM clear */
	memcpy(kx(&fs) + 24, &mx, 4);
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, 19);
	assert_memory_equal(kx(&fs) + 160, one, 16);
	memcpy(&mx, kx(&fs) + 24, 4);
	assert_int_equal(mx, (0x1f80 & ~0x200u) | 0x4);
	c->sregs.cr4 &= ~CR4_OSXMMEXCPT;
	assert_int_equal(fb_host_exec(c, &in), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_UD);
	fx_free(f);
}

/* ldmxcsr/stmxcsr (and VEX forms), fwait, emms and rdtscp, which Linux runs around vector code
 * and in its clock. */
static void test_mxcsr_fwait_emms_rdtscp(void **state)
{
	(void)state;
	fb_simd_exec_recheck_guard();
	struct fake_xstate fs;
	struct fx *f = vfx(&fs);
	struct fb_cpu *c = &f->cpu;
	uint32_t v = 0x7f80, mx;
	memcpy(f->ram + DATA, &v, 4);
	/* ldmxcsr [rsi]; stmxcsr [rsi + 8] reads it back; the same value again makes no ioctl */
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0xae, 0x16 }, 3), FB_COMPLETED);
	memcpy(&mx, kx(&fs) + 24, 4);
	assert_int_equal(mx, 0x7f80);
	assert_int_equal(fs.sets, 1);
	c->regs.rip = FX_CODE;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0xae, 0x16 }, 3), FB_COMPLETED);
	assert_int_equal(fs.sets, 1);
	c->regs.rip = FX_CODE;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0xae, 0x5e, 0x08 }, 4), FB_COMPLETED);
	assert_int_equal(fx_r32(f, DATA + 8), 0x7f80);
	/* vldmxcsr [rsi] of a reserved bit: #GP; without AVX in XCR0: #UD; CR0.TS: #NM */
	v = 0x10000;
	memcpy(f->ram + DATA, &v, 4);
	struct fb_insn in;
	c->regs.rip = FX_CODE;
	fx_code(f, FX_CODE, (const uint8_t[]){ 0xc5, 0xf8, 0xae, 0x16 }, 4);
	assert_int_equal(fb_fetch_decode(c, &in), 0);
	assert_int_equal(in.op, FB_OP_LDMXCSR);
	assert_true(in.vex);
	assert_int_equal(fb_ldmxcsr(c, DATA, true), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_GP);
	fs.xcr0 = 3;
	assert_int_equal(fb_ldmxcsr(c, DATA, true), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_UD);
	fs.xcr0 = 7;
	c->sregs.cr0 |= FB_CR0_TS;
	assert_int_equal(fb_ldmxcsr(c, DATA, false), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, FB_NM);
	c->sregs.cr0 &= ~FB_CR0_TS;
	/* fwait: nothing pending; FSW.ES with CR0.NE: #MF */
	assert_int_equal(fb_fwait(c), FB_STEP_OK);
	kx(&fs)[2] |= 0x80;
	c->sregs.cr0 |= 1ull << 5;
	assert_int_equal(fb_fwait(c), FB_STEP_FAULT);
	assert_int_equal(c->exc.vector, 16);
	kx(&fs)[2] &= (uint8_t)~0x80;
	/* emms runs on the host: every x87 tag empty (the abridged tag byte 0) */
	kx(&fs)[4] = 0xff;
	c->regs.rip = FX_CODE;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x77 }, 2), FB_COMPLETED);
	assert_int_equal(kx(&fs)[4], 0);
	/* rdtscp: TSC in EDX:EAX, TSC_AUX's low half in ECX, upper halves cleared */
	c->regs.rip = FX_CODE;
	c->regs.rax = c->regs.rcx = c->regs.rdx = ~0ull;
	assert_int_equal(fx_run(f, (const uint8_t[]){ 0x0f, 0x01, 0xf9 }, 3), FB_COMPLETED);
	assert_int_equal(c->regs.rax, 0x9abcdef0);
	assert_int_equal(c->regs.rdx, 0x12345678);
	assert_int_equal(c->regs.rcx, 7);
	assert_int_equal(c->regs.rip, FX_CODE + 3);
	fx_free(f);
}

/* What stays refused: 32-bit code, the stack pointer as an operand, VSIB, ldmxcsr. */
static void test_refusals(void **state)
{
	(void)state;
	struct fb_insn in;
	assert_int_equal(fb_decode(VCPU_MODE_LONG64, (const uint8_t[]){ 0xf3, 0x48, 0x0f, 0xb8, 0xe0 }, 5, &in), -ENOENT);
	assert_int_equal(fb_decode(VCPU_MODE_LONG64, (const uint8_t[]){ 0x66, 0x48, 0x0f, 0x3a, 0x22, 0xc4, 0x01 }, 7, &in),
			 -ENOENT); /* pinsrq xmm0, rsp, 1 */
	assert_int_equal(fb_decode(VCPU_MODE_LONG64, (const uint8_t[]){ 0x66, 0x0f, 0xf7, 0xc1 }, 4, &in), -ENOENT); /* maskmovdqu */
	assert_int_equal(fb_decode(VCPU_MODE_PROT32, (const uint8_t[]){ 0x66, 0x0f, 0xfe, 0xc1 }, 4, &in), -ENOENT);
	/* and what is taken: popcnt rax, [rsp + 8] (the stack as a base is only an address) */
	assert_int_equal(fb_decode(VCPU_MODE_LONG64, (const uint8_t[]){ 0xf3, 0x48, 0x0f, 0xb8, 0x44, 0x24, 0x08 }, 7, &in), 0);
	assert_int_equal(in.op, FB_OP_HOST_EXEC);
	assert_int_equal(in.mem_size, 8);
	assert_false(in.simd);
	assert_string_equal(fb_slot_name(fb_stat_slot(in.op, in.capstone_id, in.raw_id)), "popcnt");
	assert_int_equal(fb_decode(VCPU_MODE_LONG64, VPADDD_YMM, sizeof(VPADDD_YMM), &in), 0);
	assert_true(in.simd);
	assert_string_equal(fb_slot_name(fb_stat_slot(in.op, in.capstone_id, in.raw_id)), "vpaddd");
}

/* Instructions capstone 4 cannot decode: our own decoding, length, operand and EVEX's scaled
 * disp8 (bytes from GNU as); and where capstone does know the form, the two must agree. */
static void test_raw_decode(void **state)
{
	(void)state;
	static const struct {
		uint8_t b[15];
		uint8_t n;
		int base, index, scale;
		int64_t disp;
		uint8_t size;
		const char *name;
	} cases[] = {
		{ { 0x62, 0xf3, 0x75, 0x58, 0x25, 0x50, 0x10, 0x96 }, 8, X86_REG_RAX, 0, 1, 0x40, 4, "vpternlogd" },
		{ { 0x62, 0xf3, 0x75, 0x48, 0x25, 0x50, 0x01, 0x96 }, 8, X86_REG_RAX, 0, 1, 0x40, 64, "vpternlogd" },
		{ { 0x62, 0xb3, 0xf5, 0x28, 0x25, 0x54, 0xcc, 0xfc, 0xe8 }, 9, X86_REG_RSP, X86_REG_R9, 8, -0x80, 32, "vpternlogq" },
		{ { 0x62, 0xf2, 0x75, 0x48, 0x00, 0x50, 0x01 }, 7, X86_REG_RAX, 0, 1, 0x40, 64, "vpshufb" },
		{ { 0x62, 0xf1, 0x6d, 0x48, 0x74, 0xd9 }, 6, 0, 0, 0, 0, 0, "vpcmpeqb" },
		{ { 0x62, 0xf2, 0x6d, 0x48, 0xdc, 0xd9 }, 6, 0, 0, 0, 0, 0, "vaesenc" },
		{ { 0xc4, 0xe3, 0x6d, 0x44, 0xd9, 0x11 }, 6, 0, 0, 0, 0, 0, "vpclmulqdq" },
		{ { 0x66, 0x0f, 0x3a, 0xce, 0xd1, 0x00 }, 6, 0, 0, 0, 0, 0, "gf2p8affineqb" },
		{ { 0x66, 0x0f, 0x3a, 0xce, 0x57, 0x10, 0x00 }, 7, X86_REG_RDI, 0, 1, 0x10, 16, "gf2p8affineqb" },
		{ { 0x62, 0xf2, 0x75, 0x48, 0x50, 0x16 }, 6, X86_REG_RSI, 0, 1, 0, 64, "vpdpbusd" },
		{ { 0x62, 0xf2, 0x7d, 0x48, 0x78, 0x48, 0x03 }, 7, X86_REG_RAX, 0, 1, 3, 1, "vpbroadcastb" },
		{ { 0x62, 0xf2, 0x7d, 0x49, 0x63, 0x4a, 0x05 }, 7, X86_REG_RDX, 0, 1, 5, 64, "vpcompressb" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fb_insn in;
		/* trailing bytes after the instruction must not change its length */
		uint8_t buf[15];
		memset(buf, 0x90, sizeof(buf));
		memcpy(buf, cases[i].b, cases[i].n);
		assert_int_equal(fb_decode(VCPU_MODE_LONG64, buf, sizeof(buf), &in), 0);
		assert_int_equal(in.op, FB_OP_HOST_EXEC);
		assert_int_equal(in.len, cases[i].n);
		assert_int_equal(in.has_mem, cases[i].size != 0);
		if (in.has_mem) {
			assert_int_equal(in.mem.base, cases[i].base);
			assert_int_equal(in.mem.index, cases[i].index);
			assert_int_equal(in.mem.scale, cases[i].scale);
			assert_int_equal(in.mem.disp, cases[i].disp);
			assert_int_equal(in.mem_size, cases[i].size);
		}
		assert_string_equal(fb_slot_name(fb_stat_slot(in.op, in.capstone_id, in.raw_id)), cases[i].name);
		/* every truncation is refused */
		for (uint8_t k = 0; k < cases[i].n; k++)
			assert_false(fb_decode_host_raw(VCPU_MODE_LONG64, cases[i].b, k, &in));
	}
	/* VEX forms capstone knows: both decoders agree on length and operand */
	static const struct { uint8_t b[8]; uint8_t n; } known[] = {
		{ { 0xc4, 0xe2, 0x75, 0x00, 0x54, 0x58, 0x20 }, 7 }, /* vpshufb ymm2, ymm1, [rax + rbx*2 + 0x20] */
		{ { 0xc4, 0xc1, 0x75, 0x74, 0x54, 0x24, 0x20 }, 7 }, /* vpcmpeqb ymm2, ymm1, [r12 + 0x20] */
		{ { 0xc4, 0xc2, 0x71, 0xdc, 0x55, 0x10 }, 6 },       /* vaesenc xmm2, xmm1, [r13 + 0x10] */
		{ { 0xc4, 0xe2, 0x7d, 0x78, 0x48, 0x03 }, 6 },       /* vpbroadcastb ymm1, [rax + 3] */
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		struct fb_insn raw, cs;
		assert_true(fb_decode_host_raw(VCPU_MODE_LONG64, known[i].b, known[i].n, &raw));
		assert_int_equal(fb_decode(VCPU_MODE_LONG64, known[i].b, known[i].n, &cs), 0);
		assert_int_not_equal(cs.capstone_id, 0);
		assert_int_equal(raw.len, cs.len);
		assert_int_equal(raw.mem.base, cs.mem.base);
		assert_int_equal(raw.mem.index, cs.mem.index);
		assert_int_equal(raw.mem.scale, cs.mem.scale);
		assert_int_equal(raw.mem.disp, cs.mem.disp);
		assert_int_equal(raw.mem_size, cs.mem_size);
	}
	/* refused: a memory form the table does not know, VSIB, 32-bit code, REX before EVEX */
	struct fb_insn in;
	assert_false(fb_decode_host_raw(VCPU_MODE_LONG64, (const uint8_t[]){ 0x62, 0xf1, 0x75, 0x48, 0xfe, 0x50, 0x01 }, 7, &in));
	assert_false(fb_decode_host_raw(VCPU_MODE_LONG64, (const uint8_t[]){ 0xc4, 0xe2, 0x6d, 0x90, 0x04, 0x88 }, 6, &in));
	assert_false(fb_decode_host_raw(VCPU_MODE_PROT32, (const uint8_t[]){ 0x62, 0xf1, 0x6d, 0x48, 0x74, 0xd9 }, 6, &in));
	assert_false(fb_decode_host_raw(VCPU_MODE_LONG64, (const uint8_t[]){ 0x48, 0x62, 0xf1, 0x6d, 0x48, 0x74, 0xd9 }, 7, &in));
}

/* Random bytes behind VEX, EVEX and 0F escapes: whatever the decoders accept runs on the host
 * against a fake guest, and every run comes back (completed, a fault, or refused); nothing ever
 * writes outside the guest's RAM and the operand buffer. */
static void test_random_instructions(void **state)
{
	(void)state;
	fb_simd_exec_recheck_guard(); /* cmocka installed its handlers for this test */
	struct fake_xstate fs;
	struct fx *f = vfx(&fs);
	struct fb_cpu *c = &f->cpu;
	fs.xcr0 = fb_simd_host_xcr0() & 0xe7;
	uint64_t seed = 0x2545f4914f6cdd1dull;
	unsigned accepted = 0, completed = 0;
	static const uint8_t escapes[][3] = { { 0xc5 }, { 0xc4 }, { 0x62 }, { 0x0f }, { 0x66, 0x0f }, { 0xf3, 0x0f }, { 0xf2, 0x0f } };
	for (unsigned t = 0; t < 20000; t++) {
		uint8_t b[15];
		for (unsigned i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)(mix(&seed) >> 24);
		const uint8_t *e = escapes[t % 7];
		size_t elen = e[0] == 0x66 || e[0] == 0xf3 || e[0] == 0xf2 ? 2 : 1;
		memcpy(b, e, elen);
		if (e[0] == 0x62)
			b[2] = (uint8_t)((b[2] & ~0x0c) | 0x00), b[3] |= 0x04; /* EVEX's fixed bits */
		if (t & 1) /* a register form: ModRM.mod = 3 at the likely place */
			b[elen + (e[0] == 0xc5 ? 2 : e[0] == 0xc4 ? 3 : e[0] == 0x62 ? 4 : 1)] |= 0xc0;
		struct fb_insn in;
		if (fb_decode(VCPU_MODE_LONG64, b, sizeof(b), &in) != 0 || in.op != FB_OP_HOST_EXEC)
			continue;
		accepted++;
		c->regs = (struct kvm_regs){ .rax = DATA, .rbx = DATA + 64, .rcx = 1, .rdx = 2, .rsi = DATA, .rdi = DATA,
					     .rbp = DATA, .r8 = DATA, .r12 = DATA, .r13 = DATA, .rsp = FX_STACK,
					     .rip = FX_CODE, .rflags = 0x202 };
		c->sregs.cr0 &= ~FB_CR0_TS;
		enum fb_step st = fb_host_exec(c, &in);
		assert_true(st == FB_STEP_OK || st == FB_STEP_FAULT || st == FB_STEP_UNHANDLED);
		completed += st == FB_STEP_OK;
		assert_int_equal(c->regs.rsp, FX_STACK);
	}
	print_message("%u of 20000 random instructions accepted, %u completed\n", accepted, completed);
	assert_true(accepted > 1000 && completed > 500);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_signal_chain), cmocka_unit_test(test_rewrite),
		cmocka_unit_test(test_exec),             cmocka_unit_test(test_integer_against_host),
		cmocka_unit_test(test_vector_completions), cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_raw_decode),       cmocka_unit_test(test_random_instructions),
		cmocka_unit_test(test_mxcsr_fwait_emms_rdtscp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
