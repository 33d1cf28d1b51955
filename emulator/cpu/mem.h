/* mem.h - the hit paths of the host-address TLB, inlined into the interpreter loop.
 * A hit needs the page tag to match and the access not to cross the page; everything else
 * (misses, MMIO, page-crossing misaligned accesses) goes to the slow paths in mmu.c. */
#ifndef STRATA_EMULATOR_CPU_MEM_H
#define STRATA_EMULATOR_CPU_MEM_H

#include "emulator/cpu/cpu.h"

#include <string.h>

#define RV_LIKELY(x) __builtin_expect(!!(x), 1)

static inline int rv_load(struct rv_cpu *cpu, uint64_t va, unsigned size, uint64_t *val)
{
	const struct rv_tlb_entry *e = &cpu->tlb_r[(va >> 12) & (RV_TLB_SIZE - 1)];
	if (RV_LIKELY(e->tag == ((va & ~0xfffULL) | cpu->tlb_gen) && (va & 0xfff) <= 0x1000 - size)) {
		uint64_t v = 0;
		memcpy(&v, (const void *)(e->addend + (uintptr_t)va), size);
		*val = v;
		return 0;
	}
	return rv_load_slow(cpu, va, size, val);
}

static inline int rv_store(struct rv_cpu *cpu, uint64_t va, unsigned size, uint64_t val)
{
	const struct rv_tlb_entry *e = &cpu->tlb_w[(va >> 12) & (RV_TLB_SIZE - 1)];
	if (RV_LIKELY(e->tag == ((va & ~0xfffULL) | cpu->tlb_gen) && (va & 0xfff) <= 0x1000 - size)) {
		memcpy((void *)(e->addend + (uintptr_t)va), &val, size);
		return 0;
	}
	return rv_store_slow(cpu, va, size, val);
}

/* At a jump target in another page: makes pc's page the fetch page when the instruction
 * TLB has it (no walk, no trap), so a compiled block starting there runs at once instead
 * of the interpreter taking the callee's first block. */
static inline bool rv_fetch_enter(struct rv_cpu *cpu, uint64_t pc)
{
	const struct rv_itlb_entry *e = &cpu->itlb[(pc >> 12) & (RV_ITLB_SIZE - 1)];
	if (e->tag != ((pc & ~0xfffULL) | cpu->tlb_gen))
		return false;
	cpu->fetch_page = pc & ~0xfffULL;
	cpu->fetch_addend = e->addend;
	cpu->fetch_dp = e->dp;
	return true;
}

#endif
