/* jit-priv.h - what the JIT's modules share (x86-64 hosts only):
 *   jit.c       the code buffer and the block driver (rv_jit_compile)
 *   jit-regs.c  the guest-register cache in host registers
 *   jit-exit.c  block entry and exits: prologue, stubs, chaining and the jump cache
 *   jit-insn.c  one guest instruction: dispatch by opcode, branches, decoded slots
 *   jit-int.c   integer ALU, mulh/mulhu, and the C helpers of the other bit-manipulation ops
 *   jit-mem.c   loads and stores through the inline TLB hit path
 *   jit-fp.c    F/D arithmetic (inline SSE/FMA) and the rv_exec_fp helper call
 *   jit-zb.c    Zb/Zicond ops and mul/mulw computed in the cached registers
 *   jit-fuse.c  idiom fusion decided before emission (shift pairs into rotates)
 *
 * Generated code keeps the CPU pointer in rbx; a frame below the saved registers holds the
 * batch's budget at the first block ([rsp]), the current block's entry pc ([rsp + 8]) and the
 * budget left ([rsp + 16], less RV_JIT_MAX_INSNS; retired = [rsp] - left). rax, rcx and rdx are scratch. Every block
 * starts with the same prologue, so a jump from one block to another enters at jit->body
 * bytes past its start with the frame set (the entry pc updated).
 */
#ifndef STRATA_EMULATOR_CPU_JIT_PRIV_H
#define STRATA_EMULATOR_CPU_JIT_PRIV_H

#include "emulator/cpu/jit.h"
#include "emulator/cpu/x86emit.h"

#include <stddef.h>
#include <stdio.h>

#define JIT_BUF_SIZE (32u << 20)
#define JIT_BLOCK_ROOM (64u << 10) /* more than any block can take */
#define JIT_HEADER 16 /* bytes before each block: its length in instructions (jit.h) */
#define JIT_MAX_STUBS (2 * RV_JIT_MAX_INSNS + 2)

struct rv_jit {
	uint8_t *buf;
	size_t used;
	size_t body; /* prologue length: where a chained jump enters a block */
	uint64_t blocks, flushes;
	FILE *dump; /* STRATA_JIT_DUMP: the perf map of the blocks, and their code */
};

/* op reg, [base + index + disp32] (index unscaled, not rsp) */
static inline void x_rm_bi(struct xbuf *b, int w, unsigned op, int reg, int base, int index, int32_t disp)
{
	uint8_t rex = (uint8_t)(0x40 | w << 3 | (reg >> 3) << 2 | (index >> 3) << 1 | (base >> 3));
	if (rex != 0x40)
		x_b(b, rex);
	x_op(b, op);
	x_b(b, (uint8_t)(0x84 | (reg & 7) << 3)); /* mod 10 (disp32), rm 100: a SIB follows */
	x_b(b, (uint8_t)((index & 7) << 3 | (base & 7)));
	x_b4(b, (uint32_t)disp);
}

#define CPU_OFF(field) ((int32_t)offsetof(struct rv_cpu, field))
#define XREG(r) (CPU_OFF(x) + 8 * (int32_t)(r))
#define FREG(r) (CPU_OFF(f) + 8 * (int32_t)(r))

/* The guest-register cache: which host register holds which guest register, compile-time
 * state that follows the block. Eleven host registers (jit_cache_hreg): loaded at first use,
 * evicted by furthest next use, written back when evicted (unless the value is dead) and at
 * every exit (each stub keeps the cache state of its branch point; forward branches inside
 * the block and a loop's back edge move registers into the state where they land instead,
 * jit_rc_conform), so between blocks, and wherever C code runs, the guest state is in
 * struct rv_cpu. */
#define JIT_NCACHE 11
extern const uint8_t jit_cache_hreg[JIT_NCACHE];
#define FRAME 40   /* the block frame below the saved registers: */
#define ENTRY_PC 8 /* [rsp] the budget at the first block, [rsp + 8] the current block's entry pc, */
#define LEFT 16	   /* [rsp + 16] the budget left - RV_JIT_MAX_INSNS (below 0: no chaining), */
#define WADD 24	   /* [rsp + 24] the write-TLB addend a load checked for a later store (jit-mem.c) */
#define BREG X_R15 /* the last cache register (jit_cache_hreg) */
struct rcache {
	int8_t slot_of[32];	     /* guest register -> cache slot, or -1 */
	uint8_t guest[JIT_NCACHE];   /* cache slot -> guest register, 0 when free */
	uint32_t used[JIT_NCACHE];   /* last use, for LRU eviction */
	uint32_t dirty;		     /* guest registers newer than struct rv_cpu */
	/* sx: cached registers whose value is a 32-bit value sign-extended (results of W ops,
	 * lw, lui, bitwise ops on such values); lazy: of those, the ones whose host register
	 * holds only the low 32 bits right (a W op's sign extension is left out until a 64-bit
	 * reader, a store to struct rv_cpu or a merge of paths needs it) */
	uint32_t sx, lazy;
	uint32_t clock;
};

/* An out-of-line exit emitted after the block body. */
enum { STUB_SIDE, STUB_BRANCH, STUB_SKIP };
struct stub {
	uint8_t *fixup; /* jump displacement to point at the stub */
	int kind;
	int32_t off;	/* side: offset of the instruction to interpret; branch: target offset */
	unsigned count; /* instructions retired in the block at this exit */
	struct rcache rc; /* the register cache at the branch point */
	unsigned join;	  /* skip: the cache state at the landing point (tctx.joins) */
	uint8_t *land;	/* skip: a forward branch inside the block lands there */
	unsigned skip;	/* skip: the instructions it jumps over */
};

/* A forward branch to an instruction later in the block, until emission reaches it. */
struct fwd {
	unsigned stub, target; /* its stub; the target's instruction index in the block */
};

/* The state of one block's translation. */
struct tctx {
	struct rv_cpu *cpu;
	struct rv_jit *jit;
	struct rv_dpage *dp;
	struct xbuf b;
	uint8_t *start, *body;
	unsigned entry_slot; /* page offset of the entry pc / 2 */
	struct stub stubs[JIT_MAX_STUBS];
	unsigned nstubs;
	struct rcache rc;
	const struct rv_insn *ahead[RV_JIT_MAX_INSNS]; /* the block's instructions, for eviction */
	uint32_t rs[RV_JIT_MAX_INSNS], rd[RV_JIT_MAX_INSNS]; /* the x registers each reads, writes */
	unsigned nahead, cur;
	uint32_t pin; /* cache slots used since this clock value belong to the current instruction */
	struct fwd fwd[RV_JIT_MAX_INSNS];
	unsigned nfwd;
	struct rcache joins[RV_JIT_MAX_INSNS]; /* the cache state where forward branches land */
	unsigned njoins;
	/* A block that branches back to its own entry (a loop) loads its first registers
	 * after the prologue: the back edge brings the cache into that state (head) and jumps
	 * to loop_head, so the loop's registers stay in host registers. */
	bool loop;
	unsigned loop_end;
	bool breg; /* a loop with few registers: the budget left lives in BREG, not the frame */
	struct rcache head;
	uint8_t *loop_head;
	/* idiom fusion (jit-fuse.c): per instruction FUSE_*, and a rotate's source and count */
	uint8_t fuse[RV_JIT_MAX_INSNS], fuse_src[RV_JIT_MAX_INSNS], fuse_n[RV_JIT_MAX_INSNS];
	unsigned pair_store; /* 1 + the index of the store whose write-TLB check a load made, or 0 */
};
enum { FUSE_NONE, FUSE_ELIDE, FUSE_ROR, FUSE_RORW };

/* jit-regs.c */
bool jit_op_rs2_unused(unsigned op);
void jit_insn_regs(const struct rv_insn *in, uint32_t *rs, uint32_t *rd);
bool jit_stays_in_block(const struct rv_insn *in);
void jit_rc_reset(struct rcache *rc);
void jit_rc_unmap(struct rcache *rc, int slot);
int jit_rc_get(struct tctx *t, unsigned r);
int jit_rc_def(struct tctx *t, unsigned r);
int jit_src_x(struct tctx *t, unsigned r, int scratch);
int jit_rc_get_low(struct tctx *t, unsigned r);
bool jit_rc_mem_ok(const struct tctx *t, unsigned r);
int jit_src_x_low(struct tctx *t, unsigned r, int scratch);
void jit_rc_materialize(struct tctx *t);
void jit_rc_emit_writeback(struct tctx *t);
void jit_rc_writeback_of(struct tctx *t, const struct rcache *rc);
void jit_rc_conform(struct tctx *t, const struct rcache *from, const struct rcache *to);
void jit_rc_enter_loop(struct tctx *t);
void jit_load_x(struct tctx *t, int hreg, unsigned r);
void jit_store_x(struct tctx *t, unsigned r, int hreg);
unsigned jit_push_callers(struct tctx *t);
void jit_pop_callers(struct tctx *t, unsigned saved);

/* jit-exit.c */
void jit_add_stub(struct tctx *t, uint8_t *fixup, int kind, int32_t off, unsigned count);
void jit_set_pc(struct tctx *t, int64_t off);
uint8_t *jit_emit_take(struct tctx *t, unsigned count);
void jit_emit_return(struct tctx *t, unsigned count, int side);
void jit_emit_jc_lookup(struct tctx *t);
void jit_emit_goto(struct tctx *t, int64_t off, unsigned count);
void jit_emit_back_edge(struct tctx *t, const struct rcache *from, unsigned count);
void jit_emit_goto_from(struct tctx *t, const struct rcache *from, int64_t off, unsigned count);
void jit_emit_prologue(struct xbuf *b);
void jit_emit_stubs(struct tctx *t);

/* jit-insn.c */
void jit_bind_forward(struct tctx *t, unsigned n);
int jit_emit_branch(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count);
struct rv_insn *jit_slot_at(struct tctx *t, unsigned pgoff);
int jit_emit_insn(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count);

/* jit-int.c */
void jit_emit_call2(struct tctx *t, const struct rv_insn *in, uint64_t (*fn)(uint64_t, uint64_t));
bool jit_emit_alu(struct tctx *t, const struct rv_insn *in);
void jit_emit_compare(struct tctx *t, const struct rv_insn *in);
void jit_emit_mul(struct tctx *t, const struct rv_insn *in);
uint64_t (*jit_bitmanip_helper(unsigned op))(uint64_t, uint64_t);

/* jit-mem.c */
void jit_emit_load(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count);
void jit_emit_store(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count);
void jit_emit_fp_mem(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count);

/* jit-zb.c */
bool jit_zb_in_block(unsigned op);
bool jit_emit_zb(struct tctx *t, const struct rv_insn *in);

/* jit-fuse.c */
void jit_fuse_block(struct tctx *t);
bool jit_emit_fused(struct tctx *t);

/* jit-fp.c */
void jit_emit_fp_helper(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count);
bool jit_emit_fp_inline(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count);

#endif
