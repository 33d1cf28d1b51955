/* smp: 4 */
/* _start: smp.h. AMOs from every hart on shared words: add (both widths), or of a bit per
 * hart, max/min/maxu/minu of hart-dependent values, xor, and swap handing a token around. */
#include "smp.h"

#define HARTS 4
#define ITER 10000

static volatile uint64_t sum_d, bits, xr, done, tokens;
static volatile uint32_t sum_w;
static volatile int64_t mx = -1000000, mn = 1000000;
static volatile uint64_t mxu, mnu = ~0ULL;

int hart_main(uint64_t h)
{
	if (h < HARTS) {
		for (uint64_t i = 0; i < ITER; i++) {
			uint64_t v = h * ITER + i;
			__asm__ volatile("amoadd.d zero, %1, (%0)" ::"r"(&sum_d), "r"(v) : "memory");
			__asm__ volatile("amoadd.w.aqrl zero, %1, (%0)" ::"r"(&sum_w), "r"(1) : "memory");
			__asm__ volatile("amoxor.d zero, %1, (%0)" ::"r"(&xr), "r"(v * 0x9e3779b97f4a7c15ULL) : "memory");
			int64_t s = (int64_t)(v * 7919 % 100003) - 50000;
			__asm__ volatile("amomax.d zero, %1, (%0)" ::"r"(&mx), "r"(s) : "memory");
			__asm__ volatile("amomin.d zero, %1, (%0)" ::"r"(&mn), "r"(s) : "memory");
			__asm__ volatile("amomaxu.d zero, %1, (%0)" ::"r"(&mxu), "r"((uint64_t)s) : "memory");
			__asm__ volatile("amominu.d zero, %1, (%0)" ::"r"(&mnu), "r"((uint64_t)s) : "memory");
			uint64_t old;
			__asm__ volatile("amoswap.d.aq %0, %2, (%1)" : "=r"(old) : "r"(&tokens), "r"(h + 1) : "memory");
			(void)old;
		}
		__asm__ volatile("amoor.d zero, %1, (%0)" ::"r"(&bits), "r"(1ULL << (h * 8)) : "memory");
		__atomic_fetch_add(&done, 1, __ATOMIC_SEQ_CST);
	}
	if (h)
		return 0;
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < HARTS)
		;
	rv_puts("amo: add.d ");
	rv_putdec((int64_t)sum_d);
	rv_puts(" add.w ");
	rv_putdec(sum_w);
	rv_puts(" or ");
	rv_puthex64(bits);
	rv_puts(" xor ");
	rv_puthex64(xr);
	rv_puts("\namo: max ");
	rv_putdec(mx);
	rv_puts(" min ");
	rv_putdec(mn);
	rv_puts(" maxu ");
	rv_puthex64(mxu);
	rv_puts(" minu ");
	rv_puthex64(mnu);
	rv_puts(" last token from a hart: ");
	rv_putdec(tokens >= 1 && tokens <= HARTS);
	rv_puts("\n");
	return 0;
}
