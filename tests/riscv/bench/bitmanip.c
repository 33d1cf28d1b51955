/* Bit-manipulation kernel: a hash (rotates), population counts, leading-zero counts, min/max
 * and indexed table updates. bench/cpu.sh builds it with Zba/Zbb/Zbs (the compiler then emits
 * ror, cpop, clz, max, andn and sh3add) and without them as bitmanip-base (libgcc's popcount
 * and clz, shift-and-add indexing); `make check` runs the Zb build against QEMU. */
/* cflags: -march=rv64imafdc_zicsr_zifencei_zba_zbb_zbs */
#include "benchlib.h"

/* page-aligned: a table sharing a page with code would make every store a code-page write */
static uint64_t table[1024] __attribute__((aligned(4096)));

static inline uint64_t rotr(uint64_t x, unsigned n)
{
	return x >> n | x << (64 - n);
}

static uint64_t kernel(uint64_t n)
{
	uint64_t acc = 0, x = 0x9e3779b97f4a7c15ULL;
	for (uint64_t i = 0; i < n; i++) {
		x = rotr(x ^ i, 17) * 0xbf58476d1ce4e5b9ULL;
		unsigned idx = (unsigned)(x >> 54);
		uint64_t t = table[idx] + (uint64_t)__builtin_popcountll(x) + (uint64_t)__builtin_clzll(x | 1);
		table[idx] = t;
		acc = (acc > t ? acc : t) ^ (x & ~acc);
		acc |= 1ULL << (i & 63);
	}
	/* acc ends all ones after 64 rounds: the table carries the result (a checksum that a
	 * wrong popcount, clz or rotate changes) */
	for (unsigned k = 0; k < 1024; k++)
		acc = acc * 31 + table[k];
	return acc;
}

int main(void)
{
	return bench_run("bitmanip", kernel, 100000 * (uint64_t)BENCH_SCALE);
}
