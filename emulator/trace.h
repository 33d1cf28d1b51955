/* trace.h - QEMU-style -d tracing to a log: in_asm (each executed pc once, with encoding and
 * disassembly), exec (every executed instruction), int (every trap: cause, epc, tval). */
#ifndef STRATA_EMULATOR_TRACE_H
#define STRATA_EMULATOR_TRACE_H

#include "emulator/cpu/cpu.h"

#include <stdbool.h>
#include <stdio.h>

struct vm_trace {
	FILE *log;
	bool in_asm, exec, intr;
	uint64_t *seen; /* in_asm: small hash set of pcs already printed */
	size_t seen_mask;
};

int vm_trace_open(struct vm_trace *t, struct rv_cpu *cpu, const char *flags, const char *file, char *err,
		  size_t errlen);
void vm_trace_close(struct vm_trace *t);

#endif
