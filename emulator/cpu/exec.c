/* exec.c - the interpreter loop: fetch through the fetch cache, look up the decoded form by
 * raw bits, execute. Every path that traps has already redirected pc through rv_raise()
 * and simply continues with the next iteration; only completed instructions count in
 * instret. */
#include "emulator/cpu/bitmanip.h"
#include "emulator/cpu/cpu.h"
#include "emulator/cpu/jit.h"
#include "emulator/cpu/mem.h"
#include "emulator/cpu/muldiv.h"
#include "emulator/cpu/ops.h"
#include "emulator/bus/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int rv_cpu_init(struct rv_cpu *cpu, struct vm_bus *bus)
{
	memset(cpu, 0, sizeof(*cpu));
	/* fresh zeroed memory, page-aligned (struct rv_dpage): slots cost nothing until used */
	void *dp = mmap(NULL, RV_DPAGES_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dp == MAP_FAILED)
		return -ENOMEM;
#ifdef MADV_NOHUGEPAGE
	(void)madvise(dp, RV_DPAGES_BYTES, MADV_NOHUGEPAGE); /* a huge page would commit 2 MiB a touch */
#endif
	cpu->code_map = calloc((size_t)(bus->ram_size >> 12) + 1, 1);
	if (!cpu->code_map) {
		munmap(dp, RV_DPAGES_BYTES);
		return -ENOMEM;
	}
	cpu->dpages = dp;
	cpu->fetch_dp = cpu->dpages; /* never dereferenced until fetch_page matches */
	cpu->hart_bit = 1;
	cpu->bus = bus;
	cpu->ext = RV_EXT_DEFAULT;
	rv_cpu_reset(cpu, 0x80000000);
	return 0;
}

void rv_cpu_destroy(struct rv_cpu *cpu)
{
	rv_jit_destroy(cpu);
	if (cpu->dpages)
		munmap(cpu->dpages, RV_DPAGES_BYTES);
	if (!cpu->code_map_borrowed)
		free(cpu->code_map);
	cpu->dpages = NULL;
	cpu->code_map = NULL;
}

void rv_cpu_reset(struct rv_cpu *cpu, uint64_t pc)
{
	memset(cpu->x, 0, sizeof(cpu->x));
	memset(cpu->f, 0, sizeof(cpu->f));
	cpu->fflags = cpu->frm = 0;
	cpu->pc = pc;
	cpu->priv = RV_PRIV_M;
	/* every CSR back to its reset value (a system_reset reuses the hart) */
	uint64_t hartid = cpu->mhartid;
	memset(&cpu->mstatus, 0, (size_t)((char *)&cpu->mhartid - (char *)&cpu->mstatus));
	cpu->mhartid = hartid;
	cpu->mstatus = 2ULL << 32 | 2ULL << 34;
	cpu->seip_ext = false;
	memset(cpu->pmpcfg, 0, sizeof(cpu->pmpcfg));
	memset(cpu->pmpaddr, 0, sizeof(cpu->pmpaddr));
	rv_trig_reset(cpu);
	cpu->resv_addr = ~0ULL;
	cpu->wfi = false;
	rv_pmp_update(cpu); /* flushes */
}

void rv_cpu_flush_code(struct rv_cpu *cpu)
{
	rv_code_write(cpu, cpu->bus->ram_base, cpu->bus->ram_size);
}

void rv_cpu_share_code(struct rv_cpu *const *harts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct rv_cpu *c = harts[i];
		if (i && !c->code_map_borrowed) {
			free(c->code_map);
			c->code_map = harts[0]->code_map;
			c->code_map_borrowed = true;
		}
		c->harts = harts;
		c->nharts = n;
		c->hart_bit = (uint8_t)(1u << i);
		rv_tlb_flush(c);
	}
	/* before the first rv_run (cpu.h): no hart has a decoded page yet. Reading every slot's
	 * tag would fault in a page per slot (16 384 at -smp 2, ~0.3 s of CPU at start) */
	memset(harts[0]->code_map, 0, (size_t)(harts[0]->bus->ram_size >> 12) + 1);
}

static void illegal(struct rv_cpu *cpu, const struct rv_insn *in)
{
	rv_raise(cpu, RV_EXC_ILLEGAL, in->raw);
}

/* The new value of an AMO (funct5 f5) from the old one and rs2. */
static uint64_t amo_op(unsigned f5, unsigned size, uint64_t old, uint64_t src)
{
	switch (f5) {
	case 0x01: return src;
	case 0x00: return old + src;
	case 0x04: return old ^ src;
	case 0x0c: return old & src;
	case 0x08: return old | src;
	case 0x10: /* min */
		return size == 4 ? ((int32_t)old < (int32_t)src ? old : src) : ((int64_t)old < (int64_t)src ? old : src);
	case 0x14: /* max */
		return size == 4 ? ((int32_t)old > (int32_t)src ? old : src) : ((int64_t)old > (int64_t)src ? old : src);
	case 0x18: /* minu */
		return size == 4 ? ((uint32_t)old < (uint32_t)src ? old : src) : (old < src ? old : src);
	default: /* maxu */
		return size == 4 ? ((uint32_t)old > (uint32_t)src ? old : src) : (old > src ? old : src);
	}
}

/* Host compare-and-swap of a RAM word (size 4 or 8): true when *host held *old and now holds
 * nv; else *old is what it held. Sequentially consistent, so .aq/.rl need nothing more. */
static bool ram_cas(void *host, unsigned size, uint64_t *old, uint64_t nv)
{
	if (size == 8)
		return __atomic_compare_exchange_n((uint64_t *)host, old, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	uint32_t o = (uint32_t)*old;
	bool ok = __atomic_compare_exchange_n((uint32_t *)host, &o, (uint32_t)nv, false, __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST);
	*old = o;
	return ok;
}

static uint64_t ram_load(const void *host, unsigned size)
{
	if (size == 8)
		return __atomic_load_n((const uint64_t *)host, __ATOMIC_SEQ_CST);
	return __atomic_load_n((const uint32_t *)host, __ATOMIC_SEQ_CST);
}

/* An AMO or LR/SC on RAM with host atomics, so it is atomic against harts on other threads
 * (thread=multi). SC is a compare-and-swap of the value LR read: it fails when another hart
 * changed the word meanwhile, but succeeds after a write that put the same value back (the
 * ABA case; QEMU's MTTCG does the same, and LR/SC loops that build compare-and-swap or
 * counters cannot tell). */
static int amo_ram(struct rv_cpu *cpu, void *host, unsigned size, unsigned f5, unsigned rd, uint64_t va,
		   uint64_t src)
{
	uint64_t old;
	if (f5 == 0x02) { /* lr */
		old = ram_load(host, size);
		cpu->resv_addr = va;
		cpu->resv_val = old;
	} else if (f5 == 0x03) { /* sc */
		uint64_t expect = cpu->resv_val;
		cpu->resv_addr = ~0ULL;
		cpu->x[rd] = ram_cas(host, size, &expect, src) ? 0 : 1;
		return 0;
	} else {
		old = ram_load(host, size);
		while (!ram_cas(host, size, &old, amo_op(f5, size, old, src)))
			;
	}
	cpu->x[rd] = size == 4 ? (uint64_t)(int64_t)(int32_t)old : old;
	return 0;
}

/* AMOs and LR/SC. Returns 0, or -1 if it trapped. */
static int exec_amo(struct rv_cpu *cpu, const struct rv_insn *in)
{
	unsigned size = in->rm == 3 ? 8 : 4;
	unsigned rd = in->rd; /* the store below may drop the decoded page holding `in` */
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
			cpu->x[rd] = 1;
			return 0;
		}
	}
	if (rv_amo_translate(cpu, va, size, f5 == 0x02, &host, &pa))
		return -1;
	if (host)
		return amo_ram(cpu, host, size, f5, rd, va, src);
	if (f5 == 0x03) {
		old = 0;
	} else if (vm_bus_read(cpu->bus, pa, size, &old)) {
		rv_raise(cpu, f5 == 0x02 ? RV_EXC_LOAD_ACCESS : RV_EXC_STORE_ACCESS, va);
		return -1;
	} else if (size == 4) {
		old = (uint64_t)(int64_t)(int32_t)old;
	}
	if (f5 == 0x02) { /* lr */
		cpu->resv_addr = va;
		cpu->resv_val = old;
		cpu->x[rd] = old;
		return 0;
	}
	nv = f5 == 0x03 ? src : amo_op(f5, size, old, src);
	if (vm_bus_write(cpu->bus, pa, size, nv)) {
		rv_raise(cpu, RV_EXC_STORE_ACCESS, va);
		return -1;
	}
	if (f5 == 0x03) {
		cpu->resv_addr = ~0ULL;
		cpu->x[rd] = 0;
	} else {
		cpu->x[rd] = old;
	}
	return 0;
}

/* Zicbom/Zicboz: enabled below M by the envcfg fields (CBIE bits 5:4, CBCFE bit 6, CBZE bit 7
 * of menvcfg, and of senvcfg for U). Caches are not modelled, so clean/flush/inval only check
 * that the block could be written (store faults); cbo.zero zeroes it. Returns 0 or -1. */
static int exec_cbo(struct rv_cpu *cpu, const struct rv_insn *in)
{
	unsigned op = in->op; /* the stores below may drop the decoded page holding `in` */
	uint64_t va = cpu->x[in->rs1];
	uint64_t mask = op == OP_CBO_ZERO ? 0x80 : op == OP_CBO_INVAL ? 0x30 : 0x40;
	if ((cpu->priv != RV_PRIV_M && !(cpu->menvcfg & mask)) || (cpu->priv == RV_PRIV_U && !(cpu->senvcfg & mask))) {
		illegal(cpu, in);
		return -1;
	}
	if (op != OP_CBO_ZERO) {
		void *host;
		uint64_t pa;
		return rv_amo_translate(cpu, va, 1, false, &host, &pa);
	}
	va &= ~(uint64_t)(RV_CBO_BLOCK - 1);
	for (unsigned i = 0; i < RV_CBO_BLOCK; i += 8)
		if (rv_store(cpu, va + i, 8, 0))
			return -1;
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
	case OP_SFENCE_W_INVAL: /* Svinval's ordering fences: no-ops, in U-mode too as on QEMU 7.2 */
	case OP_SFENCE_INVAL_IR:
		return 0;
	case OP_SFENCE_VMA:
	case OP_SINVAL_VMA:
		if (cpu->priv == RV_PRIV_U || (cpu->priv == RV_PRIV_S && (cpu->mstatus & RV_MS_TVM))) {
			if (in->op == OP_SINVAL_VMA) { /* QEMU 7.2 reports this one with tval 0 */
				rv_raise(cpu, RV_EXC_ILLEGAL, 0);
				return -1;
			}
			break;
		}
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

/* Fetches the instruction at cpu->pc through the fetch cache and its decoded slot, reads
 * its operands and jumps to its handler. Expanded at the end of every handler (threaded
 * code), which gives the host's branch predictor one indirect jump per guest opcode. */
#define FETCH_DISPATCH()                                                                         \
	do {                                                                                     \
		/* cpu->budget drops to 0 when something asks to end the batch early */          \
		if (left-- <= 0 || cpu->budget == 0)                                             \
			goto out;                                                                \
		cpu->pc = pc; /* for traps and slow paths; nothing reads it back here */         \
		in = &cpu->fetch_dp->insn[(pc & 0xfff) >> 1];                                    \
		if (!RV_LIKELY((pc & ~0xfffULL) == cpu->fetch_page && in->len)) {                \
			/* a miss of the fetch page or a slot not decoded yet */                 \
			if (rv_fetch_slow(cpu, pc, &raw, &in))                                   \
				goto top;                                                        \
			if (in->len == 0 || in->raw != raw)                                      \
				rv_decode_cpu(cpu, raw, in);                                     \
		}                                                                                \
		if (trace)                                                                       \
			trace(cpu, pc, in->raw, in->len);                                        \
		next = pc + in->len;                                                             \
		a = x[in->rs1];                                                                  \
		b = x[in->rs2];                                                                  \
		imm = in->imm;                                                                   \
		goto *dispatch[in->op < OP_COUNT ? in->op : OP_ILLEGAL];                         \
	} while (0)

/* The instruction completed: count it and go on with the next one. pc, the batch budget
 * and the retired count live in locals; cpu->pc is written at every fetch and after a trap
 * the loop restarts from cpu->pc (label top). */
#define RETIRE_NEXT()              \
	do {                       \
		x[0] = 0;          \
		pc = next;         \
		retired++;         \
		FETCH_DISPATCH();  \
	} while (0)

/* A jump or taken branch completed: its target may start a compiled block. */
#define RETIRE_JUMP()              \
	do {                       \
		x[0] = 0;          \
		pc = next;         \
		retired++;         \
		goto jumped;       \
	} while (0)

void rv_run(struct rv_cpu *cpu, int64_t budget, enum rv_run_mode mode)
{
	uint64_t *const x = cpu->x;
	uint64_t pc, next, a, b, v;
	uint32_t raw;
	struct rv_insn *in;
	int64_t imm;
	int64_t left = budget;
	int64_t resume = -1; /* while stepping one instruction: the budget left after it */
	uint64_t retired = 0;
	void (*const trace)(struct rv_cpu *, uint64_t, uint32_t, int) = cpu->trace;
	const bool jit_on = cpu->jit && !trace; /* tracing needs every instruction */
	static const void *const dispatch[OP_COUNT] = {
		[OP_LUI] = &&L_OP_LUI,
		[OP_AUIPC] = &&L_OP_AUIPC,
		[OP_JAL] = &&L_OP_JAL,
		[OP_JALR] = &&L_OP_JALR,
		[OP_BEQ] = &&L_OP_BEQ,
		[OP_BNE] = &&L_OP_BNE,
		[OP_BLT] = &&L_OP_BLT,
		[OP_BGE] = &&L_OP_BGE,
		[OP_BLTU] = &&L_OP_BLTU,
		[OP_BGEU] = &&L_OP_BGEU,
		[OP_LB] = &&L_OP_LB,
		[OP_LH] = &&L_OP_LH,
		[OP_LW] = &&L_OP_LW,
		[OP_LD] = &&L_OP_LD,
		[OP_LBU] = &&L_OP_LBU,
		[OP_LHU] = &&L_OP_LHU,
		[OP_LWU] = &&L_OP_LWU,
		[OP_SB] = &&L_OP_SB,
		[OP_SH] = &&L_OP_SH,
		[OP_SW] = &&L_OP_SW,
		[OP_SD] = &&L_OP_SD,
		[OP_ADDI] = &&L_OP_ADDI,
		[OP_SLTI] = &&L_OP_SLTI,
		[OP_SLTIU] = &&L_OP_SLTIU,
		[OP_XORI] = &&L_OP_XORI,
		[OP_ORI] = &&L_OP_ORI,
		[OP_ANDI] = &&L_OP_ANDI,
		[OP_SLLI] = &&L_OP_SLLI,
		[OP_SRLI] = &&L_OP_SRLI,
		[OP_SRAI] = &&L_OP_SRAI,
		[OP_ADD] = &&L_OP_ADD,
		[OP_SUB] = &&L_OP_SUB,
		[OP_SLL] = &&L_OP_SLL,
		[OP_SLT] = &&L_OP_SLT,
		[OP_SLTU] = &&L_OP_SLTU,
		[OP_XOR] = &&L_OP_XOR,
		[OP_SRL] = &&L_OP_SRL,
		[OP_SRA] = &&L_OP_SRA,
		[OP_OR] = &&L_OP_OR,
		[OP_AND] = &&L_OP_AND,
		[OP_ADDIW] = &&L_OP_ADDIW,
		[OP_SLLIW] = &&L_OP_SLLIW,
		[OP_SRLIW] = &&L_OP_SRLIW,
		[OP_SRAIW] = &&L_OP_SRAIW,
		[OP_ADDW] = &&L_OP_ADDW,
		[OP_SUBW] = &&L_OP_SUBW,
		[OP_SLLW] = &&L_OP_SLLW,
		[OP_SRLW] = &&L_OP_SRLW,
		[OP_SRAW] = &&L_OP_SRAW,
		[OP_MUL] = &&L_OP_MUL,
		[OP_MULH] = &&L_OP_MULH,
		[OP_MULHSU] = &&L_OP_MULHSU,
		[OP_MULHU] = &&L_OP_MULHU,
		[OP_DIV] = &&L_OP_DIV,
		[OP_DIVU] = &&L_OP_DIVU,
		[OP_REM] = &&L_OP_REM,
		[OP_REMU] = &&L_OP_REMU,
		[OP_MULW] = &&L_OP_MULW,
		[OP_DIVW] = &&L_OP_DIVW,
		[OP_DIVUW] = &&L_OP_DIVUW,
		[OP_REMW] = &&L_OP_REMW,
		[OP_REMUW] = &&L_OP_REMUW,
		[OP_FENCE] = &&L_OP_FENCE,
		[OP_FENCE_I] = &&L_OP_FENCE_I,
		[OP_ECALL] = &&L_OP_ECALL,
		[OP_EBREAK] = &&L_OP_EBREAK,
		[OP_MRET] = &&L_OP_MRET,
		[OP_SRET] = &&L_OP_SRET,
		[OP_WFI] = &&L_OP_WFI,
		[OP_SFENCE_VMA] = &&L_OP_SFENCE_VMA,
		[OP_CSRRW] = &&L_OP_CSRRW,
		[OP_CSRRS] = &&L_OP_CSRRS,
		[OP_CSRRC] = &&L_OP_CSRRC,
		[OP_CSRRWI] = &&L_OP_CSRRWI,
		[OP_CSRRSI] = &&L_OP_CSRRSI,
		[OP_CSRRCI] = &&L_OP_CSRRCI,
		[OP_AMO] = &&L_OP_AMO,
		[OP_FLW] = &&L_OP_FLW,
		[OP_FLD] = &&L_OP_FLD,
		[OP_FSW] = &&L_OP_FSW,
		[OP_FSD] = &&L_OP_FSD,
		[OP_FP] = &&L_OP_FP,
		[OP_SH1ADD] = &&L_OP_SH1ADD,
		[OP_SH2ADD] = &&L_OP_SH2ADD,
		[OP_SH3ADD] = &&L_OP_SH3ADD,
		[OP_ADD_UW] = &&L_OP_ADD_UW,
		[OP_SH1ADD_UW] = &&L_OP_SH1ADD_UW,
		[OP_SH2ADD_UW] = &&L_OP_SH2ADD_UW,
		[OP_SH3ADD_UW] = &&L_OP_SH3ADD_UW,
		[OP_SLLI_UW] = &&L_OP_SLLI_UW,
		[OP_ANDN] = &&L_OP_ANDN,
		[OP_ORN] = &&L_OP_ORN,
		[OP_XNOR] = &&L_OP_XNOR,
		[OP_CLZ] = &&L_OP_CLZ,
		[OP_CLZW] = &&L_OP_CLZW,
		[OP_CTZ] = &&L_OP_CTZ,
		[OP_CTZW] = &&L_OP_CTZW,
		[OP_CPOP] = &&L_OP_CPOP,
		[OP_CPOPW] = &&L_OP_CPOPW,
		[OP_MAX] = &&L_OP_MAX,
		[OP_MAXU] = &&L_OP_MAXU,
		[OP_MIN] = &&L_OP_MIN,
		[OP_MINU] = &&L_OP_MINU,
		[OP_SEXT_B] = &&L_OP_SEXT_B,
		[OP_SEXT_H] = &&L_OP_SEXT_H,
		[OP_ZEXT_H] = &&L_OP_ZEXT_H,
		[OP_ROL] = &&L_OP_ROL,
		[OP_ROLW] = &&L_OP_ROLW,
		[OP_ROR] = &&L_OP_ROR,
		[OP_RORW] = &&L_OP_RORW,
		[OP_RORI] = &&L_OP_RORI,
		[OP_RORIW] = &&L_OP_RORIW,
		[OP_ORC_B] = &&L_OP_ORC_B,
		[OP_REV8] = &&L_OP_REV8,
		[OP_CLMUL] = &&L_OP_CLMUL,
		[OP_CLMULH] = &&L_OP_CLMULH,
		[OP_CLMULR] = &&L_OP_CLMULR,
		[OP_BCLR] = &&L_OP_BCLR,
		[OP_BCLRI] = &&L_OP_BCLRI,
		[OP_BEXT] = &&L_OP_BEXT,
		[OP_BEXTI] = &&L_OP_BEXTI,
		[OP_BINV] = &&L_OP_BINV,
		[OP_BINVI] = &&L_OP_BINVI,
		[OP_BSET] = &&L_OP_BSET,
		[OP_BSETI] = &&L_OP_BSETI,
		[OP_PACK] = &&L_OP_PACK,
		[OP_PACKH] = &&L_OP_PACKH,
		[OP_PACKW] = &&L_OP_PACKW,
		[OP_BREV8] = &&L_OP_BREV8,
		[OP_XPERM4] = &&L_OP_XPERM4,
		[OP_XPERM8] = &&L_OP_XPERM8,
		[OP_CZERO_EQZ] = &&L_OP_CZERO_EQZ,
		[OP_CZERO_NEZ] = &&L_OP_CZERO_NEZ,
		[OP_SINVAL_VMA] = &&L_OP_SINVAL_VMA,
		[OP_SFENCE_W_INVAL] = &&L_OP_SFENCE_W_INVAL,
		[OP_SFENCE_INVAL_IR] = &&L_OP_SFENCE_INVAL_IR,
		[OP_CBO_INVAL] = &&L_OP_CBO,
		[OP_CBO_CLEAN] = &&L_OP_CBO,
		[OP_CBO_FLUSH] = &&L_OP_CBO,
		[OP_CBO_ZERO] = &&L_OP_CBO,
		[OP_ILLEGAL] = &&L_OP_ILLEGAL,
	};

	cpu->budget = 1;
top:
	pc = cpu->pc;
jumped:
	/* At a jump target (or after a trap): run the compiled block there, or count the
	 * arrival and compile it once it is hot. */
	if (jit_on && cpu->budget != 0) {
		/* the jump cache first: the decoded page's slot is usually a cache miss */
		struct rv_jc_entry *e = &cpu->jc[(pc >> 1) & (RV_JC_SIZE - 1)];
		rv_block_fn fn = NULL;
		struct rv_dpage *dp = NULL;
		unsigned s = (unsigned)(pc & 0xfff) >> 1;
		if (e->pc == pc && e->key == cpu->jc_key) {
			fn = (rv_block_fn)(void *)(cpu->jc_base + e->off);
		} else if ((pc & ~0xfffULL) == cpu->fetch_page || rv_fetch_enter(cpu, pc)) {
			dp = cpu->fetch_dp;
			fn = (rv_block_fn)dp->jit[s];
			if (fn)
				*e = (struct rv_jc_entry){ pc, cpu->jc_key, (uint32_t)((uint8_t *)(void *)fn - cpu->jc_base) };
		}
		bool step = false; /* interpret one instruction, then look for a block again */
		if (fn) {
			bool batch = mode == RV_RUN_BATCH && left > 0; /* may overrun by < one block */
			if (left >= (int64_t)rv_jit_block_insns(fn) || batch) {
				cpu->pc = pc;
				uint64_t r = fn(cpu, pc, batch ? left + RV_JIT_MAX_INSNS : left);
				retired += r >> 1;
				left -= (int64_t)(r >> 1);
				pc = cpu->pc;
				if (!(r & 1))
					goto jumped;
				step = true; /* a side exit: the code after its instruction may be compiled */
			}
		} else if (dp && dp->insn[s].heat < 255) {
			if (++dp->insn[s].heat >= cpu->jit_threshold) {
				dp->insn[s].heat = 255; /* compiled or refused: never counted again */
				cpu->pc = pc;
				if (rv_jit_compile(cpu, pc))
					goto jumped;
				step = true;
			}
		} else if (dp) {
			step = true; /* a refused block (its first instruction is the interpreter's) */
		}
		if (step && resume < 0 && left > 1) { /* see label out */
			resume = left - 1;
			left = 1;
		}
	}
	FETCH_DISPATCH();
	L_OP_LUI:
		x[in->rd] = (uint64_t)imm;
		RETIRE_NEXT();
	L_OP_AUIPC:
		x[in->rd] = pc + (uint64_t)imm;
		RETIRE_NEXT();
	L_OP_JAL:
		x[in->rd] = next;
		next = pc + (uint64_t)imm;
		RETIRE_JUMP();
	L_OP_JALR:
		x[in->rd] = next;
		next = (a + (uint64_t)imm) & ~1ULL;
		RETIRE_JUMP();
	L_OP_BEQ:
		if (a == b) {
			next = pc + (uint64_t)imm;
			RETIRE_JUMP();
		}
		RETIRE_NEXT();
	L_OP_BNE:
		if (a != b) {
			next = pc + (uint64_t)imm;
			RETIRE_JUMP();
		}
		RETIRE_NEXT();
	L_OP_BLT:
		if ((int64_t)a < (int64_t)b) {
			next = pc + (uint64_t)imm;
			RETIRE_JUMP();
		}
		RETIRE_NEXT();
	L_OP_BGE:
		if ((int64_t)a >= (int64_t)b) {
			next = pc + (uint64_t)imm;
			RETIRE_JUMP();
		}
		RETIRE_NEXT();
	L_OP_BLTU:
		if (a < b) {
			next = pc + (uint64_t)imm;
			RETIRE_JUMP();
		}
		RETIRE_NEXT();
	L_OP_BGEU:
		if (a >= b) {
			next = pc + (uint64_t)imm;
			RETIRE_JUMP();
		}
		RETIRE_NEXT();
	L_OP_LB:
		if (rv_load(cpu, a + (uint64_t)imm, 1, &v))
			goto top;
		x[in->rd] = (uint64_t)(int8_t)v;
		RETIRE_NEXT();
	L_OP_LH:
		if (rv_load(cpu, a + (uint64_t)imm, 2, &v))
			goto top;
		x[in->rd] = (uint64_t)(int16_t)v;
		RETIRE_NEXT();
	L_OP_LW:
		if (rv_load(cpu, a + (uint64_t)imm, 4, &v))
			goto top;
		x[in->rd] = (uint64_t)(int32_t)v;
		RETIRE_NEXT();
	L_OP_LD:
		if (rv_load(cpu, a + (uint64_t)imm, 8, &v))
			goto top;
		x[in->rd] = v;
		RETIRE_NEXT();
	L_OP_LBU:
		if (rv_load(cpu, a + (uint64_t)imm, 1, &v))
			goto top;
		x[in->rd] = v;
		RETIRE_NEXT();
	L_OP_LHU:
		if (rv_load(cpu, a + (uint64_t)imm, 2, &v))
			goto top;
		x[in->rd] = v;
		RETIRE_NEXT();
	L_OP_LWU:
		if (rv_load(cpu, a + (uint64_t)imm, 4, &v))
			goto top;
		x[in->rd] = v;
		RETIRE_NEXT();
	L_OP_SB:
		if (rv_store(cpu, a + (uint64_t)imm, 1, b))
			goto top;
		RETIRE_NEXT();
	L_OP_SH:
		if (rv_store(cpu, a + (uint64_t)imm, 2, b))
			goto top;
		RETIRE_NEXT();
	L_OP_SW:
		if (rv_store(cpu, a + (uint64_t)imm, 4, b))
			goto top;
		RETIRE_NEXT();
	L_OP_SD:
		if (rv_store(cpu, a + (uint64_t)imm, 8, b))
			goto top;
		RETIRE_NEXT();
	L_OP_ADDI:
		x[in->rd] = a + (uint64_t)imm;
		RETIRE_NEXT();
	L_OP_SLTI:
		x[in->rd] = (int64_t)a < imm;
		RETIRE_NEXT();
	L_OP_SLTIU:
		x[in->rd] = a < (uint64_t)imm;
		RETIRE_NEXT();
	L_OP_XORI:
		x[in->rd] = a ^ (uint64_t)imm;
		RETIRE_NEXT();
	L_OP_ORI:
		x[in->rd] = a | (uint64_t)imm;
		RETIRE_NEXT();
	L_OP_ANDI:
		x[in->rd] = a & (uint64_t)imm;
		RETIRE_NEXT();
	L_OP_SLLI:
		x[in->rd] = a << imm;
		RETIRE_NEXT();
	L_OP_SRLI:
		x[in->rd] = a >> imm;
		RETIRE_NEXT();
	L_OP_SRAI:
		x[in->rd] = (uint64_t)((int64_t)a >> imm);
		RETIRE_NEXT();
	L_OP_ADD:
		x[in->rd] = a + b;
		RETIRE_NEXT();
	L_OP_SUB:
		x[in->rd] = a - b;
		RETIRE_NEXT();
	L_OP_SLL:
		x[in->rd] = a << (b & 63);
		RETIRE_NEXT();
	L_OP_SLT:
		x[in->rd] = (int64_t)a < (int64_t)b;
		RETIRE_NEXT();
	L_OP_SLTU:
		x[in->rd] = a < b;
		RETIRE_NEXT();
	L_OP_XOR:
		x[in->rd] = a ^ b;
		RETIRE_NEXT();
	L_OP_SRL:
		x[in->rd] = a >> (b & 63);
		RETIRE_NEXT();
	L_OP_SRA:
		x[in->rd] = (uint64_t)((int64_t)a >> (b & 63));
		RETIRE_NEXT();
	L_OP_OR:
		x[in->rd] = a | b;
		RETIRE_NEXT();
	L_OP_AND:
		x[in->rd] = a & b;
		RETIRE_NEXT();
	L_OP_ADDIW:
		x[in->rd] = (uint64_t)(int32_t)(uint32_t)(a + (uint64_t)imm);
		RETIRE_NEXT();
	L_OP_SLLIW:
		x[in->rd] = (uint64_t)(int32_t)((uint32_t)a << imm);
		RETIRE_NEXT();
	L_OP_SRLIW:
		x[in->rd] = (uint64_t)(int32_t)((uint32_t)a >> imm);
		RETIRE_NEXT();
	L_OP_SRAIW:
		x[in->rd] = (uint64_t)((int32_t)a >> imm);
		RETIRE_NEXT();
	L_OP_ADDW:
		x[in->rd] = (uint64_t)(int32_t)(uint32_t)(a + b);
		RETIRE_NEXT();
	L_OP_SUBW:
		x[in->rd] = (uint64_t)(int32_t)(uint32_t)(a - b);
		RETIRE_NEXT();
	L_OP_SLLW:
		x[in->rd] = (uint64_t)(int32_t)((uint32_t)a << (b & 31));
		RETIRE_NEXT();
	L_OP_SRLW:
		x[in->rd] = (uint64_t)(int32_t)((uint32_t)a >> (b & 31));
		RETIRE_NEXT();
	L_OP_SRAW:
		x[in->rd] = (uint64_t)((int32_t)a >> (b & 31));
		RETIRE_NEXT();
	L_OP_MUL:
		x[in->rd] = a * b;
		RETIRE_NEXT();
	L_OP_MULH:
		x[in->rd] = rv_mulh(a, b);
		RETIRE_NEXT();
	L_OP_MULHSU:
		x[in->rd] = rv_mulhsu(a, b);
		RETIRE_NEXT();
	L_OP_MULHU:
		x[in->rd] = rv_mulhu(a, b);
		RETIRE_NEXT();
	L_OP_DIV:
		x[in->rd] = rv_div(a, b);
		RETIRE_NEXT();
	L_OP_DIVU:
		x[in->rd] = rv_divu(a, b);
		RETIRE_NEXT();
	L_OP_REM:
		x[in->rd] = rv_rem(a, b);
		RETIRE_NEXT();
	L_OP_REMU:
		x[in->rd] = rv_remu(a, b);
		RETIRE_NEXT();
	L_OP_MULW:
		x[in->rd] = (uint64_t)(int32_t)(uint32_t)(a * b);
		RETIRE_NEXT();
	L_OP_DIVW:
		x[in->rd] = rv_divw(a, b);
		RETIRE_NEXT();
	L_OP_DIVUW:
		x[in->rd] = rv_divuw(a, b);
		RETIRE_NEXT();
	L_OP_REMW:
		x[in->rd] = rv_remw(a, b);
		RETIRE_NEXT();
	L_OP_REMUW:
		x[in->rd] = rv_remuw(a, b);
		RETIRE_NEXT();
	L_OP_FENCE:
		if (rv_fence_needs_host(in))
			__atomic_thread_fence(__ATOMIC_SEQ_CST); /* RVWMO store->load order: x86 reorders it */
		RETIRE_NEXT();
	L_OP_FENCE_I:
		RETIRE_NEXT(); /* the decode cache is keyed by raw bits: nothing to drop */
	/* bit manipulation (Zba, Zbb, Zbc, Zbs, Zbkb, Zbkx) and Zicond */
	L_OP_SH1ADD:
		x[in->rd] = (a << 1) + b;
		RETIRE_NEXT();
	L_OP_SH2ADD:
		x[in->rd] = (a << 2) + b;
		RETIRE_NEXT();
	L_OP_SH3ADD:
		x[in->rd] = (a << 3) + b;
		RETIRE_NEXT();
	L_OP_ADD_UW:
		x[in->rd] = (a & 0xffffffffULL) + b;
		RETIRE_NEXT();
	L_OP_SH1ADD_UW:
		x[in->rd] = ((a & 0xffffffffULL) << 1) + b;
		RETIRE_NEXT();
	L_OP_SH2ADD_UW:
		x[in->rd] = ((a & 0xffffffffULL) << 2) + b;
		RETIRE_NEXT();
	L_OP_SH3ADD_UW:
		x[in->rd] = ((a & 0xffffffffULL) << 3) + b;
		RETIRE_NEXT();
	L_OP_SLLI_UW:
		x[in->rd] = (a & 0xffffffffULL) << imm;
		RETIRE_NEXT();
	L_OP_ANDN:
		x[in->rd] = a & ~b;
		RETIRE_NEXT();
	L_OP_ORN:
		x[in->rd] = a | ~b;
		RETIRE_NEXT();
	L_OP_XNOR:
		x[in->rd] = ~(a ^ b);
		RETIRE_NEXT();
	L_OP_CLZ:
		x[in->rd] = rv_clz64(a);
		RETIRE_NEXT();
	L_OP_CLZW:
		x[in->rd] = rv_clz32(a);
		RETIRE_NEXT();
	L_OP_CTZ:
		x[in->rd] = rv_ctz64(a);
		RETIRE_NEXT();
	L_OP_CTZW:
		x[in->rd] = rv_ctz32(a);
		RETIRE_NEXT();
	L_OP_CPOP:
		x[in->rd] = rv_cpop64(a, 0);
		RETIRE_NEXT();
	L_OP_CPOPW:
		x[in->rd] = rv_cpop32(a, 0);
		RETIRE_NEXT();
	L_OP_MAX:
		x[in->rd] = (int64_t)a > (int64_t)b ? a : b;
		RETIRE_NEXT();
	L_OP_MAXU:
		x[in->rd] = a > b ? a : b;
		RETIRE_NEXT();
	L_OP_MIN:
		x[in->rd] = (int64_t)a < (int64_t)b ? a : b;
		RETIRE_NEXT();
	L_OP_MINU:
		x[in->rd] = a < b ? a : b;
		RETIRE_NEXT();
	L_OP_SEXT_B:
		x[in->rd] = (uint64_t)(int64_t)(int8_t)a;
		RETIRE_NEXT();
	L_OP_SEXT_H:
		x[in->rd] = (uint64_t)(int64_t)(int16_t)a;
		RETIRE_NEXT();
	L_OP_ZEXT_H:
		x[in->rd] = a & 0xffff;
		RETIRE_NEXT();
	L_OP_ROL:
		x[in->rd] = rv_rol64(a, (unsigned)b);
		RETIRE_NEXT();
	L_OP_ROLW:
		x[in->rd] = rv_rolw(a, (unsigned)b);
		RETIRE_NEXT();
	L_OP_ROR:
		x[in->rd] = rv_ror64(a, (unsigned)b);
		RETIRE_NEXT();
	L_OP_RORW:
		x[in->rd] = rv_rorw(a, (unsigned)b);
		RETIRE_NEXT();
	L_OP_RORI:
		x[in->rd] = rv_ror64(a, (unsigned)imm);
		RETIRE_NEXT();
	L_OP_RORIW:
		x[in->rd] = rv_rorw(a, (unsigned)imm);
		RETIRE_NEXT();
	L_OP_ORC_B:
		x[in->rd] = rv_orc_b(a, 0);
		RETIRE_NEXT();
	L_OP_REV8:
		x[in->rd] = rv_rev8(a, 0);
		RETIRE_NEXT();
	L_OP_CLMUL:
		x[in->rd] = rv_clmul(a, b);
		RETIRE_NEXT();
	L_OP_CLMULH:
		x[in->rd] = rv_clmulh(a, b);
		RETIRE_NEXT();
	L_OP_CLMULR:
		x[in->rd] = rv_clmulr(a, b);
		RETIRE_NEXT();
	L_OP_BCLR:
		x[in->rd] = a & ~(1ULL << (b & 63));
		RETIRE_NEXT();
	L_OP_BCLRI:
		x[in->rd] = a & ~(1ULL << imm);
		RETIRE_NEXT();
	L_OP_BEXT:
		x[in->rd] = (a >> (b & 63)) & 1;
		RETIRE_NEXT();
	L_OP_BEXTI:
		x[in->rd] = (a >> imm) & 1;
		RETIRE_NEXT();
	L_OP_BINV:
		x[in->rd] = a ^ (1ULL << (b & 63));
		RETIRE_NEXT();
	L_OP_BINVI:
		x[in->rd] = a ^ (1ULL << imm);
		RETIRE_NEXT();
	L_OP_BSET:
		x[in->rd] = a | (1ULL << (b & 63));
		RETIRE_NEXT();
	L_OP_BSETI:
		x[in->rd] = a | (1ULL << imm);
		RETIRE_NEXT();
	L_OP_PACK:
		x[in->rd] = rv_pack(a, b);
		RETIRE_NEXT();
	L_OP_PACKH:
		x[in->rd] = rv_packh(a, b);
		RETIRE_NEXT();
	L_OP_PACKW:
		x[in->rd] = rv_packw(a, b);
		RETIRE_NEXT();
	L_OP_BREV8:
		x[in->rd] = rv_brev8(a, 0);
		RETIRE_NEXT();
	L_OP_XPERM4:
		x[in->rd] = rv_xperm4(a, b);
		RETIRE_NEXT();
	L_OP_XPERM8:
		x[in->rd] = rv_xperm8(a, b);
		RETIRE_NEXT();
	L_OP_CZERO_EQZ:
		x[in->rd] = b ? a : 0;
		RETIRE_NEXT();
	L_OP_CZERO_NEZ:
		x[in->rd] = b ? 0 : a;
		RETIRE_NEXT();
	L_OP_ECALL:
	L_OP_EBREAK:
	L_OP_MRET:
	L_OP_SRET:
	L_OP_WFI:
	L_OP_SFENCE_VMA:
	L_OP_SINVAL_VMA:
	L_OP_SFENCE_W_INVAL:
	L_OP_SFENCE_INVAL_IR:
	L_OP_CSRRW:
	L_OP_CSRRS:
	L_OP_CSRRC:
	L_OP_CSRRWI:
	L_OP_CSRRSI:
	L_OP_CSRRCI:
		{
			cpu->instret += retired; /* CSR reads of instret/cycle see the exact count */
			retired = 0;
			int r = exec_system(cpu, in);
			if (r < 0)
				goto top;
			if (r > 0) { /* xRET set pc itself */
				cpu->instret++;
				goto top;
			}
			RETIRE_NEXT();
		}
	L_OP_CBO:
			if (exec_cbo(cpu, in))
				goto top;
			RETIRE_NEXT();
	L_OP_AMO:
			if (exec_amo(cpu, in))
				goto top;
			RETIRE_NEXT();
	L_OP_FLW:
	L_OP_FLD:
	L_OP_FSW:
	L_OP_FSD:
	L_OP_FP:
			if (rv_exec_fp(cpu, in))
				goto top;
			RETIRE_NEXT();
	L_OP_ILLEGAL:
			illegal(cpu, in);
			goto top;
out:
	if (resume >= 0) { /* one instruction stepped: back to the blocks with the batch's budget */
		left += resume + 1; /* left is -1 after the stepped instruction, 0 if it never ran */
		resume = -1;
		if (left > 0 && cpu->budget != 0)
			goto jumped;
	}
	cpu->pc = pc;
	cpu->instret += retired;
	cpu->budget = 0;
	x[0] = 0;
}
