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
void rv_exit(int code) __attribute__((noreturn));
/* Prints "name: ok" or "name: FAIL" and remembers failures; rv_failures() counts them. */
void rv_check(const char *name, int cond);
int rv_failures(void);
/* One PMP entry (pmpaddr0, NAPOT over the whole address space, RWX) so S and U modes may
 * touch memory: with PMP implemented and no matching entry, S/U accesses fail. */
void rv_pmp_allow_all(void);
void rv_unexpected_trap(uint64_t cause, uint64_t epc, uint64_t tval) __attribute__((noreturn));

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
#define RV_MODE_U 0
#define RV_MODE_S 1

void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#define RV_CSR_READ(csr) ({ uint64_t v_; __asm__ volatile("csrr %0, " #csr : "=r"(v_)); v_; })
#define RV_CSR_WRITE(csr, v) __asm__ volatile("csrw " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")
#define RV_CSR_SET(csr, v) __asm__ volatile("csrs " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")
#define RV_CSR_CLEAR(csr, v) __asm__ volatile("csrc " #csr ", %0" ::"r"((uint64_t)(v)) : "memory")
#endif
