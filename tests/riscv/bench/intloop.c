/* Integer loop with data-dependent branches (Collatz steps). */
#include "benchlib.h"

static uint64_t kernel(uint64_t n)
{
	uint64_t total = 0;
	for (uint64_t i = 1; i <= n; i++) {
		uint64_t x = i;
		while (x != 1) {
			x = (x & 1) ? 3 * x + 1 : x >> 1;
			total++;
		}
	}
	return total;
}

int main(void)
{
	return bench_run("collatz", kernel, 3000 * BENCH_SCALE);
}
