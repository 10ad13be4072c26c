/* Recording a run: the five doors of DESIGN.md wrapped so that every value they pass into the
 * guest is also written to the replay log, plus a fingerprint of every natural exit. */
#ifndef DHYVE_REPLAY_RECORDER_H
#define DHYVE_REPLAY_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "base/errmsg.h"
#include "base/gmem.h"
#include "base/irq.h"
#include "base/time_source.h"
#include "devmodel/pci.h"
#include "vmm/vm.h"

struct recorder;

/* Opens the log and writes the configuration text (dhyve -k syntax) as its first event. */
struct recorder *recorder_create(struct vm *vm, const char *log_path, const char *config_text, struct errmsg *e);

/* The doors, each wrapped around the live one: the machine builds its devices with these. */
struct vm_io_ops recorder_io_ops(struct recorder *r, const struct vm_io_ops *live);       /* door 1 */
const struct gmem_observer *recorder_gmem_observer(struct recorder *r);                  /* door 2 */
struct irq_sink recorder_irq_sink(struct recorder *r, struct irq_sink live);             /* door 3 */
struct msi_sink recorder_msi_sink(struct recorder *r, struct msi_sink live);             /* door 3 */
struct time_source recorder_time_source(struct recorder *r, const struct time_source *live); /* door 4 */
void recorder_input(void *recorder, unsigned source, const void *buf, size_t len);        /* door 5 */

/* Wraps the VM's exit handlers (after everything else installed theirs): each natural exit is
 * fingerprinted before it is handled; a kick that delivered something becomes an async point. */
int recorder_install(struct recorder *r, struct errmsg *e);
/* After a debugger wrapped the handlers: the recorder's own single steps stay its own. */
void recorder_install_debug(struct recorder *r);
/* Ends the run as a guest panic when the guest executes addr (linear, ring 0: an execute
 * breakpoint in DR3); label names it in messages. Before the VM starts. */
int recorder_set_panic_at(struct recorder *r, uint64_t addr, const char *label);
/* Something replay cannot reproduce, noted in the log and counted. */
void recorder_note(struct recorder *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct recorder_stats {
	uint64_t exits;       /* natural exits fingerprinted */
	uint64_t async_points;
	uint64_t ifsteps;     /* single steps until an interrupt raised under IF=0 could be taken */
	uint64_t switches;    /* SMP: turns handed from one vCPU to the next */
	uint64_t events;
	uint64_t bytes;       /* log bytes written so far */
};
void recorder_stats(struct recorder *r, struct recorder_stats *out);

/* Writes the end event, flushes and closes the log; the recorder is freed. */
int recorder_finish(struct recorder *r, enum vm_end how, uint32_t code, const char *why, struct errmsg *e);

#endif
