/* bus.h - the physical address space of a machine: one RAM block, read-only ROM blocks (the
 * board's mask ROM) and MMIO regions. The CPU reaches RAM directly through host pointers
 * (vm_bus_ram), fetches code from ROM through vm_bus_rom, and reaches everything else through
 * sized reads and writes dispatched by address; an address outside every region is an access
 * fault (-EFAULT). A store to ROM is discarded without a fault, as QEMU's TCG does. */
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
#define VM_BUS_MAX_ROMS 2

/* A ROM block: bytes the board writes (vm_bus_rom_data) and the guest only reads. */
struct vm_rom_block {
	uint64_t base, size;
	uint8_t *data;
	char name[40]; /* QEMU's memory-region name, for `info mtree` */
};

struct vm_bus {
	uint8_t *ram;
	uint64_t ram_base, ram_size;
	struct vm_region regions[VM_BUS_MAX_REGIONS];
	int nregions;
	struct vm_rom_block roms[VM_BUS_MAX_ROMS];
	int nroms;
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
/* A zero-filled ROM block of `size` bytes at `base` (freed by vm_bus_destroy). */
int vm_bus_add_rom(struct vm_bus *bus, const char *name, uint64_t base, uint64_t size);
/* The writable host copy of the ROM block at `base` (the board fills it); NULL: none. */
uint8_t *vm_bus_rom_data(struct vm_bus *bus, uint64_t base);
/* Host pointer for [pa, pa+len) if it lies entirely in RAM, else NULL. */
static inline uint8_t *vm_bus_ram(struct vm_bus *bus, uint64_t pa, uint64_t len)
{
	uint64_t off = pa - bus->ram_base;
	if (pa < bus->ram_base || off >= bus->ram_size || len > bus->ram_size - off)
		return 0;
	return bus->ram + off;
}
/* Host pointer for [pa, pa+len) if it lies entirely in one ROM block, else NULL: for code
 * fetch and reads only, never for a guest store. */
static inline const uint8_t *vm_bus_rom(const struct vm_bus *bus, uint64_t pa, uint64_t len)
{
	for (int i = 0; i < bus->nroms; i++) {
		const struct vm_rom_block *r = &bus->roms[i];
		if (pa >= r->base && pa - r->base < r->size && len <= r->size - (pa - r->base))
			return r->data + (pa - r->base);
	}
	return 0;
}
/* RAM, else ROM: what a debugger or the monitor reads at a physical address. */
static inline const uint8_t *vm_bus_readable(struct vm_bus *bus, uint64_t pa, uint64_t len)
{
	const uint8_t *p = vm_bus_ram(bus, pa, len);
	return p ? p : vm_bus_rom(bus, pa, len);
}
int vm_bus_read(struct vm_bus *bus, uint64_t pa, unsigned size, uint64_t *val);
int vm_bus_write(struct vm_bus *bus, uint64_t pa, unsigned size, uint64_t val);
#endif
