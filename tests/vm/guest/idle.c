/* Waits two seconds in wfi for a machine timer interrupt (an idle guest): the emulator must
 * sleep on the host meanwhile. Prints "idle: woke" and exits 0. tests/vm/options.sh. */
#include "rvtest.h"

#define MTIME (*(volatile uint64_t *)0x200bff8)
#define MTIMECMP (*(volatile uint64_t *)0x2004000)

int main(void)
{
	uint64_t deadline = MTIME + 20000000; /* 2 s at 10 MHz */
	MTIMECMP = deadline;
	RV_CSR_SET(mie, 1 << 7); /* MTIE; mstatus.MIE stays clear: wfi wakes, no trap is taken */
	while (MTIME < deadline)
		__asm__ volatile("wfi");
	rv_puts("idle: woke\n");
	rv_exit(0);
}
