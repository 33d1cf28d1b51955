/* x86emit.h - the few x86-64 instruction encodings the JIT needs, written into a byte
 * buffer. Memory operands are [base + disp]; register numbers are the hardware ones.
 * A buffer that runs out of room sets `full` and stops writing; the caller checks it. */
#ifndef STRATA_EMULATOR_CPU_X86EMIT_H
#define STRATA_EMULATOR_CPU_X86EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum { X_RAX, X_RCX, X_RDX, X_RBX, X_RSP, X_RBP, X_RSI, X_RDI, X_R8, X_R9, X_R10, X_R11, X_R12, X_R13, X_R14, X_R15 };

/* condition codes (the low nibble of Jcc / SETcc) */
enum { CC_B = 2, CC_AE = 3, CC_E = 4, CC_NE = 5, CC_L = 0xc, CC_GE = 0xd };

/* ALU group: the /digit of opcode 81/83 and the op of the r, r/m forms (8 * digit + 3) */
enum { ALU_ADD = 0, ALU_OR = 1, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7 };
enum { SH_ROR = 1, SH_SHL = 4, SH_SHR = 5, SH_SAR = 7 };

struct xbuf {
	uint8_t *p, *end;
	bool full;
};

static inline void x_b(struct xbuf *b, uint8_t v)
{
	if (b->p < b->end)
		*b->p++ = v;
	else
		b->full = true;
}

static inline void x_b4(struct xbuf *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		x_b(b, (uint8_t)(v >> (8 * i)));
}

static inline void x_rex(struct xbuf *b, int w, int reg, int base)
{
	uint8_t v = (uint8_t)(0x40 | w << 3 | (reg >> 3) << 2 | (base >> 3));
	if (v != 0x40)
		x_b(b, v);
}

static inline void x_op(struct xbuf *b, unsigned op)
{
	if (op > 0xff)
		x_b(b, (uint8_t)(op >> 8));
	x_b(b, (uint8_t)op);
}

static inline void x_modrm_mem(struct xbuf *b, int reg, int base, int32_t disp)
{
	int mod = (disp == 0 && (base & 7) != X_RBP) ? 0 : (disp >= -128 && disp < 128) ? 1 : 2;
	x_b(b, (uint8_t)(mod << 6 | (reg & 7) << 3 | (base & 7)));
	if ((base & 7) == X_RSP)
		x_b(b, 0x24); /* SIB: no index */
	if (mod == 1)
		x_b(b, (uint8_t)disp);
	else if (mod == 2)
		x_b4(b, (uint32_t)disp);
}

/* op reg, [base + disp] (or op [base + disp], reg: the opcode decides). w = REX.W. */
static inline void x_rm(struct xbuf *b, int w, unsigned op, int reg, int base, int32_t disp)
{
	x_rex(b, w, reg, base);
	x_op(b, op);
	x_modrm_mem(b, reg, base, disp);
}

/* op reg, rm with two registers */
static inline void x_rr(struct xbuf *b, int w, unsigned op, int reg, int rm)
{
	x_rex(b, w, reg, rm);
	x_op(b, op);
	x_b(b, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

static inline void x_load64(struct xbuf *b, int reg, int base, int32_t disp) { x_rm(b, 1, 0x8b, reg, base, disp); }
static inline void x_store64(struct xbuf *b, int reg, int base, int32_t disp) { x_rm(b, 1, 0x89, reg, base, disp); }
static inline void x_mov(struct xbuf *b, int dst, int src) { x_rr(b, 1, 0x8b, dst, src); }

/* dst = imm, the shortest encoding */
static inline void x_movi(struct xbuf *b, int dst, int64_t imm)
{
	if (imm >= 0 && imm <= UINT32_MAX) { /* mov r32, imm32 zero-extends */
		x_rex(b, 0, 0, dst);
		x_b(b, (uint8_t)(0xb8 + (dst & 7)));
		x_b4(b, (uint32_t)imm);
	} else if (imm >= INT32_MIN && imm <= INT32_MAX) {
		x_rr(b, 1, 0xc7, 0, dst);
		x_b4(b, (uint32_t)imm);
	} else {
		x_rex(b, 1, 0, dst);
		x_b(b, (uint8_t)(0xb8 + (dst & 7)));
		x_b4(b, (uint32_t)imm);
		x_b4(b, (uint32_t)((uint64_t)imm >> 32));
	}
}

/* ALU dst, imm32 (sign-extended); w = 0 for the 32-bit form */
static inline void x_alui(struct xbuf *b, int w, int alu, int dst, int32_t imm)
{
	if (imm >= -128 && imm < 128) {
		x_rr(b, w, 0x83, alu, dst);
		x_b(b, (uint8_t)imm);
	} else {
		x_rr(b, w, 0x81, alu, dst);
		x_b4(b, (uint32_t)imm);
	}
}

/* ALU dst, src */
static inline void x_alu(struct xbuf *b, int w, int alu, int dst, int src) { x_rr(b, w, (unsigned)(alu * 8 + 3), dst, src); }

static inline void x_shi(struct xbuf *b, int w, int sh, int dst, int count)
{
	x_rr(b, w, 0xc1, sh, dst);
	x_b(b, (uint8_t)count);
}

static inline void x_shcl(struct xbuf *b, int w, int sh, int dst) { x_rr(b, w, 0xd3, sh, dst); }

/* lea dst, [base + disp] */
static inline void x_lea(struct xbuf *b, int dst, int base, int32_t disp) { x_rm(b, 1, 0x8d, dst, base, disp); }

/* dst += c for any 64-bit constant (tmp is clobbered when c does not fit in 32 bits) */
static inline void x_addc(struct xbuf *b, int dst, int64_t c, int tmp)
{
	if (c == 0)
		return;
	if (c >= INT32_MIN && c <= INT32_MAX) {
		x_alui(b, 1, ALU_ADD, dst, (int32_t)c);
	} else {
		x_movi(b, tmp, c);
		x_alu(b, 1, ALU_ADD, dst, tmp);
	}
}

static inline void x_movsxd(struct xbuf *b, int dst, int src) { x_rr(b, 1, 0x63, dst, src); }

/* setcc low byte of dst (rax..rbx only), then zero-extend it */
static inline void x_setcc(struct xbuf *b, int cc, int dst)
{
	x_rr(b, 0, 0x0f90u | (unsigned)cc, 0, dst);
	x_rr(b, 0, 0x0fb6, dst, dst);
}

/* Jumps with a 32-bit displacement; return the position of the displacement to patch. */
static inline uint8_t *x_jcc(struct xbuf *b, int cc)
{
	x_b(b, 0x0f);
	x_b(b, (uint8_t)(0x80 | cc));
	uint8_t *at = b->p;
	x_b4(b, 0);
	return at;
}

static inline uint8_t *x_jmp(struct xbuf *b)
{
	x_b(b, 0xe9);
	uint8_t *at = b->p;
	x_b4(b, 0);
	return at;
}

/* Points a displacement written by x_jcc/x_jmp at target. */
static inline void x_patch(struct xbuf *b, uint8_t *at, const uint8_t *target)
{
	if (b->full || !at)
		return;
	int32_t rel = (int32_t)(target - (at + 4));
	memcpy(at, &rel, 4);
}

static inline void x_call_abs(struct xbuf *b, const void *fn)
{
	x_movi(b, X_RAX, (int64_t)(uintptr_t)fn);
	x_b(b, 0xff);
	x_b(b, 0xd0); /* call rax */
}

static inline void x_push(struct xbuf *b, int r)
{
	x_rex(b, 0, 0, r);
	x_b(b, (uint8_t)(0x50 + (r & 7)));
}

static inline void x_pop(struct xbuf *b, int r)
{
	x_rex(b, 0, 0, r);
	x_b(b, (uint8_t)(0x58 + (r & 7)));
}

#endif
