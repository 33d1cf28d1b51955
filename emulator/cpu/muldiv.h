/* muldiv.h - the M extension's results that need more than one host operation: division
 * by zero and INT_MIN / -1 as the RISC-V spec defines them, and the high halves of 64x64
 * products. One definition for the interpreter (exec.c) and the JIT's helper calls (jit.c). */
#ifndef STRATA_EMULATOR_CPU_MULDIV_H
#define STRATA_EMULATOR_CPU_MULDIV_H

#include <stdint.h>

static inline uint64_t rv_mulh(uint64_t a, uint64_t b)
{
	return (uint64_t)(((__int128)(int64_t)a * (int64_t)b) >> 64);
}

static inline uint64_t rv_mulhu(uint64_t a, uint64_t b)
{
	return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

static inline uint64_t rv_mulhsu(uint64_t a, uint64_t b)
{
	return (uint64_t)(((__int128)(int64_t)a * (unsigned __int128)b) >> 64);
}

static inline uint64_t rv_div(uint64_t a, uint64_t b)
{
	return b == 0 ? ~0ULL : ((int64_t)a == INT64_MIN && (int64_t)b == -1) ? a : (uint64_t)((int64_t)a / (int64_t)b);
}

static inline uint64_t rv_divu(uint64_t a, uint64_t b)
{
	return b == 0 ? ~0ULL : a / b;
}

static inline uint64_t rv_rem(uint64_t a, uint64_t b)
{
	return b == 0 ? a : ((int64_t)a == INT64_MIN && (int64_t)b == -1) ? 0 : (uint64_t)((int64_t)a % (int64_t)b);
}

static inline uint64_t rv_remu(uint64_t a, uint64_t b)
{
	return b == 0 ? a : a % b;
}

static inline uint64_t rv_divw(uint64_t a, uint64_t b)
{
	int32_t s1 = (int32_t)a, s2 = (int32_t)b;
	return (uint64_t)(int64_t)(s2 == 0 ? -1 : (s1 == INT32_MIN && s2 == -1) ? s1 : s1 / s2);
}

static inline uint64_t rv_divuw(uint64_t a, uint64_t b)
{
	uint32_t u1 = (uint32_t)a, u2 = (uint32_t)b;
	return (uint64_t)(int32_t)(u2 == 0 ? ~0u : u1 / u2);
}

static inline uint64_t rv_remw(uint64_t a, uint64_t b)
{
	int32_t s1 = (int32_t)a, s2 = (int32_t)b;
	return (uint64_t)(int64_t)(s2 == 0 ? s1 : (s1 == INT32_MIN && s2 == -1) ? 0 : s1 % s2);
}

static inline uint64_t rv_remuw(uint64_t a, uint64_t b)
{
	uint32_t u1 = (uint32_t)a, u2 = (uint32_t)b;
	return (uint64_t)(int32_t)(u2 == 0 ? u1 : u1 % u2);
}

#endif
