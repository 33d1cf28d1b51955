/* jit-fuse.c - idiom fusion over a block's instructions before emission (jit-priv.h).
 *
 * RV64GC without Zbb has no rotate: a rotate is srl(i)w X, s, n; sll(i)w Y, s, 32 - n and
 * or Z, X, Y (in any order, often interleaved with other work by the compiler). The or
 * becomes one host rotate of s, and a shift whose result nobody else ever sees (its
 * register is Z, or is overwritten before it is read and before any way out of the
 * block) is not emitted at all. sha256's sigma functions are six such rotates per round.
 */
#include "emulator/cpu/jit-priv.h"
#include "emulator/cpu/ops.h"

#include <string.h>

#if defined(__x86_64__)

/* The index of the last instruction before k writing guest register g, or -1. */
static int last_def(const struct tctx *t, unsigned k, unsigned g)
{
	for (int i = (int)k - 1; i >= 0; i--)
		if (t->rd[i] >> g & 1)
			return i;
	return -1;
}

/* Do the instructions from a to before b all stay in the block (plain register ops)? */
static bool plain_between(const struct tctx *t, unsigned a, unsigned b)
{
	for (unsigned i = a; i < b; i++)
		if (!jit_stays_in_block(t->ahead[i]))
			return false;
	return true;
}

/* Is g read by an instruction strictly between a and b? */
static bool read_between(const struct tctx *t, unsigned a, unsigned b, unsigned g)
{
	for (unsigned i = a + 1; i < b; i++)
		if (t->rs[i] >> g & 1)
			return true;
	return false;
}

/* After instruction k, is g overwritten before it is read and before any way out? */
static bool dead_after(const struct tctx *t, unsigned k, unsigned g)
{
	for (unsigned i = k + 1; i < t->nahead; i++) {
		if ((t->rs[i] >> g & 1) || !jit_stays_in_block(t->ahead[i]))
			return false;
		if (t->rd[i] >> g & 1)
			return true;
	}
	return false;
}

/* The block index a branch at index i lands on, if it is ahead in the block; else -1. */
static int branch_target(const struct tctx *t, unsigned i)
{
	int32_t o = 0, imm = t->ahead[i]->imm;
	for (unsigned m = i; m < t->nahead && o <= imm; m++) {
		if (o == imm && m > i)
			return (int)m;
		o += t->ahead[m]->len;
	}
	return -1;
}

/* Can the shift at d into register g, read by instruction k, be left out: no one but k
 * ever sees its value (g is k's destination or overwritten after k before it is read and
 * before any way out), and nothing between d and k can leave the block? */
static bool elidable(const struct tctx *t, unsigned d, unsigned k, unsigned g)
{
	const struct rv_insn *in = t->ahead[k];
	return (in->rd == g || dead_after(t, k, g)) && plain_between(t, d, k) && !read_between(t, d, k, g);
}

/* Does the shift pair (sr: right, sl: left) make a rotate right of their common source? */
static bool rotate_pair(const struct rv_insn *sr, const struct rv_insn *sl, bool *w)
{
	if (sr->rs1 != sl->rs1 || sr->rs1 == 0)
		return false;
	*w = sr->op == OP_SRLIW;
	if (*w)
		return sl->op == OP_SLLIW && sr->imm > 0 && sr->imm + sl->imm == 32;
	return sr->op == OP_SRLI && sl->op == OP_SLLI && sr->imm > 0 && sr->imm + sl->imm == 64;
}

/* Tries instruction k as the combining op of a rotate (lands: the block indices forward
 * branches land on). */
static void fuse_rotate(struct tctx *t, unsigned k, uint64_t lands)
{
	const struct rv_insn *in = t->ahead[k];
	if ((in->op != OP_OR && in->op != OP_XOR && in->op != OP_ADD) || in->rd == 0 || in->rs1 == 0 ||
	    in->rs2 == 0 || in->rs1 == in->rs2)
		return;
	int a = last_def(t, k, in->rs1), b = last_def(t, k, in->rs2);
	if (a < 0 || b < 0 || t->fuse[a] || t->fuse[b])
		return;
	bool w;
	int r = a; /* the right shift */
	if (!rotate_pair(t->ahead[a], t->ahead[b], &w)) {
		r = b;
		if (!rotate_pair(t->ahead[b], t->ahead[a], &w))
			return;
	}
	unsigned s = t->ahead[r]->rs1, first = (unsigned)(a < b ? a : b), second = (unsigned)(a < b ? b : a);
	uint64_t span = (2ull << k) - 1 - ((2ull << first) - 1); /* (first, k] */
	if (lands & span)
		return; /* another path reaches k without both shifts */
	bool ea = elidable(t, (unsigned)a, k, in->rs1), eb = elidable(t, (unsigned)b, k, in->rs2);
	if (!ea && !eb)
		return; /* nothing saved */
	/* s must hold its value from the first shift to the or: only the second shift may
	 * write it (x = x << m after y = x >> n), and then it is left out */
	bool second_out = second == (unsigned)a ? ea : eb;
	if (t->ahead[first]->rd == s || (t->ahead[second]->rd == s && !second_out))
		return;
	for (unsigned i = first + 1; i < k; i++)
		if (i != second && (t->rd[i] >> s & 1))
			return;
	/* the registers each reads and writes now (eviction choices, later patterns) */
	if (ea)
		t->fuse[a] = FUSE_ELIDE, t->rs[a] = t->rd[a] = 0;
	if (eb)
		t->fuse[b] = FUSE_ELIDE, t->rs[b] = t->rd[b] = 0;
	t->rs[k] = 1u << s;
	t->fuse[k] = w ? FUSE_RORW : FUSE_ROR;
	t->fuse_src[k] = (uint8_t)s;
	t->fuse_n[k] = (uint8_t)t->ahead[r]->imm;
}

void jit_fuse_block(struct tctx *t)
{
	memset(t->fuse, 0, sizeof(t->fuse));
	uint64_t lands = 0;
	for (unsigned i = 0; i < t->nahead; i++) {
		unsigned op = t->ahead[i]->op;
		if (op >= OP_BEQ && op <= OP_BGEU) {
			int m = branch_target(t, i);
			if (m >= 0)
				lands |= 1ull << m;
		}
	}
	for (unsigned k = 0; k < t->nahead; k++)
		fuse_rotate(t, k, lands);
}

/* Emits instruction t->cur if fusion decided its code; false if it is emitted as usual. */
bool jit_emit_fused(struct tctx *t)
{
	unsigned k = t->cur, f = t->fuse[k];
	if (f == FUSE_NONE)
		return false;
	if (f == FUSE_ELIDE)
		return true;
	const struct rv_insn *in = t->ahead[k];
	bool w = f == FUSE_RORW;
	unsigned s = t->fuse_src[k];
	int hs = w ? jit_rc_get_low(t, s) : jit_rc_get(t, s), hd = jit_rc_def(t, in->rd);
	if (hd != hs)
		x_mov(&t->b, hd, hs);
	x_shi(&t->b, !w, SH_ROR, hd, t->fuse_n[k]);
	if (w)
		t->rc.sx |= 1u << in->rd, t->rc.lazy |= 1u << in->rd;
	return true;
}
#endif
