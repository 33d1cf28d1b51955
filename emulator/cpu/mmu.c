/* mmu.c - address translation (Bare, Sv39, Sv48, Sv57), PMP, and the slow paths of the
 * host-address TLB. Translation results are cached per 4 KiB virtual page in cpu->tlb_r
 * (reads) and cpu->tlb_w (writes; filled only by a write so that D is already set), and the
 * page holding pc in cpu->fetch_page. Entries are tagged with the generation of the context
 * (privilege, SUM, MXR) that made them, so traps, xRET and uaccess windows switch contexts
 * without a flush (write entries excepted: tlb_ctx); a change of satp, of MPRV/MPP under
 * MPRV, of PMP or of menvcfg flushes every context, which is also why sfence.vma with an
 * ASID simply flushes (only the current satp is ever cached). */
#include "emulator/cpu/cpu.h"
#include "emulator/cpu/mem.h"
#include "emulator/bus/bus.h"

#include <string.h>
#include <sys/mman.h>

#define PTE_V 1u
#define PTE_R 2u
#define PTE_W 4u
#define PTE_X 8u
#define PTE_U 16u
#define PTE_A 64u
#define PTE_D 128u
#define PTE_PBMT (3ULL << 61)
#define PTE_N (1ULL << 63)

/* What a cached translation was made for: the privilege and, where they matter, SUM (S only)
 * and MXR (S and U); each context keeps its read and fetch entries under a generation of its
 * own, so a trap, its return or a uaccess window switches tables instead of emptying them.
 * Write entries are still dropped at every switch (drop_writes): keeping them hung Debian 13's
 * systemd (journald) for reasons not found yet, keeping the others did not. MPRV (with MPP)
 * is not part of the context: changing that flushes (M-mode firmware only). */
static unsigned tlb_ctx(const struct rv_cpu *cpu)
{
	uint64_t s = cpu->mstatus;
	unsigned p = (unsigned)cpu->priv & 3;
	if (p == RV_PRIV_M && !(s & RV_MS_MPRV))
		return p; /* physical: neither bit is looked at */
	unsigned c = p | ((s & RV_MS_MXR) ? 8u : 0);
	return p == RV_PRIV_U ? c : c | ((s & RV_MS_SUM) ? 4u : 0);
}

static uint64_t tlb_view(const struct rv_cpu *cpu)
{
	uint64_t s = cpu->mstatus;
	return (s & RV_MS_MPRV) ? s & (RV_MS_MPRV | RV_MS_MPP) : 0;
}

/* A generation no cached entry carries; when they run out the tables are cleared for real
 * (tag 0 never matches a generation >= 1) and every context starts again. */
static uint16_t tlb_new_gen(struct rv_cpu *cpu)
{
	if (cpu->gen_next == 0 || cpu->gen_next >= 4095) {
		memset(cpu->tlb_r, 0, sizeof(cpu->tlb_r));
		memset(cpu->tlb_w, 0, sizeof(cpu->tlb_w));
		memset(cpu->itlb, 0, sizeof(cpu->itlb));
		memset(cpu->ctx_gen, 0, sizeof(cpu->ctx_gen));
		memset(cpu->jc, 0, sizeof(cpu->jc)); /* its keys name generations about to be reused */
		cpu->gen_next = 1;
	}
	return cpu->gen_next++;
}

static void tlb_enter(struct rv_cpu *cpu, uint16_t g)
{
	cpu->tlb_gen = g;
	cpu->jc_key = (uint32_t)g | cpu->jc_epoch << 12;
	cpu->fetch_page = ~0ULL;
}

/* Every context's entries go stale: the current context takes a new generation, the others
 * take one when next entered. */
void rv_tlb_flush(struct rv_cpu *cpu)
{
	memset(cpu->ctx_gen, 0, sizeof(cpu->ctx_gen));
	uint16_t g = tlb_new_gen(cpu);
	cpu->ctx_gen[tlb_ctx(cpu)] = g;
	cpu->tlb_view = tlb_view(cpu);
	cpu->tlb_super = false;
	tlb_enter(cpu, g);
}

/* Empties the write-TLB slots filled since the last switch: all of them belong to the
 * context being left, as no write entry survives a switch. */
static void drop_writes(struct rv_cpu *cpu)
{
	if (cpu->nwfill > sizeof(cpu->wfill) / sizeof(cpu->wfill[0]))
		memset(cpu->tlb_w, 0, sizeof(cpu->tlb_w));
	else
		for (unsigned i = 0; i < cpu->nwfill; i++)
			cpu->tlb_w[cpu->wfill[i]].tag = 0;
	cpu->nwfill = 0;
}

void rv_tlb_switch(struct rv_cpu *cpu)
{
	drop_writes(cpu);
	if (tlb_view(cpu) != cpu->tlb_view) {
		rv_tlb_flush(cpu);
		return;
	}
	unsigned c = tlb_ctx(cpu);
	if (!cpu->ctx_gen[c]) {
		uint16_t g = tlb_new_gen(cpu); /* may clear every context's: set ours after */
		cpu->ctx_gen[c] = g;
	}
	tlb_enter(cpu, cpu->ctx_gen[c]);
}

void rv_tlb_flush_va(struct rv_cpu *cpu, uint64_t va)
{
	/* Entries are cached per 4 KiB page, so va's page lives in exactly one slot per table,
	 * whichever context made it. A superpage leaf also covers pages cached in other slots:
	 * flush all when va lies in the region covering every cached superpage (note_fill). */
	if (cpu->tlb_super && (va & cpu->super_mask) == cpu->super_base) {
		rv_tlb_flush(cpu);
		return;
	}
	unsigned i = (va >> 12) & (RV_TLB_SIZE - 1);
	uint64_t tag = va & ~0xfffULL;
	if ((cpu->tlb_r[i].tag & ~0xfffULL) == tag)
		cpu->tlb_r[i].tag = 0;
	if ((cpu->tlb_w[i].tag & ~0xfffULL) == tag)
		cpu->tlb_w[i].tag = 0;
	if (cpu->fetch_page == tag)
		cpu->fetch_page = ~0ULL;
	unsigned j = (va >> 12) & (RV_ITLB_SIZE - 1);
	if ((cpu->itlb[j].tag & ~0xfffULL) == tag)
		cpu->itlb[j].tag = 0;
	/* jump-cache entries may hold the page's old translation, even when the instruction
	 * TLB no longer has it (its slot was reused): they cannot be told apart per page */
	rv_jc_bump(cpu);
}

void rv_jc_bump(struct rv_cpu *cpu)
{
	if (++cpu->jc_epoch >= (1u << 20)) {
		memset(cpu->jc, 0, sizeof(cpu->jc));
		cpu->jc_epoch = 0;
	}
	cpu->jc_key = (uint32_t)cpu->tlb_gen | cpu->jc_epoch << 12;
}

/* ---- PMP ---- */

static void pmp_range(const struct rv_cpu *cpu, int i, uint64_t *lo, uint64_t *hi)
{
	uint64_t a = cpu->pmpaddr[i];
	switch ((cpu->pmpcfg[i] >> 3) & 3) {
	case 1: /* TOR */
		*lo = i ? cpu->pmpaddr[i - 1] << 2 : 0;
		*hi = a << 2;
		break;
	case 2: /* NA4 */
		*lo = a << 2;
		*hi = *lo + 4;
		break;
	default: { /* NAPOT */
		int t = __builtin_ctzll(~a);
		if (t >= 54) {
			*lo = 0;
			*hi = ~0ULL;
		} else {
			*lo = (a & ~((1ULL << t) - 1)) << 2;
			*hi = *lo + (1ULL << (t + 3));
		}
		break;
	}
	}
}

/* Whether every access of privilege p is allowed at any address below 2^63: each active
 * entry before the first that covers everything grants R, W and X to p (then whatever
 * entry matches first grants), and an address no entry matches is allowed only in M. */
static bool pmp_allows_all(const struct rv_cpu *cpu, int p)
{
	for (unsigned i = 0; i < cpu->pmp_n; i++) {
		const struct rv_pmp_rule *r = &cpu->pmp_rule[i];
		if (r->lo >= r->hi)
			continue; /* matches nothing */
		bool grants = (p == RV_PRIV_M && !(r->cfg & 0x80)) || (r->cfg & 7) == 7;
		if (!grants)
			return false;
		if (r->lo == 0 && r->hi >= 1ULL << 63)
			return true;
	}
	return p == RV_PRIV_M;
}

/* A range where every access of privilege p is allowed: the range of the first entry that
 * grants p R, W and X, less the ranges of the entries before it (which match first), keeping
 * the larger side of each cut. Empty (lo = hi = 0) when no entry grants. */
static void pmp_window(struct rv_cpu *cpu, int p)
{
	uint64_t lo = 0, hi = 0;
	for (unsigned i = 0; i < cpu->pmp_n; i++) {
		const struct rv_pmp_rule *r = &cpu->pmp_rule[i];
		bool grants = (p == RV_PRIV_M && !(r->cfg & 0x80)) || (r->cfg & 7) == 7;
		if (r->lo >= r->hi || !grants)
			continue;
		lo = r->lo;
		hi = r->hi;
		for (unsigned j = 0; j < i && lo < hi; j++) {
			const struct rv_pmp_rule *e = &cpu->pmp_rule[j];
			if (e->lo >= e->hi || e->hi <= lo || e->lo >= hi)
				continue;
			uint64_t left = e->lo > lo ? e->lo - lo : 0, right = e->hi < hi ? hi - e->hi : 0;
			if (left >= right)
				hi = lo + left;
			else
				lo = e->hi;
		}
		break;
	}
	cpu->pmp_wlo[p] = lo;
	cpu->pmp_whi[p] = hi;
}

void rv_pmp_update(struct rv_cpu *cpu)
{
	cpu->pmp_n = 0;
	for (int i = 0; i < RV_PMP_COUNT; i++) {
		if (!(cpu->pmpcfg[i] & 0x18))
			continue;
		struct rv_pmp_rule *r = &cpu->pmp_rule[cpu->pmp_n++];
		pmp_range(cpu, i, &r->lo, &r->hi);
		r->cfg = cpu->pmpcfg[i];
	}
	cpu->pmp_all = 0;
	for (int p = 0; p < 4; p++)
		if (p != 2 && pmp_allows_all(cpu, p))
			cpu->pmp_all |= (uint8_t)(1u << p);
	for (int p = 0; p < 4; p++)
		pmp_window(cpu, p);
	rv_tlb_flush(cpu);
}

/* The lowest-numbered entry matching any byte decides, and must match all bytes. */
static bool pmp_ok(const struct rv_cpu *cpu, uint64_t pa, uint64_t size, int acc, int priv)
{
	uint64_t last = pa + size - 1;
	if (((cpu->pmp_all >> priv) & 1) && last < 1ULL << 63 && last >= pa)
		return true;
	if (pa >= cpu->pmp_wlo[priv] && last < cpu->pmp_whi[priv] && last >= pa)
		return true;
	for (unsigned i = 0; i < cpu->pmp_n; i++) {
		const struct rv_pmp_rule *r = &cpu->pmp_rule[i];
		if (last < r->lo || pa >= r->hi || r->lo >= r->hi)
			continue;
		if (pa < r->lo || last >= r->hi)
			return false;
		if (priv == RV_PRIV_M && !(r->cfg & 0x80))
			return true;
		static const uint8_t need[3] = { 1, 2, 4 };
		return (r->cfg & need[acc]) != 0;
	}
	return priv == RV_PRIV_M;
}

/* ---- page walk ---- */

static int access_fault(int acc)
{
	return acc == RV_ACC_EXEC ? RV_EXC_INSN_ACCESS : acc == RV_ACC_WRITE ? RV_EXC_STORE_ACCESS : RV_EXC_LOAD_ACCESS;
}

static int page_fault(int acc)
{
	return acc == RV_ACC_EXEC ? RV_EXC_INSN_PAGE : acc == RV_ACC_WRITE ? RV_EXC_STORE_PAGE : RV_EXC_LOAD_PAGE;
}

static int effective_priv(const struct rv_cpu *cpu, int acc)
{
	if (acc != RV_ACC_EXEC && cpu->priv == RV_PRIV_M && (cpu->mstatus & RV_MS_MPRV))
		return (int)((cpu->mstatus >> RV_MS_MPP_SHIFT) & 3);
	return cpu->priv;
}

/* Bits 63:54 of a PTE: N (Svnapot) and PBMT (Svpbmt, while menvcfg.PBMTE is set; 3 is
 * reserved) when those are enabled; bits 60:54 are reserved. */
static bool pte_attrs_ok(const struct rv_cpu *cpu, uint64_t pte)
{
	unsigned pbmt = (unsigned)(pte >> 61) & 3;
	if ((pte >> 54) & 0x7f)
		return false;
	if ((pte & PTE_N) && !(cpu->ext & RV_EXT_SVNAPOT))
		return false;
	if (pbmt && (!(cpu->ext & RV_EXT_SVPBMT) || pbmt == 3 || !(cpu->menvcfg & (1ULL << 62))))
		return false;
	return true;
}

/* The hardware A/D update of the PTE at pte_pa read as `pte`: a compare-and-swap, as the
 * privileged spec asks, since another hart may change the PTE between the walk's read and
 * this write (a plain write would bring back a mapping its kernel had just removed).
 * 0 done, 1 the PTE changed (walk again), -1 access fault. */
static int set_ad(struct rv_cpu *cpu, uint64_t pte_pa, uint64_t pte, uint64_t want)
{
	if (!pmp_ok(cpu, pte_pa, 8, RV_ACC_WRITE, RV_PRIV_S))
		return -1;
	rv_code_write(cpu, pte_pa, 8);
	uint64_t *p = (uint64_t *)(void *)vm_bus_ram(cpu->bus, pte_pa, 8); /* PTEs are 8-byte aligned */
	if (!p)
		return vm_bus_write(cpu->bus, pte_pa, 8, pte | want) ? -1 : 0;
	return __atomic_compare_exchange_n(p, &pte, pte | want, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) ? 0 : 1;
}

/* Translates va for one access; 0 on success (with *pa), else the exception cause.
 * *page_ok says whether the whole 4 KiB page may be cached for this access type: PAGE_OK,
 * with log2 of the leaf's size from bit PAGE_SHIFT up (note_fill). */
#define PAGE_OK 1u
#define PAGE_SHIFT 8
static int translate(struct rv_cpu *cpu, uint64_t va, uint64_t size, int acc, uint64_t *pa, unsigned *page_ok)
{
	int priv = effective_priv(cpu, acc);
	unsigned mode = (unsigned)(cpu->satp >> 60);
	uint64_t addr = va;
	unsigned leaf = 12;

	if (priv != RV_PRIV_M && mode != 0) {
		int levels = mode == 8 ? 3 : mode == 9 ? 4 : 5;
		int va_bits = 12 + 9 * levels;
		/* bits above the VA width must copy its top bit */
		int64_t top = (int64_t)va >> (va_bits - 1);
		if (top != 0 && top != -1)
			return page_fault(acc);
		uint64_t table = (cpu->satp & ((1ULL << 44) - 1)) << 12;
		for (int lvl = levels - 1;; lvl--) {
			uint64_t pte_pa = table + ((va >> (12 + 9 * lvl)) & 511) * 8;
			uint64_t pte;
			if (!pmp_ok(cpu, pte_pa, 8, RV_ACC_READ, RV_PRIV_S) || vm_bus_read(cpu->bus, pte_pa, 8, &pte))
				return access_fault(acc);
			if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W)) || !pte_attrs_ok(cpu, pte))
				return page_fault(acc);
			uint64_t ppn = (pte >> 10) & ((1ULL << 44) - 1);
			if (!(pte & (PTE_R | PTE_X))) {
				if (lvl == 0 || (pte & (PTE_A | PTE_D | PTE_U | PTE_N | PTE_PBMT)))
					return page_fault(acc);
				table = ppn << 12;
				continue;
			}
			/* leaf: permission checks */
			if (priv == RV_PRIV_U && !(pte & PTE_U))
				return page_fault(acc);
			if (priv == RV_PRIV_S && (pte & PTE_U) &&
			    (acc == RV_ACC_EXEC || !(cpu->mstatus & RV_MS_SUM)))
				return page_fault(acc);
			if (acc == RV_ACC_EXEC && !(pte & PTE_X))
				return page_fault(acc);
			if (acc == RV_ACC_READ && !(pte & PTE_R) && !((cpu->mstatus & RV_MS_MXR) && (pte & PTE_X)))
				return page_fault(acc);
			if (acc == RV_ACC_WRITE && !(pte & PTE_W))
				return page_fault(acc);
			if (lvl > 0 && (ppn & ((1ULL << (9 * lvl)) - 1)))
				return page_fault(acc); /* misaligned superpage */
			uint64_t want = PTE_A | (acc == RV_ACC_WRITE ? PTE_D : 0);
			if ((pte & want) != want) {
				int rc = set_ad(cpu, pte_pa, pte, want);
				if (rc < 0)
					return access_fault(acc);
				if (rc > 0) /* the PTE changed under us: walk again from the root */
					return translate(cpu, va, size, acc, pa, page_ok);
			}
			uint64_t off_mask = (1ULL << (12 + 9 * lvl)) - 1;
			if (pte & PTE_N) { /* Svnapot: a 64 KiB page, ppn[3:0] = 1000 */
				if (lvl != 0 || (ppn & 0xf) != 8)
					return page_fault(acc);
				off_mask = 0xffff;
			}
			addr = (ppn << 12 & ~off_mask) | (va & off_mask);
			leaf = (unsigned)__builtin_ctzll(off_mask + 1);
			break;
		}
	} else {
		/* Bare / M-mode: the 64-bit physical address is the virtual one */
	}
	/* the page allowed implies every access inside it is (callers never cross a page) */
	bool page = pmp_ok(cpu, addr & ~0xfffULL, 4096, acc, priv) && (addr & 0xfff) + size <= 4096;
	if (!page && !pmp_ok(cpu, addr, size, acc, priv))
		return access_fault(acc);
	*pa = addr;
	*page_ok = page && !(acc == RV_ACC_EXEC ? cpu->trig.exec_on : cpu->trig.mem_on) /* trigger.h */
		   ? PAGE_OK | leaf << PAGE_SHIFT : 0;
	return 0;
}

/* A page of va's leaf is about to be cached. A superpage leaf widens the region (aligned,
 * a power of two) that covers every cached superpage, where sfence.vma by address flushes
 * everything (rv_tlb_flush_va). Done at the fill, after any flush the slow path did on the
 * way (a store dropping code, a page becoming code): those clear tlb_super. */
static void note_fill(struct rv_cpu *cpu, uint64_t va, unsigned page_ok)
{
	unsigned shift = page_ok >> PAGE_SHIFT;
	if (shift <= 12)
		return;
	uint64_t mask = ~0ULL << shift;
	if (!cpu->tlb_super) {
		cpu->tlb_super = true;
		cpu->super_mask = mask;
	}
	cpu->super_mask &= mask;
	while ((va & cpu->super_mask) != (cpu->super_base & cpu->super_mask))
		cpu->super_mask <<= 1;
	cpu->super_base = va & cpu->super_mask;
}

static int load_one(struct rv_cpu *cpu, uint64_t va, unsigned size, uint64_t *val)
{
	uint64_t pa;
	unsigned page_ok;
	int exc = translate(cpu, va, size, RV_ACC_READ, &pa, &page_ok);
	if (exc) {
		rv_raise(cpu, (uint64_t)exc, va);
		return -1;
	}
	uint8_t *host = vm_bus_ram(cpu->bus, pa & ~0xfffULL, 4096);
	if (host && page_ok) {
		note_fill(cpu, va, page_ok);
		struct rv_tlb_entry *e = &cpu->tlb_r[(va >> 12) & (RV_TLB_SIZE - 1)];
		e->tag = (va & ~0xfffULL) | cpu->tlb_gen;
		e->addend = (uintptr_t)host - (uintptr_t)(va & ~0xfffULL);
	}
	if (vm_bus_read(cpu->bus, pa, size, val)) {
		rv_raise(cpu, RV_EXC_LOAD_ACCESS, va);
		return -1;
	}
	return 0;
}

int rv_load_slow(struct rv_cpu *cpu, uint64_t va, unsigned size, uint64_t *val)
{
	if (cpu->trig.mem_on && rv_trig_mem(cpu, va, size, false))
		return -1;
	if ((va & 0xfff) + size > 0x1000) {
		/* page-crossing misaligned access: assemble it from bytes */
		uint64_t v = 0;
		for (unsigned i = 0; i < size; i++) {
			uint64_t b;
			if (load_one(cpu, va + i, 1, &b))
				return -1;
			v |= b << (8 * i);
		}
		*val = v;
		return 0;
	}
	if (va & (size - 1)) {
		/* misaligned within a page: MMIO regions only take naturally aligned accesses */
		uint64_t pa;
		unsigned page_ok;
		int exc = translate(cpu, va, size, RV_ACC_READ, &pa, &page_ok);
		if (exc) {
			rv_raise(cpu, (uint64_t)exc, va);
			return -1;
		}
		const uint8_t *host = vm_bus_readable(cpu->bus, pa, size);
		if (!host) {
			rv_raise(cpu, RV_EXC_LOAD_ACCESS, va);
			return -1;
		}
		uint64_t v = 0;
		memcpy(&v, host, size);
		*val = v;
		return 0;
	}
	return load_one(cpu, va, size, val);
}

static int store_one(struct rv_cpu *cpu, uint64_t va, unsigned size, uint64_t val)
{
	uint64_t pa;
	unsigned page_ok;
	int exc = translate(cpu, va, size, RV_ACC_WRITE, &pa, &page_ok);
	if (exc) {
		rv_raise(cpu, (uint64_t)exc, va);
		return -1;
	}
	uint64_t page = pa & ~0xfffULL;
	uint8_t *host = vm_bus_ram(cpu->bus, page, 4096);
	if (host)
		rv_code_write(cpu, pa, size);
	if (host && page_ok && (cpu->bus->watch_pa & ~0xfffULL) != page) {
		note_fill(cpu, va, page_ok); /* after rv_code_write, whose flush clears tlb_super */
		unsigned slot = (unsigned)(va >> 12) & (RV_TLB_SIZE - 1);
		if (cpu->nwfill < sizeof(cpu->wfill) / sizeof(cpu->wfill[0]))
			cpu->wfill[cpu->nwfill] = (uint16_t)slot;
		cpu->nwfill += cpu->nwfill <= sizeof(cpu->wfill) / sizeof(cpu->wfill[0]);
		struct rv_tlb_entry *e = &cpu->tlb_w[slot];
		e->tag = (va & ~0xfffULL) | cpu->tlb_gen;
		e->addend = (uintptr_t)host - (uintptr_t)(va & ~0xfffULL);
	}
	if (!vm_bus_ram(cpu->bus, pa, size) || (cpu->bus->watch_pa & ~0xfffULL) == page)
		cpu->budget = 0; /* device store: let the machine look at devices before going on */
	if (vm_bus_write(cpu->bus, pa, size, val)) {
		rv_raise(cpu, RV_EXC_STORE_ACCESS, va);
		return -1;
	}
	return 0;
}

int rv_store_slow(struct rv_cpu *cpu, uint64_t va, unsigned size, uint64_t val)
{
	if (cpu->trig.mem_on && rv_trig_mem(cpu, va, size, true))
		return -1;
	if ((va & 0xfff) + size > 0x1000 || (va & (size - 1))) {
		/* Misaligned: check every byte's translation first so a fault leaves memory untouched. */
		uint64_t pa[8];
		for (unsigned i = 0; i < size; i++) {
			unsigned page_ok;
			int exc = translate(cpu, va + i, 1, RV_ACC_WRITE, &pa[i], &page_ok);
			if (exc) {
				rv_raise(cpu, (uint64_t)exc, va);
				return -1;
			}
			if (!vm_bus_ram(cpu->bus, pa[i], 1)) {
				rv_raise(cpu, RV_EXC_STORE_ACCESS, va);
				return -1;
			}
		}
		for (unsigned i = 0; i < size; i++) {
			rv_code_write(cpu, pa[i], 1);
			vm_bus_write(cpu->bus, pa[i], 1, (val >> (8 * i)) & 0xff);
		}
		return 0;
	}
	return store_one(cpu, va, size, val);
}

static uint8_t *code_flag(struct rv_cpu *cpu, uint64_t pa)
{
	uint64_t off = pa - cpu->bus->ram_base;
	if (pa < cpu->bus->ram_base || off >= cpu->bus->ram_size)
		return NULL;
	return &cpu->code_map[off >> 12];
}

/* The page of `flag` becomes this hart's code page. Write-TLB entries may point into it:
 * this hart's are dropped, and every hart's when the page was no hart's code page (with
 * threads, while the others stand between batches; a page that already was someone's code
 * page has no write-TLB entry anywhere, so the bit is added at once). */
static void mark_code(struct rv_cpu *cpu, uint8_t *flag)
{
	rv_tlb_flush(cpu);
	if (!cpu->excl_begin) {
		bool was_code = *flag != 0;
		*flag |= cpu->hart_bit;
		for (unsigned i = 0; !was_code && i < cpu->nharts; i++)
			if (cpu->harts[i] != cpu)
				rv_tlb_flush(cpu->harts[i]);
		return;
	}
	uint8_t bits = __atomic_load_n(flag, __ATOMIC_SEQ_CST);
	while (bits && !__atomic_compare_exchange_n(flag, &bits, bits | cpu->hart_bit, false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST))
		;
	if (bits)
		return;
	cpu->excl_begin(cpu->excl_opaque);
	if (!__atomic_fetch_or(flag, cpu->hart_bit, __ATOMIC_SEQ_CST))
		for (unsigned i = 0; i < cpu->nharts; i++)
			if (cpu->harts[i] != cpu)
				rv_tlb_flush(cpu->harts[i]);
	cpu->excl_end(cpu->excl_opaque);
}

/* Empties a slot by giving its host memory back (it reads as zero again): dropped pages
 * would otherwise keep their RSS, and a page claiming the slot touches only part of it. */
static void dpage_release(struct rv_dpage *dp)
{
	if (madvise(dp, sizeof(*dp), MADV_DONTNEED))
		memset(dp, 0, sizeof(*dp));
}

void rv_dpages_drop_blocks(struct rv_cpu *cpu)
{
	for (unsigned i = 0; i < RV_DPAGES; i++) {
		if (!cpu->dpage_tag[i])
			continue; /* a free slot is zero */
		struct rv_dpage *dp = &cpu->dpages[i];
		for (unsigned s = 0; s < 2048; s++)
			if (dp->insn[s].heat) /* only read elsewhere: a piece not in use stays so */
				dp->insn[s].heat = 0;
		if (madvise(dp->jit, sizeof(dp->jit), MADV_DONTNEED))
			memset(dp->jit, 0, sizeof(dp->jit));
	}
}

/* The decoded page for a RAM page: the way of its set holding it, else a free way (zero) or
 * the one used less recently, emptied and claimed. Called from the fetch slow path before the
 * fetch cache is set up again. */
static struct rv_dpage *dpage_for(struct rv_cpu *cpu, uint64_t pa_page)
{
	_Static_assert(RV_DWAYS == 2, "victim choice below assumes two ways");
	unsigned set = (unsigned)(pa_page >> 12) & (RV_DSETS - 1);
	struct rv_dpage *ways = &cpu->dpages[set * RV_DWAYS];
	uint64_t *tags = &cpu->dpage_tag[set * RV_DWAYS];
	uint8_t *flag = code_flag(cpu, pa_page);
	unsigned w = tags[0] == (pa_page | 1) ? 0 : tags[1] == (pa_page | 1) ? 1 : RV_DWAYS;
	if (w < RV_DWAYS && (*flag & cpu->hart_bit)) {
		cpu->dpage_mru[set] = (uint8_t)w;
		return &ways[w];
	}
	if (w == RV_DWAYS)
		w = !tags[0] ? 0 : !tags[1] ? 1 : (cpu->dpage_mru[set] & 1u) ^ 1u;
	cpu->dpage_mru[set] = (uint8_t)w;
	struct rv_dpage *dp = &ways[w];
	uint8_t *old = tags[w] ? code_flag(cpu, tags[w] & ~1ULL) : NULL;
	if (old) {
		__atomic_fetch_and(old, (uint8_t)~cpu->hart_bit, __ATOMIC_SEQ_CST);
		tags[w] = 0;
		dpage_release(dp); /* compiled blocks die with the decoded page */
	}
	mark_code(cpu, flag); /* may wait for another hart's exclusive work: tag the page after */
	tags[w] = pa_page | 1;
	return dp;
}

/* Drops the decoded page of `page` in one hart. */
static void drop_code(struct rv_cpu *cpu, uint64_t page)
{
	unsigned first = ((unsigned)(page >> 12) & (RV_DSETS - 1)) * RV_DWAYS;
	for (unsigned w = first; w < first + RV_DWAYS; w++)
		if (cpu->dpage_tag[w] == (page | 1)) {
			cpu->dpage_tag[w] = 0;
			dpage_release(&cpu->dpages[w]);
		}
	rv_tlb_flush(cpu); /* the fetch cache and instruction TLB may point at dp */
}

_Thread_local struct rv_cpu *rv_this_hart;

/* Drops the decoded pages of every hart in `bits`. */
static void drop_code_bits(struct rv_cpu *cpu, uint64_t page, uint8_t bits)
{
	if (!cpu->harts) {
		drop_code(cpu, page);
		return;
	}
	for (unsigned i = 0; i < cpu->nharts; i++)
		if (bits & cpu->harts[i]->hart_bit)
			drop_code(cpu->harts[i], page);
}

void rv_code_write(struct rv_cpu *cpu, uint64_t pa, uint64_t len)
{
	for (uint64_t page = pa & ~0xfffULL; page < pa + len; page += 4096) {
		uint8_t *flag = code_flag(cpu, page);
		if (!flag || !*flag)
			continue;
		if (!cpu->excl_begin) {
			uint8_t bits = *flag;
			*flag = 0;
			drop_code_bits(cpu, page, bits);
			continue;
		}
		/* threads: a page only this hart's thread has decoded is dropped at once; any
		 * other hart's decoded page goes while every other hart stands between batches */
		uint8_t own = cpu->hart_bit;
		if (rv_this_hart == cpu && __atomic_compare_exchange_n(flag, &own, 0, false, __ATOMIC_SEQ_CST,
								       __ATOMIC_SEQ_CST)) {
			drop_code(cpu, page);
			continue;
		}
		cpu->excl_begin(cpu->excl_opaque);
		drop_code_bits(cpu, page, __atomic_exchange_n(flag, 0, __ATOMIC_SEQ_CST));
		cpu->excl_end(cpu->excl_opaque);
	}
}

/* Reads 16 bits of code at va. With fill, a cacheable page becomes the fetch page. */
static int fetch16(struct rv_cpu *cpu, uint64_t va, uint32_t *half, bool fill, struct rv_dpage **dp)
{
	uint64_t pa;
	unsigned page_ok;
	int exc = translate(cpu, va, 2, RV_ACC_EXEC, &pa, &page_ok);
	if (exc) {
		rv_raise(cpu, (uint64_t)exc, va);
		return -1;
	}
	uint8_t *host = vm_bus_ram(cpu->bus, pa & ~0xfffULL, 4096);
	const uint8_t *code = host ? host : vm_bus_rom(cpu->bus, pa & ~0xfffULL, 4096);
	if (!code) {
		rv_raise(cpu, RV_EXC_INSN_ACCESS, va);
		return -1;
	}
	*dp = NULL;
	if (host && page_ok && fill) { /* ROM code is decoded every time: it runs once a boot */
		uint64_t tag = va & ~0xfffULL;
		struct rv_dpage *d = dpage_for(cpu, pa & ~0xfffULL); /* may flush the TLBs: first */
		note_fill(cpu, va, page_ok);
		struct rv_itlb_entry *e = &cpu->itlb[(va >> 12) & (RV_ITLB_SIZE - 1)];
		e->tag = tag | cpu->tlb_gen;
		e->addend = (uintptr_t)host - (uintptr_t)tag;
		e->dp = d;
		cpu->fetch_page = tag;
		cpu->fetch_addend = e->addend;
		cpu->fetch_dp = e->dp;
		*dp = e->dp;
	}
	uint16_t h;
	memcpy(&h, code + (pa & 0xfff), 2);
	*half = h;
	return 0;
}

int rv_fetch_slow(struct rv_cpu *cpu, uint64_t pc, uint32_t *raw, struct rv_insn **slot)
{
	if (cpu->trig.exec_on && rv_trig_exec(cpu, pc))
		return -1;
	uint32_t lo, hi;
	struct rv_dpage *dp, *dp2;
	uint64_t tag = pc & ~0xfffULL;
	struct rv_itlb_entry *e = &cpu->itlb[(pc >> 12) & (RV_ITLB_SIZE - 1)];
	if (e->tag == (tag | cpu->tlb_gen) && (pc & 0xfff) <= 0xffc) {
		/* instruction-TLB hit: becomes the fetch page without a walk */
		cpu->fetch_page = tag;
		cpu->fetch_addend = e->addend;
		cpu->fetch_dp = e->dp;
		memcpy(raw, (const void *)(e->addend + (uintptr_t)pc), 4);
		if ((*raw & 3) != 3)
			*raw &= 0xffff;
		*slot = &e->dp->insn[(pc & 0xfff) >> 1];
		return 0;
	}
	if (fetch16(cpu, pc, &lo, true, &dp))
		return -1;
	*slot = dp ? &dp->insn[(pc & 0xfff) >> 1] : &cpu->scratch;
	if ((lo & 3) != 3) {
		*raw = lo;
		return 0;
	}
	if ((pc & 0xfff) != 0xffe) {
		if (dp) {
			memcpy(raw, (const void *)(cpu->fetch_addend + (uintptr_t)pc), 4);
		} else { /* uncacheable page (fetch_addend is another page's): the second half alone */
			if (fetch16(cpu, pc + 2, &hi, false, &dp2))
				return -1;
			*raw = lo | hi << 16;
		}
		return 0;
	}
	/* The instruction straddles two pages. Its decoded form cannot live in either page's
	 * slots (a store to the second page would not drop it): decode it every time. */
	if (fetch16(cpu, pc + 2, &hi, false, &dp2))
		return -1;
	*raw = lo | hi << 16;
	*slot = &cpu->scratch;
	cpu->scratch.len = 0;
	return 0;
}

int rv_amo_translate(struct rv_cpu *cpu, uint64_t va, unsigned size, bool is_lr, void **host, uint64_t *pa)
{
	if (va & (size - 1)) {
		rv_raise(cpu, is_lr ? RV_EXC_LOAD_MISALIGNED : RV_EXC_STORE_MISALIGNED, va);
		return -1;
	}
	if (cpu->trig.mem_on && rv_trig_mem(cpu, va, size, !is_lr))
		return -1;
	unsigned page_ok;
	int exc = translate(cpu, va, size, is_lr ? RV_ACC_READ : RV_ACC_WRITE, pa, &page_ok);
	if (exc) {
		rv_raise(cpu, (uint64_t)exc, va);
		return -1;
	}
	*host = vm_bus_ram(cpu->bus, *pa, size);
	if (*host && !is_lr)
		rv_code_write(cpu, *pa, size);
	if (!*host || *pa == cpu->bus->watch_pa) {
		*host = NULL;
		cpu->budget = 0;
	}
	return 0;
}

int rv_debug_access(struct rv_cpu *cpu, uint64_t va, void *buf, size_t len, bool write)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		uint64_t a = va + i, pa = a;
		unsigned mode = (unsigned)(cpu->satp >> 60);
		if (cpu->priv != RV_PRIV_M && mode != 0) {
			/* a read walk may set A bits, as the guest's own read would; tolerable */
			unsigned ok;
			if (translate(cpu, a, 1, RV_ACC_READ, &pa, &ok))
				return -1;
		}
		uint8_t *h = vm_bus_ram(cpu->bus, pa, 1);
		const uint8_t *rom = h || write ? NULL : vm_bus_rom(cpu->bus, pa, 1); /* ROM: reads only */
		if (!h && !rom)
			return -1;
		if (write) {
			rv_code_write(cpu, pa, 1);
			*h = p[i];
		}
		else
			p[i] = h ? *h : *rom;
	}
	return 0;
}

