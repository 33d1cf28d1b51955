/* Pointer chasing through a random cyclic permutation (cache/TLB-unfriendly loads). */
#include "benchlib.h"

#define NODES (1u << 20) /* 8 MiB of pointers */
static uint64_t next[NODES];

static uint64_t kernel(uint64_t steps)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	for (uint64_t i = 0; i < NODES; i++)
		next[i] = i;
	/* Sattolo's algorithm: a single cycle through every node */
	for (uint64_t i = NODES - 1; i > 0; i--) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		uint64_t j = seed % i, t = next[i];
		next[i] = next[j];
		next[j] = t;
	}
	uint64_t p = 0, sum = 0;
	for (uint64_t s = 0; s < steps; s++) {
		p = next[p];
		sum += p;
	}
	return sum;
}

int main(void)
{
	return bench_run("ptrchase", kernel, 200000 * (uint64_t)BENCH_SCALE);
}
