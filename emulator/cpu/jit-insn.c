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
		struct stub *s = &t->stubs[f->stub];
		/* the fall-through path's cache state, dirty where any path has it dirty */
		t->rc.dirty |= s->rc.dirty;
		any = true;
	}
	if (!any)
		return;
	jit_rc_materialize(t); /* the landing state has no lazy register */
	for (unsigned i = 0; i < t->nfwd; i++)
		if (t->fwd[i].target == n)
			t->rc.sx &= t->stubs[t->fwd[i].stub].rc.sx;
	uint32_t cached = 0;
	for (int i = 0; i < JIT_NCACHE; i++)
		cached |= t->rc.guest[i] ? 1u << t->rc.guest[i] : 0;
	t->rc.dirty &= cached;
	t->joins[t->njoins] = t->rc;
	for (unsigned i = 0; i < t->nfwd; i++) {
		struct fwd *f = &t->fwd[i];
		if (f->target != n)
			continue;
		struct stub *s = &t->stubs[f->stub];
		s->kind = STUB_SKIP;
		s->join = t->njoins;
		s->land = t->b.p;
		s->skip = n - (s->count); /* s->count = branch index + 1 */
	}
	t->njoins++;
}

/* flags = x[rs1] compared with x[rs2] */
static void emit_cmp(struct tctx *t, const struct rv_insn *in)
{
	int h1 = jit_src_x(t, in->rs1, X_RAX);
	if (in->rs2 == 0)
		x_rr(&t->b, 1, 0x85, h1, h1); /* test: the flags of cmp h1, 0 for these conditions */
	else
		x_alu(&t->b, 1, ALU_CMP, h1, jit_src_x(t, in->rs2, X_RCX));
}

/* Can the instruction a branch skips be made conditional (a cmov)? A register-only
 * integer op whose rd is not one of the branch's sources. */
static bool skippable(const struct rv_insn *br, const struct rv_insn *in)
{
	if (in->rd == 0 || in->rd == br->rs1 || in->rd == br->rs2)
		return false;
	switch (in->op) {
	case OP_ADDI: case OP_XORI: case OP_ORI: case OP_ANDI: case OP_ADD: case OP_SUB:
	case OP_XOR: case OP_OR: case OP_AND: case OP_ADDIW: case OP_ADDW: case OP_SUBW:
	case OP_SLLI: case OP_SRLI: case OP_SRAI: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
	case OP_LUI:
		return true;
	default:
		return false;
	}
}

/* A branch over one instruction: the instruction runs, and rd gets its old value back
 * (cmov) when the branch is taken, which also gives the skipped instruction back to the
 * budget; the host branch, mispredicted on data-dependent conditions, is gone. */
static void emit_branch_over(struct tctx *t, const struct rv_insn *in, int cc)
{
	struct xbuf *b = &t->b;
	const struct rv_insn *next = t->ahead[t->cur + 1];
	/* The compare is emitted after the skipped instruction: its sources are cached (so
	 * pinned: the pin is the branch's) first, else loading the skipped instruction's
	 * source could evict one, or drop it unstored when it is dead after the branch. */
	if (in->rs1)
		jit_rc_get(t, in->rs1);
	if (in->rs2)
		jit_rc_get(t, in->rs2);
	x_mov(b, X_RDX, jit_rc_get(t, next->rd)); /* the ALU ops use rax and rcx only */
	t->cur++;
	jit_emit_insn(t, next, 0, 0);
	int hd = jit_rc_get(t, next->rd); /* full width before the merge with the old value */
	emit_cmp(t, in); /* rd stays pinned: its slot is not reused here */
	x_rr(b, 1, 0x0f40u | (unsigned)cc, hd, X_RDX); /* cmovcc */
	t->rc.sx &= ~(1u << next->rd); /* either value */
	x_setcc(b, cc, X_RCX);
	if (t->breg)
		x_alu(b, 1, ALU_ADD, BREG, X_RCX);
	else
		x_rm(b, 1, 0x01, X_RCX, X_RSP, LEFT); /* add [rsp + LEFT], rcx */
	t->cur--;
}

/* Returns 2 when the branch took the next instruction in (emit_branch_over), else 1. */
int jit_emit_branch(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
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
	/* A forward target later in the block becomes a jump inside it: the taken path's
	 * registers are moved into the fall-through path's cache state there (bind_forward). */
	int target = fwd_target(t, in->imm);
	if (target == (int)t->cur + 2 && skippable(in, t->ahead[t->cur + 1])) {
		emit_branch_over(t, in, cc);
		return 2;
	}
	emit_cmp(t, in);
	if (t->loop && off + in->imm == 0) { /* a back edge: inline, over the fall-through */
		uint8_t *fall = x_jcc(b, cc ^ 1);
		struct rcache from = t->rc;
		jit_emit_back_edge(t, &from, count + 1);
		x_patch(b, fall, b->p);
		return 1;
	}
	jit_add_stub(t, x_jcc(b, cc), STUB_BRANCH, off + in->imm, count + 1);
	if (target >= 0 && !t->b.full)
		t->fwd[t->nfwd++] = (struct fwd){ t->nstubs - 1, (unsigned)target };
	return 1;
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

/* Emits one instruction. Returns 1 if the block goes on after it, 2 if it goes on after
 * the next one too (taken in), 0 if it ended the block, -1 if the instruction cannot be
 * compiled (the block ends before it). */
int jit_emit_insn(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	if (jit_emit_fused(t) || jit_emit_alu(t, in) || jit_emit_zb(t, in))
		return 1;
	uint64_t (*helper)(uint64_t, uint64_t) = jit_bitmanip_helper(in->op);
	if (helper) {
		if (in->rd)
			jit_emit_call2(t, in, helper);
		return 1;
	}
	switch (in->op) {
	case OP_LUI:
		if (in->rd) {
			x_movi(b, jit_rc_def(t, in->rd), in->imm);
			t->rc.sx |= 1u << in->rd;
		}
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
	case OP_MULH: case OP_MULHU: /* mul and mulw: jit-zb.c */
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
		return jit_emit_branch(t, in, off, count);
	case OP_JAL:
		if (in->rd) {
			int hd = jit_rc_def(t, in->rd);
			x_load64(b, hd, X_RSP, ENTRY_PC);
			x_alui(b, 1, ALU_ADD, hd, off + (int32_t)in->len);
		}
		jit_emit_goto_from(t, &t->rc, (int64_t)off + in->imm, count + 1);
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
