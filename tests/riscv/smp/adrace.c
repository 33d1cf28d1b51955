/* smp: 2 */
/* _start: smp.h. The hardware A/D update races with another hart's PTE write: hart 1 runs in
 * S-mode under Sv39, flushing its TLB and loading through a page whose leaf PTE has A clear,
 * so every load walks and sets A. Hart 0 (M-mode) maps the page, waits a varying time,
 * removes the mapping (writes 0), waits until any update in flight has landed and reads the
 * PTE back (each round after hart 1 made progress): a non-zero PTE is a lost update (the walk wrote its stale copy | A over the 0).
 * The privileged spec makes the A/D update atomic with the walk's read; QEMU 7.2 uses a
 * compare-and-swap (strata-vm too: mmu.c set_ad). The race needs both harts running at
 * once (thread=multi with two free host cores); one at a time, it never shows. */
#include "smp.h"

#define ROUNDS 10000
#define VA 0x1000000000ULL /* level-2 index 64: away from the identity gigapage */

static uint64_t pool[4][512] __attribute__((aligned(4096)));
static struct rv_ptpool pt = { pool, 4, 0 };
static uint64_t page[512] __attribute__((aligned(4096)));
static uint64_t *root, *leaf;
static volatile uint64_t ready, stop, loads;

/* hart 1's M-mode handler: a load that faulted (the page was just unmapped) is skipped */
static void skip_fault(struct rv_frame *f)
{
	if (f->cause != 13)
		rv_unexpected_trap(f->cause, f->epc, f->tval);
	f->epc += (uint64_t)rv_insn_len(f->epc);
}

static uint64_t s_loop(uint64_t arg)
{
	(void)arg;
	while (!stop) {
		__asm__ volatile("sfence.vma\n ld t0, 0(%0)" ::"r"(VA) : "t0", "memory");
		loads++;
	}
	return 0;
}

static void spin(uint64_t n)
{
	for (volatile uint64_t i = 0; i < n; i++)
		;
}

int hart_main(uint64_t h)
{
	if (h == 1) {
		while (!ready)
			;
		rv_pmp_allow_all();
		rv_set_mtrap(skip_fault);
		RV_CSR_WRITE(satp, 8ULL << 60 | (uint64_t)root >> 12);
		rv_run_in_mode(RV_MODE_S, s_loop, 0);
		return 0;
	}
	if (h)
		return 0;
	root = rv_pt_alloc(&pt);
	root[2] = (0x80000000ULL >> 12) << 10 | RV_PTE_V | RV_PTE_R | RV_PTE_W | RV_PTE_X | RV_PTE_G | RV_PTE_A | RV_PTE_D;
	leaf = rv_pt_slot(&pt, root, 3, VA, 0);
	uint64_t mapped = ((uint64_t)page >> 12) << 10 | RV_PTE_V | RV_PTE_R | RV_PTE_W | RV_PTE_D; /* A clear */
	__asm__ volatile("fence rw, rw" ::: "memory");
	ready = 1;
	uint64_t lost = 0, seed = 1;
	for (int r = 0; r < ROUNDS; r++) {
		__atomic_store_n(leaf, mapped, __ATOMIC_SEQ_CST);
		uint64_t seen = loads;
		for (int i = 0; i < 100000 && loads == seen; i++) /* hart 1 walks again */
			;
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		spin(seed >> 57); /* 0-127: where the removal falls against hart 1's walks varies */
		__atomic_store_n(leaf, 0, __ATOMIC_SEQ_CST);
		spin(200); /* an A update of a walk that read the mapping lands well within this */
		lost += __atomic_load_n(leaf, __ATOMIC_SEQ_CST) != 0;
	}
	stop = 1;
	rv_puts("adrace: rounds ");
	rv_putdec(ROUNDS);
	rv_puts(", lost updates ");
	rv_putdec((int64_t)lost);
	rv_puts("\n");
	return lost != 0;
}
