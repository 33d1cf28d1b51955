/* decode.c - instruction decoding into struct rv_insn. Runs once per distinct encoding (the
 * result is cached by raw bits), so clarity matters more than speed here. Compressed
 * instructions are expanded to their 32-bit equivalents and decoded by the same code. */
#include "emulator/cpu/cpu.h"
#include "emulator/cpu/ops.h"

#include <string.h>

static uint32_t enc_i(uint32_t op, uint32_t rd, uint32_t f3, uint32_t rs1, int32_t imm)
{
	return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t enc_s(uint32_t op, uint32_t f3, uint32_t rs1, uint32_t rs2, int32_t imm)
{
	return (((uint32_t)imm >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | ((uint32_t)imm & 31) << 7 | op;
}

static uint32_t enc_r(uint32_t op, uint32_t rd, uint32_t f3, uint32_t rs1, uint32_t rs2, uint32_t f7)
{
	return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | op;
}

static uint32_t enc_b(uint32_t f3, uint32_t rs1, uint32_t rs2, int32_t imm)
{
	uint32_t u = (uint32_t)imm;
	return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 |
	       ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | 0x63;
}

static uint32_t enc_j(uint32_t rd, int32_t imm)
{
	uint32_t u = (uint32_t)imm;
	return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20 | ((u >> 12) & 0xff) << 12 |
	       rd << 7 | 0x6f;
}

static uint32_t bits(uint32_t v, int hi, int lo)
{
	return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static int32_t sext(uint32_t v, int width)
{
	return (int32_t)(v << (32 - width)) >> (32 - width);
}

/* Returns the 32-bit equivalent of a compressed instruction, or 0 if it is reserved/illegal
 * (0 is itself an illegal 32-bit encoding). */
uint32_t rv_expand_compressed(uint16_t c16)
{
	uint32_t c = c16;
	uint32_t f3 = bits(c, 15, 13);
	uint32_t rd = bits(c, 11, 7), rs2 = bits(c, 6, 2);
	uint32_t rdp = 8 + bits(c, 4, 2), rs1p = 8 + bits(c, 9, 7);
	int32_t imm6 = sext(bits(c, 12, 12) << 5 | bits(c, 6, 2), 6);
	uint32_t u;

	switch (c & 3) {
	case 0:
		switch (f3) {
		case 0: /* c.addi4spn */
			u = bits(c, 12, 11) << 4 | bits(c, 10, 7) << 6 | bits(c, 6, 6) << 2 | bits(c, 5, 5) << 3;
			return u ? enc_i(0x13, rdp, 0, 2, (int32_t)u) : 0;
		case 1: /* c.fld */
			u = bits(c, 12, 10) << 3 | bits(c, 6, 5) << 6;
			return enc_i(0x07, rdp, 3, rs1p, (int32_t)u);
		case 2: /* c.lw */
			u = bits(c, 12, 10) << 3 | bits(c, 6, 6) << 2 | bits(c, 5, 5) << 6;
			return enc_i(0x03, rdp, 2, rs1p, (int32_t)u);
		case 3: /* c.ld */
			u = bits(c, 12, 10) << 3 | bits(c, 6, 5) << 6;
			return enc_i(0x03, rdp, 3, rs1p, (int32_t)u);
		case 5: /* c.fsd */
			u = bits(c, 12, 10) << 3 | bits(c, 6, 5) << 6;
			return enc_s(0x27, 3, rs1p, rdp, (int32_t)u);
		case 6: /* c.sw */
			u = bits(c, 12, 10) << 3 | bits(c, 6, 6) << 2 | bits(c, 5, 5) << 6;
			return enc_s(0x23, 2, rs1p, rdp, (int32_t)u);
		case 7: /* c.sd */
			u = bits(c, 12, 10) << 3 | bits(c, 6, 5) << 6;
			return enc_s(0x23, 3, rs1p, rdp, (int32_t)u);
		default:
			return 0;
		}
	case 1:
		switch (f3) {
		case 0: /* c.addi (c.nop) */
			return enc_i(0x13, rd, 0, rd, imm6);
		case 1: /* c.addiw */
			return rd ? enc_i(0x1b, rd, 0, rd, imm6) : 0;
		case 2: /* c.li */
			return enc_i(0x13, rd, 0, 0, imm6);
		case 3:
			if (rd == 2) { /* c.addi16sp */
				int32_t imm = sext(bits(c, 12, 12) << 9 | bits(c, 6, 6) << 4 | bits(c, 5, 5) << 6 |
							   bits(c, 4, 3) << 7 | bits(c, 2, 2) << 5,
						   10);
				return imm ? enc_i(0x13, 2, 0, 2, imm) : 0;
			}
			/* c.lui */
			if (imm6 == 0)
				return 0;
			return ((uint32_t)imm6 << 12) | rd << 7 | 0x37;
		case 4:
			switch (bits(c, 11, 10)) {
			case 0: /* c.srli */
				return enc_i(0x13, rs1p, 5, rs1p, (int32_t)(bits(c, 12, 12) << 5 | rs2));
			case 1: /* c.srai */
				return enc_i(0x13, rs1p, 5, rs1p, (int32_t)(0x400 | bits(c, 12, 12) << 5 | rs2));
			case 2: /* c.andi */
				return enc_i(0x13, rs1p, 7, rs1p, imm6);
			default: {
				static const uint8_t f3s[4] = { 0, 4, 6, 7 };
				uint32_t sel = bits(c, 6, 5);
				if (!bits(c, 12, 12))
					return enc_r(0x33, rs1p, f3s[sel], rs1p, rdp, sel == 0 ? 0x20 : 0);
				if (sel == 0) /* c.subw */
					return enc_r(0x3b, rs1p, 0, rs1p, rdp, 0x20);
				if (sel == 1) /* c.addw */
					return enc_r(0x3b, rs1p, 0, rs1p, rdp, 0);
				return 0;
			}
			}
		case 5: /* c.j */
			return enc_j(0, sext(bits(c, 12, 12) << 11 | bits(c, 11, 11) << 4 | bits(c, 10, 9) << 8 |
						     bits(c, 8, 8) << 10 | bits(c, 7, 7) << 6 | bits(c, 6, 6) << 7 |
						     bits(c, 5, 3) << 1 | bits(c, 2, 2) << 5,
					     12));
		default: { /* c.beqz / c.bnez */
			int32_t off = sext(bits(c, 12, 12) << 8 | bits(c, 11, 10) << 3 | bits(c, 6, 5) << 6 |
						   bits(c, 4, 3) << 1 | bits(c, 2, 2) << 5,
					   9);
			return enc_b(f3 == 6 ? 0 : 1, rs1p, 0, off);
		}
		}
	case 2:
		switch (f3) {
		case 0: /* c.slli */
			return enc_i(0x13, rd, 1, rd, (int32_t)(bits(c, 12, 12) << 5 | rs2));
		case 1: /* c.fldsp */
			u = bits(c, 12, 12) << 5 | bits(c, 6, 5) << 3 | bits(c, 4, 2) << 6;
			return enc_i(0x07, rd, 3, 2, (int32_t)u);
		case 2: /* c.lwsp */
			u = bits(c, 12, 12) << 5 | bits(c, 6, 4) << 2 | bits(c, 3, 2) << 6;
			return rd ? enc_i(0x03, rd, 2, 2, (int32_t)u) : 0;
		case 3: /* c.ldsp */
			u = bits(c, 12, 12) << 5 | bits(c, 6, 5) << 3 | bits(c, 4, 2) << 6;
			return rd ? enc_i(0x03, rd, 3, 2, (int32_t)u) : 0;
		case 4:
			if (!bits(c, 12, 12)) {
				if (rs2 == 0) /* c.jr */
					return rd ? enc_i(0x67, 0, 0, rd, 0) : 0;
				return enc_r(0x33, rd, 0, 0, rs2, 0); /* c.mv */
			}
			if (rs2 == 0) {
				if (rd == 0)
					return 0x00100073; /* c.ebreak */
				return enc_i(0x67, 1, 0, rd, 0); /* c.jalr */
			}
			return enc_r(0x33, rd, 0, rd, rs2, 0); /* c.add */
		case 5: /* c.fsdsp */
			u = bits(c, 12, 10) << 3 | bits(c, 9, 7) << 6;
			return enc_s(0x27, 3, 2, rs2, (int32_t)u);
		case 6: /* c.swsp */
			u = bits(c, 12, 9) << 2 | bits(c, 8, 7) << 6;
			return enc_s(0x23, 2, 2, rs2, (int32_t)u);
		default: /* c.sdsp */
			u = bits(c, 12, 10) << 3 | bits(c, 9, 7) << 6;
			return enc_s(0x23, 3, 2, rs2, (int32_t)u);
		}
	}
	return 0;
}

/* OP (0x33) register-register forms of the bit-manipulation, Zbkx and Zicond extensions */
static uint16_t decode_op_b(uint32_t f7, uint32_t f3)
{
	static const uint16_t zbc_minmax[8] = { 0, OP_CLMUL, OP_CLMULR, OP_CLMULH, OP_MIN, OP_MINU, OP_MAX, OP_MAXU };
	switch (f7) {
	case 0x05: return zbc_minmax[f3];
	case 0x10: return f3 == 2 ? OP_SH1ADD : f3 == 4 ? OP_SH2ADD : f3 == 6 ? OP_SH3ADD : OP_ILLEGAL;
	case 0x30: return f3 == 1 ? OP_ROL : f3 == 5 ? OP_ROR : OP_ILLEGAL;
	case 0x24: return f3 == 1 ? OP_BCLR : f3 == 5 ? OP_BEXT : OP_ILLEGAL;
	case 0x34: return f3 == 1 ? OP_BINV : OP_ILLEGAL;
	case 0x14: return f3 == 1 ? OP_BSET : f3 == 2 ? OP_XPERM4 : f3 == 4 ? OP_XPERM8 : OP_ILLEGAL;
	case 0x04: return f3 == 4 ? OP_PACK : f3 == 7 ? OP_PACKH : OP_ILLEGAL;
	case 0x07: return f3 == 5 ? OP_CZERO_EQZ : f3 == 7 ? OP_CZERO_NEZ : OP_ILLEGAL;
	default: return OP_ILLEGAL;
	}
}

static void decode32(uint32_t r, struct rv_insn *in)
{
	uint32_t opc = r & 0x7f, f3 = bits(r, 14, 12), f7 = r >> 25;
	int32_t imm_i = (int32_t)r >> 20;
	int32_t imm_s = ((int32_t)r >> 25) * 32 | (int32_t)bits(r, 11, 7);
	int32_t imm_b = sext(bits(r, 31, 31) << 12 | bits(r, 7, 7) << 11 | bits(r, 30, 25) << 5 | bits(r, 11, 8) << 1, 13);
	int32_t imm_j =
		sext(bits(r, 31, 31) << 20 | bits(r, 19, 12) << 12 | bits(r, 20, 20) << 11 | bits(r, 30, 21) << 1, 21);

	in->rd = bits(r, 11, 7);
	in->rs1 = bits(r, 19, 15);
	in->rs2 = bits(r, 24, 20);
	in->rs3 = r >> 27;
	in->rm = f3;
	in->op = OP_ILLEGAL;
	in->imm = 0;

	switch (opc) {
	case 0x37:
		in->op = OP_LUI, in->imm = (int32_t)(r & 0xfffff000);
		break;
	case 0x17:
		in->op = OP_AUIPC, in->imm = (int32_t)(r & 0xfffff000);
		break;
	case 0x6f:
		in->op = OP_JAL, in->imm = imm_j;
		break;
	case 0x67:
		if (f3 == 0)
			in->op = OP_JALR, in->imm = imm_i;
		break;
	case 0x63: {
		static const uint16_t ops[8] = { OP_BEQ, OP_BNE, 0, 0, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU };
		in->op = ops[f3], in->imm = imm_b;
		break;
	}
	case 0x03: {
		static const uint16_t ops[8] = { OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, 0 };
		in->op = ops[f3], in->imm = imm_i;
		break;
	}
	case 0x23: {
		static const uint16_t ops[8] = { OP_SB, OP_SH, OP_SW, OP_SD, 0, 0, 0, 0 };
		in->op = ops[f3], in->imm = imm_s;
		break;
	}
	case 0x13: {
		static const uint16_t ops[8] = { OP_ADDI, 0, OP_SLTI, OP_SLTIU, OP_XORI, 0, OP_ORI, OP_ANDI };
		in->imm = imm_i;
		if (f3 == 1) {
			static const uint16_t unary[8] = { OP_CLZ, OP_CTZ, OP_CPOP, 0, OP_SEXT_B, OP_SEXT_H, 0, 0 };
			uint32_t top = r >> 26;
			in->imm = bits(r, 25, 20);
			if (top == 0)
				in->op = OP_SLLI;
			else if (top == 0x12)
				in->op = OP_BCLRI;
			else if (top == 0x1a)
				in->op = OP_BINVI;
			else if (top == 0x0a)
				in->op = OP_BSETI;
			else if ((r >> 23) == 0xc0) /* 0x600..0x607 in imm[11:0] */
				in->op = unary[bits(r, 22, 20)], in->imm = 0;
		} else if (f3 == 5) {
			uint32_t top = r >> 26, imm12 = r >> 20;
			in->imm = bits(r, 25, 20);
			if (top == 0)
				in->op = OP_SRLI;
			else if (top == 0x10)
				in->op = OP_SRAI;
			else if (top == 0x18)
				in->op = OP_RORI;
			else if (top == 0x12)
				in->op = OP_BEXTI;
			else if (imm12 == 0x287 || imm12 == 0x6b8 || imm12 == 0x687)
				in->op = imm12 == 0x287 ? OP_ORC_B : imm12 == 0x6b8 ? OP_REV8 : OP_BREV8, in->imm = 0;
		} else {
			in->op = ops[f3];
		}
		break;
	}
	case 0x33:
		if (f7 == 0) {
			static const uint16_t ops[8] = { OP_ADD, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_OR, OP_AND };
			in->op = ops[f3];
		} else if (f7 == 0x20) {
			static const uint16_t ops[8] = { OP_SUB, 0, 0, 0, OP_XNOR, OP_SRA, OP_ORN, OP_ANDN };
			in->op = ops[f3];
		} else if (f7 == 1) {
			static const uint16_t ops[8] = { OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU };
			in->op = ops[f3];
		} else {
			in->op = decode_op_b(f7, f3);
		}
		break;
	case 0x1b:
		in->imm = bits(r, 24, 20);
		if (f3 == 0)
			in->op = OP_ADDIW, in->imm = imm_i;
		else if (f3 == 1 && f7 == 0)
			in->op = OP_SLLIW;
		else if (f3 == 1 && (r >> 26) == 0x02)
			in->op = OP_SLLI_UW, in->imm = bits(r, 25, 20);
		else if (f3 == 1 && (r >> 20) >= 0x600 && (r >> 20) <= 0x602)
			in->op = (r >> 20) == 0x600 ? OP_CLZW : (r >> 20) == 0x601 ? OP_CTZW : OP_CPOPW, in->imm = 0;
		else if (f3 == 5 && f7 == 0)
			in->op = OP_SRLIW;
		else if (f3 == 5 && f7 == 0x20)
			in->op = OP_SRAIW;
		else if (f3 == 5 && f7 == 0x30)
			in->op = OP_RORIW;
		break;
	case 0x3b:
		if (f7 == 0)
			in->op = f3 == 0 ? OP_ADDW : f3 == 1 ? OP_SLLW : f3 == 5 ? OP_SRLW : OP_ILLEGAL;
		else if (f7 == 0x20)
			in->op = f3 == 0 ? OP_SUBW : f3 == 5 ? OP_SRAW : OP_ILLEGAL;
		else if (f7 == 1) {
			static const uint16_t ops[8] = { OP_MULW, 0, 0, 0, OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW };
			in->op = ops[f3];
		} else if (f7 == 0x04) { /* zext.h is packw rd, rs1, x0 */
			in->op = f3 == 0 ? OP_ADD_UW : f3 == 4 ? (in->rs2 ? OP_PACKW : OP_ZEXT_H) : OP_ILLEGAL;
		} else if (f7 == 0x10) {
			in->op = f3 == 2 ? OP_SH1ADD_UW : f3 == 4 ? OP_SH2ADD_UW : f3 == 6 ? OP_SH3ADD_UW : OP_ILLEGAL;
		} else if (f7 == 0x30) {
			in->op = f3 == 1 ? OP_ROLW : f3 == 5 ? OP_RORW : OP_ILLEGAL;
		}
		break;
	case 0x0f:
		/* every fence variant (incl. pause, fence.tso) is a no-op for one in-order hart */
		if (f3 == 0)
			in->op = OP_FENCE;
		else if (f3 == 1)
			in->op = OP_FENCE_I;
		else if (f3 == 2 && in->rd == 0 && (r >> 20) <= 4 && (r >> 20) != 3) {
			static const uint16_t ops[5] = { OP_CBO_INVAL, OP_CBO_CLEAN, OP_CBO_FLUSH, 0, OP_CBO_ZERO };
			in->op = ops[r >> 20];
		}
		break;
	case 0x73:
		if (f3 == 0) {
			if (r == 0x00000073)
				in->op = OP_ECALL;
			else if (r == 0x00100073)
				in->op = OP_EBREAK;
			else if (r == 0x30200073)
				in->op = OP_MRET;
			else if (r == 0x10200073)
				in->op = OP_SRET;
			else if (r == 0x10500073)
				in->op = OP_WFI;
			else if (f7 == 0x09 && in->rd == 0)
				in->op = OP_SFENCE_VMA;
			else if (f7 == 0x0b && in->rd == 0)
				in->op = OP_SINVAL_VMA;
			else if (r == 0x18000073)
				in->op = OP_SFENCE_W_INVAL;
			else if (r == 0x18100073)
				in->op = OP_SFENCE_INVAL_IR;
		} else if (f3 != 4) {
			static const uint16_t ops[8] = { 0, OP_CSRRW, OP_CSRRS, OP_CSRRC, 0, OP_CSRRWI, OP_CSRRSI, OP_CSRRCI };
			in->op = ops[f3];
			in->imm = (int32_t)(r >> 20);
		}
		break;
	case 0x2f:
		if (f3 == 2 || f3 == 3) {
			uint32_t f5 = r >> 27;
			switch (f5) {
			case 0x02: /* lr */
				if (in->rs2 != 0)
					break;
				/* fall through */
			case 0x03: case 0x01: case 0x00: case 0x04: case 0x0c: case 0x08:
			case 0x10: case 0x14: case 0x18: case 0x1c:
				in->op = OP_AMO, in->imm = (int32_t)f5;
				break;
			default:
				break;
			}
		}
		break;
	case 0x07:
		if (f3 == 1) /* flh: with the other binary16 instructions (fp16.c) */
			in->op = OP_FP, in->imm = (int32_t)r;
		else if (f3 == 2)
			in->op = OP_FLW, in->imm = imm_i;
		else if (f3 == 3)
			in->op = OP_FLD, in->imm = imm_i;
		break;
	case 0x27:
		if (f3 == 1) /* fsh */
			in->op = OP_FP, in->imm = (int32_t)r;
		else if (f3 == 2)
			in->op = OP_FSW, in->imm = imm_s;
		else if (f3 == 3)
			in->op = OP_FSD, in->imm = imm_s;
		break;
	case 0x43: case 0x47: case 0x4b: case 0x4f: case 0x53:
		in->op = OP_FP, in->imm = (int32_t)r;
		break;
	default:
		break;
	}
}

_Static_assert(OP_COUNT <= 256, "struct rv_insn keeps the op in a byte");

void rv_decode(uint32_t raw, struct rv_insn *in)
{
	if ((raw & 3) != 3) {
		uint32_t full = rv_expand_compressed((uint16_t)raw);
		decode32(full, in);
		if (!full)
			in->op = OP_ILLEGAL;
		in->len = 2;
		in->raw = raw & 0xffff;
		return;
	}
	decode32(raw, in);
	in->len = 4;
	in->raw = raw;
}

/* The extensions that make each optional op legal (any one of them suffices). */
static uint32_t op_needs(unsigned op)
{
	enum { ZBB_KB = RV_EXT_ZBB | RV_EXT_ZBKB, ZBC_KC = RV_EXT_ZBC | RV_EXT_ZBKC };
	static const uint16_t need[OP_COUNT] = {
		[OP_SH1ADD] = RV_EXT_ZBA, [OP_SH2ADD] = RV_EXT_ZBA, [OP_SH3ADD] = RV_EXT_ZBA, [OP_ADD_UW] = RV_EXT_ZBA,
		[OP_SH1ADD_UW] = RV_EXT_ZBA, [OP_SH2ADD_UW] = RV_EXT_ZBA, [OP_SH3ADD_UW] = RV_EXT_ZBA,
		[OP_SLLI_UW] = RV_EXT_ZBA,
		[OP_ANDN] = ZBB_KB, [OP_ORN] = ZBB_KB, [OP_XNOR] = ZBB_KB, [OP_ROL] = ZBB_KB, [OP_ROLW] = ZBB_KB,
		[OP_ROR] = ZBB_KB, [OP_RORW] = ZBB_KB, [OP_RORI] = ZBB_KB, [OP_RORIW] = ZBB_KB, [OP_REV8] = ZBB_KB,
		[OP_ZEXT_H] = ZBB_KB,
		[OP_CLZ] = RV_EXT_ZBB, [OP_CLZW] = RV_EXT_ZBB, [OP_CTZ] = RV_EXT_ZBB, [OP_CTZW] = RV_EXT_ZBB,
		[OP_CPOP] = RV_EXT_ZBB, [OP_CPOPW] = RV_EXT_ZBB, [OP_MAX] = RV_EXT_ZBB, [OP_MAXU] = RV_EXT_ZBB,
		[OP_MIN] = RV_EXT_ZBB, [OP_MINU] = RV_EXT_ZBB, [OP_SEXT_B] = RV_EXT_ZBB, [OP_SEXT_H] = RV_EXT_ZBB,
		[OP_ORC_B] = RV_EXT_ZBB,
		[OP_CLMUL] = ZBC_KC, [OP_CLMULH] = ZBC_KC, [OP_CLMULR] = RV_EXT_ZBC,
		[OP_BCLR] = RV_EXT_ZBS, [OP_BCLRI] = RV_EXT_ZBS, [OP_BEXT] = RV_EXT_ZBS, [OP_BEXTI] = RV_EXT_ZBS,
		[OP_BINV] = RV_EXT_ZBS, [OP_BINVI] = RV_EXT_ZBS, [OP_BSET] = RV_EXT_ZBS, [OP_BSETI] = RV_EXT_ZBS,
		[OP_PACK] = RV_EXT_ZBKB, [OP_PACKH] = RV_EXT_ZBKB, [OP_PACKW] = RV_EXT_ZBKB, [OP_BREV8] = RV_EXT_ZBKB,
		[OP_XPERM4] = RV_EXT_ZBKX, [OP_XPERM8] = RV_EXT_ZBKX,
		[OP_CZERO_EQZ] = RV_EXT_ZICOND, [OP_CZERO_NEZ] = RV_EXT_ZICOND,
		[OP_SINVAL_VMA] = RV_EXT_SVINVAL, [OP_SFENCE_W_INVAL] = RV_EXT_SVINVAL,
		[OP_SFENCE_INVAL_IR] = RV_EXT_SVINVAL,
		[OP_CBO_INVAL] = RV_EXT_ZICBOM, [OP_CBO_CLEAN] = RV_EXT_ZICBOM, [OP_CBO_FLUSH] = RV_EXT_ZICBOM,
		[OP_CBO_ZERO] = RV_EXT_ZICBOZ,
	};
	return op < OP_COUNT ? need[op] : 0;
}

void rv_decode_cpu(const struct rv_cpu *cpu, uint32_t raw, struct rv_insn *in)
{
	rv_decode(raw, in);
	uint32_t need = op_needs(in->op);
	if (need && !(need & cpu->ext))
		in->op = OP_ILLEGAL;
}
