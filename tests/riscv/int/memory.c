/* Loads and stores of every width and signedness, aligned and misaligned (also across a
 * page boundary), plus branches and jumps. */
#include "rvtest.h"

static uint8_t buf[8192] __attribute__((aligned(4096)));

#define LD(insn, off)                                                                  \
	({                                                                             \
		uint64_t r_;                                                           \
		__asm__ volatile(insn " %0, 0(%1)" : "=r"(r_) : "r"(buf + (off)) : "memory"); \
		r_;                                                                    \
	})
#define ST(insn, off, v) __asm__ volatile(insn " %0, 0(%1)" ::"r"((uint64_t)(v)), "r"(buf + (off)) : "memory")

int main(void)
{
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	static const unsigned offs[] = { 0, 1, 2, 3, 5, 7, 8, 4093, 4094, 4095, 4096 - 8, 4090 };
	for (unsigned k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
		unsigned o = offs[k];
		rv_putdec(o);
		rv_putc(':');
		rv_puthex64(LD("lb", o)); rv_puthex64(LD("lbu", o)); rv_puthex64(LD("lh", o));
		rv_puthex64(LD("lhu", o)); rv_puthex64(LD("lw", o)); rv_puthex64(LD("lwu", o));
		rv_puthex64(LD("ld", o));
		rv_putc('\n');
	}
	ST("sd", 4093, 0x1122334455667788ULL);
	ST("sw", 4091, 0xa1a2a3a4);
	ST("sh", 4095, 0xb1b2);
	ST("sb", 4094, 0xc1);
	ST("sd", 3, 0x0102030405060708ULL);
	uint64_t h = 0;
	for (unsigned i = 0; i < sizeof(buf); i++)
		h = (h ^ buf[i]) * 0x100000001b3ULL;
	rv_puthex64(h);
	rv_putc('\n');

	/* branches: count taken outcomes over signed/unsigned pairs */
	static const int64_t v[] = { -2, -1, 0, 1, 2, INT64_MIN, INT64_MAX };
	uint64_t mask = 0;
	int bit = 0;
	for (unsigned i = 0; i < 7; i++)
		for (unsigned j = 0; j < 7; j++) {
			int t;
			__asm__ volatile("li %0, 0\n blt %1, %2, 1f\n li %0, 1\n1:" : "=&r"(t) : "r"(v[i]), "r"(v[j]));
			mask ^= (uint64_t)t << (bit++ % 64);
			__asm__ volatile("li %0, 0\n bltu %1, %2, 1f\n li %0, 1\n1:" : "=&r"(t) : "r"(v[i]), "r"(v[j]));
			mask ^= (uint64_t)t << (bit++ % 64);
			__asm__ volatile("li %0, 0\n bge %1, %2, 1f\n li %0, 1\n1:" : "=&r"(t) : "r"(v[i]), "r"(v[j]));
			mask ^= (uint64_t)t << (bit++ % 64);
			__asm__ volatile("li %0, 0\n bgeu %1, %2, 1f\n li %0, 1\n1:" : "=&r"(t) : "r"(v[i]), "r"(v[j]));
			mask ^= (uint64_t)t << (bit++ % 64);
			__asm__ volatile("li %0, 0\n beq %1, %2, 1f\n li %0, 1\n1:" : "=&r"(t) : "r"(v[i]), "r"(v[j]));
			mask ^= (uint64_t)t << (bit++ % 64);
			__asm__ volatile("li %0, 0\n bne %1, %2, 1f\n li %0, 1\n1:" : "=&r"(t) : "r"(v[i]), "r"(v[j]));
			mask ^= (uint64_t)t << (bit++ % 64);
		}
	rv_puthex64(mask);
	uint64_t link, target;
	__asm__ volatile("la %1, 2f\n jalr %0, 0(%1)\n nop\n2:" : "=r"(link), "=r"(target));
	rv_puthex64(target - link);
	rv_putc('\n');
	return 0;
}
