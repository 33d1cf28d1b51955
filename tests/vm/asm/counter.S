/* counter.S - the monitor tests' guest: prints "start\n" on the UART, then counts forever in
 * the word at 0x80100000 (the tests read it with `xp` to see whether the guest runs). Also
 * keeps fixed values in a0..a2 so `p $a0` and `info registers` have something to show. */
	.section .text.init
	.globl _start
_start:
	li	t0, 0x10000000		/* UART THR */
	la	t1, msg
1:	lbu	t2, 0(t1)
	beqz	t2, 2f
	sb	t2, 0(t0)
	addi	t1, t1, 1
	j	1b
2:	li	a0, 0x1234
	li	a1, -1
	li	a2, 0x80100000
	sd	zero, 0(a2)
	li	t3, 0x5678abcd
	sw	t3, 8(a2)
	li	t3, 0x41424344
	sw	t3, 12(a2)
3:	ld	t1, 0(a2)
	addi	t1, t1, 1
	sd	t1, 0(a2)
	j	3b
	.section .rodata
msg:	.asciz "start\n"
