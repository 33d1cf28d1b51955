/* device.h - how a device takes part in a machine. The machine keeps a list of these, one per
 * device it created from the command line, and drives every device through it alone: the
 * interrupt line level each batch, reset, state save/load (savevm), the device-tree node and
 * the monitor's `info qtree`/`info mtree`. Devices fill one in; they never see the machine. */
#ifndef STRATA_EMULATOR_BUS_DEVICE_H
#define STRATA_EMULATOR_BUS_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

struct vm_state; /* a savevm stream section (emulator/machine/vmstate.h) */
struct vm_fdt;

struct vm_device {
	const char *type;  /* QEMU's type name where it has one: "virtio-mmio", "serial", ... */
	char name[48];     /* unique instance name, also the savevm section name */
	uint64_t base, size; /* MMIO window; size 0: none */
	unsigned irq;      /* PLIC source; 0: none */
	void *opaque;
	bool (*irq_level)(void *opaque);
	void (*reset)(void *opaque);
	/* savevm: the device's whole guest-visible state; load returns -errno on a bad section */
	unsigned state_version;
	int (*save)(void *opaque, struct vm_state *s);
	int (*load)(void *opaque, struct vm_state *s, unsigned version);
	/* its device-tree node(s), appended by the machine's node builder; NULL: none */
	void (*fdt_node)(const struct vm_device *d, struct vm_fdt *f);
};

#endif
