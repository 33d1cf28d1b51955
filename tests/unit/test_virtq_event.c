/* Unit test of emulator/devices/virtqueue.c's VIRTIO_RING_F_EVENT_IDX (virtio 1.1 section
 * 2.6.7): with it negotiated a used-buffer interrupt comes only when the used index passes the
 * driver's used_event, the device's avail_event asks for the next notification after a
 * driver-initiated pass and, on a device-filled queue, only when it ran short of buffers;
 * without it NO_INTERRUPT rules and avail_event is never written. A driver is played by
 * writing the rings into a small RAM. */
#include "emulator/bus/bus.h"
#include "emulator/devices/virtio_mmio.h"
#include "tests/unit/tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RAM 0x80000000ull
#define NUM 8
#define DESC (RAM + 0x1000)
#define AVAIL (RAM + 0x2000)
#define USED (RAM + 0x3000)
#define BUFS (RAM + 0x4000)

static struct vm_bus bus;
static struct vm_virtio_mmio *t;
static uint16_t avail_idx;

static uint8_t *at(uint64_t pa) { return vm_bus_ram(&bus, pa, 2); }
static uint16_t get16(uint64_t pa) { return (uint16_t)(at(pa)[0] | at(pa)[1] << 8); }
static void put16(uint64_t pa, uint16_t v) { at(pa)[0] = (uint8_t)v, at(pa)[1] = (uint8_t)(v >> 8); }

static int request(void *opaque, struct vm_virtio_mmio *tt, unsigned q, struct vm_virtq_chain *c)
{
	(void)opaque, (void)tt, (void)q;
	c->written = 0;
	return 0;
}

static const struct vm_virtio_dev dev = { .device_id = 1, .nqueues = 2, .request = request };

/* The driver makes `n` one-buffer chains available (writable when `wr`, 256 bytes each). */
static void offer(unsigned n, bool wr)
{
	for (unsigned i = 0; i < n; i++, avail_idx++) {
		unsigned d = avail_idx % NUM;
		uint8_t *e = vm_bus_ram(&bus, DESC + 16 * d, 16);
		memset(e, 0, 16);
		uint64_t a = BUFS + 256 * d;
		for (int b = 0; b < 8; b++)
			e[b] = (uint8_t)(a >> 8 * b);
		e[9] = 1; /* 256 bytes */
		e[12] = wr ? 2 : 0;
		put16(AVAIL + 4 + 2 * d, (uint16_t)d);
	}
	put16(AVAIL + 2, avail_idx);
}

static void setup(bool event_idx)
{
	memset(bus.ram, 0, 0x10000);
	memset(t, 0, sizeof(*t));
	t->bus = &bus;
	t->dev = &dev;
	t->status = VM_VIRTIO_STATUS_ACK | VM_VIRTIO_STATUS_DRIVER | VM_VIRTIO_STATUS_FEATURES_OK |
		    VM_VIRTIO_STATUS_DRIVER_OK;
	t->driver_features = (event_idx ? 1ull << VM_VIRTIO_RING_F_EVENT_IDX : 0) | 1ull << VM_VIRTIO_F_VERSION_1;
	t->vq[0] = (struct vm_virtq){ .num = NUM, .ready = true, .desc = DESC, .avail = AVAIL, .used = USED };
	avail_idx = 0;
}

#define USED_EVENT (AVAIL + 4 + 2 * NUM)
#define AVAIL_EVENT (USED + 4 + 8 * NUM)

static void driver_initiated(void)
{
	setup(true);
	offer(1, false);
	vm_virtq_process(t, 0);
	tap_ok(t->isr == 1 && get16(USED + 2) == 1, "EVENT_IDX: used_event 0, used 0->1: interrupt");
	tap_ok(get16(AVAIL_EVENT) == 1, "EVENT_IDX: avail_event asks for a notification at the next chain (1)");
	t->isr = 0;
	put16(USED_EVENT, 4); /* interrupt once used passes 4 */
	offer(2, false);
	vm_virtq_process(t, 0);
	tap_ok(t->isr == 0 && get16(USED + 2) == 3, "EVENT_IDX: used 1->3 short of used_event 4: no interrupt");
	offer(3, false);
	vm_virtq_process(t, 0);
	tap_ok(t->isr == 1 && get16(USED + 2) == 6 && get16(AVAIL_EVENT) == 6,
	       "EVENT_IDX: used 3->6 passes used_event 4: one interrupt; avail_event 6");
	t->isr = 0;
	put16(AVAIL, 1); /* NO_INTERRUPT is not the rule with EVENT_IDX */
	put16(USED_EVENT, 6);
	offer(1, false);
	vm_virtq_process(t, 0);
	tap_ok(t->isr == 1, "EVENT_IDX: the NO_INTERRUPT flag is ignored, used_event rules");
	tap_ok(!t->broken, "EVENT_IDX: device not broken");
}

static void device_initiated(void)
{
	setup(true);
	put16(AVAIL_EVENT, 0x1234); /* what a stale value looks like */
	offer(2, true);
	tap_ok(vm_virtq_has_room(t, 0, 512) && get16(AVAIL_EVENT) == 0x1234,
	       "EVENT_IDX receive queue: room enough, no notification asked for");
	tap_ok(!vm_virtq_has_room(t, 0, 513) && get16(AVAIL_EVENT) == 2,
	       "EVENT_IDX receive queue: short of room, avail_event = the driver's next chain (2)");
	put16(USED_EVENT, 0);
	struct vm_virtq_chain *c = vm_virtq_pop(t, 0);
	tap_ok(c && c->wr_len == 256, "EVENT_IDX receive queue: pop takes a buffer");
	c->written = 10;
	vm_virtq_push(t, 0, c);
	tap_ok(t->isr == 1, "EVENT_IDX receive queue: push 0->1 with used_event 0: interrupt");
	t->isr = 0;
	c = vm_virtq_pop(t, 0);
	vm_virtq_push(t, 0, c);
	tap_ok(t->isr == 0, "EVENT_IDX receive queue: push 1->2 with used_event 0: none");
	tap_ok(!vm_virtq_pop(t, 0) && get16(AVAIL_EVENT) == 2, "EVENT_IDX receive queue: empty, notification asked at 2");
}

static void without(void)
{
	setup(false);
	put16(AVAIL_EVENT, 0x1234);
	put16(USED_EVENT, 100);
	offer(1, false);
	vm_virtq_process(t, 0);
	tap_ok(t->isr == 1 && get16(AVAIL_EVENT) == 0x1234, "no EVENT_IDX: interrupt whatever used_event says; avail_event untouched");
	t->isr = 0;
	put16(AVAIL, 1);
	offer(1, false);
	vm_virtq_process(t, 0);
	tap_ok(t->isr == 0 && get16(USED + 2) == 2, "no EVENT_IDX: NO_INTERRUPT suppresses the interrupt");
	tap_ok(!vm_virtq_has_room(t, 0, 1) && get16(AVAIL_EVENT) == 0x1234, "no EVENT_IDX: has_room writes nothing");
}

int main(void)
{
	if (vm_bus_init(&bus, RAM, 0x10000))
		return 1;
	t = calloc(1, sizeof(*t)); /* the scratch chain makes it large */
	if (!t)
		return 1;
	driver_initiated();
	device_initiated();
	without();
	free(t);
	vm_bus_destroy(&bus);
	return tap_done();
}
