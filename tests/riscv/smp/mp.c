/* smp: 4 */
/* _start: smp.h. Message passing with fences: harts 1..3 each publish four data words, then
 * (fence w,w) a round number; hart 0 waits for the round (fence r,r) and must see that
 * round's data, then acknowledges. */
#include "smp.h"

#define HARTS 4
#define ROUNDS 64 /* each round is a hand-off between harts: slow on QEMU under load */

static volatile uint64_t data[HARTS][4], flag[HARTS], ack[HARTS];

static uint64_t value(uint64_t h, uint64_t r, int i)
{
	return (h << 40) ^ (r * 2654435761u) ^ (uint64_t)i;
}

int hart_main(uint64_t h)
{
	if (h) {
		if (h >= HARTS)
			return 0;
		for (uint64_t r = 1; r <= ROUNDS; r++) {
			while (ack[h] != r - 1)
				;
			__asm__ volatile("fence r, rw" ::: "memory");
			for (int i = 0; i < 4; i++)
				data[h][i] = value(h, r, i);
			__asm__ volatile("fence w, w" ::: "memory");
			flag[h] = r;
		}
		return 0;
	}
	uint64_t bad = 0, seen = 0, sum = 0;
	for (uint64_t r = 1; r <= ROUNDS; r++)
		for (uint64_t k = 1; k < HARTS; k++) {
			while (flag[k] != r)
				;
			__asm__ volatile("fence r, r" ::: "memory");
			for (int i = 0; i < 4; i++) {
				uint64_t v = data[k][i];
				bad += v != value(k, r, i);
				sum += v;
			}
			seen++;
			__asm__ volatile("fence rw, w" ::: "memory");
			ack[k] = r;
		}
	rv_puts("mp: messages ");
	rv_putdec((int64_t)seen);
	rv_puts(", stale reads ");
	rv_putdec((int64_t)bad);
	rv_puts(", sum ");
	rv_puthex64(sum);
	rv_puts("\n");
	return bad != 0;
}
