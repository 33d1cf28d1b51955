/* Rotates written as two shifts and an or (RV64GC has no rotate), which strata-vm's JIT
 * turns into one host rotate and leaves out the shifts nobody else sees (docs/emulator.md
 * "Idiom fusion"); and the look-alikes it must not fuse: the other shift read again or live
 * at the block's end, a side exit between the shifts, the source changed in between, counts
 * that do not add up, a forward branch landing between the shifts and the or. Each loop
 * prints a checksum, which must equal QEMU's. */
#include "rvtest.h"

static uint32_t words[2 * 4096 / 4] __attribute__((aligned(4096)));

/* sigma-like: three 32-bit rotates of x, temporaries overwritten after the or */
static uint64_t rot_w(uint64_t n)
{
	uint64_t x = 0x9abcdef1, acc = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
	__asm__ volatile("1: srliw %[t0], %[x], 6\n"
			 "   slliw %[t1], %[x], 26\n"
			 "   srliw %[t2], %[x], 11\n"
			 "   slliw %[t3], %[x], 21\n"
			 "   or %[t0], %[t0], %[t1]\n"  /* rd is the right shift's */
			 "   or %[t3], %[t2], %[t3]\n"  /* rd is the left shift's */
			 "   xor %[t0], %[t0], %[t3]\n" /* 64-bit use of two lazy values */
			 "   srliw %[t1], %[x], 25\n"
			 "   slliw %[t2], %[x], 7\n"
			 "   xor %[t3], %[t2], %[t1]\n" /* xor as the combining op, both shifts dead */
			 "   li %[t1], 0\n"
			 "   li %[t2], 0\n"
			 "   xor %[t0], %[t0], %[t3]\n"
			 "   add %[acc], %[acc], %[t0]\n"
			 "   addw %[x], %[x], %[t0]\n"
			 "   addi %[n], %[n], -1\n"
			 "   bnez %[n], 1b\n"
			 : [n] "+r"(n), [x] "+r"(x), [acc] "+r"(acc), [t0] "+r"(t0), [t1] "+r"(t1), [t2] "+r"(t2),
			   [t3] "+r"(t3));
	return acc ^ x << 7 ^ t0 ^ t1 ^ t2 ^ t3;
}

/* 64-bit rotates (srli/slli, combined with or, add), one into its source register, one
 * whose second shift overwrites the source (x = x << m after t = x >> n, as compilers do
 * when x dies there) */
static uint64_t rot_64(uint64_t n)
{
	uint64_t x = 0x0123456789abcdefULL, acc = 0, t0 = 0, t1 = 0, y = 5, z = 0;
	__asm__ volatile("1: srli %[t0], %[x], 13\n"
			 "   slli %[t1], %[x], 51\n"
			 "   add %[t0], %[t1], %[t0]\n"
			 "   add %[acc], %[acc], %[t0]\n"
			 "   srli %[t0], %[y], 1\n"
			 "   slli %[t1], %[y], 63\n"
			 "   or %[y], %[t0], %[t1]\n"
			 "   xor %[y], %[y], %[acc]\n"
			 "   li %[t0], 3\n"
			 "   li %[t1], 4\n"
			 "   xor %[z], %[x], %[n]\n"
			 "   srli %[t0], %[z], 17\n"
			 "   slli %[z], %[z], 47\n"
			 "   or %[t0], %[t0], %[z]\n"
			 "   mul %[z], %[t0], %[x]\n"
			 "   add %[acc], %[acc], %[z]\n"
			 "   addi %[x], %[x], 0x5b\n"
			 "   addi %[n], %[n], -1\n"
			 "   bnez %[n], 1b\n"
			 : [n] "+r"(n), [x] "+r"(x), [acc] "+r"(acc), [t0] "+r"(t0), [t1] "+r"(t1), [y] "+r"(y),
			   [z] "+r"(z));
	return acc ^ x ^ y ^ t0 ^ t1 ^ z;
}

/* The temporaries' values are seen: one read after the or, one live when the loop ends
 * (the block's end), one stored to memory, one read between its shift and the or; each
 * rotate's other temporary is left out */
static uint64_t rot_seen(uint64_t n)
{
	uint64_t x = 0x87654321, acc = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0, z = 0;
	__asm__ volatile("1: srliw %[t0], %[x], 9\n"
			 "   slliw %[t1], %[x], 23\n"
			 "   or %[z], %[t0], %[t1]\n"
			 "   add %[acc], %[acc], %[t1]\n" /* t1 read again */
			 "   li %[t0], 0\n"
			 "   srliw %[t2], %[x], 30\n"
			 "   slliw %[t3], %[x], 2\n"
			 "   or %[t2], %[t2], %[t3]\n" /* t3 live at the loop's end */
			 "   xor %[acc], %[acc], %[z]\n"
			 "   add %[acc], %[acc], %[t2]\n"
			 "   srliw %[t0], %[x], 1\n"
			 "   slliw %[t1], %[x], 31\n"
			 "   or %[z], %[t1], %[t0]\n"
			 "   sw %[t0], 0(%[p])\n" /* t0 stored */
			 "   li %[t1], 9\n"
			 "   add %[acc], %[acc], %[z]\n"
			 "   srliw %[t2], %[x], 5\n"
			 "   add %[acc], %[acc], %[t2]\n" /* read between the shift and the or */
			 "   slliw %[t1], %[x], 27\n"
			 "   or %[t1], %[t2], %[t1]\n"
			 "   li %[t2], 0\n"
			 "   xor %[acc], %[acc], %[t1]\n"
			 "   addiw %[x], %[x], 0x7b\n"
			 "   addi %[n], %[n], -1\n"
			 "   bnez %[n], 1b\n"
			 : [n] "+r"(n), [x] "+r"(x), [acc] "+r"(acc), [t0] "+r"(t0), [t1] "+r"(t1), [t2] "+r"(t2),
			   [t3] "+r"(t3), [z] "+r"(z)
			 : [p] "r"(&words[5])
			 : "memory");
	return acc ^ t0 ^ t1 << 1 ^ t2 << 2 ^ t3 << 3 ^ z << 4 ^ words[5];
}

/* A load between the shifts and the or that leaves the block every third round (it
 * crosses a page): the shift before it cannot be left out, the one after it can */
static uint64_t rot_exit(uint64_t n)
{
	uint64_t x = 0x13579bdf, acc = 0, t0 = 0, t1 = 0, v = 0;
	const char *base = (const char *)words;
	for (uint64_t i = 0; i < n; i++) {
		const char *p = base + (i % 3 == 0 ? 4094 : 4 * (i % 1000));
		__asm__ volatile("slliw %[t1], %[x], 15\n"
				 "lw %[v], 0(%[p])\n"
				 "srliw %[t0], %[x], 17\n"
				 "or %[t0], %[t0], %[t1]\n"
				 "li %[t1], 1\n"
				 "addw %[x], %[x], %[v]\n"
				 "add %[acc], %[acc], %[t0]\n"
				 : [x] "+r"(x), [acc] "+r"(acc), [t0] "+r"(t0), [t1] "+r"(t1), [v] "=&r"(v)
				 : [p] "r"(p)
				 : "memory");
	}
	return acc ^ x ^ t0 ^ t1;
}

/* Not rotates: the source changes between the shifts; the counts add up to 31; a forward
 * branch lands between the shifts and the or (the left shift skipped on that path); the
 * second shift overwrites the source, which is read again after the or; the first shift
 * overwrites the source */
static uint64_t not_rot(uint64_t n)
{
	uint64_t x = 0x2468ace1, acc = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
	__asm__ volatile("1: srliw %[t0], %[x], 5\n"
			 "   addi %[x], %[x], 77\n"
			 "   slliw %[t1], %[x], 27\n"
			 "   or %[t0], %[t0], %[t1]\n"
			 "   add %[acc], %[acc], %[t0]\n"
			 "   srliw %[t2], %[x], 4\n"
			 "   slliw %[t3], %[x], 27\n"
			 "   or %[t2], %[t2], %[t3]\n"
			 "   xor %[acc], %[acc], %[t2]\n"
			 "   li %[t3], 0x55\n"
			 "   srliw %[t2], %[x], 3\n"
			 "   andi %[t0], %[n], 3\n"
			 "   beqz %[t0], 2f\n"
			 "   slliw %[t3], %[x], 29\n"
			 "2: or %[t2], %[t2], %[t3]\n"
			 "   li %[t3], 0\n"
			 "   add %[acc], %[acc], %[t2]\n"
			 "   mv %[t1], %[x]\n"
			 "   srliw %[t0], %[t1], 12\n"
			 "   slliw %[t1], %[t1], 20\n"
			 "   or %[t0], %[t0], %[t1]\n"
			 "   add %[acc], %[acc], %[t1]\n"
			 "   xor %[acc], %[acc], %[t0]\n"
			 "   mv %[t3], %[x]\n"
			 "   srliw %[t3], %[t3], 7\n"
			 "   slliw %[t2], %[t3], 25\n"
			 "   or %[t0], %[t3], %[t2]\n"
			 "   li %[t3], 0\n"
			 "   li %[t2], 0\n"
			 "   add %[acc], %[acc], %[t0]\n"
			 "   addi %[n], %[n], -1\n"
			 "   bnez %[n], 1b\n"
			 : [n] "+r"(n), [x] "+r"(x), [acc] "+r"(acc), [t0] "+r"(t0), [t1] "+r"(t1), [t2] "+r"(t2),
			   [t3] "+r"(t3));
	return acc ^ x ^ t0 ^ t1 ^ t2 ^ t3;
}

/* The rotates of SHA-256 as the compiler writes them */
#define ROR(v, k) ((v) >> (k) | (v) << (32 - (k)))
static uint64_t sigma(uint64_t n)
{
	uint32_t a = 0x6a09e667, e = 0x510e527f, w = 0xbb67ae85;
	uint64_t acc = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t s1 = ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25);
		uint32_t s0 = ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22);
		uint32_t m = ROR(w, 7) ^ ROR(w, 18) ^ (w >> 3);
		a += s1 + (uint32_t)i;
		e ^= s0 + m;
		w += a;
		acc += (int32_t)s0 + (uint64_t)s1;
	}
	return acc ^ a ^ (uint64_t)e << 32 ^ w;
}

/* In-place rotates (x = x >> n | x << m: the second shift overwrites its source) with more
 * live values than host registers, so that cached registers are evicted around them */
static uint64_t pressure(uint64_t n)
{
	uint32_t a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8, p = 9, q = 10, r = 11, u = 12;
	uint64_t s = 0;
	for (uint64_t i = 0; i < n; i++) {
		a += ROR(b, 27) ^ c;
		b = ROR(b, 5) + d;
		c ^= ROR(e, 13) + f;
		d += g ^ (uint32_t)i;
		e = ROR(e, 9) ^ h;
		f -= ROR(p, 3) + q;
		g += ROR(r, 30) ^ u;
		h ^= a + ROR(q, 17);
		p = ROR(p, 1) + 7;
		q ^= ROR(u, 11);
		r += ROR(a, 7);
		u = ROR(u, 19) - c;
		s += (int32_t)a + (uint64_t)h * 3 + (int32_t)p;
	}
	return s ^ a ^ (uint64_t)b << 8 ^ c ^ d ^ e ^ f ^ g ^ h ^ p ^ q ^ r ^ u;
}

int main(void)
{
	for (unsigned i = 0; i < sizeof(words) / 4; i++)
		words[i] = i * 2654435761u;
	rv_show("rot_w", rot_w(5000));
	rv_show("rot_64", rot_64(5000));
	rv_show("rot_seen", rot_seen(5000));
	rv_show("rot_exit", rot_exit(5000));
	rv_show("not_rot", not_rot(5000));
	rv_show("sigma", sigma(5000));
	rv_show("pressure", pressure(5000));
	return 0;
}
