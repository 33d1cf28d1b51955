/* bus.c - physical address dispatch; see bus.h. */
#include "emulator/bus/bus.h"
#include "emulator/host/hugemem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int vm_bus_init(struct vm_bus *bus, uint64_t ram_base, uint64_t ram_size)
{
	memset(bus, 0, sizeof(*bus));
	/* lazily zeroed pages (huge where the host allows): a 128 MiB guest costs only what it
	 * touches. The extra page lets the fetch fast path read 4 bytes at the very end of RAM. */
	void *p = vm_huge_map(ram_size + 4096, PROT_READ | PROT_WRITE);
	if (!p)
		return -errno;
	bus->ram = p;
	bus->ram_base = ram_base;
	bus->ram_size = ram_size;
	bus->watch_pa = ~0ULL;
	return 0;
}

void vm_bus_destroy(struct vm_bus *bus)
{
	if (bus->ram)
		vm_huge_unmap(bus->ram, bus->ram_size + 4096);
	bus->ram = NULL;
	for (int i = 0; i < bus->nroms; i++)
		free(bus->roms[i].data);
	bus->nroms = 0;
}

void vm_bus_clear_ram(struct vm_bus *bus)
{
	/* private anonymous pages come back zero-filled, and untouched ones cost nothing */
	if (madvise(bus->ram, bus->ram_size, MADV_DONTNEED))
		memset(bus->ram, 0, bus->ram_size);
}

int vm_bus_add(struct vm_bus *bus, uint64_t base, uint64_t size, const struct vm_mmio_ops *ops, void *opaque)
{
	if (bus->nregions == VM_BUS_MAX_REGIONS)
		return -ENOSPC;
	bus->regions[bus->nregions++] = (struct vm_region){ base, size, ops, opaque };
	return 0;
}

int vm_bus_add_rom(struct vm_bus *bus, const char *name, uint64_t base, uint64_t size)
{
	if (bus->nroms == VM_BUS_MAX_ROMS)
		return -ENOSPC;
	uint8_t *data = calloc(1, (size_t)size);
	if (!data)
		return -ENOMEM;
	struct vm_rom_block *r = &bus->roms[bus->nroms++];
	*r = (struct vm_rom_block){ .base = base, .size = size, .data = data };
	snprintf(r->name, sizeof(r->name), "%s", name);
	return 0;
}

uint8_t *vm_bus_rom_data(struct vm_bus *bus, uint64_t base)
{
	for (int i = 0; i < bus->nroms; i++)
		if (bus->roms[i].base == base)
			return bus->roms[i].data;
	return NULL;
}

static struct vm_region *find_region(struct vm_bus *bus, uint64_t pa, unsigned size)
{
	for (int i = 0; i < bus->nregions; i++) {
		struct vm_region *r = &bus->regions[i];
		if (pa >= r->base && pa - r->base < r->size && size <= r->size - (pa - r->base))
			return r;
	}
	return NULL;
}

static uint64_t ram_get(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, p, size); /* little-endian host assumed (x86-64, aarch64) */
	return v;
}

int vm_bus_read(struct vm_bus *bus, uint64_t pa, unsigned size, uint64_t *val)
{
	uint8_t *p = vm_bus_ram(bus, pa, size);
	if (p) {
		*val = ram_get(p, size);
		return 0;
	}
	const uint8_t *rom = vm_bus_rom(bus, pa, size);
	if (rom) {
		*val = ram_get(rom, size);
		return 0;
	}
	struct vm_region *r = find_region(bus, pa, size);
	if (!r || !r->ops->read)
		return -EFAULT;
	if (!bus->lock)
		return r->ops->read(r->opaque, pa - r->base, size, val);
	bus->lock(bus->lock_opaque);
	int rc = r->ops->read(r->opaque, pa - r->base, size, val);
	bus->unlock(bus->lock_opaque);
	return rc;
}

int vm_bus_write(struct vm_bus *bus, uint64_t pa, unsigned size, uint64_t val)
{
	uint8_t *p = vm_bus_ram(bus, pa, size);
	if (p) {
		memcpy(p, &val, size);
		if (bus->watch && pa <= bus->watch_pa + 7 && pa + size > bus->watch_pa) {
			if (bus->lock)
				bus->lock(bus->lock_opaque);
			bus->watch(bus->watch_opaque, bus->watch_pa);
			if (bus->lock)
				bus->unlock(bus->lock_opaque);
		}
		return 0;
	}
	if (vm_bus_rom(bus, pa, size))
		return 0; /* discarded, as QEMU's TCG discards a store to a ROM region */
	struct vm_region *r = find_region(bus, pa, size);
	if (!r || !r->ops->write)
		return -EFAULT;
	if (!bus->lock)
		return r->ops->write(r->opaque, pa - r->base, size, val);
	bus->lock(bus->lock_opaque);
	int rc = r->ops->write(r->opaque, pa - r->base, size, val);
	bus->unlock(bus->lock_opaque);
	return rc;
}
