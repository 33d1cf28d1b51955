/* Differential test of Zfa (not in QEMU 7.2): random straight-line programs of fli, fminm/
 * fmaxm, fround/froundnx, fleq/fltq and fcvtmod.w.d (single and double, every rounding mode,
 * dyn with a random frm) mixed with F/D arithmetic over special values (signed zeros,
 * infinities, quiet and signaling NaNs, halves, values past 2^31/2^52/2^63, badly NaN-boxed
 * singles) are run 10 times each, so strata-vm compiles them; a hash of the registers and
 * fflags is printed every 20 programs. On QEMU every Zfa instruction traps and the handler
 * below computes its result with the ordinary F/D instructions (an independent reference
 * written from the specification), so both emulators print the same hashes only if strata-vm's
 * Zfa, interpreted and compiled, agrees with it. The state lives in fs0-fs11 and t0-t6, which
 * the C handler does not touch. */
/* vm-cpu: rv64,zfa=true */
#include "rvtest.h"

#include <stdbool.h>

#define PROGS 200
#define BODY 32
#define CALLS 10

uint32_t gen_code[BODY + 1] __attribute__((aligned(4096)));
uint64_t fstate[12], xstate[7];
static const uint8_t fregs[12] = { 8, 9, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27 }; /* fs0..fs11 */
static const uint8_t xregs[7] = { 5, 6, 7, 28, 29, 30, 31 };                       /* t0..t6 */

void run_gen(void);
__asm__(".globl run_gen\n"
	"run_gen:\n"
	"	addi sp, sp, -16\n sd ra, 0(sp)\n"
	"	la t0, fstate\n"
	"	fld fs0, 0(t0)\n fld fs1, 8(t0)\n fld fs2, 16(t0)\n fld fs3, 24(t0)\n fld fs4, 32(t0)\n"
	"	fld fs5, 40(t0)\n fld fs6, 48(t0)\n fld fs7, 56(t0)\n fld fs8, 64(t0)\n fld fs9, 72(t0)\n"
	"	fld fs10, 80(t0)\n fld fs11, 88(t0)\n"
	"	la t0, xstate\n ld t1, 8(t0)\n ld t2, 16(t0)\n ld t3, 24(t0)\n ld t4, 32(t0)\n"
	"	ld t5, 40(t0)\n ld t6, 48(t0)\n ld t0, 0(t0)\n"
	"	call gen_code\n"
	"	la ra, xstate\n sd t0, 0(ra)\n sd t1, 8(ra)\n sd t2, 16(ra)\n sd t3, 24(ra)\n"
	"	sd t4, 32(ra)\n sd t5, 40(ra)\n sd t6, 48(ra)\n"
	"	la ra, fstate\n"
	"	fsd fs0, 0(ra)\n fsd fs1, 8(ra)\n fsd fs2, 16(ra)\n fsd fs3, 24(ra)\n fsd fs4, 32(ra)\n"
	"	fsd fs5, 40(ra)\n fsd fs6, 48(ra)\n fsd fs7, 56(ra)\n fsd fs8, 64(ra)\n fsd fs9, 72(ra)\n"
	"	fsd fs10, 80(ra)\n fsd fs11, 88(ra)\n"
	"	ld ra, 0(sp)\n addi sp, sp, 16\n ret\n");

/* ---- the reference, run on QEMU from the illegal-instruction handler ---- */

#define GETF(n) case n: __asm__ volatile("fmv.x.d %0, f" #n : "=r"(v)); break;
#define SETF(n) case n: __asm__ volatile("fmv.d.x f" #n ", %0" ::"r"(v)); break;
static uint64_t getf(unsigned r)
{
	uint64_t v = 0;
	switch (r) { GETF(8) GETF(9) GETF(18) GETF(19) GETF(20) GETF(21) GETF(22) GETF(23) GETF(24) GETF(25)
		     GETF(26) GETF(27) default: rv_unexpected_trap(2, r, 0); }
	return v;
}

static void setf(unsigned r, uint64_t v)
{
	switch (r) { SETF(8) SETF(9) SETF(18) SETF(19) SETF(20) SETF(21) SETF(22) SETF(23) SETF(24) SETF(25)
		     SETF(26) SETF(27) default: rv_unexpected_trap(2, r, 0); }
}

static const uint32_t fli_s[32] = {
	0xbf800000, 0x00800000, 0x37800000, 0x38000000, 0x3b800000, 0x3c000000, 0x3d800000, 0x3e000000,
	0x3e800000, 0x3ea00000, 0x3ec00000, 0x3ee00000, 0x3f000000, 0x3f200000, 0x3f400000, 0x3f600000,
	0x3f800000, 0x3fa00000, 0x3fc00000, 0x3fe00000, 0x40000000, 0x40200000, 0x40400000, 0x40800000,
	0x41000000, 0x41800000, 0x43000000, 0x43800000, 0x47000000, 0x47800000, 0x7f800000, 0x7fc00000,
};

static bool nan_s(uint64_t a) { return (a & 0x7fffffff) > 0x7f800000; }
static bool snan_s(uint64_t a) { return nan_s(a) && !(a & 0x400000); }
static bool nan_d(uint64_t a) { return (a & ~(1ULL << 63)) > 0x7ff0000000000000ULL; }
static bool snan_d(uint64_t a) { return nan_d(a) && !(a & (1ULL << 51)); }

/* a single as an operand: the canonical NaN unless NaN-boxed */
static uint64_t unbox(uint64_t v)
{
	return (v >> 32) == 0xffffffff ? (uint32_t)v : 0x7fc00000;
}

#define BIN(insn, a, b) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n" insn " ft2, ft0, ft1\n fmv.x.d %0, ft2" : "=r"(r_) : "r"(a), "r"(b) : "ft0", "ft1", "ft2"); r_; })
#define CMP(insn, a, b) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n" insn " %0, ft0, ft1" : "=r"(r_) : "r"(a), "r"(b) : "ft0", "ft1"); r_; })
#define CVT(insn, a) ({ uint64_t r_; __asm__ volatile("fmv.d.x ft0, %1\n" insn : "=r"(r_) : "r"(a) : "ft0"); r_; })
#define TOF(insn, x) ({ uint64_t r_; __asm__ volatile(insn "\n fmv.x.d %0, ft0" : "=r"(r_) : "r"(x) : "ft0"); r_; })

/* to an integer in rm, as an int64 (|a| below 2^52 / 2^23) */
static int64_t to_int(int d, uint64_t a, unsigned rm)
{
	switch (rm) {
	case 0: return (int64_t)(d ? CVT("fcvt.l.d %0, ft0, rne", a) : CVT("fcvt.l.s %0, ft0, rne", a));
	case 1: return (int64_t)(d ? CVT("fcvt.l.d %0, ft0, rtz", a) : CVT("fcvt.l.s %0, ft0, rtz", a));
	case 2: return (int64_t)(d ? CVT("fcvt.l.d %0, ft0, rdn", a) : CVT("fcvt.l.s %0, ft0, rdn", a));
	case 3: return (int64_t)(d ? CVT("fcvt.l.d %0, ft0, rup", a) : CVT("fcvt.l.s %0, ft0, rup", a));
	default: return (int64_t)(d ? CVT("fcvt.l.d %0, ft0, rmm", a) : CVT("fcvt.l.s %0, ft0, rmm", a));
	}
}

static uint64_t ref_round(int d, uint64_t a, unsigned rm, bool nx, uint32_t *ff)
{
	if (d ? nan_d(a) : nan_s(a)) {
		if (d ? snan_d(a) : snan_s(a))
			*ff |= 0x10;
		return d ? 0x7ff8000000000000ULL : 0xffffffff7fc00000ULL;
	}
	unsigned e = d ? (unsigned)(a >> 52) & 0x7ff : (unsigned)(a >> 23) & 0xff;
	if (e >= (d ? 1023u + 52 : 127u + 23)) /* integral already, or infinite */
		return d ? a : 0xffffffff00000000ULL | a;
	int64_t t = to_int(d, d ? a : 0xffffffff00000000ULL | a, rm); /* a single operand NaN-boxed */
	uint64_t r = d ? TOF("fcvt.d.l ft0, %1", t) : 0xffffffff00000000ULL | TOF("fcvt.s.l ft0, %1", t);
	r = d ? BIN("fsgnj.d", r, a) : BIN("fsgnj.s", r, 0xffffffff00000000ULL | a); /* -0.0 stays */
	if (nx && !(d ? CMP("feq.d", r, a) : CMP("feq.s", r, 0xffffffff00000000ULL | a)))
		*ff |= 1;
	return r;
}

static uint64_t ref_fcvtmod(uint64_t a, uint32_t *ff)
{
	unsigned e = (unsigned)(a >> 52) & 0x7ff;
	if (e == 0x7ff) {
		*ff |= 0x10;
		return 0;
	}
	int64_t t;
	if (e < 1023 + 63) {
		t = (int64_t)CVT("fcvt.l.d %0, ft0, rtz", a);
		if (t < -2147483648LL || t > 2147483647LL)
			*ff |= 0x10;
		else if (!CMP("feq.d", TOF("fcvt.d.l ft0, %1", t), a))
			*ff |= 1;
	} else { /* 2^63 or more: the low 32 bits of mantissa << (e - 1075) */
		unsigned sh = e - 1075;
		uint64_t m = (a & ((1ULL << 52) - 1)) | 1ULL << 52;
		t = (int64_t)(sh < 64 ? m << sh : 0);
		if (a >> 63)
			t = -t;
		*ff |= 0x10;
	}
	return (uint64_t)(int64_t)(int32_t)(uint32_t)t;
}

static void handler(struct rv_frame *f)
{
	uint32_t in = *(const uint32_t *)f->epc;
	unsigned f7 = in >> 25, rs2 = (in >> 20) & 31, rs1 = (in >> 15) & 31, f3 = (in >> 12) & 7, rd = (in >> 7) & 31;
	int d = f7 & 1;
	if (f->cause != 2 || (in & 0x7f) != 0x53)
		rv_unexpected_trap(f->cause, f->epc, f->tval);
	uint64_t saved;
	__asm__ volatile("csrr %0, fcsr" : "=r"(saved));
	unsigned rm = f3 == 7 ? (unsigned)(saved >> 5) & 7 : f3;
	uint32_t ff = 0;
	uint64_t a = 0, b = 0;
	if ((f7 & ~1u) != 0x78) {
		a = d ? getf(rs1) : unbox(getf(rs1));
		if ((f7 & ~1u) == 0x14 || (f7 & ~1u) == 0x50)
			b = d ? getf(rs2) : unbox(getf(rs2));
	}
	switch (f7 & ~1u) {
	case 0x78: /* fli */
		setf(rd, d ? (rs1 == 1 ? 0x0010000000000000ULL : rs1 == 31 ? 0x7ff8000000000000ULL
				  : TOF("fmv.w.x ft0, %1\n fcvt.d.s ft0, ft0", fli_s[rs1]))
			   : 0xffffffff00000000ULL | fli_s[rs1]);
		break;
	case 0x14: { /* fminm, fmaxm */
		bool na = d ? nan_d(a) : nan_s(a), nb = d ? nan_d(b) : nan_s(b);
		uint64_t r;
		if (na || nb) {
			if (d ? snan_d(a) || snan_d(b) : snan_s(a) || snan_s(b))
				ff |= 0x10;
			r = d ? 0x7ff8000000000000ULL : 0xffffffff7fc00000ULL;
		} else if (d) {
			r = f3 == 3 ? BIN("fmax.d", a, b) : BIN("fmin.d", a, b);
		} else {
			r = f3 == 3 ? BIN("fmax.s", 0xffffffff00000000ULL | a, 0xffffffff00000000ULL | b)
				    : BIN("fmin.s", 0xffffffff00000000ULL | a, 0xffffffff00000000ULL | b);
		}
		setf(rd, r);
		break;
	}
	case 0x20: /* fround, froundnx */
		setf(rd, ref_round(d, a, rm, rs2 == 5, &ff));
		break;
	case 0x50: { /* fleq, fltq */
		uint64_t r = 0;
		if (d ? nan_d(a) || nan_d(b) : nan_s(a) || nan_s(b)) {
			if (d ? snan_d(a) || snan_d(b) : snan_s(a) || snan_s(b))
				ff |= 0x10;
		} else if (d) {
			r = f3 == 5 ? CMP("flt.d", a, b) : CMP("fle.d", a, b);
		} else {
			r = f3 == 5 ? CMP("flt.s", 0xffffffff00000000ULL | a, 0xffffffff00000000ULL | b)
				    : CMP("fle.s", 0xffffffff00000000ULL | a, 0xffffffff00000000ULL | b);
		}
		f->x[rd] = r;
		break;
	}
	case 0x60: /* fcvtmod.w.d */
		f->x[rd] = ref_fcvtmod(a, &ff);
		break;
	default:
		rv_unexpected_trap(f->cause, f->epc, f->tval);
	}
	__asm__ volatile("csrw fcsr, %0" ::"r"(saved | ff));
	f->epc += 4;
}

/* ---- the generator ---- */

static uint64_t seed = 0x2545f4914f6cdd1dULL;

static uint32_t rnd(uint32_t n)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(seed >> 33) % n;
}

static uint32_t fr(void) { return fregs[rnd(12)]; }
static uint32_t xr(void) { return xregs[rnd(7)]; }

static uint32_t op(uint32_t f7, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t rd)
{
	return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | 0x53;
}

static uint32_t gen_one(void)
{
	static const uint32_t rms[] = { 0, 1, 2, 3, 4, 7 };
	uint32_t fmt = rnd(2), rm = rms[rnd(6)];
	switch (rnd(9)) {
	case 0: return op(0x78 | fmt, 1, rnd(32), 0, fr());
	case 1: return op(0x14 | fmt, fr(), fr(), 2 + rnd(2), fr());
	case 2: case 3: return op(0x20 | fmt, 4 + rnd(2), fr(), rm, fr());
	case 4: return op(0x50 | fmt, fr(), fr(), 4 + rnd(2), xr());
	case 5: return op(0x61, 8, fr(), 1, xr());
	case 6: /* fadd/fsub/fmul/fdiv */
		return op((rnd(4) << 2) | fmt, fr(), fr(), rm == 7 ? 0 : rm, fr());
	case 7: /* fsgnj/fsgnjn/fsgnjx, fcvt.s.d / fcvt.d.s */
		if (rnd(2))
			return op(0x10 | fmt, fr(), fr(), rnd(3), fr());
		return fmt ? op(0x21, 0, fr(), 0, fr()) : op(0x20, 1, fr(), rm == 7 ? 0 : rm, fr());
	default: /* fmv.d.x / fmv.w.x from an integer result */
		return fmt ? op(0x79, 0, xr(), 0, fr()) : op(0x78, 0, xr(), 0, fr());
	}
}

static const uint64_t specials[] = {
	0, 1ULL << 63, 0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x7ff8000000000000ULL, 0x7ff0000000000001ULL,
	0x3fe0000000000000ULL, 0x4004000000000000ULL, 0xc00c000000000000ULL, 0x41e0000000000000ULL,
	0xc1e0000000000001ULL, 0x4330000000000001ULL, 0x4340000000000000ULL, 0x43e0000000000000ULL,
	0xc3e8000000000000ULL, 0x44b52d02c7e14af6ULL, 0x0000000000000001ULL, 0x3ff8000000000000ULL,
	0xffffffff3fc00000ULL, 0xffffffffbf000000ULL, 0xffffffff7f800001ULL, 0xffffffff4b000001ULL,
	0xffffffffcf000000ULL, 0xffffffff80000000ULL, 0x000000003f800000ULL, 0xffffffff7fc00000ULL,
};

static uint64_t hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

int main(void)
{
	rv_set_mtrap(handler);
	uint64_t h = 0xcbf29ce484222325ULL;
	for (int p = 0; p < PROGS; p++) {
		for (int i = 0; i < 12; i++)
			if (p == 0 || rnd(3) == 0)
				fstate[i] = specials[rnd(sizeof(specials) / sizeof(specials[0]))];
		for (int i = 0; i < BODY; i++)
			gen_code[i] = gen_one();
		gen_code[BODY] = 0x00008067; /* ret */
		__asm__ volatile("fence.i" ::: "memory");
		__asm__ volatile("csrw fcsr, %0" ::"r"((uint64_t)rnd(5) << 5));
		for (int k = 0; k < CALLS; k++)
			run_gen();
		uint64_t fcsr;
		__asm__ volatile("csrr %0, fcsr" : "=r"(fcsr));
		h = hash(h, fstate, sizeof(fstate));
		h = hash(h, xstate, sizeof(xstate));
		h = hash(h, &fcsr, sizeof(fcsr));
		if (p % 20 == 19) {
			rv_puts("programs ");
			rv_putdec(p - 19);
			rv_puts("..");
			rv_putdec(p);
			rv_puts(": ");
			rv_puthex64(h);
			rv_putc('\n');
		}
	}
	return 0;
}
