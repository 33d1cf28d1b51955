/* Loop back edges in strata-vm's JIT, emitted inline as one backward conditional jump
 * (jit_emit_back_edge): a back edge of each condition whose operands cross the signed and
 * unsigned boundaries (the condition is inverted to jump over it), a loop with a second
 * back edge in its middle (the code after it goes on in the same cache state), a back edge
 * that must move registers into the loop head's state, and loops long enough to run out of
 * the instruction budget at the back edge (the exit path there). Each prints a checksum,
 * which must equal QEMU's. */
#include "rvtest.h"

/* x walks from `from` by `step`; the loop goes round while x OP limit */
#define BACK(name, op)                                                                          \
	static uint64_t name(int64_t from, int64_t step, int64_t limit)                         \
	{                                                                                       \
		uint64_t x = (uint64_t)from, s = 0, n = 0;                                      \
		__asm__ volatile("1: add %[s], %[s], %[x]\n"                                    \
				 "   xori %[s], %[s], 0x3c\n"                                   \
				 "   addi %[n], %[n], 1\n"                                      \
				 "   add %[x], %[x], %[st]\n"                                   \
				 "   " op " %[x], %[l], 1b\n"                                   \
				 : [x] "+&r"(x), [s] "+&r"(s), [n] "+&r"(n)                      \
				 : [st] "r"(step), [l] "r"(limit));                             \
		return s ^ n << 40;                                                             \
	}
BACK(back_beq, "beq")
BACK(back_bne, "bne")
BACK(back_blt, "blt")
BACK(back_bge, "bge")
BACK(back_bltu, "bltu")
BACK(back_bgeu, "bgeu")

/* Two back edges: the first one (taken while i is odd) in the middle of the body */
static uint64_t twice(uint64_t n)
{
	uint64_t i = n, a = 5, b = 7;
	__asm__ volatile("1: addi %[i], %[i], -1\n"
			 "   add %[a], %[a], %[i]\n"
			 "   andi t0, %[i], 1\n"
			 "   bnez t0, 1b\n"
			 "   xor %[b], %[b], %[a]\n"
			 "   slli %[a], %[a], 1\n"
			 "   bnez %[i], 1b\n"
			 : [i] "+r"(i), [a] "+r"(a), [b] "+r"(b)
			 :
			 : "t0");
	return a ^ b << 3;
}

/* More live registers than host registers: the back edge stores and reloads some */
static uint64_t crowded(uint64_t n)
{
	uint64_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8, p = 9, q = 10, r = 11, s = 12, u = 13;
	for (uint64_t i = 0; i < n; i++) {
		a += b ^ i;
		b += c;
		c ^= d + (i << 2);
		d += e >> 1;
		e ^= f;
		f += g * 3;
		g ^= h;
		h += p;
		p ^= q + a;
		q += r;
		r ^= s;
		s += u ^ c;
		u = (uint32_t)(u + a);
		__asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f), "+r"(g));
		__asm__ volatile("" : "+r"(h), "+r"(p), "+r"(q), "+r"(r), "+r"(s), "+r"(u));
	}
	return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ p ^ q ^ r ^ s ^ u;
}

int main(void)
{
	rv_show("beq", back_beq(-3, 1, -2) ^ back_beq(5, 0, 6));
	rv_show("bne", back_bne(-50000, 1, 50000) ^ back_bne(3, -1, -4));
	rv_show("blt", back_blt(-100000, 3, 7) ^ back_blt(0x7fffffffffffff00, 1, 0x7fffffffffffffff));
	rv_show("bge", back_bge(100000, -3, -7) ^ back_bge(5, -1, 5) ^ back_bge(-5, -1, -9));
	rv_show("bltu", back_bltu(0, 1, 70000) ^ back_bltu(-10, 1, -1) ^ back_bltu(-1000, 1, 5));
	rv_show("bgeu", back_bgeu(-1, -3, -90000) ^ back_bgeu(-1, -(1LL << 44), INT64_MIN) ^ back_bgeu(3, -1, -5));
	rv_show("twice", twice(100000));
	rv_show("crowded", crowded(100000));
	return 0;
}
