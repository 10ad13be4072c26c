/* The instruction decoder: capstone in 16-, 32- or 64-bit mode, over byte buffers or guest code
 * fetched through the guest's page tables, and the oops-style listing crash reports print. */
#include "trace/disas.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#define DISAS_NMODES 4
#define CODE_BEFORE_RIP 32 /* bytes shown before rip on the "Code:" line */
#define CODE_AT_RIP 16     /* bytes shown from rip on */
#define BYTES_COLUMN 24    /* width of the hex column in disas_format */

/* A capstone handle is not safe to share between threads, and these functions run on vCPU
 * threads and the main thread at once; so each thread opens its own handles (lazily, one per
 * mode) and a thread-exit destructor closes them, so that short-lived threads leak nothing. */
struct disas_handles {
	csh h[DISAS_NMODES][2];     /* [mode][detail] */
	bool open[DISAS_NMODES][2];
};

static __thread struct disas_handles *tls_handles;
static pthread_key_t handles_key;
static pthread_once_t handles_once = PTHREAD_ONCE_INIT;
static bool handles_key_ok;

static void close_handles(void *arg)
{
	struct disas_handles *hs = arg;
	for (int i = 0; i < DISAS_NMODES; i++)
		for (int d = 0; d < 2; d++)
			if (hs->open[i][d])
				cs_close(&hs->h[i][d]);
	free(hs);
}

static void create_key(void)
{
	handles_key_ok = pthread_key_create(&handles_key, close_handles) == 0;
}

/* This thread's handle for mode (with operand details or not), opened on first use; NULL when
 * capstone cannot be opened (out of memory) or the mode is not one of enum vcpu_mode. */
static csh *handle_for(enum vcpu_mode mode, bool detail)
{
	static const cs_mode cs_modes[DISAS_NMODES] = {
		[VCPU_MODE_REAL] = CS_MODE_16,
		[VCPU_MODE_PROT16] = CS_MODE_16,
		[VCPU_MODE_PROT32] = CS_MODE_32,
		[VCPU_MODE_LONG64] = CS_MODE_64,
	};
	if ((unsigned)mode >= DISAS_NMODES)
		return NULL;
	if (!tls_handles) {
		pthread_once(&handles_once, create_key);
		tls_handles = calloc(1, sizeof(*tls_handles));
		if (!tls_handles)
			return NULL;
		/* Without a key (never in practice) the handles simply live until the process ends. */
		if (handles_key_ok)
			pthread_setspecific(handles_key, tls_handles);
	}
	struct disas_handles *hs = tls_handles;
	if (!hs->open[mode][detail]) {
		csh *h = &hs->h[mode][detail];
		if (cs_open(CS_ARCH_X86, cs_modes[mode], h) != CS_ERR_OK)
			return NULL;
		/* Intel syntax is capstone's default for x86; say so in case that ever changes. Details
		 * (operands, registers read) cost time: only the callers that need operands get them. */
		cs_option(*h, CS_OPT_SYNTAX, CS_OPT_SYNTAX_INTEL);
		if (detail)
			cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
		hs->open[mode][detail] = true;
	}
	return &hs->h[mode][detail];
}

csh *disas_detail_handle(enum vcpu_mode mode)
{
	return handle_for(mode, true);
}

bool disas_reg_value(const struct kvm_regs *r, unsigned reg, uint64_t next_rip, uint64_t *out)
{
	static const struct { unsigned r64, r32, r16; size_t off; } gprs[] = {
		{ X86_REG_RAX, X86_REG_EAX, X86_REG_AX, offsetof(struct kvm_regs, rax) },
		{ X86_REG_RBX, X86_REG_EBX, X86_REG_BX, offsetof(struct kvm_regs, rbx) },
		{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, offsetof(struct kvm_regs, rcx) },
		{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, offsetof(struct kvm_regs, rdx) },
		{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, offsetof(struct kvm_regs, rsi) },
		{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, offsetof(struct kvm_regs, rdi) },
		{ X86_REG_RBP, X86_REG_EBP, X86_REG_BP, offsetof(struct kvm_regs, rbp) },
		{ X86_REG_RSP, X86_REG_ESP, X86_REG_SP, offsetof(struct kvm_regs, rsp) },
		{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, offsetof(struct kvm_regs, r8) },
		{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, offsetof(struct kvm_regs, r9) },
		{ X86_REG_R10, X86_REG_R10D, X86_REG_R10W, offsetof(struct kvm_regs, r10) },
		{ X86_REG_R11, X86_REG_R11D, X86_REG_R11W, offsetof(struct kvm_regs, r11) },
		{ X86_REG_R12, X86_REG_R12D, X86_REG_R12W, offsetof(struct kvm_regs, r12) },
		{ X86_REG_R13, X86_REG_R13D, X86_REG_R13W, offsetof(struct kvm_regs, r13) },
		{ X86_REG_R14, X86_REG_R14D, X86_REG_R14W, offsetof(struct kvm_regs, r14) },
		{ X86_REG_R15, X86_REG_R15D, X86_REG_R15W, offsetof(struct kvm_regs, r15) },
	};
	if (reg == X86_REG_INVALID) {
		*out = 0;
		return true;
	}
	if (reg == X86_REG_RIP || reg == X86_REG_EIP) {
		*out = next_rip; /* RIP-relative operands count from the next instruction */
		return true;
	}
	for (size_t i = 0; i < sizeof(gprs) / sizeof(gprs[0]); i++) {
		uint64_t v;
		memcpy(&v, (const char *)r + gprs[i].off, sizeof(v));
		if (reg == gprs[i].r64)
			*out = v;
		else if (reg == gprs[i].r32)
			*out = (uint32_t)v;
		else if (reg == gprs[i].r16)
			*out = (uint16_t)v;
		else
			continue;
		return true;
	}
	return false;
}

/* The "(bad)" record: length 1, so that a caller listing code can step over the byte. */
static int bad_insn(const uint8_t *bytes, size_t len, struct disas_insn *out)
{
	out->len = 1;
	if (len)
		out->bytes[0] = bytes[0];
	snprintf(out->mnemonic, sizeof(out->mnemonic), "(bad)");
	return -EINVAL;
}

int disas_one(enum vcpu_mode mode, uint64_t address, const uint8_t *bytes, size_t len, struct disas_insn *out)
{
	memset(out, 0, sizeof(*out));
	out->address = address;
	csh *h = handle_for(mode, false);
	if (!h || len == 0)
		return bad_insn(bytes, len, out);
	cs_insn *insn = NULL;
	size_t n = cs_disasm(*h, bytes, len, address, 1, &insn);
	/* x86 never has instructions over 15 bytes; a longer answer would not fit bytes[] either. */
	if (n != 1 || insn[0].size == 0 || insn[0].size > DISAS_MAX_INSN) {
		if (n)
			cs_free(insn, n);
		return bad_insn(bytes, len, out);
	}
	out->len = (uint8_t)insn[0].size;
	memcpy(out->bytes, insn[0].bytes, out->len);
	snprintf(out->mnemonic, sizeof(out->mnemonic), "%s", insn[0].mnemonic);
	snprintf(out->operands, sizeof(out->operands), "%s", insn[0].op_str);
	out->capstone_id = insn[0].id;
	cs_free(insn, n);
	return out->len;
}

/* Fetches up to DISAS_MAX_INSN bytes at gva and decodes one instruction. Returns its length,
 * -EINVAL for invalid bytes (out is the "(bad)" record) or -EFAULT when nothing is readable or
 * the readable bytes end in the middle of an instruction (we cannot know what it would be).
 * *readable says how many bytes could be fetched. */
static int fetch_and_decode(const struct gmem *m, const struct paging_regs *pr, enum vcpu_mode mode,
			    uint64_t gva, struct disas_insn *out, size_t *readable)
{
	uint8_t buf[DISAS_MAX_INSN];
	size_t n = pagewalk_read(m, pr, gva, buf, sizeof(buf));
	*readable = n;
	if (n == 0)
		return -EFAULT;
	int rc = disas_one(mode, gva, buf, n, out);
	if (rc < 0 && n < sizeof(buf)) {
		/* Keep what could be read, for the listing to show. */
		memcpy(out->bytes, buf, n);
		return -EFAULT;
	}
	return rc;
}

int disas_guest(const struct gmem *m, const struct paging_regs *pr, enum vcpu_mode mode, uint64_t gva,
		struct disas_insn *out, int count)
{
	int done = 0;
	while (done < count) {
		size_t readable;
		int rc = fetch_and_decode(m, pr, mode, gva, &out[done], &readable);
		if (rc < 0)
			break;
		gva += (uint64_t)rc;
		done++;
	}
	return done;
}

/* snprintf at buf+*pos that never writes past len and keeps *pos at most len - 1, so that
 * a truncated line stays a terminated string and later appends are harmless no-ops. */
static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	if (*pos + 1 >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	*pos += (size_t)n;
	if (*pos > len - 1)
		*pos = len - 1;
}

void disas_format(const struct disas_insn *in, char *buf, size_t len)
{
	if (!buf || len == 0)
		return;
	size_t pos = 0;
	buf[0] = '\0';
	append(buf, len, &pos, "0x%016llx: ", (unsigned long long)in->address);
	size_t column = pos + BYTES_COLUMN;
	unsigned nbytes = in->len <= DISAS_MAX_INSN ? in->len : DISAS_MAX_INSN;
	for (unsigned i = 0; i < nbytes; i++)
		append(buf, len, &pos, "%02x ", in->bytes[i]);
	/* Pad so that mnemonics line up; up to 8 bytes fit, longer instructions push it right. */
	if (pos < column)
		append(buf, len, &pos, "%*s", (int)(column - pos), "");
	append(buf, len, &pos, "%s", in->mnemonic);
	if (in->operands[0])
		append(buf, len, &pos, " %s", in->operands);
}

/* Prints the "Code:" line: up to CODE_BEFORE_RIP bytes before rip (all of them when readable,
 * else those in rip's own page, where the page before is unmapped), then the bytes from rip
 * with the first in <>, as a Linux oops does. Returns false when no byte at rip is readable. */
static bool print_code_line(FILE *f, const struct gmem *m, const struct paging_regs *pr, uint64_t rip)
{
	uint8_t code[CODE_BEFORE_RIP + CODE_AT_RIP];
	size_t at = pagewalk_read(m, pr, rip, code + CODE_BEFORE_RIP, CODE_AT_RIP);
	if (at == 0)
		return false;
	size_t before = CODE_BEFORE_RIP;
	if (before > rip) /* do not wrap below address 0 */
		before = rip;
	if (pagewalk_read(m, pr, rip - before, code + CODE_BEFORE_RIP - before, before) != before) {
		before = rip & 0xfff;
		if (before > CODE_BEFORE_RIP)
			before = CODE_BEFORE_RIP;
		if (pagewalk_read(m, pr, rip - before, code + CODE_BEFORE_RIP - before, before) != before)
			before = 0;
	}
	fprintf(f, "Code:");
	for (size_t i = CODE_BEFORE_RIP - before; i < CODE_BEFORE_RIP; i++)
		fprintf(f, " %02x", code[i]);
	fprintf(f, " <%02x>", code[CODE_BEFORE_RIP]);
	for (size_t i = 1; i < at; i++)
		fprintf(f, " %02x", code[CODE_BEFORE_RIP + i]);
	fprintf(f, "\n");
	return true;
}

/* Ends a line that began with the address that cannot be read: the page-walk failure and its
 * level, or, when the translation works, that the physical address is not RAM. */
static void print_unmapped(FILE *f, const struct gmem *m, const struct paging_regs *pr, uint64_t gva)
{
	struct pagewalk w;
	enum pagewalk_result r = pagewalk_translate(m, pr, gva, &w);
	if (r != PAGEWALK_OK)
		fprintf(f, "not mapped (%s, level %d)\n", pagewalk_result_name(r), w.failed_level);
	else
		fprintf(f, "not mapped (gpa 0x%llx is not RAM)\n", (unsigned long long)w.gpa);
}

void disas_print_around(FILE *out, const struct gmem *m, const struct paging_regs *pr, enum vcpu_mode mode,
			uint64_t rip, int count)
{
	if (!print_code_line(out, m, pr, rip)) {
		fprintf(out, "rip 0x%016llx: ", (unsigned long long)rip);
		print_unmapped(out, m, pr, rip);
		return;
	}
	uint64_t gva = rip;
	for (int i = 0; i < count; i++) {
		const char *prefix = i == 0 ? "=> " : "   ";
		struct disas_insn in;
		size_t readable;
		int rc = fetch_and_decode(m, pr, mode, gva, &in, &readable);
		if (rc == -EFAULT) {
			/* The listing ran into unreadable memory, at gva or inside the instruction there. */
			fprintf(out, "%s0x%016llx: ", prefix, (unsigned long long)gva);
			if (readable) {
				for (size_t k = 0; k < readable; k++)
					fprintf(out, k ? " %02x" : "%02x", in.bytes[k]);
				fprintf(out, ", then 0x%016llx: ", (unsigned long long)(gva + readable));
			}
			print_unmapped(out, m, pr, gva + readable);
			return;
		}
		char line[256];
		disas_format(&in, line, sizeof(line));
		fprintf(out, "%s%s\n", prefix, line);
		if (rc < 0) /* after invalid bytes the rest of the listing would be guesswork */
			return;
		gva += (uint64_t)rc;
	}
}
