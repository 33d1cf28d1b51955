/* RV64A: every AMO in both widths on edge values, LR/SC success and failure. */
#include "rvtest.h"

static const uint64_t vals[] = { 0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x8000000000000000ULL,
				 0x7fffffffffffffffULL, 0xffffffffffffffffULL, 0x123456789abcdef0ULL };
#define NV (sizeof(vals) / sizeof(vals[0]))

#define AMO(op, w)                                                                                 \
	static uint64_t op_##op##_##w(volatile uint64_t *m, uint64_t v)                            \
	{                                                                                          \
		uint64_t r;                                                                        \
		__asm__ volatile(#op "." #w " %0, %2, (%1)" : "=r"(r) : "r"(m), "r"(v) : "memory"); \
		return r;                                                                          \
	}
AMO(amoswap, w) AMO(amoadd, w) AMO(amoxor, w) AMO(amoand, w) AMO(amoor, w) AMO(amomin, w) AMO(amomax, w)
AMO(amominu, w) AMO(amomaxu, w) AMO(amoswap, d) AMO(amoadd, d) AMO(amoxor, d) AMO(amoand, d) AMO(amoor, d)
AMO(amomin, d) AMO(amomax, d) AMO(amominu, d) AMO(amomaxu, d) 
static uint64_t op_amoadd_w_aqrl(volatile uint64_t *m, uint64_t v)
{
	uint64_t r;
	__asm__ volatile("amoadd.w.aqrl %0, %2, (%1)" : "=r"(r) : "r"(m), "r"(v) : "memory");
	return r;
}
static uint64_t op_amoor_d_aq(volatile uint64_t *m, uint64_t v)
{
	uint64_t r;
	__asm__ volatile("amoor.d.aq %0, %2, (%1)" : "=r"(r) : "r"(m), "r"(v) : "memory");
	return r;
}

typedef uint64_t (*amo_fn)(volatile uint64_t *, uint64_t);
static const amo_fn fns[] = {
	op_amoswap_w, op_amoadd_w, op_amoxor_w, op_amoand_w, op_amoor_w, op_amomin_w, op_amomax_w,
	op_amominu_w, op_amomaxu_w, op_amoswap_d, op_amoadd_d, op_amoxor_d, op_amoand_d, op_amoor_d,
	op_amomin_d, op_amomax_d, op_amominu_d, op_amomaxu_d, op_amoadd_w_aqrl, op_amoor_d_aq,
};

int main(void)
{
	static volatile uint64_t mem[2];
	for (unsigned k = 0; k < sizeof(fns) / sizeof(fns[0]); k++) {
		uint64_t h = 0;
		for (unsigned i = 0; i < NV; i++)
			for (unsigned j = 0; j < NV; j++) {
				mem[0] = vals[i];
				mem[1] = 0x5a5a5a5a5a5a5a5aULL;
				uint64_t old = fns[k](&mem[0], vals[j]);
				h = (h ^ old) * 0x100000001b3ULL;
				h = (h ^ mem[0]) * 0x100000001b3ULL;
				h = (h ^ mem[1]) * 0x100000001b3ULL;
			}
		rv_putdec(k);
		rv_putc(' ');
		rv_puthex64(h);
		rv_putc('\n');
	}
	uint64_t r, sc;
	mem[0] = 0xfffffffff0000001ULL;
	__asm__ volatile("lr.w %0, (%2)\n sc.w %1, %3, (%2)" : "=&r"(r), "=&r"(sc) : "r"(mem), "r"(77L) : "memory");
	rv_puts("lr.w ");
	rv_puthex64(r);
	rv_puts(" sc.w ");
	rv_putdec((int64_t)sc);
	rv_puts(" mem ");
	rv_puthex64(mem[0]);
	rv_putc('\n');
	__asm__ volatile("sc.d %0, %2, (%1)" : "=&r"(sc) : "r"(mem), "r"(5L) : "memory");
	rv_puts("sc.d without lr: ");
	rv_putdec((int64_t)sc);
	rv_puts(" mem ");
	rv_puthex64(mem[0]);
	rv_putc('\n');
	__asm__ volatile("lr.d %0, (%1)\n sc.d %0, %2, (%3)" : "=&r"(sc) : "r"(mem), "r"(6L), "r"(mem + 1) : "memory");
	rv_puts("sc.d to another address: ");
	rv_putdec((int64_t)sc);
	rv_putc('\n');
	__asm__ volatile("lr.d.aqrl %0, (%2)\n sc.d.rl %1, %3, (%2)" : "=&r"(r), "=&r"(sc) : "r"(mem), "r"(9L) : "memory");
	rv_puts("lr.d/sc.d ");
	rv_putdec((int64_t)sc);
	rv_puts(" mem ");
	rv_puthex64(mem[0]);
	rv_putc('\n');
	__asm__ volatile("sc.d %0, %2, (%1)" : "=&r"(sc) : "r"(mem), "r"(5L) : "memory");
	rv_puts("second sc.d fails: ");
	rv_putdec((int64_t)sc);
	rv_putc('\n');
	return 0;
}
