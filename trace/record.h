/* One VM exit as the trace rings and trace files store it: 48 bytes, fixed layout, host
 * (little-endian) byte order. The same fields as struct vm_exit plus time and vCPU. */
#ifndef DHYVE_TRACE_RECORD_H
#define DHYVE_TRACE_RECORD_H

#include <stdint.h>

#include "vmm/exit.h"

struct trace_record {
	uint64_t time_ns;   /* CLOCK_MONOTONIC when KVM_RUN returned */
	uint64_t rip;
	uint64_t addr;      /* port, guest-physical address or MSR index */
	uint64_t value;     /* value written or read (first element of a rep I/O) */
	uint32_t handle_ns; /* time spent handling the exit in user space, saturated */
	uint32_t count;     /* elements of a rep string I/O, else 1 */
	uint8_t kind;       /* enum vmexit_kind (vmm/exit.h) */
	uint8_t size;       /* access size in bytes */
	uint8_t is_write;
	uint8_t cpl;
	uint8_t mode;       /* enum vcpu_mode (vmm/exit.h), for decoding the instruction at rip */
	uint8_t vcpu;
	uint16_t kvm_reason;/* raw KVM_EXIT_* */
};

_Static_assert(sizeof(struct trace_record) == 48, "trace_record is part of the file format");

#endif
