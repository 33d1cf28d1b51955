/* Loops that keep their registers in host registers across iterations in strata-vm's JIT
 * (a loop head state, docs/emulator.md "Registers across control flow"): branches over one
 * instruction turned into a cmov, for each condition and with a W op (whose sign extension
 * is left out) as the skipped instruction; more live registers than the JIT has host
 * registers, with W ops feeding 64-bit ones; loads and stores that leave the block on a
 * TLB miss with registers dirty; forward branches over several instructions merging two
 * register states. Each prints a checksum, which must equal QEMU's. */
#include "rvtest.h"

static uint32_t words[3 * 4096 / 4] __attribute__((aligned(4096)));

/* s = t + i (64 bits), then s = (int32_t)(s + i) (addw) unless (i & 7) OP k; t += s */
#define OVER_ONE(name, op)                                                                      \
	static uint64_t name(uint64_t n, uint64_t k)                                            \
	{                                                                                       \
		uint64_t a0 = n, a2 = 0, a3 = 0x123456789abcULL;                                \
		__asm__ volatile("1: andi t0, %[i], 7\n"                                        \
				 "   add %[s], %[t], %[i]\n"                                    \
				 "   " op " t0, %[k], 2f\n"                                     \
				 "   addw %[s], %[s], %[i]\n"                                   \
				 "2: add %[t], %[t], %[s]\n"                                    \
				 "   addi %[i], %[i], -1\n"                                     \
				 "   bnez %[i], 1b\n"                                           \
				 : [i] "+r"(a0), [s] "+r"(a2), [t] "+r"(a3)                     \
				 : [k] "r"(k)                                                   \
				 : "t0");                                                       \
		return a2 ^ a3 << 1;                                                            \
	}
OVER_ONE(over_beq, "beq")
OVER_ONE(over_bne, "bne")
OVER_ONE(over_blt, "blt")
OVER_ONE(over_bge, "bge")
OVER_ONE(over_bltu, "bltu")
OVER_ONE(over_bgeu, "bgeu")

/* The skipped instruction is a shift or lui, its destination read as 64 bits after */
static uint64_t over_shift(uint64_t n)
{
	uint64_t i = n, x = 0x1234567, y = 0, z = 0;
	__asm__ volatile("1: andi t0, %[i], 3\n"
			 "   beqz t0, 2f\n"
			 "   slliw %[x], %[x], 3\n"
			 "2: xori %[x], %[x], 0x55\n"
			 "   andi t0, %[i], 5\n"
			 "   bnez t0, 3f\n"
			 "   lui %[y], 0x80000\n"
			 "3: add %[z], %[z], %[x]\n"
			 "   add %[z], %[z], %[y]\n"
			 "   srli %[y], %[y], 1\n"
			 "   addi %[i], %[i], -1\n"
			 "   bnez %[i], 1b\n"
			 : [i] "+r"(i), [x] "+r"(x), [y] "+r"(y), [z] "+r"(z)
			 :
			 : "t0");
	return x ^ y ^ z;
}

/* More live values than host registers: 32-bit mixing (W ops) into 64-bit sums */
static uint64_t many(uint64_t n)
{
	uint32_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8, p = 9, q = 10;
	uint64_t s = 0, t = 0x123456789abcdefULL, u = 1;
	for (uint64_t i = 0; i < n; i++) {
		a += b ^ (c >> 3);
		b = (b << 5) | (b >> 27);
		c += d * 3;
		d ^= e + (uint32_t)i;
		e = e + (f & g);
		f -= g ^ p;
		g += h;
		h ^= a + q;
		p = p * 5 + 1;
		q ^= p >> 7;
		s += (int32_t)a + (uint64_t)h * 3 + (int32_t)p;
		t ^= (t << 7) + s;
		u += (int64_t)(int32_t)(e ^ f) >> 3;
		if ((int32_t)e < 0)
			s += 1;
	}
	return s ^ t ^ u ^ a ^ (uint64_t)b << 8 ^ c ^ d ^ e ^ f ^ g ^ h ^ p ^ q;
}

/* Word loads and stores over three pages (a TLB miss leaves the block with the sums
 * dirty), the sums in W ops */
static uint64_t pages(uint64_t rounds)
{
	uint32_t s = 0, x = 0;
	uint64_t wide = 0;
	for (uint64_t r = 0; r < rounds; r++) {
		for (unsigned i = 0; i < sizeof(words) / 4; i += 7) {
			s += words[i] ^ x;
			x = x * 3 + s;
			words[i] = s;
			wide += (int32_t)x;
		}
	}
	return wide ^ s;
}

/* A forward branch over several instructions in a loop: both states meet and go round */
static uint64_t merge(uint64_t n)
{
	uint64_t a = 0, b = 1, c = 2, d = 3;
	for (uint64_t i = 0; i < n; i++) {
		if (i % 3 != 0) {
			a += b;
			c ^= a << 3;
			d = (uint32_t)(d + c);
		}
		b += (int32_t)(d ^ i);
	}
	return a ^ b ^ c ^ d;
}

int main(void)
{
	for (unsigned i = 0; i < sizeof(words) / 4; i++)
		words[i] = i * 2654435761u;
	rv_show("beq", over_beq(5000, 3));
	rv_show("bne", over_bne(5000, 3));
	rv_show("blt", over_blt(5000, 3));
	rv_show("bge", over_bge(5000, 3));
	rv_show("bltu", over_bltu(5000, 3));
	rv_show("bgeu", over_bgeu(5000, 3));
	rv_show("shift", over_shift(5000));
	rv_show("many", many(20000));
	rv_show("pages", pages(40));
	rv_show("merge", merge(20000));
	return 0;
}
