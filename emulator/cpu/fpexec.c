/* fpexec.c - F and D instructions: register file, NaN-boxing, sign injection, moves, FS
 * tracking and rounding-mode resolution. The arithmetic itself is the FPU module's
 * (fpu.h), which works on raw bit patterns. */
#include "emulator/cpu/cpu.h"
#include "emulator/cpu/fp16.h"
#include "emulator/cpu/fpu.h"
#include "emulator/cpu/mem.h"
#include "emulator/cpu/ops.h"
#include "emulator/cpu/zfa.h"

#define F32_SIGN 0x80000000u
#define F64_SIGN 0x8000000000000000ULL
#define BOX 0xffffffff00000000ULL

/* A narrower value not properly NaN-boxed reads as the canonical NaN. */
static uint32_t get_s(const struct rv_cpu *cpu, unsigned r)
{
	uint64_t v = cpu->f[r];
	return (v & BOX) == BOX ? (uint32_t)v : RV_F32_CNAN;
}

static void set_s(struct rv_cpu *cpu, unsigned r, uint32_t v)
{
	cpu->f[r] = BOX | v;
	rv_mark_fs_dirty(cpu);
}

static void set_d(struct rv_cpu *cpu, unsigned r, uint64_t v)
{
	cpu->f[r] = v;
	rv_mark_fs_dirty(cpu);
}

static void set_x(struct rv_cpu *cpu, unsigned r, uint64_t v)
{
	if (r)
		cpu->x[r] = v;
}

static int fail(struct rv_cpu *cpu, const struct rv_insn *in)
{
	rv_raise(cpu, RV_EXC_ILLEGAL, in->raw);
	return -1;
}

static int exec_mem(struct rv_cpu *cpu, const struct rv_insn *in)
{
	uint64_t va = cpu->x[in->rs1] + (uint64_t)(int64_t)in->imm, v;
	switch (in->op) {
	case OP_FLW:
		if (rv_load(cpu, va, 4, &v))
			return -1;
		set_s(cpu, in->rd, (uint32_t)v);
		return 0;
	case OP_FLD:
		if (rv_load(cpu, va, 8, &v))
			return -1;
		set_d(cpu, in->rd, v);
		return 0;
	case OP_FSW:
		return rv_store(cpu, va, 4, (uint32_t)cpu->f[in->rs2]);
	default:
		return rv_store(cpu, va, 8, cpu->f[in->rs2]);
	}
}

#ifdef RV_NO_FPU
/* Built without the FPU module: only moves and memory work. */
int rv_exec_fp(struct rv_cpu *cpu, const struct rv_insn *in)
{
	if ((cpu->mstatus & RV_MS_FS) == 0)
		return fail(cpu, in);
	if (in->op != OP_FP)
		return exec_mem(cpu, in);
	return fail(cpu, in);
}
#else

static int exec_fma(struct rv_cpu *cpu, const struct rv_insn *in, uint32_t r, int rm, uint32_t *ff)
{
	unsigned opc = r & 0x7f, fmt = (r >> 25) & 3;
	unsigned rs1 = in->rs1, rs2 = in->rs2, rs3 = in->rs3;
	if (fmt == 0) {
		uint32_t a = get_s(cpu, rs1), b = get_s(cpu, rs2), c = get_s(cpu, rs3), v;
		v = opc == 0x43 ? rv_f32_madd(a, b, c, rm, ff)
		  : opc == 0x47 ? rv_f32_msub(a, b, c, rm, ff)
		  : opc == 0x4b ? rv_f32_nmsub(a, b, c, rm, ff)
				: rv_f32_nmadd(a, b, c, rm, ff);
		set_s(cpu, in->rd, v);
	} else if (fmt == 1) {
		uint64_t a = cpu->f[rs1], b = cpu->f[rs2], c = cpu->f[rs3], v;
		v = opc == 0x43 ? rv_f64_madd(a, b, c, rm, ff)
		  : opc == 0x47 ? rv_f64_msub(a, b, c, rm, ff)
		  : opc == 0x4b ? rv_f64_nmsub(a, b, c, rm, ff)
				: rv_f64_nmadd(a, b, c, rm, ff);
		set_d(cpu, in->rd, v);
	} else {
		return -1;
	}
	return 0;
}

/* OP-FP with a single-precision format (funct7 bit 0 clear). Returns -1 if illegal. */
static int exec_s(struct rv_cpu *cpu, const struct rv_insn *in, unsigned f7, int rm, uint32_t *ff)
{
	uint32_t a = get_s(cpu, in->rs1), b = get_s(cpu, in->rs2);
	unsigned f3 = in->rm, rd = in->rd;
	switch (f7) {
	case 0x00: set_s(cpu, rd, rv_f32_add(a, b, rm, ff)); return 0;
	case 0x04: set_s(cpu, rd, rv_f32_sub(a, b, rm, ff)); return 0;
	case 0x08: set_s(cpu, rd, rv_f32_mul(a, b, rm, ff)); return 0;
	case 0x0c: set_s(cpu, rd, rv_f32_div(a, b, rm, ff)); return 0;
	case 0x2c: if (in->rs2) return -1; set_s(cpu, rd, rv_f32_sqrt(a, rm, ff)); return 0;
	case 0x10:
		if (f3 > 2)
			return -1;
		set_s(cpu, rd, (a & ~F32_SIGN) | (f3 == 0 ? b & F32_SIGN : f3 == 1 ? ~b & F32_SIGN : (a ^ b) & F32_SIGN));
		return 0;
	case 0x14:
		if (f3 > 1)
			return -1;
		set_s(cpu, rd, f3 ? rv_f32_max(a, b, ff) : rv_f32_min(a, b, ff));
		return 0;
	case 0x20: /* fcvt.s.d */
		if (in->rs2 != 1)
			return -1;
		set_s(cpu, rd, rv_f64_to_f32(cpu->f[in->rs1], rm, ff));
		return 0;
	case 0x50:
		if (f3 > 2)
			return -1;
		set_x(cpu, rd, (uint64_t)(f3 == 0 ? rv_f32_le(a, b, ff) : f3 == 1 ? rv_f32_lt(a, b, ff) : rv_f32_eq(a, b, ff)));
		return 0;
	case 0x60:
		switch (in->rs2) {
		case 0: set_x(cpu, rd, (uint64_t)rv_f32_to_i32(a, rm, ff)); return 0;
		case 1: set_x(cpu, rd, (uint64_t)rv_f32_to_u32(a, rm, ff)); return 0;
		case 2: set_x(cpu, rd, (uint64_t)rv_f32_to_i64(a, rm, ff)); return 0;
		case 3: set_x(cpu, rd, rv_f32_to_u64(a, rm, ff)); return 0;
		default: return -1;
		}
	case 0x68: {
		uint64_t xv = cpu->x[in->rs1];
		switch (in->rs2) {
		case 0: set_s(cpu, rd, rv_i32_to_f32((int32_t)xv, rm, ff)); return 0;
		case 1: set_s(cpu, rd, rv_u32_to_f32((uint32_t)xv, rm, ff)); return 0;
		case 2: set_s(cpu, rd, rv_i64_to_f32((int64_t)xv, rm, ff)); return 0;
		case 3: set_s(cpu, rd, rv_u64_to_f32(xv, rm, ff)); return 0;
		default: return -1;
		}
	}
	case 0x70:
		if (in->rs2)
			return -1;
		if (f3 == 0) /* fmv.x.w: raw low bits, no unboxing */
			set_x(cpu, rd, (uint64_t)(int64_t)(int32_t)(uint32_t)cpu->f[in->rs1]);
		else if (f3 == 1)
			set_x(cpu, rd, rv_f32_classify(a));
		else
			return -1;
		return 0;
	case 0x78:
		if (in->rs2 || f3)
			return -1;
		set_s(cpu, rd, (uint32_t)cpu->x[in->rs1]);
		return 0;
	default:
		return -1;
	}
}

static int exec_d(struct rv_cpu *cpu, const struct rv_insn *in, unsigned f7, int rm, uint32_t *ff)
{
	uint64_t a = cpu->f[in->rs1], b = cpu->f[in->rs2];
	unsigned f3 = in->rm, rd = in->rd;
	switch (f7) {
	case 0x01: set_d(cpu, rd, rv_f64_add(a, b, rm, ff)); return 0;
	case 0x05: set_d(cpu, rd, rv_f64_sub(a, b, rm, ff)); return 0;
	case 0x09: set_d(cpu, rd, rv_f64_mul(a, b, rm, ff)); return 0;
	case 0x0d: set_d(cpu, rd, rv_f64_div(a, b, rm, ff)); return 0;
	case 0x2d: if (in->rs2) return -1; set_d(cpu, rd, rv_f64_sqrt(a, rm, ff)); return 0;
	case 0x11:
		if (f3 > 2)
			return -1;
		set_d(cpu, rd, (a & ~F64_SIGN) | (f3 == 0 ? b & F64_SIGN : f3 == 1 ? ~b & F64_SIGN : (a ^ b) & F64_SIGN));
		return 0;
	case 0x15:
		if (f3 > 1)
			return -1;
		set_d(cpu, rd, f3 ? rv_f64_max(a, b, ff) : rv_f64_min(a, b, ff));
		return 0;
	case 0x21: /* fcvt.d.s */
		if (in->rs2 != 0)
			return -1;
		set_d(cpu, rd, rv_f32_to_f64(get_s(cpu, in->rs1), ff));
		return 0;
	case 0x51:
		if (f3 > 2)
			return -1;
		set_x(cpu, rd, (uint64_t)(f3 == 0 ? rv_f64_le(a, b, ff) : f3 == 1 ? rv_f64_lt(a, b, ff) : rv_f64_eq(a, b, ff)));
		return 0;
	case 0x61:
		switch (in->rs2) {
		case 0: set_x(cpu, rd, (uint64_t)rv_f64_to_i32(a, rm, ff)); return 0;
		case 1: set_x(cpu, rd, (uint64_t)rv_f64_to_u32(a, rm, ff)); return 0;
		case 2: set_x(cpu, rd, (uint64_t)rv_f64_to_i64(a, rm, ff)); return 0;
		case 3: set_x(cpu, rd, rv_f64_to_u64(a, rm, ff)); return 0;
		default: return -1;
		}
	case 0x69: {
		uint64_t xv = cpu->x[in->rs1];
		switch (in->rs2) {
		case 0: set_d(cpu, rd, rv_i32_to_f64((int32_t)xv, rm, ff)); return 0;
		case 1: set_d(cpu, rd, rv_u32_to_f64((uint32_t)xv, rm, ff)); return 0;
		case 2: set_d(cpu, rd, rv_i64_to_f64((int64_t)xv, rm, ff)); return 0;
		case 3: set_d(cpu, rd, rv_u64_to_f64(xv, rm, ff)); return 0;
		default: return -1;
		}
	}
	case 0x71:
		if (in->rs2)
			return -1;
		if (f3 == 0)
			set_x(cpu, rd, a);
		else if (f3 == 1)
			set_x(cpu, rd, rv_f64_classify(a));
		else
			return -1;
		return 0;
	case 0x79:
		if (in->rs2 || f3)
			return -1;
		set_d(cpu, rd, cpu->x[in->rs1]);
		return 0;
	default:
		return -1;
	}
}

/* Zfa's F/D encodings (fmt = funct7 bit 0): 1 if r is not one of them, 0 done, -1 illegal. */
static int exec_zfa(struct rv_cpu *cpu, const struct rv_insn *in, unsigned f7, int rm, uint32_t *ff)
{
	int fmt = f7 & 1;
	unsigned f3 = in->rm, rd = in->rd;
	uint64_t a = fmt ? cpu->f[in->rs1] : get_s(cpu, in->rs1), b = fmt ? cpu->f[in->rs2] : get_s(cpu, in->rs2), v;
	switch (f7 & ~1u) {
	case 0x78: /* fli */
		if (in->rs2 != 1 || f3 != 0)
			return 1;
		v = rv_zfa_fli(fmt, in->rs1);
		break;
	case 0x14: /* fminm, fmaxm */
		if (f3 != 2 && f3 != 3)
			return 1;
		v = rv_zfa_minmax(fmt, a, b, f3 == 3, ff);
		break;
	case 0x20: /* fround, froundnx (fmt of rs2 field 4/5) */
		if (in->rs2 != 4 && in->rs2 != 5)
			return 1;
		v = rv_zfa_round(fmt, a, rm, in->rs2 == 5, ff);
		break;
	case 0x50: /* fleq, fltq */
		if (f3 != 4 && f3 != 5)
			return 1;
		set_x(cpu, rd, (uint64_t)rv_zfa_cmpq(fmt, a, b, f3 == 5, ff));
		return 0;
	case 0x60: /* fcvtmod.w.d: D only, rtz only */
		if (!fmt || in->rs2 != 8)
			return 1;
		if (f3 != RV_RM_RTZ)
			return -1;
		set_x(cpu, rd, (uint64_t)rv_zfa_fcvtmod(a, ff));
		return 0;
	default: /* fmvh.x.d and fmvp.d.x exist on RV32 only */
		return 1;
	}
	if (fmt)
		set_d(cpu, rd, v);
	else
		set_s(cpu, rd, (uint32_t)v);
	return 0;
}

/* Instructions whose funct3 is a rounding mode (the rest use it as a sub-opcode). */
static bool uses_rm(unsigned opc, unsigned f7)
{
	if (opc != 0x53)
		return true; /* fused multiply-add */
	switch (f7 >> 2) {
	case 0x04: case 0x05: case 0x14: case 0x1c: case 0x1e: /* sgnj, min/max, cmp, mv/class */
		return false;
	default:
		return true;
	}
}

int rv_exec_fp(struct rv_cpu *cpu, const struct rv_insn *in)
{
	if ((cpu->mstatus & RV_MS_FS) == 0)
		return fail(cpu, in);
	if (in->op != OP_FP)
		return exec_mem(cpu, in);

	uint32_t r = (uint32_t)in->imm;
	unsigned opc = r & 0x7f, f7 = r >> 25;
	int rm = in->rm;
	if (uses_rm(opc, f7)) {
		if (rm == RV_RM_DYN)
			rm = (int)cpu->frm;
		if (rm > RV_RM_RMM)
			return fail(cpu, in);
	}
	uint32_t ff = 0;
	int rc;
	if (opc == 0x07 || opc == 0x27 || (f7 & 3) == 2 || (opc == 0x53 && in->rs2 == 2 && (f7 >> 1) == 0x10)) {
		/* binary16 (flh/fsh are decoded as OP_FP): Zfhmin/Zfh, else illegal */
		rc = rv_exec_fp16(cpu, in, rm, &ff);
		if (rc == -1)
			return -1;
		rc = rc == -2 ? -1 : 0;
	} else if (opc != 0x53)
		rc = exec_fma(cpu, in, r, rm, &ff);
	else if ((cpu->ext & RV_EXT_ZFA) && (rc = exec_zfa(cpu, in, f7, rm, &ff)) <= 0)
		; /* a Zfa instruction */
	else if (f7 & 1)
		rc = exec_d(cpu, in, f7, rm, &ff);
	else
		rc = exec_s(cpu, in, f7, rm, &ff);
	if (rc)
		return fail(cpu, in);
	if (ff) {
		cpu->fflags |= ff;
		rv_mark_fs_dirty(cpu);
	}
	return 0;
}
#endif
