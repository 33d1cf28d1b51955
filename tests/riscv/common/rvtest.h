/* Guest-side helpers for Strata's RISC-V test programs: console on the QEMU virt 16550 UART
 * (0x10000000) and exit through the sifive_test device (0x100000). No libc. */
#ifndef RVTEST_H
#define RVTEST_H
#include <stdint.h>
#include <stddef.h>

void rv_putc(char c);
void rv_puts(const char *s);
void rv_puthex32(uint32_t v);
void rv_puthex64(uint64_t v);
void rv_putdec(int64_t v);
/* "name value": the name, a space, v as rv_puthex64 prints it, a newline. */
void rv_show(const char *name, uint64_t v);
void rv_exit(int code) __attribute__((noreturn));
/* Prints "name: ok" or "name: FAIL" and remembers failures; rv_failures() counts them. */
void rv_check(const char *name, int cond);
int rv_failures(void);
/* One PMP entry (pmpaddr0, NAPOT over the whole address space, RWX) so S and U modes may
 * touch memory: with PMP implemented and no matching entry, S/U accesses fail. */
void rv_pmp_allow_all(void);
void rv_unexpected_trap(uint64_t cause, uint64_t epc, uint64_t tval) __attribute__((noreturn));

/* The CLINT of QEMU's virt board (strata-vm's too): the timer and hart h's compare register. */
#define RV_CLINT_MTIME ((volatile uint64_t *)0x200bff8UL)
#define RV_CLINT_MTIMECMP(h) ((volatile uint64_t *)(0x2004000UL + 8 * (h)))

/* ---- traps and privilege modes (trap.S) ---- */
struct rv_frame {
	uint64_t x[32]; /* x[2] is the interrupted sp */
	uint64_t cause, epc, tval, status;
};
typedef void (*rv_trap_fn)(struct rv_frame *f); /* may change f->epc and f->x[] */
/* Installs `fn` as the M-mode (or S-mode) trap handler, with its own trap stack.
 * NULL restores the catch-all M handler. */
void rv_set_mtrap(rv_trap_fn fn);
void rv_set_strap(rv_trap_fn fn);
/* Runs fn(arg) in mode (0 = U, 1 = S) with a private stack, returns its result; the lower
 * mode returns through an ecall the M (or S) handler recognises before calling `fn`. */
uint64_t rv_run_in_mode(int mode, uint64_t (*fn)(uint64_t), uint64_t arg);
/* Length (2 or 4) of the instruction at addr, for handlers that skip it. */
int rv_insn_len(uint64_t addr);
/* The MMU tests' fault report: prints "  fault cause=N tval=0x..." and resumes after the
 * faulting instruction, or at ra after an instruction fault (cause 1/12: a call's target
 * faulted); a0 = 0xdead, which a faulting load helper then returns. */
void rv_report_fault(struct rv_frame *f);
/* A trap handler for programs using Zicond, which QEMU 7.2 lacks: computes czero.eqz /
 * czero.nez on an illegal-instruction trap there and resumes after it (strata-vm runs them
 * natively); any other trap is unexpected. */
void rv_czero_trap(struct rv_frame *f);
#define RV_MODE_U 0
#define RV_MODE_S 1

/* ---- page tables (Sv39/48/57) made of 4 KiB tables from the program's own pool ---- */
#define RV_PTE_V 1u
#define RV_PTE_R 2u
#define RV_PTE_W 4u
#define RV_PTE_X 8u
#define RV_PTE_U 16u
#define RV_PTE_G 32u
#define RV_PTE_A 64u
#define RV_PTE_D 128u
struct rv_ptpool {
	uint64_t (*t)[512]; /* 4096-aligned */
	int n, used;
};
/* A zeroed table; exits with a message when the pool is used up. */
uint64_t *rv_pt_alloc(struct rv_ptpool *p);
/* The PTE slot of va at `level` (0: a 4 KiB leaf) in a `levels`-level table under root,
 * making missing intermediate tables. */
uint64_t *rv_pt_slot(struct rv_ptpool *p, uint64_t *root, int levels, uint64_t va, int level);

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#define RV_CSR_READ(csr) ({ uint64_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define RV_CSR_WRITE(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")
#define RV_CSR_SET(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")
#define RV_CSR_CLEAR(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")
#endif
