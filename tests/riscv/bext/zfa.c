/* Zfa (not in QEMU 7.2): fli, fminm/fmaxm, fround/froundnx, fleq/fltq and fcvtmod.w.d for
 * single and double precision, checked against values worked out from the specification
 * (results and fflags). QEMU 7.2 cannot run these, so the comparison with it is only of the
 * "name: ok" lines: on QEMU (marchid is not 0) the program prints them without executing
 * anything; on strata-vm any wrong value prints FAIL instead. */
/* vm-cpu: rv64,zfa=true */
#include "rvtest.h"

#define RNE 0
#define RTZ 1
#define RDN 2
#define RUP 3
#define RMM 4

static uint64_t ff;

static uint64_t d2u(double d)
{
	uint64_t u;
	memcpy(&u, &d, 8);
	return u;
}

/* rd (f) = op(f(a), f(b)); a and b as raw bits; returns rd's raw bits */
#define FOP(name, insn)                                                                               \
	static uint64_t name(uint64_t a, uint64_t b)                                                  \
	{                                                                                             \
		uint64_t r;                                                                           \
		__asm__ volatile("csrw fcsr, zero\n fmv.d.x fa1, %1\n fmv.d.x fa2, %2\n" insn "\n"   \
				 "fmv.x.d %0, fa0"                                                    \
				 : "=r"(r) : "r"(a), "r"(b) : "fa0", "fa1", "fa2");                              \
		__asm__ volatile("csrr %0, fflags" : "=r"(ff));                                       \
		return r;                                                                             \
	}
/* rd (x) = op(f(a), f(b)) */
#define XOP(name, insn)                                                                               \
	static uint64_t name(uint64_t a, uint64_t b)                                                  \
	{                                                                                             \
		uint64_t r;                                                                           \
		__asm__ volatile("csrw fcsr, zero\n fmv.d.x fa1, %1\n fmv.d.x fa2, %2\n" insn         \
				 : "=r"(r) : "r"(a), "r"(b) : "fa1", "fa2");                                    \
		__asm__ volatile("csrr %0, fflags" : "=r"(ff));                                       \
		return r;                                                                             \
	}

#define S(x) (0xffffffff00000000ULL | (x)) /* a NaN-boxed single */

FOP(fli_s_0, ".insn r 0x53, 0, 0x78, fa0, x0, x1")
FOP(fli_s_1, ".insn r 0x53, 0, 0x78, fa0, x1, x1")
FOP(fli_s_2, ".insn r 0x53, 0, 0x78, fa0, x2, x1")
FOP(fli_s_9, ".insn r 0x53, 0, 0x78, fa0, x9, x1")
FOP(fli_s_16, ".insn r 0x53, 0, 0x78, fa0, x16, x1")
FOP(fli_s_29, ".insn r 0x53, 0, 0x78, fa0, x29, x1")
FOP(fli_s_30, ".insn r 0x53, 0, 0x78, fa0, x30, x1")
FOP(fli_s_31, ".insn r 0x53, 0, 0x78, fa0, x31, x1")
FOP(fli_d_0, ".insn r 0x53, 0, 0x79, fa0, x0, x1")
FOP(fli_d_1, ".insn r 0x53, 0, 0x79, fa0, x1, x1")
FOP(fli_d_8, ".insn r 0x53, 0, 0x79, fa0, x8, x1")
FOP(fli_d_28, ".insn r 0x53, 0, 0x79, fa0, x28, x1")
FOP(fli_d_31, ".insn r 0x53, 0, 0x79, fa0, x31, x1")
FOP(fminm_s, ".insn r 0x53, 2, 0x14, fa0, fa1, fa2")
FOP(fmaxm_s, ".insn r 0x53, 3, 0x14, fa0, fa1, fa2")
FOP(fminm_d, ".insn r 0x53, 2, 0x15, fa0, fa1, fa2")
FOP(fmaxm_d, ".insn r 0x53, 3, 0x15, fa0, fa1, fa2")
FOP(fmin_s, "fmin.s fa0, fa1, fa2")
FOP(fround_d_rne, ".insn r 0x53, 0, 0x21, fa0, fa1, x4")
FOP(froundnx_d_rne, ".insn r 0x53, 0, 0x21, fa0, fa1, x5")
FOP(fround_d_rmm, ".insn r 0x53, 4, 0x21, fa0, fa1, x4")
FOP(fround_d_rup, ".insn r 0x53, 3, 0x21, fa0, fa1, x4")
FOP(fround_d_dyn, ".insn r 0x53, 7, 0x21, fa0, fa1, x4")
FOP(fround_s_rdn, ".insn r 0x53, 2, 0x20, fa0, fa1, x4")
FOP(fround_s_rtz, ".insn r 0x53, 1, 0x20, fa0, fa1, x4")
FOP(froundnx_s_rne, ".insn r 0x53, 0, 0x20, fa0, fa1, x5")
XOP(fleq_s, ".insn r 0x53, 4, 0x50, %0, fa1, fa2")
XOP(fltq_s, ".insn r 0x53, 5, 0x50, %0, fa1, fa2")
XOP(fleq_d, ".insn r 0x53, 4, 0x51, %0, fa1, fa2")
XOP(fltq_d, ".insn r 0x53, 5, 0x51, %0, fa1, fa2")
XOP(flt_d, "flt.d %0, fa1, fa2")
XOP(fcvtmod, ".insn r 0x53, 1, 0x61, %0, fa1, x8")

struct t {
	const char *name;
	uint64_t (*fn)(uint64_t, uint64_t);
	uint64_t a, b, want, flags;
};

#define ONE_S 0x3f800000u
#define QNAN_S 0x7fc00000u
#define SNAN_S 0x7f800001u
#define QNAN_D 0x7ff8000000000000ULL
#define SNAN_D 0x7ff0000000000001ULL

int main(void)
{
	const struct t t[] = {
		{ "fli.s -1.0", fli_s_0, 0, 0, S(0xbf800000), 0 },
		{ "fli.s min normal", fli_s_1, 0, 0, S(0x00800000), 0 },
		{ "fli.s 2^-16", fli_s_2, 0, 0, S(0x37800000), 0 },
		{ "fli.s 0.3125", fli_s_9, 0, 0, S(0x3ea00000), 0 },
		{ "fli.s 1.0", fli_s_16, 0, 0, S(0x3f800000), 0 },
		{ "fli.s 2^16", fli_s_29, 0, 0, S(0x47800000), 0 },
		{ "fli.s inf", fli_s_30, 0, 0, S(0x7f800000), 0 },
		{ "fli.s nan", fli_s_31, 0, 0, S(QNAN_S), 0 },
		{ "fli.d -1.0", fli_d_0, 0, 0, 0xbff0000000000000ULL, 0 },
		{ "fli.d min normal", fli_d_1, 0, 0, 0x0010000000000000ULL, 0 },
		{ "fli.d 0.25", fli_d_8, 0, 0, 0x3fd0000000000000ULL, 0 },
		{ "fli.d 2^15", fli_d_28, 0, 0, 0x40e0000000000000ULL, 0 },
		{ "fli.d nan", fli_d_31, 0, 0, QNAN_D, 0 },
		{ "fminm.s 1,qnan", fminm_s, S(ONE_S), S(QNAN_S), S(QNAN_S), 0 },
		{ "fmin.s 1,qnan (not Zfa)", fmin_s, S(ONE_S), S(QNAN_S), S(ONE_S), 0 },
		{ "fminm.s snan,1", fminm_s, S(SNAN_S), S(ONE_S), S(QNAN_S), 0x10 },
		{ "fminm.s -0,+0", fminm_s, S(0x80000000), S(0), S(0x80000000), 0 },
		{ "fmaxm.s -0,+0", fmaxm_s, S(0x80000000), S(0), S(0), 0 },
		{ "fmaxm.s 1,2", fmaxm_s, S(ONE_S), S(0x40000000), S(0x40000000), 0 },
		{ "fminm.d 1,qnan", fminm_d, 0x3ff0000000000000ULL, QNAN_D, QNAN_D, 0 },
		{ "fmaxm.d -0,+0", fmaxm_d, 1ULL << 63, 0, 0, 0 },
		{ "fmaxm.d 3,-5", fmaxm_d, d2u(3.0), d2u(-5.0), d2u(3.0), 0 },
		{ "fround.d 2.5 rne", fround_d_rne, d2u(2.5), 0, d2u(2.0), 0 },
		{ "fround.d 3.5 rne", fround_d_rne, d2u(3.5), 0, d2u(4.0), 0 },
		{ "fround.d 0.5 rne", fround_d_rne, d2u(0.5), 0, d2u(0.0), 0 },
		{ "froundnx.d 2.5 rne", froundnx_d_rne, d2u(2.5), 0, d2u(2.0), 1 },
		{ "froundnx.d 7.0 rne", froundnx_d_rne, d2u(7.0), 0, d2u(7.0), 0 },
		{ "fround.d -2.5 rmm", fround_d_rmm, d2u(-2.5), 0, d2u(-3.0), 0 },
		{ "fround.d -0.3 rup", fround_d_rup, d2u(-0.3), 0, 1ULL << 63, 0 },
		{ "fround.d 0.3 rup", fround_d_rup, d2u(0.3), 0, d2u(1.0), 0 },
		{ "fround.d 1e300 rne", fround_d_rne, d2u(1e300), 0, d2u(1e300), 0 },
		{ "fround.d -inf rne", fround_d_rne, 0xfff0000000000000ULL, 0, 0xfff0000000000000ULL, 0 },
		{ "fround.d snan", fround_d_rne, SNAN_D, 0, QNAN_D, 0x10 },
		{ "fround.d qnan", fround_d_rne, 0xfff8000000000123ULL, 0, QNAN_D, 0 },
		{ "fround.d 4503599627370495.5 dyn(rne)", fround_d_dyn, d2u(4503599627370495.5), 0,
		  d2u(4503599627370496.0), 0 },
		{ "fround.s 1.5 rdn", fround_s_rdn, S(0x3fc00000), 0, S(ONE_S), 0 },
		{ "fround.s -1.5 rdn", fround_s_rdn, S(0xbfc00000), 0, S(0xc0000000), 0 },
		{ "fround.s -1.5 rtz", fround_s_rtz, S(0xbfc00000), 0, S(0xbf800000), 0 },
		{ "froundnx.s 8388607.5 rne", froundnx_s_rne, S(0x4affffff), 0, S(0x4b000000), 1 },
		{ "froundnx.s unboxed", froundnx_s_rne, 0x3f800000, 0, S(QNAN_S), 0 },
		{ "fleq.s 1,1", fleq_s, S(ONE_S), S(ONE_S), 1, 0 },
		{ "fltq.s 1,1", fltq_s, S(ONE_S), S(ONE_S), 0, 0 },
		{ "fltq.s -0,+0", fltq_s, S(0x80000000), S(0), 0, 0 },
		{ "fltq.s qnan,1", fltq_s, S(QNAN_S), S(ONE_S), 0, 0 },
		{ "fleq.s snan,1", fleq_s, S(SNAN_S), S(ONE_S), 0, 0x10 },
		{ "fltq.d 1,2", fltq_d, d2u(1.0), d2u(2.0), 1, 0 },
		{ "fleq.d qnan,1", fleq_d, QNAN_D, d2u(1.0), 0, 0 },
		{ "flt.d qnan,1 (not Zfa)", flt_d, QNAN_D, d2u(1.0), 0, 0x10 },
		{ "fcvtmod.w.d 3.7", fcvtmod, d2u(3.7), 0, 3, 1 },
		{ "fcvtmod.w.d -3.7", fcvtmod, d2u(-3.7), 0, (uint64_t)-3, 1 },
		{ "fcvtmod.w.d 2^32+5", fcvtmod, d2u(4294967301.0), 0, 5, 0x10 },
		{ "fcvtmod.w.d -2^31", fcvtmod, d2u(-2147483648.0), 0, 0xffffffff80000000ULL, 0 },
		{ "fcvtmod.w.d 2^31", fcvtmod, d2u(2147483648.0), 0, 0xffffffff80000000ULL, 0x10 },
		{ "fcvtmod.w.d 1e20", fcvtmod, d2u(1e20), 0, 0x63100000, 0x10 },
		{ "fcvtmod.w.d -1e20", fcvtmod, d2u(-1e20), 0, (uint64_t)(int64_t)(int32_t)(0u - 0x63100000u), 0x10 },
		{ "fcvtmod.w.d inf", fcvtmod, 0x7ff0000000000000ULL, 0, 0, 0x10 },
		{ "fcvtmod.w.d nan", fcvtmod, QNAN_D, 0, 0, 0x10 },
		{ "fcvtmod.w.d 0.5", fcvtmod, d2u(0.5), 0, 0, 1 },
		{ "fcvtmod.w.d -0", fcvtmod, 1ULL << 63, 0, 0, 0 },
		{ "fcvtmod.w.d 2^80+7*2^28", fcvtmod, d2u(1208925819614629174706176.0 + 1879048192.0), 0,
		  0x70000000, 0x10 },
	};
	int qemu = RV_CSR_READ(marchid) != 0;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (qemu) {
			rv_check(t[i].name, 1);
			continue;
		}
		uint64_t r = t[i].fn(t[i].a, t[i].b);
		int ok = r == t[i].want && ff == t[i].flags;
		rv_check(t[i].name, ok);
		if (!ok) {
			rv_puts("  got ");
			rv_puthex64(r);
			rv_puts(" fflags ");
			rv_puthex64(ff);
			rv_putc('\n');
		}
	}
	return rv_failures();
}
