/* cpu.h - one RISC-V RV64GC hart (IMAFDC + Zicsr/Zifencei/Zicntr/Zihintpause, M/S/U, Sv39/48/57).
 *
 * Optional extensions (bit manipulation, Zicond, Zicbom/Zicboz, Svinval) are chosen per hart (rv_cpu.ext).
 * The hart is a software interpreter whose hot code is translated to host code by jit.c:
 *  - instructions are decoded once into struct rv_insn and cached, keyed by their raw bits,
 *    so self-modifying code and fence.i need no invalidation of the decode cache;
 *  - loads, stores and fetches go through a host-address TLB (virtual page -> host addend)
 *    whose hit path is a compare and an add; everything else (page walks, PMP, MMIO,
 *    misaligned accesses, page crossings) lives in the slow path of mmu.c;
 *  - jump targets count their arrivals; hot ones become compiled blocks (jit.h) that run
 *    inside rv_run() and hand anything unusual back to the interpreter;
 *  - rv_run() executes a batch of instructions; interrupts, timers and device events are
 *    handled by the machine between batches. Anything that may make an interrupt
 *    deliverable (CSR writes, xRET, MMIO stores) ends the batch early.
 * Memory and time come from the machine through struct vm_bus and the time callback.
 */
#ifndef STRATA_EMULATOR_CPU_CPU_H
#define STRATA_EMULATOR_CPU_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emulator/cpu/trigger.h"

struct vm_bus;

enum { RV_PRIV_U = 0, RV_PRIV_S = 1, RV_PRIV_M = 3 };

/* exception causes */
enum {
	RV_EXC_INSN_MISALIGNED = 0,
	RV_EXC_INSN_ACCESS = 1,
	RV_EXC_ILLEGAL = 2,
	RV_EXC_BREAKPOINT = 3,
	RV_EXC_LOAD_MISALIGNED = 4,
	RV_EXC_LOAD_ACCESS = 5,
	RV_EXC_STORE_MISALIGNED = 6,
	RV_EXC_STORE_ACCESS = 7,
	RV_EXC_ECALL_U = 8,
	RV_EXC_ECALL_S = 9,
	RV_EXC_ECALL_M = 11,
	RV_EXC_INSN_PAGE = 12,
	RV_EXC_LOAD_PAGE = 13,
	RV_EXC_STORE_PAGE = 15,
};

/* interrupt numbers (bits of mip/mie) */
enum {
	RV_IRQ_SSI = 1, RV_IRQ_MSI = 3, RV_IRQ_STI = 5, RV_IRQ_MTI = 7, RV_IRQ_SEI = 9, RV_IRQ_MEI = 11,
};

/* mstatus bits */
#define RV_MS_SIE (1ULL << 1)
#define RV_MS_MIE (1ULL << 3)
#define RV_MS_SPIE (1ULL << 5)
#define RV_MS_MPIE (1ULL << 7)
#define RV_MS_SPP (1ULL << 8)
#define RV_MS_MPP_SHIFT 11
#define RV_MS_MPP (3ULL << 11)
#define RV_MS_FS_SHIFT 13
#define RV_MS_FS (3ULL << 13)
#define RV_MS_MPRV (1ULL << 17)
#define RV_MS_SUM (1ULL << 18)
#define RV_MS_MXR (1ULL << 19)
#define RV_MS_TVM (1ULL << 20)
#define RV_MS_TW (1ULL << 21)
#define RV_MS_TSR (1ULL << 22)
#define RV_MS_SD (1ULL << 63)

/* Optional extensions (rv_cpu.ext), chosen with -cpu rv64,<name>=on|off (isa.c has the names).
 * The defaults are QEMU 7.2's rv64: Zba, Zbb, Zbc and Zbs on, the rest off. */
enum {
	RV_EXT_ZBA = 1u << 0,
	RV_EXT_ZBB = 1u << 1,
	RV_EXT_ZBC = 1u << 2,
	RV_EXT_ZBS = 1u << 3,
	RV_EXT_ZBKB = 1u << 4,
	RV_EXT_ZBKC = 1u << 5,
	RV_EXT_ZBKX = 1u << 6,
	RV_EXT_SVINVAL = 1u << 7,
	RV_EXT_ZICOND = 1u << 8,
	RV_EXT_ZICBOM = 1u << 9,
	RV_EXT_ZICBOZ = 1u << 10,
	RV_EXT_ZFHMIN = 1u << 11,
	RV_EXT_ZFH = 1u << 12, /* includes Zfhmin's instructions */
	RV_EXT_ZICBOP = 1u << 13,    /* prefetch.* are ori x0 hints: only named in the device tree */
	RV_EXT_ZIHINTNTL = 1u << 14, /* ntl.* are add x0 hints: likewise */
	RV_EXT_ZFA = 1u << 15,
	RV_EXT_SVPBMT = 1u << 16,  /* PTE bits 62:61 with menvcfg.PBMTE */
	RV_EXT_SVNAPOT = 1u << 17, /* 64 KiB NAPOT leaves (PTE bit 63) */
	RV_EXT_SDTRIG = 1u << 18,  /* tselect/tdata1-3/tinfo with mcontrol6 triggers */
};
#define RV_CBO_BLOCK 64 /* cache-block size of cbo.* (riscv,cbom-block-size / cboz-block-size) */
/* QEMU 7.2's rv64 also has debug=true (Sdtrig) by default */
#define RV_EXT_DEFAULT (RV_EXT_ZBA | RV_EXT_ZBB | RV_EXT_ZBC | RV_EXT_ZBS | RV_EXT_SDTRIG)
#define RV_EXT_ALL 0x7ffffu

enum { RV_ACC_READ = 0, RV_ACC_WRITE = 1, RV_ACC_EXEC = 2 };

/* One decoded instruction: 16 bytes, so a cache line holds four. */
struct rv_insn {
	uint32_t raw;
	uint8_t op;   /* enum in ops.h */
	uint8_t heat; /* arrivals here by a jump, counted up to the JIT's threshold (exec.c); kept
		       * by the decoder, and here rather than in a side array as its host page is
		       * one the decoded instruction commits anyway */
	uint8_t rd, rs1, rs2, rs3;
	uint8_t len; /* 2 or 4 */
	uint8_t rm;  /* funct3 (rounding mode / width) */
	int32_t imm;
};

#define RV_TLB_BITS 11
#define RV_TLB_SIZE (1u << RV_TLB_BITS)
#define RV_ITLB_SIZE 1024
/* decoded-page cache: RV_DSETS sets of RV_DWAYS pages (48 KiB each, committed lazily).
 * 4096 sets hold the code Linux runs (512 thrashed: a Debian kernel boot recompiled 95 k
 * blocks); two ways, as kernel text and a module page 16 MiB apart ran in turn when idle,
 * each turn dropping and recompiling the other's page */
#define RV_DSETS 4096
#define RV_DWAYS 2
#define RV_DPAGES (RV_DSETS * RV_DWAYS)
#define RV_PMP_COUNT 16

/* A host-TLB entry: hit when tag == ((va & ~0xfff) | tlb_gen); host address = va + addend.
 * The generation in the low bits makes a full flush one increment. */
struct rv_tlb_entry {
	uint64_t tag;
	uintptr_t addend;
};

/* Decoded instructions of one physical page, one slot per 2-byte offset; len == 0 marks a
 * slot not decoded yet. A RAM page with a decoded page is a "code page" (cpu->code_map):
 * no write-TLB entry may point into it, so every store to it takes the slow path, which
 * drops the decoded page first (rv_code_write). fence.i therefore has nothing to do.
 * Host memory: 48 KiB on host pages of its own, zero until written; a slot's host pages are
 * given back when its page is dropped or evicted (mmu.c), so only the 4 KiB pieces code ran
 * in (512 bytes of guest code each; block entries: 1 KiB) count in the RSS. Which physical
 * page a slot holds: cpu->dpage_tag. */
struct rv_dpage {
	_Alignas(4096) struct rv_insn insn[2048];
	void *jit[2048]; /* compiled block starting at this slot (jit.h), or NULL */
};

#define RV_DPAGES_BYTES ((size_t)RV_DPAGES * sizeof(struct rv_dpage))

struct rv_jit;

/* Jump cache: guest pc -> compiled block, direct-mapped on pc, consulted at every jump
 * target (by the interpreter and by generated code at jalr and cross-page jumps) before the
 * decoded page. An entry holds while its key equals cpu->jc_key: the TLB generation (which
 * every code-page drop, satp/privilege/SUM/MXR change and sfence.vma changes) and an epoch
 * bumped where a translation or block dies without a new generation (rv_jc_bump). */
#define RV_JC_SIZE 16384
struct rv_jc_entry {
	uint64_t pc;
	uint32_t key; /* 0: empty (keys are >= 1) */
	uint32_t off; /* the block's start in the code buffer (cpu->jc_base) */
};

struct rv_itlb_entry {
	uint64_t tag;
	uintptr_t addend;
	struct rv_dpage *dp;
};

struct rv_cpu {
	uint64_t x[32];
	uint64_t pc;
	int64_t budget; /* instructions left in this batch; 0 ends rv_run() */
	int priv;
	bool wfi; /* waiting for an interrupt */

	/* fetch fast path: the page holding pc (fetch_page = va page), its host addend and
	 * decoded-page slot */
	uint64_t fetch_page;
	uintptr_t fetch_addend;
	struct rv_dpage *fetch_dp;
	struct rv_itlb_entry itlb[RV_ITLB_SIZE];
	uint64_t tlb_gen; /* 1..4094: the generation of the current context's entries */
	uint16_t ctx_gen[16]; /* each context's generation since the last flush (0: none yet);
			       * a context is the privilege | SUM << 2 | MXR << 3 (mmu.c) */
	uint16_t gen_next;    /* the next unused generation; past 4094 the tables are cleared */
	uint64_t tlb_view;    /* mstatus MPRV/MPP the cached translations were made under */
	uint16_t wfill[64];   /* write-TLB slots filled since the last context switch (mmu.c) */
	unsigned nwfill;      /* how many; past 64 the switch clears the whole write TLB */
	struct rv_tlb_entry tlb_r[RV_TLB_SIZE];
	struct rv_tlb_entry tlb_w[RV_TLB_SIZE];
	bool tlb_super; /* some cached entry came from a superpage, which lies in the region
			 * va & super_mask == super_base */
	uint64_t super_base, super_mask;
	struct rv_dpage *dpages; /* RV_DSETS sets of RV_DWAYS */
	uint8_t dpage_mru[RV_DSETS]; /* the way of each set used last */
	/* the physical page | 1 each slot of dpages holds, 0: free (and zero); side by side, as
	 * tags in the slots' own host pages missed the cache at every instruction-TLB fill */
	uint64_t dpage_tag[RV_DPAGES];
	uint8_t *code_map; /* one byte per RAM page, shared by the harts: bit `hart_bit` set = this
			    * hart has a decoded page for it (no hart's write TLB points into it) */
	struct rv_cpu *const *harts; /* every hart sharing code_map (rv_cpu_share_code); NULL: alone */
	unsigned nharts;
	uint8_t hart_bit;
	bool code_map_borrowed; /* code_map belongs to harts[0] */
	struct rv_insn scratch; /* decode slot for code that cannot be cached */
	struct rv_jit *jit;     /* NULL: interpret only (jit.h) */
	uint32_t ext;           /* RV_EXT_* enabled; set before the first rv_run() */
	unsigned jit_threshold; /* arrivals at a jump target before it is compiled */
	uint32_t jit_mxcsr; /* scratch for generated F/D code (stmxcsr) */
	uint32_t jc_key;	/* tlb_gen | jc_epoch << 12 */
	uint32_t jc_epoch;
	uint8_t *jc_base; /* the JIT's code buffer */
	struct rv_jc_entry jc[RV_JC_SIZE];

	uint64_t f[32];
	uint32_t fflags, frm;

	uint64_t instret;
	uint64_t cycle_delta; /* mcycle = instret + cycle_delta (one cycle per instruction) */
	uint64_t mstatus, misa, medeleg, mideleg, mie, mip, mtvec, mscratch, mepc, mcause, mtval;
	uint64_t stvec, sscratch, sepc, scause, stval, satp;
	uint64_t mcounteren, scounteren, menvcfg, senvcfg, stimecmp, mcountinhibit;
	/* Zihpm as QEMU 7.2 (pmu-num=16): mhpmcounter3..18 keep what is written and count
	 * nothing; mhpmevent3..31 keep what is written */
	uint64_t hpmcounter[32], hpmevent[32];
	uint64_t mhartid;
	bool seip_ext; /* SEIP as driven by the interrupt controller; mip.SEIP reads as this OR
			* the software-writable bit kept in mip */
	uint8_t pmpcfg[RV_PMP_COUNT];
	uint64_t pmpaddr[RV_PMP_COUNT];
	/* The active entries in priority order with their byte ranges [lo, hi), per privilege
	 * (bit p) whether every access is allowed anywhere below 2^63, and a range [wlo, whi)
	 * inside which every access of privilege p is allowed (rv_pmp_update): the page walk
	 * checks PMP several times per miss, and OpenSBI leaves S and U one big window. */
	uint8_t pmp_n, pmp_all;
	uint64_t pmp_wlo[4], pmp_whi[4];
	struct rv_pmp_rule {
		uint64_t lo, hi;
		uint8_t cfg;
	} pmp_rule[RV_PMP_COUNT];
	struct rv_trig trig; /* Sdtrig triggers and debugger watchpoints (trigger.h) */

	uint64_t resv_addr; /* LR reservation; ~0 = none */
	uint64_t resv_val;  /* the value LR read: SC is a compare-and-swap from it (exec.c) */

	/* thread=multi (machine/mttcg.c): the harts run on threads of their own. Work on another
	 * hart's decoded pages or TLBs (a store into its code page, a page becoming code while
	 * others may hold write-TLB entries into it) runs between excl_begin and excl_end, with
	 * every other hart stopped between batches. NULL: one thread, nothing to wait for. */
	void (*excl_begin)(void *opaque);
	void (*excl_end)(void *opaque);
	void *excl_opaque;

	struct vm_bus *bus;
	uint64_t (*read_time)(void *opaque); /* mtime, 10 MHz */
	void *time_opaque;
	/* optional per-instruction trace hook (-d in_asm/exec); NULL on the fast path */
	void (*trace)(struct rv_cpu *cpu, uint64_t pc, uint32_t raw, int len);
	void (*trace_trap)(struct rv_cpu *cpu, uint64_t cause, uint64_t epc, uint64_t tval);
	void *trace_opaque;
};

int rv_cpu_init(struct rv_cpu *cpu, struct vm_bus *bus);
void rv_cpu_destroy(struct rv_cpu *cpu);
/* Architectural reset: registers and every CSR (mhartid kept), pc = `pc`, M-mode. */
void rv_cpu_reset(struct rv_cpu *cpu, uint64_t pc);
/* Drops every decoded and compiled block (RAM rewritten as a whole: reset, loadvm). */
void rv_cpu_flush_code(struct rv_cpu *cpu);
/* Several harts on one RAM (at most 8, before the first rv_run()): they share harts[0]'s
 * code-page map, so a store by any hart (or DMA through rv_code_write on any of them) into a
 * page some hart has decoded drops that hart's decoded and compiled code. The array must
 * outlive the harts. Each hart keeps its own decoded pages, TLBs and JIT buffer. */
void rv_cpu_share_code(struct rv_cpu *const *harts, unsigned n);

/* state.c (savevm): the architectural state as a byte string. Save returns the bytes it needs
 * (written when they fit in cap); load checks the whole string first and returns -EINVAL,
 * hart unchanged, when it is not a valid state of this version. Load flushes the TLBs; the
 * caller drops decoded code (rv_cpu_flush_code) once RAM is in place. */
#define RV_CPU_STATE_VERSION 1
size_t rv_cpu_save(const struct rv_cpu *cpu, uint8_t *buf, size_t cap);
int rv_cpu_load(struct rv_cpu *cpu, const uint8_t *buf, size_t len, unsigned version);

/* How rv_run treats its budget: exactly (single steps, an instruction limit), or as a
 * batch's length that a compiled block may overrun by less than RV_JIT_MAX_INSNS, so a
 * batch does not end with its last loop iterations one block call (or one interpreted
 * instruction) at a time. instret counts what ran either way. */
enum rv_run_mode { RV_RUN_EXACT, RV_RUN_BATCH };
/* Executes up to `budget` instructions (fewer if the batch is ended early). */
void rv_run(struct rv_cpu *cpu, int64_t budget, enum rv_run_mode mode);
/* Takes the highest-priority pending and enabled interrupt, if any; returns true if taken. */
bool rv_check_interrupts(struct rv_cpu *cpu);
/* True when some interrupt is pending and enabled in mie (what wakes WFI). */
bool rv_irq_wake(const struct rv_cpu *cpu);
/* mip as software reads it: the stored bits plus the external SEIP line. */
static inline uint64_t rv_mip(const struct rv_cpu *cpu)
{
	return cpu->mip | ((uint64_t)cpu->seip_ext << RV_IRQ_SEI);
}
/* Sets or clears a mip bit driven by a device (MTIP, MSIP, SEIP, MEIP). */
void rv_set_irq(struct rv_cpu *cpu, int irq, bool level);
/* Recomputes STIP from stimecmp when Sstc is enabled; called between batches. */
void rv_update_sstc(struct rv_cpu *cpu);
/* The same with the time already read (`now`, mtime): the main loop reads it once a batch. */
void rv_update_sstc_at(struct rv_cpu *cpu, uint64_t now);

/* trap.c */
void rv_raise(struct rv_cpu *cpu, uint64_t cause, uint64_t tval);
void rv_take_trap(struct rv_cpu *cpu, uint64_t cause, bool irq, uint64_t tval);
void rv_mret(struct rv_cpu *cpu);
void rv_sret(struct rv_cpu *cpu);
void rv_set_priv(struct rv_cpu *cpu, int priv);

/* csr.c: 0 on success, -1 after raising illegal-instruction */
int rv_csr_access(struct rv_cpu *cpu, unsigned csr, uint64_t *rd_val, uint64_t wval, int op, bool do_write,
		  bool do_read);
void rv_mark_fs_dirty(struct rv_cpu *cpu);
uint64_t rv_read_time(const struct rv_cpu *cpu);

/* The hart this thread runs (thread=multi; NULL on the main thread and with one thread). */
extern _Thread_local struct rv_cpu *rv_this_hart;

/* An RVWMO fence that orders an earlier store before a later load (pred has W or O, succ R or
 * I, not fence.tso): the one order an x86 host does not keep by itself. */
static inline bool rv_fence_needs_host(const struct rv_insn *in)
{
	return (in->raw >> 28) != 8 && ((in->raw >> 24) & 0x5) && ((in->raw >> 20) & 0xa);
}

/* mmu.c */
/* Drops every cached translation of every context (TLBs, fetch page, jump cache): after a
 * change of satp, MPRV/MPP (under MPRV), PMP, menvcfg, triggers or a code page. */
void rv_tlb_flush(struct rv_cpu *cpu);
/* After a change of privilege or of mstatus SUM/MXR/MPRV/MPP: the entries of the new context
 * become current, the other contexts' read and fetch entries stay cached (a trap and its
 * return, or uaccess toggling SUM, keep both sides' translations); write entries are dropped. */
void rv_tlb_switch(struct rv_cpu *cpu);
/* After a change of pmpcfg/pmpaddr (or of all of them: reset, loadvm): recomputes the
 * decoded PMP rules and flushes the TLBs. */
void rv_pmp_update(struct rv_cpu *cpu);
void rv_tlb_flush_va(struct rv_cpu *cpu, uint64_t va);
/* Invalidates every jump-cache entry (a new epoch; a real clear when the epochs run out). */
void rv_jc_bump(struct rv_cpu *cpu);
int rv_load_slow(struct rv_cpu *cpu, uint64_t va, unsigned size, uint64_t *val);
int rv_store_slow(struct rv_cpu *cpu, uint64_t va, unsigned size, uint64_t val);
/* Fetches the instruction at pc and picks its decode slot; refills the fetch cache. */
int rv_fetch_slow(struct rv_cpu *cpu, uint64_t pc, uint32_t *raw, struct rv_insn **slot);
/* Must be called before any write to guest RAM at pa by the CPU's slow paths or a
 * debugger: drops decoded code of that page. */
void rv_code_write(struct rv_cpu *cpu, uint64_t pa, uint64_t len);
/* Drops every compiled block of this hart's decoded pages (and their arrival counts). */
void rv_dpages_drop_blocks(struct rv_cpu *cpu);
/* Atomic memory operands: translate for a read-modify-write, return a host pointer or NULL
 * for MMIO (then *pa is set); raises and returns -1 on a fault. */
int rv_amo_translate(struct rv_cpu *cpu, uint64_t va, unsigned size, bool is_lr, void **host, uint64_t *pa);
/* Debug access (gdb stub): virtual read/write without faults or side effects on A/D. */
int rv_debug_access(struct rv_cpu *cpu, uint64_t va, void *buf, size_t len, bool write);

/* decode.c */
/* Decodes every extension strata-vm knows (the disassembler's view). */
void rv_decode(uint32_t raw, struct rv_insn *out);
/* Decodes as this hart executes: an instruction of a disabled extension is OP_ILLEGAL. */
void rv_decode_cpu(const struct rv_cpu *cpu, uint32_t raw, struct rv_insn *out);
uint32_t rv_expand_compressed(uint16_t c);

/* fpexec.c: executes one F/D instruction (raw bits); returns 0 or -1 if it trapped. */
int rv_exec_fp(struct rv_cpu *cpu, const struct rv_insn *in);

#endif
