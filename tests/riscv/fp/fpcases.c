/* fpcases.c - operand lists and suites for the F/D tests; see fpcases.h.
 *
 * Output format, one line per operation and operand tuple:
 *     <op> <i> [<j> [<k>]]: <res>:<ff> x6
 * for the rounding modes RNE RTZ RDN RUP RMM and DYN (frm chosen per line), or a single
 * <res>:<ff> for operations without a rounding mode. <res> is hex without 0x: 8 digits for
 * binary32 results, 16 for binary64 and integer register results; <ff> is 2 hex digits. */
#include "fpcases.h"

static unsigned long n_ops;

unsigned long fp_ops_executed(void) { return n_ops; }

/* ---- operand lists -------------------------------------------------------------------------- */

/* binary32 edge cases; the first E32_ARITH are crossed pairwise for add/sub/mul/div. */
static const uint32_t e32[] = {
	0x00000000, 0x80000000, 0x00000001, 0x807fffff, 0x00800000, 0x80800001, 0x3f800000, 0xbf800000,
	0x3f800001, 0x3fffffff, 0x40400000, 0x7f7fffff, 0xff7ffffe, 0x7f000000, 0x7f800000, 0xff800000,
	0x7fc00000, 0x7fa00001, 0x00400000, 0x33800000,
	/* not crossed pairwise */
	0xffc12345, 0xff800001, 0x40490fdb, 0x3effffff, 0x4b000001, 0x4f000000, 0xcf000000, 0x5f800000,
	0x0c000000, 0x34000000, 0x3fc00000, 0xc0200000, 0x00ffffff, 0x1f800000, 0x5f000001, 0x3dcccccd,
};
#define E32_ARITH 20
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const uint64_t e64[] = {
	0x0000000000000000, 0x8000000000000000, 0x0000000000000001, 0x800fffffffffffff,
	0x0010000000000000, 0x8010000000000001, 0x3ff0000000000000, 0xbff0000000000000,
	0x3ff0000000000001, 0x3fffffffffffffff, 0x4008000000000000, 0x7fefffffffffffff,
	0xffeffffffffffffe, 0x7fe0000000000000, 0x7ff0000000000000, 0xfff0000000000000,
	0x7ff8000000000000, 0x7ff4000000000001, 0x0008000000000000, 0x3ca0000000000000,
	/* not crossed pairwise */
	0xfff8000000012345, 0xfff0000000000001, 0x400921fb54442d18, 0x3fdfffffffffffff,
	0x4330000000000001, 0x41e0000000000000, 0xc1e0000000000000, 0x43f0000000000000,
	0x3810000000000000, 0x3690000000000000, 0x47efffffe0000000, 0x47efffffefffffff,
	0x36a0000000000000, 0x3fb999999999999a, 0x001fffffffffffff, 0x1ff0000000000000,
};
#define E64_ARITH 18

/* Fused multiply-add triples: every (a, b, c) of these. */
static const uint32_t fma32_ops[] = {0x00000000, 0x80000000, 0x3f800001, 0xbf7fffff, 0x00800000,
				     0x7f7fffff, 0x7f800000, 0x7fc00000, 0x7fa00000, 0x00000001};
static const uint64_t fma64_ops[] = {0x0000000000000000, 0x8000000000000000, 0x3ff0000000000001,
				     0xbfefffffffffffff, 0x0010000000000000, 0x7fefffffffffffff,
				     0x7ff0000000000000, 0x7ff8000000000000, 0x7ff4000000000000,
				     0x0000000000000001};
#define FMA_ALL 5 /* msub/nmsub/nmadd cross only the first FMA_ALL */

/* Conversions to integers: values around every integer type's bounds. */
static const uint32_t cvt32[] = {
	0x00000000, 0x80000000, 0x00000001, 0x3f000000, 0xbf000000, 0x3f400000, 0xbf400000, 0x3e99999a,
	0xbe99999a, 0x3fc00000, 0xbfc00000, 0x40200000, 0xc0200000, 0x3f800000, 0xbf800000, 0x4effffff,
	0x4f000000, 0xcf000000, 0xcf000001, 0x4f7fffff, 0x4f800000, 0x5effffff, 0x5f000000, 0xdf000000,
	0xdf000001, 0x5f7fffff, 0x5f800000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc00000,
	0x4b7fffff, 0xcb7fffff, 0x7f7fffff, 0xff7fffff,
};
static const uint64_t cvt64[] = {
	0x0000000000000000, 0x8000000000000000, 0x0000000000000001, 0x3fe0000000000000,
	0xbfe0000000000000, 0x3fe8000000000000, 0xbfe8000000000000, 0x3fd3333333333333,
	0xbfd3333333333333, 0x3ff8000000000000, 0xbff8000000000000, 0x4004000000000000,
	0xc004000000000000, 0x41dfffffffc00000, 0x41dfffffffe00000, 0x41dffffffff00000,
	0x41e0000000000000, 0xc1e0000000000000, 0xc1e0000000100000, 0xc1e0000000200000,
	0x41efffffffe00000, 0x41efffffffc00000, 0x41f0000000000000, 0x43dfffffffffffff,
	0x43e0000000000000, 0xc3e0000000000000, 0xc3e0000000000001, 0x43efffffffffffff,
	0x43f0000000000000, 0x7ff0000000000000, 0xfff0000000000000, 0x7ff8000000000000,
	0x7ff0000000000001, 0x4330000000000001, 0xc32fffffffffffff, 0x7fefffffffffffff,
	0x3ff0000010000000, 0xbff0000030000000, 0x3810000010000000, 0x36a0000010000000,
};
/* Integers to convert (the .w forms use the low 32 bits). */
static const uint64_t ints[] = {
	0x0000000000000000, 0x0000000000000001, 0xffffffffffffffff, 0x000000007fffffff,
	0x0000000080000000, 0x00000000ffffffff, 0x0000000001000001, 0x0000000001000003,
	0x000000007fffffc0, 0x000000007fffffbf, 0x0000000000ffffff, 0x00000000fefffffe,
	0x7fffffffffffffff, 0x8000000000000000, 0x0020000000000001, 0x0020000000000003,
	0x001fffffffffffff, 0xfffffffffffffff0, 0x8000000000000001, 0x123456789abcdef0,
	0xffffffff80000001, 0x0000000080000001, 0x7ffffe0000000000, 0x7fffff8000000001,
};

/* ---- output ------------------------------------------------------------------------------- */

static void put_str(const char *s)
{
	while (*s)
		fp_putc(*s++);
}

static void put_hex(uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		fp_putc("0123456789abcdef"[(v >> (i * 4)) & 15]);
}

static void put_dec(unsigned v)
{
	char buf[12];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		fp_putc(buf[--n]);
}

/* Operation properties: name, result width in hex digits, whether it takes a rounding mode. */
struct op_info {
	const char *name;
	int digits;
	int rounds;
};

static const struct op_info ops[FP_NOPS] = {
	[FP_FADD_S] = {"fadd.s", 8, 1},     [FP_FSUB_S] = {"fsub.s", 8, 1},
	[FP_FMUL_S] = {"fmul.s", 8, 1},     [FP_FDIV_S] = {"fdiv.s", 8, 1},
	[FP_FSQRT_S] = {"fsqrt.s", 8, 1},   [FP_FMADD_S] = {"fmadd.s", 8, 1},
	[FP_FMSUB_S] = {"fmsub.s", 8, 1},   [FP_FNMSUB_S] = {"fnmsub.s", 8, 1},
	[FP_FNMADD_S] = {"fnmadd.s", 8, 1}, [FP_FMIN_S] = {"fmin.s", 8, 0},
	[FP_FMAX_S] = {"fmax.s", 8, 0},     [FP_FEQ_S] = {"feq.s", 1, 0},
	[FP_FLT_S] = {"flt.s", 1, 0},       [FP_FLE_S] = {"fle.s", 1, 0},
	[FP_FCLASS_S] = {"fclass.s", 3, 0}, [FP_FCVT_W_S] = {"fcvt.w.s", 16, 1},
	[FP_FCVT_WU_S] = {"fcvt.wu.s", 16, 1}, [FP_FCVT_L_S] = {"fcvt.l.s", 16, 1},
	[FP_FCVT_LU_S] = {"fcvt.lu.s", 16, 1}, [FP_FCVT_S_W] = {"fcvt.s.w", 8, 1},
	[FP_FCVT_S_WU] = {"fcvt.s.wu", 8, 1}, [FP_FCVT_S_L] = {"fcvt.s.l", 8, 1},
	[FP_FCVT_S_LU] = {"fcvt.s.lu", 8, 1}, [FP_FADD_D] = {"fadd.d", 16, 1},
	[FP_FSUB_D] = {"fsub.d", 16, 1},    [FP_FMUL_D] = {"fmul.d", 16, 1},
	[FP_FDIV_D] = {"fdiv.d", 16, 1},    [FP_FSQRT_D] = {"fsqrt.d", 16, 1},
	[FP_FMADD_D] = {"fmadd.d", 16, 1},  [FP_FMSUB_D] = {"fmsub.d", 16, 1},
	[FP_FNMSUB_D] = {"fnmsub.d", 16, 1}, [FP_FNMADD_D] = {"fnmadd.d", 16, 1},
	[FP_FMIN_D] = {"fmin.d", 16, 0},    [FP_FMAX_D] = {"fmax.d", 16, 0},
	[FP_FEQ_D] = {"feq.d", 1, 0},       [FP_FLT_D] = {"flt.d", 1, 0},
	[FP_FLE_D] = {"fle.d", 1, 0},       [FP_FCLASS_D] = {"fclass.d", 3, 0},
	[FP_FCVT_W_D] = {"fcvt.w.d", 16, 1}, [FP_FCVT_WU_D] = {"fcvt.wu.d", 16, 1},
	[FP_FCVT_L_D] = {"fcvt.l.d", 16, 1}, [FP_FCVT_LU_D] = {"fcvt.lu.d", 16, 1},
	[FP_FCVT_D_W] = {"fcvt.d.w", 16, 0}, [FP_FCVT_D_WU] = {"fcvt.d.wu", 16, 0},
	[FP_FCVT_D_L] = {"fcvt.d.l", 16, 1}, [FP_FCVT_D_LU] = {"fcvt.d.lu", 16, 1},
	[FP_FCVT_D_S] = {"fcvt.d.s", 16, 0}, [FP_FCVT_S_D] = {"fcvt.s.d", 8, 1},
};

static const int modes[6] = {0, 1, 2, 3, 4, FP_RM_DYN};

static void put_res(int op, uint64_t r, uint32_t ff)
{
	fp_putc(' ');
	put_hex(r, ops[op].digits);
	fp_putc(':');
	put_hex(ff, 2);
}

/* Runs op on (a, b, c) in every rounding mode (or once) and prints one line; nidx of the
 * indices i, j, k label it. */
static void run(int op, uint64_t a, uint64_t b, uint64_t c, int nidx, unsigned i, unsigned j, unsigned k)
{
	uint32_t ff;
	uint64_t r;

	put_str(ops[op].name);
	fp_putc(' ');
	put_dec(i);
	if (nidx > 1) {
		fp_putc(' ');
		put_dec(j);
	}
	if (nidx > 2) {
		fp_putc(' ');
		put_dec(k);
	}
	fp_putc(':');
	if (!ops[op].rounds) {
		ff = 0;
		r = fp_exec(op, a, b, c, 0, 0, &ff);
		put_res(op, r, ff);
		n_ops++;
	} else {
		for (int m = 0; m < 6; m++) {
			ff = 0;
			r = fp_exec(op, a, b, c, modes[m], (int)((i + j + k + (unsigned)op) % 5), &ff);
			put_res(op, r, ff);
			n_ops++;
		}
	}
	fp_putc('\n');
}

/* ---- suites -------------------------------------------------------------------------------- */

void fp_suite_f32_arith(void)
{
	static const int bin[] = {FP_FADD_S, FP_FSUB_S, FP_FMUL_S, FP_FDIV_S};

	for (int o = 0; o < 4; o++)
		for (int i = 0; i < E32_ARITH; i++)
			for (int j = 0; j < E32_ARITH; j++)
				run(bin[o], e32[i], e32[j], 0, 2, (unsigned)i, (unsigned)j, 0);
	for (int i = 0; i < N(e32); i++)
		run(FP_FSQRT_S, e32[i], 0, 0, 1, (unsigned)i, 0, 0);
}

void fp_suite_f64_arith(void)
{
	static const int bin[] = {FP_FADD_D, FP_FSUB_D, FP_FMUL_D, FP_FDIV_D};

	for (int o = 0; o < 4; o++)
		for (int i = 0; i < E64_ARITH; i++)
			for (int j = 0; j < E64_ARITH; j++)
				run(bin[o], e64[i], e64[j], 0, 2, (unsigned)i, (unsigned)j, 0);
	for (int i = 0; i < N(e64); i++)
		run(FP_FSQRT_D, e64[i], 0, 0, 1, (unsigned)i, 0, 0);
}

static void fma_suite(const int *fops, const uint64_t *v, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			for (int k = 0; k < n; k++)
				run(fops[0], v[i], v[j], v[k], 3, (unsigned)i, (unsigned)j, (unsigned)k);
	for (int o = 1; o < 4; o++)
		for (int i = 0; i < FMA_ALL; i++)
			for (int j = 0; j < FMA_ALL; j++)
				for (int k = 0; k < FMA_ALL; k++)
					run(fops[o], v[i], v[j], v[k], 3, (unsigned)i, (unsigned)j, (unsigned)k);
}

void fp_suite_f32_fma(void)
{
	static const int fops[] = {FP_FMADD_S, FP_FMSUB_S, FP_FNMSUB_S, FP_FNMADD_S};
	uint64_t v[N(fma32_ops)];

	for (int i = 0; i < N(fma32_ops); i++)
		v[i] = fma32_ops[i];
	fma_suite(fops, v, N(fma32_ops));
}

void fp_suite_f64_fma(void)
{
	static const int fops[] = {FP_FMADD_D, FP_FMSUB_D, FP_FNMSUB_D, FP_FNMADD_D};

	fma_suite(fops, fma64_ops, N(fma64_ops));
}

/* min, max, eq, lt, le over every pair of the first CMP_N edge cases, both formats, and
 * classify of every edge case. */
#define CMP_N 24
void fp_suite_compare(void)
{
	static const int c32[] = {FP_FMIN_S, FP_FMAX_S, FP_FEQ_S, FP_FLT_S, FP_FLE_S};
	static const int c64[] = {FP_FMIN_D, FP_FMAX_D, FP_FEQ_D, FP_FLT_D, FP_FLE_D};

	for (int o = 0; o < 5; o++)
		for (int i = 0; i < CMP_N; i++)
			for (int j = 0; j < CMP_N; j++)
				run(c32[o], e32[i], e32[j], 0, 2, (unsigned)i, (unsigned)j, 0);
	for (int o = 0; o < 5; o++)
		for (int i = 0; i < CMP_N; i++)
			for (int j = 0; j < CMP_N; j++)
				run(c64[o], e64[i], e64[j], 0, 2, (unsigned)i, (unsigned)j, 0);
	for (int i = 0; i < N(e32); i++)
		run(FP_FCLASS_S, e32[i], 0, 0, 1, (unsigned)i, 0, 0);
	for (int i = 0; i < N(e64); i++)
		run(FP_FCLASS_D, e64[i], 0, 0, 1, (unsigned)i, 0, 0);
}

void fp_suite_convert(void)
{
	static const int f2i32[] = {FP_FCVT_W_S, FP_FCVT_WU_S, FP_FCVT_L_S, FP_FCVT_LU_S};
	static const int f2i64[] = {FP_FCVT_W_D, FP_FCVT_WU_D, FP_FCVT_L_D, FP_FCVT_LU_D};
	static const int i2f[] = {FP_FCVT_S_W, FP_FCVT_S_WU, FP_FCVT_S_L, FP_FCVT_S_LU,
				  FP_FCVT_D_W, FP_FCVT_D_WU, FP_FCVT_D_L, FP_FCVT_D_LU};

	for (int o = 0; o < 4; o++)
		for (int i = 0; i < N(cvt32); i++)
			run(f2i32[o], cvt32[i], 0, 0, 1, (unsigned)i, 0, 0);
	for (int o = 0; o < 4; o++)
		for (int i = 0; i < N(cvt64); i++)
			run(f2i64[o], cvt64[i], 0, 0, 1, (unsigned)i, 0, 0);
	for (int o = 0; o < 8; o++)
		for (int i = 0; i < N(ints); i++)
			run(i2f[o], ints[i], 0, 0, 1, (unsigned)i, 0, 0);
	for (int i = 0; i < N(e32); i++)
		run(FP_FCVT_D_S, e32[i], 0, 0, 1, (unsigned)i, 0, 0);
	for (int i = 0; i < N(cvt32); i++)
		run(FP_FCVT_D_S, cvt32[i], 0, 0, 1, 100 + (unsigned)i, 0, 0);
	for (int i = 0; i < N(e64); i++)
		run(FP_FCVT_S_D, e64[i], 0, 0, 1, (unsigned)i, 0, 0);
	for (int i = 0; i < N(cvt64); i++)
		run(FP_FCVT_S_D, cvt64[i], 0, 0, 1, 100 + (unsigned)i, 0, 0);
}

/* ---- random operands ----------------------------------------------------------------------- */

static uint64_t rng_state;

/* Long runs against QEMU, outside `make check`: build both the guest program and the replay
 * with e.g. -DFP_RAND_SCALE=100 -DFP_RAND_SEED=7 (see docs/fpu.md). */
#ifndef FP_RAND_SCALE
#define FP_RAND_SCALE 1
#endif
#ifndef FP_RAND_SEED
#define FP_RAND_SEED 0
#endif

static uint64_t rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* A random value of a format with `ebits` exponent bits and `fbits` fraction bits, biased
 * towards the interesting places: tiny and huge exponents, exponents near 0, significands
 * of all ones, all zeros or few bits, and (rarely) specials. */
static uint64_t rnd_float(int ebits, int fbits)
{
	uint64_t r = rng(), emax = (UINT64_C(1) << ebits) - 1, bias = emax >> 1, e, f;
	uint64_t fmask = (UINT64_C(1) << fbits) - 1;

	switch (r & 7) {
	case 0:
		e = (r >> 3) % 3; /* zero/subnormal and the smallest normals */
		break;
	case 1:
		e = emax - 1 - (r >> 3) % 3; /* the largest normals */
		break;
	case 2:
		e = (r >> 3) % 64 == 0 ? emax : (r >> 3) % emax; /* anywhere, rarely inf/NaN */
		break;
	default:
		e = bias - 30 + (r >> 3) % 61; /* moderate */
		break;
	}
	r = rng();
	switch (r & 3) {
	case 0:
		f = fmask; /* all ones */
		break;
	case 1:
		f = (UINT64_C(1) << ((r >> 2) % (uint64_t)fbits)) | ((r >> 12) & 1); /* few bits */
		break;
	default:
		f = (r >> 8) & fmask;
		break;
	}
	return ((rng() & 1) << (ebits + fbits)) | (e << fbits) | f;
}

/* b close to a in magnitude (cancellation, ties) or a random value. */
static uint64_t rnd_partner(uint64_t a, int ebits, int fbits)
{
	uint64_t r = rng();

	switch (r & 3) {
	case 0:
		return a ^ ((uint64_t)1 << (ebits + fbits)) ^ ((r >> 2) & 7); /* nearly -a */
	case 1:
		/* a * 2^k, kept within the format's width */
		return (a + (uint64_t)((r >> 2) & 3) * ((uint64_t)1 << fbits)) & (UINT64_MAX >> (63 - ebits - fbits));
	default:
		return rnd_float(ebits, fbits);
	}
}

static int is_fma(int op)
{
	return (op >= FP_FMADD_S && op <= FP_FNMADD_S) || (op >= FP_FMADD_D && op <= FP_FNMADD_D);
}

static int from_int(int op)
{
	return (op >= FP_FCVT_S_W && op <= FP_FCVT_S_LU) || (op >= FP_FCVT_D_W && op <= FP_FCVT_D_LU);
}

static void rand_suite(int is64, int count)
{
	static const int op32[] = {FP_FADD_S,   FP_FSUB_S,    FP_FMUL_S,   FP_FDIV_S,    FP_FSQRT_S,
				   FP_FMADD_S,  FP_FMSUB_S,   FP_FNMSUB_S, FP_FNMADD_S,  FP_FCVT_W_S,
				   FP_FCVT_WU_S, FP_FCVT_L_S, FP_FCVT_LU_S, FP_FCVT_S_W, FP_FCVT_S_WU,
				   FP_FCVT_S_L, FP_FCVT_S_LU, FP_FCVT_S_D};
	static const int op64[] = {FP_FADD_D,   FP_FSUB_D,    FP_FMUL_D,   FP_FDIV_D,    FP_FSQRT_D,
				   FP_FMADD_D,  FP_FMSUB_D,   FP_FNMSUB_D, FP_FNMADD_D,  FP_FCVT_W_D,
				   FP_FCVT_WU_D, FP_FCVT_L_D, FP_FCVT_LU_D, FP_FCVT_D_W, FP_FCVT_D_WU,
				   FP_FCVT_D_L, FP_FCVT_D_LU, FP_FCVT_D_S};
	const int *opl = is64 ? op64 : op32;
	int eb = is64 ? 11 : 8, fb = is64 ? 52 : 23, nops = N(op32);

	rng_state = (is64 ? UINT64_C(0x243f6a8885a308d3) : UINT64_C(0x13198a2e03707344)) ^
		    (UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)FP_RAND_SEED);
	for (int n = 0; n < count; n++) {
		int op = opl[n % nops];
		uint64_t a = rnd_float(eb, fb), b = rnd_partner(a, eb, fb), c = rnd_float(eb, fb);

		if (is_fma(op)) {
			/* aim c at the product's magnitude now and then: cancellation and underflow */
			if (rng() & 1) {
				/* one rng() call per statement: the order must not depend on the compiler */
				uint64_t sign = (rng() & 1) << (eb + fb);

				c = sign | (((a >> fb) & ((UINT64_C(1) << eb) - 1)) << fb);
				c |= rng() & ((UINT64_C(1) << fb) - 1);
			}
		} else if (from_int(op)) {
			unsigned sh = (unsigned)(rng() & 63);

			a = rng() >> sh;
			if (rng() & 1)
				a = (uint64_t)0 - a;
		} else if (op == FP_FCVT_S_D) {
			a = rnd_float(11, 52);
			if (rng() & 1) /* exponents in binary32's range and its subnormals */
				a = (a & UINT64_C(0x800fffffffffffff)) |
				    ((uint64_t)(1023 - 160 + rng() % 300) << 52);
		} else if (op == FP_FCVT_D_S) {
			a = rnd_float(8, 23);
		}
		run(op, a, b, c, 1, (unsigned)n, 0, 0);
	}
}

void fp_suite_rand32(void) { rand_suite(0, 1800 * FP_RAND_SCALE); }
void fp_suite_rand64(void) { rand_suite(1, 1200 * FP_RAND_SCALE); }

int fp_suite_by_name(const char *name)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} suites[] = {
		{"f32_arith", fp_suite_f32_arith}, {"f64_arith", fp_suite_f64_arith},
		{"f32_fma", fp_suite_f32_fma},     {"f64_fma", fp_suite_f64_fma},
		{"compare", fp_suite_compare},     {"convert", fp_suite_convert},
		{"rand32", fp_suite_rand32},       {"rand64", fp_suite_rand64},
	};

	for (int s = 0; s < N(suites); s++) {
		const char *p = suites[s].name, *q = name;

		while (*p && *p == *q)
			p++, q++;
		if (!*p && !*q) {
			suites[s].fn();
			return 0;
		}
	}
	return -1;
}
