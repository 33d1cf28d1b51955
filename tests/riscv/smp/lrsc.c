/* smp: 4 */
/* _start: smp.h. A counter incremented by every hart with LR/SC loops (word and doubleword),
 * and a ticket-free spinlock (LR/SC acquire, plain release) guarding a plain counter. */
#include "smp.h"

#define HARTS 4
#define ITER 20000

static volatile uint32_t cnt_w;
static volatile uint64_t cnt_d, plain, lock, done;

static void inc_w(volatile uint32_t *p)
{
	uint32_t tmp, fail;
	__asm__ volatile("1: lr.w %0, (%2)\n"
			 "   addiw %0, %0, 1\n"
			 "   sc.w %1, %0, (%2)\n"
			 "   bnez %1, 1b\n"
			 : "=&r"(tmp), "=&r"(fail)
			 : "r"(p)
			 : "memory");
}

static void inc_d(volatile uint64_t *p)
{
	uint64_t tmp, fail;
	__asm__ volatile("1: lr.d.aq %0, (%2)\n"
			 "   addi %0, %0, 1\n"
			 "   sc.d.rl %1, %0, (%2)\n"
			 "   bnez %1, 1b\n"
			 : "=&r"(tmp), "=&r"(fail)
			 : "r"(p)
			 : "memory");
}

static void acquire(volatile uint64_t *l)
{
	uint64_t tmp, fail;
	__asm__ volatile("1: lr.d.aq %0, (%2)\n"
			 "   bnez %0, 1b\n"
			 "   li %0, 1\n"
			 "   sc.d %1, %0, (%2)\n"
			 "   bnez %1, 1b\n"
			 : "=&r"(tmp), "=&r"(fail)
			 : "r"(l)
			 : "memory");
}

static void release(volatile uint64_t *l)
{
	__asm__ volatile("fence rw, w" ::: "memory");
	*l = 0;
}

int hart_main(uint64_t h)
{
	if (h < HARTS) {
		for (int i = 0; i < ITER; i++) {
			inc_w(&cnt_w);
			inc_d(&cnt_d);
			if ((i & 15) == 0) {
				acquire(&lock);
				plain = plain + 1;
				release(&lock);
			}
		}
		__atomic_fetch_add(&done, 1, __ATOMIC_SEQ_CST);
	}
	if (h)
		return 0;
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < HARTS)
		;
	rv_puts("lrsc: word counter ");
	rv_putdec(cnt_w);
	rv_puts(", doubleword counter ");
	rv_putdec((int64_t)cnt_d);
	rv_puts(", locked plain counter ");
	rv_putdec((int64_t)plain);
	rv_puts("\n");
	return !(cnt_w == HARTS * ITER && cnt_d == HARTS * ITER && plain == HARTS * (ITER / 16));
}
