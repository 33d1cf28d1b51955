/* virtio_input.c - the power button on virtio-input (virtio 1.1 section 5.8): the config
 * space the driver probes through select/subsel, and events pushed into the event queue's
 * buffers as the device produces them (vm_virtq_pop / vm_virtq_push). */
#include "emulator/devices/virtio_input.h"

#include <errno.h>
#include <string.h>

#define EVENTQ 0
#define STATUSQ 1
#define EVENT_SIZE 8

/* config selectors (section 5.8.2) */
#define CFG_UNSET 0x00
#define CFG_ID_NAME 0x01
#define CFG_ID_SERIAL 0x02
#define CFG_ID_DEVIDS 0x03
#define CFG_PROP_BITS 0x10
#define CFG_EV_BITS 0x11
#define CFG_ABS_INFO 0x12

#define C_SELECT 0
#define C_SUBSEL 1
#define C_SIZE 2
#define C_UNION 8

#define NAME "Power Button" /* what Linux's ACPI button calls it; udev/logind know the name */
#define SERIAL "strata-power0"
#define BUS_VIRTUAL 0x06

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }

static void set_bit(uint8_t *map, unsigned bit) { map[bit / 8] |= (uint8_t)(1u << (bit % 8)); }

/* Fills size and the union for the current select/subsel; size 0 answers "none". */
static void answer(struct vm_virtio_input *in)
{
	uint8_t sel = in->config[C_SELECT], sub = in->config[C_SUBSEL];
	uint8_t *u = in->config + C_UNION;
	unsigned size = 0;
	memset(u, 0, sizeof(in->config) - C_UNION);
	switch (sel) {
	case CFG_ID_NAME:
	case CFG_ID_SERIAL: {
		const char *s = sel == CFG_ID_NAME ? NAME : SERIAL;
		if (sub == 0)
			memcpy(u, s, size = (unsigned)strlen(s)); /* no NUL: size says where it ends */
		break;
	}
	case CFG_ID_DEVIDS:
		if (sub == 0) {
			put16(u, BUS_VIRTUAL), put16(u + 2, 0), put16(u + 4, 1), put16(u + 6, 1);
			size = 8; /* bustype, vendor, product, version */
		}
		break;
	case CFG_EV_BITS:
		if (sub == VM_INPUT_EV_KEY) {
			set_bit(u, VM_INPUT_KEY_POWER);
			size = VM_INPUT_KEY_POWER / 8 + 1;
		} else if (sub == VM_INPUT_EV_SYN) {
			set_bit(u, VM_INPUT_SYN_REPORT);
			size = 1;
		}
		break;
	default: /* UNSET, PROP_BITS (no properties), ABS_INFO (no axes), unknown */
		break;
	}
	in->config[C_SIZE] = (uint8_t)size;
}

/* Only select and subsel are writable; a wider write touching them sets them bytewise. */
static void config_write(void *opaque, uint32_t off, unsigned size, uint64_t val)
{
	struct vm_virtio_input *in = opaque;
	for (unsigned i = 0; i < size; i++)
		if (off + i == C_SELECT || off + i == C_SUBSEL)
			in->config[off + i] = (uint8_t)(val >> (8 * i));
	answer(in);
}

/* Moves queued events into posted buffers, one event per buffer. A buffer too small for an
 * event breaks the device (the driver MUST post at least 8 writable bytes, section 5.8.6.1). */
static void flush(struct vm_virtio_input *in, struct vm_virtio_mmio *t)
{
	struct vm_virtq_chain *c;
	while (in->count && (c = vm_virtq_pop(t, EVENTQ))) {
		const struct vm_input_event *e = &in->queued[in->first];
		uint8_t b[EVENT_SIZE] = { (uint8_t)e->type, (uint8_t)(e->type >> 8), (uint8_t)e->code,
					  (uint8_t)(e->code >> 8), (uint8_t)e->value, (uint8_t)(e->value >> 8),
					  (uint8_t)(e->value >> 16), (uint8_t)(e->value >> 24) };
		if (vm_virtq_write(t, c, 0, b, sizeof(b))) {
			vm_virtio_mmio_fail(t);
			in->dropped += in->count;
			in->count = 0;
			return;
		}
		c->written = sizeof(b);
		vm_virtq_push(t, EVENTQ, c);
		in->first = (in->first + 1) % VM_VIRTIO_INPUT_QUEUED;
		in->count--;
	}
}

int vm_virtio_input_send(struct vm_virtio_input *in, struct vm_virtio_mmio *t, const struct vm_input_event *ev,
			 unsigned n)
{
	if (!vm_virtio_mmio_live(t)) {
		in->dropped += n;
		return -EAGAIN; /* nobody listens yet: a press before the driver is lost, as on hardware */
	}
	if (n > VM_VIRTIO_INPUT_QUEUED - in->count) {
		in->dropped += n;
		return -ENOBUFS;
	}
	for (unsigned i = 0; i < n; i++)
		in->queued[(in->first + in->count++) % VM_VIRTIO_INPUT_QUEUED] = ev[i];
	flush(in, t);
	return 0;
}

int vm_virtio_input_key(struct vm_virtio_input *in, struct vm_virtio_mmio *t, uint16_t key)
{
	const struct vm_input_event ev[4] = {
		{ VM_INPUT_EV_KEY, key, 1 },
		{ VM_INPUT_EV_SYN, VM_INPUT_SYN_REPORT, 0 },
		{ VM_INPUT_EV_KEY, key, 0 },
		{ VM_INPUT_EV_SYN, VM_INPUT_SYN_REPORT, 0 },
	};
	return vm_virtio_input_send(in, t, ev, 4);
}

/* The driver posted buffers: event queue ones take waiting events, status ones are served. */
static void notify(void *opaque, struct vm_virtio_mmio *t, unsigned q)
{
	if (q == EVENTQ)
		flush(opaque, t);
	else
		vm_virtq_process(t, q);
}

/* Status queue (LEDs and the like): nothing here to drive, so consumed with nothing written. */
static int status_request(void *opaque, struct vm_virtio_mmio *t, unsigned q, struct vm_virtq_chain *c)
{
	(void)opaque, (void)t;
	c->written = 0;
	return q == STATUSQ ? 0 : -EINVAL;
}

static void reset(void *opaque)
{
	struct vm_virtio_input *in = opaque;
	in->first = in->count = 0;
	in->config[C_SELECT] = in->config[C_SUBSEL] = 0;
	answer(in);
}

void vm_virtio_input_init_power_button(struct vm_virtio_input *in)
{
	memset(in, 0, sizeof(*in));
	answer(in);
	in->dev = (struct vm_virtio_dev){
		.device_id = 18,
		.features = 1ull << VM_VIRTIO_F_INDIRECT_DESC,
		.config = in->config,
		.config_len = sizeof(in->config),
		.nqueues = 2,
		.modern_only = true,
		.request = status_request,
		.notify = notify,
		.config_write = config_write,
		.reset = reset,
		.opaque = in,
	};
}
