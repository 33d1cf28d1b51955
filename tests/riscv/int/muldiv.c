/* RV64M: every multiply/divide instruction on edge values (division by zero, overflow). */
#include "rvtest.h"

static const uint64_t vals[] = {
	0, 1, 2, 3, 7, 0x7fffffff, 0x80000000, 0xffffffff, 0xffffffff80000000ULL, 0x7fffffffffffffffULL,
	0x8000000000000000ULL, 0xffffffffffffffffULL, 0xfffffffffffffffeULL, 0x123456789abcdef0ULL, 0xdeadbeefcafebabeULL,
};
#define NV (sizeof(vals) / sizeof(vals[0]))

#define RR(name)                                                                  \
	static uint64_t op_##name(uint64_t a, uint64_t b)                         \
	{                                                                         \
		uint64_t r;                                                       \
		__asm__ volatile(#name " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); \
		return r;                                                         \
	}
RR(mul) RR(mulh) RR(mulhsu) RR(mulhu) RR(div) RR(divu) RR(rem) RR(remu)
RR(mulw) RR(divw) RR(divuw) RR(remw) RR(remuw)

struct rr { const char *name; uint64_t (*fn)(uint64_t, uint64_t); };
static const struct rr rrs[] = {
	{ "mul", op_mul }, { "mulh", op_mulh }, { "mulhsu", op_mulhsu }, { "mulhu", op_mulhu },
	{ "div", op_div }, { "divu", op_divu }, { "rem", op_rem }, { "remu", op_remu },
	{ "mulw", op_mulw }, { "divw", op_divw }, { "divuw", op_divuw }, { "remw", op_remw }, { "remuw", op_remuw },
};

int main(void)
{
	for (unsigned k = 0; k < sizeof(rrs) / sizeof(rrs[0]); k++) {
		rv_puts(rrs[k].name);
		rv_putc('\n');
		for (unsigned i = 0; i < NV; i++) {
			for (unsigned j = 0; j < NV; j++) {
				uint64_t r = rrs[k].fn(vals[i], vals[j]);
				rv_puthex32((uint32_t)(r >> 32) ^ (uint32_t)r * 0x9e3779b1u);
				rv_putc(j + 1 == NV ? '\n' : ' ');
			}
		}
	}
	return 0;
}
