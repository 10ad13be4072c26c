/* Internals shared by the stub's files: the stub object, each vCPU's run state under gdb,
 * breakpoints, watchpoints and the functions the files call in one another. Not a public API. */
#ifndef DHYVE_GDBSTUB_STUB_IMPL_H
#define DHYVE_GDBSTUB_STUB_IMPL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gdbstub/gdbstub.h"
#include "gdbstub/packet.h"
#include "gdbstub/regs.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define STUB_MAX_SW_BP 256
#define STUB_HW_SLOTS 4        /* DR0-DR3 */
#define STUB_MAX_WATCH 4
#define STUB_WATCH_MAX_LEN 256 /* bytes one watchpoint may cover when watched by stepping */
#define STUB_MAX_ACCESS 4      /* memory operands of one instruction we track */

#define GDB_SIGINT 2
#define GDB_SIGTRAP 5

/* What gdb asked a vCPU to do at the last resume. */
enum run_action {
	ACT_HOLD,     /* stay stopped (vcpu_hold) */
	ACT_CONTINUE, /* run freely (or by single steps while software watchpoints are set) */
	ACT_STEP,     /* one instruction, interrupts blocked, then stop */
};

enum stop_why {
	STOP_SIGNAL,  /* a step, an attach, Ctrl-C: only the signal */
	STOP_SWBREAK,
	STOP_HWBREAK,
	STOP_WATCH,   /* write watchpoint */
	STOP_RWATCH,
	STOP_AWATCH,
};

struct stop_event {
	unsigned vcpu;   /* index; the thread id is vcpu + 1 */
	int signal;
	enum stop_why why;
	uint64_t addr;   /* breakpoint: its address (== RIP); watchpoint: the watched address */
};

/* A software breakpoint: an int3 written into guest memory. Kept by guest-physical address so
 * that removing it restores the right byte even if the page tables changed meanwhile. */
struct sw_bp {
	bool used;
	bool lifted;     /* the original byte is back for a step over it */
	uint64_t gva, gpa;
	uint8_t orig;
};

enum hw_slot_type { HW_EXEC = 0, HW_WRITE = 1, HW_ACCESS = 3 }; /* DR7 R/W encodings */

struct hw_slot {
	bool used;
	uint8_t type;    /* enum hw_slot_type */
	uint8_t len;     /* 1, 2, 4 or 8 (1 for execute) */
	uint64_t addr;
};

/* A data watchpoint: by a debug register where this KVM honours data breakpoints (slot >= 0),
 * otherwise by single-stepping every running vCPU and checking after each instruction. */
struct watch {
	bool used;
	int type;        /* 2 write, 3 read, 4 access: the Z packet type */
	uint64_t gva;
	unsigned len;
	int slot;        /* DR slot, or -1 when watched by stepping */
	/* Where the bytes live, for the value comparison of write watchpoints (two pieces when the
	 * range crosses a page). */
	uint64_t gpa[2];
	unsigned piece[2];
	uint8_t old[STUB_WATCH_MAX_LEN];
	unsigned unclaimed;  /* looks at a changed value by vCPUs whose instruction did not write it */
};

/* One memory access of the instruction a vCPU is about to execute (software rwatch/awatch). */
struct mem_access {
	uint64_t addr;   /* linear */
	unsigned size;
	bool read, write;
};

struct stub_vcpu {
	struct vcpu *vcpu;
	unsigned index;
	/* Set by the stub thread while the VM is paused; read by the vCPU's own thread. */
	enum run_action action;
	bool watch_step;          /* continuing by single steps because of software watchpoints */
	uint32_t run_control;     /* guest-debug control to use once any step over is done */
	/* A step over a breakpoint this vCPU was reported stopped at: one instruction with that
	 * breakpoint lifted (others held), then the breakpoint goes back. */
	bool step_over;
	int step_over_sw;         /* index in stub->sw, or -1 */
	int step_over_hw;         /* DR slot disarmed for the step, or -1 */
	/* What KVM has now, so we skip the ~5 µs ioctl when nothing changes. */
	bool dbg_known;
	uint32_t dbg_control;
	uint64_t dbg_db[8];
	/* Memory accesses of the next instruction (decoded before each step for rwatch/awatch). */
	struct mem_access acc[STUB_MAX_ACCESS];
	unsigned nacc;
	/* Registers as gdb sees them while stopped, read on first use. */
	struct gdb_cpu_state st;
	bool st_valid;
};

struct gdbstub {
	struct vm *vm;
	unsigned ncpus;
	char bind_addr[64];
	struct tracer *tracer;
	int listen_fd, client_fd;
	int event_fd;             /* vCPU handlers and gdbstub_destroy wake the stub thread */
	uint16_t port;
	pthread_t thread;
	bool thread_started;
	bool quit;                /* under lock */
	bool vm_gone;             /* stub thread: the VM ended, W sent */

	pthread_mutex_t lock;     /* guards what vCPU handlers and the stub thread share */
	bool attached;            /* a gdb is connected (breakpoints only exist then) */
	bool running;             /* vCPUs run under gdb's control: their debug events stop the VM */
	bool stop_requested;      /* one vm_pause_request is outstanding for a stop */
	bool paused;              /* stub thread: that pause has completed, the VM is stopped */
	struct stop_event stop;   /* what the current (or coming) stop reports */

	/* Handlers we wrapped. */
	vmexit_handler_fn prev_debug, prev_emul;
	void *prev_debug_opaque, *prev_emul_opaque;

	struct sw_bp sw[STUB_MAX_SW_BP];
	struct hw_slot hw[STUB_HW_SLOTS];
	struct watch watches[STUB_MAX_WATCH];
	bool dr_watch_works;      /* the start-up probe saw a DR data breakpoint fire */
	bool step_watch_active;   /* some watchpoint is watched by stepping */
	bool access_watch_active; /* ... and it is a read or access one */

	/* Session (stub thread only). */
	struct gdb_decoder dec;
	bool noack;
	int g_thread, c_thread;   /* gdb thread ids: > 0 a vCPU, 0 any, -1 all */
	char *tx;                 /* framed packet, kept for a resend on '-' */
	size_t tx_len;
	char *reply;              /* reply body being built */

	struct stub_vcpu vcpus[VM_MAX_VCPUS];
};

/* server.c */
void stub_send_packet(struct gdbstub *s, const char *body, size_t len);
void stub_send_str(struct gdbstub *s, const char *body);
void stub_close_client(struct gdbstub *s);

/* session.c */
void session_reset(struct gdbstub *s);
void session_handle_packet(struct gdbstub *s, char *body, size_t len);
/* Formats the stop reply for s->stop into buf. */
void session_format_stop(struct gdbstub *s, char *buf, size_t cap);

/* runctl.c: stopping and resuming with vmm/, and the exit handlers. */
int runctl_install(struct gdbstub *s);
void runctl_uninstall(struct gdbstub *s);
/* Stops every vCPU (stub thread) because of why/signal on vcpu; returns when all are parked. */
void runctl_stop_all(struct gdbstub *s, int signal, unsigned vcpu);
/* The stub thread saw the event fd: completes a stop a vCPU asked for. True when a stop is now
 * complete and s->stop says why. */
bool runctl_collect_stop(struct gdbstub *s);
/* Resumes with per-vCPU actions (actions[i] for vCPU i). False when nothing can run (only a
 * never-started AP asked to step): the VM stays stopped and s->stop is the reply to send. */
bool runctl_resume(struct gdbstub *s, const enum run_action *actions);
/* Drops every breakpoint and watchpoint, clears guest debug, lets the VM run free. The VM must
 * be stopped. */
void runctl_release(struct gdbstub *s);
/* Registers of vCPU i while stopped (cached until the next resume). */
struct gdb_cpu_state *runctl_cpu_state(struct gdbstub *s, unsigned i);
int runctl_write_back(struct gdbstub *s, unsigned i, unsigned dirty);
/* Paging registers and mode of vCPU i (stopped). */
int runctl_paging(struct gdbstub *s, unsigned i, struct paging_regs *pr, enum vcpu_mode *mode);

/* breakpoints.c */
int bp_insert_sw(struct gdbstub *s, const struct paging_regs *pr, uint64_t gva);
int bp_remove_sw(struct gdbstub *s, uint64_t gva);
int bp_find_sw_gpa(const struct gdbstub *s, uint64_t gpa);
int bp_find_sw_gva(const struct gdbstub *s, uint64_t gva);
void bp_lift_sw(struct gdbstub *s, int idx);
void bp_plant_sw(struct gdbstub *s, int idx);
void bp_lift_all(struct gdbstub *s);   /* for a monitor disas: original bytes back */
void bp_plant_all(struct gdbstub *s);
bool bp_any_sw(const struct gdbstub *s);
int bp_insert_hw(struct gdbstub *s, uint64_t addr);
int bp_remove_hw(struct gdbstub *s, uint64_t addr);
int bp_find_hw_exec(const struct gdbstub *s, uint64_t addr);
bool bp_any_hw(const struct gdbstub *s);
void bp_remove_all(struct gdbstub *s);
/* DR0-3 and DR7 for the slots in use, without the slots in skip_mask. */
uint64_t bp_dr7(const struct gdbstub *s, unsigned skip_mask);
/* Guest-virtual memory through pr, with planted breakpoints showing their original bytes.
 * Returns the bytes read (a prefix when memory ends), or 0. */
size_t mem_read_virt(struct gdbstub *s, const struct paging_regs *pr, uint64_t gva, uint8_t *buf, size_t len);
size_t mem_write_virt(struct gdbstub *s, const struct paging_regs *pr, uint64_t gva, const uint8_t *buf, size_t len);

/* watchpoints.c */
int watch_insert(struct gdbstub *s, const struct paging_regs *pr, int type, uint64_t gva, uint64_t len);
int watch_remove(struct gdbstub *s, int type, uint64_t gva, uint64_t len);
void watch_remove_all(struct gdbstub *s);
/* Takes a fresh copy of the watched values (at resume). */
void watch_snapshot(struct gdbstub *s);
/* After one single step of v: a software watchpoint that fired, as a stop event. */
bool watch_check_step(struct gdbstub *s, struct stub_vcpu *v, struct stop_event *ev);
/* Decodes the memory accesses of the instruction at v's RIP into v->acc. */
void watch_decode_next(struct gdbstub *s, struct stub_vcpu *v);
/* A DR data watchpoint (slot) fired on v. */
bool watch_from_dr6(struct gdbstub *s, uint64_t dr6, struct stop_event *ev);

/* dr_probe.c: whether this KVM raises debug exits for DR7 data breakpoints (cached). */
bool dr_probe_data_watch(void);

/* monitor.c: "monitor ..." text; the output goes to out. */
void monitor_run(struct gdbstub *s, const char *cmd, FILE *out);

/* threads.c */
bool thread_valid(const struct gdbstub *s, long tid);
size_t threads_xml(struct gdbstub *s, char *buf, size_t cap);
void thread_extra_info(struct gdbstub *s, unsigned i, char *buf, size_t cap);

#endif
