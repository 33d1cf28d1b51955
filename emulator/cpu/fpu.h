/* fpu.h - IEEE-754 binary32/binary64 arithmetic with RISC-V F/D semantics.
 *
 * Contract:
 *  - Pure functions on raw bit patterns (uint32_t = f32 bits, uint64_t = f64 bits).
 *    No global state; thread-safe.
 *  - Host requirement: the calling thread runs in the default floating-point environment
 *    (round to nearest, exceptions masked, x86 FTZ/DAZ off), as every C program starts.
 *    The fast path relies on it instead of reading MXCSR; when fpu.c changes the host
 *    rounding mode it restores it before returning. Never call these functions with a
 *    different fesetround() mode or with feenableexcept() traps in effect. The host's
 *    sticky exception flags are not preserved (host arithmetic raises them); nothing may
 *    rely on them.
 *  - `rm` is already resolved by the caller: RV_RM_RNE..RV_RM_RMM (0..4). DYN (7)
 *    and the reserved encodings 5/6 must never be passed.
 *  - `*ff` is OR-ed with RV_FFLAG_* bits (never cleared).
 *  - Every NaN result is the canonical NaN (RV_F32_CNAN / RV_F64_CNAN); a signaling
 *    NaN input to an arithmetic operation sets NV.
 *  - Float->integer conversions saturate per the RISC-V table: NaN -> max positive,
 *    out of range -> clamp to the nearest bound, both with NV; inexact -> NX.
 *    The result is returned as the value written to the (64-bit) register:
 *    32-bit results (signed and unsigned) are sign-extended from bit 31.
 */
#ifndef STRATA_EMULATOR_CPU_FPU_H
#define STRATA_EMULATOR_CPU_FPU_H

#include <stdint.h>

enum {
	RV_RM_RNE = 0, /* round to nearest, ties to even */
	RV_RM_RTZ = 1, /* round towards zero */
	RV_RM_RDN = 2, /* round down (towards -inf) */
	RV_RM_RUP = 3, /* round up (towards +inf) */
	RV_RM_RMM = 4, /* round to nearest, ties to max magnitude */
	RV_RM_DYN = 7, /* only in instruction encodings: use frm (resolved by the CPU) */
};

enum {
	RV_FFLAG_NX = 1,  /* inexact */
	RV_FFLAG_UF = 2,  /* underflow */
	RV_FFLAG_OF = 4,  /* overflow */
	RV_FFLAG_DZ = 8,  /* divide by zero */
	RV_FFLAG_NV = 16, /* invalid operation */
};

#define RV_F32_CNAN UINT32_C(0x7fc00000)
#define RV_F64_CNAN UINT64_C(0x7ff8000000000000)

/* fclass result bits */
enum {
	RV_FCLASS_NEG_INF = 1 << 0,
	RV_FCLASS_NEG_NORMAL = 1 << 1,
	RV_FCLASS_NEG_SUBNORMAL = 1 << 2,
	RV_FCLASS_NEG_ZERO = 1 << 3,
	RV_FCLASS_POS_ZERO = 1 << 4,
	RV_FCLASS_POS_SUBNORMAL = 1 << 5,
	RV_FCLASS_POS_NORMAL = 1 << 6,
	RV_FCLASS_POS_INF = 1 << 7,
	RV_FCLASS_SNAN = 1 << 8,
	RV_FCLASS_QNAN = 1 << 9,
};

/* ---- binary32 ---- */
uint32_t rv_f32_add(uint32_t a, uint32_t b, int rm, uint32_t *ff);
uint32_t rv_f32_sub(uint32_t a, uint32_t b, int rm, uint32_t *ff);
uint32_t rv_f32_mul(uint32_t a, uint32_t b, int rm, uint32_t *ff);
uint32_t rv_f32_div(uint32_t a, uint32_t b, int rm, uint32_t *ff);
uint32_t rv_f32_sqrt(uint32_t a, int rm, uint32_t *ff);
uint32_t rv_f32_madd(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *ff);  /* a*b+c */
uint32_t rv_f32_msub(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *ff);  /* a*b-c */
uint32_t rv_f32_nmsub(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *ff); /* -(a*b)+c */
uint32_t rv_f32_nmadd(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *ff); /* -(a*b)-c */
uint32_t rv_f32_min(uint32_t a, uint32_t b, uint32_t *ff);
uint32_t rv_f32_max(uint32_t a, uint32_t b, uint32_t *ff);
int rv_f32_eq(uint32_t a, uint32_t b, uint32_t *ff); /* quiet: NV only for sNaN */
int rv_f32_lt(uint32_t a, uint32_t b, uint32_t *ff); /* signaling: NV for any NaN */
int rv_f32_le(uint32_t a, uint32_t b, uint32_t *ff); /* signaling: NV for any NaN */
uint32_t rv_f32_classify(uint32_t a);

int64_t rv_f32_to_i32(uint32_t a, int rm, uint32_t *ff);
int64_t rv_f32_to_u32(uint32_t a, int rm, uint32_t *ff); /* sign-extended from bit 31 */
int64_t rv_f32_to_i64(uint32_t a, int rm, uint32_t *ff);
uint64_t rv_f32_to_u64(uint32_t a, int rm, uint32_t *ff);
uint32_t rv_i32_to_f32(int32_t v, int rm, uint32_t *ff);
uint32_t rv_u32_to_f32(uint32_t v, int rm, uint32_t *ff);
uint32_t rv_i64_to_f32(int64_t v, int rm, uint32_t *ff);
uint32_t rv_u64_to_f32(uint64_t v, int rm, uint32_t *ff);

/* ---- binary64 ---- */
uint64_t rv_f64_add(uint64_t a, uint64_t b, int rm, uint32_t *ff);
uint64_t rv_f64_sub(uint64_t a, uint64_t b, int rm, uint32_t *ff);
uint64_t rv_f64_mul(uint64_t a, uint64_t b, int rm, uint32_t *ff);
uint64_t rv_f64_div(uint64_t a, uint64_t b, int rm, uint32_t *ff);
uint64_t rv_f64_sqrt(uint64_t a, int rm, uint32_t *ff);
uint64_t rv_f64_madd(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff);
uint64_t rv_f64_msub(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff);
uint64_t rv_f64_nmsub(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff);
uint64_t rv_f64_nmadd(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff);
uint64_t rv_f64_min(uint64_t a, uint64_t b, uint32_t *ff);
uint64_t rv_f64_max(uint64_t a, uint64_t b, uint32_t *ff);
int rv_f64_eq(uint64_t a, uint64_t b, uint32_t *ff);
int rv_f64_lt(uint64_t a, uint64_t b, uint32_t *ff);
int rv_f64_le(uint64_t a, uint64_t b, uint32_t *ff);
uint32_t rv_f64_classify(uint64_t a);

int64_t rv_f64_to_i32(uint64_t a, int rm, uint32_t *ff);
int64_t rv_f64_to_u32(uint64_t a, int rm, uint32_t *ff); /* sign-extended from bit 31 */
int64_t rv_f64_to_i64(uint64_t a, int rm, uint32_t *ff);
uint64_t rv_f64_to_u64(uint64_t a, int rm, uint32_t *ff);
uint64_t rv_i32_to_f64(int32_t v, int rm, uint32_t *ff);
uint64_t rv_u32_to_f64(uint32_t v, int rm, uint32_t *ff);
uint64_t rv_i64_to_f64(int64_t v, int rm, uint32_t *ff);
uint64_t rv_u64_to_f64(uint64_t v, int rm, uint32_t *ff);

/* ---- between formats ---- */
uint64_t rv_f32_to_f64(uint32_t a, uint32_t *ff);         /* exact; sNaN -> NV */
uint32_t rv_f64_to_f32(uint64_t a, int rm, uint32_t *ff); /* rounded */

#endif
