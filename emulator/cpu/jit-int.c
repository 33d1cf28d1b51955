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
	case OP_MUL: x_rr(b, 1, 0x0faf, X_RAX, X_RCX); break; /* imul rax, rcx */
	case OP_MULW:
		x_rr(b, 0, 0x0faf, X_RAX, X_RCX);
		x_movsxd(b, X_RAX, X_RAX);
		break;
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

/* cmov / bit-test opcodes used below */
enum { X_CMOVB = 0x0f42, X_CMOVE = 0x0f44, X_CMOVA = 0x0f47, X_CMOVL = 0x0f4c, X_CMOVG = 0x0f4f };

/* rcx = bit scan of rax (bsr or bsf, 64- or 32-bit), or `none` when rax is zero */
static void emit_bitscan(struct xbuf *b, int w, unsigned op, int32_t none)
{
	x_movi(b, X_RDX, none);
	x_rr(b, w, op, X_RCX, X_RAX);
	x_rr(b, 1, X_CMOVE, X_RCX, X_RDX);
}

/* rax = rax op rcx or op imm for the bit-manipulation ops emitted inline (Zba, Zbb, Zbs,
 * Zicond); false for the rest, which go through a helper. */
bool jit_emit_bitmanip_inline(struct tctx *t, const struct rv_insn *in)
{
	struct xbuf *b = &t->b;
	int32_t imm = in->imm;
	unsigned op = in->op;
	static const uint8_t bt_reg[] = { [OP_BSET] = 0xab, [OP_BCLR] = 0xb3, [OP_BINV] = 0xbb };
	static const uint8_t bt_imm[] = { [OP_BSETI] = 5, [OP_BCLRI] = 6, [OP_BINVI] = 7 };

	switch (op) {
	case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD:
	case OP_ADD_UW: case OP_SH1ADD_UW: case OP_SH2ADD_UW: case OP_SH3ADD_UW:
	case OP_SLLI_UW: case OP_ANDN: case OP_ORN: case OP_XNOR: case OP_MIN: case OP_MAX:
	case OP_MINU: case OP_MAXU: case OP_SEXT_B: case OP_SEXT_H: case OP_ZEXT_H:
	case OP_ROL: case OP_ROR: case OP_ROLW: case OP_RORW: case OP_RORI: case OP_RORIW:
	case OP_CLZ: case OP_CLZW: case OP_CTZ: case OP_CTZW: case OP_REV8:
	case OP_BSET: case OP_BCLR: case OP_BINV: case OP_BEXT:
	case OP_BSETI: case OP_BCLRI: case OP_BINVI: case OP_BEXTI:
	case OP_CZERO_EQZ: case OP_CZERO_NEZ:
		break;
	case OP_CPOP: case OP_CPOPW:
		if (!__builtin_cpu_supports("popcnt"))
			return false;
		break;
	default:
		return false;
	}
	if (in->rd == 0)
		return true;
	jit_load_x(t, X_RAX, in->rs1);
	if (!jit_op_rs2_unused(op)) /* its rs2 field may name a register the block needs */
		jit_load_x(t, X_RCX, in->rs2);
	switch (op) {
	case OP_ADD_UW: case OP_SH1ADD_UW: case OP_SH2ADD_UW: case OP_SH3ADD_UW: case OP_SLLI_UW:
		x_rr(b, 0, 0x8b, X_RAX, X_RAX); /* mov eax, eax: zero-extends */
		break;
	default:
		break;
	}
	switch (op) {
	case OP_SH1ADD: case OP_SH1ADD_UW: x_shi(b, 1, SH_SHL, X_RAX, 1); x_alu(b, 1, ALU_ADD, X_RAX, X_RCX); break;
	case OP_SH2ADD: case OP_SH2ADD_UW: x_shi(b, 1, SH_SHL, X_RAX, 2); x_alu(b, 1, ALU_ADD, X_RAX, X_RCX); break;
	case OP_SH3ADD: case OP_SH3ADD_UW: x_shi(b, 1, SH_SHL, X_RAX, 3); x_alu(b, 1, ALU_ADD, X_RAX, X_RCX); break;
	case OP_ADD_UW: x_alu(b, 1, ALU_ADD, X_RAX, X_RCX); break;
	case OP_SLLI_UW: if (imm) x_shi(b, 1, SH_SHL, X_RAX, imm); break;
	case OP_ANDN: x_rr(b, 1, 0xf7, 2, X_RCX); x_alu(b, 1, ALU_AND, X_RAX, X_RCX); break; /* not rcx */
	case OP_ORN: x_rr(b, 1, 0xf7, 2, X_RCX); x_alu(b, 1, ALU_OR, X_RAX, X_RCX); break;
	case OP_XNOR: x_alu(b, 1, ALU_XOR, X_RAX, X_RCX); x_rr(b, 1, 0xf7, 2, X_RAX); break;
	case OP_MIN: x_alu(b, 1, ALU_CMP, X_RAX, X_RCX); x_rr(b, 1, X_CMOVG, X_RAX, X_RCX); break;
	case OP_MAX: x_alu(b, 1, ALU_CMP, X_RAX, X_RCX); x_rr(b, 1, X_CMOVL, X_RAX, X_RCX); break;
	case OP_MINU: x_alu(b, 1, ALU_CMP, X_RAX, X_RCX); x_rr(b, 1, X_CMOVA, X_RAX, X_RCX); break;
	case OP_MAXU: x_alu(b, 1, ALU_CMP, X_RAX, X_RCX); x_rr(b, 1, X_CMOVB, X_RAX, X_RCX); break;
	case OP_SEXT_B: x_rr(b, 1, 0x0fbe, X_RAX, X_RAX); break; /* movsx rax, al */
	case OP_SEXT_H: x_rr(b, 1, 0x0fbf, X_RAX, X_RAX); break;
	case OP_ZEXT_H: x_rr(b, 0, 0x0fb7, X_RAX, X_RAX); break; /* movzx eax, ax */
	case OP_ROL: x_shcl(b, 1, 0, X_RAX); break; /* rol rax, cl (count masked to 6 bits) */
	case OP_ROR: x_shcl(b, 1, 1, X_RAX); break;
	case OP_ROLW: x_shcl(b, 0, 0, X_RAX); x_movsxd(b, X_RAX, X_RAX); break;
	case OP_RORW: x_shcl(b, 0, 1, X_RAX); x_movsxd(b, X_RAX, X_RAX); break;
	case OP_RORI: x_shi(b, 1, 1, X_RAX, imm); break;
	case OP_RORIW: x_shi(b, 0, 1, X_RAX, imm); x_movsxd(b, X_RAX, X_RAX); break;
	case OP_CLZ: case OP_CLZW: { /* (width - 1) - bsr, and bsr of 0 taken as -1 */
		int w = op == OP_CLZ;
		emit_bitscan(b, w, 0x0fbd, -1);
		x_movi(b, X_RAX, w ? 63 : 31);
		x_alu(b, 1, ALU_SUB, X_RAX, X_RCX);
		break;
	}
	case OP_CTZ: case OP_CTZW:
		emit_bitscan(b, op == OP_CTZ, 0x0fbc, op == OP_CTZ ? 64 : 32);
		x_mov(b, X_RAX, X_RCX);
		break;
	case OP_CPOP: case OP_CPOPW:
		if (op == OP_CPOPW)
			x_rr(b, 0, 0x8b, X_RAX, X_RAX);
		x_b(b, 0xf3);
		x_rr(b, 1, 0x0fb8, X_RAX, X_RAX); /* popcnt rax, rax */
		break;
	case OP_REV8: x_b(b, 0x48); x_b(b, 0x0f); x_b(b, 0xc8); break; /* bswap rax */
	case OP_BSET: case OP_BCLR: case OP_BINV: /* bts/btr/btc rax, rcx: the count taken mod 64 */
		x_rr(b, 1, 0x0f00u | bt_reg[op], X_RCX, X_RAX);
		break;
	case OP_BEXT:
		x_rr(b, 1, 0x0fa3, X_RCX, X_RAX); /* bt rax, rcx */
		x_setcc(b, CC_B, X_RAX);
		break;
	case OP_BSETI: case OP_BCLRI: case OP_BINVI:
		x_rr(b, 1, 0x0fba, bt_imm[op], X_RAX);
		x_b(b, (uint8_t)imm);
		break;
	case OP_BEXTI:
		if (imm)
			x_shi(b, 1, SH_SHR, X_RAX, imm);
		x_alui(b, 0, ALU_AND, X_RAX, 1);
		break;
	default: /* czero.eqz / czero.nez: rax = 0 when rcx is (not) zero */
		x_rr(b, 0, 0x33, X_RDX, X_RDX);
		x_rr(b, 1, 0x85, X_RCX, X_RCX);
		x_rr(b, 1, op == OP_CZERO_EQZ ? X_CMOVE : 0x0f45, X_RAX, X_RDX);
		break;
	}
	jit_store_x(t, in->rd, X_RAX);
	return true;
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
