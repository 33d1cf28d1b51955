/* Branches over one instruction that strata-vm's JIT turns into a cmov, in loops that use
 * more registers than it has host registers: the instruction the branch skips is emitted
 * before the branch's compare, so loading its source may evict a register; the branch's
 * own sources must not be the ones evicted, even when they are dead after the branch
 * (overwritten before they are read again, so evicted without a store). Each loop prints a
 * checksum, which must equal QEMU's. */
#include "rvtest.h"

/* cmp: the branch's source a1 is overwritten (li a1, 3) after the skip, a4 is loaded by
 * the skipped instruction with every cache register taken */
static uint64_t cmov_dead_source(uint64_t n)
{
	uint64_t out;
	__asm__ volatile("mv a0, %[n]\n"
			 "li a5, 0\n li a2, 7\n li a4, 100\n li a3, 0\n li a1, 0x55\n"
			 "li s1, 1\n li s2, 2\n li s3, 3\n li s4, 4\n li s5, 5\n li s6, 6\n"
			 "li s7, 7\n li s8, 8\n li s9, 9\n"
			 "1: andi a1, a0, 15\n"
			 "   add t0, s1, s2\n"
			 "   add t0, t0, s3\n"
			 "   add t0, t0, s4\n"
			 "   add t0, t0, s5\n"
			 "   add t0, t0, s6\n"
			 "   add t0, t0, s7\n"
			 "   add t0, t0, s8\n"
			 "   add t0, t0, s9\n"
			 "   bltu a1, a2, 2f\n"
			 "   addi a3, a4, 1\n"
			 "2: add a5, a5, a3\n"
			 "   li a1, 3\n"
			 "   add t0, t0, s1\n"
			 "   add t0, t0, s2\n"
			 "   add t0, t0, s3\n"
			 "   add t0, t0, s4\n"
			 "   add t0, t0, s5\n"
			 "   add t0, t0, s6\n"
			 "   add t0, t0, s7\n"
			 "   add t0, t0, s8\n"
			 "   add t0, t0, s9\n"
			 "   add a5, a5, t0\n"
			 "   add a5, a5, a1\n"
			 "   add a5, a5, a2\n"
			 "   addi a4, a4, 1\n"
			 "   addi a0, a0, -1\n"
			 "   bnez a0, 1b\n"
			 "mv %[out], a5\n"
			 : [out] "=r"(out)
			 : [n] "r"(n)
			 : "a0", "a1", "a2", "a3", "a4", "a5", "t0", "s1", "s2", "s3", "s4", "s5", "s6",
			   "s7", "s8", "s9", "memory");
	return out;
}

int main(void)
{
	rv_puts("cmov_dead_source ");
	rv_puthex64(cmov_dead_source(5000));
	rv_puts("\n");
	return 0;
}
