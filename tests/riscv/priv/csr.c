/* CSRs firmware and kernels rely on: misa, FS tracking (loads included), counters and their
 * enables (mcounteren/scounteren), read-only and privileged CSR checks. */
#include "rvtest.h"

static void mhandler(struct rv_frame *f)
{
	rv_puts("  trap cause=");
	rv_putdec((int64_t)f->cause);
	rv_putc('\n');
	f->epc += (uint64_t)rv_insn_len(f->epc);
}

static unsigned fs(void)
{
	return (unsigned)((RV_CSR_READ(mstatus) >> 13) & 3);
}

static void show_fs(const char *what)
{
	uint64_t s = RV_CSR_READ(mstatus);
	rv_puts(what);
	rv_puts(": FS=");
	rv_putdec((s >> 13) & 3);
	rv_puts(" SD=");
	rv_putdec((int64_t)(s >> 63));
	rv_putc('\n');
}

static void set_fs(unsigned v)
{
	RV_CSR_CLEAR(mstatus, 3u << 13);
	RV_CSR_SET(mstatus, (uint64_t)v << 13);
}

static uint64_t read_counters(uint64_t arg)
{
	rv_puts(" cycle\n");
	__asm__ volatile("rdcycle t0" ::: "t0");
	rv_puts(" time\n");
	__asm__ volatile("rdtime t0" ::: "t0");
	rv_puts(" instret\n");
	__asm__ volatile("rdinstret t0" ::: "t0");
	return arg;
}

int main(void)
{
	rv_pmp_allow_all();
	rv_set_mtrap(mhandler);
	uint64_t misa = RV_CSR_READ(misa);
	rv_puts("misa MXL=");
	rv_putdec((int64_t)(misa >> 62));
	rv_puts(" IMAFDCSU=");
	rv_puts((misa & 0x14112d) == 0x14112d ? "yes\n" : "no\n");
	uint64_t st = RV_CSR_READ(mstatus);
	rv_puts("mstatus UXL=");
	rv_putdec((int64_t)((st >> 32) & 3));
	rv_puts(" SXL=");
	rv_putdec((int64_t)((st >> 34) & 3));
	rv_putc('\n');

	static volatile double d = 1.5;
	static volatile float fl = 2.5f;
	set_fs(1);
	show_fs("initial");
	__asm__ volatile("fld ft0, 0(%0)" ::"r"(&d));
	show_fs("after fld");
	set_fs(2);
	show_fs("clean");
	__asm__ volatile("flw ft1, 0(%0)" ::"r"(&fl));
	show_fs("after flw");
	set_fs(2);
	__asm__ volatile("fmv.d.x ft2, zero");
	show_fs("after fmv.d.x");
	set_fs(2);
	__asm__ volatile("fsd ft0, 0(%0)" ::"r"(&d) : "memory");
	show_fs("after fsd (no register written)");
	__asm__ volatile("csrw fcsr, zero");
	set_fs(2);
	__asm__ volatile("csrwi fflags, 1");
	show_fs("after fflags write");
	set_fs(2);
	__asm__ volatile("fadd.d ft3, ft0, ft0");
	show_fs("after fadd.d");
	set_fs(0);
	rv_puts("FS=Off:\n");
	__asm__ volatile("fadd.d ft3, ft0, ft0");
	__asm__ volatile("fld ft0, 0(%0)" ::"r"(&d));
	__asm__ volatile("csrr t0, fcsr" ::: "t0");
	set_fs(1);
	uint64_t nan_boxed;
	__asm__ volatile("flw ft4, 0(%1)\n fmv.x.d %0, ft4" : "=r"(nan_boxed) : "r"(&fl));
	rv_puts("flw NaN-boxes: ");
	rv_puthex64(nan_boxed);
	rv_putc('\n');

	uint64_t t1 = RV_CSR_READ(time), c1 = RV_CSR_READ(cycle), i1 = RV_CSR_READ(instret);
	for (volatile int i = 0; i < 20000; i++)
		;
	uint64_t t2 = RV_CSR_READ(time), c2 = RV_CSR_READ(cycle), i2 = RV_CSR_READ(instret);
	rv_puts("time advanced: ");
	rv_puts(t2 > t1 ? "yes\n" : "no\n");
	rv_puts("cycle advanced: ");
	rv_puts(c2 > c1 ? "yes\n" : "no\n");
	rv_puts("instret advanced: ");
	rv_puts(i2 > i1 ? "yes\n" : "no\n");
	RV_CSR_WRITE(minstret, 1000000);
	rv_puts("minstret writable: ");
	rv_puts(RV_CSR_READ(minstret) >= 1000000 ? "yes\n" : "no\n");

	rv_puts("S, mcounteren=0:\n");
	RV_CSR_WRITE(mcounteren, 0);
	rv_run_in_mode(RV_MODE_S, read_counters, 0);
	rv_puts("S, mcounteren=7:\n");
	RV_CSR_WRITE(mcounteren, 7);
	rv_run_in_mode(RV_MODE_S, read_counters, 0);
	rv_puts("U, mcounteren=7, scounteren=2:\n");
	RV_CSR_WRITE(scounteren, 2);
	rv_run_in_mode(RV_MODE_U, read_counters, 0);
	rv_puts("U, mcounteren=5, scounteren=7:\n");
	RV_CSR_WRITE(mcounteren, 5);
	RV_CSR_WRITE(scounteren, 7);
	rv_run_in_mode(RV_MODE_U, read_counters, 0);
	rv_puts("mscratch round trip: ");
	RV_CSR_WRITE(mscratch, 0x123456789abcdefULL);
	rv_puts(RV_CSR_READ(mscratch) == 0x123456789abcdefULL ? "yes\n" : "no\n");
	rv_puts("mtvec reserved mode ignored: ");
	uint64_t old = RV_CSR_READ(mtvec);
	RV_CSR_WRITE(mtvec, 0x80000002);
	rv_puts(RV_CSR_READ(mtvec) == old ? "yes\n" : "no\n");
	rv_puts("mhartid: ");
	rv_putdec((int64_t)RV_CSR_READ(mhartid));
	rv_putc('\n');
	return fs() == 3 ? 0 : 1;
}
