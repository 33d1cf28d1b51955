/* Unit test of emulator/cpu/fpu.c, the RISC-V F/D arithmetic.
 *
 *   test_rv_fpu                 known edge cases with exact bits and flags, then a cross-check
 *                               of the host fast path against the exact software path
 *   test_rv_fpu --replay NAME   prints suite NAME of tests/riscv/fp/fpcases.c computed with
 *                               fpu.c; tests/riscv/fp/check-host.sh diffs it against QEMU
 */
#include "emulator/cpu/fpu.h"
#include "tests/riscv/fp/fpcases.h"
#include "tests/unit/tap.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The software implementations behind the host fast path (defined in fpu.c for tests). */
uint64_t rv_soft_op(int op, int is64, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff);

/* ---- replay side of fpcases.h ------------------------------------------------------------ */

void fp_putc(char c) { putchar(c); }

uint64_t fp_exec(int op, uint64_t a, uint64_t b, uint64_t c, int rm, int dyn_frm, uint32_t *ff)
{
	uint32_t a32 = (uint32_t)a, b32 = (uint32_t)b, c32 = (uint32_t)c;

	*ff = 0;
	if (rm == FP_RM_DYN)
		rm = dyn_frm;
	switch (op) {
	case FP_FADD_S: return rv_f32_add(a32, b32, rm, ff);
	case FP_FSUB_S: return rv_f32_sub(a32, b32, rm, ff);
	case FP_FMUL_S: return rv_f32_mul(a32, b32, rm, ff);
	case FP_FDIV_S: return rv_f32_div(a32, b32, rm, ff);
	case FP_FSQRT_S: return rv_f32_sqrt(a32, rm, ff);
	case FP_FMADD_S: return rv_f32_madd(a32, b32, c32, rm, ff);
	case FP_FMSUB_S: return rv_f32_msub(a32, b32, c32, rm, ff);
	case FP_FNMSUB_S: return rv_f32_nmsub(a32, b32, c32, rm, ff);
	case FP_FNMADD_S: return rv_f32_nmadd(a32, b32, c32, rm, ff);
	case FP_FMIN_S: return rv_f32_min(a32, b32, ff);
	case FP_FMAX_S: return rv_f32_max(a32, b32, ff);
	case FP_FEQ_S: return (uint64_t)rv_f32_eq(a32, b32, ff);
	case FP_FLT_S: return (uint64_t)rv_f32_lt(a32, b32, ff);
	case FP_FLE_S: return (uint64_t)rv_f32_le(a32, b32, ff);
	case FP_FCLASS_S: return rv_f32_classify(a32);
	case FP_FCVT_W_S: return (uint64_t)rv_f32_to_i32(a32, rm, ff);
	case FP_FCVT_WU_S: return (uint64_t)rv_f32_to_u32(a32, rm, ff);
	case FP_FCVT_L_S: return (uint64_t)rv_f32_to_i64(a32, rm, ff);
	case FP_FCVT_LU_S: return rv_f32_to_u64(a32, rm, ff);
	case FP_FCVT_S_W: return rv_i32_to_f32((int32_t)a32, rm, ff);
	case FP_FCVT_S_WU: return rv_u32_to_f32(a32, rm, ff);
	case FP_FCVT_S_L: return rv_i64_to_f32((int64_t)a, rm, ff);
	case FP_FCVT_S_LU: return rv_u64_to_f32(a, rm, ff);
	case FP_FADD_D: return rv_f64_add(a, b, rm, ff);
	case FP_FSUB_D: return rv_f64_sub(a, b, rm, ff);
	case FP_FMUL_D: return rv_f64_mul(a, b, rm, ff);
	case FP_FDIV_D: return rv_f64_div(a, b, rm, ff);
	case FP_FSQRT_D: return rv_f64_sqrt(a, rm, ff);
	case FP_FMADD_D: return rv_f64_madd(a, b, c, rm, ff);
	case FP_FMSUB_D: return rv_f64_msub(a, b, c, rm, ff);
	case FP_FNMSUB_D: return rv_f64_nmsub(a, b, c, rm, ff);
	case FP_FNMADD_D: return rv_f64_nmadd(a, b, c, rm, ff);
	case FP_FMIN_D: return rv_f64_min(a, b, ff);
	case FP_FMAX_D: return rv_f64_max(a, b, ff);
	case FP_FEQ_D: return (uint64_t)rv_f64_eq(a, b, ff);
	case FP_FLT_D: return (uint64_t)rv_f64_lt(a, b, ff);
	case FP_FLE_D: return (uint64_t)rv_f64_le(a, b, ff);
	case FP_FCLASS_D: return rv_f64_classify(a);
	case FP_FCVT_W_D: return (uint64_t)rv_f64_to_i32(a, rm, ff);
	case FP_FCVT_WU_D: return (uint64_t)rv_f64_to_u32(a, rm, ff);
	case FP_FCVT_L_D: return (uint64_t)rv_f64_to_i64(a, rm, ff);
	case FP_FCVT_LU_D: return rv_f64_to_u64(a, rm, ff);
	case FP_FCVT_D_W: return rv_i32_to_f64((int32_t)a32, rm, ff);
	case FP_FCVT_D_WU: return rv_u32_to_f64(a32, rm, ff);
	case FP_FCVT_D_L: return rv_i64_to_f64((int64_t)a, rm, ff);
	case FP_FCVT_D_LU: return rv_u64_to_f64(a, rm, ff);
	case FP_FCVT_D_S: return rv_f32_to_f64(a32, ff);
	case FP_FCVT_S_D: return rv_f64_to_f32(a, rm, ff);
	default: return 0;
	}
}

/* ---- known cases ---------------------------------------------------------------------------- */

enum { NX = RV_FFLAG_NX, UF = RV_FFLAG_UF, OF = RV_FFLAG_OF, DZ = RV_FFLAG_DZ, NV = RV_FFLAG_NV };
#define SGN32_T UINT64_C(0x80000000)
#define SGN64_T UINT64_C(0x8000000000000000)

enum { RNE = RV_RM_RNE, RTZ = RV_RM_RTZ, RDN = RV_RM_RDN, RUP = RV_RM_RUP, RMM = RV_RM_RMM };

/* One case: op (fpcases.h numbering), operands, mode, expected result and flags. */
struct kcase {
	const char *what;
	int op;
	uint64_t a, b, c;
	int rm;
	uint64_t res;
	uint32_t ff;
};

static const struct kcase known[] = {
	/* rounding of a halfway case in each mode: 1 + 2^-24 (f32) */
	{"1+2^-24 rne", FP_FADD_S, 0x3f800000, 0x33800000, 0, RNE, 0x3f800000, NX},
	{"1+2^-24 rmm", FP_FADD_S, 0x3f800000, 0x33800000, 0, RMM, 0x3f800001, NX},
	{"1+2^-24 rup", FP_FADD_S, 0x3f800000, 0x33800000, 0, RUP, 0x3f800001, NX},
	{"1+2^-24 rtz", FP_FADD_S, 0x3f800000, 0x33800000, 0, RTZ, 0x3f800000, NX},
	{"-1-2^-24 rmm", FP_FADD_S, 0xbf800000, 0xb3800000, 0, RMM, 0xbf800001, NX},
	{"-1-2^-24 rdn", FP_FADD_S, 0xbf800000, 0xb3800000, 0, RDN, 0xbf800001, NX},
	{"(1+ulp)+2^-24 rne ties to even", FP_FADD_S, 0x3f800001, 0x33800000, 0, RNE, 0x3f800002, NX},
	{"(1+ulp)+2^-24 rmm", FP_FADD_S, 0x3f800001, 0x33800000, 0, RMM, 0x3f800002, NX},
	/* exact zero sums */
	{"x-x rne is +0", FP_FSUB_S, 0x3f800000, 0x3f800000, 0, RNE, 0x00000000, 0},
	{"x-x rdn is -0", FP_FSUB_S, 0x3f800000, 0x3f800000, 0, RDN, 0x80000000, 0},
	{"-0+-0 is -0", FP_FADD_D, 0x8000000000000000, 0x8000000000000000, 0, RNE, 0x8000000000000000, 0},
	{"+0+-0 rdn is -0", FP_FADD_D, 0, 0x8000000000000000, 0, RDN, 0x8000000000000000, 0},
	{"x-x rmm is +0", FP_FSUB_D, 0x4000000000000000, 0x4000000000000000, 0, RMM, 0, 0},
	/* NaNs */
	{"qnan+1 canonical, quiet", FP_FADD_S, 0xffc12345, 0x3f800000, 0, RNE, 0x7fc00000, 0},
	{"snan+1 NV", FP_FADD_S, 0x7f800001, 0x3f800000, 0, RNE, 0x7fc00000, NV},
	{"snan+1 NV rmm", FP_FADD_D, 0x7ff0000000000001, 0x3ff0000000000000, 0, RMM, 0x7ff8000000000000, NV},
	{"inf-inf NV", FP_FSUB_D, 0x7ff0000000000000, 0x7ff0000000000000, 0, RNE, 0x7ff8000000000000, NV},
	{"0*inf NV", FP_FMUL_S, 0x00000000, 0xff800000, 0, RMM, 0x7fc00000, NV},
	{"0/0 NV", FP_FDIV_D, 0, 0, 0, RNE, 0x7ff8000000000000, NV},
	{"1/0 DZ", FP_FDIV_S, 0x3f800000, 0x80000000, 0, RNE, 0xff800000, DZ},
	{"1/-0 DZ rmm", FP_FDIV_D, 0x3ff0000000000000, 0x8000000000000000, 0, RMM, 0xfff0000000000000, DZ},
	{"sqrt(-1) NV", FP_FSQRT_S, 0xbf800000, 0, 0, RNE, 0x7fc00000, NV},
	{"sqrt(-0) = -0", FP_FSQRT_D, 0x8000000000000000, 0, 0, RMM, 0x8000000000000000, 0},
	{"sqrt(2) rmm", FP_FSQRT_D, 0x4000000000000000, 0, 0, RMM, 0x3ff6a09e667f3bcd, NX},
	{"sqrt(2) rup", FP_FSQRT_D, 0x4000000000000000, 0, 0, RUP, 0x3ff6a09e667f3bcd, NX},
	{"sqrt(2) rtz", FP_FSQRT_D, 0x4000000000000000, 0, 0, RTZ, 0x3ff6a09e667f3bcc, NX},
	/* overflow per mode */
	{"max*2 rne inf", FP_FMUL_S, 0x7f7fffff, 0x40000000, 0, RNE, 0x7f800000, OF | NX},
	{"max*2 rtz max", FP_FMUL_S, 0x7f7fffff, 0x40000000, 0, RTZ, 0x7f7fffff, OF | NX},
	{"-max*2 rup -max", FP_FMUL_S, 0xff7fffff, 0x40000000, 0, RUP, 0xff7fffff, OF | NX},
	{"-max*2 rdn -inf", FP_FMUL_D, 0xffefffffffffffff, 0x4000000000000000, 0, RDN, 0xfff0000000000000, OF | NX},
	{"max*2 rmm inf", FP_FMUL_D, 0x7fefffffffffffff, 0x4000000000000000, 0, RMM, 0x7ff0000000000000, OF | NX},
	/* underflow, tininess after rounding */
	{"minsub/2 rne -> 0 UF", FP_FMUL_S, 0x00000001, 0x3f000000, 0, RNE, 0x00000000, UF | NX},
	{"minsub/2 rmm -> minsub UF", FP_FMUL_S, 0x00000001, 0x3f000000, 0, RMM, 0x00000001, UF | NX},
	{"minsub*0.75 rup", FP_FMUL_D, 0x0000000000000001, 0x3fe8000000000000, 0, RUP, 1, UF | NX},
	{"exact subnormal no UF", FP_FMUL_S, 0x00800000, 0x3f000000, 0, RNE, 0x00400000, 0},
	/* (1 - 2^-24) 2^-126 is exact in 24 bits with an unbounded exponent: tiny, so UF */
	{"tiny exact-in-p-bits: UF", FP_FMUL_S, 0x00ffffff, 0x3f000000, 0, RNE, 0x00800000, UF | NX},
	/* (1 - 2^-46) 2^-126 rounds to 2^-126 with an unbounded exponent: not tiny, no UF */
	{"rounds up to min normal: no UF", FP_FMUL_S, 0x3f800001, 0x007fffff, 0, RNE, 0x00800000, NX},
	{"rounds up to min normal rmm", FP_FMUL_S, 0x3f800001, 0x007fffff, 0, RMM, 0x00800000, NX},
	{"rtz stays subnormal: UF", FP_FMUL_S, 0x3f800001, 0x007fffff, 0, RTZ, 0x007fffff, UF | NX},
	{"f64 min normal boundary", FP_FMUL_D, 0x3ff0000000000001, 0x000fffffffffffff, 0, RMM, 0x0010000000000000,
	 NX},
	{"f64 min normal boundary rdn", FP_FMUL_D, 0x3ff0000000000001, 0x000fffffffffffff, 0, RDN,
	 0x000fffffffffffff, UF | NX},
	/* fused multiply-add */
	{"inf*0+qnan NV", FP_FMADD_S, 0x7f800000, 0x00000000, 0x7fc00000, RNE, 0x7fc00000, NV},
	{"inf*0+qnan NV f64", FP_FMADD_D, 0, 0xfff0000000000000, 0x7ff8000000000000, RNE, 0x7ff8000000000000, NV},
	{"inf*1-inf NV", FP_FMSUB_D, 0x7ff0000000000000, 0x3ff0000000000000, 0x7ff0000000000000, RNE,
	 0x7ff8000000000000, NV},
	{"1*1-1 = +0", FP_FMSUB_S, 0x3f800000, 0x3f800000, 0x3f800000, RNE, 0x00000000, 0},
	{"1*1-1 rdn = -0", FP_FMSUB_S, 0x3f800000, 0x3f800000, 0x3f800000, RDN, 0x80000000, 0},
	{"-(0*1)-0 = -0 (nmadd)", FP_FNMADD_S, 0x00000000, 0x3f800000, 0x00000000, RNE, 0x80000000, 0},
	{"-(0*1)+0 = +0 (nmsub)", FP_FNMSUB_S, 0x00000000, 0x3f800000, 0x00000000, RNE, 0x00000000, 0},
	/* (1 + 2^-52)^2 - 1 = 2^-51 (1 + 2^-53): a tie after one rounding */
	{"fma single rounding", FP_FMADD_D, 0x3ff0000000000001, 0x3ff0000000000001, 0xbff0000000000000, RNE,
	 0x3cc0000000000000, NX},
	{"fma single rounding rmm", FP_FMADD_D, 0x3ff0000000000001, 0x3ff0000000000001, 0xbff0000000000000, RMM,
	 0x3cc0000000000001, NX},
	{"fma tiny c sticky rmm", FP_FMADD_S, 0x3f800000, 0x3f800000, 0x00000001, RMM, 0x3f800000, NX},
	{"fma tiny -c rtz", FP_FMADD_S, 0x3f800000, 0x3f800000, 0x80000001, RTZ, 0x3f7fffff, NX},
	/* min / max / compare / classify */
	{"min(-0,+0)", FP_FMIN_S, 0x00000000, 0x80000000, 0, 0, 0x80000000, 0},
	{"max(-0,+0)", FP_FMAX_D, 0x8000000000000000, 0, 0, 0, 0, 0},
	{"min(qnan,1)", FP_FMIN_S, 0x7fc00000, 0x3f800000, 0, 0, 0x3f800000, 0},
	{"max(snan,1) NV", FP_FMAX_S, 0x7f800001, 0x3f800000, 0, 0, 0x3f800000, NV},
	{"min(nan,nan)", FP_FMIN_D, 0xfff8000000000001, 0x7ff8000000000000, 0, 0, 0x7ff8000000000000, 0},
	{"eq(qnan,qnan) quiet", FP_FEQ_S, 0x7fc00000, 0x7fc00000, 0, 0, 0, 0},
	{"eq(snan,1) NV", FP_FEQ_S, 0x7f800001, 0x3f800000, 0, 0, 0, NV},
	{"lt(qnan,1) NV", FP_FLT_D, 0x7ff8000000000000, 0x3ff0000000000000, 0, 0, 0, NV},
	{"le(-0,+0)", FP_FLE_S, 0x80000000, 0x00000000, 0, 0, 1, 0},
	{"lt(-0,+0)", FP_FLT_S, 0x80000000, 0x00000000, 0, 0, 0, 0},
	{"eq(-0,+0)", FP_FEQ_D, 0x8000000000000000, 0, 0, 0, 1, 0},
	{"lt(-2,-1)", FP_FLT_D, 0xc000000000000000, 0xbff0000000000000, 0, 0, 1, 0},
	{"class -inf", FP_FCLASS_S, 0xff800000, 0, 0, 0, 1 << 0, 0},
	{"class -sub", FP_FCLASS_D, 0x800fffffffffffff, 0, 0, 0, 1 << 2, 0},
	{"class snan", FP_FCLASS_S, 0x7f800001, 0, 0, 0, 1 << 8, 0},
	{"class qnan", FP_FCLASS_D, 0xfff8000000000000, 0, 0, 0, 1 << 9, 0},
	/* float -> integer, saturating */
	{"w(nan)", FP_FCVT_W_S, 0xffc00000, 0, 0, RNE, 0x7fffffff, NV},
	{"w(-inf)", FP_FCVT_W_S, 0xff800000, 0, 0, RNE, 0xffffffff80000000, NV},
	{"w(2^31)", FP_FCVT_W_S, 0x4f000000, 0, 0, RNE, 0x7fffffff, NV},
	{"w(-2^31)", FP_FCVT_W_S, 0xcf000000, 0, 0, RNE, 0xffffffff80000000, 0},
	{"w(-2147483648.5) rne", FP_FCVT_W_D, 0xc1e0000000100000, 0, 0, RNE, 0xffffffff80000000, NX},
	{"w(-2147483648.5) rmm", FP_FCVT_W_D, 0xc1e0000000100000, 0, 0, RMM, 0xffffffff80000000, NV},
	{"w(2.5) rne", FP_FCVT_W_D, 0x4004000000000000, 0, 0, RNE, 2, NX},
	{"w(2.5) rmm", FP_FCVT_W_D, 0x4004000000000000, 0, 0, RMM, 3, NX},
	{"w(-2.5) rmm", FP_FCVT_W_D, 0xc004000000000000, 0, 0, RMM, 0xfffffffffffffffd, NX},
	{"w(-2.5) rup", FP_FCVT_W_D, 0xc004000000000000, 0, 0, RUP, 0xfffffffffffffffe, NX},
	{"wu(nan)", FP_FCVT_WU_S, 0x7fc00000, 0, 0, RNE, 0xffffffffffffffff, NV},
	{"wu(-0.3) rtz", FP_FCVT_WU_D, 0xbfd3333333333333, 0, 0, RTZ, 0, NX},
	{"wu(-0.3) rdn", FP_FCVT_WU_D, 0xbfd3333333333333, 0, 0, RDN, 0, NV},
	{"wu(-1)", FP_FCVT_WU_D, 0xbff0000000000000, 0, 0, RNE, 0, NV},
	{"wu(2^31) sign-extended", FP_FCVT_WU_S, 0x4f000000, 0, 0, RNE, 0xffffffff80000000, 0},
	{"wu(2^32)", FP_FCVT_WU_D, 0x41f0000000000000, 0, 0, RNE, 0xffffffffffffffff, NV},
	{"l(2^63)", FP_FCVT_L_D, 0x43e0000000000000, 0, 0, RNE, 0x7fffffffffffffff, NV},
	{"l(-2^63)", FP_FCVT_L_S, 0xdf000000, 0, 0, RNE, 0x8000000000000000, 0},
	{"l(-inf)", FP_FCVT_L_D, 0xfff0000000000000, 0, 0, RNE, 0x8000000000000000, NV},
	{"lu(2^64-2048)", FP_FCVT_LU_D, 0x43efffffffffffff, 0, 0, RNE, 0xfffffffffffff800, 0},
	{"lu(2^64)", FP_FCVT_LU_S, 0x5f800000, 0, 0, RNE, 0xffffffffffffffff, NV},
	{"lu(-inf)", FP_FCVT_LU_S, 0xff800000, 0, 0, RNE, 0, NV},
	{"lu(minsub) rup", FP_FCVT_LU_D, 1, 0, 0, RUP, 1, NX},
	/* integer -> float */
	{"s.w(2^24+1) rne", FP_FCVT_S_W, 0x01000001, 0, 0, RNE, 0x4b800000, NX},
	{"s.w(2^24+1) rmm", FP_FCVT_S_W, 0x01000001, 0, 0, RMM, 0x4b800001, NX},
	{"s.w(-2^31)", FP_FCVT_S_W, 0x80000000, 0, 0, RNE, 0xcf000000, 0},
	{"s.wu(2^32-1) rtz", FP_FCVT_S_WU, 0xffffffff, 0, 0, RTZ, 0x4f7fffff, NX},
	{"s.lu(2^64-1) rne", FP_FCVT_S_LU, 0xffffffffffffffff, 0, 0, RNE, 0x5f800000, NX},
	{"d.l(-2^63)", FP_FCVT_D_L, 0x8000000000000000, 0, 0, RNE, 0xc3e0000000000000, 0},
	{"d.l(2^53+1) rmm", FP_FCVT_D_L, 0x0020000000000001, 0, 0, RMM, 0x4340000000000001, NX},
	{"d.lu(2^64-1) rdn", FP_FCVT_D_LU, 0xffffffffffffffff, 0, 0, RDN, 0x43efffffffffffff, NX},
	{"d.w(-1)", FP_FCVT_D_W, 0xffffffff, 0, 0, RNE, 0xbff0000000000000, 0},
	/* between formats */
	{"d.s(snan)", FP_FCVT_D_S, 0x7f800001, 0, 0, RNE, 0x7ff8000000000000, NV},
	{"d.s(minsub)", FP_FCVT_D_S, 0x80000001, 0, 0, RNE, 0xb6a0000000000000, 0},
	{"s.d(qnan)", FP_FCVT_S_D, 0xfff8000000000001, 0, 0, RNE, 0x7fc00000, 0},
	{"s.d(1+2^-24) rmm", FP_FCVT_S_D, 0x3ff0000010000000, 0, 0, RMM, 0x3f800001, NX},
	{"s.d(1+2^-24) rne", FP_FCVT_S_D, 0x3ff0000010000000, 0, 0, RNE, 0x3f800000, NX},
	{"s.d(dmax) rtz", FP_FCVT_S_D, 0x7fefffffffffffff, 0, 0, RTZ, 0x7f7fffff, OF | NX},
	{"s.d(2^-150) rmm", FP_FCVT_S_D, 0x3690000000000000, 0, 0, RMM, 0x00000001, UF | NX},
	{"s.d(2^-150) rne", FP_FCVT_S_D, 0x3690000000000000, 0, 0, RNE, 0x00000000, UF | NX},
};

static void test_known(void)
{
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		const struct kcase *k = &known[i];
		uint32_t ff = 0;
		uint64_t r = fp_exec(k->op, k->a, k->b, k->c, k->rm, 0, &ff);

		if (!tap_ok(r == k->res && ff == k->ff, "%s", k->what))
			tap_diag("got %016" PRIx64 " flags %02x, want %016" PRIx64 " flags %02x", r, ff, k->res,
				 k->ff);
	}
}

/* ---- host fast path versus software path ---------------------------------------------------- */

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* Random value with exponent biased to the extremes and to the middle. */
static uint64_t rnd(int is64)
{
	int eb = is64 ? 11 : 8, fb = is64 ? 52 : 23;
	uint64_t r = rng(), emax = (UINT64_C(1) << eb) - 1, e, f = rng() & ((UINT64_C(1) << fb) - 1);

	switch (r & 3) {
	case 0:
		e = (r >> 2) % 4;
		break;
	case 1:
		e = emax - (r >> 2) % 4;
		break;
	case 2:
		e = (r >> 2) % (emax + 1);
		break;
	default:
		e = (emax >> 1) - 40 + (r >> 2) % 80;
		break;
	}
	if (r & 0x100)
		f = (r & 0x200) ? (UINT64_C(1) << fb) - 1 - (f & 15) : f & 0xff;
	return ((r >> 60) & 1) << (eb + fb) | e << fb | f;
}

/* Operands for op o that make halfway cases likely: a + b with b at a's rounding position,
 * (1 + 2^-m)(1 + 2^-(p-m)) = 1 + ... + 2^-p for products. */
static void tie_operands(int o, int is64, uint64_t *a, uint64_t *b)
{
	int fb = is64 ? 52 : 23;
	uint64_t sign = (rng() & 1) << (is64 ? 63 : 31), bias = is64 ? 1023 : 127;
	uint64_t e = bias - 20 + rng() % 40, m = 1 + rng() % (uint64_t)(fb - 1);

	if (o == 0 || o == 1) {
		*b = (rng() & 1) << (is64 ? 63 : 31) | (e - (uint64_t)fb - 1) << fb | (rng() & 3) << (fb - 2);
		*a = sign | e << fb | (rng() & ((UINT64_C(1) << fb) - 1));
	} else {
		*a = sign | e << fb | UINT64_C(1) << (fb - m);
		*b = (bias - 20 + rng() % 40) << fb | UINT64_C(1) << (m - 1);
	}
}

/* Integer conversions: fast paths versus software, values around every bound. */
static long test_conversions(void)
{
	static const int f2i[2][4] = {{FP_FCVT_W_S, FP_FCVT_WU_S, FP_FCVT_L_S, FP_FCVT_LU_S},
				      {FP_FCVT_W_D, FP_FCVT_WU_D, FP_FCVT_L_D, FP_FCVT_LU_D}};
	static const int i2f[2][4] = {{FP_FCVT_S_W, FP_FCVT_S_WU, FP_FCVT_S_L, FP_FCVT_S_LU},
				      {FP_FCVT_D_W, FP_FCVT_D_WU, FP_FCVT_D_L, FP_FCVT_D_LU}};
	long n = 0;

	for (int is64 = 0; is64 < 2; is64++) {
		for (int k = 0; k < 8; k++) {
			long bad = 0;
			uint64_t ba = 0;
			int brm = 0;

			for (int i = 0; i < 40000; i++) {
				int rm = (int)(rng() % 5), fb = is64 ? 52 : 23, bias = is64 ? 1023 : 127;
				uint64_t a, r1, r2;
				uint32_t f1 = 0, f2 = 0;

				if (k < 4) { /* float: exponents from 2^-3 to 2^66, halves and quarters */
					a = rnd(is64);
					if (i & 1)
						a = (a & (UINT64_C(1) << (is64 ? 63 : 31) | ((UINT64_C(1) << fb) - 1))) |
						    (uint64_t)(bias - 3 + (int)(rng() % 70)) << fb;
					if (i & 2) { /* keep 0 to 2 fraction bits: halves and quarters */
						int e = (int)((a >> fb) & (is64 ? 0x7ff : 0xff)) - bias;
						int z = fb - e - (int)(rng() % 3);

						if (z > 0 && z <= fb)
							a &= ~((UINT64_C(1) << z) - 1);
					}
					r1 = fp_exec(f2i[is64][k], a, 0, 0, rm, 0, &f1);
					r2 = rv_soft_op(7 + k, is64, a, 0, 0, rm, &f2);
				} else {
					unsigned sh = (unsigned)(rng() % 64);
					a = rng() >> sh;
					if (rng() & 1)
						a = (uint64_t)0 - a;
					r1 = fp_exec(i2f[is64][k - 4], a, 0, 0, rm, 0, &f1);
					r2 = rv_soft_op(7 + k, is64, a, 0, 0, rm, &f2);
				}
				n++;
				if ((r1 != r2 || f1 != f2) && !bad++)
					ba = a, brm = rm;
			}
			if (!tap_ok(bad == 0, "conversion fast path == software, %s %s", is64 ? "f64" : "f32",
				    k < 4 ? (const char *[]){"to i32", "to u32", "to i64", "to u64"}[k]
					  : (const char *[]){"from i32", "from u32", "from i64", "from u64"}[k - 4]))
				tap_diag("%ld differ, first: a=%" PRIx64 " rm=%d", bad, ba, brm);
		}
	}
	return n;
}

static void test_host_vs_soft(void)
{
	/* fpcases ops 0..5 per format map onto rv_soft_op's 0..5; op 6 is the format conversion */
	static const int ops32[] = {FP_FADD_S, FP_FSUB_S, FP_FMUL_S, FP_FDIV_S, FP_FSQRT_S, FP_FMADD_S, FP_FCVT_S_D};
	static const int ops64[] = {FP_FADD_D, FP_FSUB_D, FP_FMUL_D, FP_FDIV_D, FP_FSQRT_D, FP_FMADD_D};
	static const char *names[] = {"add", "sub", "mul", "div", "sqrt", "fma", "cvt.s.d"};
	long total = 0;

	for (int is64 = 0; is64 < 2; is64++) {
		for (int o = 0; o < (is64 ? 6 : 7); o++) {
			long bad = 0, n = 0;
			uint64_t ba = 0, bb = 0, bc = 0;
			int brm = 0, fb = is64 ? 52 : 23;
			uint64_t fmask = (UINT64_C(1) << fb) - 1;

			for (int i = 0; i < 150000; i++) {
				uint64_t a = rnd(o == 6 ? 1 : is64), b = rnd(is64), c = rnd(is64);
				int rm = (int)(rng() % 5);
				uint32_t f1 = 0, f2 = 0;
				uint64_t r1, r2;

				switch (i & 3) {
				case 1: /* operands of the same magnitude: cancellation */
					b = (b & fmask) | (a & ~fmask);
					c = (c & fmask) | (a & ~fmask);
					break;
				case 2: /* halfway cases */
					if (o <= 2)
						tie_operands(o, is64, &a, &b);
					break;
				case 3: /* fma: c near the product */
					if (o == 5) {
						uint32_t fp = 0;
						c = is64 ? rv_f64_mul(a, b, RV_RM_RNE, &fp) : rv_f32_mul((uint32_t)a, (uint32_t)b, RV_RM_RNE, &fp);
						c ^= (is64 ? SGN64_T : SGN32_T) | (rng() & 3);
					}
					break;
				}
				if ((i & 15) == 5) /* signed zeros */
					b = (rng() & 1) << (is64 ? 63 : 31);
				else if ((i & 15) == 9) /* exact cancellation */
					b = a ^ (UINT64_C(1) << (is64 ? 63 : 31));
				if (o == 6 && (i & 2)) /* into binary32's range */
					a = (a & UINT64_C(0x800fffffffffffff)) | (UINT64_C(1023 - 160) + rng() % 300) << 52;
				r1 = fp_exec(is64 ? ops64[o] : ops32[o], a, b, c, rm, 0, &f1);
				r2 = rv_soft_op(o, o == 6 ? 1 : is64, a, b, c, rm, &f2);
				n++;
				if (r1 != r2 || f1 != f2) {
					if (!bad++)
						ba = a, bb = b, bc = c, brm = rm;
				}
			}
			total += n;
			if (!tap_ok(bad == 0, "host paths == software, %s %s: %ld of %ld differ", is64 ? "f64" : "f32",
				    names[o], bad, n))
				tap_diag("first: a=%" PRIx64 " b=%" PRIx64 " c=%" PRIx64 " rm=%d", ba, bb, bc, brm);
		}
	}
	total += test_conversions();
	tap_diag("%ld random operations cross-checked", total);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--replay")) {
		if (fp_suite_by_name(argv[2]) < 0) {
			fprintf(stderr, "unknown suite %s\n", argv[2]);
			return 2;
		}
		return fflush(stdout) ? 1 : 0;
	}
	test_known();
	test_host_vs_soft();
	return tap_done();
}
