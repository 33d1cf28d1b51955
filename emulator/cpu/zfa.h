/* zfa.h - Zfa's additional F/D instructions on raw bit patterns (fpu.h's conventions: rm
 * resolved, *ff OR-ed with RV_FFLAG_*, canonical NaNs). fmt 0 = binary32, 1 = binary64. */
#ifndef STRATA_EMULATOR_CPU_ZFA_H
#define STRATA_EMULATOR_CPU_ZFA_H

#include <stdbool.h>
#include <stdint.h>

/* fli.s/fli.d: constant number idx (0..31) of Zfa's table */
uint64_t rv_zfa_fli(int fmt, unsigned idx);
/* fround/froundnx: to an integral value in rm; nx: also raise NX when the value changed */
uint64_t rv_zfa_round(int fmt, uint64_t a, int rm, bool nx, uint32_t *ff);
/* fminm/fmaxm: as fmin/fmax, but any NaN operand gives the canonical NaN */
uint64_t rv_zfa_minmax(int fmt, uint64_t a, uint64_t b, bool max, uint32_t *ff);
/* fleq/fltq: quiet comparisons (NV only for a signaling NaN) */
int rv_zfa_cmpq(int fmt, uint64_t a, uint64_t b, bool lt, uint32_t *ff);
/* fcvtmod.w.d: truncated, modulo 2^32, sign-extended */
int64_t rv_zfa_fcvtmod(uint64_t a, uint32_t *ff);

#endif
