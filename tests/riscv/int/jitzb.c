/* Zba/Zbb/Zbs/Zicond ops and mul/mulw in hot loops, which strata-vm's JIT computes straight in
 * the cached host registers (emulator/cpu/jit-zb.c): every op with rd distinct from its
 * sources, rd = rs1, rd = rs2, rd = rs1 = rs2 and x0 as either source, so a form that
 * overwrites a source before reading it shows in the checksum, which must equal QEMU's.
 * Zicond is not in QEMU 7.2: there rv_czero_trap computes czero (as for bext/zicond.c). */
/* vm-cpu: rv64,zicond=true */
#include "rvtest.h"

/* One op (an .insn body taking rd, rs1, rs2) in the five register patterns, the results
 * folded into acc; a and b change every iteration (b also through a 32-bit value, and is
 * zero now and then for czero). */
#define LOOP(name, INSN)                                                                                  \
	static uint64_t name(uint64_t n)                                                                  \
	{                                                                                                 \
		uint64_t a = 0x9e3779b97f4a7c15ULL, b = 0x00000000f0e1d2c3ULL, c = 0, acc = 0, t = 0;       \
		__asm__ volatile("1: " INSN(c, a, b) "\n"                                                   \
				 "   add %[acc], %[acc], %[c]\n"                                            \
				 "   mv %[c], %[a]\n"                                                       \
				 "   " INSN(c, c, b) "\n"                                                   \
				 "   xor %[acc], %[acc], %[c]\n"                                            \
				 "   slli %[acc], %[acc], 1\n"                                              \
				 "   mv %[c], %[b]\n"                                                       \
				 "   " INSN(c, a, c) "\n"                                                   \
				 "   add %[acc], %[acc], %[c]\n"                                            \
				 "   mv %[c], %[b]\n"                                                       \
				 "   " INSN(c, c, c) "\n"                                                   \
				 "   xor %[acc], %[acc], %[c]\n"                                            \
				 "   " INSN_Z1(INSN, c, b) "\n"                                             \
				 "   add %[acc], %[acc], %[c]\n"                                            \
				 "   " INSN_Z2(INSN, c, a) "\n"                                             \
				 "   xor %[acc], %[acc], %[c]\n"                                            \
				 "   srli %[t], %[acc], 29\n"                                               \
				 "   xor %[acc], %[acc], %[t]\n"                                            \
				 "   li %[t], 0x5851f42d\n"                                                 \
				 "   mul %[a], %[a], %[t]\n"                                                \
				 "   add %[a], %[a], %[n]\n"                                                \
				 "   addw %[b], %[b], %[a]\n"                                               \
				 "   andi %[t], %[n], 7\n"                                                  \
				 "   bnez %[t], 2f\n"                                                       \
				 "   mv %[b], zero\n"                                                       \
				 "2: addi %[n], %[n], -1\n"                                                 \
				 "   bnez %[n], 1b\n"                                                       \
				 : [n] "+r"(n), [a] "+r"(a), [b] "+r"(b), [c] "+r"(c), [acc] "+r"(acc), [t] "+r"(t)); \
		return acc ^ c;                                                                           \
	}
#define INSN_Z1(I, d, s) I(d, zero, s)
#define INSN_Z2(I, d, s) I(d, s, zero)
#define R(x) "%[" #x "]"
#define RZ(x) RZ_##x
#define RZ_zero "zero"
#define RZ_a R(a)
#define RZ_b R(b)
#define RZ_c R(c)
/* .insn r opcode, funct3, funct7, rd, rs1, rs2 */
#define I_R(opc, f3, f7, d, s1, s2) ".insn r " #opc ", " #f3 ", " #f7 ", " RZ(d) ", " RZ(s1) ", " RZ(s2)
/* .insn i opcode, funct3, rd, rs1, imm (unary and immediate forms; rs2 is ignored) */
#define I_I(opc, f3, imm, d, s1, s2) ".insn i " #opc ", " #f3 ", " RZ(d) ", " RZ(s1) ", " #imm

#define SH1ADD(d, s1, s2) I_R(0x33, 2, 0x10, d, s1, s2)
#define SH2ADD(d, s1, s2) I_R(0x33, 4, 0x10, d, s1, s2)
#define SH3ADD(d, s1, s2) I_R(0x33, 6, 0x10, d, s1, s2)
#define ADD_UW(d, s1, s2) I_R(0x3b, 0, 0x04, d, s1, s2)
#define SH1ADD_UW(d, s1, s2) I_R(0x3b, 2, 0x10, d, s1, s2)
#define SH3ADD_UW(d, s1, s2) I_R(0x3b, 6, 0x10, d, s1, s2)
#define ANDN(d, s1, s2) I_R(0x33, 7, 0x20, d, s1, s2)
#define ORN(d, s1, s2) I_R(0x33, 6, 0x20, d, s1, s2)
#define XNOR(d, s1, s2) I_R(0x33, 4, 0x20, d, s1, s2)
#define MIN(d, s1, s2) I_R(0x33, 4, 0x05, d, s1, s2)
#define MAXU(d, s1, s2) I_R(0x33, 7, 0x05, d, s1, s2)
#define ROL(d, s1, s2) I_R(0x33, 1, 0x30, d, s1, s2)
#define RORW(d, s1, s2) I_R(0x3b, 5, 0x30, d, s1, s2)
#define BSET(d, s1, s2) I_R(0x33, 1, 0x14, d, s1, s2)
#define BINV(d, s1, s2) I_R(0x33, 1, 0x34, d, s1, s2)
#define BEXT(d, s1, s2) I_R(0x33, 5, 0x24, d, s1, s2)
#define CZERO_EQZ(d, s1, s2) I_R(0x33, 5, 0x07, d, s1, s2)
#define CZERO_NEZ(d, s1, s2) I_R(0x33, 7, 0x07, d, s1, s2)
#define MUL(d, s1, s2) I_R(0x33, 0, 0x01, d, s1, s2)
#define MULW(d, s1, s2) I_R(0x3b, 0, 0x01, d, s1, s2)
#define CLZ(d, s1, s2) I_I(0x13, 1, 0x600, d, s1, s2)
#define CTZ(d, s1, s2) I_I(0x13, 1, 0x601, d, s1, s2)
#define CPOPW(d, s1, s2) I_I(0x1b, 1, 0x602, d, s1, s2)
#define CLZW(d, s1, s2) I_I(0x1b, 1, 0x600, d, s1, s2)
#define SEXT_B(d, s1, s2) I_I(0x13, 1, 0x604, d, s1, s2)
#define RORI(d, s1, s2) I_I(0x13, 5, 0x627, d, s1, s2)
#define REV8(d, s1, s2) I_I(0x13, 5, 0x6b8, d, s1, s2)
#define BCLRI(d, s1, s2) I_I(0x13, 1, 0x4a5, d, s1, s2)
#define BEXTI(d, s1, s2) I_I(0x13, 5, 0x485, d, s1, s2)
#define SLLI_UW(d, s1, s2) I_I(0x1b, 1, 0x087, d, s1, s2)

LOOP(l_sh1add, SH1ADD) LOOP(l_sh2add, SH2ADD) LOOP(l_sh3add, SH3ADD) LOOP(l_add_uw, ADD_UW)
LOOP(l_sh1add_uw, SH1ADD_UW) LOOP(l_sh3add_uw, SH3ADD_UW) LOOP(l_andn, ANDN) LOOP(l_orn, ORN)
LOOP(l_xnor, XNOR) LOOP(l_min, MIN) LOOP(l_maxu, MAXU) LOOP(l_rol, ROL) LOOP(l_rorw, RORW)
LOOP(l_bset, BSET) LOOP(l_binv, BINV) LOOP(l_bext, BEXT) LOOP(l_czero_eqz, CZERO_EQZ)
LOOP(l_czero_nez, CZERO_NEZ) LOOP(l_mul, MUL) LOOP(l_mulw, MULW) LOOP(l_clz, CLZ) LOOP(l_ctz, CTZ)
LOOP(l_cpopw, CPOPW) LOOP(l_clzw, CLZW) LOOP(l_sext_b, SEXT_B) LOOP(l_rori, RORI) LOOP(l_rev8, REV8)
LOOP(l_bclri, BCLRI) LOOP(l_bexti, BEXTI) LOOP(l_slli_uw, SLLI_UW)

#define SHOW(f) rv_show(#f, f(3000))

int main(void)
{
	rv_set_mtrap(rv_czero_trap);
	SHOW(l_sh1add); SHOW(l_sh2add); SHOW(l_sh3add); SHOW(l_add_uw); SHOW(l_sh1add_uw);
	SHOW(l_sh3add_uw); SHOW(l_andn); SHOW(l_orn); SHOW(l_xnor); SHOW(l_min); SHOW(l_maxu);
	SHOW(l_rol); SHOW(l_rorw); SHOW(l_bset); SHOW(l_binv); SHOW(l_bext); SHOW(l_czero_eqz);
	SHOW(l_czero_nez); SHOW(l_mul); SHOW(l_mulw); SHOW(l_clz); SHOW(l_ctz); SHOW(l_cpopw);
	SHOW(l_clzw); SHOW(l_sext_b); SHOW(l_rori); SHOW(l_rev8); SHOW(l_bclri); SHOW(l_bexti);
	SHOW(l_slli_uw);
	return 0;
}
