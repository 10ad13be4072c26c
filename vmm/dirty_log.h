/* KVM's dirty-page log over the VM's RAM slots (KVM_MEM_LOG_DIRTY_PAGES, KVM_GET_DIRTY_LOG):
 * which pages the guest wrote since the last look, for a reset that copies back only those. */
#ifndef DHYVE_VMM_DIRTY_LOG_H
#define DHYVE_VMM_DIRTY_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errmsg.h"

struct vm;

/* Turns logging on or off on every RAM slot (slot i is vm_gmem(vm)->slot[i]). Turning it on
 * starts with every page clean. Only guest writes are logged: writes by dhyve itself (device
 * DMA, a debugger) are not, and whoever makes them must track them. */
int vm_dirty_log_enable(struct vm *vm, bool on, struct errmsg *e);
/* The pages of slot i written since the last call (one bit per 4 KiB page, bit p of word p/64),
 * and clears them. bitmap holds at least (slot size / 4096 + 63) / 64 words. 0 or -errno. */
int vm_dirty_log_fetch(struct vm *vm, unsigned slot, uint64_t *bitmap);

#endif
