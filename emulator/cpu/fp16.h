/* fp16.h - the Zfhmin and Zfh instructions (binary16 in the f registers). */
#ifndef STRATA_EMULATOR_CPU_FP16_H
#define STRATA_EMULATOR_CPU_FP16_H

#include "emulator/cpu/cpu.h"

/* Executes the OP_FP instruction `in` (rm resolved) if it is a binary16 one: 0, -1 after a
 * memory trap, or -2 when it is not (or its extension is off: illegal-instruction). */
int rv_exec_fp16(struct rv_cpu *cpu, const struct rv_insn *in, int rm, uint32_t *ff);

#endif
