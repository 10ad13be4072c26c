/* Unit tests for the serial back-ends against real host objects: files, unix sockets, ptys,
 * stdio over pipes, the memory back-end, and the refusal of bad specs with messages. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
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

#include "devmodel/chardev.h"

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/dhyve-chardev-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Takes input until want bytes have arrived or 2 s have passed; returns how many. */
static size_t take_until(struct chardev *cd, uint8_t *buf, size_t want)
{
	size_t got = 0;
	double end = now_s() + 2.0;
	while (got < want && now_s() < end) {
		size_t n = chardev_take_input(cd, buf + got, want - got);
		got += n;
		if (!n)
			usleep(1000);
	}
	return got;
}

/* Reads from fd until want bytes have arrived or 2 s have passed. */
static size_t read_until(int fd, uint8_t *buf, size_t want)
{
	size_t got = 0;
	double end = now_s() + 2.0;
	while (got < want && now_s() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 50) <= 0)
			continue;
		ssize_t n = read(fd, buf + got, want - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

struct notify_count {
	pthread_mutex_t lock;
	unsigned n;
};

static void on_notify(void *ctx)
{
	struct notify_count *c = ctx;
	pthread_mutex_lock(&c->lock);
	c->n++;
	pthread_mutex_unlock(&c->lock);
}

static unsigned notify_seen(struct notify_count *c)
{
	pthread_mutex_lock(&c->lock);
	unsigned n = c->n;
	pthread_mutex_unlock(&c->lock);
	return n;
}

static void test_file_backend(void **state)
{
	(void)state;
	char path[128], spec[160];
	tmp_path(path, sizeof(path), "out.log");
	snprintf(spec, sizeof(spec), "file=%s", path);
	struct errmsg e = { "" };
	struct chardev *cd = chardev_open(spec, "com1", &e);
	assert_non_null(cd);
	assert_null(chardev_path(cd));
	chardev_write(cd, "abc", 3);
	chardev_write(cd, "def\n", 4);
	uint8_t in[4];
	assert_int_equal(chardev_take_input(cd, in, sizeof(in)), 0);
	assert_int_equal(chardev_pending(cd), 0);
	chardev_close(cd);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A second run appends. */
	cd = chardev_open(spec, "com1", &e);
	assert_non_null(cd);
	chardev_write(cd, "ghi", 3);
	assert_int_equal(chardev_dropped(cd), 0);
	chardev_close(cd);

	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 10);
	close(fd);
	assert_string_equal(buf, "abcdef\nghi");
}

static void test_null_backend(void **state)
{
	(void)state;
	struct errmsg e = { "" };
	struct chardev *cd = chardev_open("null", "com2", &e);
	assert_non_null(cd);
	chardev_write(cd, "ignored", 7);
	uint8_t b;
	assert_int_equal(chardev_take_input(cd, &b, 1), 0);
	assert_null(chardev_path(cd));
	chardev_close(cd);
	chardev_close(NULL); /* harmless */
}

static void test_memory_backend(void **state)
{
	(void)state;
	struct chardev *cd = chardev_open_memory();
	assert_non_null(cd);
	struct notify_count nc = { PTHREAD_MUTEX_INITIALIZER, 0 };
	chardev_set_notify(cd, on_notify, &nc);
	size_t len;
	assert_null(chardev_memory_output(cd, &len));
	assert_int_equal(len, 0);
	chardev_write(cd, "out", 3);
	chardev_write(cd, "put", 3);
	const uint8_t *out = chardev_memory_output(cd, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(out, "output", 6);
	chardev_memory_clear(cd);
	chardev_memory_output(cd, &len);
	assert_int_equal(len, 0);

	assert_int_equal(chardev_inject_input(cd, "in", 2), 2);
	assert_int_equal(notify_seen(&nc), 1);
	assert_int_equal(chardev_pending(cd), 2);
	uint8_t buf[8];
	assert_int_equal(chardev_take_input(cd, buf, 1), 1);
	assert_int_equal(buf[0], 'i');
	assert_int_equal(chardev_take_input(cd, buf, 8), 1);
	assert_int_equal(buf[0], 'n');

	/* The queue holds 4 KiB; injecting more queues what fits and says so. */
	static uint8_t big[5000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	assert_int_equal(chardev_inject_input(cd, big, sizeof(big)), 4096);
	assert_int_equal(chardev_inject_input(cd, big, 1), 0);
	static uint8_t back[4096];
	assert_int_equal(chardev_take_input(cd, back, sizeof(back)), 4096);
	assert_memory_equal(back, big, 4096);
	/* Wrapped around the ring correctly. */
	assert_int_equal(chardev_inject_input(cd, big + 4096, 904), 904);
	assert_int_equal(chardev_take_input(cd, back, sizeof(back)), 904);
	assert_memory_equal(back, big + 4096, 904);
	chardev_close(cd);
}

static int connect_to(const char *path)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (s >= 0 && connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static void test_unix_backend(void **state)
{
	(void)state;
	char path[128], spec[160];
	tmp_path(path, sizeof(path), "com1.sock");
	snprintf(spec, sizeof(spec), "unix=%s", path);
	struct errmsg e = { "" };
	struct chardev *cd = chardev_open(spec, "com1", &e);
	assert_non_null(cd);
	struct notify_count nc = { PTHREAD_MUTEX_INITIALIZER, 0 };
	chardev_set_notify(cd, on_notify, &nc);
	assert_string_equal(chardev_path(cd), path);

	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);

	/* No client: output is dropped and counted, never blocks. */
	chardev_write(cd, "lost", 4);
	assert_int_equal(chardev_dropped(cd), 4);

	int c = connect_to(path);
	assert_true(c >= 0);
	assert_int_equal(write(c, "hello", 5), 5);
	uint8_t buf[64] = { 0 };
	assert_int_equal(take_until(cd, buf, 5), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_true(notify_seen(&nc) >= 1);

	/* The input arrived, so the client is accepted: guest output reaches it. */
	chardev_write(cd, "world", 5);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read_until(c, buf, 5), 5);
	assert_memory_equal(buf, "world", 5);
	close(c);

	/* The next client is served once the first has gone. */
	c = connect_to(path);
	assert_true(c >= 0);
	assert_int_equal(write(c, "again", 5), 5);
	assert_int_equal(take_until(cd, buf, 5), 5);
	assert_memory_equal(buf, "again", 5);
	chardev_write(cd, "ok", 2);
	assert_int_equal(read_until(c, buf, 2), 2);
	assert_memory_equal(buf, "ok", 2);

	double t0 = now_s();
	chardev_close(cd); /* with a client connected and the reader in poll() */
	assert_true(now_s() - t0 < 1.0);
	/* The client sees EOF, and the socket file is gone. */
	assert_int_equal(read_until(c, buf, 1), 0);
	close(c);
	assert_int_equal(lstat(path, &st), -1);
}

/* More input than the 4 KiB queue holds: the reader waits instead of dropping. */
static void test_unix_input_backpressure(void **state)
{
	(void)state;
	char path[128], spec[160];
	tmp_path(path, sizeof(path), "bp.sock");
	snprintf(spec, sizeof(spec), "unix=%s", path);
	struct errmsg e = { "" };
	struct chardev *cd = chardev_open(spec, "com1", &e);
	assert_non_null(cd);
	int c = connect_to(path);
	assert_true(c >= 0);
	enum { N = 20000 };
	static uint8_t data[N], got[N];
	for (size_t i = 0; i < N; i++)
		data[i] = (uint8_t)(i * 31 + i / 256);
	assert_int_equal(write(c, data, N), N);

	double end = now_s() + 2.0;
	while (chardev_pending(cd) < 4096 && now_s() < end)
		usleep(1000);
	usleep(20000);
	assert_int_equal(chardev_pending(cd), 4096); /* full, and not more */
	assert_int_equal(take_until(cd, got, N), N);
	assert_memory_equal(got, data, N);
	close(c);

	/* Close while the reader is parked on a full queue must still be prompt. */
	c = connect_to(path);
	assert_true(c >= 0);
	assert_int_equal(write(c, data, 8192), 8192);
	end = now_s() + 2.0;
	while (chardev_pending(cd) < 4096 && now_s() < end)
		usleep(1000);
	double t0 = now_s();
	chardev_close(cd);
	assert_true(now_s() - t0 < 1.0);
	close(c);
}

static void test_unix_stale_socket_replaced(void **state)
{
	(void)state;
	char path[128], spec[160];
	tmp_path(path, sizeof(path), "stale.sock");
	snprintf(spec, sizeof(spec), "unix=%s", path);
	/* Leave a socket file behind, as a crashed run would. */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);

	struct errmsg e = { "" };
	struct chardev *cd = chardev_open(spec, "com1", &e);
	assert_non_null(cd);
	int c = connect_to(path);
	assert_true(c >= 0);
	close(c);

	/* A socket somebody listens on is not stale: a second VM must not take it over. */
	struct errmsg e2 = { "" };
	errno = 0;
	assert_null(chardev_open(spec, "com2", &e2));
	assert_int_equal(errno, EADDRINUSE);
	assert_non_null(strstr(e2.text, "listening"));
	c = connect_to(path); /* the first one still serves */
	assert_true(c >= 0);
	assert_int_equal(write(c, "k", 1), 1);
	uint8_t b;
	assert_int_equal(take_until(cd, &b, 1), 1);
	assert_int_equal(b, 'k');

	/* Even with its backlog full (connect() would wait), the check answers at once. */
	int waiting[4];
	struct sockaddr_un sa2 = { .sun_family = AF_UNIX };
	memcpy(sa2.sun_path, path, strlen(path) + 1);
	for (int i = 0; i < 4; i++) {
		waiting[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		(void)!connect(waiting[i], (struct sockaddr *)&sa2, sizeof(sa2));
	}
	double t0 = now_s();
	errno = 0;
	assert_null(chardev_open(spec, "com2", &e2));
	assert_true(now_s() - t0 < 1.0);
	assert_int_equal(errno, EADDRINUSE);
	for (int i = 0; i < 4; i++)
		close(waiting[i]);
	close(c);
	chardev_close(cd);
}

static void test_unix_refuses_regular_file(void **state)
{
	(void)state;
	char path[128], spec[160];
	tmp_path(path, sizeof(path), "precious.txt");
	snprintf(spec, sizeof(spec), "unix=%s", path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);

	struct errmsg e = { "" };
	errno = 0;
	assert_null(chardev_open(spec, "com1", &e));
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(e.text, "not a socket"));
	assert_non_null(strstr(e.text, path));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
}

static void test_pty_backend(void **state)
{
	(void)state;
	/* Capture stderr to check the line that tells the user where to attach. */
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	dup2(pipefd[1], STDERR_FILENO);
	struct errmsg e = { "" };
	struct chardev *cd = chardev_open("pty", "com1", &e);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(pipefd[1]);
	assert_non_null(cd);
	char msg[256] = { 0 };
	assert_true(read(pipefd[0], msg, sizeof(msg) - 1) > 0);
	close(pipefd[0]);
	const char *path = chardev_path(cd);
	assert_non_null(path);
	assert_true(strncmp(path, "/dev/pts/", 9) == 0);
	char want[256];
	snprintf(want, sizeof(want), "dhyve: com1: %s\n", path);
	assert_string_equal(msg, want);

	int fd = open(path, O_RDWR | O_NOCTTY);
	assert_true(fd >= 0);
	/* Raw mode: bytes pass unchanged (no CR/NL mapping, no echo back into our input). */
	assert_int_equal(write(fd, "ping\r\n", 6), 6);
	uint8_t buf[64] = { 0 };
	assert_int_equal(take_until(cd, buf, 6), 6);
	assert_memory_equal(buf, "ping\r\n", 6);

	chardev_write(cd, "pong\n", 5);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read_until(fd, buf, 5), 5);
	assert_memory_equal(buf, "pong\n", 5);
	usleep(20000);
	assert_int_equal(chardev_pending(cd), 0); /* nothing echoed */

	/* The user may detach and come back. */
	close(fd);
	fd = open(path, O_RDWR | O_NOCTTY);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(take_until(cd, buf, 1), 1);
	assert_int_equal(buf[0], 'x');
	close(fd);

	/* Nobody reading: output must not block the caller, whatever the amount. */
	static uint8_t lots[1 << 20];
	memset(lots, 'z', sizeof(lots));
	double t0 = now_s();
	chardev_write(cd, lots, sizeof(lots));
	assert_true(now_s() - t0 < 1.0);
	assert_true(chardev_dropped(cd) > 0);
	chardev_close(cd);
}

static void test_stdio_backend(void **state)
{
	(void)state;
	int in[2], out[2];
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	fflush(stdout);
	int saved_in = dup(STDIN_FILENO), saved_out = dup(STDOUT_FILENO);
	dup2(in[0], STDIN_FILENO);
	dup2(out[1], STDOUT_FILENO);
	close(in[0]);
	close(out[1]);

	struct errmsg e = { "" };
	struct chardev *cd = chardev_open("stdio", "com1", &e);
	struct errmsg e2 = { "" };
	struct chardev *second = chardev_open("stdio", "com2", &e2);
	int second_errno = errno;
	uint8_t buf[16] = { 0 };
	size_t took = 0;
	if (cd) {
		chardev_write(cd, "to-stdout", 9);
		(void)!write(in[1], "kbd", 3);
		took = take_until(cd, buf, 3);
		close(in[1]); /* EOF on stdin: the reader just ends */
		usleep(20000);
		chardev_close(cd);
	} else {
		close(in[1]);
	}
	chardev_restore_terminal(); /* not a tty: a harmless no-op */
	dup2(saved_in, STDIN_FILENO);
	dup2(saved_out, STDOUT_FILENO);
	close(saved_in);
	close(saved_out);

	assert_non_null(cd);
	assert_null(second);
	assert_int_equal(second_errno, EBUSY);
	assert_non_null(strstr(e2.text, "com2"));
	assert_int_equal(took, 3);
	assert_memory_equal(buf, "kbd", 3);
	char got[16] = { 0 };
	assert_int_equal(read_until(out[0], (uint8_t *)got, 9), 9);
	assert_string_equal(got, "to-stdout");
	close(out[0]);

	/* Closed, stdio can be opened again; stdin at EOF (/dev/null) ends its reader at once. */
	int devnull = open("/dev/null", O_RDONLY);
	saved_in = dup(STDIN_FILENO);
	dup2(devnull, STDIN_FILENO);
	close(devnull);
	cd = chardev_open("stdio", "com1", &e);
	if (cd)
		chardev_close(cd);
	dup2(saved_in, STDIN_FILENO);
	close(saved_in);
	assert_non_null(cd);
}

static void test_bad_specs(void **state)
{
	(void)state;
	struct errmsg e = { "" };

	errno = 0;
	assert_null(chardev_open("bogus", "com1", &e));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(e.text, "bogus"));
	assert_non_null(strstr(e.text, "com1"));

	e.text[0] = 0;
	assert_null(chardev_open("file=", "com1", &e));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(e.text, "file="));

	e.text[0] = 0;
	assert_null(chardev_open("unix=", "com1", &e));
	assert_non_null(strstr(e.text, "unix="));

	e.text[0] = 0;
	assert_null(chardev_open("unix=/nonexistent-dir/x", "com1", &e));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(e.text, "/nonexistent-dir/x"));

	e.text[0] = 0;
	assert_null(chardev_open("file=/nonexistent-dir/x", "com1", &e));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(e.text, "/nonexistent-dir/x"));

	char longspec[300];
	memset(longspec, 'a', sizeof(longspec));
	memcpy(longspec, "unix=/tmp/", 10);
	longspec[sizeof(longspec) - 1] = 0;
	e.text[0] = 0;
	assert_null(chardev_open(longspec, "com1", &e));
	assert_int_equal(errno, ENAMETOOLONG);
	assert_true(e.text[0] != 0);

	e.text[0] = 0;
	assert_null(chardev_open("", "com1", &e));
	assert_true(e.text[0] != 0);
	assert_null(chardev_open(NULL, "com1", &e));
	assert_null(chardev_open("stdio2", "com1", &e));
	assert_null(chardev_open("FILE=/tmp/x", "com1", &e));
	/* A NULL errmsg is allowed. */
	assert_null(chardev_open("bogus", "com1", NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_backend),
		cmocka_unit_test(test_null_backend),
		cmocka_unit_test(test_memory_backend),
		cmocka_unit_test(test_unix_backend),
		cmocka_unit_test(test_unix_input_backpressure),
		cmocka_unit_test(test_unix_stale_socket_replaced),
		cmocka_unit_test(test_unix_refuses_regular_file),
		cmocka_unit_test(test_pty_backend),
		cmocka_unit_test(test_stdio_backend),
		cmocka_unit_test(test_bad_specs),
	};
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
