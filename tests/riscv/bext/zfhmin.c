/* Zfhmin: binary16 conversions from binary32/64 in every rounding mode (edge values and a
 * sweep across the whole binary16 range, subnormals and overflow included), every binary16
 * value widened to binary32 and binary64, flags included; NaN-boxing of halves; flh/fsh and
 * the moves. */
/* cpu: rv64,Zfhmin=true */
#include "rvtest.h"

static uint64_t fold(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static uint64_t flags(void)
{
	uint64_t f;
	__asm__ volatile("csrrw %0, fflags, x0" : "=r"(f));
	return f;
}

static void setf(uint64_t v)
{
	__asm__ volatile("fmv.d.x f10, %0" ::"r"(v));
}

static uint64_t getf(void)
{
	uint64_t v;
	__asm__ volatile("fmv.x.d %0, f11" : "=r"(v));
	return v;
}

/* f11 = convert(f10) with rounding mode rm */
static uint64_t cvt(int kind, int rm)
{
	switch (kind * 8 + rm) {
#define C(k, r, f7, rs2) case k * 8 + r: __asm__ volatile(".insn r 0x53, " #r ", " #f7 ", f11, f10, " #rs2 ::: "f11"); break;
#define ALLRM(k, f7, rs2) C(k, 0, f7, rs2) C(k, 1, f7, rs2) C(k, 2, f7, rs2) C(k, 3, f7, rs2) C(k, 4, f7, rs2)
	ALLRM(0, 0x22, f0) /* fcvt.h.s */
	ALLRM(1, 0x22, f1) /* fcvt.h.d */
	ALLRM(2, 0x20, f2) /* fcvt.s.h */
	ALLRM(3, 0x21, f2) /* fcvt.d.h */
	}
	return getf();
}

static uint64_t seed = 12345;
static uint64_t rnd(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return seed >> 11;
}

int main(void)
{
	static const uint64_t d_edges[] = {
		0, 0x8000000000000000ULL, 0x3ff0000000000000ULL, 0x40effc0000000000ULL /* 65504 */,
		0x40effe0000000000ULL /* 65520: rounds to inf in RNE */, 0x40f0000000000000ULL, 0x7ff0000000000000ULL,
		0xfff0000000000000ULL, 0x7ff8000000000000ULL, 0x7ff0000000000001ULL /* sNaN */,
		0x3f10000000000000ULL /* 2^-14 */, 0x3e70000000000000ULL /* 2^-24 */, 0x3e60000000000000ULL /* 2^-25 */,
		0x3e68000000000000ULL, 0x3f0ffc0000000000ULL, 0x3f0ffe0000000000ULL, 0x3f0fff0000000000ULL,
		0x3ff0020000000000ULL, 0x3ff0010000000000ULL, 0x3ff0030000000000ULL, 0xc0effe0000000001ULL,
		0x0000000000000001ULL, 0x3fd5555555555555ULL, 0xbfd5555555555555ULL,
	};
	uint64_t box_s = 0xffffffff00000000ULL;
	for (unsigned i = 0; i < sizeof(d_edges) / sizeof(d_edges[0]); i++) {
		rv_puthex64(d_edges[i]);
		rv_puts(":");
		for (int rm = 0; rm < 5; rm++) {
			setf(d_edges[i]);
			uint64_t h = cvt(1, rm), f = flags();
			rv_putc(' ');
			rv_puthex64(h);
			rv_putc('/');
			rv_putdec((int64_t)f);
		}
		rv_putc('\n');
	}
	/* binary32 -> binary16: the same through single precision, and an unboxed single */
	static const uint32_t s_edges[] = { 0x477fe000, 0x477ff000, 0x33800000, 0x33000000, 0x38800000, 0x7f800001,
					    0xff800000, 0x3eaaaaab, 0x387fc000, 0x387fe000 };
	for (unsigned i = 0; i < sizeof(s_edges) / sizeof(s_edges[0]); i++) {
		for (int rm = 0; rm < 5; rm++) {
			setf(box_s | s_edges[i]);
			uint64_t h = cvt(0, rm), f = flags();
			rv_puthex64(h);
			rv_putc('/');
			rv_putdec((int64_t)f);
			rv_putc(' ');
		}
		rv_putc('\n');
	}
	setf(0x3ff0000000000000ULL); /* a double is not a boxed single: reads as the canonical NaN */
	rv_puthex64(cvt(0, 0));
	rv_putc('/');
	rv_putdec((int64_t)flags());
	rv_putc('\n');
	/* every binary16, boxed and not, widened */
	uint64_t hs = 0xcbf29ce484222325ULL, hd = hs, hf = 0;
	for (uint32_t v = 0; v < 65536; v++) {
		setf(0xffffffffffff0000ULL | v);
		hs = fold(hs, cvt(2, (int)(v % 5)));
		hs = fold(hs, flags());
		setf(0xffffffffffff0000ULL | v);
		hd = fold(hd, cvt(3, 0));
		hd = fold(hd, flags());
	}
	setf(0x0000000000003c00ULL);
	hf = cvt(3, 0);
	rv_puts("widen s ");
	rv_puthex64(hs);
	rv_puts(" d ");
	rv_puthex64(hd);
	rv_puts(" unboxed ");
	rv_puthex64(hf);
	rv_putc('\n');
	/* a sweep of doubles over the binary16 range, every rounding mode */
	uint64_t hn = 0xcbf29ce484222325ULL;
	for (int i = 0; i < 20000; i++) {
		uint64_t r = rnd();
		uint64_t e = 1023 - 30 + (r % 50); /* 2^-30 .. 2^19 */
		uint64_t d = (r >> 63) << 63 | e << 52 | ((r * 0x9e3779b97f4a7c15ULL) & 0xfffffffffffffULL);
		if (i & 1) /* few significant bits: exact and halfway cases */
			d &= ~0x3ffffffffULL;
		for (int rm = 0; rm < 5; rm++) {
			setf(d);
			hn = fold(hn, cvt(1, rm));
			hn = fold(hn, flags());
		}
	}
	rv_puts("narrow ");
	rv_puthex64(hn);
	rv_putc('\n');
	/* flh / fsh / fmv.x.h / fmv.h.x */
	static uint16_t mem[4] = { 0x3c00, 0x8001, 0x7c01, 0xfbff };
	uint64_t x, y, fx;
	__asm__ volatile(".insn i 0x07, 1, f12, 2(%1)\n fmv.x.d %0, f12" : "=r"(x) : "r"(mem) : "f12", "memory");
	__asm__ volatile(".insn r 0x53, 0, 0x72, %0, f12, x0" : "=r"(y)::);
	__asm__ volatile(".insn r 0x53, 0, 0x7a, f13, %1, x0\n fmv.x.d %0, f13" : "=r"(fx) : "r"(0x123456789abcfbffULL) : "f13");
	__asm__ volatile(".insn s 0x27, 1, f13, 6(%0)" ::"r"(mem) : "memory");
	rv_puthex64(x);
	rv_putc(' ');
	rv_puthex64(y);
	rv_putc(' ');
	rv_puthex64(fx);
	rv_putc(' ');
	rv_puthex64((uint64_t)mem[3] | (uint64_t)mem[0] << 16);
	rv_putc('\n');
	return 0;
}
