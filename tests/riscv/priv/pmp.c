/* PMP: TOR, NA4 and NAPOT entries, priority of the lowest entry, lock bit, S/U without a
 * matching entry, and M-mode being exempt unless locked. */
#include "rvtest.h"

static uint8_t pages[4][4096] __attribute__((aligned(4096)));

static void mhandler(struct rv_frame *f)
{
	rv_puts("  fault cause=");
	rv_putdec((int64_t)f->cause);
	rv_puts(" tval=");
	rv_puthex64(f->tval - (uint64_t)pages);
	rv_puts(" (offset into pages)\n");
	if (f->cause == 1)
		f->epc = f->x[1];
	else
		f->epc += (uint64_t)rv_insn_len(f->epc);
}

static uint64_t napot(void *base, uint64_t size)
{
	return ((uint64_t)base >> 2) | ((size >> 3) - 1);
}

static uint64_t rd(void *p)
{
	return *(volatile uint64_t *)p;
}

static void wr(void *p, uint64_t v)
{
	*(volatile uint64_t *)p = v;
}

static uint64_t s_body(uint64_t arg)
{
	rv_puts("S: read page0 (R)\n");
	rd(pages[0]);
	rv_puts("S: write page0 (R)\n");
	wr(pages[0], 1);
	rv_puts("S: read page1 (none)\n");
	rd(pages[1]);
	rv_puts("S: execute page2 (X)\n");
	__asm__ volatile("jalr ra, 0(%0)" ::"r"(pages[2]) : "ra", "memory");
	rv_puts("S: NA4 word of page3 is W-less\n");
	wr(pages[3] + 8, 2);
	wr(pages[3] + 16, 3);
	rv_puts("S: access straddling the NA4 word\n");
	wr(pages[3] + 4, 4);
	return arg;
}

static uint64_t s_quiet(uint64_t arg)
{
	rd(pages[0]);
	rd(pages[1]);
	wr(pages[3], 1);
	*(volatile uint8_t *)0x10000000UL = 'x';
	return arg;
}

int main(void)
{
	rv_set_mtrap(mhandler);
	((uint32_t *)pages[2])[0] = 0x00008067; /* ret */
	__asm__ volatile("fence.i");
	/* 0: page0 R; 1: page1 nothing; 2: page2 X; 3: NA4 at page3+8 R; 4: everything RWX */
	RV_CSR_WRITE(pmpaddr0, napot(pages[0], 4096));
	RV_CSR_WRITE(pmpaddr1, napot(pages[1], 4096));
	RV_CSR_WRITE(pmpaddr2, napot(pages[2], 4096));
	RV_CSR_WRITE(pmpaddr3, ((uint64_t)pages[3] + 8) >> 2);
	RV_CSR_WRITE(pmpaddr4, ~0UL >> 10);
	RV_CSR_WRITE(pmpcfg0, (uint64_t)0x1f << 32 | 0x11 << 24 | 0x1c << 16 | 0x18 << 8 | 0x19);
	rv_puts("pmpcfg0 = ");
	rv_puthex64(RV_CSR_READ(pmpcfg0));
	rv_puts("\npmpaddr0 readback ok: ");
	rv_puts(RV_CSR_READ(pmpaddr0) == napot(pages[0], 4096) ? "yes\n" : "no\n");
	rv_puts("M ignores unlocked entries: ");
	wr(pages[1], 5);
	rv_puts(rd(pages[1]) == 5 ? "yes\n" : "no\n");
	rv_run_in_mode(RV_MODE_S, s_body, 0);
	rv_run_in_mode(RV_MODE_U, s_body, 0);

	rv_puts("-- TOR around pages 1..3: S reaches neither them nor the UART\n");
	RV_CSR_WRITE(pmpcfg0, 0);
	RV_CSR_WRITE(pmpaddr0, (uint64_t)pages[1] >> 2);
	RV_CSR_WRITE(pmpaddr1, (uint64_t)pages[4] >> 2);
	RV_CSR_WRITE(pmpaddr2, 0x88000000UL >> 2);
	RV_CSR_WRITE(pmpcfg0, 0x0f << 16 | 0x0f); /* TOR [0, page1) and [page4, RAM end) RWX */
	rv_run_in_mode(RV_MODE_S, s_quiet, 0);

	rv_puts("-- locked entry binds M-mode and cannot be changed\n");
	RV_CSR_WRITE(pmpaddr5, napot(pages[0], 4096));
	RV_CSR_WRITE(pmpaddr6, ~0UL >> 10);
	RV_CSR_WRITE(pmpcfg0, 0x1f << 8 | 0x0f);
	RV_CSR_SET(pmpcfg0, (uint64_t)0x99 << 40); /* entry 5: L, NAPOT, R */
	RV_CSR_SET(pmpcfg0, (uint64_t)0x1f << 48);
	rv_puts("M: read locked R page\n");
	rd(pages[0]);
	rv_puts("M: write locked R page\n");
	wr(pages[0], 1);
	RV_CSR_CLEAR(pmpcfg0, (uint64_t)0xff << 40);
	RV_CSR_WRITE(pmpaddr5, 0);
	rv_puts("locked entry unchanged: ");
	rv_puts(((RV_CSR_READ(pmpcfg0) >> 40) & 0xff) == 0x99 && RV_CSR_READ(pmpaddr5) == napot(pages[0], 4096)
			? "yes\n"
			: "no\n");
	return 0;
}
