/* smp: 4 */
/* _start: smp.h. IPI ping-pong through the CLINT: hart 0 raises msip of hart k, which sleeps
 * in WFI (MSIE on, interrupts globally off), sees mip.MSIP, clears its msip and answers by
 * raising hart 0's. Every hart also checks its own mip.MSIP follows its msip word. */
#include "smp.h"

#define HARTS 4
#define ROUNDS 300

static volatile uint64_t pongs[HARTS], ready;

static uint64_t mip(void)
{
	uint64_t v;
	__asm__ volatile("csrr %0, mip" : "=r"(v));
	return v;
}

static void wait_msip(void)
{
	while (!(mip() & 8))
		__asm__ volatile("wfi");
}

int hart_main(uint64_t h)
{
	__asm__ volatile("csrw mie, %0" ::"r"(8)); /* MSIE; mstatus.MIE stays 0: WFI just wakes */
	if (h >= HARTS)
		return 0;
	if (h) {
		__atomic_fetch_add(&ready, 1, __ATOMIC_SEQ_CST);
		for (int r = 0; r < ROUNDS; r++) {
			wait_msip();
			*CLINT_MSIP(h) = 0;
			while (mip() & 8)
				;
			pongs[h]++;
			__asm__ volatile("fence w, o" ::: "memory");
			*CLINT_MSIP(0) = 1;
		}
		return 0;
	}
	while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < HARTS - 1)
		;
	uint64_t total = 0;
	for (int r = 0; r < ROUNDS; r++)
		for (uint64_t k = 1; k < HARTS; k++) {
			*CLINT_MSIP(k) = 1;
			wait_msip();
			*CLINT_MSIP(0) = 0;
			while (mip() & 8)
				;
			total++;
		}
	rv_puts("ipi: round trips ");
	rv_putdec((int64_t)total);
	for (uint64_t k = 1; k < HARTS; k++) {
		rv_puts(", hart ");
		rv_putdec((int64_t)k);
		rv_puts(" woke ");
		rv_putdec((int64_t)pongs[k]);
	}
	rv_puts("\nipi: msip reads back: ");
	rv_putdec(*CLINT_MSIP(1));
	rv_puts("\n");
	return 0;
}
