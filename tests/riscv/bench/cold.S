/* Cold code: ~60000 distinct instructions, each executed a few times, so translation
 * (QEMU) or decoding (strata-vm) dominates. Prints a checksum; has its own _start. */
	.section .text.init, "ax"
	.globl _start
_start:
	la	sp, __stack_top
	li	s1, 0
#ifndef BENCH_COLD_REPS
#define BENCH_COLD_REPS 2
#endif
	li	s2, BENCH_COLD_REPS
1:	li	t0, 1
	li	t1, 3
	call	cold_body
	add	s1, s1, t0
	add	s1, s1, t1
	addi	s2, s2, -1
	bnez	s2, 1b
	mv	a0, s1
	call	rv_puthex64
	li	a0, 10
	call	rv_putc
	li	a0, 0
	call	rv_exit

	.text
cold_body:
	.set i, 0
#ifndef BENCH_COLD_BLOCKS
#define BENCH_COLD_BLOCKS 20000
#endif
	.rept BENCH_COLD_BLOCKS
	addi	t0, t0, (i % 2039) - 1000
	xori	t1, t1, i % 1500
	add	t0, t0, t1
	.set i, i + 1
	.endr
	ret
