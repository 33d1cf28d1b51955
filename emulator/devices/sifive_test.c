/* sifive_test.c - the test/poweroff device: 0x5555 = pass (exit 0), (code << 16) | 0x3333 =
 * fail with `code`, 0x7777 = reset (the machine reboots, or exits 0 with -no-reboot). */
#include "emulator/devices/devices.h"
#include "emulator/bus/bus.h"

static int test_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	(void)opaque, (void)off, (void)size;
	*val = 0;
	return 0;
}

static int test_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vm_exit_state *st = opaque;
	(void)size;
	if (off != 0)
		return 0;
	switch (val & 0xffff) {
	case 0x3333:
		st->requested = true;
		st->code = (int)((val >> 16) & 0xffff);
		break;
	case 0x5555:
		st->requested = true;
		st->code = 0;
		break;
	case 0x7777:
		st->requested = true;
		st->reset = true;
		st->code = 0;
		break;
	default:
		break;
	}
	return 0;
}

static const struct vm_mmio_ops test_ops = { test_read, test_write };

int vm_sifive_test_init(struct vm_exit_state *st, struct vm_bus *bus, uint64_t base)
{
	return vm_bus_add(bus, base, 0x1000, &test_ops, st);
}
