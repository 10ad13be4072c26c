/* The gdb commands: one function per packet kind, each parsing what it needs and answering
 * through stub_send_*. Called only while the VM is stopped (all-stop), on the stub thread. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gdbstub/stub_impl.h"

#define MEM_MAX ((GDB_PACKET_MAX - 1) / 2) /* bytes one m/M packet may carry as hex */

void session_reset(struct gdbstub *s)
{
	gdb_decoder_init(&s->dec);
	s->noack = false;
	s->g_thread = s->c_thread = 0;
	s->tx_len = 0;
}

/* ---- small helpers ------------------------------------------------------------------------- */

/* "E" and two decimal digits: the errno (E14 = EFAULT, E28 = ENOSPC), as gdbserver writes them. */
static void reply_error(struct gdbstub *s, int err)
{
	char buf[8];
	snprintf(buf, sizeof(buf), "E%02d", err > 0 && err < 100 ? err : 1);
	stub_send_str(s, buf);
}

static void reply_ok(struct gdbstub *s)
{
	stub_send_str(s, "OK");
}

static void reply_empty(struct gdbstub *s)
{
	stub_send_packet(s, "", 0);
}

/* A thread id: "-1" (all), "0" (any), hex, or the multiprocess "p<pid>.<tid>". */
static int parse_tid(const char **p, long *tid)
{
	const char *q = *p;
	if (*q == 'p') {
		uint64_t pid;
		q++;
		if (q[0] == '-' && q[1] == '1')
			q += 2;
		else if (gdb_parse_hex(&q, &pid) < 0)
			return -1;
		if (*q != '.') {
			*tid = -1;
			*p = q;
			return 0;
		}
		q++;
	}
	if (q[0] == '-' && q[1] == '1') {
		*tid = -1;
		q += 2;
	} else {
		uint64_t v;
		if (gdb_parse_hex(&q, &v) < 0)
			return -1;
		*tid = v > INT_MAX ? INT_MAX : (long)v;
	}
	*p = q;
	return 0;
}

/* The vCPU a register or memory command means: the Hg thread, else the one that stopped. */
static unsigned g_vcpu(const struct gdbstub *s)
{
	if (thread_valid(s, s->g_thread))
		return (unsigned)s->g_thread - 1;
	return s->stop.vcpu < s->ncpus ? s->stop.vcpu : 0;
}

static unsigned c_vcpu(const struct gdbstub *s)
{
	if (thread_valid(s, s->c_thread))
		return (unsigned)s->c_thread - 1;
	return s->stop.vcpu < s->ncpus ? s->stop.vcpu : 0;
}

/* "addr,len" in hex; *p is left after len. */
static int parse_addr_len(const char **p, uint64_t *addr, uint64_t *len)
{
	if (gdb_parse_hex(p, addr) < 0 || **p != ',')
		return -1;
	(*p)++;
	return gdb_parse_hex(p, len);
}

void session_format_stop(struct gdbstub *s, char *buf, size_t cap)
{
	const struct stop_event *ev = &s->stop;
	char extra[48] = "";
	switch (ev->why) {
	case STOP_SWBREAK: snprintf(extra, sizeof(extra), "swbreak:;"); break;
	case STOP_HWBREAK: snprintf(extra, sizeof(extra), "hwbreak:;"); break;
	case STOP_WATCH: snprintf(extra, sizeof(extra), "watch:%" PRIx64 ";", ev->addr); break;
	case STOP_RWATCH: snprintf(extra, sizeof(extra), "rwatch:%" PRIx64 ";", ev->addr); break;
	case STOP_AWATCH: snprintf(extra, sizeof(extra), "awatch:%" PRIx64 ";", ev->addr); break;
	case STOP_SIGNAL: break;
	}
	snprintf(buf, cap, "T%02xthread:%x;%s", ev->signal & 0xff, ev->vcpu + 1, extra);
}

static void reply_stop(struct gdbstub *s)
{
	char buf[128];
	session_format_stop(s, buf, sizeof(buf));
	stub_send_str(s, buf);
}

/* ---- queries ------------------------------------------------------------------------------- */

/* qXfer reads: "m" + a piece of data, or "l" + the last piece. */
static void reply_xfer(struct gdbstub *s, const char *data, size_t total, const char *args)
{
	uint64_t off, len;
	if (parse_addr_len(&args, &off, &len) < 0) {
		reply_error(s, 1);
		return;
	}
	if (off > total) {
		reply_error(s, 1);
		return;
	}
	size_t n = total - off;
	if (n > len)
		n = len;
	if (n > GDB_PACKET_MAX - 1)
		n = GDB_PACKET_MAX - 1;
	s->reply[0] = off + n < total ? 'm' : 'l';
	memcpy(s->reply + 1, data + off, n);
	stub_send_packet(s, s->reply, n + 1);
}

static void query_xfer(struct gdbstub *s, const char *q)
{
	/* qXfer:<object>:read:<annex>:<offset>,<length> */
	const char *p = q + strlen("qXfer:");
	if (strncmp(p, "features:read:", 14) == 0) {
		p += 14;
		const char *colon = strchr(p, ':');
		char annex[64];
		if (!colon || (size_t)(colon - p) >= sizeof(annex)) {
			reply_error(s, 1);
			return;
		}
		memcpy(annex, p, (size_t)(colon - p));
		annex[colon - p] = '\0';
		size_t len;
		const char *xml = gdb_target_xml(annex, &len);
		if (!xml) {
			reply_error(s, 1);
			return;
		}
		reply_xfer(s, xml, len, colon + 1);
	} else if (strncmp(p, "threads:read::", 14) == 0) {
		char xml[16384];
		size_t len = threads_xml(s, xml, sizeof(xml));
		reply_xfer(s, xml, len, p + 14);
	} else {
		reply_empty(s);
	}
}

static void query_rcmd(struct gdbstub *s, const char *hex)
{
	char cmd[1024];
	size_t hl = strlen(hex);
	long n = hl / 2 < sizeof(cmd) ? gdb_hex_decode(hex, hl, cmd, sizeof(cmd) - 1) : -1;
	if (n < 0) {
		reply_error(s, 1);
		return;
	}
	cmd[n] = '\0';
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	if (!out) {
		reply_error(s, ENOMEM);
		return;
	}
	monitor_run(s, cmd, out);
	fclose(out);
	/* Console output: "O" + hex, in pieces that fit a packet. */
	const size_t piece = (GDB_PACKET_MAX - 2) / 2;
	for (size_t off = 0; off < len; off += piece) {
		size_t k = len - off < piece ? len - off : piece;
		s->reply[0] = 'O';
		gdb_hex_encode(text + off, k, s->reply + 1);
		stub_send_packet(s, s->reply, 1 + 2 * k);
	}
	free(text);
	reply_ok(s);
}

static void handle_query(struct gdbstub *s, const char *q)
{
	char buf[512];
	if (strncmp(q, "qSupported", 10) == 0) {
		snprintf(buf, sizeof(buf),
			 "PacketSize=%x;qXfer:features:read+;qXfer:threads:read+;QStartNoAckMode+;vContSupported+;"
			 "swbreak+;hwbreak+", GDB_PACKET_MAX);
		stub_send_str(s, buf);
	} else if (strcmp(q, "qC") == 0) {
		snprintf(buf, sizeof(buf), "QC%x", g_vcpu(s) + 1);
		stub_send_str(s, buf);
	} else if (strcmp(q, "qAttached") == 0 || strncmp(q, "qAttached:", 10) == 0) {
		stub_send_str(s, "1"); /* attached to a running VM: gdb's quit detaches, never kills */
	} else if (strcmp(q, "qfThreadInfo") == 0) {
		size_t n = (size_t)snprintf(buf, sizeof(buf), "m");
		for (unsigned i = 0; i < s->ncpus && n < sizeof(buf); i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%x", i ? "," : "", i + 1);
		stub_send_str(s, buf);
	} else if (strcmp(q, "qsThreadInfo") == 0) {
		stub_send_str(s, "l");
	} else if (strncmp(q, "qThreadExtraInfo,", 17) == 0) {
		const char *p = q + 17;
		long tid;
		if (parse_tid(&p, &tid) < 0 || !thread_valid(s, tid)) {
			reply_error(s, 1);
			return;
		}
		char text[160];
		thread_extra_info(s, (unsigned)tid - 1, text, sizeof(text));
		gdb_hex_encode(text, strlen(text), buf);
		stub_send_str(s, buf);
	} else if (strncmp(q, "qXfer:", 6) == 0) {
		query_xfer(s, q);
	} else if (strncmp(q, "qRcmd,", 6) == 0) {
		query_rcmd(s, q + 6);
	} else if (strncmp(q, "qSymbol:", 8) == 0) {
		reply_ok(s); /* no symbols wanted */
	} else {
		reply_empty(s); /* qOffsets, qTStatus, ...: not supported */
	}
}

/* ---- threads ------------------------------------------------------------------------------- */

static void handle_set_thread(struct gdbstub *s, const char *p)
{
	char op = *p++;
	long tid;
	if ((op != 'g' && op != 'c') || parse_tid(&p, &tid) < 0 || *p ||
	    (tid != -1 && tid != 0 && !thread_valid(s, tid))) {
		reply_error(s, 1);
		return;
	}
	if (op == 'g')
		s->g_thread = (int)tid;
	else
		s->c_thread = (int)tid;
	reply_ok(s);
}

static void handle_thread_alive(struct gdbstub *s, const char *p)
{
	long tid;
	if (parse_tid(&p, &tid) < 0 || !thread_valid(s, tid))
		reply_error(s, 1);
	else
		reply_ok(s);
}

/* ---- registers ----------------------------------------------------------------------------- */

static void handle_read_regs(struct gdbstub *s)
{
	struct gdb_cpu_state *st = runctl_cpu_state(s, g_vcpu(s));
	long n = st ? gdb_regs_encode_all(st, s->reply, GDB_PACKET_MAX + 1) : -1;
	if (n < 0)
		reply_error(s, 14);
	else
		stub_send_packet(s, s->reply, (size_t)n);
}

static void handle_write_regs(struct gdbstub *s, const char *hex, size_t len)
{
	unsigned i = g_vcpu(s), dirty = 0;
	struct gdb_cpu_state *st = runctl_cpu_state(s, i);
	if (!st || gdb_regs_decode_all(st, hex, len, &dirty) < 0) {
		s->vcpus[i].st_valid = false;
		reply_error(s, 1);
		return;
	}
	if (runctl_write_back(s, i, dirty) < 0)
		reply_error(s, 14);
	else
		reply_ok(s);
}

static void handle_read_reg(struct gdbstub *s, const char *p)
{
	uint64_t regno;
	struct gdb_cpu_state *st = runctl_cpu_state(s, g_vcpu(s));
	long n = -1;
	if (st && gdb_parse_hex(&p, &regno) == 0 && !*p && regno < UINT_MAX)
		n = gdb_reg_read(st, (unsigned)regno, s->reply, GDB_PACKET_MAX + 1);
	if (n < 0)
		reply_error(s, 1);
	else
		stub_send_packet(s, s->reply, (size_t)n);
}

static void handle_write_reg(struct gdbstub *s, const char *p)
{
	uint64_t regno;
	unsigned i = g_vcpu(s), dirty = 0;
	struct gdb_cpu_state *st = runctl_cpu_state(s, i);
	if (!st || gdb_parse_hex(&p, &regno) < 0 || *p != '=' || regno >= UINT_MAX ||
	    gdb_reg_write(st, (unsigned)regno, p + 1, strlen(p + 1), &dirty) < 0) {
		s->vcpus[i].st_valid = false;
		reply_error(s, 1);
		return;
	}
	if (runctl_write_back(s, i, dirty) < 0)
		reply_error(s, 14);
	else
		reply_ok(s);
}

/* ---- memory -------------------------------------------------------------------------------- */

static int g_paging(struct gdbstub *s, struct paging_regs *pr)
{
	return runctl_paging(s, g_vcpu(s), pr, NULL);
}

static void handle_read_mem(struct gdbstub *s, const char *p)
{
	uint64_t addr, len;
	struct paging_regs pr;
	if (parse_addr_len(&p, &addr, &len) < 0 || *p || g_paging(s, &pr) < 0) {
		reply_error(s, 1);
		return;
	}
	if (len > MEM_MAX)
		len = MEM_MAX; /* gdb accepts a short read and asks for the rest */
	uint8_t buf[MEM_MAX];
	size_t n = mem_read_virt(s, &pr, addr, buf, (size_t)len);
	if (n == 0 && len > 0) {
		reply_error(s, 14); /* EFAULT: nothing mapped there */
		return;
	}
	gdb_hex_encode(buf, n, s->reply);
	stub_send_packet(s, s->reply, 2 * n);
}

static void write_mem(struct gdbstub *s, uint64_t addr, const uint8_t *data, size_t len)
{
	struct paging_regs pr;
	if (g_paging(s, &pr) < 0) {
		reply_error(s, 1);
		return;
	}
	if (mem_write_virt(s, &pr, addr, data, len) != len)
		reply_error(s, 14);
	else
		reply_ok(s);
}

static void handle_write_mem_hex(struct gdbstub *s, const char *p)
{
	uint64_t addr, len;
	uint8_t buf[MEM_MAX];
	if (parse_addr_len(&p, &addr, &len) < 0 || *p != ':' || len > MEM_MAX ||
	    strlen(p + 1) != 2 * len || gdb_hex_decode(p + 1, 2 * len, buf, sizeof(buf)) != (long)len) {
		reply_error(s, 1);
		return;
	}
	write_mem(s, addr, buf, (size_t)len);
}

/* X: binary data, already unescaped by the decoder (so the body length, not strlen, counts). */
static void handle_write_mem_bin(struct gdbstub *s, const char *body, size_t blen)
{
	const char *p = body + 1;
	uint64_t addr, len;
	if (parse_addr_len(&p, &addr, &len) < 0 || *p != ':') {
		reply_error(s, 1);
		return;
	}
	size_t have = blen - (size_t)(p + 1 - body);
	if (have != len) {
		reply_error(s, 1);
		return;
	}
	if (len == 0) {
		reply_ok(s); /* gdb's probe for X support */
		return;
	}
	write_mem(s, addr, (const uint8_t *)p + 1, (size_t)len);
}

/* ---- breakpoints and watchpoints ----------------------------------------------------------- */

static void handle_point(struct gdbstub *s, const char *body)
{
	bool insert = body[0] == 'Z';
	const char *p = body + 1;
	uint64_t type, addr, kind;
	if (gdb_parse_hex(&p, &type) < 0 || *p++ != ',' || parse_addr_len(&p, &addr, &kind) < 0 ||
	    (*p && *p != ';')) {
		reply_error(s, 1);
		return;
	}
	struct paging_regs pr;
	if (g_paging(s, &pr) < 0) {
		reply_error(s, 1);
		return;
	}
	int rc;
	switch (type) {
	case 0: rc = insert ? bp_insert_sw(s, &pr, addr) : bp_remove_sw(s, addr); break;
	case 1: rc = insert ? bp_insert_hw(s, addr) : bp_remove_hw(s, addr); break;
	case 2:
	case 3:
	case 4: rc = insert ? watch_insert(s, &pr, (int)type, addr, kind) : watch_remove(s, (int)type, addr, kind); break;
	default: rc = -EOPNOTSUPP; break;
	}
	if (rc == -EOPNOTSUPP)
		reply_empty(s); /* gdb then knows this kind is not supported (and falls back) */
	else if (rc == -ENOENT || rc == 0)
		reply_ok(s);    /* removing what is not there is not worth an error */
	else
		reply_error(s, -rc);
}

/* ---- resuming ------------------------------------------------------------------------------ */

static void resume(struct gdbstub *s, const enum run_action *actions)
{
	if (!runctl_resume(s, actions))
		reply_stop(s);
	/* otherwise the stop reply comes when something stops the VM */
}

/* c/s/C/S [;addr]: an address means "resume there" on the resumed thread. */
static void handle_legacy_resume(struct gdbstub *s, const char *p)
{
	char op = *p++;
	uint64_t v;
	if (op == 'C' || op == 'S') {
		if (gdb_parse_hex(&p, &v) < 0) { /* the signal: a VM has no signals to deliver */
			reply_error(s, 1);
			return;
		}
		if (*p == ';')
			p++;
	}
	unsigned cur = c_vcpu(s);
	if (*p) {
		struct gdb_cpu_state *st = runctl_cpu_state(s, cur);
		if (gdb_parse_hex(&p, &v) < 0 || *p || !st) {
			reply_error(s, 1);
			return;
		}
		st->regs.rip = v;
		runctl_write_back(s, cur, GDB_DIRTY_REGS);
	}
	enum run_action actions[VM_MAX_VCPUS];
	bool step = op == 's' || op == 'S';
	for (unsigned i = 0; i < s->ncpus; i++)
		actions[i] = step ? (i == cur ? ACT_STEP : ACT_HOLD) : ACT_CONTINUE;
	resume(s, actions);
}

/* vCont;action[:tid]...: the leftmost action that names a thread applies to it; one without a
 * thread applies to all not named; threads with no action stay stopped. */
static void handle_vcont(struct gdbstub *s, const char *p)
{
	enum run_action actions[VM_MAX_VCPUS];
	bool set[VM_MAX_VCPUS] = { false };
	for (unsigned i = 0; i < s->ncpus; i++)
		actions[i] = ACT_HOLD;
	while (*p == ';') {
		p++;
		char op = *p++;
		uint64_t sig;
		if ((op == 'C' || op == 'S') && gdb_parse_hex(&p, &sig) < 0)
			goto bad;
		if (op != 'c' && op != 'C' && op != 's' && op != 'S')
			goto bad;
		enum run_action a = (op == 's' || op == 'S') ? ACT_STEP : ACT_CONTINUE;
		long tid = -1;
		if (*p == ':') {
			p++;
			if (parse_tid(&p, &tid) < 0)
				goto bad;
			if (tid != -1 && tid != 0 && !thread_valid(s, tid))
				goto bad;
		}
		for (unsigned i = 0; i < s->ncpus; i++) {
			if (set[i] || (tid > 0 && (unsigned)tid != i + 1))
				continue;
			actions[i] = a;
			set[i] = true;
		}
	}
	if (*p)
		goto bad;
	resume(s, actions);
	return;
bad:
	reply_error(s, 1);
}

static void handle_v(struct gdbstub *s, const char *body)
{
	if (strcmp(body, "vCont?") == 0) {
		stub_send_str(s, "vCont;c;C;s;S");
	} else if (strncmp(body, "vCont;", 6) == 0) {
		handle_vcont(s, body + 5);
	} else if (strncmp(body, "vKill", 5) == 0) {
		reply_ok(s);
		vm_request_end(s->vm, VM_END_POWEROFF, 0, "killed by gdb");
		stub_close_client(s);
	} else {
		reply_empty(s); /* vMustReplyEmpty, vFile, vRun...: not supported */
	}
}

/* ---- dispatch ------------------------------------------------------------------------------ */

void session_handle_packet(struct gdbstub *s, char *body, size_t len)
{
	switch (body[0]) {
	case '?': reply_stop(s); break;
	case 'q': handle_query(s, body); break;
	case 'Q':
		if (strcmp(body, "QStartNoAckMode") == 0) {
			reply_ok(s); /* acknowledged by gdb in ack mode; silence from here on */
			s->noack = true;
		} else {
			reply_empty(s);
		}
		break;
	case 'H': handle_set_thread(s, body + 1); break;
	case 'T': handle_thread_alive(s, body + 1); break;
	case 'g': handle_read_regs(s); break;
	case 'G': handle_write_regs(s, body + 1, len - 1); break;
	case 'p': handle_read_reg(s, body + 1); break;
	case 'P': handle_write_reg(s, body + 1); break;
	case 'm': handle_read_mem(s, body + 1); break;
	case 'M': handle_write_mem_hex(s, body + 1); break;
	case 'X': handle_write_mem_bin(s, body, len); break;
	case 'Z':
	case 'z': handle_point(s, body); break;
	case 'c':
	case 'C':
	case 's':
	case 'S': handle_legacy_resume(s, body); break;
	case 'v': handle_v(s, body); break;
	case 'D':
		runctl_release(s);
		reply_ok(s);
		stub_close_client(s);
		break;
	case 'k':
		/* No reply: gdb does not wait for one. The VM ends as if powered off (status 1). */
		vm_request_end(s->vm, VM_END_POWEROFF, 0, "killed by gdb");
		stub_close_client(s);
		break;
	default: reply_empty(s); break;
	}
}
