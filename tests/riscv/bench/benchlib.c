/* See benchlib.h. The Sv39 variant maps RAM and the devices with gigapages. */
#include "benchlib.h"
#include "rvtest.h"

static uint64_t root[512] __attribute__((aligned(4096)));

int bench_run(const char *name, uint64_t (*kernel)(uint64_t), uint64_t arg)
{
	uint64_t r;
#ifdef BENCH_SV39
	rv_pmp_allow_all();
	rv_set_mtrap(0);
	/* gigapages: 0 (test device, CLINT, UART) and 2 (RAM at 0x80000000) */
	root[0] = (0ULL >> 12) << 10 | 0xcf;	/* V R W X A D */
	root[2] = (0x80000000ULL >> 12) << 10 | 0xcf;
	RV_CSR_WRITE(satp, 8ULL << 60 | (uint64_t)root >> 12);
	__asm__ volatile("sfence.vma");
	/* the M-mode handler (installed by rv_set_mtrap) only serves the return ecall */
	extern void rv_mtrap_entry(void);
	RV_CSR_WRITE(mtvec, (uint64_t)rv_mtrap_entry);
	r = rv_run_in_mode(RV_MODE_S, kernel, arg);
	RV_CSR_WRITE(satp, 0);
#else
	(void)root;
	r = kernel(arg);
#endif
	rv_puts(name);
	rv_puts(": ");
	rv_puthex64(r);
	rv_putc('\n');
	return 0;
}
