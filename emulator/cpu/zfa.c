/* zfa.c - Zfa (fli, fminm/fmaxm, fround/froundnx, fleq/fltq, fcvtmod.w.d) for binary32 and
 * binary64. Every value handled here converts exactly between float, double and int64_t,
 * so host arithmetic gives the exact result; rounding is decided by hand from the fraction. */
#include "emulator/cpu/zfa.h"
#include "emulator/cpu/fpu.h"

#include <string.h>

static double to_d(int fmt, uint64_t a)
{
	if (fmt == 0) {
		float f;
		uint32_t u = (uint32_t)a;
		memcpy(&f, &u, 4);
		return f;
	}
	double d;
	memcpy(&d, &a, 8);
	return d;
}

static uint64_t from_d(int fmt, double d)
{
	if (fmt == 0) {
		float f = (float)d;
		uint32_t u;
		memcpy(&u, &f, 4);
		return u;
	}
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

static bool is_nan(int fmt, uint64_t a)
{
	return fmt == 0 ? ((uint32_t)a & 0x7fffffffu) > 0x7f800000u : (a & ~(1ULL << 63)) > 0x7ff0000000000000ULL;
}

static bool is_snan(int fmt, uint64_t a)
{
	return is_nan(fmt, a) && !(fmt == 0 ? (a >> 22) & 1 : (a >> 51) & 1);
}

static uint64_t cnan(int fmt)
{
	return fmt == 0 ? RV_F32_CNAN : RV_F64_CNAN;
}

uint64_t rv_zfa_fli(int fmt, unsigned idx)
{
	/* 1: the smallest positive normal; 30: +inf; 31: canonical NaN */
	static const double table[32] = {
		-1.0, 0, 0x1p-16, 0x1p-15, 0x1p-8, 0x1p-7, 0.0625, 0.125, 0.25, 0.3125, 0.375, 0.4375, 0.5, 0.625, 0.75,
		0.875, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 8.0, 16.0, 128.0, 256.0, 0x1p15, 0x1p16, 0, 0,
	};
	idx &= 31;
	if (idx == 1)
		return fmt == 0 ? 0x00800000u : 0x0010000000000000ULL;
	if (idx == 30)
		return fmt == 0 ? 0x7f800000u : 0x7ff0000000000000ULL;
	if (idx == 31)
		return cnan(fmt);
	return from_d(fmt, table[idx]);
}

uint64_t rv_zfa_round(int fmt, uint64_t a, int rm, bool nx, uint32_t *ff)
{
	if (is_nan(fmt, a)) {
		if (is_snan(fmt, a))
			*ff |= RV_FFLAG_NV;
		return cnan(fmt);
	}
	double d = to_d(fmt, a);
	if (!(d > -0x1p52 && d < 0x1p52)) /* infinities and values already integral */
		return a;
	double t = (double)(int64_t)d; /* truncated, exact */
	if (t == 0 && d < 0)
		t = -0.0;
	double frac = d - t, half = frac < 0 ? -frac : frac;
	if (frac == 0)
		return a;
	double away = d < 0 ? t - 1 : t + 1, r = t;
	switch (rm) {
	case RV_RM_RNE: r = half > 0.5 || (half == 0.5 && ((int64_t)t & 1)) ? away : t; break;
	case RV_RM_RDN: r = d < 0 ? away : t; break;
	case RV_RM_RUP: r = d > 0 ? away : t; break;
	case RV_RM_RMM: r = half >= 0.5 ? away : t; break;
	default: break; /* RTZ */
	}
	if (nx)
		*ff |= RV_FFLAG_NX;
	return from_d(fmt, r);
}

uint64_t rv_zfa_minmax(int fmt, uint64_t a, uint64_t b, bool max, uint32_t *ff)
{
	if (is_nan(fmt, a) || is_nan(fmt, b)) {
		if (is_snan(fmt, a) || is_snan(fmt, b))
			*ff |= RV_FFLAG_NV;
		return cnan(fmt);
	}
	if (fmt == 0)
		return max ? rv_f32_max((uint32_t)a, (uint32_t)b, ff) : rv_f32_min((uint32_t)a, (uint32_t)b, ff);
	return max ? rv_f64_max(a, b, ff) : rv_f64_min(a, b, ff);
}

int rv_zfa_cmpq(int fmt, uint64_t a, uint64_t b, bool lt, uint32_t *ff)
{
	if (is_nan(fmt, a) || is_nan(fmt, b)) {
		if (is_snan(fmt, a) || is_snan(fmt, b))
			*ff |= RV_FFLAG_NV;
		return 0;
	}
	double x = to_d(fmt, a), y = to_d(fmt, b);
	return lt ? x < y : x <= y;
}

int64_t rv_zfa_fcvtmod(uint64_t a, uint32_t *ff)
{
	int exp = (int)((a >> 52) & 0x7ff);
	bool neg = a >> 63;
	uint64_t mant = a & ((1ULL << 52) - 1);
	if (exp == 0x7ff) { /* infinities and NaNs: 0, invalid */
		*ff |= RV_FFLAG_NV;
		return 0;
	}
	if (exp == 0 && mant == 0)
		return 0;
	if (exp < 1023) { /* |a| < 1 */
		*ff |= RV_FFLAG_NX;
		return 0;
	}
	mant |= 1ULL << 52;
	int shift = exp - 1023 - 52;
	uint64_t mag;
	bool inexact = false;
	if (shift >= 64)
		mag = 0;
	else if (shift >= 0)
		mag = mant << shift;
	else {
		mag = mant >> -shift;
		inexact = (mant & ((1ULL << -shift) - 1)) != 0;
	}
	/* out of int32's range: invalid (and not inexact) */
	if (exp - 1023 > 31 || mag > (neg ? 0x80000000ULL : 0x7fffffffULL))
		*ff |= RV_FFLAG_NV;
	else if (inexact)
		*ff |= RV_FFLAG_NX;
	uint64_t v = neg ? 0 - mag : mag;
	return (int64_t)(int32_t)(uint32_t)v;
}
