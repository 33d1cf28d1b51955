/* elf.h - loading a bare-metal RV64 ELF executable into guest RAM. */
#ifndef STRATA_EMULATOR_MACHINE_ELF_H
#define STRATA_EMULATOR_MACHINE_ELF_H

#include <stddef.h>
#include <stdint.h>

struct vm_bus;

#define VM_ELF_MAX_SEGS 8

struct vm_elf_info {
	uint64_t entry;
	uint64_t low, end; /* lowest and first byte past the highest loaded address */
	uint64_t tohost, fromhost; /* 0 when the symbols are absent */
	/* the loaded segments (`info roms`): program header index, address, memory size */
	struct vm_elf_seg {
		unsigned index;
		uint64_t addr, size;
	} seg[VM_ELF_MAX_SEGS];
	int nseg;
};

/* Copies every PT_LOAD segment into RAM (which must hold it entirely). 0 or -errno;
 * `err` gets a message for the user on failure. */
int vm_elf_load(struct vm_bus *bus, const char *path, struct vm_elf_info *info, char *err, size_t errlen);

#endif
