/* jit.c - block translation to x86-64 (see jit.h for the model).
 *
 * Generated code keeps the CPU pointer in rbx and the budget left in r13; a frame below the
 * saved registers holds the batch's budget at the first block ([rsp]; retired = [rsp] - r13)
 * and the current block's entry pc ([rsp + 8]). rax, rcx and rdx are scratch. Every block
 * starts with the same prologue, so a jump from one block to another enters at JIT_BODY bytes
 * past its start with r13 and the frame set (the entry pc updated).
 * Within a block, guest registers are cached in ten host registers (rsi, rdi, r8-r12, rbp,
 * r14, r15): loaded at first use, evicted by furthest next use, written back when evicted
 * and at every exit (each side exit and branch stub writes back the registers dirty at its
 * branch point), so between blocks, and wherever C code runs, the guest state is in
 * struct rv_cpu.
 */
#include "emulator/cpu/jit.h"
#include "emulator/cpu/bitmanip.h"
#include "emulator/cpu/fpu.h"
#include "emulator/cpu/muldiv.h"
#include "emulator/cpu/ops.h"
#include "emulator/host/hugemem.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)

#include "emulator/cpu/x86emit.h"

#include <sys/mman.h>
#include <xmmintrin.h>

#define JIT_BUF_SIZE (32u << 20)
#define JIT_BLOCK_ROOM (64u << 10) /* more than any block can take */
#define JIT_MAX_STUBS (2 * RV_JIT_MAX_INSNS + 2)

struct rv_jit {
	uint8_t *buf;
	size_t used;
	size_t body; /* prologue length: where a chained jump enters a block */
	uint64_t blocks, flushes;
	FILE *dump; /* STRATA_JIT_DUMP: the perf map of the blocks, and their code */
};

#define CPU_OFF(field) ((int32_t)offsetof(struct rv_cpu, field))
#define XREG(r) (CPU_OFF(x) + 8 * (int32_t)(r))
#define FREG(r) (CPU_OFF(f) + 8 * (int32_t)(r))

/* The guest-register cache: which host register holds which guest register, compile-time
 * state that follows the straight-line block. */
#define JIT_NCACHE 10
static const uint8_t cache_hreg[JIT_NCACHE] = { X_RSI, X_RDI, X_R8, X_R9, X_R10, X_R11, X_RBP, X_R12, X_R14, X_R15 };
#define FRAME 24   /* the block frame below the saved registers: */
#define ENTRY_PC 8 /* [rsp] the budget at the first block, [rsp + 8] the current block's entry pc */
struct rcache {
	int8_t slot_of[32];	     /* guest register -> cache slot, or -1 */
	uint8_t guest[JIT_NCACHE];   /* cache slot -> guest register, 0 when free */
	uint32_t used[JIT_NCACHE];   /* last use, for LRU eviction */
	uint32_t dirty;		     /* guest registers newer than struct rv_cpu */
	uint32_t clock;
};

/* An out-of-line exit emitted after the block body. */
enum { STUB_SIDE, STUB_BRANCH, STUB_SKIP };
struct stub {
	uint8_t *fixup; /* jump displacement to point at the stub */
	int kind;
	int32_t off;	/* side: offset of the instruction to interpret; branch: target offset */
	unsigned count; /* instructions retired in the block at this exit */
	uint8_t nwb, wb_guest[JIT_NCACHE], wb_host[JIT_NCACHE]; /* registers to write back */
	uint8_t *land;	/* skip: a forward branch inside the block lands there */
	unsigned skip;	/* skip: the instructions it jumps over */
};

/* A forward branch to an instruction later in the block, until emission reaches it. */
struct fwd {
	unsigned stub, target; /* its stub; the target's instruction index in the block */
};

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
	unsigned nahead, cur;
	uint32_t pin; /* cache slots used since this clock value belong to the current instruction */
	struct fwd fwd[RV_JIT_MAX_INSNS];
	unsigned nfwd;
};

/* ---- code buffer ---- */

int rv_jit_init(struct rv_cpu *cpu, unsigned threshold)
{
	struct rv_jit *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->buf = vm_huge_map(JIT_BUF_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC);
	if (!j->buf) { /* e.g. a policy forbidding writable executable memory */
		int err = errno;
		free(j);
		return -err;
	}
	const char *dump = getenv("STRATA_JIT_DUMP");
	if (dump && *dump)
		j->dump = fopen(dump, "w");
	cpu->jit = j;
	cpu->jc_base = j->buf;
	cpu->jit_threshold = threshold < 1 ? 1 : threshold > 254 ? 254 : threshold;
	return 0;
}

void rv_jit_destroy(struct rv_cpu *cpu)
{
	if (!cpu->jit)
		return;
	if (cpu->jit->dump)
		fclose(cpu->jit->dump);
	vm_huge_unmap(cpu->jit->buf, JIT_BUF_SIZE);
	free(cpu->jit);
	cpu->jit = NULL;
}

void rv_jit_stats(const struct rv_cpu *cpu, uint64_t *blocks, uint64_t *flushes)
{
	*blocks = cpu->jit ? cpu->jit->blocks : 0;
	*flushes = cpu->jit ? cpu->jit->flushes : 0;
}

/* Drops every block (the buffer is full). Only called between blocks. */
static void jit_flush(struct rv_cpu *cpu)
{
	for (int i = 0; i < RV_DPAGES; i++) {
		struct rv_dpage *dp = &cpu->dpages[i];
		if (dp->tag) {
			memset(dp->jit, 0, sizeof(dp->jit));
			memset(dp->heat, 0, sizeof(dp->heat));
		}
	}
	cpu->jit->used = 0;
	cpu->jit->flushes++;
	rv_jc_bump(cpu); /* the jump cache points into the buffer */
}

/* A debugging aid: one perf-map line per block ("host-address size rv:pc", the format of
 * perf's /tmp/perf-PID.map) followed by the block's code in hex. */
static void jit_dump(struct rv_jit *j, uint64_t pc, const uint8_t *code, size_t len)
{
	fprintf(j->dump, "%lx %zx rv:%llx\n", (unsigned long)(uintptr_t)code, len, (unsigned long long)pc);
	for (size_t i = 0; i < len; i++)
		fprintf(j->dump, "%02x%s", code[i], i + 1 == len || i % 32 == 31 ? "\n" : "");
}

/* ---- emission ---- */

static void rc_reset(struct rcache *rc)
{
	memset(rc, 0, sizeof(*rc));
	memset(rc->slot_of, -1, sizeof(rc->slot_of));
}

static void rc_unmap(struct rcache *rc, int slot)
{
	unsigned g = rc->guest[slot];
	if (g) {
		rc->slot_of[g] = -1;
		rc->dirty &= ~(1u << g);
		rc->guest[slot] = 0;
	}
}

/* How far ahead in the block guest register g is read next (from the current instruction
 * on), or RV_JIT_MAX_INSNS when it is written first or not used again. The rs fields of
 * instructions that do not read x registers only make this a worse guess. */
static unsigned next_read(const struct tctx *t, unsigned g)
{
	for (unsigned i = t->cur; i < t->nahead; i++) {
		const struct rv_insn *in = t->ahead[i];
		if (in->rs1 == g || in->rs2 == g)
			return i - t->cur;
		if (in->rd == g)
			break;
	}
	return RV_JIT_MAX_INSNS;
}

/* A cache slot for guest register r (not cached yet): a free one, else the one read again
 * the furthest ahead (a clean one on a tie: no write-back), never one the current
 * instruction uses. A dirty victim is written back first. */
static int rc_alloc(struct tctx *t, unsigned r)
{
	struct rcache *rc = &t->rc;
	int best = -1;
	unsigned best_score = 0;
	for (int i = 0; i < JIT_NCACHE; i++) {
		if (!rc->guest[i]) {
			best = i;
			break;
		}
		if (rc->used[i] >= t->pin)
			continue;
		unsigned g = rc->guest[i];
		unsigned score = 2 * next_read(t, g) + !(rc->dirty & (1u << g));
		if (best < 0 || score > best_score) {
			best = i;
			best_score = score;
		}
	}
	if (best < 0) /* cannot happen: an instruction uses at most three slots */
		best = 0;
	unsigned g = rc->guest[best];
	if (g && (rc->dirty & (1u << g)))
		x_store64(&t->b, cache_hreg[best], X_RBX, XREG(g));
	rc_unmap(rc, best);
	rc->guest[best] = (uint8_t)r;
	rc->slot_of[r] = (int8_t)best;
	return best;
}

/* The host register holding guest register r (r != 0), loaded if not cached. */
static int rc_get(struct tctx *t, unsigned r)
{
	struct rcache *rc = &t->rc;
	int s = rc->slot_of[r];
	if (s < 0) {
		s = rc_alloc(t, r);
		x_load64(&t->b, cache_hreg[s], X_RBX, XREG(r));
	}
	rc->used[s] = ++rc->clock;
	return cache_hreg[s];
}

/* The host register to write guest register r (r != 0) into; it becomes dirty. */
static int rc_def(struct tctx *t, unsigned r)
{
	struct rcache *rc = &t->rc;
	int s = rc->slot_of[r];
	if (s < 0)
		s = rc_alloc(t, r);
	rc->used[s] = ++rc->clock;
	rc->dirty |= 1u << r;
	return cache_hreg[s];
}

/* The host register holding x[r]: the cached one, or `scratch` zeroed for x0. */
static int src_x(struct tctx *t, unsigned r, int scratch)
{
	if (r == 0) {
		x_rr(&t->b, 0, 0x33, scratch, scratch); /* xor r32, r32 */
		return scratch;
	}
	return rc_get(t, r);
}

/* Stores every dirty register (the cache state is unchanged: callers decide). */
static void rc_emit_writeback(struct tctx *t)
{
	const struct rcache *rc = &t->rc;
	for (int i = 0; i < JIT_NCACHE; i++)
		if (rc->guest[i] && (rc->dirty & (1u << rc->guest[i])))
			x_store64(&t->b, cache_hreg[i], X_RBX, XREG(rc->guest[i]));
}

/* hreg = x[r] */
static void load_x(struct tctx *t, int hreg, unsigned r)
{
	int h = src_x(t, r, hreg);
	if (h != hreg)
		x_mov(&t->b, hreg, h);
}

/* x[r] = hreg */
static void store_x(struct tctx *t, unsigned r, int hreg)
{
	if (r != 0)
		x_mov(&t->b, rc_def(t, r), hreg);
}

/* Pushes the cache registers C calls clobber (those holding a guest register); returns
 * what pop_callers needs. Keeps rsp 16-byte aligned. */
static unsigned push_callers(struct tctx *t)
{
	unsigned mask = 0, n = 0;
	for (int i = 0; i < JIT_NCACHE; i++) {
		int h = cache_hreg[i];
		if (t->rc.guest[i] && h != X_RBP && h != X_R12 && h != X_R14 && h != X_R15) {
			mask |= 1u << i;
			x_push(&t->b, h);
			n++;
		}
	}
	if (n & 1)
		x_alui(&t->b, 1, ALU_SUB, X_RSP, 8);
	return mask | (n & 1) << 31;
}

static void pop_callers(struct tctx *t, unsigned saved)
{
	if (saved >> 31)
		x_alui(&t->b, 1, ALU_ADD, X_RSP, 8);
	for (int i = JIT_NCACHE - 1; i >= 0; i--)
		if (saved & (1u << i))
			x_pop(&t->b, cache_hreg[i]);
}

static void add_stub(struct tctx *t, uint8_t *fixup, int kind, int32_t off, unsigned count)
{
	if (t->nstubs == JIT_MAX_STUBS) {
		t->b.full = true; /* cannot happen with the limits above; refuse the block */
		return;
	}
	struct stub *st = &t->stubs[t->nstubs++];
	*st = (struct stub){ .fixup = fixup, .kind = kind, .off = off, .count = count };
	for (int i = 0; i < JIT_NCACHE; i++) { /* the registers dirty at the branch point */
		unsigned g = t->rc.guest[i];
		if (g && (t->rc.dirty & (1u << g))) {
			st->wb_guest[st->nwb] = (uint8_t)g;
			st->wb_host[st->nwb++] = cache_hreg[i];
		}
	}
}

/* cpu->pc = entry pc + off */
static void set_pc(struct tctx *t, int64_t off)
{
	x_load64(&t->b, X_RAX, X_RSP, ENTRY_PC);
	x_addc(&t->b, X_RAX, off, X_RCX);
	x_store64(&t->b, X_RAX, X_RBX, CPU_OFF(pc));
}

/* return (([rsp] - r13 + count) << 1) | side through the epilogue */
static void emit_return(struct tctx *t, unsigned count, int side)
{
	x_load64(&t->b, X_RAX, X_RSP, 0);
	x_alu(&t->b, 1, ALU_SUB, X_RAX, X_R13);
	if (count)
		x_alui(&t->b, 1, ALU_ADD, X_RAX, (int32_t)count);
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
static void emit_jc_lookup(struct tctx *t)
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
static void emit_goto(struct tctx *t, int64_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	int64_t pgoff = (int64_t)t->entry_slot * 2 + off;
	x_alui(b, 1, ALU_SUB, X_R13, (int32_t)count);
	x_alui(b, 1, ALU_CMP, X_R13, RV_JIT_MAX_INSNS);
	uint8_t *low = x_jcc(b, CC_L);
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
		emit_jc_lookup(t);
	}
	x_patch(b, low, b->p);
	set_pc(t, off);
	emit_return(t, 0, 0);
}

/* rax = the host address of a `size`-byte access at x[rs1] + imm through TLB `tlb_off`;
 * jumps to a side exit for this instruction on a miss or a page-crossing access. */
static void emit_tlb(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count, unsigned size,
		     int32_t tlb_off)
{
	struct xbuf *b = &t->b;
	x_lea(b, X_RAX, src_x(t, in->rs1, X_RAX), in->imm); /* imm: 12 bits */
	x_mov(b, X_RCX, X_RAX);
	x_shi(b, 1, SH_SHR, X_RCX, 12);
	x_alui(b, 0, ALU_AND, X_RCX, RV_TLB_SIZE - 1);
	x_shi(b, 0, SH_SHL, X_RCX, 4); /* sizeof(struct rv_tlb_entry) */
	x_alu(b, 1, ALU_ADD, X_RCX, X_RBX);
	/* The tag of the last byte: a page-crossing access cannot match the first byte's entry */
	x_lea(b, X_RDX, X_RAX, (int32_t)size - 1);
	x_alui(b, 1, ALU_AND, X_RDX, -4096);
	x_rm(b, 1, 0x0b, X_RDX, X_RBX, CPU_OFF(tlb_gen)); /* or rdx, [tlb_gen] */
	x_rm(b, 1, 0x3b, X_RDX, X_RCX, tlb_off);	   /* cmp rdx, [entry.tag] */
	add_stub(t, x_jcc(b, CC_NE), STUB_SIDE, off, count);
	x_rm(b, 1, 0x03, X_RAX, X_RCX, tlb_off + 8); /* add rax, [entry.addend] */
}

/* F/D loads and stores need FS != Off; otherwise the interpreter raises illegal-instruction. */
static void emit_fs_check(struct tctx *t, int32_t off, unsigned count)
{
	x_rm(&t->b, 0, 0xf7, 0, X_RBX, CPU_OFF(mstatus)); /* test dword [mstatus], FS */
	x_b4(&t->b, (uint32_t)RV_MS_FS);
	add_stub(t, x_jcc(&t->b, CC_E), STUB_SIDE, off, count);
}

static void emit_load(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	static const unsigned size[] = { [OP_LB] = 1, [OP_LH] = 2, [OP_LW] = 4, [OP_LD] = 8,
					 [OP_LBU] = 1, [OP_LHU] = 2, [OP_LWU] = 4 };
	emit_tlb(t, in, off, count, size[in->op], CPU_OFF(tlb_r));
	int d = in->rd ? rc_def(t, in->rd) : X_RAX; /* a load into x0 still accesses memory */
	switch (in->op) {
	case OP_LB: x_rm(b, 1, 0x0fbe, d, X_RAX, 0); break;  /* movsx d, byte [rax] */
	case OP_LBU: x_rm(b, 0, 0x0fb6, d, X_RAX, 0); break; /* movzx d32, byte [rax] */
	case OP_LH: x_rm(b, 1, 0x0fbf, d, X_RAX, 0); break;
	case OP_LHU: x_rm(b, 0, 0x0fb7, d, X_RAX, 0); break;
	case OP_LW: x_rm(b, 1, 0x63, d, X_RAX, 0); break;	 /* movsxd d, [rax] */
	case OP_LWU: x_rm(b, 0, 0x8b, d, X_RAX, 0); break;	 /* mov d32, [rax] */
	default: x_load64(b, d, X_RAX, 0); break;
	}
}

static void emit_store(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	unsigned size = in->op == OP_SB ? 1 : in->op == OP_SH ? 2 : in->op == OP_SW ? 4 : 8;
	emit_tlb(t, in, off, count, size, CPU_OFF(tlb_w));
	int h = src_x(t, in->rs2, X_RDX);
	if (size == 1) { /* through dl: sil, dil and bpl would need a REX prefix */
		if (h != X_RDX)
			x_mov(b, X_RDX, h);
		x_rm(b, 0, 0x88, X_RDX, X_RAX, 0); /* mov [rax], dl */
	} else if (size == 2) {
		x_b(b, 0x66);
		x_rm(b, 0, 0x89, h, X_RAX, 0);
	} else
		x_rm(b, size == 8, 0x89, h, X_RAX, 0);
}

static void emit_fp_mem(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	bool is_load = in->op == OP_FLW || in->op == OP_FLD;
	unsigned size = in->op == OP_FLW || in->op == OP_FSW ? 4 : 8;
	emit_fs_check(t, off, count);
	emit_tlb(t, in, off, count, size, is_load ? CPU_OFF(tlb_r) : CPU_OFF(tlb_w));
	if (is_load) {
		if (size == 4) {
			x_rm(b, 0, 0x8b, X_RAX, X_RAX, 0);
			x_movi(b, X_RCX, (int64_t)0xffffffff00000000ULL); /* NaN-boxing */
			x_alu(b, 1, ALU_OR, X_RAX, X_RCX);
		} else {
			x_load64(b, X_RAX, X_RAX, 0);
		}
		x_store64(b, X_RAX, X_RBX, FREG(in->rd));
		x_movi(b, X_RCX, (int64_t)(RV_MS_FS | RV_MS_SD)); /* FS = Dirty */
		x_rm(b, 1, 0x09, X_RCX, X_RBX, CPU_OFF(mstatus));  /* or [mstatus], rcx */
	} else {
		x_load64(b, X_RDX, X_RBX, FREG(in->rs2));
		x_rm(b, size == 8, 0x89, X_RDX, X_RAX, 0);
	}
}

/* rd = fn(x[rs1], x[rs2]) through a C helper (pure: reads no guest state) */
static void emit_call2(struct tctx *t, const struct rv_insn *in, uint64_t (*fn)(uint64_t, uint64_t))
{
	load_x(t, X_RDX, in->rs1);
	load_x(t, X_RCX, in->rs2);
	unsigned saved = push_callers(t);
	x_mov(&t->b, X_RDI, X_RDX);
	x_mov(&t->b, X_RSI, X_RCX);
	x_call_abs(&t->b, (const void *)fn);
	pop_callers(t, saved);
	store_x(t, in->rd, X_RAX);
}

/* Any other F/D instruction: rv_exec_fp() on its decoded slot, a trap ends the block. */
static void emit_fp_helper(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	set_pc(t, off); /* the epc if it traps */
	rc_emit_writeback(t); /* it may read any x register, and a trap leaves the block */
	t->rc.dirty = 0;
	unsigned saved = push_callers(t);
	x_mov(b, X_RDI, X_RBX);
	x_movi(b, X_RSI, (int64_t)(uintptr_t)in);
	x_call_abs(b, (const void *)rv_exec_fp);
	pop_callers(t, saved);
	if (in->rd == 0) { /* an integer result written to x0 (feq x0, ...) must not stick */
		x_rm(b, 1, 0xc7, 0, X_RBX, XREG(0));
		x_b4(b, 0);
	} else if (t->rc.slot_of[in->rd] >= 0) { /* x[rd] may have been written */
		rc_unmap(&t->rc, t->rc.slot_of[in->rd]);
	}
	x_rr(b, 0, 0x85, X_RAX, X_RAX);
	uint8_t *ok = x_jcc(b, CC_E);
	/* trapped: cpu->pc is the trap vector, which the interpreter takes from here (a side
	 * exit, so a trap loop still uses up the budget) */
	emit_return(t, count, 1);
	x_patch(b, ok, b->p);
}

/* F/D add, sub, mul, div, sqrt and the fused multiply-adds in SSE (FMA3), where the
 * host's result equals RISC-V's: round to nearest even (static, or dynamic with frm = RNE),
 * FS on, single-precision inputs NaN-boxed, no exception (none at all while fflags.NX is
 * clear, read from MXCSR; with NX set, none but inexact, read from the result's exponent)
 * and a result that is not a NaN (the host would not give the canonical NaN). Anything else
 * clears the host's flags and goes through rv_exec_fp, which computes the result and
 * fflags from scratch. Returns false for the instructions not handled. */
static bool emit_fp_inline(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
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
	emit_fp_helper(t, in, off, count);
	t->rc = fast; /* f rd only: x registers are untouched on both paths */
	x_patch(b, done, b->p);
	return true;
}

/* Integer register-register and register-immediate operations. Returns false for an op
 * this function does not handle. */
static bool emit_alu(struct tctx *t, const struct rv_insn *in)
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
	if (alu >= 0 && use_imm && in->rs1 == 0) { /* li: 0 op imm */
		x_movi(b, rc_def(t, in->rd), alu == ALU_AND ? 0 : imm);
		return true;
	}
	if (alu == ALU_ADD && use_imm && w) { /* addi, mv: one lea or mov */
		int h1 = rc_get(t, in->rs1), hd = rc_def(t, in->rd);
		if (imm != 0)
			x_lea(b, hd, h1, imm);
		else if (hd != h1)
			x_mov(b, hd, h1);
		return true;
	}
	if (alu == ALU_ADD && use_imm && imm == 0) { /* sext.w */
		int h1 = rc_get(t, in->rs1);
		x_movsxd(b, rc_def(t, in->rd), h1);
		return true;
	}
	if (!use_imm && !shift_imm && w && (alu == ALU_ADD || alu == ALU_OR || alu == ALU_XOR) &&
	    (in->rs1 == 0 || in->rs2 == 0)) { /* mv (c.mv is add rd, x0, rs2) */
		int h = src_x(t, in->rs1 ? in->rs1 : in->rs2, X_RAX), hd = rc_def(t, in->rd);
		x_mov(b, hd, h);
		return true;
	}
	/* hd = h1 op h2 (or imm): in place when rd is rs1 or a register neither source is in,
	 * else through rax */
	int h1 = src_x(t, in->rs1, X_RAX), h2 = -1;
	if (!use_imm && !shift_imm)
		h2 = src_x(t, in->rs2, X_RCX);
	int hd = rc_def(t, in->rd), r = hd;
	if (hd == h2 && hd != h1) {
		if (alu >= 0 && alu != ALU_SUB) { /* commutative: hd op= h1 */
			x_alu(b, w, alu, hd, h1);
			if (sext)
				x_movsxd(b, hd, hd);
			return true;
		}
		r = X_RAX;
	}
	if (r != h1)
		x_mov(b, r, h1);
	if (alu >= 0 && use_imm) {
		if (imm != 0 || !w || alu == ALU_AND) /* x + 0, x | 0, x ^ 0 are x */
			x_alui(b, w, alu, r, imm);
	} else if (alu >= 0) {
		x_alu(b, w, alu, r, h2);
	} else if (shift_imm) {
		x_shi(b, w, sh, r, imm);
	} else {
		if (h2 != X_RCX)
			x_mov(b, X_RCX, h2);
		x_shcl(b, w, sh, r); /* the host masks the count as RISC-V does */
	}
	if (sext)
		x_movsxd(b, hd, r);
	else if (r != hd)
		x_mov(b, hd, r);
	return true;
}

static void emit_compare(struct tctx *t, const struct rv_insn *in)
{
	struct xbuf *b = &t->b;
	if (in->rd == 0)
		return;
	load_x(t, X_RAX, in->rs1);
	if (in->op == OP_SLTI || in->op == OP_SLTIU)
		x_alui(b, 1, ALU_CMP, X_RAX, in->imm);
	else {
		load_x(t, X_RCX, in->rs2);
		x_alu(b, 1, ALU_CMP, X_RAX, X_RCX);
	}
	x_setcc(b, (in->op == OP_SLT || in->op == OP_SLTI) ? CC_L : CC_B, X_RAX);
	store_x(t, in->rd, X_RAX);
}

static void emit_mul(struct tctx *t, const struct rv_insn *in)
{
	struct xbuf *b = &t->b;
	load_x(t, X_RAX, in->rs1);
	load_x(t, X_RCX, in->rs2);
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
	store_x(t, in->rd, X_RAX);
}

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
static void bind_forward(struct tctx *t, unsigned n)
{
	bool any = false;
	for (unsigned i = 0; i < t->nfwd; i++) {
		struct fwd *f = &t->fwd[i];
		if (f->target != n)
			continue;
		if (!any) { /* the fall-through path's state: written back, nothing cached */
			rc_emit_writeback(t);
			rc_reset(&t->rc);
			any = true;
		}
		struct stub *s = &t->stubs[f->stub];
		s->kind = STUB_SKIP;
		s->land = t->b.p;
		s->skip = n - (s->count); /* s->count = branch index + 1 */
	}
}

static void emit_branch(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
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
		rc_emit_writeback(t);
		t->rc.dirty = 0;
	}
	int h1 = src_x(t, in->rs1, X_RAX);
	if (in->rs2 == 0)
		x_rr(b, 1, 0x85, h1, h1); /* test: the flags of cmp h1, 0 for these conditions */
	else
		x_alu(b, 1, ALU_CMP, h1, src_x(t, in->rs2, X_RCX));
	add_stub(t, x_jcc(b, cc), STUB_BRANCH, off + in->imm, count + 1);
	if (target >= 0 && !t->b.full)
		t->fwd[t->nfwd++] = (struct fwd){ t->nstubs - 1, (unsigned)target };
}

/* The decoded slot of the instruction at page offset pgoff, decoding it from guest memory
 * if needed; NULL when it straddles the page end. */
static struct rv_insn *slot_at(struct tctx *t, unsigned pgoff)
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
static bool emit_bitmanip_inline(struct tctx *t, const struct rv_insn *in)
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
	load_x(t, X_RAX, in->rs1);
	load_x(t, X_RCX, in->rs2); /* unused by the unary and immediate forms */
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
	store_x(t, in->rd, X_RAX);
	return true;
}

static uint64_t (*bitmanip_helper(unsigned op))(uint64_t, uint64_t)
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

/* Emits one instruction. Returns 1 if the block goes on after it, 0 if it ended the block,
 * -1 if the instruction cannot be compiled (the block ends before it). */
static int emit_insn(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	if (emit_alu(t, in) || emit_bitmanip_inline(t, in))
		return 1;
	uint64_t (*helper)(uint64_t, uint64_t) = bitmanip_helper(in->op);
	if (helper) {
		if (in->rd)
			emit_call2(t, in, helper);
		return 1;
	}
	switch (in->op) {
	case OP_LUI:
		if (in->rd)
			x_movi(b, rc_def(t, in->rd), in->imm);
		return 1;
	case OP_AUIPC:
		if (in->rd) {
			int hd = rc_def(t, in->rd);
			x_load64(b, hd, X_RSP, ENTRY_PC);
			x_addc(b, hd, (int64_t)off + in->imm, X_RCX);
		}
		return 1;
	case OP_SLT: case OP_SLTU: case OP_SLTI: case OP_SLTIU:
		emit_compare(t, in);
		return 1;
	case OP_MUL: case OP_MULW: case OP_MULH: case OP_MULHU:
		if (in->rd)
			emit_mul(t, in);
		return 1;
	case OP_MULHSU: emit_call2(t, in, rv_mulhsu); return 1;
	case OP_DIV: emit_call2(t, in, rv_div); return 1;
	case OP_DIVU: emit_call2(t, in, rv_divu); return 1;
	case OP_REM: emit_call2(t, in, rv_rem); return 1;
	case OP_REMU: emit_call2(t, in, rv_remu); return 1;
	case OP_DIVW: emit_call2(t, in, rv_divw); return 1;
	case OP_DIVUW: emit_call2(t, in, rv_divuw); return 1;
	case OP_REMW: emit_call2(t, in, rv_remw); return 1;
	case OP_REMUW: emit_call2(t, in, rv_remuw); return 1;
	case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
		emit_load(t, in, off, count);
		return 1;
	case OP_SB: case OP_SH: case OP_SW: case OP_SD:
		emit_store(t, in, off, count);
		return 1;
	case OP_FLW: case OP_FLD: case OP_FSW: case OP_FSD:
		emit_fp_mem(t, in, off, count);
		return 1;
	case OP_FP:
		if (!emit_fp_inline(t, in, off, count))
			emit_fp_helper(t, in, off, count);
		return 1;
	case OP_FENCE: case OP_FENCE_I: /* decoded code is dropped on every write already */
		return in->op == OP_FENCE && rv_fence_needs_host(in) ? -1 : 1; /* the interpreter's mfence */
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
		emit_branch(t, in, off, count);
		return 1;
	case OP_JAL:
		if (in->rd) {
			int hd = rc_def(t, in->rd);
			x_load64(b, hd, X_RSP, ENTRY_PC);
			x_alui(b, 1, ALU_ADD, hd, off + (int32_t)in->len);
		}
		rc_emit_writeback(t);
		emit_goto(t, (int64_t)off + in->imm, count + 1);
		return 0;
	case OP_JALR:
		x_lea(b, X_RAX, src_x(t, in->rs1, X_RAX), in->imm);
		x_alui(b, 1, ALU_AND, X_RAX, -2);
		if (in->rd) { /* after reading rs1: rd may be the same register */
			int hd = rc_def(t, in->rd);
			x_load64(b, hd, X_RSP, ENTRY_PC);
			x_alui(b, 1, ALU_ADD, hd, off + (int32_t)in->len);
		}
		rc_emit_writeback(t);
		x_store64(b, X_RAX, X_RBX, CPU_OFF(pc));
		x_alui(b, 1, ALU_SUB, X_R13, (int32_t)count + 1);
		x_alui(b, 1, ALU_CMP, X_R13, RV_JIT_MAX_INSNS);
		uint8_t *low = x_jcc(b, CC_L);
		emit_jc_lookup(t); /* returns and indirect calls chain through the jump cache */
		x_patch(b, low, b->p);
		emit_return(t, 0, 0);
		return 0;
	default: /* system instructions, AMOs, illegal: the interpreter's */
		return -1;
	}
}

static void emit_prologue(struct xbuf *b)
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
	x_mov(b, X_RBX, X_RDI);
	x_mov(b, X_R13, X_RDX);
}

static void emit_stubs(struct tctx *t)
{
	for (unsigned i = 0; i < t->nstubs; i++) {
		const struct stub *s = &t->stubs[i];
		x_patch(&t->b, s->fixup, t->b.p);
		for (unsigned k = 0; k < s->nwb; k++)
			x_store64(&t->b, s->wb_host[k], X_RBX, XREG(s->wb_guest[k]));
		if (s->kind == STUB_SKIP) {
			/* the skipped instructions are counted by every later exit: give them back */
			if (s->skip)
				x_alui(&t->b, 1, ALU_ADD, X_R13, (int32_t)s->skip);
			x_patch(&t->b, x_jmp(&t->b), s->land);
		} else if (s->kind == STUB_SIDE) {
			set_pc(t, s->off);
			emit_return(t, s->count, 1);
		} else {
			emit_goto(t, s->off, s->count);
		}
	}
}

rv_block_fn rv_jit_compile(struct rv_cpu *cpu, uint64_t pc)
{
	struct rv_jit *j = cpu->jit;
	if (JIT_BUF_SIZE - j->used < JIT_BLOCK_ROOM)
		jit_flush(cpu);

	struct tctx t = { .cpu = cpu, .jit = j, .dp = cpu->fetch_dp, .entry_slot = (unsigned)(pc & 0xfff) >> 1 };
	rc_reset(&t.rc);
	for (unsigned pg = (unsigned)(pc & 0xfff); t.nahead < RV_JIT_MAX_INSNS && pg < 4096;) {
		struct rv_insn *in = slot_at(&t, pg);
		if (!in)
			break;
		t.ahead[t.nahead++] = in;
		if (in->op == OP_JAL || in->op == OP_JALR)
			break;
		pg += in->len;
	}
	t.start = j->buf + j->used;
	t.b = (struct xbuf){ t.start, j->buf + JIT_BUF_SIZE, false };
	emit_prologue(&t.b);
	j->body = (size_t)(t.b.p - t.start);
	t.body = t.b.p;

	unsigned pgoff = (unsigned)(pc & 0xfff), n = 0;
	int32_t off = 0;
	int more = 1;
	while (n < RV_JIT_MAX_INSNS && pgoff < 4096) {
		struct rv_insn *in = slot_at(&t, pgoff);
		if (!in)
			break;
		t.cur = n;
		bind_forward(&t, n);
		t.pin = t.rc.clock + 1;
		more = emit_insn(&t, in, off, n);
		if (more < 0)
			break;
		n++;
		off += in->len;
		pgoff += in->len;
		if (!more)
			break;
	}
	if (n == 0 || t.b.full)
		return NULL;
	if (more) { /* ran into the length limit, the page end or an instruction left to C */
		rc_emit_writeback(&t);
		emit_goto(&t, off, n);
	}
	emit_stubs(&t);
	if (t.b.full)
		return NULL;
	if (j->dump)
		jit_dump(j, pc, t.start, (size_t)(t.b.p - t.start));
	j->used = (size_t)(t.b.p - j->buf + 15) & ~(size_t)15;
	j->blocks++;
	t.dp->jit[t.entry_slot] = t.start;
	return (rv_block_fn)(void *)t.start;
}

#else /* no code generator for this host */

int rv_jit_init(struct rv_cpu *cpu, unsigned threshold)
{
	(void)cpu;
	(void)threshold;
	return -ENOSYS;
}

void rv_jit_destroy(struct rv_cpu *cpu)
{
	(void)cpu;
}

rv_block_fn rv_jit_compile(struct rv_cpu *cpu, uint64_t pc)
{
	(void)cpu;
	(void)pc;
	return NULL;
}

void rv_jit_stats(const struct rv_cpu *cpu, uint64_t *blocks, uint64_t *flushes)
{
	(void)cpu;
	*blocks = *flushes = 0;
}

#endif
