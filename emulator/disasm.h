/* disasm.h - a compact RV64GC disassembler for -d in_asm/exec traces. */
#ifndef STRATA_EMULATOR_DISASM_H
#define STRATA_EMULATOR_DISASM_H

#include <stddef.h>
#include <stdint.h>

/* Writes "mnemonic operands" for the instruction `raw` (16- or 32-bit) at pc into buf. */
void vm_disasm(uint32_t raw, uint64_t pc, char *buf, size_t len);

/* The mnemonic of a decoded op (enum in cpu/ops.h), NULL when it has none. */
const char *vm_disasm_name(unsigned op);

/* HMP's x/i line after the address: the raw bits and the instruction, in QEMU 7.2's layout
 * (disasm_hmp.c). Returns the instruction's length (2 or 4). */
int vm_disasm_hmp(uint32_t raw, uint64_t pc, char *buf, size_t len);

#endif
