/* disasm.h - a compact RV64GC disassembler for -d in_asm/exec traces. */
#ifndef STRATA_EMULATOR_DISASM_H
#define STRATA_EMULATOR_DISASM_H

#include <stddef.h>
#include <stdint.h>

/* Writes "mnemonic operands" for the instruction `raw` (16- or 32-bit) at pc into buf. */
void vm_disasm(uint32_t raw, uint64_t pc, char *buf, size_t len);

#endif
