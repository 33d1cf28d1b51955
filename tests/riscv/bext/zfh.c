/* Zfh arithmetic against QEMU: every op on edge binary16 values and random pairs (biased to
 * specials, subnormals and near-overflow) in every rounding mode; a hash of results and
 * fflags per op and mode. */
/* cpu: rv64,Zfh=true */
#include "rvtest.h"

static uint64_t fold(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static uint64_t seed = 777;
static uint32_t rnd(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(seed >> 33);
}

static const uint16_t edges[] = { 0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x3c00, 0xbc00, 0x7bff, 0xfbff,
				  0x7c00, 0xfc00, 0x7e00, 0x7c01, 0x3555, 0x4000, 0x5bff, 0x1400, 0x0200, 0x7800 };
#define NE (sizeof(edges) / sizeof(edges[0]))

static uint16_t pick(void)
{
	uint32_t r = rnd();
	if (r % 4 == 0)
		return edges[(r >> 8) % NE];
	return (uint16_t)(r >> 12);
}

/* op index, rm: f13 = op(f10, f11, f12); returns the raw f13 (or integer result) */
static uint64_t run(int op, int rm, uint16_t a, uint16_t b, uint16_t c, uint64_t xv)
{
	uint64_t box = 0xffffffffffff0000ULL, r = 0;
	__asm__ volatile("fmv.d.x f10, %0\n fmv.d.x f11, %1\n fmv.d.x f12, %2" ::"r"(box | a), "r"(box | b), "r"(box | c)
			 : "f10", "f11", "f12");
#define R3(f7, rmv) __asm__ volatile(".insn r 0x53, " #rmv ", " #f7 ", f13, f10, f11\n fmv.x.d %0, f13" : "=r"(r)::"f13")
#define RM5(f7) switch (rm) { case 0: R3(f7, 0); break; case 1: R3(f7, 1); break; case 2: R3(f7, 2); break; \
		case 3: R3(f7, 3); break; default: R3(f7, 4); break; }
#define FMA(opc, rmv) __asm__ volatile(".insn r4 " #opc ", " #rmv ", 2, f13, f10, f11, f12\n fmv.x.d %0, f13" : "=r"(r)::"f13")
#define FMA5(opc) switch (rm) { case 0: FMA(opc, 0); break; case 1: FMA(opc, 1); break; case 2: FMA(opc, 2); break; \
		case 3: FMA(opc, 3); break; default: FMA(opc, 4); break; }
#define XR(f7, f3, rs2) __asm__ volatile(".insn r 0x53, " #f3 ", " #f7 ", %0, f10, " #rs2 : "=r"(r))
#define XRM(f7, rs2) switch (rm) { case 0: XR(f7, 0, rs2); break; case 1: XR(f7, 1, rs2); break; \
		case 2: XR(f7, 2, rs2); break; case 3: XR(f7, 3, rs2); break; default: XR(f7, 4, rs2); break; }
#define FX(rs2, rmv) __asm__ volatile(".insn r 0x53, " #rmv ", 0x6a, f13, %1, " #rs2 "\n fmv.x.d %0, f13" : "=r"(r) : "r"(xv) : "f13")
#define FXRM(rs2) switch (rm) { case 0: FX(rs2, 0); break; case 1: FX(rs2, 1); break; case 2: FX(rs2, 2); break; \
		case 3: FX(rs2, 3); break; default: FX(rs2, 4); break; }
	switch (op) {
	case 0: RM5(0x02) break;			     /* fadd.h */
	case 1: RM5(0x06) break;			     /* fsub.h */
	case 2: RM5(0x0a) break;			     /* fmul.h */
	case 3: RM5(0x0e) break;			     /* fdiv.h */
	case 4: switch (rm) { case 0: __asm__ volatile(".insn r 0x53, 0, 0x2e, f13, f10, f0\n fmv.x.d %0, f13" : "=r"(r)::"f13"); break;
		case 1: __asm__ volatile(".insn r 0x53, 1, 0x2e, f13, f10, f0\n fmv.x.d %0, f13" : "=r"(r)::"f13"); break;
		case 2: __asm__ volatile(".insn r 0x53, 2, 0x2e, f13, f10, f0\n fmv.x.d %0, f13" : "=r"(r)::"f13"); break;
		case 3: __asm__ volatile(".insn r 0x53, 3, 0x2e, f13, f10, f0\n fmv.x.d %0, f13" : "=r"(r)::"f13"); break;
		default: __asm__ volatile(".insn r 0x53, 4, 0x2e, f13, f10, f0\n fmv.x.d %0, f13" : "=r"(r)::"f13"); break; }
		break;						     /* fsqrt.h */
	case 5: FMA5(0x43) break;				     /* fmadd.h */
	case 6: FMA5(0x47) break;				     /* fmsub.h */
	case 7: FMA5(0x4b) break;				     /* fnmsub.h */
	case 8: FMA5(0x4f) break;				     /* fnmadd.h */
	case 9: if (rm < 3) { if (rm == 0) R3(0x12, 0); else if (rm == 1) R3(0x12, 1); else R3(0x12, 2); } break; /* fsgnj* */
	case 10: if (rm == 0) R3(0x16, 0); else if (rm == 1) R3(0x16, 1); break; /* fmin/fmax */
	case 11: if (rm == 0) XR(0x52, 0, f11); else if (rm == 1) XR(0x52, 1, f11); else if (rm == 2) XR(0x52, 2, f11); break;
	case 12: if (rm == 0) XR(0x72, 1, f0); break;		     /* fclass.h */
	case 13: XRM(0x62, f0) break;				     /* fcvt.w.h */
	case 14: XRM(0x62, f1) break;				     /* fcvt.wu.h */
	case 15: XRM(0x62, f2) break;				     /* fcvt.l.h */
	case 16: XRM(0x62, f3) break;				     /* fcvt.lu.h */
	case 17: FXRM(x0) break;				     /* fcvt.h.w */
	case 18: FXRM(x1) break;				     /* fcvt.h.wu */
	case 19: FXRM(x2) break;				     /* fcvt.h.l */
	default: FXRM(x3) break;				     /* fcvt.h.lu */
	}
	return r;
}

int main(void)
{
	static const char *const names[] = { "fadd", "fsub", "fmul", "fdiv", "fsqrt", "fmadd", "fmsub", "fnmsub", "fnmadd",
					     "fsgnj", "fminmax", "fcmp", "fclass", "fcvt.w", "fcvt.wu", "fcvt.l",
					     "fcvt.lu", "fcvt.h.w", "fcvt.h.wu", "fcvt.h.l", "fcvt.h.lu" };
	for (int op = 0; op < 21; op++) {
		rv_puts(names[op]);
		for (int rm = 0; rm < 5; rm++) {
			uint64_t h = 0xcbf29ce484222325ULL, ff;
			for (unsigned i = 0; i < NE * NE; i++) { /* every pair of edges, then random ones */
				uint16_t a = edges[i % NE], b = edges[i / NE], c = edges[(i * 7) % NE];
				uint64_t xv = (uint64_t)(int64_t)(int16_t)a * (i & 1 ? 1 : 0x10001);
				h = fold(h, run(op, rm, a, b, c, xv));
				__asm__ volatile("csrrw %0, fflags, x0" : "=r"(ff));
				h = fold(h, ff);
			}
			for (int i = 0; i < 1500; i++) {
				uint16_t a = pick(), b = pick(), c = pick();
				uint64_t xv = ((uint64_t)rnd() << 32 | rnd()) >> (rnd() % 64);
				h = fold(h, run(op, rm, a, b, c, xv));
				__asm__ volatile("csrrw %0, fflags, x0" : "=r"(ff));
				h = fold(h, ff);
			}
			rv_putc(' ');
			rv_puthex64(h);
		}
		rv_putc('\n');
	}
	return 0;
}
