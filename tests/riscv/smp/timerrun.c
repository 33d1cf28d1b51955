/* smp: 2 */
/* _start: smp.h. A machine timer interrupt reaches a hart that is busy running compiled code
 * and touches no device: each hart sets its own mtimecmp 1 ms ahead, enables MTIE and MIE
 * and spins on a flag its handler sets. Between batches a hart thread that saw no device
 * access re-reads only its own timer lines (emulator/machine/mttcg.c quick_turn): without
 * that, the interrupt would wait for some other hart's device access. The spin is bounded,
 * so a lost interrupt prints "missed" instead of hanging. */
#include "smp.h"

/* page-aligned, away from the code (stores into a code page drop its decoded form) */
static volatile struct {
	uint64_t fired[SMP_MAX], spins[SMP_MAX], done;
} s __attribute__((aligned(4096)));

/* each hart's own trap stack: rvtest's one M-mode trap stack is shared, and the two timers
 * fire at about the same time */
static uint8_t trap_stack[2][4096] __attribute__((aligned(4096)));

static void on_timer(struct rv_frame *f)
{
	uint64_t h = RV_CSR_READ(mhartid);
	if (f->cause != (1ULL << 63 | 7))
		rv_unexpected_trap(f->cause, f->epc, f->tval);
	*RV_CLINT_MTIMECMP(h) = ~0ULL; /* lowers MTIP */
	s.fired[h] = 1;
}

static void wait_for_timer(uint64_t h)
{
	rv_set_mtrap(on_timer);
	RV_CSR_WRITE(mscratch, (uint64_t)(trap_stack[h] + sizeof(trap_stack[h])));
	*RV_CLINT_MTIMECMP(h) = *RV_CLINT_MTIME + 10000; /* 1 ms at 10 MHz */
	__asm__ volatile("csrw mie, %0\n csrs mstatus, 8" ::"r"(1 << 7));
	uint64_t n = 0;
	while (!s.fired[h] && n < 2000000000ULL) /* seconds: far beyond 1 ms */
		n++;
	__asm__ volatile("csrc mstatus, 8");
	s.spins[h] = n;
}

int hart_main(uint64_t h)
{
	if (h > 1)
		return 0;
	wait_for_timer(h);
	__atomic_fetch_add(&s.done, 1, __ATOMIC_SEQ_CST);
	if (h)
		return 0;
	while (__atomic_load_n(&s.done, __ATOMIC_ACQUIRE) < 2)
		;
	for (int k = 0; k < 2; k++) {
		rv_puts("timerrun: hart ");
		rv_putdec(k);
		rv_puts(s.fired[k] ? " took its timer interrupt while running\n" : " missed its timer interrupt\n");
	}
	return !(s.fired[0] && s.fired[1]);
}
