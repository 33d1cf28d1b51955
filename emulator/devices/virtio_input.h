/* virtio_input.h - a virtio input device (virtio 1.1 section 5.8, device ID 18) made a power
 * button: it reports EV_KEY with the one key KEY_POWER (and EV_SYN), so Linux's virtio_input
 * driver registers an input device "Power Button" that logind (or a script reading
 * /dev/input/eventN) acts on. Events are device-initiated: they wait in a small
 * queue and go into the buffers the driver posted on the event queue (queue 0) as soon as
 * there are any; the status queue (queue 1, LED and similar driver-to-device events) is
 * consumed and ignored. Linux's driver needs VIRTIO_F_VERSION_1, so the device is modern_only
 * (version 2 transport on any board). */
#ifndef STRATA_EMULATOR_DEVICES_VIRTIO_INPUT_H
#define STRATA_EMULATOR_DEVICES_VIRTIO_INPUT_H

#include "emulator/devices/virtio_mmio.h"

#include <stdint.h>

#define VM_INPUT_EV_SYN 0
#define VM_INPUT_EV_KEY 1
#define VM_INPUT_SYN_REPORT 0
#define VM_INPUT_KEY_POWER 116
#define VM_VIRTIO_INPUT_QUEUED 64 /* events waiting for driver buffers */

/* struct virtio_input_event (little-endian on the wire) */
struct vm_input_event {
	uint16_t type, code;
	uint32_t value;
};

struct vm_virtio_input {
	uint8_t config[136]; /* struct virtio_input_config: select, subsel, size, union */
	struct vm_input_event queued[VM_VIRTIO_INPUT_QUEUED];
	unsigned first, count; /* ring of events not yet delivered */
	uint64_t dropped;      /* events dropped: driver not ready, or queue full */
	struct vm_virtio_dev dev;
};

void vm_virtio_input_init_power_button(struct vm_virtio_input *in);
/* Queues the n events as one batch and delivers what the driver has buffers for. Dropped (as
 * a whole, -EAGAIN) while the driver has not set DRIVER_OK or the device is broken, and
 * (-ENOBUFS) when the batch does not fit in the queue. */
int vm_virtio_input_send(struct vm_virtio_input *in, struct vm_virtio_mmio *t, const struct vm_input_event *ev,
			 unsigned n);
/* A key pressed and released: press, SYN_REPORT, release, SYN_REPORT. */
int vm_virtio_input_key(struct vm_virtio_input *in, struct vm_virtio_mmio *t, uint16_t key);

#endif
