/* A load whose host-TLB check also covers a later store through the same base register and
 * offset (strata-vm's JIT, emulator/cpu/jit-mem.c: the store then skips its own check), and
 * the cases where that must not happen or must still fault. Under Sv39 four virtual pages
 * map four physical pages out of order, so a store made with another page's translation
 * lands in the wrong page: the base changed between the two, a forward branch from before
 * the load lands between them, the load overwrote its base (pointer chasing). A read-only
 * page takes a store page fault after every load (counted by the trap handler), and a load
 * and store pair patching code runs the code it patched. Checksums must equal QEMU's. */
#include "rvtest.h"

#define VA 0x1000000000ULL /* l2[64] */
#define NPAGE 4
static uint64_t l2[512] __attribute__((aligned(4096)));
static uint64_t l1[512] __attribute__((aligned(4096)));
static uint64_t l0[512] __attribute__((aligned(4096)));
static uint64_t pages[NPAGE][512] __attribute__((aligned(4096)));
static uint64_t ropage[512] __attribute__((aligned(4096)));
static uint32_t code[1024] __attribute__((aligned(4096)));
static const unsigned perm[NPAGE] = { 2, 0, 3, 1 }; /* VA page k -> pages[perm[k]] */
#define RO_VA (VA + NPAGE * 4096ULL)

static uint64_t faults;

static void handler(struct rv_frame *f)
{
	if (f->cause != 15) /* store page fault */
		rv_unexpected_trap(f->cause, f->epc, f->tval);
	faults++;
	f->epc += (uint64_t)rv_insn_len(f->epc);
}

/* x * odd constant, the high bits: the next pseudo-random slot */
static inline uint64_t slot_of(uint64_t i)
{
	return (i * 0x9e3779b97f4a7c15ULL) >> 53; /* 0 .. 2047: any of the four pages */
}

/* ld/sd of one slot (the pair) */
static uint64_t pair_basic(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p = VA + 8 * slot_of(i), t;
		__asm__ volatile("ld %[t], 0(%[p])\n"
				 "addi %[t], %[t], 3\n"
				 "sd %[t], 0(%[p])"
				 : [t] "=&r"(t) : [p] "r"(p) : "memory");
	}
	return 0;
}

/* the base moves a page up between the load and the store */
static uint64_t pair_base_moved(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p = VA + 8 * (slot_of(i) % 1536), t;
		__asm__ volatile("ld %[t], 0(%[p])\n"
				 "addi %[p], %[p], 2047\n"
				 "addi %[p], %[p], 2047\n"
				 "addi %[p], %[p], 2\n"
				 "sd %[t], 0(%[p])"
				 : [t] "=&r"(t), [p] "+r"(p) : : "memory");
	}
	return 0;
}

/* every other iteration branches over the load to the store (one loop block) */
static uint64_t pair_branch_in(uint64_t n)
{
	uint64_t i = n, t = 5, s, p;
	__asm__ volatile("1: li %[s], 0x9e3779b9\n"
			 "   mul %[s], %[s], %[i]\n"
			 "   srli %[s], %[s], 21\n"
			 "   andi %[s], %[s], 2047\n"
			 "   slli %[s], %[s], 3\n"
			 "   add %[p], %[va], %[s]\n"
			 "   andi %[s], %[i], 1\n"
			 "   beqz %[s], 2f\n"
			 "   ld %[t], 0(%[p])\n"
			 "2: sd %[t], 0(%[p])\n"
			 "   addi %[t], %[t], 1\n"
			 "   addi %[i], %[i], -1\n"
			 "   bnez %[i], 1b\n"
			 : [i] "+r"(i), [t] "+r"(t), [s] "=&r"(s), [p] "=&r"(p) : [va] "r"(VA) : "memory");
	return t;
}

/* pointer chasing: the load overwrites its base, the store goes through the new one (and
 * leaves there the pointer the next iteration's load reads) */
static uint64_t pair_chase(uint64_t n)
{
	uint64_t p = VA;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t q = VA + 8 * slot_of(i + 7);
		__asm__ volatile("ld %[p], 0(%[p])\n"
				 "sd %[q], 0(%[p])"
				 : [p] "+r"(p) : [q] "r"(q) : "memory");
	}
	return p;
}

/* a read-only page: the store faults after each load */
static uint64_t pair_readonly(uint64_t n)
{
	uint64_t p = RO_VA + 64, t, sum = 0;
	for (uint64_t i = 0; i < n; i++) {
		__asm__ volatile("ld %[t], 0(%[p])\n"
				 "addi %[t], %[t], 1\n"
				 "sd %[t], 0(%[p])"
				 : [t] "=&r"(t) : [p] "r"(p) : "memory");
		sum += t;
	}
	return sum;
}

/* the pair patches the immediate of `addi a0, zero, k` that the loop then calls */
static uint64_t pair_code(uint64_t n)
{
	uint64_t sum = 0, t;
	uint64_t (*fn)(void) = (uint64_t(*)(void))(uintptr_t)code;
	for (uint64_t i = 0; i < n; i++) {
		sum += fn();
		__asm__ volatile("ld %[t], 0(%[c])\n"
				 "add %[t], %[t], %[one]\n"
				 "sd %[t], 0(%[c])\n"
				 "fence.i"
				 : [t] "=&r"(t) : [c] "r"(code), [one] "r"(1ULL << 20) : "memory");
	}
	return sum;
}

static uint64_t results[6];

static uint64_t run_all(uint64_t n)
{
	results[1] = pair_chase(n); /* first: the pages hold a pointer chain */
	pair_basic(n);
	pair_base_moved(n);
	results[0] = pair_branch_in(n);
	results[2] = pair_readonly(40);
	results[3] = pair_code(300);
	return 0;
}

/* the physical pages' contents, weighted by position */
static uint64_t digest(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (unsigned k = 0; k < NPAGE; k++)
		for (unsigned s = 0; s < 512; s++)
			h = (h ^ pages[k][s]) * 0x100000001b3ULL;
	return h;
}

int main(void)
{
	for (unsigned k = 0; k < NPAGE; k++) { /* a pointer chain through all four pages */
		for (unsigned s = 0; s < 512; s++) {
			unsigned next = (k * 512 + s) * 1021 % 2048;
			pages[perm[k]][s] = VA + 8 * next;
		}
	}
	ropage[8] = 0x1234;
	code[0] = 0x00000513; /* addi a0, zero, 0 */
	code[1] = 0x00008067; /* ret */
	__asm__ volatile("fence.i");
	l2[2] = (0x80000000ULL >> 12) << 10 | 0xcf; /* identity gigapage for RAM: V R W X A D */
	l2[64] = ((uint64_t)l1 >> 12) << 10 | 1;
	l1[0] = ((uint64_t)l0 >> 12) << 10 | 1;
	for (unsigned k = 0; k < NPAGE; k++)
		l0[k] = ((uint64_t)pages[perm[k]] >> 12) << 10 | 0xc7; /* V R W A D */
	l0[NPAGE] = ((uint64_t)ropage >> 12) << 10 | 0x43;	     /* V R A */
	rv_pmp_allow_all();
	RV_CSR_WRITE(satp, 8ULL << 60 | (uint64_t)l2 >> 12);
	__asm__ volatile("sfence.vma" ::: "memory");
	rv_set_mtrap(handler);
	rv_run_in_mode(RV_MODE_S, run_all, 20000);
	rv_set_mtrap(0);
	RV_CSR_WRITE(satp, 0);
	__asm__ volatile("sfence.vma" ::: "memory");
	rv_show("pages", digest());
	rv_show("branch-in", results[0]);
	rv_show("chase", results[1]);
	rv_show("read-only", results[2]);
	rv_show("read-only faults", faults);
	rv_show("read-only page", ropage[8]);
	rv_show("code", results[3]);
	return 0;
}
