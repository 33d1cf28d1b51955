/* bench/smp/ipilat.c - IPI latency to a running hart, for bench/smp.sh: hart 1 runs a loop of
 * compiled code with machine software interrupts enabled; hart 0 raises its msip ROUNDS
 * times and the interrupt handler on hart 1 notes mtime when it runs. Prints the mean and
 * the largest delay from the msip write to the handler, in mtime ticks (10 MHz: 100 ns).
 * _start: tests/riscv/smp/smp.h */
#include "smp.h"

#define ROUNDS 2000
/* page-aligned, away from the code: a store into a page holding code drops its decoded form
 * (strata-vm: in every hart, inside an exclusive section), which would measure that instead */
static volatile struct {
	uint64_t taken, at, stop, sink;
} s __attribute__((aligned(4096)));

static void on_msi(struct rv_frame *f)
{
	if (f->cause != (1ULL << 63 | 3))
		rv_unexpected_trap(f->cause, f->epc, f->tval);
	s.at = *RV_CLINT_MTIME;
	*CLINT_MSIP(1) = 0;
	s.taken++;
}

int hart_main(uint64_t h)
{
	if (h == 1) {
		rv_set_mtrap(on_msi);
		__asm__ volatile("csrw mie, %0\n csrs mstatus, 8" ::"r"(8));
		uint64_t x = 1;
		while (!s.stop)
			for (int i = 0; i < 1000; i++)
				x = x * 6364136223846793005ULL + 1;
		s.sink = x;
		return 0;
	}
	if (h)
		return 0;
	uint64_t sum = 0, max = 0;
	for (uint64_t r = 0; r < ROUNDS; r++) {
		uint64_t t0 = *RV_CLINT_MTIME;
		while (*RV_CLINT_MTIME - t0 < 50) /* 5 us apart */
			;
		t0 = *RV_CLINT_MTIME;
		*CLINT_MSIP(1) = 1;
		while (s.taken == r)
			;
		uint64_t d = s.at - t0;
		sum += d;
		max = d > max ? d : max;
	}
	s.stop = 1;
	rv_puts("ipilat: rounds ");
	rv_putdec(ROUNDS);
	rv_puts(" mean_ticks ");
	rv_putdec((int64_t)(sum / ROUNDS));
	rv_puts(" max_ticks ");
	rv_putdec((int64_t)max);
	rv_puts("\n");
	return 0;
}
