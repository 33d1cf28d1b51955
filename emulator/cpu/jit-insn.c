/* jit-insn.c - translation of one guest instruction, branches and decoded slots (jit-priv.h). */
#include "emulator/cpu/jit-priv.h"
#include "emulator/cpu/muldiv.h"
#include "emulator/cpu/ops.h"

#include <string.h>

#if defined(__x86_64__)

/* The index in the block of the instruction `imm` bytes after the current one, if it is
 * ahead in the block; else -1. */
static int fwd_target(const struct tctx *t, int32_t imm)
{
	int32_t o = 0;
	for (unsigned i = t->cur; i < t->nahead && o <= imm; i++) {
		if (o == imm && i > t->cur)
			return (int)i;
		o += t->ahead[i]->len;
	}
	return -1;
}

/* At instruction n: forward branches to it land here (stubs turned into skips). */
void jit_bind_forward(struct tctx *t, unsigned n)
{
	bool any = false;
	for (unsigned i = 0; i < t->nfwd; i++) {
		struct fwd *f = &t->fwd[i];
		if (f->target != n)
			continue;
		if (!any) { /* the fall-through path's state: written back, nothing cached */
			jit_rc_emit_writeback(t);
			jit_rc_reset(&t->rc);
			any = true;
		}
		struct stub *s = &t->stubs[f->stub];
		s->kind = STUB_SKIP;
		s->land = t->b.p;
		s->skip = n - (s->count); /* s->count = branch index + 1 */
	}
}

void jit_emit_branch(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	int cc;
	switch (in->op) {
	case OP_BEQ: cc = CC_E; break;
	case OP_BNE: cc = CC_NE; break;
	case OP_BLT: cc = CC_L; break;
	case OP_BGE: cc = CC_GE; break;
	case OP_BLTU: cc = CC_B; break;
	default: cc = CC_AE; break;
	}
	/* A forward target later in the block becomes a jump inside it: both paths reach the
	 * target with every register written back and nothing cached. */
	int target = fwd_target(t, in->imm);
	if (target >= 0) {
		jit_rc_emit_writeback(t);
		t->rc.dirty = 0;
	}
	int h1 = jit_src_x(t, in->rs1, X_RAX);
	if (in->rs2 == 0)
		x_rr(b, 1, 0x85, h1, h1); /* test: the flags of cmp h1, 0 for these conditions */
	else
		x_alu(b, 1, ALU_CMP, h1, jit_src_x(t, in->rs2, X_RCX));
	jit_add_stub(t, x_jcc(b, cc), STUB_BRANCH, off + in->imm, count + 1);
	if (target >= 0 && !t->b.full)
		t->fwd[t->nfwd++] = (struct fwd){ t->nstubs - 1, (unsigned)target };
}

/* The decoded slot of the instruction at page offset pgoff, decoding it from guest memory
 * if needed; NULL when it straddles the page end. */
struct rv_insn *jit_slot_at(struct tctx *t, unsigned pgoff)
{
	struct rv_cpu *cpu = t->cpu;
	const uint8_t *host = (const uint8_t *)(cpu->fetch_addend + (uintptr_t)cpu->fetch_page) + pgoff;
	uint16_t lo;
	uint32_t raw;
	memcpy(&lo, host, 2);
	raw = lo;
	if ((lo & 3) == 3) {
		if (pgoff > 4092)
			return NULL;
		memcpy(&raw, host, 4);
	}
	struct rv_insn *in = &t->dp->insn[pgoff >> 1];
	if (in->len == 0 || in->raw != raw)
		rv_decode_cpu(t->cpu, raw, in);
	return in;
}

/* Emits one instruction. Returns 1 if the block goes on after it, 0 if it ended the block,
 * -1 if the instruction cannot be compiled (the block ends before it). */
int jit_emit_insn(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	if (jit_emit_alu(t, in) || jit_emit_bitmanip_inline(t, in))
		return 1;
	uint64_t (*helper)(uint64_t, uint64_t) = jit_bitmanip_helper(in->op);
	if (helper) {
		if (in->rd)
			jit_emit_call2(t, in, helper);
		return 1;
	}
	switch (in->op) {
	case OP_LUI:
		if (in->rd)
			x_movi(b, jit_rc_def(t, in->rd), in->imm);
		return 1;
	case OP_AUIPC:
		if (in->rd) {
			int hd = jit_rc_def(t, in->rd);
			x_load64(b, hd, X_RSP, ENTRY_PC);
			x_addc(b, hd, (int64_t)off + in->imm, X_RCX);
		}
		return 1;
	case OP_SLT: case OP_SLTU: case OP_SLTI: case OP_SLTIU:
		jit_emit_compare(t, in);
		return 1;
	case OP_MUL: case OP_MULW: case OP_MULH: case OP_MULHU:
		if (in->rd)
			jit_emit_mul(t, in);
		return 1;
	case OP_MULHSU: jit_emit_call2(t, in, rv_mulhsu); return 1;
	case OP_DIV: jit_emit_call2(t, in, rv_div); return 1;
	case OP_DIVU: jit_emit_call2(t, in, rv_divu); return 1;
	case OP_REM: jit_emit_call2(t, in, rv_rem); return 1;
	case OP_REMU: jit_emit_call2(t, in, rv_remu); return 1;
	case OP_DIVW: jit_emit_call2(t, in, rv_divw); return 1;
	case OP_DIVUW: jit_emit_call2(t, in, rv_divuw); return 1;
	case OP_REMW: jit_emit_call2(t, in, rv_remw); return 1;
	case OP_REMUW: jit_emit_call2(t, in, rv_remuw); return 1;
	case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
		jit_emit_load(t, in, off, count);
		return 1;
	case OP_SB: case OP_SH: case OP_SW: case OP_SD:
		jit_emit_store(t, in, off, count);
		return 1;
	case OP_FLW: case OP_FLD: case OP_FSW: case OP_FSD:
		jit_emit_fp_mem(t, in, off, count);
		return 1;
	case OP_FP:
		if (!jit_emit_fp_inline(t, in, off, count))
			jit_emit_fp_helper(t, in, off, count);
		return 1;
	case OP_FENCE: case OP_FENCE_I: /* decoded code is dropped on every write already */
		return in->op == OP_FENCE && rv_fence_needs_host(in) ? -1 : 1; /* the interpreter's mfence */
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
		jit_emit_branch(t, in, off, count);
		return 1;
	case OP_JAL:
		if (in->rd) {
			int hd = jit_rc_def(t, in->rd);
			x_load64(b, hd, X_RSP, ENTRY_PC);
			x_alui(b, 1, ALU_ADD, hd, off + (int32_t)in->len);
		}
		jit_rc_emit_writeback(t);
		jit_emit_goto(t, (int64_t)off + in->imm, count + 1);
		return 0;
	case OP_JALR:
		x_lea(b, X_RAX, jit_src_x(t, in->rs1, X_RAX), in->imm);
		x_alui(b, 1, ALU_AND, X_RAX, -2);
		if (in->rd) { /* after reading rs1: rd may be the same register */
			int hd = jit_rc_def(t, in->rd);
			x_load64(b, hd, X_RSP, ENTRY_PC);
			x_alui(b, 1, ALU_ADD, hd, off + (int32_t)in->len);
		}
		jit_rc_emit_writeback(t);
		x_store64(b, X_RAX, X_RBX, CPU_OFF(pc));
		uint8_t *low = jit_emit_take(t, count + 1);
		jit_emit_jc_lookup(t); /* returns and indirect calls chain through the jump cache */
		x_patch(b, low, b->p);
		jit_emit_return(t, 0, 0);
		return 0;
	default: /* system instructions, AMOs, illegal: the interpreter's */
		return -1;
	}
}
#endif
