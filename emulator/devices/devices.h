/* devices.h - the virt machine's devices. Each registers its MMIO window on a struct vm_bus
 * and knows nothing about the CPU; the machine wires interrupts and exits. */
#ifndef STRATA_EMULATOR_DEVICES_DEVICES_H
#define STRATA_EMULATOR_DEVICES_DEVICES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct vm_bus;

/* ---- clock: mtime at 10 MHz from CLOCK_MONOTONIC, frozen while the VM is paused ---- */
struct vm_clock {
	uint64_t base_ns;   /* host time corresponding to mtime == offset */
	uint64_t offset;    /* mtime at base_ns */
	bool paused;
	uint64_t paused_at; /* mtime while paused */
};
void vm_clock_init(struct vm_clock *c);
uint64_t vm_clock_mtime(struct vm_clock *c);
void vm_clock_set(struct vm_clock *c, uint64_t mtime);
void vm_clock_pause(struct vm_clock *c);
void vm_clock_resume(struct vm_clock *c);
/* Host nanoseconds until mtime reaches `target` (0 if already there). */
uint64_t vm_clock_ns_until(struct vm_clock *c, uint64_t target);

/* ---- 16550A UART: a front end of a character back end (emulator/chardev/chardev.h) ---- */
struct vm_chardev;
struct vm_uart {
	struct vm_chardev *chr; /* NULL: output dropped, no input (-serial none) */
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr, msr;
	uint8_t lsr_err;          /* BI (and the error bits) until LSR is read */
	uint8_t rx[16];           /* receive FIFO; one byte deep while FCR.FE is off */
	unsigned rx_head, rx_count;
	bool thr_ipending;        /* "transmitter empty" interrupt condition (cleared by reading IIR) */
	bool timeout_ipending;    /* character timeout: data below the trigger level */
};
/* Level of the UART's interrupt line. */
bool vm_uart_irq(const struct vm_uart *u);
/* Attaches to `chr` as its front end (-EBUSY when it has one). */
int vm_uart_init(struct vm_uart *u, struct vm_bus *bus, uint64_t base, struct vm_chardev *chr);
void vm_uart_reset(struct vm_uart *u);

/* ---- PLIC: interrupt sources 1..95; two contexts per hart as on QEMU virt: 2i (hart i
 * M-mode) and 2i + 1 (hart i S-mode) ---- */
#define VM_MAX_HARTS 8
#define VM_PLIC_SOURCES 96
#define VM_PLIC_CONTEXTS (2 * VM_MAX_HARTS)
#define VM_PLIC_SIZE 0x600000 /* the window QEMU virt maps (and its device tree shows) */
struct vm_plic {
	uint32_t priority[VM_PLIC_SOURCES];
	uint32_t pending[VM_PLIC_SOURCES / 32];
	uint32_t claimed[VM_PLIC_SOURCES / 32];
	uint32_t enable[VM_PLIC_CONTEXTS][VM_PLIC_SOURCES / 32];
	uint32_t threshold[VM_PLIC_CONTEXTS];
	unsigned ncontexts; /* 2 * harts; contexts past it read as zero and ignore writes */
};
int vm_plic_init(struct vm_plic *p, struct vm_bus *bus, uint64_t base, unsigned harts);
void vm_plic_reset(struct vm_plic *p);
/* Reports the level of source `irq`'s line (a high line latches a request). */
void vm_plic_set(struct vm_plic *p, unsigned irq, bool level);
/* Whether context `ctx` has an interrupt to claim (its MEIP/SEIP line). */
bool vm_plic_line(const struct vm_plic *p, unsigned ctx);

/* ---- CLINT (msip and mtimecmp per hart, one mtime) ---- */
struct vm_clint {
	struct vm_clock *clock;
	unsigned nharts;
	uint32_t msip[VM_MAX_HARTS];
	uint64_t mtimecmp[VM_MAX_HARTS];
};
int vm_clint_init(struct vm_clint *c, struct vm_bus *bus, uint64_t base, struct vm_clock *clock, unsigned harts);
void vm_clint_reset(struct vm_clint *c);

/* ---- sifive_test: exit / reset requests ---- */
struct vm_exit_state {
	bool requested; /* the guest asked to power off (code) or, with `reset`, to reboot */
	bool reset;
	int code;
};
int vm_sifive_test_init(struct vm_exit_state *st, struct vm_bus *bus, uint64_t base);

/* ---- HTIF: tohost/fromhost words in RAM (riscv-tests and Spike-style programs) ---- */
struct vm_htif {
	struct vm_bus *bus;
	uint64_t tohost, fromhost; /* physical addresses */
	struct vm_chardev *out; /* the console back end (NULL: dropped) */
	struct vm_exit_state *exit;
};
int vm_htif_init(struct vm_htif *h, struct vm_bus *bus, uint64_t tohost, uint64_t fromhost, struct vm_chardev *out,
		 struct vm_exit_state *exit);

#endif
