/* fpcases.h - F/D test operations shared by the guest programs (tests/riscv/fp/fp_NAME.c, run on
 * QEMU and strata-vm) and the host replay (tests/unit/test_rv_fpu.c --replay, run on
 * emulator/cpu/fpu.c). fpcases.c holds the operand lists and suites; each side supplies
 * fp_putc() and fp_exec(), so both print byte-identical text when they compute the same
 * results. Portable C: compiled by riscv64-unknown-elf-gcc and by the host compiler. */
#ifndef STRATA_TESTS_FPCASES_H
#define STRATA_TESTS_FPCASES_H

#include <stdint.h>

enum fp_op {
	/* binary32 */
	FP_FADD_S, FP_FSUB_S, FP_FMUL_S, FP_FDIV_S, FP_FSQRT_S,
	FP_FMADD_S, FP_FMSUB_S, FP_FNMSUB_S, FP_FNMADD_S,
	FP_FMIN_S, FP_FMAX_S, FP_FEQ_S, FP_FLT_S, FP_FLE_S, FP_FCLASS_S,
	FP_FCVT_W_S, FP_FCVT_WU_S, FP_FCVT_L_S, FP_FCVT_LU_S,
	FP_FCVT_S_W, FP_FCVT_S_WU, FP_FCVT_S_L, FP_FCVT_S_LU,
	/* binary64 */
	FP_FADD_D, FP_FSUB_D, FP_FMUL_D, FP_FDIV_D, FP_FSQRT_D,
	FP_FMADD_D, FP_FMSUB_D, FP_FNMSUB_D, FP_FNMADD_D,
	FP_FMIN_D, FP_FMAX_D, FP_FEQ_D, FP_FLT_D, FP_FLE_D, FP_FCLASS_D,
	FP_FCVT_W_D, FP_FCVT_WU_D, FP_FCVT_L_D, FP_FCVT_LU_D,
	FP_FCVT_D_W, FP_FCVT_D_WU, FP_FCVT_D_L, FP_FCVT_D_LU,
	/* between formats */
	FP_FCVT_D_S, FP_FCVT_S_D,
	FP_NOPS
};

#define FP_RM_DYN 7

/* Supplied by each side. fp_exec runs one operation on raw bits (integer operands and
 * results as the 64-bit register holds them; f32 results as their 32 bits) with static
 * rounding mode rm (0-4) or, for rm == FP_RM_DYN, with frm = dyn_frm. Returns the result
 * and stores the fflags the operation raised (fflags cleared just before it) in *ff. */
void fp_putc(char c);
uint64_t fp_exec(int op, uint64_t a, uint64_t b, uint64_t c, int rm, int dyn_frm, uint32_t *ff);

/* Suites: each prints its results through fp_putc. */
void fp_suite_f32_arith(void);
void fp_suite_f64_arith(void);
void fp_suite_f32_fma(void);
void fp_suite_f64_fma(void);
void fp_suite_compare(void);
void fp_suite_convert(void);
void fp_suite_rand32(void);
void fp_suite_rand64(void);

/* Runs the suite named `name` ("f32_arith", ...); returns 0, or -1 for an unknown name. */
int fp_suite_by_name(const char *name);

/* Number of operations (result lines x rounding modes) the suites executed so far. */
unsigned long fp_ops_executed(void);

#endif
