/* Trap entry/exit for test programs and a way to run a function in S or U mode.
 * Frame (struct rv_frame): x0..x31 at 8*i, then cause, epc, tval, status (288 bytes).
 * M-mode traps use a private stack found through mscratch, S-mode ones through sscratch,
 * so a handler works whatever sp the interrupted code had. */
#define FRAME 288
#define MAGIC 0x5354524c	/* a7 value of the "back to M-mode" ecall */

	.macro SAVE_REGS
	sd	x1, 8(sp)
	sd	x3, 24(sp)
	sd	x4, 32(sp)
	sd	x5, 40(sp)
	sd	x6, 48(sp)
	sd	x7, 56(sp)
	sd	x8, 64(sp)
	sd	x9, 72(sp)
	sd	x10, 80(sp)
	sd	x11, 88(sp)
	sd	x12, 96(sp)
	sd	x13, 104(sp)
	sd	x14, 112(sp)
	sd	x15, 120(sp)
	sd	x16, 128(sp)
	sd	x17, 136(sp)
	sd	x18, 144(sp)
	sd	x19, 152(sp)
	sd	x20, 160(sp)
	sd	x21, 168(sp)
	sd	x22, 176(sp)
	sd	x23, 184(sp)
	sd	x24, 192(sp)
	sd	x25, 200(sp)
	sd	x26, 208(sp)
	sd	x27, 216(sp)
	sd	x28, 224(sp)
	sd	x29, 232(sp)
	sd	x30, 240(sp)
	sd	x31, 248(sp)
	.endm

	.macro LOAD_REGS
	ld	x1, 8(sp)
	ld	x3, 24(sp)
	ld	x4, 32(sp)
	ld	x5, 40(sp)
	ld	x6, 48(sp)
	ld	x7, 56(sp)
	ld	x8, 64(sp)
	ld	x9, 72(sp)
	ld	x10, 80(sp)
	ld	x11, 88(sp)
	ld	x12, 96(sp)
	ld	x13, 104(sp)
	ld	x14, 112(sp)
	ld	x15, 120(sp)
	ld	x16, 128(sp)
	ld	x17, 136(sp)
	ld	x18, 144(sp)
	ld	x19, 152(sp)
	ld	x20, 160(sp)
	ld	x21, 168(sp)
	ld	x22, 176(sp)
	ld	x23, 184(sp)
	ld	x24, 192(sp)
	ld	x25, 200(sp)
	ld	x26, 208(sp)
	ld	x27, 216(sp)
	ld	x28, 224(sp)
	ld	x29, 232(sp)
	ld	x30, 240(sp)
	ld	x31, 248(sp)
	.endm

	.text
/* Any trap the program did not expect: report cause, epc and tval, then fail. */
	.align 4
	.globl rv_default_trap
rv_default_trap:
	la	sp, __stack_top
	csrr	a0, mcause
	csrr	a1, mepc
	csrr	a2, mtval
	call	rv_unexpected_trap
4:	j	4b

	.align 4
	.globl rv_mtrap_entry
rv_mtrap_entry:
	csrrw	sp, mscratch, sp
	addi	sp, sp, -FRAME
	SAVE_REGS
	csrr	t0, mscratch
	sd	t0, 16(sp)
	csrr	t0, mcause
	sd	t0, 256(sp)
	csrr	t0, mepc
	sd	t0, 264(sp)
	csrr	t0, mtval
	sd	t0, 272(sp)
	csrr	t0, mstatus
	sd	t0, 280(sp)
	mv	a0, sp
	call	rv_mtrap_dispatch
	bnez	a0, rv_lower_return
	ld	t0, 264(sp)
	csrw	mepc, t0
	ld	t0, 280(sp)
	csrw	mstatus, t0
	addi	t0, sp, FRAME
	csrw	mscratch, t0
	LOAD_REGS
	ld	sp, 16(sp)
	mret

	.align 4
	.globl rv_strap_entry
rv_strap_entry:
	csrrw	sp, sscratch, sp
	addi	sp, sp, -FRAME
	SAVE_REGS
	csrr	t0, sscratch
	sd	t0, 16(sp)
	csrr	t0, scause
	sd	t0, 256(sp)
	csrr	t0, sepc
	sd	t0, 264(sp)
	csrr	t0, stval
	sd	t0, 272(sp)
	csrr	t0, sstatus
	sd	t0, 280(sp)
	mv	a0, sp
	call	rv_strap_dispatch
	beqz	a0, 1f
	/* U-mode asked to go back to M-mode: pass the request on from S-mode */
	addi	t0, sp, FRAME
	csrw	sscratch, t0
	ld	a0, 80(sp)
	li	a7, MAGIC
	ecall
1:	ld	t0, 264(sp)
	csrw	sepc, t0
	ld	t0, 280(sp)
	csrw	sstatus, t0
	addi	t0, sp, FRAME
	csrw	sscratch, t0
	LOAD_REGS
	ld	sp, 16(sp)
	sret

/* uint64_t rv_run_in_mode(int mode, uint64_t (*fn)(uint64_t), uint64_t arg) */
	.globl rv_run_in_mode
rv_run_in_mode:
	addi	sp, sp, -112
	sd	ra, 0(sp)
	sd	s0, 8(sp)
	sd	s1, 16(sp)
	sd	s2, 24(sp)
	sd	s3, 32(sp)
	sd	s4, 40(sp)
	sd	s5, 48(sp)
	sd	s6, 56(sp)
	sd	s7, 64(sp)
	sd	s8, 72(sp)
	sd	s9, 80(sp)
	sd	s10, 88(sp)
	sd	s11, 96(sp)
	sd	gp, 104(sp)
	la	t0, rv_saved_msp
	sd	sp, 0(t0)
	li	t0, 3 << 11
	csrc	mstatus, t0
	slli	t1, a0, 11
	csrs	mstatus, t1
	la	t0, lower_tramp
	csrw	mepc, t0
	mv	s0, a1
	mv	a0, a2
	la	sp, rv_lower_stack_top
	ld	sp, 0(sp)
	mret
lower_tramp:
	jalr	s0
	li	a7, MAGIC
	ecall
1:	j	1b

rv_lower_return:
	ld	a0, 80(sp)
	addi	t0, sp, FRAME
	csrw	mscratch, t0
	la	t0, rv_saved_msp
	ld	sp, 0(t0)
	ld	ra, 0(sp)
	ld	s0, 8(sp)
	ld	s1, 16(sp)
	ld	s2, 24(sp)
	ld	s3, 32(sp)
	ld	s4, 40(sp)
	ld	s5, 48(sp)
	ld	s6, 56(sp)
	ld	s7, 64(sp)
	ld	s8, 72(sp)
	ld	s9, 80(sp)
	ld	s10, 88(sp)
	ld	s11, 96(sp)
	ld	gp, 104(sp)
	addi	sp, sp, 112
	ret

	.data
	.align 3
rv_saved_msp:
	.dword 0
