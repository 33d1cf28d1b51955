# disasm.S - a guest for HMP x/i (tests/vm/disasm.sh): one of each instruction form (RV64GC,
# the pseudo-instructions QEMU 7.2 prints, CSR and rounding-mode names), never run (-S).
	.option norvc
	.globl _start
_start:
	lui t0, 0x10000
	lui a0, 0xfffff
	auipc t1, 0
	auipc t1, 0x12
	jal ra, 1f
	jal zero, 1f
	jal t0, 1f
1:	jalr zero, 0(ra)
	jalr zero, 0(t0)
	jalr ra, 0(t0)
	jalr a0, 8(t0)
	beq a0, a1, 1b
	beq a0, zero, 1b
	bne a0, zero, 2f
	bne a0, a1, 2f
	blt a0, zero, 2f
	blt zero, a0, 2f
	blt a0, a1, 2f
	bge a0, zero, 2f
	bge zero, a0, 2f
	bge a0, a1, 2f
	bltu a0, a1, 2f
	bgeu a0, a1, 2f
2:	lb a0, -1(sp)
	lh a0, 2(sp)
	lw a0, 4(sp)
	ld a0, 8(sp)
	lbu a0, 0(sp)
	lhu a0, 0(sp)
	lwu a0, 0(sp)
	sb a0, 0(sp)
	sh a0, -2(sp)
	sw a0, 4(sp)
	sd a0, 8(sp)
	addi zero, zero, 0
	addi a0, zero, 5
	addi a0, a1, 0
	addi a0, a1, -7
	slti a0, a1, 3
	sltiu a0, a1, 1
	sltiu a0, a1, 3
	xori a0, a1, -1
	xori a0, a1, 3
	ori a0, a1, 3
	andi a0, a1, 3
	slli a0, a1, 3
	srli a0, a1, 63
	srai a0, a1, 3
	add a0, a1, a2
	sub a0, a1, a2
	sub a0, zero, a2
	sll a0, a1, a2
	slt a0, a1, a2
	slt a0, a1, zero
	slt a0, zero, a1
	sltu a0, a1, a2
	sltu a0, zero, a2
	xor a0, a1, a2
	srl a0, a1, a2
	sra a0, a1, a2
	or a0, a1, a2
	and a0, a1, a2
	addiw a0, a1, 3
	addiw a0, a1, 0
	slliw a0, a1, 3
	srliw a0, a1, 3
	sraiw a0, a1, 3
	addw a0, a1, a2
	subw a0, a1, a2
	subw a0, zero, a2
	sllw a0, a1, a2
	srlw a0, a1, a2
	sraw a0, a1, a2
	mul a0, a1, a2
	mulh a0, a1, a2
	mulhsu a0, a1, a2
	mulhu a0, a1, a2
	div a0, a1, a2
	divu a0, a1, a2
	rem a0, a1, a2
	remu a0, a1, a2
	mulw a0, a1, a2
	divw a0, a1, a2
	divuw a0, a1, a2
	remw a0, a1, a2
	remuw a0, a1, a2
	fence
	fence rw, rw
	fence r, w
	fence.i
	ecall
	ebreak
	mret
	sret
	wfi
	sfence.vma
	sfence.vma a0
	sfence.vma a0, a1
	csrrw a0, mstatus, a1
	csrrw zero, mstatus, a1
	csrrs a0, mstatus, zero
	csrrs a0, mstatus, a1
	csrrs zero, mstatus, a1
	csrrc a0, mepc, a1
	csrrc zero, mepc, a1
	csrrwi a0, mtvec, 5
	csrrwi zero, mtvec, 5
	csrrsi a0, sstatus, 2
	csrrsi zero, sstatus, 2
	csrrci a0, satp, 2
	csrrci zero, satp, 2
	csrrs a0, cycle, zero
	csrrs a0, time, zero
	csrrs a0, instret, zero
	csrrs a0, 0x7c0, zero
	csrrs a0, mhartid, zero
	csrrs a0, fcsr, zero
	csrrs a0, frm, zero
	csrrs a0, fflags, zero
	lr.w a0, (a1)
	lr.d.aq a0, (a1)
	sc.w a0, a2, (a1)
	sc.d.rl a0, a2, (a1)
	amoswap.w a0, a2, (a1)
	amoadd.d.aqrl a0, a2, (a1)
	amoxor.w a0, a2, (a1)
	amoand.d a0, a2, (a1)
	amoor.w a0, a2, (a1)
	amomin.d a0, a2, (a1)
	amomax.w a0, a2, (a1)
	amominu.d a0, a2, (a1)
	amomaxu.w a0, a2, (a1)
	flw fa0, 4(sp)
	fld fa0, 8(sp)
	fsw fa0, 4(sp)
	fsd fa0, 8(sp)
	fadd.s fa0, fa1, fa2
	fadd.d fa0, fa1, fa2, rtz
	fsub.d fa0, fa1, fa2
	fmul.d fa0, fa1, fa2
	fdiv.s fa0, fa1, fa2
	fsqrt.d fa0, fa1
	fsgnj.d fa0, fa1, fa2
	fsgnj.d fa0, fa1, fa1
	fsgnjn.d fa0, fa1, fa1
	fsgnjx.d fa0, fa1, fa1
	fmin.d fa0, fa1, fa2
	fmax.s fa0, fa1, fa2
	fcvt.w.d a0, fa1
	fcvt.l.d a0, fa1, rtz
	fcvt.d.w fa0, a1
	fcvt.d.l fa0, a1
	fcvt.s.d fa0, fa1
	fcvt.d.s fa0, fa1
	fmv.x.d a0, fa1
	fmv.d.x fa0, a1
	fmv.x.w a0, fa1
	fmv.w.x fa0, a1
	feq.d a0, fa1, fa2
	flt.s a0, fa1, fa2
	fle.d a0, fa1, fa2
	fclass.d a0, fa1
	fmadd.d fa0, fa1, fa2, fa3
	fmsub.s fa0, fa1, fa2, fa3
	fnmadd.d fa0, fa1, fa2, fa3
	fnmsub.d fa0, fa1, fa2, fa3
	.word 0
	.option rvc
	c.addi4spn a0, sp, 16
	c.fld fa0, 8(a1)
	c.lw a0, 4(a1)
	c.ld a0, 8(a1)
	c.fsd fa0, 8(a1)
	c.sw a0, 4(a1)
	c.sd a0, 8(a1)
	c.nop
	c.addi a0, 3
	c.addiw a0, 3
	c.addiw a0, 0
	c.li a0, -1
	c.addi16sp sp, 32
	c.lui a0, 1
	c.srli a0, 3
	c.srai a0, 3
	c.andi a0, 3
	c.sub a0, a1
	c.xor a0, a1
	c.or a0, a1
	c.and a0, a1
	c.subw a0, a1
	c.addw a0, a1
	c.j 3f
	c.beqz a0, 3f
	c.bnez a0, 3f
3:	c.slli a0, 3
	c.fldsp fa0, 8(sp)
	c.lwsp a0, 4(sp)
	c.ldsp a0, 8(sp)
	c.jr a0
	c.jr ra
	c.mv a0, a1
	c.ebreak
	c.jalr a0
	c.add a0, a1
	c.fsdsp fa0, 8(sp)
	c.swsp a0, 4(sp)
	c.sdsp a0, 8(sp)
	.hword 0
	.hword 0
