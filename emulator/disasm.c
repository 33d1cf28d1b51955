/* disasm.c - see disasm.h. Decodes through the CPU's own decoder (so what is printed is what
 * is executed) and names compressed instructions by their 32-bit equivalents, as QEMU's
 * in_asm log does for most of them. */
#include "emulator/disasm.h"
#include "emulator/cpu/cpu.h"
#include "emulator/cpu/ops.h"

#include <stdio.h>

static const char *const xreg[32] = {
	"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
	"a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

static const char *const names[OP_COUNT] = {
	[OP_ILLEGAL] = "illegal", [OP_LUI] = "lui", [OP_AUIPC] = "auipc", [OP_JAL] = "jal", [OP_JALR] = "jalr",
	[OP_BEQ] = "beq", [OP_BNE] = "bne", [OP_BLT] = "blt", [OP_BGE] = "bge", [OP_BLTU] = "bltu",
	[OP_BGEU] = "bgeu", [OP_LB] = "lb", [OP_LH] = "lh", [OP_LW] = "lw", [OP_LD] = "ld", [OP_LBU] = "lbu",
	[OP_LHU] = "lhu", [OP_LWU] = "lwu", [OP_SB] = "sb", [OP_SH] = "sh", [OP_SW] = "sw", [OP_SD] = "sd",
	[OP_ADDI] = "addi", [OP_SLTI] = "slti", [OP_SLTIU] = "sltiu", [OP_XORI] = "xori", [OP_ORI] = "ori",
	[OP_ANDI] = "andi", [OP_SLLI] = "slli", [OP_SRLI] = "srli", [OP_SRAI] = "srai", [OP_ADD] = "add",
	[OP_SUB] = "sub", [OP_SLL] = "sll", [OP_SLT] = "slt", [OP_SLTU] = "sltu", [OP_XOR] = "xor",
	[OP_SRL] = "srl", [OP_SRA] = "sra", [OP_OR] = "or", [OP_AND] = "and", [OP_ADDIW] = "addiw",
	[OP_SLLIW] = "slliw", [OP_SRLIW] = "srliw", [OP_SRAIW] = "sraiw", [OP_ADDW] = "addw", [OP_SUBW] = "subw",
	[OP_SLLW] = "sllw", [OP_SRLW] = "srlw", [OP_SRAW] = "sraw", [OP_MUL] = "mul", [OP_MULH] = "mulh",
	[OP_MULHSU] = "mulhsu", [OP_MULHU] = "mulhu", [OP_DIV] = "div", [OP_DIVU] = "divu", [OP_REM] = "rem",
	[OP_REMU] = "remu", [OP_MULW] = "mulw", [OP_DIVW] = "divw", [OP_DIVUW] = "divuw", [OP_REMW] = "remw",
	[OP_REMUW] = "remuw", [OP_FENCE] = "fence", [OP_FENCE_I] = "fence.i", [OP_ECALL] = "ecall",
	[OP_EBREAK] = "ebreak", [OP_MRET] = "mret", [OP_SRET] = "sret", [OP_WFI] = "wfi",
	[OP_SFENCE_VMA] = "sfence.vma", [OP_CSRRW] = "csrrw", [OP_CSRRS] = "csrrs", [OP_CSRRC] = "csrrc",
	[OP_CSRRWI] = "csrrwi", [OP_CSRRSI] = "csrrsi", [OP_CSRRCI] = "csrrci", [OP_AMO] = "amo",
	[OP_FLW] = "flw", [OP_FLD] = "fld", [OP_FSW] = "fsw", [OP_FSD] = "fsd", [OP_FP] = "fp",
	[OP_SH1ADD] = "sh1add",
	[OP_SH2ADD] = "sh2add",
	[OP_SH3ADD] = "sh3add",
	[OP_ADD_UW] = "add.uw",
	[OP_SH1ADD_UW] = "sh1add.uw",
	[OP_SH2ADD_UW] = "sh2add.uw",
	[OP_SH3ADD_UW] = "sh3add.uw",
	[OP_SLLI_UW] = "slli.uw",
	[OP_ANDN] = "andn",
	[OP_ORN] = "orn",
	[OP_XNOR] = "xnor",
	[OP_CLZ] = "clz",
	[OP_CLZW] = "clzw",
	[OP_CTZ] = "ctz",
	[OP_CTZW] = "ctzw",
	[OP_CPOP] = "cpop",
	[OP_CPOPW] = "cpopw",
	[OP_MAX] = "max",
	[OP_MAXU] = "maxu",
	[OP_MIN] = "min",
	[OP_MINU] = "minu",
	[OP_SEXT_B] = "sext.b",
	[OP_SEXT_H] = "sext.h",
	[OP_ZEXT_H] = "zext.h",
	[OP_ROL] = "rol",
	[OP_ROLW] = "rolw",
	[OP_ROR] = "ror",
	[OP_RORW] = "rorw",
	[OP_RORI] = "rori",
	[OP_RORIW] = "roriw",
	[OP_ORC_B] = "orc.b",
	[OP_REV8] = "rev8",
	[OP_CLMUL] = "clmul",
	[OP_CLMULH] = "clmulh",
	[OP_CLMULR] = "clmulr",
	[OP_BCLR] = "bclr",
	[OP_BCLRI] = "bclri",
	[OP_BEXT] = "bext",
	[OP_BEXTI] = "bexti",
	[OP_BINV] = "binv",
	[OP_BINVI] = "binvi",
	[OP_BSET] = "bset",
	[OP_BSETI] = "bseti",
	[OP_PACK] = "pack",
	[OP_PACKH] = "packh",
	[OP_PACKW] = "packw",
	[OP_BREV8] = "brev8",
	[OP_XPERM4] = "xperm4",
	[OP_XPERM8] = "xperm8",
	[OP_CZERO_EQZ] = "czero.eqz",
	[OP_CZERO_NEZ] = "czero.nez",
	[OP_SINVAL_VMA] = "sinval.vma",
	[OP_SFENCE_W_INVAL] = "sfence.w.inval",
	[OP_SFENCE_INVAL_IR] = "sfence.inval.ir",
	[OP_CBO_INVAL] = "cbo.inval", [OP_CBO_CLEAN] = "cbo.clean", [OP_CBO_FLUSH] = "cbo.flush",
	[OP_CBO_ZERO] = "cbo.zero",
};

static const char *amo_name(unsigned f5)
{
	switch (f5) {
	case 0x02: return "lr";
	case 0x03: return "sc";
	case 0x01: return "amoswap";
	case 0x00: return "amoadd";
	case 0x04: return "amoxor";
	case 0x0c: return "amoand";
	case 0x08: return "amoor";
	case 0x10: return "amomin";
	case 0x14: return "amomax";
	case 0x18: return "amominu";
	default: return "amomaxu";
	}
}

const char *vm_disasm_name(unsigned op)
{
	return op < OP_COUNT ? names[op] : NULL;
}

void vm_disasm(uint32_t raw, uint64_t pc, char *buf, size_t len)
{
	struct rv_insn in;
	rv_decode(raw, &in);
	const char *n = in.op < OP_COUNT && names[in.op] ? names[in.op] : "?";
	const char *c = in.len == 2 ? "c." : "";
	const char *rd = xreg[in.rd], *rs1 = xreg[in.rs1], *rs2 = xreg[in.rs2];
	long long imm = in.imm;

	switch (in.op) {
	case OP_LUI: case OP_AUIPC:
		snprintf(buf, len, "%s%s %s,0x%llx", c, n, rd, (unsigned long long)(imm >> 12) & 0xfffff);
		break;
	case OP_JAL:
		snprintf(buf, len, "%s%s %s,0x%llx", c, n, rd, (unsigned long long)(pc + (uint64_t)imm));
		break;
	case OP_JALR:
		snprintf(buf, len, "%s%s %s,%lld(%s)", c, n, rd, imm, rs1);
		break;
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
		snprintf(buf, len, "%s%s %s,%s,0x%llx", c, n, rs1, rs2, (unsigned long long)(pc + (uint64_t)imm));
		break;
	case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
		snprintf(buf, len, "%s%s %s,%lld(%s)", c, n, rd, imm, rs1);
		break;
	case OP_FLW: case OP_FLD:
		snprintf(buf, len, "%s%s f%u,%lld(%s)", c, n, in.rd, imm, rs1);
		break;
	case OP_SB: case OP_SH: case OP_SW: case OP_SD:
		snprintf(buf, len, "%s%s %s,%lld(%s)", c, n, rs2, imm, rs1);
		break;
	case OP_FSW: case OP_FSD:
		snprintf(buf, len, "%s%s f%u,%lld(%s)", c, n, in.rs2, imm, rs1);
		break;
	case OP_ADDI: case OP_SLTI: case OP_SLTIU: case OP_XORI: case OP_ORI: case OP_ANDI: case OP_SLLI:
	case OP_SRLI: case OP_SRAI: case OP_ADDIW: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
	case OP_SLLI_UW: case OP_RORI: case OP_RORIW: case OP_BCLRI: case OP_BEXTI: case OP_BINVI: case OP_BSETI:
		snprintf(buf, len, "%s%s %s,%s,%lld", c, n, rd, rs1, imm);
		break;
	case OP_CSRRW: case OP_CSRRS: case OP_CSRRC:
		snprintf(buf, len, "%s %s,0x%llx,%s", n, rd, (unsigned long long)imm & 0xfff, rs1);
		break;
	case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
		snprintf(buf, len, "%s %s,0x%llx,%u", n, rd, (unsigned long long)imm & 0xfff, in.rs1);
		break;
	case OP_AMO:
		snprintf(buf, len, "%s.%c %s,%s,(%s)", amo_name((unsigned)imm), in.rm == 3 ? 'd' : 'w', rd, rs2, rs1);
		break;
	case OP_FP:
		snprintf(buf, len, "fp-op 0x%08x f%u,f%u,f%u", (uint32_t)imm, in.rd, in.rs1, in.rs2);
		break;
	case OP_ILLEGAL: case OP_FENCE: case OP_FENCE_I: case OP_ECALL: case OP_EBREAK: case OP_MRET:
	case OP_SRET: case OP_WFI:
		snprintf(buf, len, "%s%s", in.op == OP_EBREAK ? c : "", n);
		break;
	case OP_CLZ: case OP_CLZW: case OP_CTZ: case OP_CTZW: case OP_CPOP: case OP_CPOPW: case OP_SEXT_B:
	case OP_SEXT_H: case OP_ZEXT_H: case OP_ORC_B: case OP_REV8: case OP_BREV8:
		snprintf(buf, len, "%s %s,%s", n, rd, rs1);
		break;
	case OP_CBO_INVAL: case OP_CBO_CLEAN: case OP_CBO_FLUSH: case OP_CBO_ZERO:
		snprintf(buf, len, "%s (%s)", n, rs1);
		break;
	case OP_SFENCE_W_INVAL: case OP_SFENCE_INVAL_IR:
		snprintf(buf, len, "%s", n);
		break;
	case OP_SFENCE_VMA: case OP_SINVAL_VMA:
		snprintf(buf, len, "%s %s,%s", n, rs1, rs2);
		break;
	default: /* register-register */
		snprintf(buf, len, "%s%s %s,%s,%s", c, n, rd, rs1, rs2);
		break;
	}
}
