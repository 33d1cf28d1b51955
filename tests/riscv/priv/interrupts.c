/* Interrupts: CLINT msip and mtimecmp, priority order, vectored mtvec, delegation of SSI and
 * STI to S, Sstc (stimecmp), WFI wake-up, interrupts taken from lower modes. */
#include "rvtest.h"

#define CLINT_MSIP ((volatile uint32_t *)0x2000000UL)
#define MIE_MSIE (1u << 3)
#define MIE_MTIE (1u << 7)
#define MIE_SSIE (1u << 1)
#define MIE_STIE (1u << 5)

void rv_vector_table(void);
static volatile int got[16];
static volatile int order[8], norder;

static void mhandler(struct rv_frame *f)
{
	if ((int64_t)f->cause >= 0) {
		rv_puts("M exception ");
		rv_putdec((int64_t)f->cause);
		rv_putc('\n');
		f->epc += (uint64_t)rv_insn_len(f->epc);
		return;
	}
	unsigned c = f->cause & 0xff;
	got[c]++;
	if (norder < 8)
		order[norder++] = (int)c;
	if (c == 3)
		*CLINT_MSIP = 0;
	if (c == 7)
		*RV_CLINT_MTIMECMP(0) = ~0ULL;
}

static void shandler(struct rv_frame *f)
{
	unsigned c = f->cause & 0xff;
	rv_puts("S interrupt ");
	rv_putdec(c);
	rv_puts(f->cause >> 63 ? " (interrupt bit set)\n" : "\n");
	if (c == 1)
		RV_CSR_CLEAR(sip, 2);
	if (c == 5) {
		RV_CSR_WRITE(stimecmp, ~0ULL);
		got[5]++;
	}
}

static uint64_t s_soft(uint64_t arg)
{
	RV_CSR_SET(sie, MIE_SSIE);
	RV_CSR_SET(sstatus, 2); /* SIE */
	RV_CSR_SET(sip, 2);     /* S raises its own software interrupt */
	__asm__ volatile("nop");
	RV_CSR_CLEAR(sstatus, 2);
	return arg;
}

static uint64_t s_sstc(uint64_t arg)
{
	uint64_t t = RV_CSR_READ(time);
	RV_CSR_SET(sie, MIE_STIE);
	RV_CSR_WRITE(stimecmp, t + 2000);
	/* wfi with SIE clear (it still wakes on a pending interrupt), then a window to take it:
	 * an interrupt taken between the test of got[] and a wfi with SIE set would be lost */
	while (!arg && !got[5]) {
		__asm__ volatile("wfi");
		RV_CSR_SET(sstatus, 2);
		__asm__ volatile("nop");
		RV_CSR_CLEAR(sstatus, 2);
	}
	return 1;
}

static uint64_t u_spin(uint64_t arg)
{
	while (!got[7])
		;
	return arg;
}

int main(void)
{
	rv_pmp_allow_all();
	rv_set_mtrap(mhandler);

	rv_puts("-- machine software interrupt\n");
	RV_CSR_SET(mie, MIE_MSIE);
	*CLINT_MSIP = 1;
	rv_puts("pending before enable: ");
	rv_puts(RV_CSR_READ(mip) & MIE_MSIE ? "yes\n" : "no\n");
	RV_CSR_SET(mstatus, 8);
	__asm__ volatile("nop");
	RV_CSR_CLEAR(mstatus, 8);
	rv_puts("msi taken: ");
	rv_putdec(got[3]);
	rv_putc('\n');

	rv_puts("-- timer interrupt through wfi\n");
	*RV_CLINT_MTIMECMP(0) = *RV_CLINT_MTIME + 1000;
	RV_CSR_SET(mie, MIE_MTIE);
	while (!got[7]) { /* wfi with MIE clear, then take it: no lost wake-up (see s_sstc) */
		__asm__ volatile("wfi");
		RV_CSR_SET(mstatus, 8);
		__asm__ volatile("nop");
		RV_CSR_CLEAR(mstatus, 8);
	}
	rv_puts("mti taken: ");
	rv_putdec(got[7]);
	rv_putc('\n');

	rv_puts("-- priority: MSI before MTI, vectored mtvec\n");
	RV_CSR_WRITE(mtvec, (uint64_t)rv_vector_table | 1);
	norder = 0;
	*CLINT_MSIP = 1;
	*RV_CLINT_MTIMECMP(0) = 0;
	RV_CSR_SET(mstatus, 8);
	__asm__ volatile("nop");
	RV_CSR_CLEAR(mstatus, 8);
	rv_puts("order:");
	for (int i = 0; i < norder; i++) {
		rv_putc(' ');
		rv_putdec(order[i]);
	}
	rv_puts("\nlast vector entry: ");
	rv_putdec((int64_t)RV_CSR_READ(sscratch));
	rv_putc('\n');
	rv_set_mtrap(mhandler);

	rv_puts("-- wfi wakes on a pending interrupt even with MIE clear\n");
	*RV_CLINT_MTIMECMP(0) = *RV_CLINT_MTIME + 500;
	while (!(RV_CSR_READ(mip) & MIE_MTIE))
		__asm__ volatile("wfi");
	rv_puts("woke with MTIP pending: yes\n");
	*RV_CLINT_MTIMECMP(0) = ~0ULL;

	rv_puts("-- M timer interrupt preempts U even with MIE clear\n");
	got[7] = 0;
	*RV_CLINT_MTIMECMP(0) = *RV_CLINT_MTIME + 1000;
	rv_run_in_mode(RV_MODE_U, u_spin, 0);
	rv_puts("mti taken from U: ");
	rv_putdec(got[7]);
	rv_putc('\n');
	RV_CSR_CLEAR(mie, MIE_MTIE | MIE_MSIE);

	rv_puts("-- supervisor software interrupt delegated to S\n");
	rv_set_strap(shandler);
	RV_CSR_WRITE(mideleg, MIE_SSIE | MIE_STIE);
	rv_puts("mideleg SSI/STI: ");
	rv_puthex64(RV_CSR_READ(mideleg) & (MIE_SSIE | MIE_STIE));
	rv_putc('\n');
	rv_run_in_mode(RV_MODE_S, s_soft, 0);

	rv_puts("-- M raises SSIP for S\n");
	RV_CSR_SET(mip, MIE_SSIE);
	rv_puts("sip.SSIP: ");
	rv_puts(RV_CSR_READ(mip) & MIE_SSIE ? "set\n" : "clear\n");
	rv_run_in_mode(RV_MODE_S, s_soft, 0);

	rv_puts("-- Sstc: stimecmp from S\n");
	RV_CSR_SET(menvcfg, 1ULL << 63);
	RV_CSR_SET(mcounteren, 2);
	rv_run_in_mode(RV_MODE_S, s_sstc, 0);
	rv_puts("-- stimecmp without STCE is illegal in S\n");
	RV_CSR_CLEAR(menvcfg, 1ULL << 63);
	rv_run_in_mode(RV_MODE_S, s_sstc, 1);
	RV_CSR_WRITE(mideleg, 0);
	return 0;
}
