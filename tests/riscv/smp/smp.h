/* smp.h - start-up for multi-hart programs (tests/riscv/smp/): every hart enters _start with
 * a0 = its hart id (QEMU's reset vector and strata-vm both do this), takes its own 8 KiB of
 * the stack, waits until hart 0 has zeroed bss, then calls hart_main(hartid). Hart 0's return
 * value is the exit code; the other harts park in WFI when hart_main returns.
 * A program includes this once, defines hart_main, names the hart count in an `smp: N` line
 * comment for run-guests.sh and mentions `_start:` (so it gets no crt0). */
#ifndef RV_SMP_H
#define RV_SMP_H

#include "rvtest.h"
#include <stdint.h>

#define SMP_MAX 8
#define CLINT_MSIP(h) ((volatile uint32_t *)(0x2000000UL + 4 * (h)))

int hart_main(uint64_t hart);
void smp_park(void) __attribute__((noreturn));

/* set by hart 0 once bss is zero (lives in .data, so it is 0 before hart 0 runs) */
volatile uint32_t smp_bss_ready __attribute__((section(".data"))) = 0;

void smp_park(void)
{
	for (;;)
		__asm__ volatile("wfi");
}

__asm__(".section .text.init, \"ax\"\n"
	".globl _start\n"
	"_start:\n"
	".option push\n.option norelax\n"
	"	la gp, __global_pointer$\n"
	".option pop\n"
	"	csrr a0, mhartid\n"
	"	la sp, __stack_top\n"
	"	slli t0, a0, 13\n"
	"	sub sp, sp, t0\n"
	"	bnez a0, 3f\n"
	"	la t0, __bss_start\n"
	"	la t1, __bss_end\n"
	"1:	bgeu t0, t1, 2f\n"
	"	sd zero, 0(t0)\n"
	"	addi t0, t0, 8\n"
	"	j 1b\n"
	"2:	fence w, w\n"
	"	li t0, 1\n"
	"	la t1, smp_bss_ready\n"
	"	sw t0, 0(t1)\n"
	"3:	la t1, smp_bss_ready\n"
	"	lw t0, 0(t1)\n"
	"	beqz t0, 3b\n"
	"	fence r, rw\n"
	"	li t0, (1 << 13)\n"
	"	csrs mstatus, t0\n"
	"	csrw fcsr, zero\n"
	"	la t0, rv_default_trap\n"
	"	csrw mtvec, t0\n"
	"	csrr a0, mhartid\n"
	"	mv s0, a0\n"
	"	call hart_main\n"
	"	bnez s0, 4f\n"
	"	call rv_exit\n"
	"4:	call smp_park\n"
	".previous\n");

/* A sense-free barrier for `n` harts on a counter that only grows (round r waits for n*r). */
static inline void smp_barrier(volatile uint64_t *count, uint64_t n, uint64_t round)
{
	__atomic_fetch_add(count, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(count, __ATOMIC_ACQUIRE) < n * round)
		;
}

#endif
