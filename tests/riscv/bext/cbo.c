/* Zicbom/Zicboz (not in QEMU 7.2): cbo.zero zeroes the aligned 64-byte block holding the
 * address, cbo.clean/flush/inval change nothing visible, and below M-mode each needs its
 * menvcfg (and for U also senvcfg) enable bit, else illegal-instruction. On QEMU every cbo.*
 * traps and the handler does what the instruction should have done, the enable check
 * included, so both emulators print the same. */
/* vm-cpu: rv64,zicbom=true,zicboz=true */
#include "rvtest.h"

static uint8_t buf[256] __attribute__((aligned(64)));

#define CBIE 0x30
#define CBCFE 0x40
#define CBZE 0x80

static void handler(struct rv_frame *f)
{
	uint32_t insn = *(const uint32_t *)f->epc;
	unsigned mode = (f->status >> 11) & 3, kind = insn >> 20;
	if (f->cause != 2 || (insn & 0x7fff) != 0x200f)
		rv_unexpected_trap(f->cause, f->epc, f->tval);
	uint64_t bit = kind == 4 ? CBZE : kind == 0 ? CBIE : CBCFE;
	if ((mode != 3 && !(RV_CSR_READ(menvcfg) & bit)) || (mode == 0 && !(RV_CSR_READ(senvcfg) & bit))) {
		rv_puts(" illegal");
	} else if (kind == 4) {
		uint8_t *p = (uint8_t *)(f->x[(insn >> 15) & 31] & ~63ULL);
		for (int i = 0; i < 64; i++)
			p[i] = 0;
	}
	f->epc += 4;
}

static uint64_t sum(void)
{
	uint64_t h = 0;
	for (unsigned i = 0; i < sizeof(buf); i++)
		h = h * 31 + buf[i];
	return h;
}

static uint64_t ops(uint64_t p)
{
	__asm__ volatile(".insn i 0x0f, 2, x0, %0, 1" ::"r"(p) : "memory"); /* cbo.clean */
	__asm__ volatile(".insn i 0x0f, 2, x0, %0, 2" ::"r"(p) : "memory"); /* cbo.flush */
	__asm__ volatile(".insn i 0x0f, 2, x0, %0, 0" ::"r"(p) : "memory"); /* cbo.inval */
	__asm__ volatile(".insn i 0x0f, 2, x0, %0, 4" ::"r"(p) : "memory"); /* cbo.zero */
	__asm__ volatile("ori x0, %0, 0\n ori x0, %0, 1\n ori x0, %0, 3" ::"r"(p)); /* prefetch.i/r/w */
	__asm__ volatile("add x0, x0, x2\n add x0, x0, x5"); /* ntl.p1, ntl.all */
	return 0;
}

static void fill(void)
{
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
}

static void report(const char *what)
{
	rv_puts(" ");
	rv_puts(what);
	rv_puts(" sum=");
	rv_puthex64(sum());
	rv_putc('\n');
}

int main(void)
{
	rv_pmp_allow_all();
	rv_set_mtrap(handler);
	static const struct { uint64_t menv, senv; } cfg[] = {
		{ 0, 0 }, { CBZE, 0 }, { CBZE | CBCFE | CBIE, 0 }, { CBZE | CBCFE | CBIE, CBZE | CBCFE | CBIE }, { CBCFE, CBCFE },
	};
	fill();
	ops((uint64_t)&buf[64 + 13]);
	report("M");
	for (unsigned c = 0; c < sizeof(cfg) / sizeof(cfg[0]); c++) {
		RV_CSR_WRITE(menvcfg, cfg[c].menv);
		RV_CSR_WRITE(senvcfg, cfg[c].senv);
		for (int mode = 1; mode >= 0; mode--) {
			fill();
			rv_puts(mode ? "S" : "U");
			rv_run_in_mode(mode, ops, (uint64_t)&buf[mode ? 191 : 200]);
			report("");
		}
	}
	return 0;
}
