/* Guest program: F/D arithmetic in hot compiled code, compared between QEMU and strata-vm by
 * run-guests.sh (no host replay: check-host.sh only takes fp_*.c). Each case starts at a jump
 * target (so the JIT compiles it once hot) and runs many times: the JIT's inline SSE path
 * (round to nearest, no flag but inexact, inexact already accrued) and every fallback to the
 * helper (inexact not yet in fflags, invalid/overflow/underflow/divide-by-zero, NaN inputs
 * and canonical NaN results, operands not NaN-boxed, frm or static rounding modes other than
 * RNE) must give QEMU's result and fflags on every iteration. */
#include "rvtest.h"

#define ITERS 300

/* ft2 = INSN(ft0, ft1, ft3) with fflags preset to `pre` and frm to `frm` */
#define CASE(NAME, INSN, A, B, C, PRE, FRM)                                                        \
	do {                                                                                       \
		uint64_t r = 0, f = 0, r0 = 0, f0 = 0, bad = 0;                                    \
		for (int i = 0; i < ITERS; i++) {                                                  \
			__asm__ volatile("fmv.d.x ft0, %2\n\t"                                     \
					 "fmv.d.x ft1, %3\n\t"                                     \
					 "fmv.d.x ft3, %4\n\t"                                     \
					 "csrw fflags, %5\n\t"                                     \
					 "csrw frm, %6\n\t"                                        \
					 "j 1f\n"                                                  \
					 "1:\n\t" INSN "\n\t"                                      \
					 "csrr %1, fflags\n\t"                                     \
					 "fmv.x.d %0, ft2"                                         \
					 : "=r"(r), "=r"(f)                                        \
					 : "r"((uint64_t)(A)), "r"((uint64_t)(B)), "r"((uint64_t)(C)), \
					   "r"((uint64_t)(PRE)), "r"((uint64_t)(FRM))                 \
					 : "ft0", "ft1", "ft2", "ft3");                            \
			if (i == 0) {                                                              \
				r0 = r;                                                            \
				f0 = f;                                                            \
			} else if (r != r0 || f != f0) {                                           \
				bad++;                                                             \
			}                                                                          \
		}                                                                                  \
		show(NAME, r, f, bad);                                                             \
	} while (0)

static void show(const char *name, uint64_t r, uint64_t f, uint64_t bad)
{
	rv_puts(name);
	rv_puts(": ");
	rv_puthex64(r);
	rv_puts(" fflags ");
	rv_puthex32((uint32_t)f);
	if (bad)
		rv_puts(" UNSTABLE");
	rv_putc('\n');
}

#define D1_0 0x3ff0000000000000ULL   /* 1.0 */
#define D3_0 0x4008000000000000ULL   /* 3.0 */
#define D0_1 0x3fb999999999999aULL   /* 0.1 */
#define DINF 0x7ff0000000000000ULL
#define DNINF 0xfff0000000000000ULL
#define DQNAN 0x7ff8000000001234ULL  /* quiet NaN with a payload */
#define DSNAN 0x7ff0000000005678ULL
#define DNEG1 0xbff0000000000000ULL
#define DHUGE 0x7fe0000000000000ULL
#define DTINY 0x0010000000000000ULL  /* smallest normal */
#define DSUB 0x0000000000000001ULL   /* smallest subnormal */
#define BOX 0xffffffff00000000ULL
#define S1_0 (BOX | 0x3f800000u)
#define S3_0 (BOX | 0x40400000u)
#define S0_1 (BOX | 0x3dcccccdu)
#define SHUGE (BOX | 0x7f000000u)
#define STINY (BOX | 0x00800000u)

int main(void)
{
	/* inexact: first with NX clear (helper), then with NX already set (inline) */
	CASE("fadd.d inexact", "fadd.d ft2, ft0, ft1", D1_0, D0_1, 0, 0, 0);
	CASE("fadd.d inexact nx set", "fadd.d ft2, ft0, ft1", D1_0, D0_1, 0, 1, 0);
	CASE("fdiv.d exact", "fdiv.d ft2, ft0, ft1", D3_0, D1_0, 0, 0, 0);
	CASE("fdiv.d 1/3", "fdiv.d ft2, ft0, ft1", D1_0, D3_0, 0, 1, 0);
	CASE("fsub.d", "fsub.d ft2, ft0, ft1", D0_1, D3_0, 0, 1, 0);
	CASE("fmul.d", "fmul.d ft2, ft0, ft1", D0_1, D3_0, 0, 0, 0);
	CASE("fsqrt.d 3", "fsqrt.d ft2, ft1", 0, D3_0, 0, 1, 0);
	CASE("two ops", "fadd.d ft2, ft0, ft1\n\tfmul.d ft2, ft2, ft1", D1_0, D0_1, 0, 0, 0);
	/* the other flags always go to the helper, whatever fflags holds */
	CASE("fdiv.d by zero", "fdiv.d ft2, ft0, ft1", D1_0, 0, 0, 1, 0);
	CASE("fmul.d overflow", "fmul.d ft2, ft0, ft1", DHUGE, DHUGE, 0, 1, 0);
	CASE("fmul.d underflow", "fmul.d ft2, ft0, ft1", DTINY, D0_1, 0, 1, 0);
	CASE("fadd.d subnormal exact", "fadd.d ft2, ft0, ft1", DSUB, DSUB, 0, 0, 0);
	CASE("fsub.d inf-inf", "fsub.d ft2, ft0, ft1", DINF, DINF, 0, 1, 0);
	CASE("fadd.d inf+-inf", "fadd.d ft2, ft0, ft1", DINF, DNINF, 0, 0, 0);
	CASE("fsqrt.d -1", "fsqrt.d ft2, ft1", 0, DNEG1, 0, 0, 0);
	/* NaN inputs: the canonical NaN, NV only for a signalling one */
	CASE("fadd.d qnan", "fadd.d ft2, ft0, ft1", DQNAN, D1_0, 0, 0, 0);
	CASE("fmul.d snan", "fmul.d ft2, ft0, ft1", D1_0, DSNAN, 0, 1, 0);
	CASE("fmadd.d qnan addend", "fmadd.d ft2, ft0, ft1, ft3", D1_0, D3_0, DQNAN, 1, 0);
	CASE("fmadd.d inf*0+qnan", "fmadd.d ft2, ft0, ft1, ft3", DINF, 0, DQNAN, 0, 0);
	/* single precision: boxed operands inline, unboxed ones read as the canonical NaN */
	CASE("fadd.s", "fadd.s ft2, ft0, ft1", S1_0, S0_1, 0, 0, 0);
	CASE("fadd.s nx set", "fadd.s ft2, ft0, ft1", S1_0, S0_1, 0, 1, 0);
	CASE("fdiv.s", "fdiv.s ft2, ft0, ft1", S1_0, S3_0, 0, 1, 0);
	CASE("fsqrt.s", "fsqrt.s ft2, ft1", 0, S3_0, 0, 1, 0);
	CASE("fmul.s overflow", "fmul.s ft2, ft0, ft1", SHUGE, SHUGE, 0, 1, 0);
	CASE("fmul.s underflow", "fmul.s ft2, ft0, ft1", STINY, S0_1 & ~0x40000000ULL, 0, 1, 0);
	CASE("fadd.s rs1 unboxed", "fadd.s ft2, ft0, ft1", 0x000000003f800000ULL, S1_0, 0, 1, 0);
	CASE("fadd.s rs2 half boxed", "fadd.s ft2, ft0, ft1", S1_0, 0xffff00003f800000ULL, 0, 1, 0);
	CASE("fmadd.s rs3 unboxed", "fmadd.s ft2, ft0, ft1, ft3", S1_0, S3_0, 0x3f800000ULL, 1, 0);
	CASE("fmadd.s", "fmadd.s ft2, ft0, ft1, ft3", S0_1, S3_0, S1_0, 1, 0);
	/* fused multiply-adds: one rounding */
	CASE("fmadd.d", "fmadd.d ft2, ft0, ft1, ft3", D0_1, D3_0, D1_0, 1, 0);
	CASE("fmadd.d exact", "fmadd.d ft2, ft0, ft1, ft3", D3_0, D3_0, D1_0, 0, 0);
	CASE("fmsub.d", "fmsub.d ft2, ft0, ft1, ft3", D0_1, D3_0, D1_0, 1, 0);
	CASE("fnmsub.d", "fnmsub.d ft2, ft0, ft1, ft3", D0_1, D3_0, D1_0, 1, 0);
	CASE("fnmadd.d", "fnmadd.d ft2, ft0, ft1, ft3", D0_1, D3_0, D1_0, 1, 0);
	CASE("fnmadd.s", "fnmadd.s ft2, ft0, ft1, ft3", S0_1, S3_0, S1_0, 1, 0);
	CASE("fmadd.d overflow", "fmadd.d ft2, ft0, ft1, ft3", DHUGE, DHUGE, D1_0, 1, 0);
	/* 2^-1022 * (1 - 3 * 2^-55): the smallest normal after rounding, yet tiny (underflow) */
	CASE("fmadd.d tiny to min normal", "fmadd.d ft2, ft0, ft1, ft3", 0xbc48000000000000ULL,
	     0x0060000000000000ULL, DTINY, 1, 0);
	CASE("fmadd.d tiny to min normal nx clear", "fmadd.d ft2, ft0, ft1, ft3", 0xbc48000000000000ULL,
	     0x0060000000000000ULL, DTINY, 0, 0);
	CASE("fmul.d min normal exact", "fmul.d ft2, ft0, ft1", DTINY, D1_0, 0, 1, 0);
	/* rounding modes other than RNE, dynamic (frm) and static, take the helper */
	for (unsigned frm = 0; frm < 5; frm++) {
		CASE("fadd.d dyn", "fadd.d ft2, ft0, ft1", D1_0, D0_1, 0, 1, frm);
		CASE("fdiv.d dyn", "fdiv.d ft2, ft0, ft1", DNEG1, D3_0, 0, 1, frm);
		CASE("fmadd.d dyn", "fmadd.d ft2, ft0, ft1, ft3", D0_1, D3_0, DNEG1, 1, frm);
		CASE("fdiv.s dyn", "fdiv.s ft2, ft0, ft1", S1_0, S3_0, 0, 1, frm);
	}
	CASE("fadd.d rtz", "fadd.d ft2, ft0, ft1, rtz", D1_0, D0_1, 0, 1, 0);
	CASE("fdiv.d rdn", "fdiv.d ft2, ft0, ft1, rdn", DNEG1, D3_0, 0, 1, 0);
	CASE("fdiv.d rup", "fdiv.d ft2, ft0, ft1, rup", D1_0, D3_0, 0, 1, 0);
	CASE("fmul.d rmm", "fmul.d ft2, ft0, ft1, rmm", D0_1, D3_0, 0, 1, 0);
	CASE("fmadd.d rne static", "fmadd.d ft2, ft0, ft1, ft3, rne", D0_1, D3_0, D1_0, 0, 3);
	CASE("fsqrt.s rup", "fsqrt.s ft2, ft1, rup", 0, S3_0, 0, 1, 0);
	return 0;
}
