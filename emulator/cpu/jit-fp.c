/* jit-fp.c - F/D arithmetic: inline SSE/FMA where the host rounds as RISC-V does, else a
 * call of rv_exec_fp (jit-priv.h). */
#include "emulator/cpu/jit-priv.h"
#include "emulator/cpu/fpu.h"
#include "emulator/cpu/ops.h"

#include <xmmintrin.h>

#if defined(__x86_64__)

/* Any other F/D instruction: rv_exec_fp() on its decoded slot, a trap ends the block. */
void jit_emit_fp_helper(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	jit_set_pc(t, off); /* the epc if it traps */
	jit_rc_emit_writeback(t); /* it may read any x register, and a trap leaves the block */
	t->rc.dirty = 0;
	unsigned saved = jit_push_callers(t);
	x_mov(b, X_RDI, X_RBX);
	x_movi(b, X_RSI, (int64_t)(uintptr_t)in);
	x_call_abs(b, (const void *)rv_exec_fp);
	jit_pop_callers(t, saved);
	if (in->rd == 0) { /* an integer result written to x0 (feq x0, ...) must not stick */
		x_rm(b, 1, 0xc7, 0, X_RBX, XREG(0));
		x_b4(b, 0);
	} else if (t->rc.slot_of[in->rd] >= 0) { /* x[rd] may have been written */
		jit_rc_unmap(&t->rc, t->rc.slot_of[in->rd]);
	}
	x_rr(b, 0, 0x85, X_RAX, X_RAX);
	uint8_t *ok = x_jcc(b, CC_E);
	/* trapped: cpu->pc is the trap vector, which the interpreter takes from here (a side
	 * exit, so a trap loop still uses up the budget) */
	jit_emit_return(t, count, 1);
	x_patch(b, ok, b->p);
}

/* F/D add, sub, mul, div, sqrt and the fused multiply-adds in SSE (FMA3), where the
 * host's result equals RISC-V's: round to nearest even (static, or dynamic with frm = RNE),
 * FS on, single-precision inputs NaN-boxed, no exception (none at all while fflags.NX is
 * clear, read from MXCSR; with NX set, none but inexact, read from the result's exponent)
 * and a result that is not a NaN (the host would not give the canonical NaN). Anything else
 * clears the host's flags and goes through rv_exec_fp, which computes the result and
 * fflags from scratch. Returns false for the instructions not handled. */
bool jit_emit_fp_inline(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	static const uint8_t fma_op[4] = { 0xa9, 0xab, 0xad, 0xaf }; /* vf(n)madd/msub213 */
	struct xbuf *b = &t->b;
	uint32_t r = (uint32_t)in->imm;
	unsigned opc = r & 0x7f, f7 = r >> 25, sse = 0, dbl;
	bool fma = opc == 0x43 || opc == 0x47 || opc == 0x4b || opc == 0x4f;
	if (fma) {
		dbl = f7 & 3;
		if (dbl > 1 || !__builtin_cpu_supports("avx") || !__builtin_cpu_supports("fma"))
			return false;
	} else if (opc == 0x53) {
		dbl = f7 & 1;
		switch (f7 & ~1u) {
		case 0x00: sse = 0x58; break; /* add */
		case 0x04: sse = 0x5c; break; /* sub */
		case 0x08: sse = 0x59; break; /* mul */
		case 0x0c: sse = 0x5e; break; /* div */
		case 0x2c: sse = 0x51; if (in->rs2) return false; break; /* sqrt */
		default: return false;
		}
	} else {
		return false;
	}
	/* the host must round to nearest without flush-to-zero or denormals-are-zero */
	if ((in->rm != RV_RM_RNE && in->rm != RV_RM_DYN) || (_mm_getcsr() & 0xe040) != 0)
		return false;
	uint8_t pfx = dbl ? 0xf2 : 0xf3, *slow[12];
	unsigned ns = 0;
	x_rm(b, 0, 0xf7, 0, X_RBX, CPU_OFF(mstatus)); /* test dword [mstatus], FS */
	x_b4(b, (uint32_t)RV_MS_FS);
	slow[ns++] = x_jcc(b, CC_E);
	if (in->rm == RV_RM_DYN) {
		x_rm(b, 0, 0x83, 7, X_RBX, CPU_OFF(frm)); /* cmp dword [frm], 0 */
		x_b(b, 0);
		slow[ns++] = x_jcc(b, CC_NE);
	}
	if (!dbl) { /* NaN-boxing: the upper half all ones */
		unsigned src[3] = { in->rs1, in->rs2, in->rs3 }, nsrc = fma ? 3 : sse == 0x51 ? 1 : 2;
		for (unsigned i = 0; i < nsrc; i++) {
			x_rm(b, 0, 0x83, 7, X_RBX, FREG(src[i]) + 4); /* cmp dword [f + 4], -1 */
			x_b(b, 0xff);
			slow[ns++] = x_jcc(b, CC_NE);
		}
	}
	x_b(b, pfx);
	x_rm(b, 0, 0x0f10, 0, X_RBX, FREG(in->rs1)); /* movsd/movss xmm0, [f rs1] */
	if (fma) {
		x_b(b, pfx);
		x_rm(b, 0, 0x0f10, 1, X_RBX, FREG(in->rs2)); /* xmm1 = f rs2 */
		x_b(b, 0xc4);				     /* VEX: 0F38, vvvv = xmm1, 66 */
		x_b(b, 0xe2);
		x_b(b, dbl ? 0xf1 : 0x71);
		x_b(b, fma_op[(opc - 0x43) >> 2]);
		x_modrm_mem(b, 0, X_RBX, FREG(in->rs3)); /* xmm0 = ±(xmm0 * xmm1) ± [f rs3] */
	} else if (sse == 0x51) {
		x_b(b, pfx);
		x_rr(b, 0, 0x0f51, 0, 0); /* sqrt xmm0, xmm0 */
	} else {
		x_b(b, pfx);
		x_rm(b, 0, 0x0f00 | sse, 0, X_RBX, FREG(in->rs2));
	}
	/* With NX already in fflags only the other flags matter, and for these operations
	 * each shows in the result: invalid gives a NaN, divide-by-zero and overflow an
	 * infinity, underflow a result below 2^(emin+1) (tininess is detected after rounding,
	 * so the smallest normal can underflow too). Classifying the exponent avoids stmxcsr,
	 * which waits for the operation to complete. */
	x_rm(b, 0, 0xf7, 0, X_RBX, CPU_OFF(fflags));
	x_b4(b, 1);
	uint8_t *precise = x_jcc(b, CC_E);
	x_b(b, 0x66);
	x_rr(b, dbl, 0x0f7e, 0, X_RAX); /* movq rax, xmm0 (movd eax) */
	x_shi(b, dbl, SH_SHL, X_RAX, 1);
	x_shi(b, dbl, SH_SHR, X_RAX, dbl ? 53 : 24); /* the biased exponent */
	x_alui(b, 0, ALU_SUB, X_RAX, 2);
	x_alui(b, 0, ALU_CMP, X_RAX, (dbl ? 0x7ff : 0xff) - 2);
	slow[ns++] = x_jcc(b, CC_AE); /* exponent 0, 1 or all ones */
	uint8_t *classified = x_jmp(b);
	x_patch(b, precise, b->p);
	x_rm(b, 0, 0x0fae, 3, X_RBX, CPU_OFF(jit_mxcsr)); /* stmxcsr */
	x_rm(b, 0, 0xf7, 0, X_RBX, CPU_OFF(jit_mxcsr)); /* any flag but denormal-operand */
	x_b4(b, 0x3d);
	slow[ns++] = x_jcc(b, CC_NE);
	if (dbl)
		x_b(b, 0x66);
	x_rr(b, 0, 0x0f2e, 0, 0); /* ucomis xmm0, xmm0: parity set for a NaN */
	slow[ns++] = x_jcc(b, 0xa);
	x_patch(b, classified, b->p);
	if (dbl) {
		x_b(b, 0xf2);
		x_rm(b, 0, 0x0f11, 0, X_RBX, FREG(in->rd)); /* movsd [f rd], xmm0 */
	} else {
		x_b(b, 0x66);
		x_rr(b, 0, 0x0f7e, 0, X_RAX); /* movd eax, xmm0 */
		x_movi(b, X_RCX, (int64_t)0xffffffff00000000ULL);
		x_alu(b, 1, ALU_OR, X_RAX, X_RCX);
		x_store64(b, X_RAX, X_RBX, FREG(in->rd));
	}
	x_movi(b, X_RCX, (int64_t)(RV_MS_FS | RV_MS_SD)); /* FS = Dirty */
	x_rm(b, 1, 0x09, X_RCX, X_RBX, CPU_OFF(mstatus));
	uint8_t *done = x_jmp(b);
	for (unsigned i = 0; i < ns; i++)
		x_patch(b, slow[i], b->p);
	x_rm(b, 0, 0x0fae, 3, X_RBX, CPU_OFF(jit_mxcsr)); /* clear the host's flags */
	x_rm(b, 0, 0x83, 4, X_RBX, CPU_OFF(jit_mxcsr));
	x_b(b, 0xc0);
	x_rm(b, 0, 0x0fae, 2, X_RBX, CPU_OFF(jit_mxcsr)); /* ldmxcsr */
	struct rcache fast = t->rc; /* the helper writes back: redundant for the fast path */
	jit_emit_fp_helper(t, in, off, count);
	t->rc = fast; /* f rd only: x registers are untouched on both paths */
	x_patch(b, done, b->p);
	return true;
}
#endif
