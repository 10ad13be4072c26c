/* The gdb stub end to end on real KVM, without gdb: a tiny 32-bit guest (paging off) that counts
 * in a loop, a stub on an ephemeral port holding it before its first instruction (-G w), and a
 * protocol client in the test: stop replies, registers, memory with a planted int3 shadowed,
 * a software breakpoint hit and stepped over, a single step, a write watchpoint (by debug
 * register or by stepping, whichever the probe chose), Ctrl-C, detach, a second attach, and the
 * W packet when the VM ends under gdb.
 *
 * Without a usable /dev/kvm the tests are skipped, unless DHYVE_REQUIRE_KVM=1. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/bootstate.h"
#include "gdbstub/gdbstub.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define CODE_GPA 0x100000ull
#define DATA_GPA 0x200000ull
#define WAIT_MS 5000

static const uint8_t prog_count[] = {
	0xff, 0x05, 0x00, 0x00, 0x20, 0x00, /* 0x100000: inc dword [0x200000] */
	0xeb, 0xf8,                         /* 0x100006: jmp 0x100000 */
};

static void require_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return;
	}
	const char *req = getenv("DHYVE_REQUIRE_KVM");
	if (req && strcmp(req, "1") == 0)
		fail_msg("/dev/kvm: %s, and DHYVE_REQUIRE_KVM=1 forbids skipping", strerror(errno));
	print_message("skipped: /dev/kvm cannot be opened read-write\n");
	skip();
}

static struct vm *make_vm(void)
{
	struct errmsg e = { "" };
	struct vm_config cfg = { .name = "gdbstub-test", .mem_bytes = 16ull << 20, .ncpus = 1 };
	struct vm *vm = vm_create(&cfg, &e);
	if (!vm)
		fail_msg("vm_create: %s", e.text);
	static const uint64_t gdt[4] = { 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull, 0x00cf9b000000ffffull };
	assert_int_equal(gmem_write(vm_gmem(vm), BOOT_GDT_GPA, gdt, sizeof(gdt)), 0);
	assert_int_equal(gmem_write(vm_gmem(vm), CODE_GPA, prog_count, sizeof(prog_count)), 0);
	struct boot_state bs = {
		.mode = BOOT_MODE_PROT32, .rip = CODE_GPA, .rsp = BOOT_STACK_TOP, .rflags = 2, .cr0 = 1,
		.cs = { .limit = 0xffffffff, .selector = BOOT_SEL_CODE32, .type = 0xb, .present = 1, .db = 1, .s = 1, .g = 1 },
		.ds = { .limit = 0xffffffff, .selector = BOOT_SEL_DATA, .type = 0x3, .present = 1, .db = 1, .s = 1, .g = 1 },
		.gdt_base = BOOT_GDT_GPA, .gdt_limit = 31,
	};
	if (vcpu_apply_boot_state(vm_vcpu(vm, 0), &bs, &e) < 0)
		fail_msg("vcpu_apply_boot_state: %s", e.text);
	return vm;
}

/* ---- a minimal protocol client -------------------------------------------------------------- */

static int connect_to(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void send_raw(int fd, const char *data, size_t len)
{
	assert_int_equal(send(fd, data, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void send_pkt(int fd, const char *body)
{
	char buf[512];
	unsigned sum = 0;
	for (const char *p = body; *p; p++)
		sum += (uint8_t)*p;
	int n = snprintf(buf, sizeof(buf), "$%s#%02x", body, sum & 0xff);
	send_raw(fd, buf, (size_t)n);
}

static int read_byte(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	if (poll(&p, 1, WAIT_MS) <= 0)
		fail_msg("no answer from the stub within %d ms", WAIT_MS);
	uint8_t c;
	ssize_t n = recv(fd, &c, 1, 0);
	return n == 1 ? c : -1;
}

/* The next packet's body (acks skipped); NULL when the stub hung up. */
static const char *recv_pkt(int fd)
{
	static char body[20000];
	int c;
	while ((c = read_byte(fd)) != '$')
		if (c < 0)
			return NULL;
	size_t n = 0;
	while ((c = read_byte(fd)) != '#') {
		assert_true(c >= 0 && n < sizeof(body) - 1);
		body[n++] = (char)c;
	}
	body[n] = '\0';
	assert_true(read_byte(fd) >= 0 && read_byte(fd) >= 0);
	return body;
}

static const char *cmd(int fd, const char *body)
{
	send_pkt(fd, body);
	const char *r = recv_pkt(fd);
	assert_non_null(r);
	return r;
}

static void no_ack_mode(int fd)
{
	send_pkt(fd, "QStartNoAckMode");
	assert_int_equal(read_byte(fd), '+');
	assert_string_equal(recv_pkt(fd), "OK");
	send_raw(fd, "+", 1);
}

/* RIP from "p10" (register 16, little-endian hex). */
static uint64_t read_rip(int fd)
{
	const char *r = cmd(fd, "p10");
	assert_int_equal(strlen(r), 16);
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) {
		unsigned byte;
		assert_int_equal(sscanf(r + 2 * i, "%2x", &byte), 1);
		v = v << 8 | byte;
	}
	return v;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_session(void **state)
{
	(void)state;
	require_kvm();
	struct vm *vm = make_vm();
	struct errmsg e = { "" };
	struct gdbstub_config cfg = { .bind_addr = "127.0.0.1", .port = 0, .wait = true };
	struct gdbstub *stub = gdbstub_create(vm, &cfg, &e);
	if (!stub)
		fail_msg("gdbstub_create: %s", e.text);
	assert_true(gdbstub_port(stub) != 0);
	if (vm_start(vm, &e) < 0)
		fail_msg("vm_start: %s", e.text);

	int fd = connect_to(gdbstub_port(stub));
	no_ack_mode(fd);
	assert_string_equal(cmd(fd, "?"), "T05thread:1;");
	assert_int_equal(read_rip(fd), CODE_GPA); /* -G w: held before the first instruction */
	uint32_t count;
	assert_int_equal(gmem_read(vm_gmem(vm), DATA_GPA, &count, 4), 0);
	assert_int_equal(count, 0);
	assert_string_equal(cmd(fd, "qfThreadInfo"), "m1");
	assert_string_equal(cmd(fd, "m100000,8"), "ff0500002000ebf8");
	/* RAM ends at 16 MiB: a read across the end gives the bytes before it; past it, E14. */
	assert_string_equal(cmd(fd, "mfffffc,8"), "00000000");
	assert_string_equal(cmd(fd, "m1000000,8"), "E14");

	/* Breakpoint on the jmp: hit, memory shadowed, hit again after a continue (step-over). */
	assert_string_equal(cmd(fd, "Z0,100006,1"), "OK");
	assert_string_equal(cmd(fd, "m100006,2"), "ebf8");
	assert_string_equal(cmd(fd, "vCont;c"), "T05thread:1;swbreak:;");
	assert_int_equal(read_rip(fd), CODE_GPA + 6);
	assert_string_equal(cmd(fd, "vCont;c"), "T05thread:1;swbreak:;");
	assert_int_equal(read_rip(fd), CODE_GPA + 6);
	assert_int_equal(gmem_read(vm_gmem(vm), DATA_GPA, &count, 4), 0);
	assert_int_equal(count, 2); /* one round per continue */
	assert_string_equal(cmd(fd, "z0,100006,1"), "OK");
	uint8_t byte;
	assert_int_equal(gmem_read(vm_gmem(vm), CODE_GPA + 6, &byte, 1), 0);
	assert_int_equal(byte, 0xeb);

	/* One step: the jmp. */
	assert_string_equal(cmd(fd, "vCont;s:1"), "T05thread:1;");
	assert_int_equal(read_rip(fd), CODE_GPA);

	/* A write watchpoint stops right after the inc. */
	assert_string_equal(cmd(fd, "Z2,200000,4"), "OK");
	assert_string_equal(cmd(fd, "vCont;c"), "T05thread:1;watch:200000;");
	assert_int_equal(read_rip(fd), CODE_GPA + 6);
	assert_string_equal(cmd(fd, "z2,200000,4"), "OK");

	/* Four debug registers, four watchpoints: the fifth of each is refused with ENOSPC. */
	const char *z1[] = { "Z1,100000,1", "Z1,100001,1", "Z1,100002,1", "Z1,100003,1" };
	for (int i = 0; i < 4; i++)
		assert_string_equal(cmd(fd, z1[i]), "OK");
	assert_string_equal(cmd(fd, "Z1,100004,1"), "E28");
	for (int i = 0; i < 4; i++) {
		char z[16];
		snprintf(z, sizeof(z), "z%s", z1[i] + 1);
		assert_string_equal(cmd(fd, z), "OK");
	}
	const char *z2[] = { "Z2,200010,4", "Z2,200020,4", "Z2,200030,4", "Z2,200040,4" };
	for (int i = 0; i < 4; i++)
		assert_string_equal(cmd(fd, z2[i]), "OK");
	assert_string_equal(cmd(fd, "Z2,200050,4"), "E28");
	for (int i = 0; i < 4; i++) {
		char z[16];
		snprintf(z, sizeof(z), "z%s", z2[i] + 1);
		assert_string_equal(cmd(fd, z), "OK");
	}

	/* Ctrl-C. */
	send_pkt(fd, "vCont;c");
	usleep(100 * 1000);
	send_raw(fd, "\x03", 1);
	assert_string_equal(recv_pkt(fd), "T02thread:1;");

	/* Detach: the guest runs on; a new client finds it stopped again, then the VM ends. */
	assert_string_equal(cmd(fd, "D"), "OK");
	assert_null(recv_pkt(fd));
	close(fd);
	uint32_t before, after;
	gmem_read(vm_gmem(vm), DATA_GPA, &before, 4);
	usleep(100 * 1000);
	gmem_read(vm_gmem(vm), DATA_GPA, &after, 4);
	assert_true(after > before);

	fd = connect_to(gdbstub_port(stub));
	assert_string_equal(cmd(fd, "?"), "T05thread:1;");
	vm_request_end(vm, VM_END_POWEROFF, 0, "test");
	assert_string_equal(recv_pkt(fd), "W01");
	assert_null(recv_pkt(fd));
	close(fd);
	assert_int_equal(vm_wait(vm), VM_END_POWEROFF);
	gdbstub_destroy(stub);
	vm_destroy(vm);
}

/* A stub on a VM that never starts, and one whose port is taken. */
static void test_create_and_destroy(void **state)
{
	(void)state;
	require_kvm();
	struct vm *vm = make_vm();
	struct errmsg e = { "" };
	struct gdbstub_config cfg = { .bind_addr = NULL, .port = 0 };
	struct gdbstub *stub = gdbstub_create(vm, &cfg, &e);
	assert_non_null(stub);
	cfg.port = gdbstub_port(stub);
	struct gdbstub *again = gdbstub_create(vm, &cfg, &e);
	assert_null(again);
	assert_non_null(strstr(e.text, "cannot listen"));
	gdbstub_destroy(stub);

	cfg = (struct gdbstub_config){ .bind_addr = "no.such.host.invalid", .port = 0 };
	assert_null(gdbstub_create(vm, &cfg, &e));
	assert_non_null(strstr(e.text, "no.such.host.invalid"));
	vm_destroy(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_create_and_destroy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
