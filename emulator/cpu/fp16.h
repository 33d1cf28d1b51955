/* fp16.h - the Zfhmin instructions (flh, fsh, fmv.x.h, fmv.h.x, fcvt between h and s/d). */
#ifndef STRATA_EMULATOR_CPU_FP16_H
#define STRATA_EMULATOR_CPU_FP16_H

#include "emulator/cpu/cpu.h"

/* Executes the OP_FP instruction `in` (rm resolved) if it is a Zfhmin one: 0, -1 after a
 * memory trap, or -2 when it is not (the caller goes on with F/D). */
int rv_exec_fp16(struct rv_cpu *cpu, const struct rv_insn *in, int rm, uint32_t *ff);

#endif
