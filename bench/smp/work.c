/* bench/smp/work.c - the guest of bench/smp.sh: TOTAL rounds of integer mixing over private
 * 16 KiB tables, split evenly between HARTS harts (built with -DHARTS=N, run with -smp N);
 * hart 0 adds the harts' results and prints the checksum, which is the same for every N.
 * _start: tests/riscv/smp/smp.h */
#include "smp.h"

#ifndef HARTS
#define HARTS 2
#endif
#ifndef TOTAL
#define TOTAL 64000000ULL
#endif
#define WORDS 2048

/* page-aligned, away from the code: a store into a page holding code drops its decoded form
 * (strata-vm) or its translations (QEMU) every time, which would measure that instead */
static uint64_t table[HARTS][WORDS] __attribute__((aligned(4096)));
static volatile uint64_t result[HARTS], done;

/* noipa: one compiled loop for every HARTS (inlined, -DHARTS=1 folded the hart's start to 0
 * and made a 12-instruction loop where HARTS=2 had a 14-instruction one, so -smp 1 was
 * measured on cheaper code than -smp 2) */
__attribute__((noipa)) static uint64_t work(uint64_t *t, uint64_t first, uint64_t count)
{
	uint64_t x = 0;
	for (uint64_t i = first; i < first + count; i++) {
		uint64_t v = i * 0x9e3779b97f4a7c15ULL;
		v ^= v >> 29;
		t[i & (WORDS - 1)] = v; /* memory traffic into the hart's own table */
		x += v ^ (v >> 7);
	}
	return x;
}

int hart_main(uint64_t h)
{
	if (h < HARTS) {
		result[h] = work(table[h], h * (TOTAL / HARTS), TOTAL / HARTS);
		__atomic_fetch_add(&done, 1, __ATOMIC_SEQ_CST);
	}
	if (h)
		return 0;
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < HARTS)
		;
	uint64_t sum = 0;
	for (int i = 0; i < HARTS; i++)
		sum += result[i];
	rv_puts("work: ");
	rv_putdec((int64_t)TOTAL);
	rv_puts(" rounds on ");
	rv_putdec(HARTS);
	rv_puts(" harts, checksum ");
	rv_puthex64(sum);
	rv_puts("\n");
	return 0;
}
