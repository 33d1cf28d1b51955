/* fp16.c - Zfhmin: binary16 loads, stores, moves and conversions to and from binary32/64.
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

int rv_exec_fp16(struct rv_cpu *cpu, const struct rv_insn *in, int rm, uint32_t *ff)
{
	uint32_t r = (uint32_t)in->imm;
	unsigned opc = r & 0x7f, f7 = r >> 25, rd = in->rd, rs1 = in->rs1, rs2 = in->rs2;
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
			return -2;
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
		return -2;
	}
}
