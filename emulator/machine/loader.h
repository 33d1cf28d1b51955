/* loader.h - what -kernel, -bios and -initrd put into guest RAM, placed as QEMU 7.2's riscv
 * virt board places them (hw/riscv/boot.c behaviour: kernel at the first 2 MiB boundary after
 * the firmware, initrd at kernel + min(RAM / 2, 128 MiB)). */
#ifndef STRATA_EMULATOR_MACHINE_LOADER_H
#define STRATA_EMULATOR_MACHINE_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "emulator/machine/elf.h"

struct vm_bus;

/* The RISC-V Linux Image header (Documentation/arch/riscv/boot-image-header.rst). */
#define VM_IMAGE_MAGIC2_OFF 0x38
#define VM_IMAGE_MAGIC2 "RSC\x05"
#define VM_IMAGE_HEADER_LEN 0x40

enum vm_kernel_kind { VM_KERNEL_ELF, VM_KERNEL_IMAGE, VM_KERNEL_RAW };

struct vm_kernel_info {
	enum vm_kernel_kind kind;
	uint64_t entry; /* where the CPU (or the firmware's next stage) starts it */
	uint64_t low;   /* lowest loaded address: QEMU's "kernel entry" for an ELF with firmware */
	uint64_t end;   /* first byte past it, bss (an Image's image_size) included */
	uint64_t tohost, fromhost; /* HTIF symbols of an ELF, else 0 */
	uint64_t file_len;  /* an Image or raw binary: bytes loaded at `low` (`info roms`) */
	struct vm_elf_info elf; /* an ELF: its segments */
};

/* Loads `path`: an RV64 ELF at its physical addresses, or else a RISC-V Linux Image, a gzip
 * compressed Image (Debian's vmlinuz) or a raw binary at `start`. 0 or -errno with a one-line
 * message naming the file in `err` (-ENOENT etc., -ENOEXEC not a kernel, -EFBIG does not fit). */
int vm_load_kernel(struct vm_bus *bus, const char *path, uint64_t start, struct vm_kernel_info *info, char *err,
		   size_t errlen);

/* Where QEMU 7.2 puts the initrd for a kernel starting at `kernel_entry`. */
uint64_t vm_initrd_addr(uint64_t kernel_entry, uint64_t ram_size);

/* Copies the initrd file to [start, *end), which must end at or below `limit` (the device
 * tree) and must not overlap the kernel's [kernel_low, kernel_end). 0 or -errno with `err`. */
int vm_load_initrd(struct vm_bus *bus, const char *path, uint64_t start, uint64_t limit, uint64_t kernel_low,
		   uint64_t kernel_end, uint64_t *end, char *err, size_t errlen);

#endif
