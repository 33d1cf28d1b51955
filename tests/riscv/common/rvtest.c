/* Guest runtime; see rvtest.h. Everything here must behave identically on QEMU and strata-vm,
 * so it only touches the UART transmit path and the test device. */
#include "rvtest.h"

#define UART_BASE 0x10000000UL
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define TEST_DEV 0x100000UL

static int failures;

void rv_putc(char c)
{
	volatile uint8_t *uart = (volatile uint8_t *)UART_BASE;
	while (!(uart[UART_LSR] & UART_LSR_THRE))
		;
	uart[0] = (uint8_t)c;
}

void rv_puts(const char *s)
{
	while (*s)
		rv_putc(*s++);
}

static void puthex(uint64_t v, int digits)
{
	rv_puts("0x");
	for (int i = digits - 1; i >= 0; i--)
		rv_putc("0123456789abcdef"[(v >> (i * 4)) & 15]);
}

void rv_puthex32(uint32_t v) { puthex(v, 8); }
void rv_puthex64(uint64_t v) { puthex(v, 16); }

void rv_putdec(int64_t v)
{
	char buf[24];
	int n = 0;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	if (v < 0)
		rv_putc('-');
	do {
		buf[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	while (n)
		rv_putc(buf[--n]);
}

void rv_show(const char *name, uint64_t v)
{
	rv_puts(name);
	rv_puts(" ");
	rv_puthex64(v);
	rv_puts("\n");
}

void rv_exit(int code)
{
	volatile uint32_t *dev = (volatile uint32_t *)TEST_DEV;
	if (code == 0)
		*dev = 0x5555;
	else
		*dev = ((uint32_t)code << 16) | 0x3333;
	for (;;)
		;
}

void rv_check(const char *name, int cond)
{
	rv_puts(name);
	rv_puts(cond ? ": ok\n" : ": FAIL\n");
	if (!cond)
		failures++;
}

int rv_failures(void) { return failures; }

void rv_pmp_allow_all(void)
{
	RV_CSR_WRITE(pmpaddr0, ~0UL >> 10);
	RV_CSR_WRITE(pmpcfg0, 0x1f); /* NAPOT | X | W | R */
}

void rv_unexpected_trap(uint64_t cause, uint64_t epc, uint64_t tval)
{
	rv_puts("unexpected trap: mcause=");
	rv_puthex64(cause);
	rv_puts(" mepc=");
	rv_puthex64(epc);
	rv_puts(" mtval=");
	rv_puthex64(tval);
	rv_putc('\n');
	rv_exit(99);
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *dp = d;
	while (n--)
		*dp++ = (uint8_t)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *ap = a, *bp = b;
	for (; n; n--, ap++, bp++)
		if (*ap != *bp)
			return *ap < *bp ? -1 : 1;
	return 0;
}

/* ---- traps ---- */
#define LOWER_MAGIC 0x5354524c
static uint8_t mtrap_stack[8192] __attribute__((aligned(16)));
static uint8_t strap_stack[8192] __attribute__((aligned(16)));
static uint8_t lower_stack[16384] __attribute__((aligned(16)));
uint64_t rv_lower_stack_top = (uint64_t)(lower_stack + sizeof(lower_stack));
static rv_trap_fn mtrap_fn, strap_fn;
void rv_mtrap_entry(void);
void rv_strap_entry(void);
int rv_mtrap_dispatch(struct rv_frame *f);
int rv_strap_dispatch(struct rv_frame *f);

void rv_set_mtrap(rv_trap_fn fn)
{
	extern void rv_default_trap(void);
	mtrap_fn = fn;
	RV_CSR_WRITE(mscratch, (uint64_t)(mtrap_stack + sizeof(mtrap_stack)));
	RV_CSR_WRITE(mtvec, fn ? (uint64_t)rv_mtrap_entry : (uint64_t)rv_default_trap);
}

void rv_set_strap(rv_trap_fn fn)
{
	strap_fn = fn;
	RV_CSR_WRITE(sscratch, (uint64_t)(strap_stack + sizeof(strap_stack)));
	RV_CSR_WRITE(stvec, (uint64_t)rv_strap_entry);
}

int rv_insn_len(uint64_t addr)
{
	return (*(volatile uint16_t *)addr & 3) == 3 ? 4 : 2;
}

uint64_t *rv_pt_alloc(struct rv_ptpool *p)
{
	if (p->used == p->n) {
		rv_puts("page-table pool used up\n");
		rv_exit(1);
	}
	uint64_t *t = p->t[p->used++];
	memset(t, 0, 4096);
	return t;
}

uint64_t *rv_pt_slot(struct rv_ptpool *p, uint64_t *root, int levels, uint64_t va, int level)
{
	uint64_t *t = root;
	for (int l = levels - 1; l > level; l--) {
		unsigned idx = (va >> (12 + 9 * l)) & 511;
		if (!(t[idx] & 1)) /* not valid: a new next-level table */
			t[idx] = ((uint64_t)rv_pt_alloc(p) >> 12) << 10 | 1;
		t = (uint64_t *)((t[idx] >> 10) << 12);
	}
	return &t[(va >> (12 + 9 * level)) & 511];
}

void rv_czero_trap(struct rv_frame *f)
{
	uint32_t insn = *(const uint32_t *)f->epc;
	unsigned rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
	if (f->cause != 2 || (insn & 0xfe00407f) != 0x0e004033) /* czero.eqz / czero.nez */
		rv_unexpected_trap(f->cause, f->epc, f->tval);
	uint64_t a = f->x[rs1], b = f->x[rs2];
	uint64_t r = ((insn >> 13) & 1) ? (b ? 0 : a) : (b ? a : 0);
	if (rd)
		f->x[rd] = r;
	f->epc += 4;
}

void rv_report_fault(struct rv_frame *f)
{
	rv_puts("  fault cause=");
	rv_putdec((int64_t)f->cause);
	rv_puts(" tval=");
	rv_puthex64(f->tval);
	rv_putc('\n');
	if (f->cause == 12 || f->cause == 1)
		f->epc = f->x[1];
	else
		f->epc += (uint64_t)rv_insn_len(f->epc);
	f->x[10] = 0xdead;
}

/* Returns 1 when a lower mode asked to go back to M-mode (rv_run_in_mode's ecall). */
int rv_mtrap_dispatch(struct rv_frame *f)
{
	if ((f->cause == 8 || f->cause == 9) && f->x[17] == LOWER_MAGIC)
		return 1;
	if (!mtrap_fn)
		rv_unexpected_trap(f->cause, f->epc, f->tval);
	mtrap_fn(f);
	return 0;
}

int rv_strap_dispatch(struct rv_frame *f)
{
	if (f->cause == 8 && f->x[17] == LOWER_MAGIC)
		return 1;
	if (!strap_fn) {
		rv_puts("unexpected S trap: scause=");
		rv_puthex64(f->cause);
		rv_puts(" sepc=");
		rv_puthex64(f->epc);
		rv_putc('\n');
		rv_exit(98);
	}
	strap_fn(f);
	return 0;
}
