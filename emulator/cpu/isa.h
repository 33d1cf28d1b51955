/* isa.h - which optional extensions a hart has (RV_EXT_* in cpu.h): the -cpu model string as
 * QEMU 7.2 spells it, and the device tree's riscv,isa. */
#ifndef STRATA_EMULATOR_CPU_ISA_H
#define STRATA_EMULATOR_CPU_ISA_H

#include "emulator/cpu/cpu.h"

#include <stddef.h>

/* Parses "rv64[,prop=bool...]" or "max[,...]" into the extensions switched on and off
 * against the defaults. Returns 0, or -1 with QEMU's message (without the program name). */
int rv_cpu_model_parse(const char *spec, uint32_t *on, uint32_t *off, char *err, size_t errlen);

/* The enabled set: the defaults with the -cpu changes applied. */
static inline uint32_t rv_ext_select(uint32_t on, uint32_t off)
{
	return (RV_EXT_DEFAULT | on) & ~off;
}

/* The device tree's riscv,isa for an enabled set, in QEMU 7.2's order. */
void rv_isa_string(uint32_t ext, char *buf, size_t len);

/* The device tree's riscv,isa-extensions: the enabled extensions as NUL-terminated names one
 * after another (a stringlist). Returns the bytes needed; fills buf as far as len allows. */
size_t rv_isa_extensions(uint32_t ext, char *buf, size_t len);

#endif
