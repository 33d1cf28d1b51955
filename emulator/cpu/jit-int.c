/* jit-int.c - integer, multiply/divide and bit-manipulation instructions (jit-priv.h). */
#include "emulator/cpu/jit-priv.h"
#include "emulator/cpu/bitmanip.h"
#include "emulator/cpu/ops.h"

#if defined(__x86_64__)

/* rd = fn(x[rs1], x[rs2]) through a C helper (pure: reads no guest state) */
void jit_emit_call2(struct tctx *t, const struct rv_insn *in, uint64_t (*fn)(uint64_t, uint64_t))
{
	jit_load_x(t, X_RDX, in->rs1);
	jit_load_x(t, X_RCX, in->rs2);
	unsigned saved = jit_push_callers(t);
	x_mov(&t->b, X_RDI, X_RDX);
	x_mov(&t->b, X_RSI, X_RCX);
	x_call_abs(&t->b, (const void *)fn);
	jit_pop_callers(t, saved);
	jit_store_x(t, in->rd, X_RAX);
}

/* Integer register-register and register-immediate operations. Returns false for an op
 * this function does not handle. */
bool jit_emit_alu(struct tctx *t, const struct rv_insn *in)
{
	struct xbuf *b = &t->b;
	int32_t imm = in->imm;
	int w = 1, alu = -1, sh = -1, sext = 0;
	bool use_imm = false, shift_imm = false;

	switch (in->op) {
	case OP_ADDI: alu = ALU_ADD; use_imm = true; break;
	case OP_XORI: alu = ALU_XOR; use_imm = true; break;
	case OP_ORI: alu = ALU_OR; use_imm = true; break;
	case OP_ANDI: alu = ALU_AND; use_imm = true; break;
	case OP_ADD: alu = ALU_ADD; break;
	case OP_SUB: alu = ALU_SUB; break;
	case OP_XOR: alu = ALU_XOR; break;
	case OP_OR: alu = ALU_OR; break;
	case OP_AND: alu = ALU_AND; break;
	case OP_ADDIW: alu = ALU_ADD; use_imm = true; w = 0; sext = 1; break;
	case OP_ADDW: alu = ALU_ADD; w = 0; sext = 1; break;
	case OP_SUBW: alu = ALU_SUB; w = 0; sext = 1; break;
	case OP_SLLI: sh = SH_SHL; shift_imm = true; break;
	case OP_SRLI: sh = SH_SHR; shift_imm = true; break;
	case OP_SRAI: sh = SH_SAR; shift_imm = true; break;
	case OP_SLLIW: sh = SH_SHL; shift_imm = true; w = 0; sext = 1; break;
	case OP_SRLIW: sh = SH_SHR; shift_imm = true; w = 0; sext = 1; break;
	case OP_SRAIW: sh = SH_SAR; shift_imm = true; w = 0; sext = 1; break;
	case OP_SLL: sh = SH_SHL; break;
	case OP_SRL: sh = SH_SHR; break;
	case OP_SRA: sh = SH_SAR; break;
	case OP_SLLW: sh = SH_SHL; w = 0; sext = 1; break;
	case OP_SRLW: sh = SH_SHR; w = 0; sext = 1; break;
	case OP_SRAW: sh = SH_SAR; w = 0; sext = 1; break;
	default: return false;
	}
	if (in->rd == 0)
		return true; /* a hint or nop: no effect */
	struct rcache *rc = &t->rc;
	uint32_t bit = 1u << in->rd;
	if (alu >= 0 && use_imm && in->rs1 == 0) { /* li: 0 op imm */
		x_movi(b, jit_rc_def(t, in->rd), alu == ALU_AND ? 0 : imm);
		rc->sx |= bit;
		return true;
	}
	if (alu == ALU_ADD && use_imm && w) { /* addi, mv: one lea or mov */
		if (imm == 0) { /* a copy keeps what is known of the value */
			uint32_t sx = rc->sx >> in->rs1 & 1, lazy = rc->lazy >> in->rs1 & 1;
			int h1 = jit_rc_get_low(t, in->rs1), hd = jit_rc_def(t, in->rd);
			if (hd != h1)
				x_mov(b, hd, h1);
			rc->sx |= sx ? bit : 0;
			rc->lazy |= lazy ? bit : 0;
			return true;
		}
		int h1 = jit_rc_get(t, in->rs1), hd = jit_rc_def(t, in->rd);
		x_lea(b, hd, h1, imm);
		return true;
	}
	if (alu == ALU_ADD && use_imm && imm == 0) { /* sext.w */
		int h1 = jit_rc_get_low(t, in->rs1);
		x_movsxd(b, jit_rc_def(t, in->rd), h1);
		rc->sx |= bit;
		return true;
	}
	if (!use_imm && !shift_imm && w && (alu == ALU_ADD || alu == ALU_OR || alu == ALU_XOR) &&
	    (in->rs1 == 0 || in->rs2 == 0)) { /* mv (c.mv is add rd, x0, rs2) */
		int h = jit_src_x(t, in->rs1 ? in->rs1 : in->rs2, X_RAX), hd = jit_rc_def(t, in->rd);
		x_mov(b, hd, h);
		return true;
	}
	/* W ops read the low 32 bits of their sources and leave their result lazy; bitwise
	 * ops on sign-extended values give a sign-extended value, lazy if a source is */
	bool bitwise = alu == ALU_AND || alu == ALU_OR || alu == ALU_XOR;
	bool sx1 = in->rs1 == 0 || (rc->sx >> in->rs1 & 1);
	bool sx2 = use_imm || in->rs2 == 0 || (rc->sx >> in->rs2 & 1);
	bool low = sext || (bitwise && sx1 && sx2);
	bool lazy_in = (rc->lazy >> in->rs1 & 1) || (!use_imm && (rc->lazy >> in->rs2 & 1));
	/* A source read again later than every cached register is read from memory (m1, m2)
	 * instead of taking a slot. */
	bool reg2 = !use_imm && !shift_imm;
	bool m2 = reg2 && alu >= 0 && in->rs2 != 0 && in->rs2 != in->rs1 && jit_rc_mem_ok(t, in->rs2);
	bool m1 = in->rs1 != 0 && in->rs1 != in->rd && !(reg2 && (in->rs2 == in->rd || in->rs2 == in->rs1)) &&
		  jit_rc_mem_ok(t, in->rs1);
	/* hd = h1 op h2 (or imm): in place when rd is rs1 or a register neither source is in,
	 * else through rax */
	int h1 = -1, h2 = -1;
	if (!m1)
		h1 = low ? jit_src_x_low(t, in->rs1, X_RAX) : jit_src_x(t, in->rs1, X_RAX);
	if (reg2 && !m2)
		h2 = low ? jit_src_x_low(t, in->rs2, X_RCX) : jit_src_x(t, in->rs2, X_RCX);
	int hd = jit_rc_def(t, in->rd), r = hd;
	if (sext)
		rc->sx |= bit, rc->lazy |= bit;
	else if (low)
		rc->sx |= bit, rc->lazy |= lazy_in ? bit : 0;
	if (m1)
		x_load64(b, r, X_RBX, XREG(in->rs1));
	else if (hd == h2 && hd != h1) {
		if (alu >= 0 && alu != ALU_SUB) { /* commutative: hd op= h1 */
			x_alu(b, w, alu, hd, h1);
			return true;
		}
		r = X_RAX;
	}
	if (!m1 && r != h1)
		x_mov(b, r, h1);
	if (alu >= 0 && use_imm) {
		if (imm != 0 || !w || alu == ALU_AND) /* x + 0, x | 0, x ^ 0 are x */
			x_alui(b, w, alu, r, imm);
	} else if (alu >= 0 && m2) {
		x_rm(b, w, (unsigned)(alu * 8 + 3), r, X_RBX, XREG(in->rs2)); /* op r, [x[rs2]] */
	} else if (alu >= 0) {
		x_alu(b, w, alu, r, h2);
	} else if (shift_imm) {
		x_shi(b, w, sh, r, imm);
	} else {
		if (h2 != X_RCX)
			x_mov(b, X_RCX, h2);
		x_shcl(b, w, sh, r); /* the host masks the count as RISC-V does */
	}
	if (r != hd)
		x_mov(b, hd, r);
	return true;
}

void jit_emit_compare(struct tctx *t, const struct rv_insn *in)
{
	struct xbuf *b = &t->b;
	if (in->rd == 0)
		return;
	jit_load_x(t, X_RAX, in->rs1);
	if (in->op == OP_SLTI || in->op == OP_SLTIU)
		x_alui(b, 1, ALU_CMP, X_RAX, in->imm);
	else {
		jit_load_x(t, X_RCX, in->rs2);
		x_alu(b, 1, ALU_CMP, X_RAX, X_RCX);
	}
	x_setcc(b, (in->op == OP_SLT || in->op == OP_SLTI) ? CC_L : CC_B, X_RAX);
	jit_store_x(t, in->rd, X_RAX);
}

void jit_emit_mul(struct tctx *t, const struct rv_insn *in)
{
	struct xbuf *b = &t->b;
	jit_load_x(t, X_RAX, in->rs1);
	jit_load_x(t, X_RCX, in->rs2);
	switch (in->op) {
	case OP_MULH: /* imul rcx: rdx:rax = rax * rcx (signed) */
		x_rr(b, 1, 0xf7, 5, X_RCX);
		x_mov(b, X_RAX, X_RDX);
		break;
	default: /* MULHU: mul rcx */
		x_rr(b, 1, 0xf7, 4, X_RCX);
		x_mov(b, X_RAX, X_RDX);
		break;
	}
	jit_store_x(t, in->rd, X_RAX);
}

uint64_t (*jit_bitmanip_helper(unsigned op))(uint64_t, uint64_t)
{
	switch (op) {
	case OP_CPOP: return rv_cpop64;
	case OP_CPOPW: return rv_cpop32;
	case OP_ORC_B: return rv_orc_b;
	case OP_BREV8: return rv_brev8;
	case OP_CLMUL: return rv_clmul;
	case OP_CLMULH: return rv_clmulh;
	case OP_CLMULR: return rv_clmulr;
	case OP_XPERM4: return rv_xperm4;
	case OP_XPERM8: return rv_xperm8;
	case OP_PACK: return rv_pack;
	case OP_PACKH: return rv_packh;
	case OP_PACKW: return rv_packw;
	default: return NULL;
	}
}
#endif
