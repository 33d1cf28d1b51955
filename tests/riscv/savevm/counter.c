/* disk: qcow2 64M */
/* counter.c - the guest of the savevm tests (tests/vm/test_savevm.c), also run on its own by
 * run-guests.sh against QEMU. Linux-like timers: the M-mode CLINT timer (mtimecmp, as
 * OpenSBI keeps one) and the S-mode Sstc timer (stimecmp) both re-armed on every tick, while
 * an S-mode loop counts in RAM and writes a sector to the virtio-blk disk every 1024 counts.
 * The mailbox at MBOX lets the host-side test read the progress and ask for a longer run. */
#include "vdisk.h"

#define MBOX ((volatile uint64_t *)0x80800000UL)
enum { MB_MAGIC, MB_COUNT, MB_MTICKS, MB_STICKS, MB_WRITES, MB_ITERS = 7 };
#define PERIOD_M 3000 /* mtime ticks (10 MHz): 0.3 ms */
#define PERIOD_S 2000
#define ITERS 200000

static uint8_t sector[512] __attribute__((aligned(512)));

static void m_trap(struct rv_frame *f)
{
	if (f->cause == (1ULL << 63 | 7)) { /* machine timer */
		MBOX[MB_MTICKS]++;
		*RV_CLINT_MTIMECMP(0) = *RV_CLINT_MTIME + PERIOD_M;
		return;
	}
	rv_unexpected_trap(f->cause, f->epc, f->tval);
}

static uint64_t rdtime(void)
{
	uint64_t t;
	__asm__ volatile("rdtime %0" : "=r"(t));
	return t;
}

static void s_trap(struct rv_frame *f)
{
	if (f->cause == (1ULL << 63 | 5)) { /* supervisor timer (Sstc) */
		MBOX[MB_STICKS]++;
		__asm__ volatile("csrw 0x14d, %0" ::"r"(rdtime() + PERIOD_S)); /* stimecmp */
		return;
	}
	rv_unexpected_trap(f->cause, f->epc, f->tval);
}

/* S mode: count, write the disk every 1024 counts, then wait (bounded) for both timers */
static uint64_t s_loop(uint64_t iters)
{
	__asm__ volatile("csrw 0x14d, %0" ::"r"(rdtime() + PERIOD_S));
	__asm__ volatile("csrs sie, %0" ::"r"(1UL << 5));
	__asm__ volatile("csrs sstatus, %0" ::"r"(1UL << 1));
	int bad = 0;
	for (uint64_t i = 1; i <= iters; i++) {
		MBOX[MB_COUNT] = i;
		if (i % 1024 == 0) {
			for (int k = 0; k < 512; k += 8)
				*(uint64_t *)(sector + k) = i * 0x9e3779b97f4a7c15ULL + (uint64_t)k;
			bad |= vdisk_req(VDISK_T_OUT, (i / 1024) % 128, sector, 512) != 0;
			MBOX[MB_WRITES]++;
		}
	}
	for (long spin = 0; spin < 200000000 && (!MBOX[MB_MTICKS] || !MBOX[MB_STICKS]); spin++)
		;
	__asm__ volatile("csrc sstatus, %0" ::"r"(1UL << 1));
	return (uint64_t)bad;
}

int main(void)
{
	uint64_t iters = MBOX[MB_ITERS] ? MBOX[MB_ITERS] : ITERS;
	MBOX[MB_MAGIC] = 0x5341564556; /* "SAVEV" */
	rv_pmp_allow_all();
	if (vdisk_setup()) {
		rv_puts("no virtio-blk disk\n");
		return 1;
	}
	rv_set_mtrap(m_trap);
	rv_set_strap(s_trap);
	__asm__ volatile("csrs 0x30a, %0" ::"r"(1UL << 63)); /* menvcfg.STCE: Sstc */
	__asm__ volatile("csrs mcounteren, %0" ::"r"(2UL));   /* S may read time */
	__asm__ volatile("csrs mideleg, %0" ::"r"(1UL << 5));  /* STI to S mode */
	*RV_CLINT_MTIMECMP(0) = *RV_CLINT_MTIME + PERIOD_M;
	__asm__ volatile("csrs mie, %0" ::"r"((1UL << 7) | (1UL << 5)));
	uint64_t bad = rv_run_in_mode(RV_MODE_S, s_loop, iters);
	__asm__ volatile("csrc mie, %0" ::"r"((1UL << 7) | (1UL << 5)));
	rv_puts("count: ");
	rv_putdec((int64_t)MBOX[MB_COUNT]);
	rv_puts("\nwrites: ");
	rv_putdec((int64_t)MBOX[MB_WRITES]);
	rv_puts(bad ? "\nwrite errors: yes" : "\nwrite errors: no");
	rv_puts(MBOX[MB_MTICKS] ? "\nmtimer ticks: yes" : "\nmtimer ticks: no");
	rv_puts(MBOX[MB_STICKS] ? "\nstimer ticks: yes\n" : "\nstimer ticks: no\n");
	return 0;
}
