/* Guest program: F/D behaviour around the arithmetic, compared between QEMU and strata-vm by
 * run-guests.sh (no host replay: check-host.sh only takes fp_*.c). fflags accrual, the
 * fcsr/frm/fflags views, reserved rounding modes (static and dynamic) trapping as illegal
 * instructions, NaN-boxing of binary32 operands, sign injection and moves on NaNs. */
#include "rvtest.h"

static void show(const char *what, uint64_t v)
{
	rv_puts(what);
	rv_puts(": ");
	rv_puthex64(v);
	rv_putc('\n');
}

static volatile uint64_t trap_cause, trap_tval, traps;

static void on_trap(struct rv_frame *f)
{
	trap_cause = f->cause;
	trap_tval = f->tval;
	traps++;
	f->epc += (uint64_t)rv_insn_len(f->epc);
}

static void show_trap(const char *what, uint64_t before)
{
	rv_puts(what);
	if (traps == before) {
		rv_puts(": no trap\n");
		return;
	}
	rv_puts(": trap mcause=");
	rv_puthex64(trap_cause);
	rv_puts(" mtval=");
	rv_puthex64(trap_tval);
	rv_putc('\n');
}

static void csr_views(void)
{
	uint64_t old;

	__asm__ volatile("csrw fcsr, zero");
	/* flags accrue: DZ from 1/0, then NX from 1/3, NV from sqrt(-1) */
	__asm__ volatile("li t0, 0x3f800000\n fmv.w.x ft0, t0\n fmv.w.x ft1, zero\n fdiv.s ft2, ft0, ft1"
			 ::: "t0", "ft0", "ft1", "ft2");
	show("fflags after 1/0", RV_CSR_READ(fflags));
	__asm__ volatile("li t0, 0x40400000\n fmv.w.x ft1, t0\n fdiv.s ft2, ft0, ft1" ::: "t0", "ft1", "ft2");
	show("fflags after 1/3", RV_CSR_READ(fflags));
	__asm__ volatile("li t0, 0xbf800000\n fmv.w.x ft1, t0\n fsqrt.s ft2, ft1" ::: "t0", "ft1", "ft2");
	show("fflags after sqrt(-1)", RV_CSR_READ(fflags));
	/* an exact operation leaves them alone */
	__asm__ volatile("fadd.s ft2, ft0, ft0" ::: "ft2");
	show("fflags after 1+1", RV_CSR_READ(fflags));
	show("fcsr", RV_CSR_READ(fcsr));

	/* field views and masking */
	RV_CSR_WRITE(fcsr, 0xfff);
	show("fcsr after writing 0xfff", RV_CSR_READ(fcsr));
	show("frm", RV_CSR_READ(frm));
	show("fflags", RV_CSR_READ(fflags));
	RV_CSR_WRITE(frm, 0xff);
	show("frm after writing 0xff", RV_CSR_READ(frm));
	RV_CSR_WRITE(fflags, 0x3a);
	show("fcsr after frm=0xff, fflags=0x3a", RV_CSR_READ(fcsr));
	__asm__ volatile("fsrmi %0, 2" : "=r"(old));
	show("fsrmi 2 returned", old);
	__asm__ volatile("fsflagsi %0, 1" : "=r"(old));
	show("fsflagsi 1 returned", old);
	show("fcsr now", RV_CSR_READ(fcsr));
	__asm__ volatile("fscsr %0, zero" : "=r"(old));
	show("fscsr zero returned", old);
	/* fmv, fsgnj, fclass, loads and stores never set flags, even on signaling NaNs */
	__asm__ volatile("li t0, 0x7f800001\n fmv.w.x ft0, t0\n fsgnj.s ft1, ft0, ft0\n fsgnjn.s ft1, ft0, ft0\n"
			 "fsgnjx.s ft1, ft0, ft0\n fclass.s t1, ft0\n fmv.x.w t1, ft0"
			 ::: "t0", "t1", "ft0", "ft1");
	show("fflags after moves of an sNaN", RV_CSR_READ(fflags));
}

static void reserved_modes(void)
{
	uint64_t before;

	rv_set_mtrap(on_trap);
	__asm__ volatile("csrw fcsr, zero");

	/* fadd.s ft0, ft1, ft2 with the reserved static modes 5 and 6 */
	before = traps;
	__asm__ volatile(".insn r 0x53, 5, 0, ft0, ft1, ft2" ::: "ft0");
	show_trap("fadd.s rm=5", before);
	before = traps;
	__asm__ volatile(".insn r 0x53, 6, 1, ft0, ft1, ft2" ::: "ft0"); /* fadd.d rm=6 */
	show_trap("fadd.d rm=6", before);
	before = traps;
	__asm__ volatile(".insn r 0x53, 4, 0, ft0, ft1, ft2" ::: "ft0"); /* rm=4 (RMM) is fine */
	show_trap("fadd.s rm=4", before);

	/* DYN with frm = 5, 6, 7: illegal; the same instruction with a static mode is fine */
	for (int m = 4; m <= 7; m++) {
		RV_CSR_WRITE(frm, m);
		before = traps;
		__asm__ volatile("fadd.s ft0, ft1, ft2, dyn" ::: "ft0");
		rv_puts("frm=");
		rv_putdec(m);
		show_trap(" fadd.s dyn", before);
		before = traps;
		__asm__ volatile("fcvt.w.d t0, ft1, dyn" ::: "t0");
		show_trap("  fcvt.w.d dyn", before);
		before = traps;
		__asm__ volatile("fmadd.d ft0, ft1, ft2, ft3, dyn" ::: "ft0");
		show_trap("  fmadd.d dyn", before);
		before = traps;
		__asm__ volatile("fadd.s ft0, ft1, ft2, rne" ::: "ft0");
		show_trap("  fadd.s rne", before);
		before = traps;
		__asm__ volatile("fsgnj.d ft0, ft1, ft2\n fmin.d ft0, ft1, ft2\n feq.d t0, ft1, ft2\n"
				 "fclass.d t0, ft1\n fmv.x.d t0, ft1" ::: "ft0", "t0");
		show_trap("  rm-less instructions", before);
	}
	RV_CSR_WRITE(frm, 0);
	rv_set_mtrap(0);
}

/* f32 operation on 64-bit register patterns: fmv.d.x puts the raw pattern in the register */
#define F32_ON_RAW(insn, a, b, out)                                                                      \
	__asm__ volatile("fmv.d.x ft0, %1\n fmv.d.x ft1, %2\n" insn "\n fmv.x.d %0, ft2"                 \
			 : "=r"(out)                                                                    \
			 : "r"(a), "r"(b)                                                               \
			 : "ft0", "ft1", "ft2")

static void nan_boxing(void)
{
	static const uint64_t pats[] = {
		0xffffffff3f800000, /* 1.0, properly boxed */
		0x000000003f800000, /* 1.0, not boxed: reads as the canonical NaN */
		0xfffffffe3f800000, /* one bit off */
		0x7fffffff3f800000, 0xffffffff7f800001, 0xffffffffbf800000,
	};
	uint64_t r, f;

	for (unsigned i = 0; i < sizeof pats / sizeof pats[0]; i++) {
		for (unsigned j = 0; j < sizeof pats / sizeof pats[0]; j += 2) {
			uint64_t a = pats[i], b = pats[j];

			rv_puts("box ");
			rv_putdec(i);
			rv_putc(' ');
			rv_putdec(j);
			rv_putc(':');
			RV_CSR_WRITE(fflags, 0);
			F32_ON_RAW("fadd.s ft2, ft0, ft1", a, b, r);
			f = RV_CSR_READ(fflags);
			rv_putc(' ');
			rv_puthex64(r);
			rv_putc('/');
			rv_puthex32((uint32_t)f);
			F32_ON_RAW("fsgnj.s ft2, ft0, ft1", a, b, r);
			rv_putc(' ');
			rv_puthex64(r);
			F32_ON_RAW("fsgnjn.s ft2, ft0, ft1", a, b, r);
			rv_putc(' ');
			rv_puthex64(r);
			F32_ON_RAW("fsgnjx.s ft2, ft0, ft1", a, b, r);
			rv_putc(' ');
			rv_puthex64(r);
			F32_ON_RAW("fmin.s ft2, ft0, ft1", a, b, r);
			rv_putc(' ');
			rv_puthex64(r);
			F32_ON_RAW("fcvt.d.s ft2, ft0", a, b, r);
			rv_putc(' ');
			rv_puthex64(r);
			__asm__ volatile("fmv.d.x ft0, %1\n fclass.s %0, ft0" : "=r"(r) : "r"(a) : "ft0");
			rv_putc(' ');
			rv_puthex64(r);
			__asm__ volatile("fmv.d.x ft0, %1\n fmv.x.w %0, ft0" : "=r"(r) : "r"(a) : "ft0");
			rv_putc(' ');
			rv_puthex64(r);
			__asm__ volatile("fmv.d.x ft0, %1\n feq.s %0, ft0, ft0" : "=r"(r) : "r"(a) : "ft0");
			rv_putc(' ');
			rv_puthex64(r);
			rv_putc('\n');
		}
	}
	/* results of f32 operations, fmv.w.x and fcvt.s.* are boxed */
	__asm__ volatile("li t0, -1\n fmv.w.x ft0, t0\n fmv.x.d %0, ft0" : "=r"(r) : : "t0", "ft0");
	show("fmv.w.x -1 boxed", r);
	__asm__ volatile("li t0, 3\n fcvt.s.l ft0, t0\n fmv.x.d %0, ft0" : "=r"(r) : : "t0", "ft0");
	show("fcvt.s.l 3 boxed", r);
	__asm__ volatile("fmv.d.x ft0, zero\n fsgnjn.s ft0, ft0, ft0\n fmv.x.d %0, ft0" : "=r"(r) : : "ft0");
	show("fsgnjn.s of unboxed 0", r);
}

int main(void)
{
	csr_views();
	reserved_modes();
	nan_boxing();
	return 0;
}
