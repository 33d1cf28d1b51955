/* mrom.h - the virt board's mask ROM at 0x1000 (QEMU's "riscv_virt_board.mrom", 0xf000 bytes):
 * the reset vector every hart starts at with all registers zero, laid out as QEMU 7.2 lays
 * it out for RV64 ("mrom.reset"), followed by OpenSBI's fw_dynamic_info ("mrom.finfo"). The
 * vector sets a0 = mhartid, a1 = the device tree, a2 = &fw_dynamic_info and jumps to the
 * start address. */
#ifndef STRATA_EMULATOR_DEVICES_MROM_H
#define STRATA_EMULATOR_DEVICES_MROM_H

#include <stddef.h>
#include <stdint.h>

#define VM_MROM_BASE 0x1000ULL
#define VM_MROM_SIZE 0xf000ULL
#define VM_MROM_RESET_LEN 0x28ULL /* six instructions, start address, device-tree address */
#define VM_MROM_FINFO_LEN 0x30ULL /* fw_dynamic_info version 2: six 64-bit fields */

struct vm_mrom_boot {
	uint64_t start;     /* where the vector jumps: the firmware (or RAM start) */
	uint64_t fdt;       /* device tree, handed over in a1 */
	uint64_t next_addr; /* fw_dynamic_info: the next stage (the kernel; 0: none) */
};

/* Writes the vector and fw_dynamic_info at the start of `rom` (at least
 * VM_MROM_RESET_LEN + VM_MROM_FINFO_LEN bytes) and zeroes the rest of its `len` bytes. */
void vm_mrom_fill(uint8_t *rom, size_t len, const struct vm_mrom_boot *boot);

#endif
