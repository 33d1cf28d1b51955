/* Executes every RV64C instruction (c.ebreak is in priv/traps) and stores the
 * resulting register values: void rvc_run(uint64_t out[64], uint64_t scratch[8]). */
	.option rvc
	.text
	.globl rvc_run
rvc_run:
	addi	sp, sp, -64
	sd	s0, 0(sp)
	sd	s1, 8(sp)
	sd	ra, 16(sp)
	mv	s0, a0
	mv	s1, a1
	c.li	a2, -7
	c.sd	a2, 0(s1)
	c.addi	a2, 31
	c.sd	a2, 0(s0)
	c.lui	a3, 0x1f
	c.sd	a3, 8(s0)
	c.lui	a4, 0xfffe1
	c.sd	a4, 16(s0)
	c.addiw	a4, 5
	c.sd	a4, 24(s0)
	c.li	a5, -1
	c.srli	a5, 3
	c.sd	a5, 32(s0)
	c.li	a5, -16
	c.srai	a5, 2
	c.sd	a5, 40(s0)
	c.li	a3, 27
	c.andi	a3, -6
	c.sd	a3, 48(s0)
	li	a2, 0x123456789
	li	a3, 0x0fedcba98
	mv	a4, a2
	c.sub	a4, a3
	c.sd	a4, 56(s0)
	mv	a4, a2
	c.xor	a4, a3
	c.sd	a4, 64(s0)
	mv	a4, a2
	c.or	a4, a3
	c.sd	a4, 72(s0)
	mv	a4, a2
	c.and	a4, a3
	c.sd	a4, 80(s0)
	mv	a4, a2
	c.subw	a4, a3
	c.sd	a4, 88(s0)
	mv	a4, a2
	c.addw	a4, a3
	c.sd	a4, 96(s0)
	c.addi4spn a4, sp, 24
	sub	a4, a4, sp
	c.sd	a4, 104(s0)
	mv	a5, sp
	c.addi16sp sp, -96
	sub	a5, a5, sp
	c.addi16sp sp, 96
	c.sd	a5, 112(s0)
	c.lw	a4, 0(s1)
	c.sd	a4, 120(s0)
	c.ld	a4, 0(s1)
	c.sd	a4, 128(s0)
	li	a4, 0x1234abcd
	c.sw	a4, 8(s1)
	c.ld	a5, 8(s1)
	c.sd	a5, 136(s0)
	li	a4, 0x4000000000000000	/* 2.0 */
	c.sd	a4, 16(s1)
	c.fld	fa0, 16(s1)
	c.fsd	fa0, 24(s1)
	c.ld	a5, 24(s1)
	c.sd	a5, 144(s0)
	li	a5, 3
	c.slli	a5, 13
	c.sd	a5, 152(s0)
	li	a4, 0x55aa
	c.sdsp	a4, 32(sp)
	c.swsp	a4, 40(sp)
	c.ldsp	a5, 32(sp)
	c.sd	a5, 160(s0)
	c.lwsp	a5, 40(sp)
	c.sd	a5, 168(s0)
	c.fsdsp	fa0, 48(sp)
	c.fldsp	fa1, 48(sp)
	fmv.x.d	a5, fa1
	c.sd	a5, 176(s0)
	c.mv	a5, a2
	c.add	a5, a3
	c.sd	a5, 184(s0)
	/* control flow: a2 counts the paths taken */
	c.li	a2, 0
	c.li	a3, 0
	c.beqz	a3, 1f
	c.addi	a2, 1
1:	c.bnez	a3, 2f
	c.addi	a2, 2
2:	c.li	a3, 1
	c.beqz	a3, 3f
	c.addi	a2, 4
3:	c.bnez	a3, 4f
	c.addi	a2, 8
4:	c.j	5f
	c.addi	a2, 16
5:	la	a5, 6f
	c.jalr	a5
	c.addi	a2, 10
	c.sd	a2, 192(s0)
	c.nop
	la	a5, 7f
	c.jr	a5
	c.addi	a2, 16
7:	c.sd	a2, 200(s0)
	ld	s0, 0(sp)
	ld	s1, 8(sp)
	ld	ra, 16(sp)
	addi	sp, sp, 64
	ret
6:	c.addi	a2, 20
	c.jr	ra
