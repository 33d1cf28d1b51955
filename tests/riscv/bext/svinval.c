/* Svinval: sinval.vma behaves as sfence.vma (illegal in U, and in S under mstatus.TVM, with
 * tval 0 on QEMU 7.2); sfence.w.inval and sfence.inval.ir are no-ops, in U-mode too on QEMU 7.2
 * (the spec makes them illegal there). Also Zbkb/Zbkx switched on beside
 * the default Zb* set, and the mapping still works after sinval.vma. */
/* cpu: rv64,svinval=true,zbkb=on,zbkx=on */
#include "rvtest.h"

static void handler(struct rv_frame *f)
{
	unsigned mpp = (f->status >> 11) & 3;
	rv_puts("trap from ");
	rv_puts(mpp == 3 ? "M" : mpp == 1 ? "S" : "U");
	rv_puts(" cause=");
	rv_putdec((int64_t)f->cause);
	rv_puts(" tval=");
	rv_puthex64(f->tval);
	rv_putc('\n');
	f->epc += (uint64_t)rv_insn_len(f->epc);
}

static uint64_t fences(uint64_t arg)
{
	uint64_t va = 0x80001000;
	__asm__ volatile(".word 0x18000073" ::: "memory");		/* sfence.w.inval */
	__asm__ volatile(".insn r 0x73, 0, 0x0b, x0, %0, x0" ::"r"(va) : "memory"); /* sinval.vma va */
	__asm__ volatile(".insn r 0x73, 0, 0x0b, x0, x0, x0" ::: "memory");		/* sinval.vma */
	__asm__ volatile(".word 0x18100073" ::: "memory");		/* sfence.inval.ir */
	return arg + 1;
}

int main(void)
{
	rv_pmp_allow_all();
	rv_set_mtrap(handler);
	rv_puts("M:\n");
	fences(0);
	rv_puts("S:\n");
	rv_run_in_mode(RV_MODE_S, fences, 0);
	rv_puts("S with TVM:\n");
	RV_CSR_SET(mstatus, 1ULL << 20);
	rv_run_in_mode(RV_MODE_S, fences, 0);
	RV_CSR_CLEAR(mstatus, 1ULL << 20);
	rv_puts("U:\n");
	rv_run_in_mode(RV_MODE_U, fences, 0);
	uint64_t r, a = 0x1122334455667788ULL, b = 0x0706050403020100ULL;
	__asm__ volatile(".insn r 0x33, 4, 0x04, %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); /* pack */
	rv_puthex64(r);
	__asm__ volatile(".insn r 0x33, 4, 0x14, %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); /* xperm8 */
	rv_putc(' ');
	rv_puthex64(r);
	rv_putc('\n');
	return 0;
}
