/* Self-modifying code: an instruction rewritten in place (then fence.i) must run in its new
 * form, also when the old form was already executed (decoded and cached). */
#include "rvtest.h"

static uint32_t code[4] __attribute__((aligned(16)));

static uint64_t run_code(void)
{
	uint64_t r;
	__asm__ volatile("fence.i\n jalr ra, 0(%1)\n mv %0, a0" : "=r"(r) : "r"(code) : "ra", "a0", "memory");
	return r;
}

int main(void)
{
	uint64_t sum = 0;
	for (int i = 0; i < 5; i++) {
		/* addi a0, zero, 100 + i ; ret */
		code[0] = (uint32_t)((100 + i) << 20) | (10 << 7) | 0x13;
		code[1] = 0x00008067;
		uint64_t r = run_code();
		rv_putdec((int64_t)r);
		rv_putc(' ');
		sum += r;
	}
	/* a compressed instruction replacing half of a 32-bit one: c.li a0, 7 ; c.jr ra */
	code[0] = 0x451d | (0x8082u << 16);
	rv_putdec((int64_t)run_code());
	rv_putc('\n');
	return sum == 510 ? 0 : 1;
}
