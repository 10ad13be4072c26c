/* Unit tests for the control socket (cli/control.c) and its runtime directory (cli/rundir.c):
 * socket and lock files and their modes, the one-VM-per-name lock, a request/reply round trip
 * between a client thread and control_serve_one, error replies, unreachable VMs, clean-up, a
 * silent client, and the refusal of a runtime directory others can read. Every test gets its
 * own fresh DHYVE_RUNDIR. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/control.h"
#include "cli/rundir.h"

struct fixture {
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/dhyve-test-ctl-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	setenv("DHYVE_RUNDIR", f->dir, 1);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "vm0", "vm1", "ghost", "stale", "long", "silent" };
	static const char *const suffixes[] = { ".sock", ".pid" };
	chmod(f->dir, 0700);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t j = 0; j < 2; j++) {
			char p[128];
			snprintf(p, sizeof(p), "%s/%s%s", f->dir, names[i], suffixes[j]);
			unlink(p);
		}
	rmdir(f->dir);
	unsetenv("DHYVE_RUNDIR");
	free(f);
	return 0;
}

static void path_of(const struct fixture *f, const char *name, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s", f->dir, name, suffix);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The server side's handler: remembers what it was asked and answers with a fixed reply. */
struct handler_ctx {
	char last_request[CONTROL_REQUEST_MAX + 8];
	unsigned calls;
	const char *reply;
};

static int handler(void *opaque, const char *request, FILE *out)
{
	struct handler_ctx *h = opaque;
	h->calls++;
	snprintf(h->last_request, sizeof(h->last_request), "%s", request);
	fputs(h->reply, out);
	return strncmp(h->reply, "error: ", 7) == 0 ? -EINVAL : 0;
}

/* A control_request made on its own thread. */
struct client {
	pthread_t thread;
	const char *name;
	const char *request;
	char *reply;
	size_t reply_len;
	int rc;
	struct errmsg e;
};

static void *client_main(void *arg)
{
	struct client *cl = arg;
	FILE *out = open_memstream(&cl->reply, &cl->reply_len);
	if (!out) {
		cl->rc = -ENOMEM;
		return NULL;
	}
	cl->rc = control_request(cl->name, cl->request, out, &cl->e);
	fclose(out);
	return NULL;
}

static void client_start(struct client *cl, const char *name, const char *request)
{
	memset(cl, 0, sizeof(*cl));
	cl->name = name;
	cl->request = request;
	assert_int_equal(pthread_create(&cl->thread, NULL, client_main, cl), 0);
}

/* Waits (bounded) for a pending client on the listening socket, then serves it. */
static void serve_one_waiting(struct control *c)
{
	struct pollfd p = { .fd = c->listen_fd, .events = POLLIN };
	int n = poll(&p, 1, 5000);
	if (n != 1)
		fail_msg("no client arrived on the control socket within 5 s (poll %d)", n);
	assert_true(p.revents & POLLIN);
	control_serve_one(c);
}

static void round_trip(struct control *c, const char *name, const char *request, struct client *cl)
{
	client_start(cl, name, request);
	serve_one_waiting(c);
	assert_int_equal(pthread_join(cl->thread, NULL), 0);
}

static void test_open_creates_socket_and_pid(void **state)
{
	struct fixture *f = *state;
	struct control c;
	struct errmsg e = { "" };
	struct handler_ctx h = { .reply = "ok\n" };
	mode_t old = umask(0); /* the modes must not depend on the caller's umask */
	int rc = control_open(&c, "vm0", handler, &h, &e);
	umask(old);
	if (rc != 0)
		fail_msg("control_open: %d %s", rc, e.text);
	assert_true(c.listen_fd >= 0);
	assert_true(c.lock_fd >= 0);

	char sock[96], pid[128];
	path_of(f, "vm0", ".sock", sock, sizeof(sock));
	path_of(f, "vm0", ".pid", pid, sizeof(pid));
	assert_string_equal(c.sock_path, sock);
	assert_string_equal(c.lock_path, pid);

	struct stat st;
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(stat(pid, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	char buf[64] = "", want[64];
	FILE *pf = fopen(pid, "r");
	assert_non_null(pf);
	size_t n = fread(buf, 1, sizeof(buf) - 1, pf);
	fclose(pf);
	buf[n] = '\0';
	snprintf(want, sizeof(want), "%d\n", (int)getpid());
	assert_string_equal(buf, want);

	/* The directory was accepted as it is (0700, ours). */
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	control_close(&c);
}

static void test_rundir_created_0700(void **state)
{
	struct fixture *f = *state;
	char sub[128], buf[256];
	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	setenv("DHYVE_RUNDIR", sub, 1);
	struct errmsg e = { "" };
	mode_t old = umask(0);
	int rc = rundir_path(buf, sizeof(buf), 1, &e);
	umask(old);
	if (rc != 0)
		fail_msg("rundir_path: %s", e.text);
	assert_string_equal(buf, sub);
	struct stat st;
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	/* Without create, only the path. */
	assert_int_equal(rundir_file(buf, sizeof(buf), "x", ".sock", 0, &e), 0);
	snprintf(sub + strlen(sub), sizeof(sub) - strlen(sub), "/x.sock");
	assert_string_equal(buf, sub);
	sub[strlen(sub) - strlen("/x.sock")] = '\0';
	rmdir(sub);
}

static void test_second_open_same_name_refused(void **state)
{
	struct fixture *f = *state;
	struct control a, b, other;
	struct errmsg e = { "" };
	struct handler_ctx h = { .reply = "ok\n" };
	assert_int_equal(control_open(&a, "vm0", handler, &h, &e), 0);

	int rc = control_open(&b, "vm0", handler, &h, &e);
	assert_int_equal(rc, -EEXIST);
	assert_non_null(strstr(e.text, "already running"));
	assert_non_null(strstr(e.text, "vm0"));
	char pid[32];
	snprintf(pid, sizeof(pid), "pid %d", (int)getpid());
	assert_non_null(strstr(e.text, pid));

	/* The refused open left the first VM's socket alone: it still answers. */
	char sock[96];
	struct stat st;
	path_of(f, "vm0", ".sock", sock, sizeof(sock));
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	struct client cl;
	h.reply = "still here\n";
	round_trip(&a, "vm0", "ping", &cl);
	assert_int_equal(cl.rc, 0);
	assert_string_equal(cl.reply, "still here\n");
	free(cl.reply);

	/* Another name is independent. */
	e.text[0] = '\0';
	rc = control_open(&other, "vm1", handler, &h, &e);
	if (rc != 0)
		fail_msg("control_open vm1: %d %s", rc, e.text);
	control_close(&other);
	control_close(&a);

	/* Once closed, the name is free again. */
	assert_int_equal(control_open(&b, "vm0", handler, &h, &e), 0);
	control_close(&b);
}

static void test_request_reply(void **state)
{
	(void)state;
	struct control c;
	struct errmsg e = { "" };
	struct handler_ctx h = { .reply = "pong\nsecond line\n" };
	assert_int_equal(control_open(&c, "vm0", handler, &h, &e), 0);

	struct client cl;
	round_trip(&c, "vm0", "ping with args", &cl);
	if (cl.rc != 0)
		fail_msg("control_request: %d %s", cl.rc, cl.e.text);
	assert_int_equal(h.calls, 1);
	assert_string_equal(h.last_request, "ping with args"); /* no newline */
	assert_int_equal(cl.reply_len, strlen("pong\nsecond line\n"));
	assert_string_equal(cl.reply, "pong\nsecond line\n");
	free(cl.reply);

	/* A second request on the same socket, and a long reply (several reads). */
	static char big[20000];
	for (size_t i = 0; i < sizeof(big) - 2; i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof(big) - 2] = '\n';
	h.reply = big;
	round_trip(&c, "vm0", "get-all", &cl);
	assert_int_equal(cl.rc, 0);
	assert_int_equal(h.calls, 2);
	assert_string_equal(h.last_request, "get-all");
	assert_int_equal(cl.reply_len, strlen(big));
	assert_memory_equal(cl.reply, big, strlen(big));
	free(cl.reply);

	/* The longest request the server takes in full: 254 characters and the newline. */
	char req[255];
	memset(req, 'r', 254);
	req[254] = '\0';
	h.reply = "ok\n";
	round_trip(&c, "vm0", req, &cl);
	assert_int_equal(cl.rc, 0);
	assert_string_equal(h.last_request, req);
	free(cl.reply);
	control_close(&c);
}

static void test_error_reply(void **state)
{
	(void)state;
	struct control c;
	struct errmsg e = { "" };
	struct handler_ctx h = { .reply = "error: no such command 'frob'\n" };
	assert_int_equal(control_open(&c, "vm0", handler, &h, &e), 0);
	struct client cl;
	round_trip(&c, "vm0", "frob", &cl);
	assert_int_equal(cl.rc, 1);
	assert_string_equal(cl.reply, "error: no such command 'frob'\n");
	assert_string_equal(h.last_request, "frob");
	free(cl.reply);

	/* "error" elsewhere than at the start is not an error reply. */
	h.reply = "no error: all fine\n";
	round_trip(&c, "vm0", "status", &cl);
	assert_int_equal(cl.rc, 0);
	free(cl.reply);
	control_close(&c);
}

static void test_request_without_vm(void **state)
{
	struct fixture *f = *state;
	struct errmsg e = { "" };
	char *reply = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&reply, &len);
	assert_non_null(out);
	int rc = control_request("ghost", "ping", out, &e);
	fclose(out);
	assert_true(rc < 0);
	assert_int_equal(rc, -ENOENT);
	assert_non_null(strstr(e.text, "no VM named 'ghost'"));
	assert_int_equal(len, 0);
	free(reply);

	/* A socket file nobody listens on (a VM that crashed) reads the same. */
	char sock[96];
	path_of(f, "stale", ".sock", sock, sizeof(sock));
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	reply = NULL;
	out = open_memstream(&reply, &len);
	e.text[0] = '\0';
	rc = control_request("stale", "ping", out, &e);
	fclose(out);
	assert_int_equal(rc, -ECONNREFUSED);
	assert_non_null(strstr(e.text, "no VM named 'stale'"));
	free(reply);
}

static void test_close_removes_files(void **state)
{
	struct fixture *f = *state;
	struct control c;
	struct errmsg e = { "" };
	struct handler_ctx h = { .reply = "ok\n" };
	assert_int_equal(control_open(&c, "vm0", handler, &h, &e), 0);
	char sock[96], pid[128];
	path_of(f, "vm0", ".sock", sock, sizeof(sock));
	path_of(f, "vm0", ".pid", pid, sizeof(pid));
	assert_int_equal(access(sock, F_OK), 0);
	assert_int_equal(access(pid, F_OK), 0);
	control_close(&c);
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(access(pid, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(c.listen_fd, -1);
	assert_int_equal(c.lock_fd, -1);
	control_close(&c); /* twice is harmless */

	/* Nobody answers any more. */
	FILE *out = fopen("/dev/null", "w");
	assert_non_null(out);
	assert_true(control_request("vm0", "ping", out, &e) < 0);
	assert_non_null(strstr(e.text, "no VM named"));
	fclose(out);
}

static void test_stale_socket_file_replaced(void **state)
{
	struct fixture *f = *state;
	char sock[96];
	path_of(f, "vm0", ".sock", sock, sizeof(sock));
	int fd = open(sock, O_CREAT | O_WRONLY, 0600); /* left over by a crash */
	assert_true(fd >= 0);
	close(fd);
	struct control c;
	struct errmsg e = { "" };
	struct handler_ctx h = { .reply = "fresh\n" };
	int rc = control_open(&c, "vm0", handler, &h, &e);
	if (rc != 0)
		fail_msg("control_open over a stale file: %s", e.text);
	struct stat st;
	assert_int_equal(stat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	struct client cl;
	round_trip(&c, "vm0", "x", &cl);
	assert_int_equal(cl.rc, 0);
	assert_string_equal(cl.reply, "fresh\n");
	free(cl.reply);
	control_close(&c);
}

/* A client that connects and never sends its line. */
struct silent_client {
	pthread_t thread;
	const char *path;
	int connected;
	char reply[256];
	ssize_t reply_len;
};

static void *silent_main(void *arg)
{
	struct silent_client *s = arg;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", s->path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		s->connected = 1;
		/* Wait (bounded) for whatever the server says before it hangs up. */
		struct pollfd p = { .fd = fd, .events = POLLIN };
		size_t got = 0;
		while (got < sizeof(s->reply) - 1 && poll(&p, 1, 10000) == 1) {
			ssize_t n = read(fd, s->reply + got, sizeof(s->reply) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		s->reply[got] = '\0';
		s->reply_len = (ssize_t)got;
	}
	close(fd);
	return NULL;
}

static void test_silent_client_does_not_block(void **state)
{
	struct fixture *f = *state;
	struct control c;
	struct errmsg e = { "" };
	struct handler_ctx h = { .reply = "ok\n" };
	assert_int_equal(control_open(&c, "silent", handler, &h, &e), 0);
	char sock[96];
	path_of(f, "silent", ".sock", sock, sizeof(sock));
	struct silent_client s = { .path = sock };
	assert_int_equal(pthread_create(&s.thread, NULL, silent_main, &s), 0);

	struct pollfd p = { .fd = c.listen_fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	double t0 = now_s();
	control_serve_one(&c);
	double dt = now_s() - t0;
	assert_int_equal(pthread_join(s.thread, NULL), 0);
	assert_true(s.connected);
	if (dt > 3.0)
		fail_msg("control_serve_one held the loop %.2f s for a silent client", dt);
	assert_int_equal(h.calls, 0); /* the handler never saw a request */
	assert_true(strncmp(s.reply, "error: ", 7) == 0);

	/* The server still works afterwards. */
	struct client cl;
	round_trip(&c, "silent", "after", &cl);
	assert_int_equal(cl.rc, 0);
	assert_string_equal(cl.reply, "ok\n");
	free(cl.reply);
	control_close(&c);
}

static void test_rundir_open_to_others_refused(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(chmod(f->dir, 0755), 0);
	struct control c;
	struct errmsg e = { "" };
	struct handler_ctx h = { .reply = "ok\n" };
	int rc = control_open(&c, "vm0", handler, &h, &e);
	assert_true(rc < 0);
	assert_int_equal(rc, -EPERM);
	assert_non_null(strstr(e.text, f->dir));
	assert_non_null(strstr(e.text, "0700"));
	/* Nothing was created in it. */
	char sock[96], pid[128];
	path_of(f, "vm0", ".sock", sock, sizeof(sock));
	path_of(f, "vm0", ".pid", pid, sizeof(pid));
	assert_int_equal(access(sock, F_OK), -1);
	assert_int_equal(access(pid, F_OK), -1);

	/* A path that is not a directory. */
	char file[128];
	snprintf(file, sizeof(file), "%s/plainfile", f->dir);
	assert_int_equal(chmod(f->dir, 0700), 0);
	int fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	setenv("DHYVE_RUNDIR", file, 1);
	e.text[0] = '\0';
	rc = control_open(&c, "vm0", handler, &h, &e);
	assert_int_equal(rc, -ENOTDIR);
	assert_non_null(strstr(e.text, "not a directory"));
	unlink(file);
}

/* A listener standing in for dhyve: it counts the bytes a client sends (until the client goes
 * quiet) and then answers "ok". */
struct byte_counter {
	pthread_t thread;
	int listen_fd;
	size_t got;
	bool only_request_bytes; /* every byte was 'q' or the final newline */
};

static void *counter_main(void *arg)
{
	struct byte_counter *bc = arg;
	struct pollfd p = { .fd = bc->listen_fd, .events = POLLIN };
	if (poll(&p, 1, 5000) != 1)
		return NULL;
	int fd = accept(bc->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	char buf[4096];
	bc->only_request_bytes = true;
	struct pollfd q = { .fd = fd, .events = POLLIN };
	while (poll(&q, 1, 500) == 1) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != 'q' && buf[i] != '\n')
				bc->only_request_bytes = false;
		bc->got += (size_t)n;
	}
	if (write(fd, "ok\n", 3) != 3) {
		/* the client is gone: the test will say so */
	}
	close(fd);
	return NULL;
}

/* control_request with a request longer than CONTROL_REQUEST_MAX must either refuse it or send
 * (a truncation of) the request: never more bytes than its line buffer holds. */
static void test_request_too_long_sends_only_the_request(void **state)
{
	struct fixture *f = *state;
	char sock[96];
	path_of(f, "long", ".sock", sock, sizeof(sock));
	struct byte_counter bc = { 0 };
	bc.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(bc.listen_fd >= 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	assert_int_equal(bind(bc.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(bc.listen_fd, 1), 0);
	assert_int_equal(pthread_create(&bc.thread, NULL, counter_main, &bc), 0);

	char request[CONTROL_REQUEST_MAX + 200];
	memset(request, 'q', sizeof(request) - 1);
	request[sizeof(request) - 1] = '\0';
	char *reply = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&reply, &len);
	assert_non_null(out);
	struct errmsg e = { "" };
	int rc = control_request("long", request, out, &e);
	fclose(out);
	free(reply);
	if (rc >= 0) {
		/* It was sent: the server saw the request's own bytes only. */
		assert_int_equal(pthread_join(bc.thread, NULL), 0);
		close(bc.listen_fd);
		if (bc.got > CONTROL_REQUEST_MAX + 1 || !bc.only_request_bytes)
			fail_msg("control_request sent %zu bytes for a %zu-character request (limit %d + newline)%s",
				 bc.got, strlen(request), CONTROL_REQUEST_MAX,
				 bc.only_request_bytes ? "" : ", some of them not from the request");
	} else {
		/* Refused locally: the server saw nothing; wake it. */
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			shutdown(fd, SHUT_WR);
		assert_int_equal(pthread_join(bc.thread, NULL), 0);
		if (fd >= 0)
			close(fd);
		close(bc.listen_fd);
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as dhyve does: a client that hangs up must not kill the server */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_socket_and_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rundir_created_0700, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_open_same_name_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_without_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_removes_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket_file_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_client_does_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rundir_open_to_others_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_too_long_sends_only_the_request, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
