/* jit-regs.c - the guest-register cache of a block under translation (jit-priv.h). */
#include "emulator/cpu/jit-priv.h"
#include "emulator/cpu/ops.h"

#include <string.h>

#if defined(__x86_64__)

const uint8_t jit_cache_hreg[JIT_NCACHE] = { X_RSI, X_RDI, X_R8, X_R9, X_R10, X_R11, X_RBP, X_R12, X_R13, X_R14, X_R15 };

void jit_rc_reset(struct rcache *rc)
{
	memset(rc, 0, sizeof(*rc));
	memset(rc->slot_of, -1, sizeof(rc->slot_of));
}

void jit_rc_unmap(struct rcache *rc, int slot)
{
	unsigned g = rc->guest[slot];
	if (g) {
		rc->slot_of[g] = -1;
		rc->dirty &= ~(1u << g);
		rc->sx &= ~(1u << g);
		rc->lazy &= ~(1u << g);
		rc->guest[slot] = 0;
	}
}

/* x registers an instruction reads (rs) and may write (rd), from its op: immediate forms
 * carry immediate bits in rs2 (and lui/auipc/jal in rs1), stores and branches in rd.
 * Ops left to the interpreter or a helper count as reading both fields. */
/* The Zb* ops whose rs2 field is not a register (unary ops, immediate forms). */
bool jit_op_rs2_unused(unsigned op)
{
	switch (op) {
	case OP_SLLI_UW: case OP_CLZ: case OP_CLZW: case OP_CTZ: case OP_CTZW: case OP_CPOP:
	case OP_CPOPW: case OP_SEXT_B: case OP_SEXT_H: case OP_ZEXT_H: case OP_RORI: case OP_RORIW:
	case OP_ORC_B: case OP_REV8: case OP_BCLRI: case OP_BEXTI: case OP_BINVI: case OP_BSETI:
	case OP_BREV8:
		return true;
	default:
		return false;
	}
}

void jit_insn_regs(const struct rv_insn *in, uint32_t *rs, uint32_t *rd)
{
	unsigned op = in->op;
	bool no_rd = (op >= OP_BEQ && op <= OP_BGEU) || (op >= OP_SB && op <= OP_SD) || op == OP_FSW ||
		     op == OP_FSD;
	bool rs1_only = (op >= OP_LB && op <= OP_LWU) || (op >= OP_ADDI && op <= OP_SRAI) ||
			(op >= OP_ADDIW && op <= OP_SRAIW) || op == OP_JALR || (op >= OP_FLW && op <= OP_FSD) ||
			jit_op_rs2_unused(op);
	if (op == OP_LUI || op == OP_AUIPC || op == OP_JAL)
		*rs = 0;
	else if (rs1_only)
		*rs = 1u << in->rs1 & ~1u;
	else
		*rs = (1u << in->rs1 | 1u << in->rs2) & ~1u;
	*rd = no_rd ? 0 : 1u << in->rd & ~1u;
}

/* How far ahead in the block guest register g is read next (from the current instruction
 * on), or RV_JIT_MAX_INSNS when it is written first or not used again. The rs fields of
 * instructions that do not read x registers only make this a worse guess. */
static unsigned next_read(const struct tctx *t, unsigned g)
{
	for (unsigned i = t->cur; i < t->nahead; i++) {
		if (t->rs[i] >> g & 1)
			return i - t->cur;
		if (t->rd[i] >> g & 1)
			break;
	}
	return RV_JIT_MAX_INSNS;
}

/* Ops that never leave the block nor let C code read guest registers, and write rd. */
bool jit_stays_in_block(const struct rv_insn *in)
{
	switch (in->op) {
	case OP_ADDI: case OP_XORI: case OP_ORI: case OP_ANDI: case OP_ADD: case OP_SUB:
	case OP_XOR: case OP_OR: case OP_AND: case OP_ADDIW: case OP_ADDW: case OP_SUBW:
	case OP_SLLI: case OP_SRLI: case OP_SRAI: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
	case OP_SLL: case OP_SRL: case OP_SRA: case OP_SLLW: case OP_SRLW: case OP_SRAW:
	case OP_LUI: case OP_AUIPC: case OP_SLT: case OP_SLTU: case OP_SLTI: case OP_SLTIU:
	case OP_MUL: case OP_MULW:
		return true;
	default:
		return jit_zb_in_block(in->op);
	}
}

/* Is the value of guest register g dead: overwritten, from the current instruction on,
 * before it is read and before any way out of the block (so struct rv_cpu never needs it)? */
static bool dead_value(const struct tctx *t, unsigned g)
{
	for (unsigned i = t->cur; i < t->nahead; i++) {
		const struct rv_insn *in = t->ahead[i];
		if ((t->rs[i] >> g & 1) || !jit_stays_in_block(in))
			return false;
		if (t->rd[i] >> g & 1) /* not in->rd: a shift fusion leaves out writes nothing */
			return true;
	}
	return false;
}

/* Is guest register r (not x0) better read from struct rv_cpu by the current instruction
 * than cached? When it is not cached, no slot is free and every cached register is read
 * again sooner than r (caching r would evict one of them). */
bool jit_rc_mem_ok(const struct tctx *t, unsigned r)
{
	const struct rcache *rc = &t->rc;
	if (rc->slot_of[r] >= 0)
		return false;
	unsigned far = 0;
	for (int i = 0; i < JIT_NCACHE - t->breg; i++) {
		if (!rc->guest[i])
			return false;
		if (rc->used[i] < t->pin) {
			unsigned d = next_read(t, rc->guest[i]);
			far = d > far ? d : far;
		}
	}
	unsigned mine = RV_JIT_MAX_INSNS;
	for (unsigned i = t->cur + 1; i < t->nahead; i++) {
		if (t->rs[i] >> r & 1) {
			mine = i - t->cur;
			break;
		}
		if (t->rd[i] >> r & 1)
			break;
	}
	return mine >= far;
}

/* A cache slot for guest register r (not cached yet): a free one, else the one read again
 * the furthest ahead (a clean one on a tie: no write-back), never one the current
 * instruction uses. A dirty victim is written back first. */
static int rc_alloc(struct tctx *t, unsigned r)
{
	struct rcache *rc = &t->rc;
	int best = -1;
	unsigned best_score = 0;
	for (int i = 0; i < JIT_NCACHE - t->breg; i++) {
		if (!rc->guest[i]) {
			best = i;
			break;
		}
		if (rc->used[i] >= t->pin)
			continue;
		unsigned g = rc->guest[i];
		unsigned score = 2 * next_read(t, g) + (!(rc->dirty & (1u << g)) || dead_value(t, g));
		if (best < 0 || score > best_score) {
			best = i;
			best_score = score;
		}
	}
	if (best < 0) /* cannot happen: an instruction uses at most three slots */
		best = 0;
	unsigned g = rc->guest[best];
	if (g && (rc->dirty & (1u << g)) && !dead_value(t, g)) {
		if (rc->lazy >> g & 1)
			x_movsxd(&t->b, jit_cache_hreg[best], jit_cache_hreg[best]);
		x_store64(&t->b, jit_cache_hreg[best], X_RBX, XREG(g));
	}
	jit_rc_unmap(rc, best);
	rc->guest[best] = (uint8_t)r;
	rc->slot_of[r] = (int8_t)best;
	return best;
}

/* The host register holding guest register r (r != 0), loaded if not cached; only its
 * low 32 bits are right if r is lazy. */
int jit_rc_get_low(struct tctx *t, unsigned r)
{
	struct rcache *rc = &t->rc;
	int s = rc->slot_of[r];
	if (s < 0) {
		s = rc_alloc(t, r);
		x_load64(&t->b, jit_cache_hreg[s], X_RBX, XREG(r));
	}
	rc->used[s] = ++rc->clock;
	return jit_cache_hreg[s];
}

/* The host register holding guest register r (r != 0), loaded if not cached. */
int jit_rc_get(struct tctx *t, unsigned r)
{
	int h = jit_rc_get_low(t, r);
	if (t->rc.lazy >> r & 1) {
		x_movsxd(&t->b, h, h);
		t->rc.lazy &= ~(1u << r);
	}
	return h;
}

/* The host register to write guest register r (r != 0) into; it becomes dirty, and
 * neither sx nor lazy until the caller says so. */
int jit_rc_def(struct tctx *t, unsigned r)
{
	struct rcache *rc = &t->rc;
	int s = rc->slot_of[r];
	if (s < 0)
		s = rc_alloc(t, r);
	rc->used[s] = ++rc->clock;
	rc->dirty |= 1u << r;
	rc->sx &= ~(1u << r);
	rc->lazy &= ~(1u << r);
	return jit_cache_hreg[s];
}

/* The host register holding x[r]: the cached one, or `scratch` zeroed for x0. */
int jit_src_x(struct tctx *t, unsigned r, int scratch)
{
	if (r == 0) {
		x_rr(&t->b, 0, 0x33, scratch, scratch); /* xor r32, r32 */
		return scratch;
	}
	return jit_rc_get(t, r);
}

/* jit_src_x for readers of the low 32 bits only */
int jit_src_x_low(struct tctx *t, unsigned r, int scratch)
{
	if (r == 0) {
		x_rr(&t->b, 0, 0x33, scratch, scratch);
		return scratch;
	}
	return jit_rc_get_low(t, r);
}

/* Sign-extends every lazy register in place (same value, full width). */
static void materialize_of(struct tctx *t, const struct rcache *rc)
{
	for (int i = 0; i < JIT_NCACHE; i++)
		if (rc->guest[i] && (rc->lazy >> rc->guest[i] & 1))
			x_movsxd(&t->b, jit_cache_hreg[i], jit_cache_hreg[i]);
}

void jit_rc_materialize(struct tctx *t)
{
	materialize_of(t, &t->rc);
	t->rc.lazy = 0;
}

/* Stores every register dirty in cache state rc (which is unchanged: callers decide). */
void jit_rc_writeback_of(struct tctx *t, const struct rcache *rc)
{
	materialize_of(t, rc);
	for (int i = 0; i < JIT_NCACHE; i++)
		if (rc->guest[i] && (rc->dirty & (1u << rc->guest[i])))
			x_store64(&t->b, jit_cache_hreg[i], X_RBX, XREG(rc->guest[i]));
}

void jit_rc_emit_writeback(struct tctx *t)
{
	jit_rc_writeback_of(t, &t->rc);
	t->rc.lazy = 0;
}

/* Emits the code that turns cache state `from` into `to` (rax is clobbered): a register
 * dirty in `from` is stored unless `to` holds it dirty, then every register `to` holds is
 * moved into its slot (a parallel move, cycles broken through rax) or loaded. */
void jit_rc_conform(struct tctx *t, const struct rcache *from, const struct rcache *to)
{
	enum { NONE = -2, LOAD = -1, IN_RAX = JIT_NCACHE };
	int src[JIT_NCACHE];
	materialize_of(t, from); /* `to` has no lazy register */
	for (int i = 0; i < JIT_NCACHE; i++) {
		unsigned g = from->guest[i];
		if (g && (from->dirty >> g & 1) && (to->slot_of[g] < 0 || !(to->dirty >> g & 1)))
			x_store64(&t->b, jit_cache_hreg[i], X_RBX, XREG(g));
	}
	for (int j = 0; j < JIT_NCACHE; j++) {
		unsigned g = to->guest[j];
		src[j] = !g ? NONE : from->slot_of[g] < 0 ? LOAD : from->slot_of[g] == j ? NONE : from->slot_of[g];
	}
	for (bool pending = true; pending;) {
		pending = false;
		bool progress = false;
		for (int j = 0; j < JIT_NCACHE; j++) {
			if (src[j] < 0)
				continue;
			bool read = false; /* is slot j still the source of another move? */
			for (int k = 0; k < JIT_NCACHE; k++)
				read |= src[k] == j;
			if (read) {
				pending = true;
				continue;
			}
			x_mov(&t->b, jit_cache_hreg[j], src[j] == IN_RAX ? X_RAX : jit_cache_hreg[src[j]]);
			src[j] = NONE;
			progress = true;
		}
		if (pending && !progress) { /* only cycles left: park one source in rax */
			int j = 0;
			while (src[j] < 0 || src[j] == IN_RAX)
				j++;
			int k = 0;
			while (src[k] != j)
				k++;
			x_mov(&t->b, X_RAX, jit_cache_hreg[j]);
			src[k] = IN_RAX;
		}
	}
	for (int j = 0; j < JIT_NCACHE; j++)
		if (src[j] == LOAD)
			x_load64(&t->b, jit_cache_hreg[j], X_RBX, XREG(to->guest[j]));
}

/* At the start of a loop block: loads the registers the block uses first into the cache,
 * in their order of first use, and makes that the loop head's state; the ones the block
 * writes are taken as dirty there, so the back edge need not store them. */
void jit_rc_enter_loop(struct tctx *t)
{
	struct rcache *h = &t->head;
	jit_rc_reset(h);
	uint32_t written = 0, all = 0;
	for (unsigned i = 0; i < t->loop_end; i++)
		all |= t->rs[i] | t->rd[i];
	t->breg = __builtin_popcount(all) < JIT_NCACHE;
	int n = 0;
	for (unsigned i = 0; i < t->loop_end; i++) {
		uint32_t rs = t->rs[i], rd = t->rd[i];
		written |= rd;
		uint8_t order[3] = { t->ahead[i]->rs1, t->ahead[i]->rs2, t->ahead[i]->rd };
		for (int k = 0; k < 3; k++) {
			unsigned g = order[k];
			if (g && ((rs | rd) >> g & 1) && h->slot_of[g] < 0 && n < JIT_NCACHE - t->breg) {
				h->guest[n] = (uint8_t)g;
				h->slot_of[g] = (int8_t)n;
				x_load64(&t->b, jit_cache_hreg[n], X_RBX, XREG(g));
				n++;
			}
		}
	}
	for (int i = 0; i < n; i++)
		if (written >> h->guest[i] & 1)
			h->dirty |= 1u << h->guest[i];
	if (t->breg)
		x_load64(&t->b, BREG, X_RSP, LEFT);
	t->rc = *h;
	t->loop_head = t->b.p;
}

/* hreg = x[r] */
void jit_load_x(struct tctx *t, int hreg, unsigned r)
{
	int h = jit_src_x(t, r, hreg);
	if (h != hreg)
		x_mov(&t->b, hreg, h);
}

/* x[r] = hreg */
void jit_store_x(struct tctx *t, unsigned r, int hreg)
{
	if (r != 0)
		x_mov(&t->b, jit_rc_def(t, r), hreg);
}

/* Pushes the cache registers C calls clobber (those holding a guest register); returns
 * what jit_pop_callers needs. Keeps rsp 16-byte aligned. */
unsigned jit_push_callers(struct tctx *t)
{
	unsigned mask = 0, n = 0;
	for (int i = 0; i < JIT_NCACHE; i++) {
		int h = jit_cache_hreg[i];
		if (t->rc.guest[i] && h != X_RBP && h != X_R12 && h != X_R13 && h != X_R14 && h != X_R15) {
			mask |= 1u << i;
			x_push(&t->b, h);
			n++;
		}
	}
	if (n & 1)
		x_alui(&t->b, 1, ALU_SUB, X_RSP, 8);
	return mask | (n & 1) << 31;
}

void jit_pop_callers(struct tctx *t, unsigned saved)
{
	if (saved >> 31)
		x_alui(&t->b, 1, ALU_ADD, X_RSP, 8);
	for (int i = JIT_NCACHE - 1; i >= 0; i--)
		if (saved & (1u << i))
			x_pop(&t->b, jit_cache_hreg[i]);
}
#endif
