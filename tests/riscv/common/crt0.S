/* Guest start-up: stack, gp, zeroed bss, FPU on (FS=Initial) and a catch-all M-mode trap
 * handler, then main(); its return value becomes the exit code through rv_exit(). */
	.section .text.init, "ax"
	.globl _start
_start:
	.option push
	.option norelax
	la	gp, __global_pointer$
	.option pop
	la	sp, __stack_top
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:	li	t0, (1 << 13)		/* mstatus.FS = Initial so C code may use the FPU */
	csrs	mstatus, t0
	csrw	fcsr, zero
	la	t0, rv_default_trap
	csrw	mtvec, t0
	call	main
	call	rv_exit
3:	j	3b
