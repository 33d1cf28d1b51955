/* jit-exit.c - block entry and exits: the prologue, the out-of-line stubs, direct jumps
 * to blocks of the same page and jump-cache chaining to the others (jit-priv.h). */
#include "emulator/cpu/jit-priv.h"

#if defined(__x86_64__)

void jit_add_stub(struct tctx *t, uint8_t *fixup, int kind, int32_t off, unsigned count)
{
	if (t->nstubs == JIT_MAX_STUBS) {
		t->b.full = true; /* cannot happen with the limits above; refuse the block */
		return;
	}
	struct stub *st = &t->stubs[t->nstubs++];
	*st = (struct stub){ .fixup = fixup, .kind = kind, .off = off, .count = count, .rc = t->rc };
}

/* cpu->pc = entry pc + off */
void jit_set_pc(struct tctx *t, int64_t off)
{
	x_load64(&t->b, X_RAX, X_RSP, ENTRY_PC);
	x_addc(&t->b, X_RAX, off, X_RCX);
	x_store64(&t->b, X_RAX, X_RBX, CPU_OFF(pc));
}

/* Takes count instructions from the budget; returns the jump to patch, taken when fewer
 * than RV_JIT_MAX_INSNS are left (the frame keeps the budget left minus that). */
uint8_t *jit_emit_take(struct tctx *t, unsigned count)
{
	if (t->breg) { /* the other blocks find it in the frame */
		x_alui(&t->b, 1, ALU_SUB, BREG, (int32_t)count);
		x_store64(&t->b, BREG, X_RSP, LEFT);
		return x_jcc(&t->b, CC_L);
	}
	x_rm(&t->b, 1, 0x81, ALU_SUB, X_RSP, LEFT); /* sub qword [rsp + LEFT], count */
	x_b4(&t->b, count);
	return x_jcc(&t->b, CC_L);
}

/* return (([rsp] - left + count) << 1) | side through the epilogue */
void jit_emit_return(struct tctx *t, unsigned count, int side)
{
	if (t->breg)
		x_store64(&t->b, BREG, X_RSP, LEFT);
	x_load64(&t->b, X_RAX, X_RSP, 0);
	x_rm(&t->b, 1, 0x2b, X_RAX, X_RSP, LEFT); /* sub rax, [rsp + LEFT] */
	x_alui(&t->b, 1, ALU_ADD, X_RAX, (int32_t)count - RV_JIT_MAX_INSNS);
	x_alu(&t->b, 1, ALU_ADD, X_RAX, X_RAX);
	if (side)
		x_alui(&t->b, 1, ALU_OR, X_RAX, 1);
	x_alui(&t->b, 1, ALU_ADD, X_RSP, FRAME);
	x_pop(&t->b, X_RBP);
	x_pop(&t->b, X_R15);
	x_pop(&t->b, X_R14);
	x_pop(&t->b, X_R13);
	x_pop(&t->b, X_R12);
	x_pop(&t->b, X_RBX);
	x_b(&t->b, 0xc3);
}

/* With the guest target pc in rax: enters the compiled block there when the jump cache
 * has it for the current context (the frame's entry pc becomes the target), else falls through with rax
 * kept. rcx and rdx are clobbered. */
void jit_emit_jc_lookup(struct tctx *t)
{
	struct xbuf *b = &t->b;
	int32_t jc = CPU_OFF(jc);
	x_mov(b, X_RCX, X_RAX);
	x_shi(b, 1, SH_SHR, X_RCX, 1);
	x_alui(b, 0, ALU_AND, X_RCX, RV_JC_SIZE - 1);
	x_shi(b, 0, SH_SHL, X_RCX, 4); /* sizeof(struct rv_jc_entry) */
	x_alu(b, 1, ALU_ADD, X_RCX, X_RBX);
	x_rm(b, 1, 0x3b, X_RAX, X_RCX, jc); /* cmp rax, [entry.pc] */
	uint8_t *miss1 = x_jcc(b, CC_NE);
	x_rm(b, 0, 0x8b, X_RDX, X_RCX, jc + 8);		 /* mov edx, [entry.key] */
	x_rm(b, 0, 0x3b, X_RDX, X_RBX, CPU_OFF(jc_key)); /* cmp edx, [jc_key] */
	uint8_t *miss2 = x_jcc(b, CC_NE);
	x_rm(b, 0, 0x8b, X_RDX, X_RCX, jc + 12); /* mov edx, [entry.off] */
	x_movi(b, X_RCX, (int64_t)(uintptr_t)(t->jit->buf + t->jit->body));
	x_alu(b, 1, ALU_ADD, X_RDX, X_RCX);
	x_store64(b, X_RAX, X_RSP, ENTRY_PC);
	x_b(b, 0xff);
	x_b(b, 0xe2); /* jmp rdx */
	x_patch(b, miss1, b->p);
	x_patch(b, miss2, b->p);
}

/* Leaves the block towards entry + off after `count` instructions: straight into the
 * compiled block there while the budget allows (in this page through the decoded page,
 * in another through the jump cache), else back to the interpreter with cpu->pc set. */
void jit_emit_goto(struct tctx *t, int64_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	int64_t pgoff = (int64_t)t->entry_slot * 2 + off;
	uint8_t *low = jit_emit_take(t, count);
	if (pgoff >= 0 && pgoff < 4096) {
		if (off == 0) { /* a loop onto this very block */
			x_patch(b, x_jmp(b), t->body);
		} else {
			const uint8_t *known = t->dp->jit[pgoff >> 1];
			uint8_t *none = NULL;
			if (!known) { /* not compiled yet: look again at run time */
				x_movi(b, X_RAX, (int64_t)(uintptr_t)&t->dp->jit[pgoff >> 1]);
				x_load64(b, X_RAX, X_RAX, 0);
				x_rr(b, 1, 0x85, X_RAX, X_RAX); /* test rax, rax */
				none = x_jcc(b, CC_E);
			}
			if (off >= INT32_MIN && off <= INT32_MAX) { /* add qword [rsp + ENTRY_PC], off */
				x_rm(b, 1, 0x81, 0, X_RSP, ENTRY_PC);
				x_b4(b, (uint32_t)off);
			} else {
				x_movi(b, X_RCX, off);
				x_rm(b, 1, 0x01, X_RCX, X_RSP, ENTRY_PC);
			}
			if (known) { /* same page: both blocks die with the decoded page, so jump there */
				x_patch(b, x_jmp(b), known + t->jit->body);
			} else {
				x_alui(b, 1, ALU_ADD, X_RAX, (int32_t)t->jit->body);
				x_b(b, 0xff);
				x_b(b, 0xe0); /* jmp rax */
				x_patch(b, none, b->p);
			}
		}
	} else {
		x_load64(b, X_RAX, X_RSP, ENTRY_PC);
		x_addc(b, X_RAX, off, X_RCX);
		jit_emit_jc_lookup(t);
	}
	x_patch(b, low, b->p);
	jit_set_pc(t, off);
	jit_emit_return(t, 0, 0);
}

/* A loop's back edge from cache state `from` after `count` instructions: brings the
 * registers into the loop head's state and jumps there while the budget lasts, else writes
 * back and returns with pc = entry. When the states agree the taken path is one backward
 * jump (sub; jge head), so a loop iteration takes a single taken branch. */
void jit_emit_back_edge(struct tctx *t, const struct rcache *from, unsigned count)
{
	struct xbuf *b = &t->b;
	uint8_t *low;
	if (t->breg) { /* within the loop the frame's copy is not kept up to date */
		x_alui(b, 1, ALU_SUB, BREG, (int32_t)count);
		low = x_jcc(b, CC_L);
	} else {
		low = jit_emit_take(t, count);
	}
	uint8_t *moves = b->p;
	jit_rc_conform(t, from, &t->head);
	if (b->p == moves && !b->full) { /* nothing to move: turn the jl into jge head */
		b->p = low - 2;
		x_patch(b, x_jcc(b, CC_GE), t->loop_head);
	} else {
		x_patch(b, x_jmp(b), t->loop_head);
		x_patch(b, low, b->p);
	}
	jit_rc_writeback_of(t, from);
	jit_set_pc(t, 0);
	jit_emit_return(t, 0, 0);
}

/* jit_emit_goto from cache state `from` (written back here); a loop's back edge keeps the
 * registers in host registers (jit_emit_back_edge). */
void jit_emit_goto_from(struct tctx *t, const struct rcache *from, int64_t off, unsigned count)
{
	if (off != 0 || !t->loop) {
		jit_rc_writeback_of(t, from);
		jit_emit_goto(t, off, count);
		return;
	}
	jit_emit_back_edge(t, from, count);
}

void jit_emit_prologue(struct xbuf *b)
{
	x_push(b, X_RBX);
	x_push(b, X_R12);
	x_push(b, X_R13);
	x_push(b, X_R14);
	x_push(b, X_R15);
	x_push(b, X_RBP);
	x_alui(b, 1, ALU_SUB, X_RSP, FRAME); /* 6 pushes + FRAME keep rsp 16-byte aligned */
	x_store64(b, X_RDX, X_RSP, 0);	    /* the budget at entry */
	x_store64(b, X_RSI, X_RSP, ENTRY_PC);
	x_lea(b, X_RAX, X_RDX, -RV_JIT_MAX_INSNS);
	x_store64(b, X_RAX, X_RSP, LEFT);
	x_mov(b, X_RBX, X_RDI);
}

void jit_emit_stubs(struct tctx *t)
{
	for (unsigned i = 0; i < t->nstubs; i++) {
		const struct stub *s = &t->stubs[i];
		x_patch(&t->b, s->fixup, t->b.p);
		if (s->kind == STUB_SKIP) {
			jit_rc_conform(t, &s->rc, &t->joins[s->join]);
			/* the skipped instructions are counted by every later exit: give them back */
			if (s->skip && t->breg) {
				x_alui(&t->b, 1, ALU_ADD, BREG, (int32_t)s->skip);
			} else if (s->skip) {
				x_rm(&t->b, 1, 0x81, ALU_ADD, X_RSP, LEFT); /* add qword [rsp + LEFT], skip */
				x_b4(&t->b, s->skip);
			}
			x_patch(&t->b, x_jmp(&t->b), s->land);
		} else if (s->kind == STUB_SIDE) {
			jit_rc_writeback_of(t, &s->rc);
			jit_set_pc(t, s->off);
			jit_emit_return(t, s->count, 1);
		} else {
			jit_emit_goto_from(t, &s->rc, s->off, s->count);
		}
	}
}
#endif
