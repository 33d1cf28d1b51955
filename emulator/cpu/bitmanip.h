/* bitmanip.h - the bit-manipulation results (Zbb, Zbc, Zbkb, Zbkx) that are more than one C
 * operator, shared by the interpreter and the JIT's helper calls (which pass two operands). */
#ifndef STRATA_EMULATOR_CPU_BITMANIP_H
#define STRATA_EMULATOR_CPU_BITMANIP_H

#include <stdint.h>

static inline uint64_t rv_clz64(uint64_t a) { return a ? (uint64_t)__builtin_clzll(a) : 64; }
static inline uint64_t rv_ctz64(uint64_t a) { return a ? (uint64_t)__builtin_ctzll(a) : 64; }
static inline uint64_t rv_clz32(uint64_t a) { return (uint32_t)a ? (uint64_t)__builtin_clz((uint32_t)a) : 32; }
static inline uint64_t rv_ctz32(uint64_t a) { return (uint32_t)a ? (uint64_t)__builtin_ctz((uint32_t)a) : 32; }
static inline uint64_t rv_cpop64(uint64_t a, uint64_t b) { (void)b; return (uint64_t)__builtin_popcountll(a); }
static inline uint64_t rv_cpop32(uint64_t a, uint64_t b) { (void)b; return (uint64_t)__builtin_popcount((uint32_t)a); }

static inline uint64_t rv_rol64(uint64_t a, unsigned n) { n &= 63; return n ? a << n | a >> (64 - n) : a; }
static inline uint64_t rv_ror64(uint64_t a, unsigned n) { n &= 63; return n ? a >> n | a << (64 - n) : a; }
static inline uint64_t rv_rolw(uint64_t a, unsigned n)
{
	uint32_t w = (uint32_t)a;
	n &= 31;
	return (uint64_t)(int64_t)(int32_t)(n ? w << n | w >> (32 - n) : w);
}
static inline uint64_t rv_rorw(uint64_t a, unsigned n)
{
	uint32_t w = (uint32_t)a;
	n &= 31;
	return (uint64_t)(int64_t)(int32_t)(n ? w >> n | w << (32 - n) : w);
}

/* every byte: 0xff if it is non-zero, else 0 */
static inline uint64_t rv_orc_b(uint64_t a, uint64_t b)
{
	uint64_t r = 0;
	(void)b;
	for (int i = 0; i < 64; i += 8)
		if ((a >> i) & 0xff)
			r |= 0xffULL << i;
	return r;
}

/* reverses the bits of every byte */
static inline uint64_t rv_brev8(uint64_t a, uint64_t b)
{
	(void)b;
	a = (a & 0x5555555555555555ULL) << 1 | ((a >> 1) & 0x5555555555555555ULL);
	a = (a & 0x3333333333333333ULL) << 2 | ((a >> 2) & 0x3333333333333333ULL);
	return (a & 0x0f0f0f0f0f0f0f0fULL) << 4 | ((a >> 4) & 0x0f0f0f0f0f0f0f0fULL);
}

static inline uint64_t rv_rev8(uint64_t a, uint64_t b) { (void)b; return __builtin_bswap64(a); }

/* carry-less products: the low half, the high half, and bits 126..63 (clmulr) */
static inline uint64_t rv_clmul(uint64_t a, uint64_t b)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i++)
		if ((b >> i) & 1)
			r ^= a << i;
	return r;
}
static inline uint64_t rv_clmulh(uint64_t a, uint64_t b)
{
	uint64_t r = 0;
	for (int i = 1; i < 64; i++)
		if ((b >> i) & 1)
			r ^= a >> (64 - i);
	return r;
}
static inline uint64_t rv_clmulr(uint64_t a, uint64_t b)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i++)
		if ((b >> i) & 1)
			r ^= a >> (63 - i);
	return r;
}

/* crossbar permutations: each 4-bit (8-bit) element of b selects one of a */
static inline uint64_t rv_xperm4(uint64_t a, uint64_t b)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i += 4) {
		unsigned idx = (unsigned)(b >> i) & 15;
		r |= ((a >> (idx * 4)) & 15) << i;
	}
	return r;
}
static inline uint64_t rv_xperm8(uint64_t a, uint64_t b)
{
	uint64_t r = 0;
	for (int i = 0; i < 64; i += 8) {
		unsigned idx = (unsigned)(b >> i) & 255;
		if (idx < 8)
			r |= ((a >> (idx * 8)) & 255) << i;
	}
	return r;
}

static inline uint64_t rv_pack(uint64_t a, uint64_t b) { return (a & 0xffffffffULL) | b << 32; }
static inline uint64_t rv_packh(uint64_t a, uint64_t b) { return (a & 0xff) | (b & 0xff) << 8; }
static inline uint64_t rv_packw(uint64_t a, uint64_t b)
{
	return (uint64_t)(int64_t)(int32_t)(uint32_t)((a & 0xffff) | (b & 0xffff) << 16);
}

#endif
