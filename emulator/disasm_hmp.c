/* disasm_hmp.c - the monitor's `x/i` text: the instruction decoded by the CPU's own decoder
 * (rv_decode, as disasm.c), printed in the layout and with the pseudo-instructions, register,
 * CSR and rounding-mode names of QEMU 7.2's RISC-V disassembler (compressed instructions by
 * their 32-bit equivalents, as QEMU shows them). */
#include "emulator/disasm.h"
#include "emulator/cpu/cpu.h"
#include "emulator/cpu/ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const xr[32] = {
	"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5",
	"a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
};

static const char *const fr[32] = {
	"ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2", "fa3", "fa4",
	"fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8",
	"ft9", "ft10", "ft11",
};

static const char *const rmode[8] = { "rne", "rtz", "rdn", "rup", "rmm", "", "", "dyn" };

struct out {
	char *buf;
	size_t len, at;
};

static void add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->at, o->at < o->len ? o->len - o->at : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->at = o->at + (size_t)n < o->len ? o->at + (size_t)n : o->len - 1;
}

static void pad(struct out *o, size_t col)
{
	while (o->at < col && o->at + 1 < o->len)
		o->buf[o->at++] = ' ', o->buf[o->at] = 0;
}

/* mnemonic in its 24-column field */
static void mn(struct out *o, const char *name)
{
	add(o, "%s", name);
	pad(o, 24);
}

/* ",offset" then QEMU's comment column: the target address */
static void target(struct out *o, int64_t off, uint64_t pc)
{
	add(o, "%lld", (long long)off);
	pad(o, 48);
	add(o, "# 0x%llx", (unsigned long long)(pc + (uint64_t)off));
}

static const char *csr_name(unsigned csr, char *tmp, size_t n)
{
	static const struct { unsigned num; const char *name; } t[] = {
		{ 0x000, "ustatus" }, { 0x001, "fflags" }, { 0x002, "frm" }, { 0x003, "fcsr" }, { 0x004, "uie" },
		{ 0x005, "utvec" }, { 0x040, "uscratch" }, { 0x041, "uepc" }, { 0x042, "ucause" }, { 0x043, "utval" },
		{ 0x044, "uip" }, { 0x100, "sstatus" }, { 0x102, "sedeleg" }, { 0x103, "sideleg" }, { 0x104, "sie" },
		{ 0x105, "stvec" }, { 0x106, "scounteren" }, { 0x140, "sscratch" }, { 0x141, "sepc" },
		{ 0x142, "scause" }, { 0x143, "stval" }, { 0x144, "sip" }, { 0x180, "satp" }, { 0x300, "mstatus" },
		{ 0x301, "misa" }, { 0x302, "medeleg" }, { 0x303, "mideleg" }, { 0x304, "mie" }, { 0x305, "mtvec" },
		{ 0x306, "mcounteren" }, { 0x340, "mscratch" }, { 0x341, "mepc" }, { 0x342, "mcause" },
		{ 0x343, "mtval" }, { 0x344, "mip" }, { 0x7a0, "tselect" }, { 0x7a1, "tdata1" }, { 0x7a2, "tdata2" },
		{ 0x7a3, "tdata3" }, { 0x7b0, "dcsr" }, { 0x7b1, "dpc" }, { 0x7b2, "dscratch" }, { 0xb00, "mcycle" },
		{ 0xb02, "minstret" }, { 0xc00, "cycle" }, { 0xc01, "time" }, { 0xc02, "instret" },
		{ 0xf11, "mvendorid" }, { 0xf12, "marchid" }, { 0xf13, "mimpid" }, { 0xf14, "mhartid" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].num == csr)
			return t[i].name;
	if (csr >= 0x3a0 && csr <= 0x3a3)
		snprintf(tmp, n, "pmpcfg%u", csr - 0x3a0);
	else if (csr >= 0x3b0 && csr <= 0x3bf)
		snprintf(tmp, n, "pmpaddr%u", csr - 0x3b0);
	else if (csr >= 0xb03 && csr <= 0xb1f)
		snprintf(tmp, n, "mhpmcounter%u", csr - 0xb00);
	else if (csr >= 0xc03 && csr <= 0xc1f)
		snprintf(tmp, n, "hpmcounter%u", csr - 0xc00);
	else if (csr >= 0x323 && csr <= 0x33f)
		snprintf(tmp, n, "mhpmevent%u", csr - 0x320);
	else
		snprintf(tmp, n, "0x%03x", csr);
	return tmp;
}

static void fence_set(struct out *o, unsigned bits)
{
	static const char k[4] = { 'w', 'r', 'o', 'i' };
	for (int b = 3; b >= 0; b--)
		if (bits & (1u << b))
			add(o, "%c", k[b]);
}

static void csr(struct out *o, const struct rv_insn *in)
{
	static const char *const n[6] = { "csrrw", "csrrs", "csrrc", "csrrwi", "csrrsi", "csrrci" };
	unsigned num = (unsigned)in->imm & 0xfff;
	int k = in->op == OP_CSRRW ? 0 : in->op == OP_CSRRS ? 1 : in->op == OP_CSRRC ? 2
	      : in->op == OP_CSRRWI ? 3 : in->op == OP_CSRRSI ? 4 : 5;
	char tmp[24];
	if (k == 1 && in->rs1 == 0) { /* reads of the counters and the FP CSRs */
		static const struct { unsigned num; const char *name; } r[] = {
			{ 0xc00, "rdcycle" }, { 0xc01, "rdtime" }, { 0xc02, "rdinstret" }, { 0x003, "frcsr" },
			{ 0x002, "frrm" }, { 0x001, "frflags" },
		};
		for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
			if (r[i].num == num) {
				mn(o, r[i].name);
				add(o, "%s", xr[in->rd]);
				return;
			}
	}
	mn(o, n[k]);
	add(o, "%s,%s,", xr[in->rd], csr_name(num, tmp, sizeof(tmp)));
	if (k < 3)
		add(o, "%s", xr[in->rs1]);
	else
		add(o, "%u", in->rs1);
}

static void amo(struct out *o, const struct rv_insn *in)
{
	static const char *const n[32] = {
		[0x00] = "amoadd", [0x01] = "amoswap", [0x02] = "lr", [0x03] = "sc", [0x04] = "amoxor",
		[0x08] = "amoor", [0x0c] = "amoand", [0x10] = "amomin", [0x14] = "amomax", [0x18] = "amominu",
		[0x1c] = "amomaxu",
	};
	unsigned f5 = (unsigned)in->imm & 31;
	char name[32];
	snprintf(name, sizeof(name), "%s.%c%s%s", n[f5] ? n[f5] : "amo?", in->rm == 3 ? 'd' : 'w',
		 in->raw & (1u << 26) ? ".aq" : "", in->raw & (1u << 25) ? ".rl" : "");
	mn(o, name);
	if (f5 == 2)
		add(o, "%s,(%s)", xr[in->rd], xr[in->rs1]);
	else
		add(o, "%s,%s,(%s)", xr[in->rd], xr[in->rs2], xr[in->rs1]);
}

/* OP-FP, the fused multiply-adds and fcvt/fmv/fclass: from the raw bits (the decoder keeps
 * them whole for these). Unknown encodings print as QEMU's "illegal". */
static void fp(struct out *o, uint32_t r)
{
	unsigned opc = r & 0x7f, rd = (r >> 7) & 31, rm = (r >> 12) & 7, rs1 = (r >> 15) & 31, rs2 = (r >> 20) & 31;
	unsigned f7 = r >> 25, fmt = f7 & 3, rs3 = r >> 27;
	char s = fmt == 0 ? 's' : fmt == 1 ? 'd' : fmt == 3 ? 'q' : 'h';
	char name[24];
	if (opc != 0x53) {
		static const char *const fma[4] = { "fmadd", "fmsub", "fnmsub", "fnmadd" };
		snprintf(name, sizeof(name), "%s.%c", fma[(opc >> 2) & 3], s);
		mn(o, name);
		add(o, "%s,%s,%s,%s,%s", rmode[rm], fr[rd], fr[rs1], fr[rs2], fr[rs3]);
		return;
	}
	static const char *const arith[4] = { "fadd", "fsub", "fmul", "fdiv" };
	static const char *const sgn[3] = { "fsgnj", "fsgnjn", "fsgnjx" }, *const mv[3] = { "fmv", "fneg", "fabs" };
	static const char *const cmp[3] = { "fle", "flt", "feq" }, *const ix[4] = { "w", "wu", "l", "lu" };
	switch (f7 >> 2) {
	case 0: case 1: case 2: case 3:
		snprintf(name, sizeof(name), "%s.%c", arith[f7 >> 2], s);
		mn(o, name);
		add(o, "%s,%s,%s,%s", rmode[rm], fr[rd], fr[rs1], fr[rs2]);
		return;
	case 0x0b:
		snprintf(name, sizeof(name), "fsqrt.%c", s);
		mn(o, name);
		add(o, "%s,%s,%s", rmode[rm], fr[rd], fr[rs1]);
		return;
	case 0x04:
		if (rm > 2)
			break;
		if (rs1 == rs2) { /* QEMU 7.2 names the registers of fmv/fneg/fabs as integer ones */
			snprintf(name, sizeof(name), "%s.%c", mv[rm], s);
			mn(o, name);
			add(o, "%s,%s", xr[rd], xr[rs1]);
			return;
		}
		snprintf(name, sizeof(name), "%s.%c", sgn[rm], s);
		mn(o, name);
		add(o, "%s,%s,%s", fr[rd], fr[rs1], fr[rs2]);
		return;
	case 0x05:
		if (rm > 1)
			break;
		snprintf(name, sizeof(name), "%s.%c", rm ? "fmax" : "fmin", s);
		mn(o, name);
		add(o, "%s,%s,%s", fr[rd], fr[rs1], fr[rs2]);
		return;
	case 0x08: /* fcvt between float formats */
		snprintf(name, sizeof(name), "fcvt.%c.%c", s, rs2 == 0 ? 's' : rs2 == 1 ? 'd' : rs2 == 3 ? 'q' : 'h');
		mn(o, name);
		add(o, "%s,%s,%s", rmode[rm], fr[rd], fr[rs1]);
		return;
	case 0x14:
		if (rm > 2)
			break;
		snprintf(name, sizeof(name), "%s.%c", cmp[rm], s);
		mn(o, name);
		add(o, "%s,%s,%s", xr[rd], fr[rs1], fr[rs2]);
		return;
	case 0x18: case 0x1a:
		if (rs2 > 3)
			break;
		if (f7 >> 2 == 0x18)
			snprintf(name, sizeof(name), "fcvt.%s.%c", ix[rs2], s);
		else
			snprintf(name, sizeof(name), "fcvt.%c.%s", s, ix[rs2]);
		mn(o, name);
		add(o, "%s,%s,%s", rmode[rm], f7 >> 2 == 0x18 ? xr[rd] : fr[rd], f7 >> 2 == 0x18 ? fr[rs1] : xr[rs1]);
		return;
	case 0x1c:
		if (rs2 || rm > 1)
			break;
		snprintf(name, sizeof(name), rm ? "fclass.%c" : "fmv.x.%c", s);
		mn(o, name);
		add(o, "%s,%s", xr[rd], fr[rs1]);
		return;
	case 0x1e:
		if (rs2 || rm)
			break;
		snprintf(name, sizeof(name), "fmv.%c.x", s);
		mn(o, name);
		add(o, "%s,%s", fr[rd], xr[rs1]);
		return;
	}
	mn(o, "illegal");
}

/* A QEMU pseudo-instruction for the decoded instruction: printed, true; else false. */
static bool pseudo(struct out *o, const struct rv_insn *in, uint64_t pc)
{
	const char *rd = xr[in->rd], *rs1 = xr[in->rs1], *rs2 = xr[in->rs2];
	switch (in->op) {
	case OP_JAL:
		if (in->rd)
			return false;
		mn(o, "j");
		target(o, in->imm, pc);
		return true;
	case OP_JALR:
		if (in->rd == 0 && in->rs1 == 1 && in->imm == 0)
			return mn(o, "ret"), true;
		if (in->rd == 0 && in->imm == 0)
			return mn(o, "jr"), add(o, "%s", rs1), true;
		return false;
	case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU: {
		static const char *const zr[6][2] = { { "beqz", NULL }, { "bnez", NULL }, { "bltz", "bgtz" },
						       { "bgez", "blez" }, { NULL, NULL }, { NULL, NULL } };
		static const char *const sw[6] = { NULL, NULL, "bgt", "ble", "bgtu", "bleu" };
		int k = in->op == OP_BEQ ? 0 : in->op == OP_BNE ? 1 : in->op == OP_BLT ? 2 : in->op == OP_BGE ? 3
		      : in->op == OP_BLTU ? 4 : 5;
		if (in->rs2 == 0 && zr[k][0])
			mn(o, zr[k][0]), add(o, "%s,", rs1);
		else if (in->rs1 == 0 && zr[k][1])
			mn(o, zr[k][1]), add(o, "%s,", rs2);
		else if (sw[k])
			mn(o, sw[k]), add(o, "%s,%s,", rs2, rs1);
		else
			return false;
		target(o, in->imm, pc);
		return true;
	}
	case OP_ADD: /* c.mv: QEMU expands it to addi rd,rs2,0, which it shows as mv */
		if (in->len == 2 && in->rs1 == 0)
			return mn(o, "mv"), add(o, "%s,%s", rd, rs2), true;
		return false;
	case OP_ADDI:
		if (in->rd == 0 && in->rs1 == 0 && in->imm == 0)
			return mn(o, "nop"), true;
		if (in->imm == 0)
			return mn(o, "mv"), add(o, "%s,%s", rd, rs1), true;
		return false;
	case OP_SLTIU:
		return in->imm == 1 ? (mn(o, "seqz"), add(o, "%s,%s", rd, rs1), true) : false;
	case OP_XORI:
		return in->imm == -1 ? (mn(o, "not"), add(o, "%s,%s", rd, rs1), true) : false;
	case OP_ADDIW:
		return in->imm == 0 ? (mn(o, "sext.w"), add(o, "%s,%s", rd, rs1), true) : false;
	case OP_SUB: case OP_SUBW:
		if (in->rs1)
			return false;
		return mn(o, in->op == OP_SUB ? "neg" : "negw"), add(o, "%s,%s", rd, rs2), true;
	case OP_SLT:
		if (in->rs2 == 0)
			return mn(o, "sltz"), add(o, "%s,%s", rd, rs1), true;
		if (in->rs1 == 0)
			return mn(o, "sgtz"), add(o, "%s,%s", rd, rs2), true;
		return false;
	case OP_SLTU:
		return in->rs1 == 0 ? (mn(o, "snez"), add(o, "%s,%s", rd, rs2), true) : false;
	default:
		return false;
	}
}

static void insn(struct out *o, const struct rv_insn *in, uint64_t pc)
{
	const char *n = vm_disasm_name(in->op) ? vm_disasm_name(in->op) : "illegal";
	const char *rd = xr[in->rd], *rs1 = xr[in->rs1], *rs2 = xr[in->rs2];
	if (pseudo(o, in, pc))
		return;
	switch (in->op) {
	case OP_ILLEGAL: case OP_FENCE_I: case OP_ECALL: case OP_EBREAK: case OP_MRET: case OP_SRET: case OP_WFI:
	case OP_SFENCE_W_INVAL: case OP_SFENCE_INVAL_IR:
		mn(o, n);
		return;
	case OP_LUI:
		mn(o, n), add(o, "%s,%d", rd, in->imm);
		return;
	case OP_AUIPC:
		mn(o, n), add(o, "%s,", rd), target(o, in->imm, pc);
		return;
	case OP_JAL:
		mn(o, n), add(o, "%s,", rd), target(o, in->imm, pc);
		return;
	case OP_JALR:
		mn(o, n), add(o, "%s,%s,%d", rd, rs1, in->imm);
		return;
	case OP_BEQ: case OP_BNE:
		mn(o, n), add(o, "%s,%s,", rs1, rs2), target(o, in->imm, pc);
		return;
	case OP_LB: case OP_LH: case OP_LW: case OP_LD: case OP_LBU: case OP_LHU: case OP_LWU:
		mn(o, n), add(o, "%s,%d(%s)", rd, in->imm, rs1);
		return;
	case OP_FLW: case OP_FLD:
		mn(o, n), add(o, "%s,%d(%s)", fr[in->rd], in->imm, rs1);
		return;
	case OP_SB: case OP_SH: case OP_SW: case OP_SD:
		mn(o, n), add(o, "%s,%d(%s)", rs2, in->imm, rs1);
		return;
	case OP_FSW: case OP_FSD:
		mn(o, n), add(o, "%s,%d(%s)", fr[in->rs2], in->imm, rs1);
		return;
	case OP_ADDI: case OP_SLTI: case OP_SLTIU: case OP_XORI: case OP_ORI: case OP_ANDI: case OP_SLLI:
	case OP_SRLI: case OP_SRAI: case OP_ADDIW: case OP_SLLIW: case OP_SRLIW: case OP_SRAIW:
	case OP_SLLI_UW: case OP_RORI: case OP_RORIW: case OP_BCLRI: case OP_BEXTI: case OP_BINVI: case OP_BSETI:
		mn(o, n), add(o, "%s,%s,%d", rd, rs1, in->imm);
		return;
	case OP_CSRRW: case OP_CSRRS: case OP_CSRRC: case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
		csr(o, in);
		return;
	case OP_FENCE:
		mn(o, n), fence_set(o, (in->raw >> 24) & 15), add(o, ","), fence_set(o, (in->raw >> 20) & 15);
		return;
	case OP_SFENCE_VMA: case OP_SINVAL_VMA:
		mn(o, n), add(o, "%s,%s", rs1, rs2);
		return;
	case OP_AMO:
		amo(o, in);
		return;
	case OP_FP:
		fp(o, in->raw);
		return;
	case OP_CLZ: case OP_CLZW: case OP_CTZ: case OP_CTZW: case OP_CPOP: case OP_CPOPW: case OP_SEXT_B:
	case OP_SEXT_H: case OP_ZEXT_H: case OP_ORC_B: case OP_REV8: case OP_BREV8:
		mn(o, n), add(o, "%s,%s", rd, rs1);
		return;
	case OP_CBO_INVAL: case OP_CBO_CLEAN: case OP_CBO_FLUSH: case OP_CBO_ZERO:
		mn(o, n), add(o, "(%s)", rs1);
		return;
	default: /* register-register */
		mn(o, n), add(o, "%s,%s,%s", rd, rs1, rs2);
		return;
	}
}

int vm_disasm_hmp(uint32_t raw, uint64_t pc, char *buf, size_t len)
{
	struct rv_insn in;
	struct out o = { buf, len, 0 };
	buf[0] = 0;
	rv_decode(raw, &in);
	if (in.len == 2)
		add(&o, "%04x              ", raw & 0xffff);
	else
		add(&o, "%08x          ", raw);
	size_t start = o.at;
	struct out t = { buf + start, len - start, 0 };
	insn(&t, &in, pc);
	return in.len;
}
