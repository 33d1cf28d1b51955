/* smp: 2 */
/* _start: smp.h. Atomicity under real parallelism (strata-vm thread=multi puts each hart on a
 * host core): both harts hammer one cache line with LR/SC increments (word and doubleword),
 * amoadd and amoswap-based locking of a plain counter, many times; a lost update shows as a
 * short count. Then a store-buffering litmus (x = 1; fence rw,rw; read y, and mirrored) run
 * many rounds: both reads 0 is forbidden by RVWMO with the fences (an x86 host reorders the
 * store after the load without an mfence). Prints the counts; every total is exact. */
#include "smp.h"

#define HARTS 2
#define ITER 100000
#define ROUNDS 2000

/* one cache line, shared by everything; a page away from the code (a store into a page
 * holding code drops its decoded form in every hart, which is correct but no stress test) */
static struct {
	volatile uint32_t w;
	volatile uint32_t pad;
	volatile uint64_t d, sum, lock, plain;
} line __attribute__((aligned(4096)));
static volatile uint64_t done, sb_x, sb_y, bar_count, bar_sense, forbidden;
static volatile uint64_t res[HARTS];

static void inc_w(volatile uint32_t *p)
{
	uint32_t tmp, fail;
	__asm__ volatile("1: lr.w %0, (%2)\n   addiw %0, %0, 1\n   sc.w %1, %0, (%2)\n   bnez %1, 1b\n"
			 : "=&r"(tmp), "=&r"(fail) : "r"(p) : "memory");
}

static void inc_d(volatile uint64_t *p)
{
	uint64_t tmp, fail;
	__asm__ volatile("1: lr.d %0, (%2)\n   addi %0, %0, 1\n   sc.d %1, %0, (%2)\n   bnez %1, 1b\n"
			 : "=&r"(tmp), "=&r"(fail) : "r"(p) : "memory");
}

static void lock(volatile uint64_t *l)
{
	uint64_t old;
	do
		__asm__ volatile("amoswap.d.aq %0, %2, (%1)" : "=r"(old) : "r"(l), "r"(1ULL) : "memory");
	while (old);
}

static void unlock(volatile uint64_t *l)
{
	__asm__ volatile("amoswap.d.rl zero, zero, (%0)" ::"r"(l) : "memory");
}

/* sense-reversing barrier of HARTS harts */
static void barrier(uint64_t *sense)
{
	*sense ^= 1;
	uint64_t n;
	__asm__ volatile("amoadd.d.aqrl %0, %2, (%1)" : "=r"(n) : "r"(&bar_count), "r"(1ULL) : "memory");
	if (n == HARTS - 1) {
		bar_count = 0;
		__atomic_store_n(&bar_sense, *sense, __ATOMIC_RELEASE);
	} else {
		while (__atomic_load_n(&bar_sense, __ATOMIC_ACQUIRE) != *sense)
			;
	}
}

int hart_main(uint64_t h)
{
	if (h < HARTS) {
		for (int i = 0; i < ITER; i++) {
			inc_w(&line.w);
			inc_d(&line.d);
			__asm__ volatile("amoadd.d zero, %1, (%0)" ::"r"(&line.sum), "r"(h + 1) : "memory");
			if ((i & 7) == 0) {
				lock(&line.lock);
				line.plain = line.plain + 1;
				unlock(&line.lock);
			}
		}
		uint64_t sense = 0;
		volatile uint64_t *mine = h ? &sb_y : &sb_x, *other = h ? &sb_x : &sb_y;
		for (int r = 0; r < ROUNDS; r++) {
			barrier(&sense);
			*mine = 1;
			uint64_t v;
			__asm__ volatile("fence rw, rw\n   ld %0, 0(%1)" : "=r"(v) : "r"(other) : "memory");
			res[h] = v;
			barrier(&sense);
			if (h == 0 && res[0] == 0 && res[1] == 0)
				forbidden = forbidden + 1;
			barrier(&sense);
			*mine = 0;
			barrier(&sense);
		}
		__atomic_fetch_add(&done, 1, __ATOMIC_SEQ_CST);
	}
	if (h)
		return 0;
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < HARTS)
		;
	rv_puts("stress: lr/sc word ");
	rv_putdec(line.w);
	rv_puts(" doubleword ");
	rv_putdec((int64_t)line.d);
	rv_puts(", amoadd sum ");
	rv_putdec((int64_t)line.sum);
	rv_puts(", amoswap-locked plain counter ");
	rv_putdec((int64_t)line.plain);
	rv_puts("\nstress: store buffering with fences, rounds with both reads 0: ");
	rv_putdec((int64_t)forbidden);
	rv_puts("\n");
	return !(line.w == HARTS * ITER && line.d == HARTS * ITER && line.sum == ITER * (HARTS * (HARTS + 1) / 2) &&
		 line.plain == HARTS * (ITER / 8) && forbidden == 0);
}
