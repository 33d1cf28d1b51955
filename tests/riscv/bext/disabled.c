/* Extensions switched off with -cpu raise illegal-instruction (tval = the instruction), one
 * instruction of each: Zba, Zbb, Zbc, Zbs off here; Zbkb, Zbkx, Svinval, Zfhmin, Zfh and Zicond are off by
 * default (QEMU 7.2 has no Zicond at all). */
/* cpu: rv64,zba=false,zbb=false,zbc=false,zbs=false */
#include "rvtest.h"

static void handler(struct rv_frame *f)
{
	rv_puts("trap cause=");
	rv_putdec((int64_t)f->cause);
	rv_puts(" tval=");
	rv_puthex64(f->tval);
	rv_putc('\n');
	f->epc += (uint64_t)rv_insn_len(f->epc);
}

#define TRY(insn)                                                                         \
	do {                                                                              \
		uint64_t r_ = 0x5a5a;                                                     \
		rv_puts(insn ": ");                                                       \
		__asm__ volatile(insn : "+r"(r_) : "r"(0x1234567890abcdefULL) : "memory"); \
		rv_puthex64(r_);                                                          \
		rv_putc('\n');                                                            \
	} while (0)

int main(void)
{
	rv_set_mtrap(handler);
	TRY(".insn r 0x33, 2, 0x10, %0, %1, %1");	/* sh1add */
	TRY(".insn r 0x3b, 0, 0x04, %0, %1, %1");	/* add.uw */
	TRY(".insn i 0x1b, 1, %0, %1, 0x081");	/* slli.uw */
	TRY(".insn r 0x33, 7, 0x20, %0, %1, %1");	/* andn */
	TRY(".insn i 0x13, 1, %0, %1, 0x600");	/* clz */
	TRY(".insn i 0x13, 5, %0, %1, 0x6b8");	/* rev8 */
	TRY(".insn r 0x33, 6, 0x05, %0, %1, %1");	/* max */
	TRY(".insn r 0x3b, 4, 0x04, %0, %1, x0");	/* zext.h */
	TRY(".insn r 0x33, 1, 0x05, %0, %1, %1");	/* clmul */
	TRY(".insn r 0x33, 1, 0x14, %0, %1, %1");	/* bset */
	TRY(".insn i 0x13, 5, %0, %1, 0x484");	/* bexti */
	TRY(".insn r 0x33, 4, 0x04, %0, %1, %1");	/* pack */
	TRY(".insn i 0x13, 5, %0, %1, 0x687");	/* brev8 */
	TRY(".insn r 0x33, 4, 0x14, %0, %1, %1");	/* xperm8 */
	TRY(".insn r 0x33, 5, 0x07, %0, %1, %1");	/* czero.eqz */
	TRY(".insn r 0x73, 0, 0x0b, x0, %1, x0");	/* sinval.vma */
	TRY(".word 0x18000073");			/* sfence.w.inval */
	TRY(".word 0x18100073");			/* sfence.inval.ir */
	TRY(".insn r 0x53, 0, 0x20, f1, f2, f2");	/* fcvt.s.h (Zfhmin is off by default) */
	TRY(".insn r 0x53, 0, 0x72, %0, f1, x0");	/* fmv.x.h */
	TRY(".insn i 0x07, 1, f1, 0(sp)");		/* flh */
	TRY(".insn r 0x53, 0, 0x02, f1, f2, f3");	/* fadd.h */
	TRY(".insn r4 0x43, 0, 2, f1, f2, f3, f4");	/* fmadd.h */
	return 0;
}
