/* fp16.c - Zfhmin and Zfh: binary16 loads, stores, moves, conversions and arithmetic.
 * A half in an f register is NaN-boxed in the upper 48 bits (otherwise it reads as the
 * canonical NaN 0x7e00). Narrowing rounds in any RISC-V rounding mode with tininess detected
 * after rounding, as the F/D module does. */
#include "emulator/cpu/cpu.h"
#include "emulator/cpu/fp16.h"
#include "emulator/cpu/fpu.h"
#include "emulator/cpu/mem.h"

#include <string.h>

#define H_BOX 0xffffffffffff0000ULL
#define H_CNAN 0x7e00u

/* binary16 -> binary64, exact; a signaling NaN sets NV, every NaN becomes the canonical one */
static uint64_t h_to_d(uint16_t h, uint32_t *ff)
{
	uint64_t sign = (uint64_t)(h >> 15) << 63;
	unsigned exp = (h >> 10) & 31, man = h & 0x3ff;
	if (exp == 31) {
		if (!man)
			return sign | 0x7ff0000000000000ULL;
		if (!(man & 0x200))
			*ff |= RV_FFLAG_NV;
		return RV_F64_CNAN;
	}
	if (exp == 0) {
		if (!man)
			return sign;
		int e = -14;
		while (!(man & 0x400)) { /* normalise the subnormal */
			man <<= 1;
			e--;
		}
		return sign | (uint64_t)(e + 1023) << 52 | (uint64_t)(man & 0x3ff) << 42;
	}
	return sign | (uint64_t)((int)exp - 15 + 1023) << 52 | (uint64_t)man << 42;
}

/* q = m >> shift rounded in mode rm (sign for the directed modes); *inexact when bits dropped */
static uint64_t round_shift(uint64_t m, unsigned shift, int rm, bool neg, bool *inexact)
{
	if (shift == 0) {
		*inexact = false;
		return m;
	}
	if (shift >= 64) { /* m < 2^53: below half of the last place */
		*inexact = m != 0;
		return m && ((rm == RV_RM_RUP && !neg) || (rm == RV_RM_RDN && neg));
	}
	uint64_t q = m >> shift, rem = m & ((1ULL << shift) - 1), half = 1ULL << (shift - 1);
	*inexact = rem != 0;
	if (!rem)
		return q;
	switch (rm) {
	case RV_RM_RNE: return q + (rem > half || (rem == half && (q & 1)));
	case RV_RM_RMM: return q + (rem >= half);
	case RV_RM_RTZ: return q;
	case RV_RM_RDN: return q + neg;
	default: return q + !neg; /* RUP */
	}
}

/* binary64 -> binary16 rounded */
static uint16_t d_to_h(uint64_t d, int rm, uint32_t *ff)
{
	uint16_t sign = (uint16_t)((d >> 63) << 15);
	bool neg = d >> 63;
	int exp = (int)((d >> 52) & 0x7ff);
	uint64_t man = d & 0xfffffffffffffULL;
	if (exp == 0x7ff) {
		if (!man)
			return sign | 0x7c00;
		if (!(man >> 51))
			*ff |= RV_FFLAG_NV;
		return H_CNAN;
	}
	if (exp == 0 && man == 0)
		return sign;
	/* value = m * 2^(e - 52), m with its leading one at bit 52 (doubles' subnormals are far
	 * below binary16's range and only need to round correctly, which this does) */
	uint64_t m = exp ? man | 1ULL << 52 : man;
	int e = exp ? exp - 1023 : -1022;
	bool inexact;
	uint64_t q;
	if (e >= -14) {
		q = round_shift(m, 42, rm, neg, &inexact); /* 11 significant bits, maybe 0x800 */
		uint64_t bits = ((uint64_t)(e + 14) << 10) + q;
		if (bits >= 0x7c00) { /* overflow */
			*ff |= RV_FFLAG_OF | RV_FFLAG_NX;
			bool to_inf = rm == RV_RM_RNE || rm == RV_RM_RMM || (rm == RV_RM_RUP && !neg) ||
				      (rm == RV_RM_RDN && neg);
			return sign | (to_inf ? 0x7c00 : 0x7bff);
		}
		if (inexact)
			*ff |= RV_FFLAG_NX;
		return sign | (uint16_t)bits;
	}
	/* below the normal range: subnormal precision; tiny unless rounding to 11 bits at the
	 * unbounded exponent reaches 2^-14 */
	bool dummy;
	bool tiny = !(e == -15 && round_shift(m, 42, rm, neg, &dummy) == 0x800);
	unsigned shift = (unsigned)(42 + (-14 - e));
	q = round_shift(m, shift, rm, neg, &inexact);
	if (inexact)
		*ff |= tiny ? RV_FFLAG_NX | RV_FFLAG_UF : RV_FFLAG_NX;
	return sign | (uint16_t)q; /* q == 0x400 is the smallest normal */
}

/* Zfh arithmetic: binary16 operands widen exactly to binary64; the binary64 operation runs
 * rounding towards zero with the inexact bit folded into the last place (round to odd), which
 * 53 >= 11 + 2 bits make safe to round once more to binary16 in any mode. NV and DZ come from
 * the binary64 operation, NX, UF and OF from the final rounding. */
static uint64_t odd(uint64_t d, uint32_t f64ff, uint32_t *ff)
{
	*ff |= f64ff & (RV_FFLAG_NV | RV_FFLAG_DZ);
	return (f64ff & RV_FFLAG_NX) && (d & 0x7ff0000000000000ULL) != 0x7ff0000000000000ULL ? d | 1 : d;
}

static uint16_t h_classify(uint16_t h)
{
	unsigned exp = (h >> 10) & 31, man = h & 0x3ff, neg = h >> 15;
	if (exp == 31)
		return man ? (man & 0x200 ? RV_FCLASS_QNAN : RV_FCLASS_SNAN) : neg ? RV_FCLASS_NEG_INF : RV_FCLASS_POS_INF;
	if (exp == 0)
		return man ? (neg ? RV_FCLASS_NEG_SUBNORMAL : RV_FCLASS_POS_SUBNORMAL)
			   : (neg ? RV_FCLASS_NEG_ZERO : RV_FCLASS_POS_ZERO);
	return neg ? RV_FCLASS_NEG_NORMAL : RV_FCLASS_POS_NORMAL;
}

/* a op b (op: the OP-FP funct7 >> 2, or 0x10 + the FMA opcode index) rounded to binary16 */
static uint16_t h_arith(unsigned op, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *ff)
{
	for (int pass = 0; pass < 2; pass++) {
		int m = pass ? rm : RV_RM_RTZ; /* an exact zero takes its sign from the real mode */
		uint32_t f = 0;
		uint64_t d;
		switch (op) {
		case 0x00: d = rv_f64_add(a, b, m, &f); break;
		case 0x01: d = rv_f64_sub(a, b, m, &f); break;
		case 0x02: d = rv_f64_mul(a, b, m, &f); break;
		case 0x03: d = rv_f64_div(a, b, m, &f); break;
		case 0x0b: d = rv_f64_sqrt(a, m, &f); break;
		case 0x10: d = rv_f64_madd(a, b, c, m, &f); break;
		case 0x11: d = rv_f64_msub(a, b, c, m, &f); break;
		case 0x12: d = rv_f64_nmsub(a, b, c, m, &f); break;
		default: d = rv_f64_nmadd(a, b, c, m, &f); break;
		}
		if (pass == 0 && (d << 1) == 0 && rm != RV_RM_RTZ)
			continue;
		return d_to_h(odd(d, f, ff), rm, ff);
	}
	return 0; /* not reached */
}

static uint16_t get_h(const struct rv_cpu *cpu, unsigned r)
{
	uint64_t v = cpu->f[r];
	return (v & H_BOX) == H_BOX ? (uint16_t)v : H_CNAN;
}

static void set_f(struct rv_cpu *cpu, unsigned r, uint64_t v)
{
	cpu->f[r] = v;
	rv_mark_fs_dirty(cpu);
}

static void set_x(struct rv_cpu *cpu, unsigned r, uint64_t v)
{
	if (r)
		cpu->x[r] = v;
}

/* The Zfh instructions beyond Zfhmin; -2 when `in` is none of them. */
static int exec_zfh(struct rv_cpu *cpu, const struct rv_insn *in, int rm, uint32_t *ff)
{
	uint32_t r = (uint32_t)in->imm;
	unsigned opc = r & 0x7f, f7 = r >> 25, f3 = in->rm, rd = in->rd, rs2 = in->rs2;
	uint16_t ha = get_h(cpu, in->rs1), hb = get_h(cpu, rs2);
	uint64_t a = h_to_d(ha, ff), b, c = 0;
	if (opc != 0x53) { /* fused multiply-add, binary16 format */
		b = h_to_d(hb, ff);
		c = h_to_d(get_h(cpu, in->rs3), ff);
		set_f(cpu, rd, H_BOX | h_arith(0x10 + ((opc >> 2) & 3), a, b, c, rm, ff));
		return 0;
	}
	switch (f7) {
	case 0x02: case 0x06: case 0x0a: case 0x0e:
		b = h_to_d(hb, ff);
		set_f(cpu, rd, H_BOX | h_arith(f7 >> 2, a, b, 0, rm, ff));
		return 0;
	case 0x2e:
		if (rs2)
			return -2;
		set_f(cpu, rd, H_BOX | h_arith(0x0b, a, 0, 0, rm, ff));
		return 0;
	case 0x12: /* fsgnj.h, fsgnjn.h, fsgnjx.h: bits only, no flags */
		if (f3 > 2)
			return -2;
		*ff = 0;
		set_f(cpu, rd, H_BOX | (ha & 0x7fff) | (f3 == 0 ? hb & 0x8000 : f3 == 1 ? ~hb & 0x8000 : (ha ^ hb) & 0x8000));
		return 0;
	case 0x16: /* fmin.h, fmax.h */
		if (f3 > 1)
			return -2;
		b = h_to_d(hb, ff);
		set_f(cpu, rd, H_BOX | d_to_h(f3 ? rv_f64_max(a, b, ff) : rv_f64_min(a, b, ff), RV_RM_RNE, ff));
		return 0;
	case 0x52: /* fle.h, flt.h, feq.h */
		if (f3 > 2)
			return -2;
		b = h_to_d(hb, ff);
		set_x(cpu, rd, (uint64_t)(f3 == 0 ? rv_f64_le(a, b, ff) : f3 == 1 ? rv_f64_lt(a, b, ff) : rv_f64_eq(a, b, ff)));
		return 0;
	case 0x72: /* fclass.h (fmv.x.h is Zfhmin's) */
		if (f3 != 1 || rs2)
			return -2;
		*ff = 0;
		set_x(cpu, rd, h_classify(ha));
		return 0;
	case 0x62: /* fcvt.w/wu/l/lu.h */
		switch (rs2) {
		case 0: set_x(cpu, rd, (uint64_t)rv_f64_to_i32(a, rm, ff)); return 0;
		case 1: set_x(cpu, rd, (uint64_t)rv_f64_to_u32(a, rm, ff)); return 0;
		case 2: set_x(cpu, rd, (uint64_t)rv_f64_to_i64(a, rm, ff)); return 0;
		case 3: set_x(cpu, rd, rv_f64_to_u64(a, rm, ff)); return 0;
		default: return -2;
		}
	case 0x6a: { /* fcvt.h.w/wu/l/lu */
		uint64_t v = cpu->x[in->rs1], d;
		uint32_t f = 0;
		*ff = 0; /* no NaN operand: the widening above must not count */
		switch (rs2) {
		case 0: d = rv_i32_to_f64((int32_t)v, RV_RM_RTZ, &f); break;
		case 1: d = rv_u32_to_f64((uint32_t)v, RV_RM_RTZ, &f); break;
		case 2: d = rv_i64_to_f64((int64_t)v, RV_RM_RTZ, &f); break;
		case 3: d = rv_u64_to_f64(v, RV_RM_RTZ, &f); break;
		default: return -2;
		}
		set_f(cpu, rd, H_BOX | d_to_h(odd(d, f, ff), rm, ff));
		return 0;
	}
	default:
		return -2;
	}
}

int rv_exec_fp16(struct rv_cpu *cpu, const struct rv_insn *in, int rm, uint32_t *ff)
{
	uint32_t r = (uint32_t)in->imm;
	unsigned opc = r & 0x7f, f7 = r >> 25, rd = in->rd, rs1 = in->rs1, rs2 = in->rs2;
	if (!(cpu->ext & (RV_EXT_ZFHMIN | RV_EXT_ZFH)))
		return -2;
	if (opc == 0x07 || opc == 0x27) { /* flh / fsh */
		int32_t off = opc == 0x07 ? (int32_t)r >> 20 : ((int32_t)r >> 25) * 32 | (int32_t)((r >> 7) & 31);
		uint64_t va = cpu->x[rs1] + (uint64_t)(int64_t)off, v;
		if (opc == 0x27)
			return rv_store(cpu, va, 2, cpu->f[rs2] & 0xffff) ? -1 : 0;
		if (rv_load(cpu, va, 2, &v))
			return -1;
		set_f(cpu, rd, H_BOX | v);
		return 0;
	}
	switch (f7) {
	case 0x72: /* fmv.x.h */
		if (rs2 || in->rm)
			break;
		if (rd)
			cpu->x[rd] = (uint64_t)(int64_t)(int16_t)cpu->f[rs1];
		return 0;
	case 0x7a: /* fmv.h.x */
		if (rs2 || in->rm)
			return -2;
		set_f(cpu, rd, H_BOX | (cpu->x[rs1] & 0xffff));
		return 0;
	case 0x20: /* fcvt.s.h */
		if (rs2 != 2)
			return -2;
		set_f(cpu, rd, 0xffffffff00000000ULL | rv_f64_to_f32(h_to_d(get_h(cpu, rs1), ff), rm, ff));
		return 0;
	case 0x21: /* fcvt.d.h */
		if (rs2 != 2)
			return -2;
		set_f(cpu, rd, h_to_d(get_h(cpu, rs1), ff));
		return 0;
	case 0x22: { /* fcvt.h.s, fcvt.h.d */
		uint64_t d;
		if (rs2 == 0) {
			uint64_t v = cpu->f[rs1];
			uint32_t s = (v >> 32) == 0xffffffffu ? (uint32_t)v : 0x7fc00000u;
			d = rv_f32_to_f64(s, ff); /* exact; an sNaN's NV is set here */
		} else if (rs2 == 1) {
			d = cpu->f[rs1];
		} else {
			return -2;
		}
		set_f(cpu, rd, H_BOX | d_to_h(d, rm, ff));
		return 0;
	}
	default:
		break;
	}
	if (!(cpu->ext & RV_EXT_ZFH))
		return -2;
	uint32_t f = 0;
	int rc = exec_zfh(cpu, in, rm, &f);
	if (rc == 0)
		*ff |= f;
	return rc;
}
