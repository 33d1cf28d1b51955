/* Sv39 translations cached per context (privilege, SUM, MXR) stay correct across switches:
 * an sfence.vma in one mode drops what another mode cached, entries made with SUM or MXR
 * set are not used once it is clear, and sfence.vma of any address inside a megapage drops
 * every cached page of it, also right after a fetch or store that dropped decoded code.
 * Program, stack and tables are mapped with 4 KiB pages, so the megapage under test is the
 * only superpage. M-mode services (ebreak with a0 = request) stand in for a kernel. */
#include "rvtest.h"

static uint64_t pool[32][512] __attribute__((aligned(4096)));
static struct rv_ptpool pt = {pool, 32, 0};
static uint8_t pages[6][4096] __attribute__((aligned(4096)));
static uint64_t *root_s, *root_u;

#define VA_X 0x1000000000ULL   /* S data page: pages[0], then pages[1] */
#define VA_UP 0x1000001000ULL  /* U data page: pages[2], then pages[3] */
#define VA_XO 0x1000002000ULL  /* execute-only: pages[4] */
#define VA_MEGA 0x1000200000ULL /* megapage: PA_M1, then PA_M2 */
#define PA_M1 0x81000000ULL
#define PA_M2 0x81200000ULL

enum { SVC_REMAP_X = 1, SVC_RO_X, SVC_REMAP_UP };

static void map(uint64_t va, uint64_t pa, int level, uint64_t flags)
{
	*rv_pt_slot(&pt, root_s, 3, va, level) = (pa >> 12) << 10 | flags | RV_PTE_A | RV_PTE_D | RV_PTE_V;
	*rv_pt_slot(&pt, root_u, 3, va, level) = (pa >> 12) << 10 | flags | RV_PTE_A | RV_PTE_D | RV_PTE_V;
}

/* identity, 4 KiB pages: S's root without U, U's with it */
static void map_ident(uint64_t pa, uint64_t flags)
{
	*rv_pt_slot(&pt, root_s, 3, pa, 0) = (pa >> 12) << 10 | flags | RV_PTE_A | RV_PTE_D | RV_PTE_V;
	*rv_pt_slot(&pt, root_u, 3, pa, 0) = (pa >> 12) << 10 | flags | RV_PTE_U | RV_PTE_A | RV_PTE_D | RV_PTE_V;
}

static void mhandler(struct rv_frame *f)
{
	if (f->cause == 3) { /* ebreak: a service request in a0 */
		if (f->x[10] == SVC_REMAP_X)
			map(VA_X, (uint64_t)pages[1], 0, RV_PTE_R | RV_PTE_W);
		else if (f->x[10] == SVC_RO_X)
			map(VA_X, (uint64_t)pages[1], 0, RV_PTE_R);
		else if (f->x[10] == SVC_REMAP_UP)
			map(VA_UP, (uint64_t)pages[3], 0, RV_PTE_R | RV_PTE_W | RV_PTE_U);
		__asm__ volatile("sfence.vma" ::: "memory");
		f->epc += (uint64_t)rv_insn_len(f->epc);
		return;
	}
	rv_report_fault(f);
}

static void svc(uint64_t req)
{
	__asm__ volatile("mv a0, %0\n ebreak" ::"r"(req) : "a0", "memory");
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

static uint64_t call(uint64_t va)
{
	uint64_t v;
	__asm__ volatile("jalr ra, 0(%1)\n mv %0, a0" : "=r"(v) : "r"(va) : "ra", "a0", "memory");
	return v;
}

static void show(const char *what, uint64_t v)
{
	rv_puts(what);
	rv_puts(" = ");
	rv_puthex64(v);
	rv_putc('\n');
}

/* `li a0, n; ret` at pa */
static void put_code(uint64_t pa, int n)
{
	((volatile uint32_t *)pa)[0] = 0x00000513u | (uint32_t)n << 20;
	((volatile uint32_t *)pa)[1] = 0x00008067u;
}

static uint64_t s_tests(uint64_t arg)
{
	show("S: read", rd(VA_X));
	svc(SVC_REMAP_X); /* M remaps and fences: S's cached page must go */
	show("S: read after M remapped it", rd(VA_X));
	wr(VA_X + 8, 0x5151);
	svc(SVC_RO_X);
	rv_puts("S: write after M made it read-only\n");
	wr(VA_X + 8, 0x5252);
	show("S: read back", rd(VA_X + 8));

	RV_CSR_SET(sstatus, 1u << 18); /* SUM */
	show("S: read U page with SUM", rd(VA_UP));
	wr(VA_UP + 8, 0x6161);
	RV_CSR_CLEAR(sstatus, 1u << 18);
	rv_puts("S: read U page after SUM cleared\n");
	rd(VA_UP);
	rv_puts("S: write U page after SUM cleared\n");
	wr(VA_UP + 8, 0x6262);
	RV_CSR_SET(sstatus, 1u << 18);
	show("S: read U page with SUM again", rd(VA_UP + 8));
	RV_CSR_CLEAR(sstatus, 1u << 18);

	RV_CSR_SET(sstatus, 1u << 19); /* MXR */
	show("S: read execute-only with MXR", rd(VA_XO));
	RV_CSR_CLEAR(sstatus, 1u << 19);
	rv_puts("S: read execute-only after MXR cleared\n");
	rd(VA_XO);

	/* a megapage page fetched (its code decoded), then the megapage retargeted and fenced
	 * by another address inside it */
	show("S: megapage code", call(VA_MEGA + 0x3000));
	map(VA_MEGA, PA_M2, 1, RV_PTE_R | RV_PTE_W | RV_PTE_X);
	__asm__ volatile("sfence.vma %0, zero" ::"r"(VA_MEGA + 0x5000) : "memory");
	show("S: megapage code after remap", call(VA_MEGA + 0x3000));
	/* likewise after a store into a decoded page through the megapage */
	map(VA_MEGA, PA_M1, 1, RV_PTE_R | RV_PTE_W | RV_PTE_X);
	__asm__ volatile("sfence.vma" ::: "memory");
	show("S: code at 0x6000", call(VA_MEGA + 0x6000));
	wr(VA_MEGA + 0x6100, 0x7171);
	map(VA_MEGA, PA_M2, 1, RV_PTE_R | RV_PTE_W | RV_PTE_X);
	__asm__ volatile("sfence.vma %0, zero" ::"r"(VA_MEGA) : "memory");
	wr(VA_MEGA + 0x6100, 0x7272);
	show("S: megapage data after remap", rd(VA_MEGA + 0x6100));
	/* a 4 KiB page outside the megapage: fenced by its own address while the megapage's
	 * pages stay cached */
	show("S: 4 KiB page", rd(VA_X + 16));
	map(VA_X, (uint64_t)pages[0], 0, RV_PTE_R | RV_PTE_W);
	__asm__ volatile("sfence.vma %0, zero" ::"r"(VA_X) : "memory");
	show("S: 4 KiB page after remap", rd(VA_X + 16));
	show("S: megapage data", rd(VA_MEGA + 0x6100));
	return arg + 1;
}

static uint64_t u_tests(uint64_t arg)
{
	show("U: read", rd(VA_UP));
	wr(VA_UP + 16, 0x8181);
	svc(SVC_REMAP_UP);
	show("U: read after M remapped it", rd(VA_UP));
	show("U: read written word", rd(VA_UP + 16));
	rv_puts("U: read S page\n");
	rd(VA_X);
	return arg + 2;
}

int main(void)
{
	rv_pmp_allow_all();
	rv_set_mtrap(mhandler);
	root_s = rv_pt_alloc(&pt);
	root_u = rv_pt_alloc(&pt);
	/* the program's first 4 MiB, UART and test device with 4 KiB pages */
	for (uint64_t pa = 0x80000000ULL; pa < 0x80400000ULL; pa += 4096)
		map_ident(pa, RV_PTE_R | RV_PTE_W | RV_PTE_X);
	map_ident(0x10000000ULL, RV_PTE_R | RV_PTE_W);
	map_ident(0x100000ULL, RV_PTE_R | RV_PTE_W);
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 512; j++)
			((uint64_t *)pages[i])[j] = (uint64_t)(i + 1) << 32 | (uint64_t)j;
	map(VA_X, (uint64_t)pages[0], 0, RV_PTE_R | RV_PTE_W);
	map(VA_UP, (uint64_t)pages[2], 0, RV_PTE_R | RV_PTE_W | RV_PTE_U);
	map(VA_XO, (uint64_t)pages[4], 0, RV_PTE_X);
	map(VA_MEGA, PA_M1, 1, RV_PTE_R | RV_PTE_W | RV_PTE_X);
	put_code(PA_M1 + 0x3000, 1);
	put_code(PA_M2 + 0x3000, 2);
	put_code(PA_M1 + 0x6000, 3);
	put_code(PA_M2 + 0x6000, 4);
	__asm__ volatile("fence.i");

	RV_CSR_WRITE(satp, 8ULL << 60 | 1ULL << 44 | (uint64_t)root_s >> 12);
	__asm__ volatile("sfence.vma" ::: "memory");
	show("S returned", rv_run_in_mode(RV_MODE_S, s_tests, 10));
	show("M: first megapage word", *(volatile uint64_t *)(PA_M1 + 0x6100));
	show("M: second megapage word", *(volatile uint64_t *)(PA_M2 + 0x6100));
	/* S again, its pages cached from the first run while M ran in between */
	show("S returned", rv_run_in_mode(RV_MODE_S, s_tests, 30));
	RV_CSR_WRITE(satp, 8ULL << 60 | 2ULL << 44 | (uint64_t)root_u >> 12);
	__asm__ volatile("sfence.vma" ::: "memory");
	show("U returned", rv_run_in_mode(RV_MODE_U, u_tests, 20));
	show("U returned", rv_run_in_mode(RV_MODE_U, u_tests, 40));
	RV_CSR_WRITE(satp, 0);
	return 0;
}
