/* Cases a translating CPU can get wrong, each run often enough to be compiled (strata-vm's
 * JIT compiles a jump target after a few arrivals; make check also runs every program with
 * --jit=eager): code patched by the loop that runs it, one code page mapped at two virtual
 * addresses (pc-relative results must follow the address), a called page remapped under a
 * hot call site, x0 as a destination, jalr with
 * rd == rs1, misaligned and page-crossing accesses, MMIO inside a hot loop, a timer
 * interrupt ending a spin loop, and F/D instructions trapping once FS is switched off. */
#include "rvtest.h"

#define UART_LSR ((volatile uint8_t *)0x10000005UL)

static uint32_t code[1024] __attribute__((aligned(4096)));
static uint32_t code2[1024] __attribute__((aligned(4096)));
static uint64_t l2[512] __attribute__((aligned(4096)));
static uint64_t l1[512] __attribute__((aligned(4096)));
static uint64_t l0[512] __attribute__((aligned(4096)));
static uint8_t buf[3 * 4096] __attribute__((aligned(4096)));

#define ADDI(rd, rs, imm) ((uint32_t)((imm) & 0xfff) << 20 | (uint32_t)(rs) << 15 | (uint32_t)(rd) << 7 | 0x13u)
#define RET 0x00008067u

typedef uint64_t (*fn0)(void);
typedef uint64_t (*fn2)(uint64_t, uint64_t);

static void sync_code(void)
{
	__asm__ volatile("fence.i" ::: "memory");
}

/* A loop that rewrites one of its own instructions when its counter reaches `when`:
 *   loop: bne a0, a2, skip ; sw a3, 0(a4) ; fence.i
 *   skip: addi a1, a1, 1 (becomes addi a1, a1, 2) ; addi a0, a0, -1 ; bnez a0, loop ; mv a0, a1 ; ret */
static uint64_t patch_loop(uint64_t n, uint64_t when)
{
	uint32_t *c = code;
	c[0] = 0x00c51663u;		/* bne a0, a2, +12 */
	c[1] = 0x00d72023u;		/* sw a3, 0(a4) */
	c[2] = 0x0000100fu;		/* fence.i */
	c[3] = ADDI(11, 11, 1);		/* skip: addi a1, a1, 1 */
	c[4] = ADDI(10, 10, -1);	/* addi a0, a0, -1 */
	c[5] = 0xfe0516e3u;		/* bnez a0, loop */
	c[6] = 0x00058513u;		/* mv a0, a1 */
	c[7] = RET;
	sync_code();
	register uint64_t a0 __asm__("a0") = n;
	register uint64_t a1 __asm__("a1") = 0;
	register uint64_t a2 __asm__("a2") = when;
	register uint64_t a3 __asm__("a3") = ADDI(11, 11, 2);
	register uint64_t a4 __asm__("a4") = (uint64_t)&c[3];
	__asm__ volatile("jalr ra, 0(%5)"
			 : "+r"(a0), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4)
			 : "r"(c)
			 : "ra", "memory");
	return a0;
}

static void test_selfmod(void)
{
	uint64_t r = 0;
	for (int rep = 0; rep < 3; rep++)
		r += patch_loop(100, 40); /* 60 iterations add 1, then 40 add 2 */
	rv_check("loop patching itself", r == 3 * 140);
	rv_putdec((int64_t)r);
	rv_putc('\n');
}

/* ---- one physical page at two virtual addresses ---- */
#define VA1 0x1000000000ULL
#define VA2 0x1000003000ULL

static uint64_t alias_run(uint64_t iters)
{
	uint64_t sum1 = 0, sum2 = 0;
	for (uint64_t i = 0; i < iters; i++) {
		sum1 += ((fn0)(VA1 + 0x100))() - VA1;
		sum2 += ((fn0)(VA2 + 0x100))() - VA2;
	}
	return sum1 == iters * 0x100 && sum2 == iters * 0x100;
}

static void fatal(struct rv_frame *f)
{
	rv_unexpected_trap(f->cause, f->epc, f->tval);
}

static void test_alias(void)
{
	code[0x40] = 0x00000517u; /* auipc a0, 0 */
	code[0x41] = RET;
	sync_code();
	l2[2] = (0x80000000ULL >> 12) << 10 | 0xcf; /* identity gigapage: V R W X A D */
	l2[64] = ((uint64_t)l1 >> 12) << 10 | 1;
	l1[0] = ((uint64_t)l0 >> 12) << 10 | 1;
	l0[0] = ((uint64_t)code >> 12) << 10 | 0xcb; /* V R X A D */
	l0[3] = ((uint64_t)code >> 12) << 10 | 0xcb;
	rv_pmp_allow_all();
	RV_CSR_WRITE(satp, 8ULL << 60 | (uint64_t)l2 >> 12);
	__asm__ volatile("sfence.vma" ::: "memory");
	rv_set_mtrap(fatal); /* rv_run_in_mode's return ecall needs a handler installed */
	uint64_t ok = rv_run_in_mode(RV_MODE_S, alias_run, 300);
	rv_set_mtrap(0);
	RV_CSR_WRITE(satp, 0);
	__asm__ volatile("sfence.vma" ::: "memory");
	rv_check("auipc follows the virtual address of an aliased page", ok == 1);
}

/* ---- a called page remapped under a hot call site (sfence.vma by address) ---- */
#define VA3 0x1000005000ULL

static uint64_t remap_run(uint64_t iters)
{
	uint64_t sum = 0;
	for (uint64_t i = 0; i < iters; i++) {
		if (i == iters / 2) { /* VA3 now maps code2: the compiled call must follow */
			l0[5] = ((uint64_t)code2 >> 12) << 10 | 0xcb;
			__asm__ volatile("sfence.vma %0, zero" ::"r"(VA3) : "memory");
		}
		sum += ((fn0)(VA3 + 0x200))();
	}
	return sum;
}

static void test_remap(void)
{
	code[0x80] = ADDI(10, 0, 1); /* li a0, 1 */
	code[0x81] = RET;
	code2[0x80] = ADDI(10, 0, 2); /* li a0, 2 */
	code2[0x81] = RET;
	sync_code();
	l0[5] = ((uint64_t)code >> 12) << 10 | 0xcb;
	RV_CSR_WRITE(satp, 8ULL << 60 | (uint64_t)l2 >> 12);
	__asm__ volatile("sfence.vma" ::: "memory");
	rv_set_mtrap(fatal);
	uint64_t sum = rv_run_in_mode(RV_MODE_S, remap_run, 400);
	rv_set_mtrap(0);
	RV_CSR_WRITE(satp, 0);
	__asm__ volatile("sfence.vma" ::: "memory");
	rv_check("a call follows its target page remapped by sfence.vma", sum == 200 * 1 + 200 * 2);
	rv_putdec((int64_t)sum);
	rv_putc('\n');
}

/* ---- x0, jalr rd == rs1 ---- */
static uint64_t x0_loop(uint64_t n)
{
	uint64_t bad = 0, t;
	for (uint64_t i = 0; i < n; i++) {
		__asm__ volatile("addi x0, x0, 5\n lui x0, 0x12345\n add x0, %1, %1\n slli x0, %1, 3\n"
				 "ld x0, 0(sp)\n mul x0, %1, %1\n div x0, %1, %1\n mv %0, x0"
				 : "=r"(t) : "r"(i + 7));
		bad |= t;
	}
	return bad;
}

static uint64_t jalr_same(uint64_t n)
{
	uint64_t acc = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r;
		/* t0 = f; jalr t0, 0(t0): jumps to f with t0 = the return address */
		__asm__ volatile("la t0, 1f\n jalr t0, 0(t0)\n j 2f\n"
				 "1: addi %0, t0, 0\n jr t0\n"
				 "2:"
				 : "=r"(r) : : "t0");
		acc += r & 0xfff;
	}
	return acc;
}

static void test_regs(void)
{
	rv_check("x0 stays zero", x0_loop(500) == 0);
	uint64_t a = jalr_same(1), b = jalr_same(400);
	rv_check("jalr with rd == rs1", b == 400 * a && a != 0);
}

/* ---- memory ---- */
static uint64_t misaligned_sum(unsigned reps)
{
	uint64_t sum = 0;
	for (unsigned r = 0; r < reps; r++)
		for (unsigned off = 4096 - 9; off < 4096 + 2; off++) {
			uint64_t v;
			uint32_t w;
			uint16_t h;
			memcpy(&v, &buf[off], 8);
			memcpy(&w, &buf[off + 4096], 4);
			memcpy(&h, &buf[off + 1], 2);
			sum += v ^ w ^ h;
			v += r;
			memcpy(&buf[off + 2], &v, 8); /* stores crossing the page too */
		}
	return sum;
}

static void test_memory(void)
{
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	uint64_t s = misaligned_sum(200);
	rv_puthex64(s);
	rv_putc('\n');
	uint64_t polls = 0;
	for (int i = 0; i < 300; i++) /* MMIO loads in a hot loop */
		polls += (*UART_LSR & 0x20) != 0;
	rv_check("uart polled from a hot loop", polls == 300);
}

/* ---- a timer interrupt ends a spin loop ---- */
static volatile int ticked;

static void on_timer(struct rv_frame *f)
{
	(void)f;
	*RV_CLINT_MTIMECMP(0) = ~0ULL;
	ticked = 1;
}

static void test_timer(void)
{
	rv_set_mtrap(on_timer);
	*RV_CLINT_MTIMECMP(0) = ~0ULL;
	RV_CSR_SET(mie, 1u << 7);
	RV_CSR_SET(mstatus, 1u << 3);
	/* armed from inside the loop: a host that deschedules the emulator for longer than the
	 * timer's 2 ms cannot make it fire before the loop runs */
	uint64_t spins = 0;
	while (!ticked)
		if (++spins == 1000)
			*RV_CLINT_MTIMECMP(0) = *RV_CLINT_MTIME + 20000; /* 2 ms */
	RV_CSR_CLEAR(mstatus, 1u << 3);
	RV_CSR_CLEAR(mie, 1u << 7);
	rv_set_mtrap(0);
	rv_check("timer interrupt ends a spin loop", ticked == 1 && spins >= 1000);
}

/* ---- F/D once FS is Off ---- */
static volatile uint64_t fp_traps;

static void on_illegal(struct rv_frame *f)
{
	if (f->cause == 2)
		fp_traps++;
	f->epc += (uint64_t)rv_insn_len(f->epc);
}

static double fp_loop(double *v, unsigned n)
{
	double acc = 0;
	for (unsigned i = 0; i < n; i++)
		acc = acc + v[i & 7] * 1.5;
	return acc;
}

static void test_fs(void)
{
	static double v[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	double a = fp_loop(v, 400);
	rv_check("fp loop", a == 50 * 36 * 1.5);
	rv_set_mtrap(on_illegal);
	RV_CSR_CLEAR(mstatus, 3u << 13); /* FS = Off */
	uint64_t x;
	for (int i = 0; i < 100; i++) /* fld, then fadd.d: both illegal now */
		__asm__ volatile("fld ft0, 0(%1)\n fadd.d ft1, ft0, ft0\n li %0, 1" : "=r"(x) : "r"(v) : "ft0", "ft1");
	RV_CSR_SET(mstatus, 1u << 13);
	rv_set_mtrap(0);
	rv_check("F/D instructions trap with FS off", fp_traps == 200 && x == 1);
}

int main(void)
{
	test_selfmod();
	test_regs();
	test_memory();
	test_timer();
	test_fs();
	test_alias();
	test_remap();
	return rv_failures() ? 1 : 0;
}
