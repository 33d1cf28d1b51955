/* virt.h - the QEMU-compatible "virt" board: RAM at 0x80000000, sifive_test at 0x100000,
 * CLINT at 0x2000000, PLIC at 0xc000000, 16550 UART at 0x10000000 (PLIC source 10); HTIF
 * when the program defines tohost.
 * Devices hang off the bus so more (virtio-blk, PLIC) can be added without touching the CPU. */
#ifndef STRATA_EMULATOR_MACHINE_VIRT_H
#define STRATA_EMULATOR_MACHINE_VIRT_H

#include "emulator/cpu/cpu.h"
#include "emulator/devices/devices.h"
#include "emulator/devices/virtio_blk.h"
#include "emulator/devices/virtio_mmio.h"
#include "emulator/bus/bus.h"

#include <stdio.h>

#define VM_VIRT_RAM_BASE 0x80000000ULL
#define VM_VIRT_TEST_BASE 0x100000ULL
#define VM_VIRT_CLINT_BASE 0x2000000ULL
#define VM_VIRT_UART_BASE 0x10000000ULL
#define VM_VIRT_PLIC_BASE 0x0c000000ULL
#define VM_VIRT_UART_IRQ 10
#define VM_VIRT_VIRTIO_BASE 0x10001000ULL /* slot i at + 0x1000 * i, PLIC source i + 1 */
#define VM_VIRT_VIRTIO_SLOTS 8

struct bc_image;

/* A disk on a virtio-blk device; the image stays owned by the caller. */
struct vm_virt_disk {
	struct bc_image *img;
	bool readonly, discard, writethrough;
};

struct vm_virt_config {
	uint64_t ram_size;
	const char *bios;   /* firmware (ELF or raw binary at RAM start); NULL = none */
	const char *kernel; /* ELF, RISC-V Linux Image (gzip or not), or raw binary */
	const char *append; /* kernel command line (device tree /chosen/bootargs) */
	const char *initrd; /* -initrd: placed as QEMU 7.2 does, announced in /chosen */
	FILE *console_out;
	int console_in; /* -1 for none */
	/* virtio-blk disks in command-line order; as on QEMU the first takes the highest slot */
	struct vm_virt_disk disks[VM_VIRT_VIRTIO_SLOTS];
	int ndisks;
	bool virtio_modern; /* -global virtio-mmio.force-legacy=false: version 2 transports */
	const char *dumpdtb; /* -M virt,dumpdtb=FILE: write the device tree there and stop */
};

struct vm_virt {
	struct vm_bus bus;
	struct rv_cpu cpu;
	struct vm_clock clock;
	struct vm_uart uart;
	struct vm_clint clint;
	struct vm_plic plic;
	struct vm_exit_state exit;
	struct vm_htif htif;
	struct vm_virtio_mmio virtio[VM_VIRT_VIRTIO_SLOTS];
	struct vm_virtio_blk blk[VM_VIRT_VIRTIO_SLOTS];
	/* set asynchronously (gdb stub, signals) to stop vm_virt_run at the next batch */
	volatile bool stop_requested;
};

int vm_virt_create(struct vm_virt *vm, const struct vm_virt_config *cfg, char *err, size_t errlen);
void vm_virt_destroy(struct vm_virt *vm);
/* Runs until the guest exits (returns 1, exit code in vm->exit.code) or a stop is requested
 * (returns 0) or `max_insns` instructions ran (0 = unlimited; returns 0). */
int vm_virt_run(struct vm_virt *vm, uint64_t max_insns);
/* Executes one instruction (or takes one trap/interrupt); returns 1 if the guest exited. */
int vm_virt_step(struct vm_virt *vm);

#endif
