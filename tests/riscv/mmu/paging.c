/* See paging.h. Physical layout: program and its tables in the first 4 MiB of RAM, test
 * pages from the pool below, 2 MiB test region at 0x81000000. */
#include "paging.h"
#include "rvtest.h"

static int levels;
static uint64_t pool[48][512] __attribute__((aligned(4096)));
static struct rv_ptpool pt = {pool, 48, 0};
static uint8_t pages[8][4096] __attribute__((aligned(4096)));
static uint64_t *root_s, *root_u;

#define VA_BASE 0x1000000000ULL /* test mappings live here (index 64 at level 2) */
#define VA_RW (VA_BASE + 0x0000)
#define VA_RO (VA_BASE + 0x1000)
#define VA_XO (VA_BASE + 0x2000)
#define VA_UP (VA_BASE + 0x3000)
#define VA_WO (VA_BASE + 0x4000)
#define VA_NONE (VA_BASE + 0x5000)
#define VA_SWAP (VA_BASE + 0x6000)
#define VA_BADLEAF (VA_BASE + 0x7000)
#define VA_MEGA (VA_BASE + 0x200000)
#define VA_MEGA_BAD (VA_BASE + 0x400000)
#define VA_GIGA 0x1040000000ULL
#define PA_MEGA 0x81000000ULL

static void map(uint64_t va, uint64_t pa, int level, uint64_t flags)
{
	*rv_pt_slot(&pt, root_s, levels, va, level) = (pa >> 12) << 10 | flags | RV_PTE_V;
	*rv_pt_slot(&pt, root_u, levels, va, level) = (pa >> 12) << 10 | flags | RV_PTE_V;
}

static uint64_t rd(uint64_t va)
{
	uint64_t v;
	__asm__ volatile("mv a0, %1\n ld a0, 0(a0)\n mv %0, a0" : "=r"(v) : "r"(va) : "a0", "memory");
	return v;
}

static void wr(uint64_t va, uint64_t v)
{
	__asm__ volatile("sd %1, 0(%0)" ::"r"(va), "r"(v) : "memory");
}

static void call(uint64_t va)
{
	__asm__ volatile("jalr ra, 0(%0)" ::"r"(va) : "ra", "memory");
}

static void show(const char *what, uint64_t v)
{
	rv_puts(what);
	rv_puts(" = ");
	rv_puthex64(v);
	rv_putc('\n');
}

static uint64_t ad_bits(uint64_t va)
{
	return *rv_pt_slot(&pt, root_s, levels, va, 0) & (RV_PTE_A | RV_PTE_D);
}

static uint64_t s_tests(uint64_t arg)
{
	rv_puts("S: ad before = ");
	rv_puthex64(ad_bits(VA_RW));
	rv_putc('\n');
	show("S: read rw", rd(VA_RW + 8));
	show("S: ad after read", ad_bits(VA_RW));
	wr(VA_RW + 16, 0x1234);
	show("S: ad after write", ad_bits(VA_RW));
	show("S: read ro", rd(VA_RO));
	rv_puts("S: write ro\n");
	wr(VA_RO, 1);
	rv_puts("S: read execute-only\n");
	rd(VA_XO);
	RV_CSR_SET(sstatus, 1u << 19); /* MXR */
	show("S: read execute-only with MXR", rd(VA_XO));
	RV_CSR_CLEAR(sstatus, 1u << 19);
	rv_puts("S: execute ro\n");
	call(VA_RO);
	rv_puts("S: execute xo (ret)\n");
	call(VA_XO);
	rv_puts("S: read U page without SUM\n");
	rd(VA_UP);
	RV_CSR_SET(sstatus, 1u << 18); /* SUM */
	show("S: read U page with SUM", rd(VA_UP));
	rv_puts("S: execute U page with SUM\n");
	/* QEMU 7.2 would reuse the read's TLB entry (with execute permission) here */
	__asm__ volatile("sfence.vma" ::: "memory");
	call(VA_UP);
	RV_CSR_CLEAR(sstatus, 1u << 18);
	rv_puts("S: W-only PTE\n");
	rd(VA_WO);
	rv_puts("S: unmapped\n");
	rd(VA_NONE);
	rv_puts("S: leaf pointer at level 0\n");
	rd(VA_BADLEAF);
	rv_puts("S: non-canonical\n");
	rd(1ULL << (12 + 9 * levels));
	show("S: negative half", rd(-(1ULL << (11 + 9 * levels)) + 8));
	wr(VA_MEGA + 0x1238, 0xabcdef);
	show("S: megapage read back", rd(VA_MEGA + 0x1238));
	rv_puts("S: misaligned megapage\n");
	rd(VA_MEGA_BAD);
	show("S: gigapage", rd(VA_GIGA + (uint64_t)&pages[0][0] - 0x80000000ULL + 24));
	if (levels >= 4) {
		/* a top-level superpage at index 1 maps physical 0: its RAM is at +0x80000000 */
		uint64_t big = 1ULL << (12 + 9 * (levels - 1));
		show("S: top-level superpage", rd(big + (uint64_t)&pages[0][0] + 24));
	}
	/* sfence.vma: retarget VA_SWAP, then fence by address, then by ASID */
	show("S: swap before", rd(VA_SWAP));
	uint64_t *pte = rv_pt_slot(&pt, root_s, levels, VA_SWAP, 0);
	*pte = ((uint64_t)pages[5] >> 12) << 10 | RV_PTE_R | RV_PTE_W | RV_PTE_A | RV_PTE_D | RV_PTE_V;
	__asm__ volatile("sfence.vma %0, zero" ::"r"(VA_SWAP) : "memory");
	show("S: swap after sfence.vma addr", rd(VA_SWAP));
	*pte = ((uint64_t)pages[4] >> 12) << 10 | RV_PTE_R | RV_PTE_W | RV_PTE_A | RV_PTE_D | RV_PTE_V;
	__asm__ volatile("sfence.vma zero, %0" ::"r"(5UL) : "memory");
	show("S: swap after sfence.vma asid", rd(VA_SWAP));
	*pte = ((uint64_t)pages[5] >> 12) << 10 | RV_PTE_R | RV_PTE_W | RV_PTE_A | RV_PTE_D | RV_PTE_V;
	__asm__ volatile("sfence.vma" ::: "memory");
	show("S: swap after sfence.vma", rd(VA_SWAP));
	return arg + 1;
}

static uint64_t u_tests(uint64_t arg)
{
	show("U: read U page", rd(VA_UP));
	rv_puts("U: read non-U page\n");
	rd(VA_RW);
	rv_puts("U: execute non-U page\n");
	call(VA_XO);
	return arg + 2;
}

int paging_main(int lv)
{
	levels = lv;
	uint64_t mode = lv == 3 ? 8 : lv == 4 ? 9 : 10;
	rv_pmp_allow_all();
	rv_set_mtrap(rv_report_fault);
	root_s = rv_pt_alloc(&pt);
	root_u = rv_pt_alloc(&pt);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 512; j++)
			((uint64_t *)pages[i])[j] = (uint64_t)i << 32 | (uint64_t)j;
	/* identity: RAM gigapage (S only in root_s, U in root_u), UART and test device */
	*rv_pt_slot(&pt, root_s, levels, 0x80000000ULL, 2) = (0x80000000ULL >> 12) << 10 | RV_PTE_R | RV_PTE_W | RV_PTE_X | RV_PTE_A | RV_PTE_D | RV_PTE_V;
	*rv_pt_slot(&pt, root_u, levels, 0x80000000ULL, 2) = (0x80000000ULL >> 12) << 10 | RV_PTE_R | RV_PTE_W | RV_PTE_X | RV_PTE_U | RV_PTE_A | RV_PTE_D | RV_PTE_V;
	*rv_pt_slot(&pt, root_s, levels, 0x10000000ULL, 0) = (0x10000000ULL >> 12) << 10 | RV_PTE_R | RV_PTE_W | RV_PTE_A | RV_PTE_D | RV_PTE_V;
	*rv_pt_slot(&pt, root_u, levels, 0x10000000ULL, 0) = (0x10000000ULL >> 12) << 10 | RV_PTE_R | RV_PTE_W | RV_PTE_U | RV_PTE_A | RV_PTE_D | RV_PTE_V;
	*rv_pt_slot(&pt, root_s, levels, 0x100000ULL, 0) = (0x100000ULL >> 12) << 10 | RV_PTE_R | RV_PTE_W | RV_PTE_A | RV_PTE_D | RV_PTE_V;
	*rv_pt_slot(&pt, root_u, levels, 0x100000ULL, 0) = (0x100000ULL >> 12) << 10 | RV_PTE_R | RV_PTE_W | RV_PTE_U | RV_PTE_A | RV_PTE_D | RV_PTE_V;

	map(VA_RW, (uint64_t)pages[0], 0, RV_PTE_R | RV_PTE_W);
	map(VA_RO, (uint64_t)pages[1], 0, RV_PTE_R | RV_PTE_A);
	/* execute-only page holding a `ret` */
	((uint32_t *)pages[2])[0] = 0x00008067;
	__asm__ volatile("fence.i");
	map(VA_XO, (uint64_t)pages[2], 0, RV_PTE_X | RV_PTE_A);
	((uint32_t *)pages[3])[0] = 0x00008067;
	map(VA_UP, (uint64_t)pages[3], 0, RV_PTE_R | RV_PTE_W | RV_PTE_X | RV_PTE_U | RV_PTE_A | RV_PTE_D);
	map(VA_WO, (uint64_t)pages[1], 0, RV_PTE_W | RV_PTE_A | RV_PTE_D);
	map(VA_SWAP, (uint64_t)pages[4], 0, RV_PTE_R | RV_PTE_W | RV_PTE_A | RV_PTE_D);
	/* a level-0 entry that is a pointer (no R/W/X) is invalid */
	map(VA_BADLEAF, (uint64_t)pages[1], 0, 0);
	map(-(1ULL << (11 + 9 * levels)), (uint64_t)pages[6], 0, RV_PTE_R | RV_PTE_W | RV_PTE_A | RV_PTE_D);
	map(VA_MEGA, PA_MEGA, 1, RV_PTE_R | RV_PTE_W | RV_PTE_A | RV_PTE_D);
	map(VA_MEGA_BAD, PA_MEGA + 0x1000, 1, RV_PTE_R | RV_PTE_W | RV_PTE_A | RV_PTE_D);
	map(VA_GIGA, 0x80000000ULL, 2, RV_PTE_R | RV_PTE_A);
	if (levels >= 4)
		map(1ULL << (12 + 9 * (levels - 1)), 0, levels - 1, RV_PTE_R | RV_PTE_A);

	rv_puts("satp write with an unsupported mode is ignored: ");
	RV_CSR_WRITE(satp, 0);
	RV_CSR_WRITE(satp, 7ULL << 60 | 5);
	rv_puts(RV_CSR_READ(satp) == 0 ? "yes\n" : "no\n");

	RV_CSR_WRITE(satp, mode << 60 | 5ULL << 44 | (uint64_t)root_s >> 12);
	rv_puts("satp mode accepted: ");
	rv_puts((RV_CSR_READ(satp) >> 60) == mode ? "yes\n" : "no\n");
	uint64_t r = rv_run_in_mode(RV_MODE_S, s_tests, 10);
	show("S returned", r);
	show("M: megapage data seen physically", *(volatile uint64_t *)(PA_MEGA + 0x1238));

	/* MPRV: M-mode loads translated as S */
	__asm__ volatile("sfence.vma");
	uint64_t v;
	RV_CSR_CLEAR(mstatus, 3u << 11);
	RV_CSR_SET(mstatus, (1u << 11) | (1u << 17)); /* MPP = S, MPRV */
	__asm__ volatile("ld %0, 0(%1)" : "=r"(v) : "r"(VA_SWAP + 8));
	RV_CSR_CLEAR(mstatus, 1u << 17);
	show("M with MPRV: read through S translation", v);

	RV_CSR_WRITE(satp, mode << 60 | 6ULL << 44 | (uint64_t)root_u >> 12);
	__asm__ volatile("sfence.vma");
	r = rv_run_in_mode(RV_MODE_U, u_tests, 20);
	show("U returned", r);
	RV_CSR_WRITE(satp, 0);
	return 0;
}
