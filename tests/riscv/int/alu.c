/* RV64I register-register and immediate arithmetic on edge values; QEMU's output is the
 * reference, so the program prints every result rather than judging it. */
#include "rvtest.h"

static const uint64_t vals[] = {
	0, 1, 2, 0x7f, 0x80, 0xfff, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, 0xffffffffffffffffULL, 0x123456789abcdef0ULL,
	0xfedcba9876543210ULL, 63, 64, 31, 32, 0xffffffff80000000ULL,
};
#define NV (sizeof(vals) / sizeof(vals[0]))

#define RR(name)                                                                  \
	static uint64_t op_##name(uint64_t a, uint64_t b)                         \
	{                                                                         \
		uint64_t r;                                                       \
		__asm__ volatile(#name " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); \
		return r;                                                         \
	}
RR(add) RR(sub) RR(sll) RR(slt) RR(sltu) RR(xor) RR(srl) RR(sra) RR(or) RR(and)
RR(addw) RR(subw) RR(sllw) RR(srlw) RR(sraw)

struct rr { const char *name; uint64_t (*fn)(uint64_t, uint64_t); };
static const struct rr rrs[] = {
	{ "add", op_add }, { "sub", op_sub }, { "sll", op_sll }, { "slt", op_slt }, { "sltu", op_sltu },
	{ "xor", op_xor }, { "srl", op_srl }, { "sra", op_sra }, { "or", op_or }, { "and", op_and },
	{ "addw", op_addw }, { "subw", op_subw }, { "sllw", op_sllw }, { "srlw", op_srlw }, { "sraw", op_sraw },
};

static uint64_t fold(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

#define IMM(insn, imm)                                                         \
	do {                                                                   \
		uint64_t r_;                                                   \
		__asm__ volatile(insn " %0, %1, " #imm : "=r"(r_) : "r"(a)); \
		rv_puthex64(r_);                                               \
		rv_putc(' ');                                                  \
	} while (0)

int main(void)
{
	for (unsigned k = 0; k < sizeof(rrs) / sizeof(rrs[0]); k++) {
		uint64_t h = 0xcbf29ce484222325ULL;
		for (unsigned i = 0; i < NV; i++)
			for (unsigned j = 0; j < NV; j++)
				h = fold(h, rrs[k].fn(vals[i], vals[j]));
		rv_puts(rrs[k].name);
		rv_puts(" ");
		rv_puthex64(h);
		rv_putc('\n');
	}
	for (unsigned i = 0; i < NV; i++) {
		uint64_t a = vals[i];
		IMM("addi", -2048); IMM("addi", 2047); IMM("slti", -1); IMM("sltiu", -1); IMM("xori", -1);
		IMM("ori", 0x555); IMM("andi", -16); IMM("slli", 63); IMM("srli", 33); IMM("srai", 63);
		IMM("addiw", -1); IMM("slliw", 31); IMM("srliw", 1); IMM("sraiw", 31);
		rv_putc('\n');
	}
	uint64_t r;
	__asm__ volatile("lui %0, 0xfffff" : "=r"(r));
	rv_puthex64(r);
	__asm__ volatile("lui %0, 0x7ffff" : "=r"(r));
	rv_puthex64(r);
	__asm__ volatile("1: auipc %0, 0\n la t0, 1b\n sub %0, %0, t0" : "=r"(r) : : "t0");
	rv_puthex64(r);
	rv_putc('\n');
	return 0;
}
