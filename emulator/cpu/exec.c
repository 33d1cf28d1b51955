/* exec.c - the interpreter loop: fetch through the fetch cache, look up the decoded form by
 * raw bits, execute. Every path that traps has already redirected pc through rv_raise()
 * and simply continues with the next iteration; only completed instructions count in
 * instret. */
#include "emulator/cpu/cpu.h"
#include "emulator/cpu/mem.h"
#include "emulator/cpu/ops.h"
#include "emulator/machine/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int rv_cpu_init(struct rv_cpu *cpu, struct vm_bus *bus)
{
	memset(cpu, 0, sizeof(*cpu));
	cpu->dcache = malloc(sizeof(struct rv_insn) << RV_DCACHE_BITS);
	if (!cpu->dcache)
		return -ENOMEM;
	struct rv_insn illegal;
	rv_decode(0, &illegal);
	illegal.raw = 0; /* raw 0 never matches a fetched compressed word wrongly: it is illegal */
	for (size_t i = 0; i < (1u << RV_DCACHE_BITS); i++)
		cpu->dcache[i] = illegal;
	cpu->bus = bus;
	rv_cpu_reset(cpu, 0x80000000);
	return 0;
}

void rv_cpu_destroy(struct rv_cpu *cpu)
{
	free(cpu->dcache);
	cpu->dcache = NULL;
}

void rv_cpu_reset(struct rv_cpu *cpu, uint64_t pc)
{
	memset(cpu->x, 0, sizeof(cpu->x));
	memset(cpu->f, 0, sizeof(cpu->f));
	cpu->pc = pc;
	cpu->priv = RV_PRIV_M;
	cpu->mstatus = 2ULL << 32 | 2ULL << 34;
	cpu->misa = 0;
	cpu->resv_addr = ~0ULL;
	cpu->wfi = false;
	rv_tlb_flush(cpu);
}

static inline uint32_t dcache_slot(uint32_t raw)
{
	return (raw * 0x9e3779b1u) >> (32 - RV_DCACHE_BITS);
}

static uint64_t mulh64(int64_t a, int64_t b)
{
	return (uint64_t)(((__int128)a * b) >> 64);
}

static uint64_t mulhu64(uint64_t a, uint64_t b)
{
	return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

static uint64_t mulhsu64(int64_t a, uint64_t b)
{
	return (uint64_t)(((__int128)a * (unsigned __int128)b) >> 64);
}

static void illegal(struct rv_cpu *cpu, const struct rv_insn *in)
{
	rv_raise(cpu, RV_EXC_ILLEGAL, in->raw);
}

/* AMOs and LR/SC. Returns 0, or -1 if it trapped. */
static int exec_amo(struct rv_cpu *cpu, const struct rv_insn *in)
{
	unsigned size = in->rm == 3 ? 8 : 4;
	uint64_t va = cpu->x[in->rs1];
	unsigned f5 = (unsigned)in->imm;
	void *host;
	uint64_t pa, old, src = cpu->x[in->rs2], nv;

	if (f5 == 0x03) { /* sc: fails without touching memory unless the reservation holds */
		if (cpu->resv_addr != va) {
			cpu->resv_addr = ~0ULL;
			if (va & (size - 1)) {
				rv_raise(cpu, RV_EXC_STORE_MISALIGNED, va);
				return -1;
			}
			cpu->x[in->rd] = 1;
			return 0;
		}
	}
	if (rv_amo_translate(cpu, va, size, f5 == 0x02, &host, &pa))
		return -1;
	if (host) {
		if (size == 4) {
			uint32_t w;
			memcpy(&w, host, 4);
			old = (uint64_t)(int64_t)(int32_t)w;
		} else {
			memcpy(&old, host, 8);
		}
	} else if (f5 == 0x03) {
		old = 0;
	} else if (vm_bus_read(cpu->bus, pa, size, &old)) {
		rv_raise(cpu, f5 == 0x02 ? RV_EXC_LOAD_ACCESS : RV_EXC_STORE_ACCESS, va);
		return -1;
	} else if (size == 4) {
		old = (uint64_t)(int64_t)(int32_t)old;
	}
	switch (f5) {
	case 0x02: /* lr */
		cpu->resv_addr = va;
		cpu->x[in->rd] = old;
		return 0;
	case 0x03: /* sc */
		nv = src;
		break;
	case 0x01: nv = src; break;
	case 0x00: nv = old + src; break;
	case 0x04: nv = old ^ src; break;
	case 0x0c: nv = old & src; break;
	case 0x08: nv = old | src; break;
	case 0x10: /* min */
		nv = size == 4 ? ((int32_t)old < (int32_t)src ? old : src) : ((int64_t)old < (int64_t)src ? old : src);
		break;
	case 0x14: /* max */
		nv = size == 4 ? ((int32_t)old > (int32_t)src ? old : src) : ((int64_t)old > (int64_t)src ? old : src);
		break;
	case 0x18: /* minu */
		nv = size == 4 ? ((uint32_t)old < (uint32_t)src ? old : src) : (old < src ? old : src);
		break;
	default: /* maxu */
		nv = size == 4 ? ((uint32_t)old > (uint32_t)src ? old : src) : (old > src ? old : src);
		break;
	}
	if (host) {
		memcpy(host, &nv, size);
	} else if (vm_bus_write(cpu->bus, pa, size, nv)) {
		rv_raise(cpu, RV_EXC_STORE_ACCESS, va);
		return -1;
	}
	if (f5 == 0x03) {
		cpu->resv_addr = ~0ULL;
		cpu->x[in->rd] = 0;
	} else {
		cpu->x[in->rd] = old;
	}
	return 0;
}

static int exec_system(struct rv_cpu *cpu, const struct rv_insn *in)
{
	switch (in->op) {
	case OP_ECALL:
		rv_raise(cpu, cpu->priv == RV_PRIV_U ? RV_EXC_ECALL_U : cpu->priv == RV_PRIV_S ? RV_EXC_ECALL_S : RV_EXC_ECALL_M, 0);
		return -1;
	case OP_EBREAK:
		rv_raise(cpu, RV_EXC_BREAKPOINT, 0); /* tval 0, as QEMU */
		return -1;
	case OP_MRET:
		if (cpu->priv != RV_PRIV_M)
			break;
		rv_mret(cpu);
		cpu->budget = 0;
		return 1;
	case OP_SRET:
		if (cpu->priv == RV_PRIV_U || (cpu->priv == RV_PRIV_S && (cpu->mstatus & RV_MS_TSR)))
			break;
		rv_sret(cpu);
		cpu->budget = 0;
		return 1;
	case OP_WFI:
		if (cpu->priv == RV_PRIV_U || (cpu->priv == RV_PRIV_S && (cpu->mstatus & RV_MS_TW)))
			break;
		cpu->wfi = true;
		cpu->budget = 0;
		return 0;
	case OP_SFENCE_VMA:
		if (cpu->priv == RV_PRIV_U || (cpu->priv == RV_PRIV_S && (cpu->mstatus & RV_MS_TVM)))
			break;
		if (in->rs1 == 0)
			rv_tlb_flush(cpu);
		else
			rv_tlb_flush_va(cpu, cpu->x[in->rs1]);
		return 0;
	default: { /* CSR instructions */
		bool imm_form = in->op >= OP_CSRRWI;
		uint64_t src = imm_form ? in->rs1 : cpu->x[in->rs1];
		int kind = (in->op - OP_CSRRW) % 3 + 1; /* 1 write, 2 set, 3 clear */
		bool do_write = kind == 1 || in->rs1 != 0;
		bool do_read = kind != 1 || in->rd != 0;
		uint64_t v = 0;
		if (rv_csr_access(cpu, (unsigned)in->imm & 0xfff, &v, src, kind, do_write, do_read))
			break;
		if (do_read)
			cpu->x[in->rd] = v;
		return 0;
	}
	}
	illegal(cpu, in);
	return -1;
}

void rv_run(struct rv_cpu *cpu, int64_t budget)
{
	uint64_t *const x = cpu->x;
	struct rv_insn *const dcache = cpu->dcache;

	cpu->budget = budget;
	while (cpu->budget > 0) {
		uint64_t pc = cpu->pc;
		uint32_t raw;
		cpu->budget--;
		if (RV_LIKELY((pc & ~0xfffULL) == cpu->fetch_page && (pc & 0xfff) <= 0xffc)) {
			memcpy(&raw, (const void *)(cpu->fetch_addend + (uintptr_t)pc), 4);
			if ((raw & 3) != 3)
				raw &= 0xffff;
		} else if (rv_fetch_slow(cpu, pc, &raw)) {
			continue;
		}
		struct rv_insn *in = &dcache[dcache_slot(raw)];
		if (in->raw != raw)
			rv_decode(raw, in);
		if (cpu->trace)
			cpu->trace(cpu, pc, raw, in->len);

		uint64_t next = pc + in->len;
		uint64_t a = x[in->rs1], b = x[in->rs2], v;
		int64_t imm = in->imm;
		switch ((enum rv_op)in->op) {
		case OP_LUI: x[in->rd] = (uint64_t)imm; break;
		case OP_AUIPC: x[in->rd] = pc + (uint64_t)imm; break;
		case OP_JAL: x[in->rd] = next; next = pc + (uint64_t)imm; break;
		case OP_JALR: x[in->rd] = next; next = (a + (uint64_t)imm) & ~1ULL; break;
		case OP_BEQ: if (a == b) next = pc + (uint64_t)imm; break;
		case OP_BNE: if (a != b) next = pc + (uint64_t)imm; break;
		case OP_BLT: if ((int64_t)a < (int64_t)b) next = pc + (uint64_t)imm; break;
		case OP_BGE: if ((int64_t)a >= (int64_t)b) next = pc + (uint64_t)imm; break;
		case OP_BLTU: if (a < b) next = pc + (uint64_t)imm; break;
		case OP_BGEU: if (a >= b) next = pc + (uint64_t)imm; break;
		case OP_LB: if (rv_load(cpu, a + (uint64_t)imm, 1, &v)) continue; x[in->rd] = (uint64_t)(int8_t)v; break;
		case OP_LH: if (rv_load(cpu, a + (uint64_t)imm, 2, &v)) continue; x[in->rd] = (uint64_t)(int16_t)v; break;
		case OP_LW: if (rv_load(cpu, a + (uint64_t)imm, 4, &v)) continue; x[in->rd] = (uint64_t)(int32_t)v; break;
		case OP_LD: if (rv_load(cpu, a + (uint64_t)imm, 8, &v)) continue; x[in->rd] = v; break;
		case OP_LBU: if (rv_load(cpu, a + (uint64_t)imm, 1, &v)) continue; x[in->rd] = v; break;
		case OP_LHU: if (rv_load(cpu, a + (uint64_t)imm, 2, &v)) continue; x[in->rd] = v; break;
		case OP_LWU: if (rv_load(cpu, a + (uint64_t)imm, 4, &v)) continue; x[in->rd] = v; break;
		case OP_SB: if (rv_store(cpu, a + (uint64_t)imm, 1, b)) continue; break;
		case OP_SH: if (rv_store(cpu, a + (uint64_t)imm, 2, b)) continue; break;
		case OP_SW: if (rv_store(cpu, a + (uint64_t)imm, 4, b)) continue; break;
		case OP_SD: if (rv_store(cpu, a + (uint64_t)imm, 8, b)) continue; break;
		case OP_ADDI: x[in->rd] = a + (uint64_t)imm; break;
		case OP_SLTI: x[in->rd] = (int64_t)a < imm; break;
		case OP_SLTIU: x[in->rd] = a < (uint64_t)imm; break;
		case OP_XORI: x[in->rd] = a ^ (uint64_t)imm; break;
		case OP_ORI: x[in->rd] = a | (uint64_t)imm; break;
		case OP_ANDI: x[in->rd] = a & (uint64_t)imm; break;
		case OP_SLLI: x[in->rd] = a << imm; break;
		case OP_SRLI: x[in->rd] = a >> imm; break;
		case OP_SRAI: x[in->rd] = (uint64_t)((int64_t)a >> imm); break;
		case OP_ADD: x[in->rd] = a + b; break;
		case OP_SUB: x[in->rd] = a - b; break;
		case OP_SLL: x[in->rd] = a << (b & 63); break;
		case OP_SLT: x[in->rd] = (int64_t)a < (int64_t)b; break;
		case OP_SLTU: x[in->rd] = a < b; break;
		case OP_XOR: x[in->rd] = a ^ b; break;
		case OP_SRL: x[in->rd] = a >> (b & 63); break;
		case OP_SRA: x[in->rd] = (uint64_t)((int64_t)a >> (b & 63)); break;
		case OP_OR: x[in->rd] = a | b; break;
		case OP_AND: x[in->rd] = a & b; break;
		case OP_ADDIW: x[in->rd] = (uint64_t)(int32_t)(uint32_t)(a + (uint64_t)imm); break;
		case OP_SLLIW: x[in->rd] = (uint64_t)(int32_t)((uint32_t)a << imm); break;
		case OP_SRLIW: x[in->rd] = (uint64_t)(int32_t)((uint32_t)a >> imm); break;
		case OP_SRAIW: x[in->rd] = (uint64_t)((int32_t)a >> imm); break;
		case OP_ADDW: x[in->rd] = (uint64_t)(int32_t)(uint32_t)(a + b); break;
		case OP_SUBW: x[in->rd] = (uint64_t)(int32_t)(uint32_t)(a - b); break;
		case OP_SLLW: x[in->rd] = (uint64_t)(int32_t)((uint32_t)a << (b & 31)); break;
		case OP_SRLW: x[in->rd] = (uint64_t)(int32_t)((uint32_t)a >> (b & 31)); break;
		case OP_SRAW: x[in->rd] = (uint64_t)((int32_t)a >> (b & 31)); break;
		case OP_MUL: x[in->rd] = a * b; break;
		case OP_MULH: x[in->rd] = mulh64((int64_t)a, (int64_t)b); break;
		case OP_MULHSU: x[in->rd] = mulhsu64((int64_t)a, b); break;
		case OP_MULHU: x[in->rd] = mulhu64(a, b); break;
		case OP_DIV:
			x[in->rd] = b == 0 ? ~0ULL
				  : ((int64_t)a == INT64_MIN && (int64_t)b == -1) ? a
				  : (uint64_t)((int64_t)a / (int64_t)b);
			break;
		case OP_DIVU: x[in->rd] = b == 0 ? ~0ULL : a / b; break;
		case OP_REM:
			x[in->rd] = b == 0 ? a : ((int64_t)a == INT64_MIN && (int64_t)b == -1) ? 0
				  : (uint64_t)((int64_t)a % (int64_t)b);
			break;
		case OP_REMU: x[in->rd] = b == 0 ? a : a % b; break;
		case OP_MULW: x[in->rd] = (uint64_t)(int32_t)(uint32_t)(a * b); break;
		case OP_DIVW: {
			int32_t s1 = (int32_t)a, s2 = (int32_t)b;
			x[in->rd] = (uint64_t)(int64_t)(s2 == 0 ? -1 : (s1 == INT32_MIN && s2 == -1) ? s1 : s1 / s2);
			break;
		}
		case OP_DIVUW: {
			uint32_t u1 = (uint32_t)a, u2 = (uint32_t)b;
			x[in->rd] = (uint64_t)(int32_t)(u2 == 0 ? ~0u : u1 / u2);
			break;
		}
		case OP_REMW: {
			int32_t s1 = (int32_t)a, s2 = (int32_t)b;
			x[in->rd] = (uint64_t)(int64_t)(s2 == 0 ? s1 : (s1 == INT32_MIN && s2 == -1) ? 0 : s1 % s2);
			break;
		}
		case OP_REMUW: {
			uint32_t u1 = (uint32_t)a, u2 = (uint32_t)b;
			x[in->rd] = (uint64_t)(int32_t)(u2 == 0 ? u1 : u1 % u2);
			break;
		}
		case OP_FENCE: break;
		case OP_FENCE_I: break; /* the decode cache is keyed by raw bits: nothing to drop */
		case OP_ECALL: case OP_EBREAK: case OP_MRET: case OP_SRET: case OP_WFI: case OP_SFENCE_VMA:
		case OP_CSRRW: case OP_CSRRS: case OP_CSRRC: case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI: {
			int r = exec_system(cpu, in);
			if (r < 0)
				continue;
			if (r > 0) { /* xRET set pc itself */
				cpu->instret++;
				continue;
			}
			break;
		}
		case OP_AMO:
			if (exec_amo(cpu, in))
				continue;
			break;
		case OP_FLW: case OP_FLD: case OP_FSW: case OP_FSD: case OP_FP:
			if (rv_exec_fp(cpu, in))
				continue;
			break;
		case OP_ILLEGAL:
		case OP_COUNT:
		default:
			illegal(cpu, in);
			continue;
		}
		x[0] = 0;
		cpu->pc = next;
		cpu->instret++;
	}
	x[0] = 0;
}
