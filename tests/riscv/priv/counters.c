/* Zicntr/Zihpm as QEMU 7.2 exposes them: which of cycle/time/instret/hpmcounter3..31,
 * mhpmcounter3..31 and mhpmevent3..31 exist in M, S and U mode under mcounteren/scounteren,
 * what the machine counters and events keep when written, and the WARL masks of mcounteren,
 * scounteren and mcountinhibit. Each CSR is read through a two-instruction stub written into
 * RAM ("csrr a0, N; ret"); an illegal-instruction trap marks it missing. */
#include "rvtest.h"

static uint32_t stub[2] __attribute__((aligned(8)));
static volatile int trapped;

static void handler(struct rv_frame *f)
{
	if (f->cause != 2)
		rv_unexpected_trap(f->cause, f->epc, f->tval);
	trapped = 1;
	f->epc += 4;
}

static void make_stub(uint32_t insn)
{
	stub[0] = insn;
	stub[1] = 0x00008067; /* ret */
	__asm__ volatile("fence.i" ::: "memory");
}

/* csrr a0, csr (as csrrs a0, csr, x0) */
static uint64_t run_stub(uint64_t arg)
{
	register uint64_t a0 __asm__("a0") = arg;
	__asm__ volatile("jalr ra, 0(%1)" : "+r"(a0) : "r"(stub) : "ra", "memory");
	return a0;
}

static char probe(int mode, unsigned csr)
{
	make_stub(csr << 20 | 2u << 12 | 10u << 7 | 0x73);
	trapped = 0;
	if (mode == 3)
		run_stub(0);
	else
		rv_run_in_mode(mode, run_stub, 0);
	return trapped ? '-' : 'r';
}

static void row(const char *name, int mode, unsigned base, unsigned first, unsigned last)
{
	rv_puts(name);
	for (unsigned c = first; c <= last; c++)
		rv_putc(probe(mode, base + c));
	rv_putc('\n');
}

/* csrw csr, a0 through a stub */
static void write_csr(unsigned csr, uint64_t v)
{
	make_stub(csr << 20 | 10u << 15 | 1u << 12 | 0x73);
	trapped = 0;
	run_stub(v);
}

static uint64_t read_csr(unsigned csr)
{
	make_stub(csr << 20 | 2u << 12 | 10u << 7 | 0x73);
	trapped = 0;
	return run_stub(0);
}

int main(void)
{
	rv_pmp_allow_all();
	rv_set_mtrap(handler);
	row("M  c00..c1f ", 3, 0xc00, 0, 31);
	row("M  b00..b1f ", 3, 0xb00, 0, 31);
	row("M  320..33f ", 3, 0x320, 0, 31);
	static const uint64_t en[] = { 0, 7, 0x5, 0x8, 0xfffffff8, 0xffffffff };
	for (unsigned i = 0; i < sizeof(en) / sizeof(en[0]); i++) {
		RV_CSR_WRITE(mcounteren, en[i]);
		RV_CSR_WRITE(scounteren, 0xffffffff);
		rv_puts("mcounteren=");
		rv_puthex32((uint32_t)en[i]);
		rv_putc('\n');
		row(" S c00..c1f ", 1, 0xc00, 0, 31);
		row(" U c00..c1f ", 0, 0xc00, 0, 31);
		RV_CSR_WRITE(scounteren, en[i] ^ 0x5);
		row(" U scounteren^5 ", 0, 0xc00, 0, 31);
	}
	for (unsigned c = 3; c < 32; c++) {
		write_csr(0xb00 + c, 0x1000 + c);
		write_csr(0x320 + c, 0);
	}
	rv_puts("mhpmcounter after write:");
	for (unsigned c = 3; c < 32; c++) {
		uint64_t v = read_csr(0xb00 + c);
		rv_putc(' ');
		rv_puts(trapped ? "-" : v == 0x1000 + c ? "kept" : v == 0 ? "0" : "other");
	}
	rv_puts("\nhpmcounter after write:");
	for (unsigned c = 3; c < 32; c++) {
		uint64_t v = read_csr(0xc00 + c);
		rv_putc(' ');
		rv_puts(trapped ? "-" : v == 0x1000 + c ? "kept" : v == 0 ? "0" : "other");
	}
	rv_puts("\nmhpmevent after write:");
	for (unsigned c = 3; c < 32; c++) {
		write_csr(0x320 + c, 0x55);
		uint64_t v = read_csr(0x320 + c);
		rv_putc(' ');
		rv_puts(trapped ? "-" : v == 0x55 ? "kept" : v == 0 ? "0" : "other");
		write_csr(0x320 + c, 0);
	}
	rv_putc('\n');
	RV_CSR_WRITE(mcounteren, ~0ULL);
	RV_CSR_WRITE(scounteren, ~0ULL);
	rv_puts("mcounteren=");
	rv_puthex64(RV_CSR_READ(mcounteren));
	rv_puts(" scounteren=");
	rv_puthex64(RV_CSR_READ(scounteren));
	RV_CSR_WRITE(mcountinhibit, ~0ULL);
	rv_puts(" mcountinhibit=");
	rv_puthex64(RV_CSR_READ(mcountinhibit));
	RV_CSR_WRITE(mcountinhibit, 0);
	rv_putc('\n');
	return 0;
}
