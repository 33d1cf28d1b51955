/* bus.h - the physical address space of a machine: one RAM block plus MMIO regions.
 * The CPU reaches RAM directly through host pointers (vm_bus_ram) and everything else
 * through sized reads and writes dispatched by address; an address outside every region is
 * an access fault (-EFAULT). */
#ifndef STRATA_EMULATOR_BUS_BUS_H
#define STRATA_EMULATOR_BUS_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct vm_mmio_ops {
	/* size is 1, 2, 4 or 8; off is relative to the region base. Return 0 or -errno. */
	int (*read)(void *opaque, uint64_t off, unsigned size, uint64_t *val);
	int (*write)(void *opaque, uint64_t off, unsigned size, uint64_t val);
};

struct vm_region {
	uint64_t base, size;
	const struct vm_mmio_ops *ops;
	void *opaque;
};

#define VM_BUS_MAX_REGIONS 16

struct vm_bus {
	uint8_t *ram;
	uint64_t ram_base, ram_size;
	struct vm_region regions[VM_BUS_MAX_REGIONS];
	int nregions;
	/* A RAM word whose stores a device must see (HTIF tohost): its page is kept out of the
	 * CPU's fast write path; ~0 when unused. */
	uint64_t watch_pa;
	void (*watch)(void *opaque, uint64_t pa);
	void *watch_opaque;
	/* thread=multi: the big lock around every device access (MMIO and the watch); NULL: one
	 * thread. RAM is reached without it. */
	void (*lock)(void *opaque);
	void (*unlock)(void *opaque);
	void *lock_opaque;
};

int vm_bus_init(struct vm_bus *bus, uint64_t ram_base, uint64_t ram_size);
void vm_bus_destroy(struct vm_bus *bus);
/* Gives RAM back to the host: every byte reads as zero again (system reset). */
void vm_bus_clear_ram(struct vm_bus *bus);
int vm_bus_add(struct vm_bus *bus, uint64_t base, uint64_t size, const struct vm_mmio_ops *ops, void *opaque);
/* Host pointer for [pa, pa+len) if it lies entirely in RAM, else NULL. */
static inline uint8_t *vm_bus_ram(struct vm_bus *bus, uint64_t pa, uint64_t len)
{
	uint64_t off = pa - bus->ram_base;
	if (pa < bus->ram_base || off >= bus->ram_size || len > bus->ram_size - off)
		return 0;
	return bus->ram + off;
}
int vm_bus_read(struct vm_bus *bus, uint64_t pa, unsigned size, uint64_t *val);
int vm_bus_write(struct vm_bus *bus, uint64_t pa, unsigned size, uint64_t val);
#endif
