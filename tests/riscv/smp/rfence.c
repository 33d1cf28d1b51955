/* smp: 2 */
/* _start: smp.h. Remote fence.i: hart 1 runs a function over and over (so it is decoded and
 * compiled); hart 0 rewrites the function's first instruction, then tells hart 1, which
 * executes fence.i and calls it again: it must run the new instruction every round.
 * Hart 1 does not call the function while hart 0 writes it: QEMU 7.2's MTTCG can translate
 * the old bytes again between its invalidation and the store landing (stale results seen). */
#include "smp.h"

#define ROUNDS 200

int patchme(void);
__asm__(".text\n.balign 4\n.globl patchme\npatchme:\n"
	".option push\n.option norvc\n"
	"	addi a0, zero, 0\n"
	"	ret\n"
	".option pop\n");

static volatile uint64_t go, ack, result[ROUNDS + 1], warm;

static uint32_t addi_a0(int imm)
{
	return ((uint32_t)imm << 20) | (10u << 7) | 0x13u; /* addi a0, zero, imm */
}

int hart_main(uint64_t h)
{
	if (h == 1) {
		for (uint64_t r = 0; r <= ROUNDS; r++) {
			while (go != r)
				;
			__asm__ volatile("fence.i" ::: "memory");
			result[r] = (uint64_t)patchme();
			for (int i = 0; i < 64; i++) /* hot: compiled by the JIT before the next write */
				warm += (uint64_t)patchme();
			__asm__ volatile("fence w, w" ::: "memory");
			ack = r + 1;
		}
		return 0;
	}
	if (h)
		return 0;
	uint64_t bad = 0;
	for (uint64_t r = 0; r <= ROUNDS; r++) {
		if (r) {
			*(volatile uint32_t *)(uintptr_t)patchme = addi_a0((int)(r * 3));
			__asm__ volatile("fence w, w" ::: "memory");
			go = r;
		}
		while (ack != r + 1)
			;
		__asm__ volatile("fence r, r" ::: "memory");
		bad += result[r] != r * 3;
	}
	rv_puts("rfence: rounds ");
	rv_putdec(ROUNDS);
	rv_puts(", stale results ");
	rv_putdec((int64_t)bad);
	rv_puts("\n");
	return bad != 0;
}
