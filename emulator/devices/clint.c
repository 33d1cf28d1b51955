/* clint.c - SiFive CLINT: msip of hart i at +4i, mtimecmp of hart i at +0x4000 + 8i, mtime at +0xbff8.
 * 32- and 64-bit accesses; the machine turns msip/mtimecmp into MSIP/MTIP between batches. */
#include "emulator/devices/devices.h"
#include "emulator/bus/bus.h"

#include <errno.h>

static uint64_t merge(uint64_t old, uint64_t off, unsigned size, uint64_t val)
{
	if (size == 8)
		return val;
	unsigned sh = (off & 4) * 8;
	return (old & ~(0xffffffffULL << sh)) | ((val & 0xffffffffULL) << sh);
}

static int clint_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct vm_clint *c = opaque;
	uint64_t v;
	if (size != 4 && size != 8)
		return -EFAULT;
	if (off < 4 * c->nharts)
		v = c->msip[off / 4];
	else if (off >= 0x4000 && off < 0x4000 + 8 * c->nharts)
		v = c->mtimecmp[(off - 0x4000) / 8];
	else if (off >= 0xbff8 && off < 0xc000)
		v = vm_clock_mtime(c->clock);
	else
		v = 0;
	*val = size == 8 ? v : (v >> ((off & 4) * 8)) & 0xffffffff;
	return 0;
}

static int clint_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vm_clint *c = opaque;
	if (size != 4 && size != 8)
		return -EFAULT;
	if (off < 4 * c->nharts) {
		c->msip[off / 4] = val & 1;
	} else if (off >= 0x4000 && off < 0x4000 + 8 * c->nharts) {
		uint64_t *cmp = &c->mtimecmp[(off - 0x4000) / 8];
		*cmp = merge(*cmp, off, size, val);
	}
	else if (off >= 0xbff8 && off < 0xc000)
		vm_clock_set(c->clock, merge(vm_clock_mtime(c->clock), off, size, val));
	return 0;
}

static const struct vm_mmio_ops clint_ops = { clint_read, clint_write };

int vm_clint_init(struct vm_clint *c, struct vm_bus *bus, uint64_t base, struct vm_clock *clock, unsigned harts)
{
	*c = (struct vm_clint){ .clock = clock, .nharts = harts };
	vm_clint_reset(c);
	return vm_bus_add(bus, base, 0x10000, &clint_ops, c);
}

void vm_clint_reset(struct vm_clint *c)
{
	for (unsigned i = 0; i < VM_MAX_HARTS; i++) {
		c->msip[i] = 0;
		c->mtimecmp[i] = ~0ULL;
	}
}
