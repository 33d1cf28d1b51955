/* jit-zb.c - Zba/Zbb/Zbs/Zicond ops and mul/mulw computed straight in the cached registers
 * (jit-priv.h): no round trip of the sources and the result through rax and rcx. */
#include "emulator/cpu/jit-priv.h"
#include "emulator/cpu/ops.h"

#if defined(__x86_64__)

#include <cpuid.h>
#include <stdatomic.h>

/* The host features the forms below need, from cpuid once (clang's __builtin_cpu_supports
 * knows no "lzcnt"; cpuid itself traps to the hypervisor in a VM): lzcnt (ABM: leaf
 * 0x80000001 ecx bit 5), andn/tzcnt (BMI1: leaf 7 ebx bit 3), popcnt (leaf 1 ecx bit 23). */
enum { HAVE_LZCNT = 1, HAVE_BMI1 = 2, HAVE_POPCNT = 4 };
static unsigned host_features(void)
{
	static _Atomic int cached = -1; /* harts compile in parallel: all compute the same */
	int f = atomic_load_explicit(&cached, memory_order_relaxed);
	if (f < 0) {
		unsigned a, b, c, d;
		f = 0;
		if (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c >> 5 & 1))
			f |= HAVE_LZCNT;
		if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 3 & 1))
			f |= HAVE_BMI1;
		if (__get_cpuid(1, &a, &b, &c, &d) && (c >> 23 & 1))
			f |= HAVE_POPCNT;
		atomic_store_explicit(&cached, f, memory_order_relaxed);
	}
	return (unsigned)f;
}
static bool have_lzcnt(void) { return host_features() & HAVE_LZCNT; }
static bool have_bmi1(void) { return host_features() & HAVE_BMI1; }
static bool have_popcnt(void) { return host_features() & HAVE_POPCNT; }

/* lea dst, [base + index * scale] */
static void x_lea_sib(struct xbuf *b, int dst, int base, int index, int scale)
{
	static const uint8_t ss[9] = { [1] = 0, [2] = 1, [4] = 2, [8] = 3 };
	bool disp8 = (base & 7) == X_RBP; /* mod 00 with base rbp/r13 means disp32, no base */
	x_b(b, (uint8_t)(0x48 | (dst >> 3) << 2 | (index >> 3) << 1 | (base >> 3)));
	x_b(b, 0x8d);
	x_b(b, (uint8_t)((disp8 ? 0x44 : 0x04) | (dst & 7) << 3));
	x_b(b, (uint8_t)(ss[scale] << 6 | (index & 7) << 3 | (base & 7)));
	if (disp8)
		x_b(b, 0);
}

/* andn dst, src1, src2 (BMI1): dst = ~src1 & src2 */
static void x_andn(struct xbuf *b, int dst, int src1, int src2)
{
	x_b(b, 0xc4);
	x_b(b, (uint8_t)((~dst >> 3 & 1) << 7 | 1 << 6 | (~src2 >> 3 & 1) << 5 | 0x02));
	x_b(b, (uint8_t)(0x80 | (~src1 & 15) << 3));
	x_b(b, 0xf2);
	x_b(b, (uint8_t)(0xc0 | (dst & 7) << 3 | (src2 & 7)));
}

/* F3-prefixed op dst, src (lzcnt, tzcnt, popcnt) */
static void x_f3rr(struct xbuf *b, int w, unsigned op, int dst, int src)
{
	x_b(b, 0xf3);
	x_rr(b, w, op, dst, src);
}

/* Does this op have a form in jit_emit_zb on this host? */
static bool zb_direct(unsigned op)
{
	switch (op) {
	case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD: case OP_ADD_UW: case OP_SH1ADD_UW:
	case OP_SH2ADD_UW: case OP_SH3ADD_UW: case OP_SLLI_UW: case OP_ANDN: case OP_ORN:
	case OP_XNOR: case OP_MIN: case OP_MAX: case OP_MINU: case OP_MAXU: case OP_SEXT_B:
	case OP_SEXT_H: case OP_ZEXT_H: case OP_ROL: case OP_ROR: case OP_ROLW: case OP_RORW:
	case OP_RORI: case OP_RORIW: case OP_REV8: case OP_BSET: case OP_BCLR: case OP_BINV:
	case OP_BEXT: case OP_BSETI: case OP_BCLRI: case OP_BINVI: case OP_BEXTI:
	case OP_CZERO_EQZ: case OP_CZERO_NEZ: case OP_MUL: case OP_MULW:
		return true;
	case OP_CLZ: case OP_CLZW: case OP_CTZ: case OP_CTZW: /* lzcnt/tzcnt, else bsr/bsf */
		return true;
	case OP_CPOP: case OP_CPOPW:
		return have_popcnt();
	default:
		return false;
	}
}

enum { X_CMOVB = 0x0f42, X_CMOVE = 0x0f44, X_CMOVNE = 0x0f45, X_CMOVA = 0x0f47, X_CMOVL = 0x0f4c,
       X_CMOVG = 0x0f4f };

/* Without lzcnt/tzcnt: hd = clz or ctz of h1 through bsr/bsf, which leave a zero source's
 * result undefined (rcx = the scan, or `none` for zero; rdx and rax scratch). */
static void emit_bitscan(struct xbuf *b, unsigned op, int hd, int h1)
{
	int w = op == OP_CLZ || op == OP_CTZ;
	bool clz = op == OP_CLZ || op == OP_CLZW;
	x_movi(b, X_RDX, clz ? -1 : w ? 64 : 32);
	x_rr(b, w, clz ? 0x0fbd : 0x0fbc, X_RCX, h1);
	x_rr(b, 1, X_CMOVE, X_RCX, X_RDX);
	if (clz) { /* (width - 1) - bsr, bsr of 0 taken as -1 */
		x_movi(b, X_RAX, w ? 63 : 31);
		x_alu(b, 1, ALU_SUB, X_RAX, X_RCX);
		x_mov(b, hd, X_RAX);
	} else {
		x_mov(b, hd, X_RCX);
	}
}

/* hd = op(h1, imm), one source (h1 may be hd) */
static void emit_unary(struct xbuf *b, unsigned op, int hd, int h1, int32_t imm)
{
	static const uint8_t bt_imm[] = { [OP_BSETI] = 5, [OP_BCLRI] = 6, [OP_BINVI] = 7 };
	if (((op == OP_CLZ || op == OP_CLZW) && !have_lzcnt()) ||
	    ((op == OP_CTZ || op == OP_CTZW) && !have_bmi1())) {
		emit_bitscan(b, op, hd, h1);
		return;
	}
	switch (op) {
	case OP_SEXT_B: x_rr(b, 1, 0x0fbe, hd, h1); return; /* movsx hd, h1b (REX: sil, dil) */
	case OP_SEXT_H: x_rr(b, 1, 0x0fbf, hd, h1); return;
	case OP_ZEXT_H: x_rr(b, 0, 0x0fb7, hd, h1); return;
	case OP_CLZ: x_f3rr(b, 1, 0x0fbd, hd, h1); return; /* lzcnt: 64 for 0 */
	case OP_CLZW: x_f3rr(b, 0, 0x0fbd, hd, h1); return;
	case OP_CTZ: x_f3rr(b, 1, 0x0fbc, hd, h1); return; /* tzcnt */
	case OP_CTZW: x_f3rr(b, 0, 0x0fbc, hd, h1); return;
	case OP_CPOP: x_f3rr(b, 1, 0x0fb8, hd, h1); return; /* popcnt */
	case OP_CPOPW: x_f3rr(b, 0, 0x0fb8, hd, h1); return;
	case OP_SLLI_UW:
		x_rr(b, 0, 0x8b, hd, h1); /* mov hd32, h1_32: zero-extends */
		if (imm)
			x_shi(b, 1, SH_SHL, hd, imm);
		return;
	default:
		break;
	}
	if (hd != h1)
		x_mov(b, hd, h1);
	switch (op) {
	case OP_RORI: x_shi(b, 1, SH_ROR, hd, imm); break;
	case OP_RORIW: x_shi(b, 0, SH_ROR, hd, imm); x_movsxd(b, hd, hd); break;
	case OP_REV8: x_b(b, (uint8_t)(0x48 | hd >> 3)); x_b(b, 0x0f); x_b(b, (uint8_t)(0xc8 | (hd & 7))); break;
	case OP_BEXTI:
		if (imm)
			x_shi(b, 1, SH_SHR, hd, imm);
		x_alui(b, 0, ALU_AND, hd, 1);
		break;
	default: /* bseti, bclri, binvi: bts/btr/btc hd, imm */
		x_rr(b, 1, 0x0fba, bt_imm[op], hd);
		x_b(b, (uint8_t)imm);
		break;
	}
}

/* hd = op(h1, h2); h2 is not hd unless h1 is too (the caller copies it to rcx) */
static void emit_binary(struct xbuf *b, unsigned op, int hd, int h1, int h2)
{
	static const uint8_t bt_reg[] = { [OP_BSET] = 0xab, [OP_BCLR] = 0xb3, [OP_BINV] = 0xbb };
	static const uint16_t cmov[] = { [OP_MIN] = X_CMOVG, [OP_MAX] = X_CMOVL, [OP_MINU] = X_CMOVA,
					 [OP_MAXU] = X_CMOVB };
	switch (op) {
	case OP_SH1ADD: case OP_SH2ADD: case OP_SH3ADD:
		x_lea_sib(b, hd, h2, h1, 1 << (op - OP_SH1ADD + 1));
		return;
	case OP_ADD_UW: case OP_SH1ADD_UW: case OP_SH2ADD_UW: case OP_SH3ADD_UW:
		x_rr(b, 0, 0x8b, X_RAX, h1); /* mov eax, h1_32 */
		x_lea_sib(b, hd, h2, X_RAX, op == OP_ADD_UW ? 1 : 1 << (op - OP_SH1ADD_UW + 1));
		return;
	case OP_ANDN:
		if (have_bmi1()) {
			x_andn(b, hd, h2, h1);
			return;
		}
		/* fall through */
	case OP_ORN:
		x_mov(b, X_RCX, h2);
		x_rr(b, 1, 0xf7, 2, X_RCX); /* not rcx */
		if (hd != h1)
			x_mov(b, hd, h1);
		x_alu(b, 1, op == OP_ANDN ? ALU_AND : ALU_OR, hd, X_RCX);
		return;
	case OP_BEXT: /* bt h1, h2 (the index taken mod 64); setc */
		x_rr(b, 1, 0x0fa3, h2, h1);
		x_setcc(b, CC_B, X_RAX);
		x_mov(b, hd, X_RAX);
		return;
	case OP_CZERO_EQZ: case OP_CZERO_NEZ: /* hd = 0 when h2 is (not) zero, else h1 */
		x_rr(b, 0, 0x33, X_RAX, X_RAX);
		if (hd != h1)
			x_mov(b, hd, h1);
		x_rr(b, 1, 0x85, h2, h2);
		x_rr(b, 1, op == OP_CZERO_EQZ ? X_CMOVE : X_CMOVNE, hd, X_RAX);
		return;
	default:
		break;
	}
	bool by_cl = op == OP_ROL || op == OP_ROR || op == OP_ROLW || op == OP_RORW;
	if (by_cl && h2 != X_RCX)
		x_mov(b, X_RCX, h2);
	if (hd != h1)
		x_mov(b, hd, h1);
	switch (op) {
	case OP_XNOR: x_alu(b, 1, ALU_XOR, hd, h2); x_rr(b, 1, 0xf7, 2, hd); break;
	case OP_MIN: case OP_MAX: case OP_MINU: case OP_MAXU:
		x_alu(b, 1, ALU_CMP, hd, h2);
		x_rr(b, 1, cmov[op], hd, h2);
		break;
	case OP_ROL: x_shcl(b, 1, 0, hd); break; /* the count masked to 6 bits, as RISC-V does */
	case OP_ROR: x_shcl(b, 1, SH_ROR, hd); break;
	case OP_ROLW: x_shcl(b, 0, 0, hd); x_movsxd(b, hd, hd); break;
	case OP_RORW: x_shcl(b, 0, SH_ROR, hd); x_movsxd(b, hd, hd); break;
	case OP_MUL: x_rr(b, 1, 0x0faf, hd, h2); break; /* imul hd, h2 */
	case OP_MULW: x_rr(b, 0, 0x0faf, hd, h2); break; /* the caller marks it lazy */
	default: x_rr(b, 1, 0x0f00u | bt_reg[op], h2, hd); break; /* bts/btr/btc hd, h2 */
	}
}

/* Zb ops emitted in place stay in the block and let no C code run (jit_stays_in_block). */
bool jit_zb_in_block(unsigned op)
{
	return zb_direct(op);
}

/* Emits a Zb/Zicond op or mul/mulw in place; false when this host has no form for it. */
bool jit_emit_zb(struct tctx *t, const struct rv_insn *in)
{
	if (!zb_direct(in->op))
		return false;
	if (in->rd == 0)
		return true;
	bool unary = jit_op_rs2_unused(in->op);
	int h1 = jit_src_x(t, in->rs1, X_RAX);
	int h2 = unary ? -1 : jit_src_x(t, in->rs2, X_RCX);
	if (h1 == X_RAX && !unary) { /* x0: keep rax free for the forms that use it */
		x_rr(&t->b, 0, 0x33, X_RDX, X_RDX);
		h1 = X_RDX;
	}
	int hd = jit_rc_def(t, in->rd);
	if (unary) {
		emit_unary(&t->b, in->op, hd, h1, in->imm);
		return true;
	}
	/* lea and andn read both sources before writing; the others write hd = h1 first */
	bool reads_first = (in->op >= OP_SH1ADD && in->op <= OP_SH3ADD_UW) || (in->op == OP_ANDN && have_bmi1());
	if (hd == h2 && h2 != h1 && !reads_first) { /* the result would overwrite rs2 first */
		x_mov(&t->b, X_RCX, h2);
		h2 = X_RCX;
	}
	emit_binary(&t->b, in->op, hd, h1, h2);
	if (in->op == OP_MULW)
		t->rc.sx |= 1u << in->rd, t->rc.lazy |= 1u << in->rd;
	return true;
}
#endif
