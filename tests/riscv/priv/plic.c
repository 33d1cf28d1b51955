/* PLIC and UART interrupts: the 16550's transmitter-empty interrupt (source 10) routed to
 * M-mode (context 0) and to S-mode (context 1), claim/complete, priority threshold. */
#include "rvtest.h"

#define PLIC 0x0c000000UL
#define PRIO(i) ((volatile uint32_t *)(PLIC + 4 * (i)))
#define PENDING ((volatile uint32_t *)(PLIC + 0x1000))
#define ENABLE(ctx) ((volatile uint32_t *)(PLIC + 0x2000 + 0x80 * (ctx)))
#define THRESHOLD(ctx) ((volatile uint32_t *)(PLIC + 0x200000 + 0x1000 * (ctx)))
#define CLAIM(ctx) ((volatile uint32_t *)(PLIC + 0x200004 + 0x1000 * (ctx)))
#define UART ((volatile uint8_t *)0x10000000UL)
#define UART_IRQ 10

static volatile uint32_t claimed, iir, hits;

static void handle(struct rv_frame *f, unsigned ctx)
{
	(void)f;
	claimed = *CLAIM(ctx);
	iir = UART[2];
	UART[1] = 0; /* IER off before anything is printed again */
	*CLAIM(ctx) = claimed;
	hits++;
}

static void mhandler(struct rv_frame *f)
{
	if ((int64_t)f->cause >= 0) {
		rv_puts("unexpected exception\n");
		rv_exit(3);
	}
	handle(f, 0);
}

static void shandler(struct rv_frame *f)
{
	handle(f, 1);
}

static void report(const char *what)
{
	rv_puts(what);
	rv_puts(": hits=");
	rv_putdec(hits);
	rv_puts(" claim=");
	rv_putdec(claimed);
	rv_puts(" iir=");
	rv_puthex32(iir);
	rv_putc('\n');
	hits = 0;
	claimed = 0;
	iir = 0;
}

static uint64_t s_wait(uint64_t arg)
{
	RV_CSR_SET(sie, 1u << 9);
	RV_CSR_SET(sstatus, 2);
	UART[1] = 2;
	for (volatile int i = 0; i < 1000 && !hits; i++)
		;
	RV_CSR_CLEAR(sstatus, 2);
	return arg;
}

int main(void)
{
	rv_pmp_allow_all();
	rv_set_mtrap(mhandler);
	*PRIO(UART_IRQ) = 1;
	*THRESHOLD(0) = 0;
	*ENABLE(0) = 1u << UART_IRQ;
	rv_puts("priority readback: ");
	rv_putdec(*PRIO(UART_IRQ));
	rv_putc('\n');
	RV_CSR_SET(mie, 1u << 11);
	RV_CSR_SET(mstatus, 8);
	UART[1] = 2; /* ETBEI: the transmitter is empty, so this raises source 10 */
	for (volatile int i = 0; i < 1000 && !hits; i++)
		;
	report("M external");
	rv_puts("MEIP after completion: ");
	rv_puts(RV_CSR_READ(mip) & (1u << 11) ? "set\n" : "clear\n");

	/* threshold at the source's priority masks it */
	*THRESHOLD(0) = 1;
	UART[1] = 2;
	for (volatile int i = 0; i < 1000; i++)
		;
	rv_puts("masked by threshold: pending=");
	rv_putdec((PENDING[0] >> UART_IRQ) & 1);
	rv_puts(" MEIP=");
	rv_putdec((RV_CSR_READ(mip) >> 11) & 1);
	rv_putc('\n');
	/* interrupts off first: QEMU delivers at the end of a translation block, so anything
	 * racing with the MMIO stores below would differ */
	RV_CSR_CLEAR(mstatus, 8);
	RV_CSR_CLEAR(mie, 1u << 11);
	UART[1] = 0;
	*THRESHOLD(0) = 0;
	rv_puts("request stays latched after the line drops: claim=");
	uint32_t id = *CLAIM(0);
	rv_putdec(id);
	*CLAIM(0) = id;
	rv_puts(" then claim=");
	rv_putdec(*CLAIM(0));
	rv_putc('\n');
	(void)UART[2];
	report("after masking");

	/* S-mode context, delegated */
	*ENABLE(0) = 0;
	*ENABLE(1) = 1u << UART_IRQ;
	*THRESHOLD(1) = 0;
	RV_CSR_WRITE(mideleg, 1u << 9);
	rv_set_strap(shandler);
	rv_run_in_mode(RV_MODE_S, s_wait, 0);
	report("S external");
	RV_CSR_WRITE(mideleg, 0);
	return 0;
}
