/* Zicond (czero.eqz, czero.nez) on strata-vm, which QEMU 7.2 lacks: there the trap handler
 * computes what the instruction should have, so both print the same and strata-vm's results
 * (native, and interpreted vs compiled) are held to the spec's. The number of emulated
 * instructions differs by design and is not printed. */
/* vm-cpu: rv64,zicond=true */
#include "rvtest.h"

static const uint64_t vals[] = { 0, 1, 0x8000000000000000ULL, 0xffffffffffffffffULL, 0x100000000ULL, 42 };
#define NV (sizeof(vals) / sizeof(vals[0]))

int main(void)
{
	rv_set_mtrap(rv_czero_trap);
	for (unsigned i = 0; i < NV; i++) {
		for (unsigned j = 0; j < NV; j++) {
			uint64_t e, n, a = vals[i], b = vals[j];
			__asm__ volatile(".insn r 0x33, 5, 0x07, %0, %1, %2" : "=r"(e) : "r"(a), "r"(b));
			__asm__ volatile(".insn r 0x33, 7, 0x07, %0, %1, %2" : "=r"(n) : "r"(a), "r"(b));
			rv_puthex64(e);
			rv_putc(' ');
			rv_puthex64(n);
			rv_putc('\n');
		}
	}
	/* rd = rs2, and a conditional select built from the pair */
	uint64_t a = 7, b = 9, c = 0, r;
	__asm__ volatile(".insn r 0x33, 5, 0x07, %0, %1, %0" : "+r"(c) : "r"(a));
	rv_puthex64(c);
	__asm__ volatile(".insn r 0x33, 5, 0x07, t0, %1, %3\n"
			 ".insn r 0x33, 7, 0x07, t1, %2, %3\n"
			 "or %0, t0, t1"
			 : "=r"(r) : "r"(a), "r"(b), "r"(1ULL) : "t0", "t1");
	rv_putc(' ');
	rv_puthex64(r);
	rv_putc('\n');
	return 0;
}
