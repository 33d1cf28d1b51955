/* fpu.c - RISC-V F/D arithmetic on raw IEEE-754 bit patterns (see fpu.h for the contract).
 *
 * Every rounded operation has up to three tiers (docs/fpu.md has the full story):
 *
 *  1. Host arithmetic in the default round-to-nearest mode plus an error-free transformation
 *     (TwoSum, FMA-based TwoProduct and remainders, round-to-odd for the binary32 FMA) that
 *     yields the exact sign of the rounding error; every other rounding mode, RMM included,
 *     and the inexact flag follow from it without touching MXCSR. Only for normal results
 *     away from overflow and underflow (where NV, DZ, OF and UF cannot occur): add, sub,
 *     mul, div, sqrt and fused multiply-add in both formats, f64->f32, and integer
 *     conversions of moderate values (exact truncation plus fraction).
 *  2. The host SSE/FMA instruction under the requested rounding mode, loaded into MXCSR for
 *     that one instruction, flags read back from MXCSR (x86 detects tininess after rounding
 *     like RISC-V). Everything tier 1 declines except RMM and NaN operands of an FMA.
 *  3. Exact software: operands unpacked into integer significands and exponents, the
 *     operation done exactly in 128-bit integers (bits that cannot influence rounding OR-ed
 *     into a sticky bit 0), one rounding in round_pack(). RMM outside tier 1, FMA with NaN
 *     operands, hosts other than x86-64 (or -DRV_FPU_SOFT_ONLY), and the saturating integer
 *     conversions outside tier 1 (x86 returns its "integer indefinite" instead).
 *
 * Comparisons, min/max and classify are integer code. No function keeps state.
 */
#include "emulator/cpu/fpu.h"

#include <string.h>

/* Tier 1 needs every operation rounded exactly as written. */
#ifdef __FAST_MATH__
#error "fpu.c must not be compiled with -ffast-math"
#endif
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

__extension__ typedef unsigned __int128 u128;

/* ---- format descriptions ------------------------------------------------------------------ */

struct fmt {
	int width; /* 32 or 64 */
	int p;     /* precision including the hidden bit: 24 or 53 */
	int bias;  /* 127 or 1023; emax = bias, emin = 1 - bias */
};

static const struct fmt F32 = {32, 24, 127};
static const struct fmt F64 = {64, 53, 1023};

enum { C_ZERO, C_NORM, C_INF, C_QNAN, C_SNAN };

/* A finite nonzero value is m * 2^(exp - (p - 1)) with bit p-1 of m set (subnormals are
 * normalised here, so exp may be below emin). */
struct unp {
	int cls;
	int sign;
	int exp;
	uint64_t m;
};

static inline uint64_t sign_bit(const struct fmt *f) { return UINT64_C(1) << (f->width - 1); }
static inline uint64_t inf_bits(const struct fmt *f) { return (sign_bit(f) - 1) & ~((UINT64_C(1) << (f->p - 1)) - 1); }
static inline uint64_t cnan(const struct fmt *f) { return inf_bits(f) | (UINT64_C(1) << (f->p - 2)); }
static inline uint64_t max_finite(const struct fmt *f) { return inf_bits(f) - 1; }

static inline int is_nan(const struct fmt *f, uint64_t x) { return (x & (sign_bit(f) - 1)) > inf_bits(f); }
static inline int is_snan(const struct fmt *f, uint64_t x)
{
	return is_nan(f, x) && !(x & (UINT64_C(1) << (f->p - 2)));
}

static inline int clz64(uint64_t x) { return __builtin_clzll(x); }
static inline int msb128(u128 x)
{
	uint64_t hi = (uint64_t)(x >> 64);
	return hi ? 127 - clz64(hi) : 63 - clz64((uint64_t)x);
}

static struct unp unpack(const struct fmt *f, uint64_t x)
{
	struct unp u;
	int fb = f->p - 1;
	uint64_t frac = x & ((UINT64_C(1) << fb) - 1);
	int be = (int)((x >> fb) & ((UINT64_C(1) << (f->width - f->p)) - 1));

	u.sign = (int)((x >> (f->width - 1)) & 1);
	u.exp = 0;
	u.m = 0;
	if (be == 2 * f->bias + 1) {
		if (!frac)
			u.cls = C_INF;
		else
			u.cls = (frac >> (fb - 1)) ? C_QNAN : C_SNAN;
	} else if (be == 0) {
		if (!frac) {
			u.cls = C_ZERO;
		} else {
			int shift = clz64(frac) - (63 - fb);
			u.cls = C_NORM;
			u.m = frac << shift;
			u.exp = 1 - f->bias - shift;
		}
	} else {
		u.cls = C_NORM;
		u.m = frac | (UINT64_C(1) << fb);
		u.exp = be - f->bias;
	}
	return u;
}

/* ---- rounding ------------------------------------------------------------------------------ */

/* Whether to add one unit to `kept` given the dropped bits `rem` (half = their midpoint). */
static inline int round_up(uint64_t kept, uint64_t rem, uint64_t half, int sign, int rm)
{
	switch (rm) {
	case RV_RM_RNE:
		return rem > half || (rem == half && (kept & 1));
	case RV_RM_RMM:
		return rem >= half;
	case RV_RM_RDN:
		return rem && sign;
	case RV_RM_RUP:
		return rem && !sign;
	default:
		return 0;
	}
}

static uint64_t overflow(const struct fmt *f, int sign, int rm, uint32_t *ff)
{
	int to_inf = rm == RV_RM_RNE || rm == RV_RM_RMM || (rm == RV_RM_RDN && sign) || (rm == RV_RM_RUP && !sign);

	*ff |= RV_FFLAG_OF | RV_FFLAG_NX;
	return (sign ? sign_bit(f) : 0) | (to_inf ? inf_bits(f) : max_finite(f));
}

/* Rounds sign * sig * 2^(exp - 62) once, where bit 62 of sig is set and bit 0 is sticky
 * (the OR of every less significant bit of the exact value). Underflow is detected after
 * rounding, as RISC-V (and x86) do: the result is tiny if rounding the exact value to p
 * bits with an unbounded exponent range gives a magnitude below 2^emin. */
static uint64_t round_pack(const struct fmt *f, int sign, int exp, uint64_t sig, int rm, uint32_t *ff)
{
	int drop = 63 - f->p;
	uint64_t mask = (UINT64_C(1) << drop) - 1, half = UINT64_C(1) << (drop - 1);
	uint64_t sbit = sign ? sign_bit(f) : 0, kept, rem;
	int emin = 1 - f->bias;

	if (exp < emin) {
		int tiny = 1, sh = emin - exp;

		if (exp == emin - 1) {
			kept = sig >> drop;
			rem = sig & mask;
			if (kept + (uint64_t)round_up(kept, rem, half, sign, rm) == UINT64_C(1) << f->p)
				tiny = 0;
		}
		sig = sh >= 63 ? (sig != 0) : (sig >> sh) | ((sig & ((UINT64_C(1) << sh) - 1)) != 0);
		kept = sig >> drop;
		rem = sig & mask;
		kept += (uint64_t)round_up(kept, rem, half, sign, rm);
		if (rem)
			*ff |= tiny ? RV_FFLAG_NX | RV_FFLAG_UF : RV_FFLAG_NX;
		return sbit | kept; /* a carry into bit p-1 yields the smallest normal */
	}
	kept = sig >> drop;
	rem = sig & mask;
	kept += (uint64_t)round_up(kept, rem, half, sign, rm);
	if (kept >> f->p) {
		kept >>= 1;
		exp++;
	}
	if (exp > f->bias)
		return overflow(f, sign, rm, ff);
	if (rem)
		*ff |= RV_FFLAG_NX;
	return sbit | (((uint64_t)(exp + f->bias - 1) << (f->p - 1)) + kept);
}

/* Rounds sign * x * 2^e, x != 0; bit 0 of x may be sticky if x has more than p + 2 bits. */
static uint64_t round_pack_x(const struct fmt *f, int sign, u128 x, int e, int rm, uint32_t *ff)
{
	int n = msb128(x);
	uint64_t sig;

	if (n > 62) {
		int sh = n - 62;
		sig = (uint64_t)(x >> sh) | ((x & (((u128)1 << sh) - 1)) != 0);
	} else {
		sig = (uint64_t)x << (62 - n);
	}
	return round_pack(f, sign, e + n, sig, rm, ff);
}

/* sign_a * xa * 2^ea + sign_b * xb * 2^eb, rounded once; xa, xb nonzero and < 2^106. */
static uint64_t add_round(const struct fmt *f, int sa, u128 xa, int ea, int sb, u128 xb, int eb, int rm,
			  uint32_t *ff)
{
	int na, nb, d, sign;
	u128 x;

	/* normalise both to bit 125; each keeps at least 20 zero low bits */
	na = msb128(xa);
	nb = msb128(xb);
	xa <<= 125 - na;
	ea -= 125 - na;
	xb <<= 125 - nb;
	eb -= 125 - nb;
	if (ea < eb || (ea == eb && xa < xb)) {
		u128 tx = xa;
		int te = ea, ts = sa;
		xa = xb, ea = eb, sa = sb;
		xb = tx, eb = te, sb = ts;
	}
	d = ea - eb;
	if (d >= 127)
		xb = 1;
	else if (d > 0)
		xb = (xb >> d) | ((xb & (((u128)1 << d) - 1)) != 0);
	sign = sa;
	if (sa == sb) {
		x = xa + xb;
	} else {
		x = xa - xb;
		if (x == 0)
			return rm == RV_RM_RDN ? sign_bit(f) : 0;
	}
	return round_pack_x(f, sign, x, ea, rm, ff);
}

static inline uint64_t nan_result(const struct fmt *f, int invalid, uint32_t *ff)
{
	if (invalid)
		*ff |= RV_FFLAG_NV;
	return cnan(f);
}

/* ---- software arithmetic ------------------------------------------------------------------- */

static uint64_t soft_add(const struct fmt *f, uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
	struct unp ua = unpack(f, a), ub = unpack(f, b);
	int fb = f->p - 1;

	if (ua.cls >= C_QNAN || ub.cls >= C_QNAN)
		return nan_result(f, ua.cls == C_SNAN || ub.cls == C_SNAN, ff);
	if (ua.cls == C_INF) {
		if (ub.cls == C_INF && ua.sign != ub.sign)
			return nan_result(f, 1, ff);
		return a;
	}
	if (ub.cls == C_INF)
		return b;
	if (ua.cls == C_ZERO && ub.cls == C_ZERO) {
		int s = rm == RV_RM_RDN ? (ua.sign | ub.sign) : (ua.sign & ub.sign);
		return s ? sign_bit(f) : 0;
	}
	if (ua.cls == C_ZERO)
		return b;
	if (ub.cls == C_ZERO)
		return a;
	return add_round(f, ua.sign, ua.m, ua.exp - fb, ub.sign, ub.m, ub.exp - fb, rm, ff);
}

static uint64_t soft_mul(const struct fmt *f, uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
	struct unp ua = unpack(f, a), ub = unpack(f, b);
	int sign = ua.sign ^ ub.sign, fb = f->p - 1;
	uint64_t sbit = sign ? sign_bit(f) : 0;

	if (ua.cls >= C_QNAN || ub.cls >= C_QNAN)
		return nan_result(f, ua.cls == C_SNAN || ub.cls == C_SNAN, ff);
	if (ua.cls == C_INF || ub.cls == C_INF) {
		if (ua.cls == C_ZERO || ub.cls == C_ZERO)
			return nan_result(f, 1, ff);
		return sbit | inf_bits(f);
	}
	if (ua.cls == C_ZERO || ub.cls == C_ZERO)
		return sbit;
	return round_pack_x(f, sign, (u128)ua.m * ub.m, ua.exp + ub.exp - 2 * fb, rm, ff);
}

static uint64_t soft_div(const struct fmt *f, uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
	struct unp ua = unpack(f, a), ub = unpack(f, b);
	int sign = ua.sign ^ ub.sign;
	uint64_t sbit = sign ? sign_bit(f) : 0;
	u128 num, q;

	if (ua.cls >= C_QNAN || ub.cls >= C_QNAN)
		return nan_result(f, ua.cls == C_SNAN || ub.cls == C_SNAN, ff);
	if (ua.cls == C_INF)
		return ub.cls == C_INF ? nan_result(f, 1, ff) : sbit | inf_bits(f);
	if (ub.cls == C_INF)
		return sbit;
	if (ub.cls == C_ZERO) {
		if (ua.cls == C_ZERO)
			return nan_result(f, 1, ff);
		*ff |= RV_FFLAG_DZ;
		return sbit | inf_bits(f);
	}
	if (ua.cls == C_ZERO)
		return sbit;
	num = (u128)ua.m << 64;
	q = num / ub.m;
	q |= (num % ub.m) != 0;
	return round_pack_x(f, sign, q, ua.exp - ub.exp - 64, rm, ff);
}

/* floor(sqrt(x)) for x < 2^126, bit by bit. */
static uint64_t isqrt128(u128 x, int *exact)
{
	u128 rem = 0, root = 0;

	for (int i = 63; i >= 0; i--) {
		rem = (rem << 2) | (x >> (2 * i) & 3);
		root <<= 1;
		if (rem >= 2 * root + 1) {
			rem -= 2 * root + 1;
			root++;
		}
	}
	*exact = rem == 0;
	return (uint64_t)root;
}

static uint64_t soft_sqrt(const struct fmt *f, uint64_t a, int rm, uint32_t *ff)
{
	struct unp ua = unpack(f, a);
	int k, s, exact;
	uint64_t r;

	if (ua.cls >= C_QNAN)
		return nan_result(f, ua.cls == C_SNAN, ff);
	if (ua.cls == C_ZERO)
		return a;
	if (ua.sign)
		return nan_result(f, 1, ff);
	if (ua.cls == C_INF)
		return a;
	k = ua.exp - (f->p - 1);
	s = 124 - (f->p - 1);
	if ((k - s) & 1)
		s++;
	r = isqrt128((u128)ua.m << s, &exact);
	return round_pack_x(f, 0, r | (uint64_t)!exact, (k - s) / 2, rm, ff);
}

/* a*b + c with a single rounding; callers negate operands for the other three forms. */
static uint64_t soft_fma(const struct fmt *f, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff)
{
	struct unp ua = unpack(f, a), ub = unpack(f, b), uc = unpack(f, c);
	int ps = ua.sign ^ ub.sign, fb = f->p - 1;
	int inf_times_zero = (ua.cls == C_INF && ub.cls == C_ZERO) || (ua.cls == C_ZERO && ub.cls == C_INF);

	if (ua.cls >= C_QNAN || ub.cls >= C_QNAN || uc.cls >= C_QNAN)
		return nan_result(f, ua.cls == C_SNAN || ub.cls == C_SNAN || uc.cls == C_SNAN || inf_times_zero,
				  ff);
	if (inf_times_zero)
		return nan_result(f, 1, ff);
	if (ua.cls == C_INF || ub.cls == C_INF) {
		if (uc.cls == C_INF && uc.sign != ps)
			return nan_result(f, 1, ff);
		return (ps ? sign_bit(f) : 0) | inf_bits(f);
	}
	if (uc.cls == C_INF)
		return c;
	if (ua.cls == C_ZERO || ub.cls == C_ZERO) {
		if (uc.cls == C_ZERO) {
			int s = rm == RV_RM_RDN ? (ps | uc.sign) : (ps & uc.sign);
			return s ? sign_bit(f) : 0;
		}
		return c;
	}
	if (uc.cls == C_ZERO)
		return round_pack_x(f, ps, (u128)ua.m * ub.m, ua.exp + ub.exp - 2 * fb, rm, ff);
	return add_round(f, ps, (u128)ua.m * ub.m, ua.exp + ub.exp - 2 * fb, uc.sign, uc.m, uc.exp - fb, rm, ff);
}

/* ---- conversions ---------------------------------------------------------------------------- */

/* Float -> integer of `bits` bits, signed or not, saturating. Returns the two's complement
 * bit pattern of the result in the low `bits` bits (upper bits as for a 64-bit value). */
static uint64_t soft_to_int(const struct fmt *f, uint64_t a, int is_signed, int bits, int rm, uint32_t *ff)
{
	struct unp u = unpack(f, a);
	uint64_t pos_max = is_signed ? (UINT64_C(1) << (bits - 1)) - 1 : UINT64_MAX >> (64 - bits);
	uint64_t neg_lim = is_signed ? UINT64_C(1) << (bits - 1) : 0; /* largest allowed magnitude if negative */
	uint64_t neg_min = is_signed ? (uint64_t)0 - neg_lim : 0;
	u128 mag;
	uint64_t rem = 0;
	int k;

	switch (u.cls) {
	case C_QNAN:
	case C_SNAN:
		*ff |= RV_FFLAG_NV;
		return pos_max;
	case C_INF:
		*ff |= RV_FFLAG_NV;
		return u.sign ? neg_min : pos_max;
	case C_ZERO:
		return 0;
	default:
		break;
	}
	if (u.exp >= 64) {
		*ff |= RV_FFLAG_NV;
		return u.sign ? neg_min : pos_max;
	}
	k = u.exp - (f->p - 1);
	if (k >= 0) {
		mag = (u128)u.m << k;
	} else {
		int sh = -k > 62 ? 62 : -k;
		uint64_t half = UINT64_C(1) << (sh - 1), ip = u.m >> sh;

		rem = u.m & ((UINT64_C(1) << sh) - 1);
		mag = ip + (uint64_t)round_up(ip, rem, half, u.sign, rm);
	}
	if (u.sign ? mag > neg_lim : mag > pos_max) {
		*ff |= RV_FFLAG_NV;
		return u.sign ? neg_min : pos_max;
	}
	if (rem)
		*ff |= RV_FFLAG_NX;
	return u.sign ? (uint64_t)0 - (uint64_t)mag : (uint64_t)mag;
}

static uint64_t soft_from_int(const struct fmt *f, int sign, uint64_t mag, int rm, uint32_t *ff)
{
	if (!mag)
		return 0;
	return round_pack_x(f, sign, mag, 0, rm, ff);
}

/* Converts between formats; NaN -> canonical NaN of `to` (NV for sNaN). */
static uint64_t soft_convert(const struct fmt *from, const struct fmt *to, uint64_t a, int rm, uint32_t *ff)
{
	struct unp u = unpack(from, a);
	uint64_t sbit = u.sign ? sign_bit(to) : 0;

	switch (u.cls) {
	case C_QNAN:
	case C_SNAN:
		return nan_result(to, u.cls == C_SNAN, ff);
	case C_INF:
		return sbit | inf_bits(to);
	case C_ZERO:
		return sbit;
	default:
		return round_pack_x(to, u.sign, u.m, u.exp - (from->p - 1), rm, ff);
	}
}

/* ---- comparisons --------------------------------------------------------------------------- */

/* a < b in the order where -0 < +0; neither is NaN. */
static inline int total_lt(const struct fmt *f, uint64_t a, uint64_t b)
{
	int sa = (int)(a >> (f->width - 1)), sb = (int)(b >> (f->width - 1));

	if (sa != sb)
		return sa;
	return sa ? a > b : a < b;
}

static uint64_t minmax(const struct fmt *f, uint64_t a, uint64_t b, int want_max, uint32_t *ff)
{
	int na = is_nan(f, a), nb = is_nan(f, b);

	if (is_snan(f, a) || is_snan(f, b))
		*ff |= RV_FFLAG_NV;
	if (na && nb)
		return cnan(f);
	if (na)
		return b;
	if (nb)
		return a;
	return total_lt(f, a, b) == want_max ? b : a;
}

static inline int both_zero(const struct fmt *f, uint64_t a, uint64_t b)
{
	return ((a | b) & (sign_bit(f) - 1)) == 0;
}

static int cmp_eq(const struct fmt *f, uint64_t a, uint64_t b, uint32_t *ff)
{
	if (is_nan(f, a) || is_nan(f, b)) {
		if (is_snan(f, a) || is_snan(f, b))
			*ff |= RV_FFLAG_NV;
		return 0;
	}
	return a == b || both_zero(f, a, b);
}

static int cmp_lt(const struct fmt *f, uint64_t a, uint64_t b, int or_equal, uint32_t *ff)
{
	if (is_nan(f, a) || is_nan(f, b)) {
		*ff |= RV_FFLAG_NV;
		return 0;
	}
	if (a == b || both_zero(f, a, b))
		return or_equal;
	return total_lt(f, a, b);
}

static uint32_t classify(const struct fmt *f, uint64_t a)
{
	struct unp u = unpack(f, a);
	int be = (int)((a >> (f->p - 1)) & ((UINT64_C(1) << (f->width - f->p)) - 1));

	switch (u.cls) {
	case C_QNAN:
		return RV_FCLASS_QNAN;
	case C_SNAN:
		return RV_FCLASS_SNAN;
	case C_INF:
		return u.sign ? RV_FCLASS_NEG_INF : RV_FCLASS_POS_INF;
	case C_ZERO:
		return u.sign ? RV_FCLASS_NEG_ZERO : RV_FCLASS_POS_ZERO;
	default:
		if (be == 0)
			return u.sign ? RV_FCLASS_NEG_SUBNORMAL : RV_FCLASS_POS_SUBNORMAL;
		return u.sign ? RV_FCLASS_NEG_NORMAL : RV_FCLASS_POS_NORMAL;
	}
}

/* ---- host paths (x86-64) -------------------------------------------------------------------- */

#define SGN32 UINT32_C(0x80000000)
#define SGN64 UINT64_C(0x8000000000000000)

/* bit patterns <-> host values (the host is IEEE-754 binary32/binary64) */
static inline float f32_of(uint32_t x)
{
	float v;
	memcpy(&v, &x, sizeof v);
	return v;
}
static inline uint32_t bits_f32(float v)
{
	uint32_t x;
	memcpy(&x, &v, sizeof x);
	return x;
}
static inline double f64_of(uint64_t x)
{
	double v;
	memcpy(&v, &x, sizeof v);
	return v;
}
static inline uint64_t bits_f64(double v)
{
	uint64_t x;
	memcpy(&x, &v, sizeof x);
	return x;
}

/* -DRV_FPU_SOFT_ONLY builds tiers 1-2 out on x86-64 too (to test the portable code). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(RV_FPU_SOFT_ONLY)
#define HAVE_HOST_FPU 1

static inline uint32_t canon32(uint32_t r) { return (r & 0x7fffffffu) > 0x7f800000u ? RV_F32_CNAN : r; }
static inline uint64_t canon64(uint64_t r)
{
	return (r & UINT64_C(0x7fffffffffffffff)) > UINT64_C(0x7ff0000000000000) ? RV_F64_CNAN : r;
}

static inline int host_has_fma(void) { return __builtin_cpu_supports("fma"); }

/* -- tier 1: round-to-nearest host arithmetic plus an exact error term -------------------------
 *
 * Touching MXCSR is slow (stmxcsr/ldmxcsr cost 5-10 ns each on current cores, more than the
 * arithmetic), so the common case never does: it runs in the thread's default environment,
 * round to nearest even, which fpu.c requires of its callers (see fpu.h) and the compiler
 * assumes anyway. Next to the rounded result r it computes the sign of the rounding error
 * (exact - r) with an error-free transformation:
 *   add/sub  TwoSum:         exact - r = (x - (r - bb)) + (y - bb), bb = r - x
 *   mul      TwoProduct:     exact - r = fma(x, y, -r)
 *   div      remainder:      sign(exact - r) = sign(fma(-r, y, x)) * sign(y)
 *   sqrt     remainder:      sign(exact - r) = sign(fma(-r, r, x))
 * binary32 operations run in binary64 instead, where products of two binary32 values are
 * exact and double rounding is innocuous for + - * / sqrt (53 >= 2 * 24 + 2); the binary32
 * fused multiply-add rounds the binary64 sum to odd first, which makes the second rounding
 * correct. From r and the error sign, adjust() derives every other rounding mode: directed
 * modes step r by one unit in the last place, RMM steps away from zero on an exact tie.
 * This is valid only while the result and the error terms are normal numbers far from
 * overflow: the checks below send everything else (zeros, subnormals, huge or tiny results,
 * infinities, NaNs, invalid operations) to tier 2. No NV, DZ, OF or UF can arise in tier 1,
 * and NX is set exactly when the error is nonzero. */

static inline int biased32(uint32_t x) { return (int)((x >> 23) & 0xff); }
static inline int biased64(uint64_t x) { return (int)((x >> 52) & 0x7ff); }

/* r's biased exponent is in [lo, hi]: hi keeps a step up finite (max finite is 254 / 2046),
 * lo >= 2 keeps a step down normal and the exact value above the tininess threshold. */
static inline int in32(uint32_t r, int lo) { return (unsigned)(biased32(r) - lo) <= (unsigned)(253 - lo); }
static inline int in64(uint64_t r, int lo) { return (unsigned)(biased64(r) - lo) <= (unsigned)(2045 - lo); }
/* binary64 products and remainders of results at least 2^-915 stay exact (no underflow) */
#define LO64_EXACT 108
/* sqrt's remainder x - r*r needs r >= 2^-485; be generous */
#define LO64_SQRT 600

static inline int sgn(double v) { return (v > 0) - (v < 0); }

/* Half a unit in the last place of the normal number r (biased exponent e >= 2), as bits. */
static inline uint32_t half_ulp32(uint32_t r)
{
	int e = biased32(r);
	return e > 24 ? (uint32_t)(e - 24) << 23 : UINT32_C(1) << (e - 2);
}
static inline uint64_t half_ulp64(uint64_t r)
{
	int e = biased64(r);
	return e > 53 ? (uint64_t)(e - 53) << 52 : UINT64_C(1) << (e - 2);
}

/* r rounded to nearest even, dir = sign(exact - r), tie = the exact value lies halfway
 * between r and its neighbour away from zero. Returns the result for mode rm. */
#define ADJUST(r, dir, tie, rm, ff, signbit)                                                             \
	do {                                                                                             \
		int neg_ = ((r) & (signbit)) != 0, away_ = ((dir) > 0) != neg_;                           \
		if (!(dir))                                                                              \
			return (r);                                                                      \
		*(ff) |= RV_FFLAG_NX;                                                                    \
		switch (rm) {                                                                            \
		case RV_RM_RTZ:                                                                          \
			return away_ ? (r) : (r)-1;                                                      \
		case RV_RM_RDN:                                                                          \
			return (dir) > 0 ? (r) : neg_ ? (r) + 1 : (r)-1;                                 \
		case RV_RM_RUP:                                                                          \
			return (dir) < 0 ? (r) : neg_ ? (r)-1 : (r) + 1;                                 \
		case RV_RM_RMM:                                                                          \
			return (tie) && away_ ? (r) + 1 : (r);                                           \
		default:                                                                                 \
			return (r);                                                                      \
		}                                                                                        \
	} while (0)

static inline uint32_t adjust32(uint32_t r, int dir, int tie, int rm, uint32_t *ff)
{
	ADJUST(r, dir, tie, rm, ff, SGN32);
}
static inline uint64_t adjust64(uint64_t r, int dir, int tie, int rm, uint32_t *ff)
{
	ADJUST(r, dir, tie, rm, ff, SGN64);
}

static inline double host_fma(double a, double b, double c)
{
	__asm__ volatile("vfmadd231sd %[b], %[a], %[c]" : [c] "+x"(c) : [a] "x"(a), [b] "x"(b));
	return c;
}
static inline double host_sqrt(double a)
{
	__asm__ volatile("sqrtsd %[a], %[a]" : [a] "+x"(a));
	return a;
}

/* binary32 result from its exact binary64 value d, or from d rounded to odd (then d sits
 * on the same side of every binary32 number and midpoint as the exact value, and is never
 * itself a midpoint): correct rounding for every mode. Returns 0 if tier 1 does not apply. */
static inline int fast32_from64(double d, int rm, uint32_t *ff, uint32_t *out)
{
	float r = (float)d;
	uint32_t rb = bits_f32(r);
	double err;

	if (!in32(rb, 2))
		return 0;
	err = d - (double)r;
	*out = adjust32(rb, sgn(err), bits_f64(err < 0 ? -err : err) == bits_f64((double)f32_of(half_ulp32(rb))),
			rm, ff);
	return 1;
}

/* -- tier 2: the host instruction under rounding mode rm, flags from MXCSR -------------------
 * MXCSR: flags IE DE ZE OE UE PE in bits 0-5, masks in 7-12, RC in 13-14 (00 nearest, 01 down,
 * 10 up, 11 toward zero), FTZ bit 15, DAZ bit 6. One asm block saves MXCSR, loads the working
 * value (flags clear, all exceptions masked, FTZ/DAZ off, RC = rm), runs the instruction,
 * reads MXCSR back and restores the caller's value, so no other code can run in between.
 * SSE detects tininess after rounding and, with UE masked, raises it only for tiny inexact
 * results, exactly like RISC-V. A NaN result is replaced by the canonical NaN. */
#define MX_MASKED 0x1f80u
static const uint32_t mx_rc[4] = {0x0000, 0x6000, 0x2000, 0x4000}; /* RNE RTZ RDN RUP */

static inline uint32_t mx_flags(uint32_t mx)
{
	return (mx & 1 ? RV_FFLAG_NV : 0) | (mx & 4 ? RV_FFLAG_DZ : 0) | (mx & 8 ? RV_FFLAG_OF : 0) |
	       (mx & 16 ? RV_FFLAG_UF : 0) | (mx & 32 ? RV_FFLAG_NX : 0);
}

/* R_ = R_ <INSN> B_ under rounding mode RM_; flags OR-ed into *FF_. */
#define HOST_OP(INSN, R_, B_, RM_, FF_)                                                                  \
	do {                                                                                             \
		uint32_t work_ = MX_MASKED | mx_rc[RM_], save_ = 0, after_ = 0;                          \
		__asm__ volatile("stmxcsr %[sv]\n\t"                                                     \
				 "ldmxcsr %[w]\n\t" INSN " %[b], %[r]\n\t"                              \
				 "stmxcsr %[af]\n\t"                                                    \
				 "ldmxcsr %[sv]"                                                        \
				 : [r] "+x"(R_), [sv] "+m"(save_), [af] "+m"(after_)                     \
				 : [b] "x"(B_), [w] "m"(work_));                                        \
		*(FF_) |= mx_flags(after_);                                                              \
	} while (0)

/* C_ = A_ * B_ + C_ (vfmadd231) under rounding mode RM_. */
#define HOST_FMA(INSN, A_, B_, C_, RM_, FF_)                                                             \
	do {                                                                                             \
		uint32_t work_ = MX_MASKED | mx_rc[RM_], save_ = 0, after_ = 0;                          \
		__asm__ volatile("stmxcsr %[sv]\n\t"                                                     \
				 "ldmxcsr %[w]\n\t" INSN " %[b], %[a], %[c]\n\t"                        \
				 "stmxcsr %[af]\n\t"                                                    \
				 "ldmxcsr %[sv]"                                                        \
				 : [c] "+x"(C_), [sv] "+m"(save_), [af] "+m"(after_)                     \
				 : [a] "x"(A_), [b] "x"(B_), [w] "m"(work_));                           \
		*(FF_) |= mx_flags(after_);                                                              \
	} while (0)

/* tier 2 for a binary operation; tier 3 (software) for RMM */
#define TIER2_BIN32(INSN, a, b, rm, ff, softexpr)                                                        \
	do {                                                                                             \
		float r_ = f32_of(a), y_ = f32_of(b);                                                    \
		if ((rm) == RV_RM_RMM)                                                                   \
			return (uint32_t)(softexpr);                                                     \
		HOST_OP(INSN, r_, y_, rm, ff);                                                           \
		return canon32(bits_f32(r_));                                                            \
	} while (0)
#define TIER2_BIN64(INSN, a, b, rm, ff, softexpr)                                                        \
	do {                                                                                             \
		double r_ = f64_of(a), y_ = f64_of(b);                                                   \
		if ((rm) == RV_RM_RMM)                                                                   \
			return (softexpr);                                                               \
		HOST_OP(INSN, r_, y_, rm, ff);                                                           \
		return canon64(bits_f64(r_));                                                            \
	} while (0)

#else
#define HAVE_HOST_FPU 0
#endif

/* ---- public API: arithmetic ---------------------------------------------------------------- */

uint32_t rv_f32_add(uint32_t a, uint32_t b, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	float x = f32_of(a), y = f32_of(b), r = x + y;
	uint32_t rb = bits_f32(r);

	if (in32(rb, 2)) {
		float bb = r - x, err = (x - (r - bb)) + (y - bb);
		return adjust32(rb, sgn(err), (bits_f32(err) & ~SGN32) == half_ulp32(rb), rm, ff);
	}
	/* A zero sum is exact (tiny sums are); its sign is the host's except in RDN, where it
	 * is -0 unless both operands are +0. */
	if (!(rb << 1))
		return rm == RV_RM_RDN ? (a | b) & SGN32 : rb;
	TIER2_BIN32("addss", a, b, rm, ff, soft_add(&F32, a, b, rm, ff));
#else
	return (uint32_t)soft_add(&F32, a, b, rm, ff);
#endif
}

uint32_t rv_f32_sub(uint32_t a, uint32_t b, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	return rv_f32_add(a, b ^ SGN32, rm, ff); /* x - y == x + (-y) in every mode, NaNs canonical */
#else
	return (uint32_t)soft_add(&F32, a, b ^ SGN32, rm, ff);
#endif
}

uint32_t rv_f32_mul(uint32_t a, uint32_t b, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	uint32_t r;

	if (fast32_from64((double)f32_of(a) * (double)f32_of(b), rm, ff, &r))
		return r;
	if (!(a << 1) || !(b << 1)) { /* zero times finite: exact signed zero */
		r = (a ^ b) & SGN32;
		if (biased32(a) != 0xff && biased32(b) != 0xff)
			return r;
	}
	TIER2_BIN32("mulss", a, b, rm, ff, soft_mul(&F32, a, b, rm, ff));
#else
	return (uint32_t)soft_mul(&F32, a, b, rm, ff);
#endif
}

uint32_t rv_f32_div(uint32_t a, uint32_t b, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	double x = f32_of(a), y = f32_of(b);
	float r = (float)(x / y);
	uint32_t rb = bits_f32(r);

	if (in32(rb, 2)) {
		double rem = x - (double)r * y; /* exact: r * y has 48 bits, the difference is representable */
		return adjust32(rb, sgn(rem) * sgn(y), 0, rm, ff); /* quotients are never exact ties */
	}
	TIER2_BIN32("divss", a, b, rm, ff, soft_div(&F32, a, b, rm, ff));
#else
	return (uint32_t)soft_div(&F32, a, b, rm, ff);
#endif
}

uint32_t rv_f32_sqrt(uint32_t a, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	double x = f32_of(a);
	float r = (float)host_sqrt(x);
	uint32_t rb = bits_f32(r);

	if (in32(rb, 2) && !(a & SGN32)) {
		double rem = x - (double)r * (double)r;
		return adjust32(rb, sgn(rem), 0, rm, ff); /* square roots are never exact ties */
	}
	if (rm != RV_RM_RMM) {
		float q = f32_of(a), v = q;
		HOST_OP("sqrtss", q, v, rm, ff);
		return canon32(bits_f32(q));
	}
#endif
	return (uint32_t)soft_sqrt(&F32, a, rm, ff);
}

uint64_t rv_f64_add(uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	double x = f64_of(a), y = f64_of(b), r = x + y;
	uint64_t rb = bits_f64(r);

	if (in64(rb, 2)) {
		double bb = r - x, err = (x - (r - bb)) + (y - bb);
		return adjust64(rb, sgn(err), (bits_f64(err) & ~SGN64) == half_ulp64(rb), rm, ff);
	}
	if (!(rb << 1))
		return rm == RV_RM_RDN ? (a | b) & SGN64 : rb;
	TIER2_BIN64("addsd", a, b, rm, ff, soft_add(&F64, a, b, rm, ff));
#else
	return soft_add(&F64, a, b, rm, ff);
#endif
}

uint64_t rv_f64_sub(uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	return rv_f64_add(a, b ^ SGN64, rm, ff);
#else
	return soft_add(&F64, a, b ^ SGN64, rm, ff);
#endif
}

uint64_t rv_f64_mul(uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	double x = f64_of(a), y = f64_of(b), r = x * y;
	uint64_t rb = bits_f64(r);

	if (in64(rb, LO64_EXACT) && host_has_fma()) {
		double err = host_fma(x, y, -r);
		return adjust64(rb, sgn(err), (bits_f64(err) & ~SGN64) == half_ulp64(rb), rm, ff);
	}
	if ((!(a << 1) || !(b << 1)) && biased64(a) != 0x7ff && biased64(b) != 0x7ff)
		return (a ^ b) & SGN64; /* zero times finite: exact signed zero */
	TIER2_BIN64("mulsd", a, b, rm, ff, soft_mul(&F64, a, b, rm, ff));
#else
	return soft_mul(&F64, a, b, rm, ff);
#endif
}

uint64_t rv_f64_div(uint64_t a, uint64_t b, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	double x = f64_of(a), y = f64_of(b), r = x / y;
	uint64_t rb = bits_f64(r);

	if (in64(rb, LO64_EXACT) && biased64(a) >= LO64_EXACT && host_has_fma()) {
		double rem = host_fma(-r, y, x);
		return adjust64(rb, sgn(rem) * sgn(y), 0, rm, ff);
	}
	TIER2_BIN64("divsd", a, b, rm, ff, soft_div(&F64, a, b, rm, ff));
#else
	return soft_div(&F64, a, b, rm, ff);
#endif
}

uint64_t rv_f64_sqrt(uint64_t a, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	double x = f64_of(a), r = host_sqrt(x);
	uint64_t rb = bits_f64(r);

	if (in64(rb, LO64_SQRT) && !(a & SGN64) && host_has_fma()) {
		double rem = host_fma(-r, r, x);
		return adjust64(rb, sgn(rem), 0, rm, ff);
	}
	if (rm != RV_RM_RMM) {
		double q = x, v = x;
		HOST_OP("sqrtsd", q, v, rm, ff);
		return canon64(bits_f64(q));
	}
#endif
	return soft_sqrt(&F64, a, rm, ff);
}

/* a*b + c, rounded once. binary32, tier 1: the product is exact in binary64; the sum is
 * rounded to odd in binary64 (TwoSum gives the error; an inexact even result is moved to its
 * odd neighbour towards the exact value), after which rounding to binary32 is correct.
 * binary64 uses the host FMA under MXCSR (tier 2). NaN operands go to software: x86 and
 * RISC-V disagree on whether inf*0 + qNaN is invalid (RISC-V says yes). */
static uint32_t fma32(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	double p = (double)f32_of(a) * (double)f32_of(b), z = f32_of(c), s = p + z;
	double bb = s - p, t = (p - (s - bb)) + (z - bb);
	uint64_t sb = bits_f64(s);
	uint32_t r;

	if (t != 0 && !(sb & 1) && s != 0)
		s = f64_of((t > 0) == (s > 0) ? sb + 1 : sb - 1);
	if (in64(sb, 1) && fast32_from64(s, rm, ff, &r))
		return r;
	if (rm != RV_RM_RMM && !is_nan(&F32, a) && !is_nan(&F32, b) && !is_nan(&F32, c) && host_has_fma()) {
		float x = f32_of(a), y = f32_of(b), q = f32_of(c);
		HOST_FMA("vfmadd231ss", x, y, q, rm, ff);
		return canon32(bits_f32(q));
	}
#endif
	return (uint32_t)soft_fma(&F32, a, b, c, rm, ff);
}

#if HAVE_HOST_FPU
/* binary64 a*b + c, tier 1. r = fma(x, y, z) rounded to nearest; the error is
 *   exact - r = (s - r) + t + pl,  where x*y = ph + pl (TwoProduct), ph + z = s + t (TwoSum),
 * s - r is exact when s and r are within a factor of two (Sterbenz). The sign of the
 * three-term sum comes from its floating-point estimate when that exceeds 2^-50 times the
 * sum of magnitudes (the estimate's error is below 2^-51.9 times it); otherwise, and for
 * RMM unless the result is exact, tier 1 declines. Returns 0 if it declines. */
static int fma64_fast(double x, double y, double z, int rm, uint32_t *ff, uint64_t *out)
{
	double r = host_fma(x, y, z), ph = x * y, pl, s, bb, t, u, est, mag;
	uint64_t rb = bits_f64(r);
	int dir;

	if (ph == 0 && (x == 0 || y == 0) && z != 0 && biased64(bits_f64(z)) != 0x7ff) {
		*out = bits_f64(z); /* zero times finite plus nonzero finite z: exactly z */
		return 1;
	}
	if (!in64(rb, LO64_EXACT) || !in64(bits_f64(ph), LO64_EXACT))
		return 0;
	pl = host_fma(x, y, -ph);
	s = ph + z;
	bb = s - ph;
	t = (ph - (s - bb)) + (z - bb);
	if ((s > 0) != (r > 0) || __builtin_fabs(s) > 2 * __builtin_fabs(r) || __builtin_fabs(r) > 2 * __builtin_fabs(s))
		return 0;
	u = s - r;
	if (u == 0 && t == 0 && pl == 0) {
		dir = 0;
	} else {
		if (rm == RV_RM_RMM)
			return 0; /* would need an exact tie test */
		est = u + (t + pl);
		mag = __builtin_fabs(u) + __builtin_fabs(t) + __builtin_fabs(pl);
		if (!(__builtin_fabs(est) * 0x1p50 > mag))
			return 0;
		dir = sgn(est);
	}
	*out = adjust64(rb, dir, 0, rm, ff);
	return 1;
}
#endif

static uint64_t fma64(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	uint64_t res;

	if (host_has_fma() && fma64_fast(f64_of(a), f64_of(b), f64_of(c), rm, ff, &res))
		return res;
	if (rm != RV_RM_RMM && !is_nan(&F64, a) && !is_nan(&F64, b) && !is_nan(&F64, c) && host_has_fma()) {
		double x = f64_of(a), y = f64_of(b), r = f64_of(c);
		HOST_FMA("vfmadd231sd", x, y, r, rm, ff);
		return canon64(bits_f64(r));
	}
#endif
	return soft_fma(&F64, a, b, c, rm, ff);
}

uint32_t rv_f32_madd(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *ff) { return fma32(a, b, c, rm, ff); }
uint32_t rv_f32_msub(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *ff)
{
	return fma32(a, b, c ^ SGN32, rm, ff);
}
uint32_t rv_f32_nmsub(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *ff)
{
	return fma32(a ^ SGN32, b, c, rm, ff);
}
uint32_t rv_f32_nmadd(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *ff)
{
	return fma32(a ^ SGN32, b, c ^ SGN32, rm, ff);
}
uint64_t rv_f64_madd(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff) { return fma64(a, b, c, rm, ff); }
uint64_t rv_f64_msub(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff)
{
	return fma64(a, b, c ^ SGN64, rm, ff);
}
uint64_t rv_f64_nmsub(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff)
{
	return fma64(a ^ SGN64, b, c, rm, ff);
}
uint64_t rv_f64_nmadd(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff)
{
	return fma64(a ^ SGN64, b, c ^ SGN64, rm, ff);
}

uint32_t rv_f64_to_f32(uint64_t a, int rm, uint32_t *ff)
{
#if HAVE_HOST_FPU
	uint32_t r;

	if (fast32_from64(f64_of(a), rm, ff, &r))
		return r;
	if (rm != RV_RM_RMM) {
		double x = f64_of(a);
		float q = 0;
		uint32_t work = MX_MASKED | mx_rc[rm], save = 0, after = 0;

		__asm__ volatile("stmxcsr %[sv]\n\t"
				 "ldmxcsr %[w]\n\t"
				 "cvtsd2ss %[x], %[r]\n\t"
				 "stmxcsr %[af]\n\t"
				 "ldmxcsr %[sv]"
				 : [r] "+x"(q), [sv] "+m"(save), [af] "+m"(after)
				 : [x] "x"(x), [w] "m"(work));
		*ff |= mx_flags(after);
		return canon32(bits_f32(q));
	}
#endif
	return (uint32_t)soft_convert(&F64, &F32, a, rm, ff);
}

/* ---- public API: comparisons and classification --------------------------------------------- */

uint32_t rv_f32_min(uint32_t a, uint32_t b, uint32_t *ff) { return (uint32_t)minmax(&F32, a, b, 0, ff); }
uint32_t rv_f32_max(uint32_t a, uint32_t b, uint32_t *ff) { return (uint32_t)minmax(&F32, a, b, 1, ff); }
uint64_t rv_f64_min(uint64_t a, uint64_t b, uint32_t *ff) { return minmax(&F64, a, b, 0, ff); }
uint64_t rv_f64_max(uint64_t a, uint64_t b, uint32_t *ff) { return minmax(&F64, a, b, 1, ff); }
int rv_f32_eq(uint32_t a, uint32_t b, uint32_t *ff) { return cmp_eq(&F32, a, b, ff); }
int rv_f32_lt(uint32_t a, uint32_t b, uint32_t *ff) { return cmp_lt(&F32, a, b, 0, ff); }
int rv_f32_le(uint32_t a, uint32_t b, uint32_t *ff) { return cmp_lt(&F32, a, b, 1, ff); }
int rv_f64_eq(uint64_t a, uint64_t b, uint32_t *ff) { return cmp_eq(&F64, a, b, ff); }
int rv_f64_lt(uint64_t a, uint64_t b, uint32_t *ff) { return cmp_lt(&F64, a, b, 0, ff); }
int rv_f64_le(uint64_t a, uint64_t b, uint32_t *ff) { return cmp_lt(&F64, a, b, 1, ff); }
uint32_t rv_f32_classify(uint32_t a) { return classify(&F32, a); }
uint32_t rv_f64_classify(uint64_t a) { return classify(&F64, a); }

/* ---- public API: conversions --------------------------------------------------------------- */

static inline int64_t sext32(uint64_t v) { return (int64_t)(int32_t)(uint32_t)v; }

/* Float -> integer, fast path for |x| < 2^52 (any host, any host rounding mode: the
 * truncating cast and x - trunc(x) are exact). lo/hi bound the target type. Returns 0 to
 * leave NaN, huge values and out-of-range results to soft_to_int(). */
static inline int fast_to_int(double x, int64_t lo, int64_t hi, int rm, uint32_t *ff, int64_t *out)
{
	int64_t i;
	double frac, h;

	if (!(__builtin_fabs(x) < 0x1p52))
		return 0;
	i = (int64_t)x;
	frac = x - (double)i;
	if (frac != 0) {
		int dir = frac > 0 ? 1 : -1;

		h = __builtin_fabs(frac);
		switch (rm) {
		case RV_RM_RNE:
			i += h > 0.5 || (h == 0.5 && (i & 1)) ? dir : 0;
			break;
		case RV_RM_RMM:
			i += h >= 0.5 ? dir : 0;
			break;
		case RV_RM_RDN:
			i -= dir < 0;
			break;
		case RV_RM_RUP:
			i += dir > 0;
			break;
		default:
			break;
		}
	}
	if (i < lo || i > hi)
		return 0;
	if (frac != 0)
		*ff |= RV_FFLAG_NX;
	*out = i;
	return 1;
}

#define TO_INT(x, lo, hi, slow)                                                                          \
	do {                                                                                             \
		int64_t v_;                                                                              \
		if (fast_to_int(x, lo, hi, rm, ff, &v_))                                                 \
			return v_;                                                                       \
		return slow;                                                                             \
	} while (0)

int64_t rv_f32_to_i32(uint32_t a, int rm, uint32_t *ff)
{
	TO_INT(f32_of(a), INT32_MIN, INT32_MAX, sext32(soft_to_int(&F32, a, 1, 32, rm, ff)));
}
int64_t rv_f32_to_u32(uint32_t a, int rm, uint32_t *ff)
{
	/* the 32-bit result is sign-extended into the register */
	TO_INT(f32_of(a), 0, INT32_MAX, sext32(soft_to_int(&F32, a, 0, 32, rm, ff)));
}
int64_t rv_f32_to_i64(uint32_t a, int rm, uint32_t *ff)
{
	TO_INT(f32_of(a), INT64_MIN, INT64_MAX, (int64_t)soft_to_int(&F32, a, 1, 64, rm, ff));
}
uint64_t rv_f32_to_u64(uint32_t a, int rm, uint32_t *ff)
{
	TO_INT(f32_of(a), 0, INT64_MAX, soft_to_int(&F32, a, 0, 64, rm, ff));
}
int64_t rv_f64_to_i32(uint64_t a, int rm, uint32_t *ff)
{
	TO_INT(f64_of(a), INT32_MIN, INT32_MAX, sext32(soft_to_int(&F64, a, 1, 32, rm, ff)));
}
int64_t rv_f64_to_u32(uint64_t a, int rm, uint32_t *ff)
{
	TO_INT(f64_of(a), 0, INT32_MAX, sext32(soft_to_int(&F64, a, 0, 32, rm, ff)));
}
int64_t rv_f64_to_i64(uint64_t a, int rm, uint32_t *ff)
{
	TO_INT(f64_of(a), INT64_MIN, INT64_MAX, (int64_t)soft_to_int(&F64, a, 1, 64, rm, ff));
}
uint64_t rv_f64_to_u64(uint64_t a, int rm, uint32_t *ff)
{
	TO_INT(f64_of(a), 0, INT64_MAX, soft_to_int(&F64, a, 0, 64, rm, ff));
}

static inline uint64_t mag64(int64_t v) { return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; }

/* Integer -> float: the host conversion where it is exact (any rounding mode), else software. */
uint32_t rv_i32_to_f32(int32_t v, int rm, uint32_t *ff)
{
	if (v >= -(1 << 24) && v <= 1 << 24)
		return bits_f32((float)v);
	return (uint32_t)soft_from_int(&F32, v < 0, mag64(v), rm, ff);
}
uint32_t rv_u32_to_f32(uint32_t v, int rm, uint32_t *ff)
{
	if (v <= 1u << 24)
		return bits_f32((float)v);
	return (uint32_t)soft_from_int(&F32, 0, v, rm, ff);
}
uint32_t rv_i64_to_f32(int64_t v, int rm, uint32_t *ff)
{
	if (v >= -(1 << 24) && v <= 1 << 24)
		return bits_f32((float)v);
	return (uint32_t)soft_from_int(&F32, v < 0, mag64(v), rm, ff);
}
uint32_t rv_u64_to_f32(uint64_t v, int rm, uint32_t *ff)
{
	if (v <= 1u << 24)
		return bits_f32((float)v);
	return (uint32_t)soft_from_int(&F32, 0, v, rm, ff);
}
uint64_t rv_i32_to_f64(int32_t v, int rm, uint32_t *ff)
{
	(void)rm, (void)ff; /* always exact */
	return bits_f64((double)v);
}
uint64_t rv_u32_to_f64(uint32_t v, int rm, uint32_t *ff)
{
	(void)rm, (void)ff;
	return bits_f64((double)v);
}
uint64_t rv_i64_to_f64(int64_t v, int rm, uint32_t *ff)
{
	if (v >= -(INT64_C(1) << 53) && v <= INT64_C(1) << 53)
		return bits_f64((double)v);
	return soft_from_int(&F64, v < 0, mag64(v), rm, ff);
}
uint64_t rv_u64_to_f64(uint64_t v, int rm, uint32_t *ff)
{
	if (v <= UINT64_C(1) << 53)
		return bits_f64((double)v);
	return soft_from_int(&F64, 0, v, rm, ff);
}

uint64_t rv_f32_to_f64(uint32_t a, uint32_t *ff) { return soft_convert(&F32, &F64, a, RV_RM_RNE, ff); }

/* The software implementations, exported for the unit test's cross-check of the fast paths
 * against them (declared there, not in fpu.h: not part of the CPU's contract).
 * op: 0 add, 1 sub, 2 mul, 3 div, 4 sqrt, 5 fma (a*b+c), 6 convert to the other format,
 * 7..10 to i32/u32/i64/u64 (as the register receives it), 11..14 from i32/u32/i64/u64. */
uint64_t rv_soft_op(int op, int is64, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff);
uint64_t rv_soft_op(int op, int is64, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff)
{
	const struct fmt *f = is64 ? &F64 : &F32;

	switch (op) {
	case 0:
		return soft_add(f, a, b, rm, ff);
	case 1:
		return soft_add(f, a, b ^ sign_bit(f), rm, ff);
	case 2:
		return soft_mul(f, a, b, rm, ff);
	case 3:
		return soft_div(f, a, b, rm, ff);
	case 4:
		return soft_sqrt(f, a, rm, ff);
	case 5:
		return soft_fma(f, a, b, c, rm, ff);
	case 6:
		return is64 ? soft_convert(&F64, &F32, a, rm, ff) : soft_convert(&F32, &F64, a, rm, ff);
	case 7:
		return (uint64_t)sext32(soft_to_int(f, a, 1, 32, rm, ff));
	case 8:
		return (uint64_t)sext32(soft_to_int(f, a, 0, 32, rm, ff));
	case 9:
		return soft_to_int(f, a, 1, 64, rm, ff);
	case 10:
		return soft_to_int(f, a, 0, 64, rm, ff);
	case 11:
		return soft_from_int(f, (int32_t)a < 0, mag64((int32_t)a), rm, ff);
	case 12:
		return soft_from_int(f, 0, (uint32_t)a, rm, ff);
	case 13:
		return soft_from_int(f, (int64_t)a < 0, mag64((int64_t)a), rm, ff);
	default:
		return soft_from_int(f, 0, a, rm, ff);
	}
}
