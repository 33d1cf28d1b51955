/* fpguest.c - guest side of fpcases.h: runs each operation as the real RISC-V instruction
 * with a static rounding mode (or DYN after writing frm) and reads fflags around it.
 * Linked into every program of this directory. */
#include "fpcases.h"
#include "rvtest.h"

void fp_putc(char c) { rv_putc(c); }

/* M(rm-string, args...) for the rounding mode in `rm` */
#define RMSW(M, ...)                                                                                     \
	switch (rm) {                                                                                    \
	case 0: M("rne", __VA_ARGS__); break;                                                            \
	case 1: M("rtz", __VA_ARGS__); break;                                                            \
	case 2: M("rdn", __VA_ARGS__); break;                                                            \
	case 3: M("rup", __VA_ARGS__); break;                                                            \
	case 4: M("rmm", __VA_ARGS__); break;                                                            \
	default: M("dyn", __VA_ARGS__); break;                                                           \
	}

#define FLAGS_BEGIN "csrw fflags, zero\n\t"
#define FLAGS_END "\n\tcsrr %1, fflags\n\t"

/* fp = fp op fp [rm] */
#define BIN(RM, MVI, MVO, INSN)                                                                          \
	__asm__ volatile(MVI " ft0, %2\n\t" MVI " ft1, %3\n\t" FLAGS_BEGIN INSN " ft2, ft0, ft1" RM      \
			 FLAGS_END MVO " %0, ft2"                                                       \
			 : "=r"(r), "=r"(f)                                                             \
			 : "r"(a), "r"(b)                                                               \
			 : "ft0", "ft1", "ft2")
/* fp = op fp [rm] */
#define UN(RM, MVI, MVO, INSN)                                                                           \
	__asm__ volatile(MVI " ft0, %2\n\t" FLAGS_BEGIN INSN " ft2, ft0" RM FLAGS_END MVO " %0, ft2"     \
			 : "=r"(r), "=r"(f)                                                             \
			 : "r"(a)                                                                       \
			 : "ft0", "ft2")
/* fp = fp * fp + fp [rm] */
#define FMA(RM, MVI, MVO, INSN)                                                                          \
	__asm__ volatile(MVI " ft0, %2\n\t" MVI " ft1, %3\n\t" MVI " ft3, %4\n\t" FLAGS_BEGIN INSN       \
			 " ft2, ft0, ft1, ft3" RM FLAGS_END MVO " %0, ft2"                              \
			 : "=r"(r), "=r"(f)                                                             \
			 : "r"(a), "r"(b), "r"(c)                                                       \
			 : "ft0", "ft1", "ft2", "ft3")
/* int = fp op fp (compare) */
#define CMP(MVI, INSN)                                                                                   \
	__asm__ volatile(MVI " ft0, %2\n\t" MVI " ft1, %3\n\t" FLAGS_BEGIN INSN " %0, ft0, ft1" FLAGS_END \
			 : "=r"(r), "=r"(f)                                                             \
			 : "r"(a), "r"(b)                                                               \
			 : "ft0", "ft1")
/* int = op fp [rm] */
#define F2I(RM, MVI, INSN)                                                                               \
	__asm__ volatile(MVI " ft0, %2\n\t" FLAGS_BEGIN INSN " %0, ft0" RM FLAGS_END                     \
			 : "=r"(r), "=r"(f)                                                             \
			 : "r"(a)                                                                       \
			 : "ft0")
/* fp = op int [rm] */
#define I2F(RM, MVO, INSN)                                                                               \
	__asm__ volatile(FLAGS_BEGIN INSN " ft2, %2" RM FLAGS_END MVO " %0, ft2"                         \
			 : "=r"(r), "=r"(f)                                                             \
			 : "r"(a)                                                                       \
			 : "ft2")

#define RMS(s) ", " s
#define S_IN "fmv.w.x"
#define S_OUT "fmv.x.w"
#define D_IN "fmv.d.x"
#define D_OUT "fmv.x.d"

#define CASE_BIN(OP, MV, INSN) case OP: { RMSW(BIN_RM, MV, INSN) } break;
#define BIN_RM(s, MV, INSN) BIN(RMS(s), MV##_IN, MV##_OUT, INSN)
#define UN_RM(s, MVI, MVO, INSN) UN(RMS(s), MVI, MVO, INSN)
#define FMA_RM(s, MV, INSN) FMA(RMS(s), MV##_IN, MV##_OUT, INSN)
#define F2I_RM(s, MV, INSN) F2I(RMS(s), MV##_IN, INSN)
#define I2F_RM(s, MV, INSN) I2F(RMS(s), MV##_OUT, INSN)

uint64_t fp_exec(int op, uint64_t a, uint64_t b, uint64_t c, int rm, int dyn_frm, uint32_t *ff)
{
	uint64_t r = 0, f = 0;
	int is32res = 0;

	if (rm == FP_RM_DYN)
		RV_CSR_WRITE(frm, dyn_frm);
	switch (op) {
	case FP_FADD_S: RMSW(BIN_RM, S, "fadd.s"); is32res = 1; break;
	case FP_FSUB_S: RMSW(BIN_RM, S, "fsub.s"); is32res = 1; break;
	case FP_FMUL_S: RMSW(BIN_RM, S, "fmul.s"); is32res = 1; break;
	case FP_FDIV_S: RMSW(BIN_RM, S, "fdiv.s"); is32res = 1; break;
	case FP_FSQRT_S: RMSW(UN_RM, S_IN, S_OUT, "fsqrt.s"); is32res = 1; break;
	case FP_FMADD_S: RMSW(FMA_RM, S, "fmadd.s"); is32res = 1; break;
	case FP_FMSUB_S: RMSW(FMA_RM, S, "fmsub.s"); is32res = 1; break;
	case FP_FNMSUB_S: RMSW(FMA_RM, S, "fnmsub.s"); is32res = 1; break;
	case FP_FNMADD_S: RMSW(FMA_RM, S, "fnmadd.s"); is32res = 1; break;
	case FP_FMIN_S: BIN("", S_IN, S_OUT, "fmin.s"); is32res = 1; break;
	case FP_FMAX_S: BIN("", S_IN, S_OUT, "fmax.s"); is32res = 1; break;
	case FP_FEQ_S: CMP(S_IN, "feq.s"); break;
	case FP_FLT_S: CMP(S_IN, "flt.s"); break;
	case FP_FLE_S: CMP(S_IN, "fle.s"); break;
	case FP_FCLASS_S: F2I("", S_IN, "fclass.s"); break;
	case FP_FCVT_W_S: RMSW(F2I_RM, S, "fcvt.w.s"); break;
	case FP_FCVT_WU_S: RMSW(F2I_RM, S, "fcvt.wu.s"); break;
	case FP_FCVT_L_S: RMSW(F2I_RM, S, "fcvt.l.s"); break;
	case FP_FCVT_LU_S: RMSW(F2I_RM, S, "fcvt.lu.s"); break;
	case FP_FCVT_S_W: RMSW(I2F_RM, S, "fcvt.s.w"); is32res = 1; break;
	case FP_FCVT_S_WU: RMSW(I2F_RM, S, "fcvt.s.wu"); is32res = 1; break;
	case FP_FCVT_S_L: RMSW(I2F_RM, S, "fcvt.s.l"); is32res = 1; break;
	case FP_FCVT_S_LU: RMSW(I2F_RM, S, "fcvt.s.lu"); is32res = 1; break;
	case FP_FADD_D: RMSW(BIN_RM, D, "fadd.d"); break;
	case FP_FSUB_D: RMSW(BIN_RM, D, "fsub.d"); break;
	case FP_FMUL_D: RMSW(BIN_RM, D, "fmul.d"); break;
	case FP_FDIV_D: RMSW(BIN_RM, D, "fdiv.d"); break;
	case FP_FSQRT_D: RMSW(UN_RM, D_IN, D_OUT, "fsqrt.d"); break;
	case FP_FMADD_D: RMSW(FMA_RM, D, "fmadd.d"); break;
	case FP_FMSUB_D: RMSW(FMA_RM, D, "fmsub.d"); break;
	case FP_FNMSUB_D: RMSW(FMA_RM, D, "fnmsub.d"); break;
	case FP_FNMADD_D: RMSW(FMA_RM, D, "fnmadd.d"); break;
	case FP_FMIN_D: BIN("", D_IN, D_OUT, "fmin.d"); break;
	case FP_FMAX_D: BIN("", D_IN, D_OUT, "fmax.d"); break;
	case FP_FEQ_D: CMP(D_IN, "feq.d"); break;
	case FP_FLT_D: CMP(D_IN, "flt.d"); break;
	case FP_FLE_D: CMP(D_IN, "fle.d"); break;
	case FP_FCLASS_D: F2I("", D_IN, "fclass.d"); break;
	case FP_FCVT_W_D: RMSW(F2I_RM, D, "fcvt.w.d"); break;
	case FP_FCVT_WU_D: RMSW(F2I_RM, D, "fcvt.wu.d"); break;
	case FP_FCVT_L_D: RMSW(F2I_RM, D, "fcvt.l.d"); break;
	case FP_FCVT_LU_D: RMSW(F2I_RM, D, "fcvt.lu.d"); break;
	case FP_FCVT_D_W: I2F("", D_OUT, "fcvt.d.w"); break; /* exact: no rm operand */
	case FP_FCVT_D_WU: I2F("", D_OUT, "fcvt.d.wu"); break;
	case FP_FCVT_D_L: RMSW(I2F_RM, D, "fcvt.d.l"); break;
	case FP_FCVT_D_LU: RMSW(I2F_RM, D, "fcvt.d.lu"); break;
	case FP_FCVT_D_S: UN("", S_IN, D_OUT, "fcvt.d.s"); break;
	case FP_FCVT_S_D: RMSW(UN_RM, D_IN, S_OUT, "fcvt.s.d"); is32res = 1; break;
	default: break;
	}
	*ff = (uint32_t)f;
	return is32res ? (uint32_t)r : r;
}
