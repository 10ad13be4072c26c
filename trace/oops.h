/* The report dhyve prints when a guest dies (triple fault, an instruction KVM cannot emulate,
 * a failed entry): like a kernel oops: reason, registers, the code around RIP decoded, the
 * stack, and the last exits from the trace ring when tracing is on. */
#ifndef DHYVE_TRACE_OOPS_H
#define DHYVE_TRACE_OOPS_H

#include <stdio.h>

struct vcpu;
struct tracer;

#define OOPS_LAST_EXITS 8

/* Call on the vCPU's own thread at the exit (or with the VM paused). tracer may be NULL. */
void oops_print(FILE *out, struct vcpu *vcpu, const char *reason, struct tracer *tracer);

#endif
