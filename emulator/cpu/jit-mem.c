/* jit-mem.c - loads and stores through the inline host-TLB hit path (jit-priv.h). */
#include "emulator/cpu/jit-priv.h"
#include "emulator/cpu/ops.h"

#if defined(__x86_64__)

/* rax = the host address of a `size`-byte access at x[rs1] + imm through TLB `tlb_off`;
 * jumps to a side exit for this instruction on a miss or a page-crossing access. With
 * `pair`, the write TLB must hit for the same page too, and its addend goes to [rsp + WADD]
 * for the store that reuses this check (pair_store). */
static void emit_tlb(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count, unsigned size,
		     int32_t tlb_off, bool pair)
{
	struct xbuf *b = &t->b;
	int base = jit_src_x(t, in->rs1, X_RAX);
	if (in->imm) /* imm: 12 bits */
		x_lea(b, X_RAX, base, in->imm);
	else if (base != X_RAX)
		x_mov(b, X_RAX, base);
	/* rcx = the entry's offset in its TLB, ((va >> 12) % RV_TLB_SIZE) * 16, in two steps */
	x_mov(b, X_RCX, X_RAX);
	x_shi(b, 1, SH_SHR, X_RCX, 12 - 4);
	x_alui(b, 0, ALU_AND, X_RCX, (RV_TLB_SIZE - 1) << 4); /* sizeof(struct rv_tlb_entry) */
	/* The tag of the last byte: a page-crossing access cannot match the first byte's entry */
	x_lea(b, X_RDX, X_RAX, (int32_t)size - 1);
	x_alui(b, 1, ALU_AND, X_RDX, -4096);
	x_rm(b, 1, 0x0b, X_RDX, X_RBX, CPU_OFF(tlb_gen));	/* or rdx, [tlb_gen] */
	x_rm_bi(b, 1, 0x3b, X_RDX, X_RBX, X_RCX, tlb_off); /* cmp rdx, [entry.tag] */
	jit_add_stub(t, x_jcc(b, CC_NE), STUB_SIDE, off, count);
	if (pair) {
		x_rm_bi(b, 1, 0x3b, X_RDX, X_RBX, X_RCX, CPU_OFF(tlb_w));
		jit_add_stub(t, x_jcc(b, CC_NE), STUB_SIDE, off, count);
		x_rm_bi(b, 1, 0x8b, X_RDX, X_RBX, X_RCX, CPU_OFF(tlb_w) + 8); /* mov rdx, [addend] */
		x_store64(b, X_RDX, X_RSP, WADD);
	}
	x_rm_bi(b, 1, 0x03, X_RAX, X_RBX, X_RCX, tlb_off + 8); /* add rax, [entry.addend] */
}

static bool is_store(unsigned op) { return op >= OP_SB && op <= OP_SD; }

/* The store a load at the current instruction can make its write-TLB check for: the next
 * store through the same base register and offset, within a few instructions, with the base
 * unchanged in between and no branch from before the load landing between the two (so
 * every path to the store went through the load's check). The block index + 1, or 0. TLB
 * entries change only outside blocks (C code, other harts between batches). */
static unsigned pair_store(const struct tctx *t, const struct rv_insn *ld)
{
	unsigned i = t->cur, base = ld->rs1, j = 0;
	if (base == 0 || ld->rd == base)
		return 0;
	for (unsigned k = i + 1; k < t->nahead && k <= i + 16; k++) {
		const struct rv_insn *in = t->ahead[k];
		if (is_store(in->op) && in->rs1 == base && in->imm == ld->imm) {
			j = k;
			break;
		}
		if ((t->rd[k] >> base & 1) || in->op == OP_JAL || in->op == OP_JALR)
			return 0;
	}
	if (!j)
		return 0;
	int32_t o = 0, oi = 0, oj = 0;
	for (unsigned k = 0; k <= j; k++) {
		oi = k == i ? o : oi;
		oj = k == j ? o : oj;
		o += t->ahead[k]->len;
	}
	o = 0;
	for (unsigned k = 0; k < i; k++) {
		const struct rv_insn *in = t->ahead[k];
		bool br = (in->op >= OP_BEQ && in->op <= OP_BGEU) || in->op == OP_JAL;
		if (br && o + in->imm > oi && o + in->imm <= oj)
			return 0;
		o += in->len;
	}
	return j + 1;
}

/* F/D loads and stores need FS != Off; otherwise the interpreter raises illegal-instruction. */
static void emit_fs_check(struct tctx *t, int32_t off, unsigned count)
{
	x_rm(&t->b, 0, 0xf7, 0, X_RBX, CPU_OFF(mstatus)); /* test dword [mstatus], FS */
	x_b4(&t->b, (uint32_t)RV_MS_FS);
	jit_add_stub(t, x_jcc(&t->b, CC_E), STUB_SIDE, off, count);
}

void jit_emit_load(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	static const unsigned size[] = { [OP_LB] = 1, [OP_LH] = 2, [OP_LW] = 4, [OP_LD] = 8,
					 [OP_LBU] = 1, [OP_LHU] = 2, [OP_LWU] = 4 };
	static const unsigned stsize[] = { [OP_SB] = 1, [OP_SH] = 2, [OP_SW] = 4, [OP_SD] = 8 };
	t->pair_store = pair_store(t, in);
	unsigned span = size[in->op];
	if (t->pair_store) {
		unsigned s = stsize[t->ahead[t->pair_store - 1]->op];
		span = s > span ? s : span;
	}
	emit_tlb(t, in, off, count, span, CPU_OFF(tlb_r), t->pair_store != 0);
	int d = in->rd ? jit_rc_def(t, in->rd) : X_RAX; /* a load into x0 still accesses memory */
	if (in->rd && in->op != OP_LD && in->op != OP_LWU) /* sign- or zero-extended below 2^31 */
		t->rc.sx |= 1u << in->rd;
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

void jit_emit_store(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	unsigned size = in->op == OP_SB ? 1 : in->op == OP_SH ? 2 : in->op == OP_SW ? 4 : 8;
	bool paired = t->pair_store == t->cur + 1;
	int hb = -1;
	int32_t disp = 0;
	if (paired) { /* a load checked this page for writing: host = x[rs1] + imm + [rsp + WADD] */
		hb = jit_src_x(t, in->rs1, X_RAX);
		disp = in->imm;
		t->pair_store = 0;
	} else {
		emit_tlb(t, in, off, count, size, CPU_OFF(tlb_w), false);
	}
	int h = size < 8 ? jit_src_x_low(t, in->rs2, X_RDX) : jit_src_x(t, in->rs2, X_RDX);
	if (size == 1 && h != X_RDX) { /* through dl: sil, dil and bpl would need a REX prefix */
		x_mov(b, X_RDX, h);
		h = X_RDX;
	}
	if (paired)
		x_load64(b, X_RAX, X_RSP, WADD);
	if (size == 2)
		x_b(b, 0x66);
	unsigned op = size == 1 ? 0x88 : 0x89;
	if (paired)
		x_rm_bi(b, size == 8, op, h, X_RAX, hb, disp);
	else
		x_rm(b, size == 8, op, h, X_RAX, 0);
}

void jit_emit_fp_mem(struct tctx *t, const struct rv_insn *in, int32_t off, unsigned count)
{
	struct xbuf *b = &t->b;
	bool is_load = in->op == OP_FLW || in->op == OP_FLD;
	unsigned size = in->op == OP_FLW || in->op == OP_FSW ? 4 : 8;
	emit_fs_check(t, off, count);
	emit_tlb(t, in, off, count, size, is_load ? CPU_OFF(tlb_r) : CPU_OFF(tlb_w), false);
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
#endif
