/* fdt.h - building a flattened device tree (DTB) in memory, for firmware and kernels. */
#ifndef STRATA_EMULATOR_MACHINE_FDT_H
#define STRATA_EMULATOR_MACHINE_FDT_H

#include <stddef.h>
#include <stdint.h>

struct vm_fdt {
	uint8_t *st, *str; /* structure block, strings block */
	size_t st_len, st_cap, str_len, str_cap;
	int err;
	unsigned harts; /* the board's hart count, for node builders' phandles (virt.c) */
};

void vm_fdt_init(struct vm_fdt *f);
void vm_fdt_begin(struct vm_fdt *f, const char *name);
void vm_fdt_end(struct vm_fdt *f);
void vm_fdt_prop(struct vm_fdt *f, const char *name, const void *val, size_t len);
void vm_fdt_prop_str(struct vm_fdt *f, const char *name, const char *s);
void vm_fdt_prop_u32(struct vm_fdt *f, const char *name, uint32_t v);
/* cells are host-order 32-bit values, written big-endian */
void vm_fdt_prop_cells(struct vm_fdt *f, const char *name, const uint32_t *cells, size_t n);
/* Assembles the DTB into a new buffer; 0 or -errno. Frees the builder either way. */
int vm_fdt_finish(struct vm_fdt *f, uint8_t **out, size_t *len);

#endif
