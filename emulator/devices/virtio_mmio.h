/* virtio_mmio.h - the virtio-mmio transport (virtio 1.1 section 4.2) with split virtqueues.
 * One struct vm_virtio_mmio is one 0x1000-byte slot of the board. A slot without a device
 * answers like QEMU's empty transport (magic, version, vendor; device ID 0). A device plugs
 * in a struct vm_virtio_dev: its ID, feature bits, config space and a request handler that
 * is handed one descriptor chain at a time (virtqueue.c walks and validates the chains).
 * Chains flow two ways: driver-initiated (the driver notifies, vm_virtq_process serves every
 * available chain through `request`) and device-initiated (receive queues: the device takes
 * a buffer with vm_virtq_pop when it has data, fills it and returns it with vm_virtq_push).
 *
 * Version 1 ("legacy", QEMU 7.2's default on virt: force-legacy=on) and version 2 ("modern")
 * register layouts are both served; `legacy` selects which one the slot shows. */
#ifndef STRATA_EMULATOR_DEVICES_VIRTIO_MMIO_H
#define STRATA_EMULATOR_DEVICES_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

struct vm_bus;

#define VM_VIRTIO_QUEUE_MAX 1024 /* QueueNumMax, as QEMU reports it */
#define VM_VIRTIO_CHAIN_MAX 1024 /* descriptors per request, indirect tables included */
#define VM_VIRTIO_MAX_QUEUES 8   /* virtqueues per device */

#define VM_VIRTIO_F_INDIRECT_DESC 28
#define VM_VIRTIO_RING_F_EVENT_IDX 29 /* used_event/avail_event (virtqueue.c); per device */
#define VM_VIRTIO_F_VERSION_1 32

#define VM_VIRTIO_STATUS_ACK 1
#define VM_VIRTIO_STATUS_DRIVER 2
#define VM_VIRTIO_STATUS_DRIVER_OK 4
#define VM_VIRTIO_STATUS_FEATURES_OK 8
#define VM_VIRTIO_STATUS_NEEDS_RESET 0x40

/* One guest buffer of a chain, already checked to lie in RAM. */
struct vm_virtq_seg {
	uint8_t *host;
	uint64_t pa;
	uint32_t len;
};

/* A descriptor chain: the device-readable buffers first, then the device-writable ones
 * (the spec's order; a chain breaking it is rejected). */
struct vm_virtq_chain {
	struct vm_virtq_seg seg[VM_VIRTIO_CHAIN_MAX];
	unsigned nrd, nwr;       /* seg[0..nrd) readable, seg[nrd..nrd+nwr) writable */
	uint64_t rd_len, wr_len; /* total bytes of each part */
	uint32_t written;        /* what the device reports in the used element */
	uint16_t head;           /* its first descriptor: the used element's id */
};

struct vm_virtio_mmio;

struct vm_virtio_dev {
	uint32_t device_id;
	uint64_t features;           /* device-specific and transport bits offered */
	const uint8_t *config;       /* device config space (little-endian) */
	uint32_t config_len;
	unsigned nqueues;            /* at most VM_VIRTIO_MAX_QUEUES */
	bool modern_only;            /* version 2 even on a force-legacy board (VERSION_1 needed) */
	/* Serves one chain from queue `q`; sets chain->written. 0, or -errno to mark the device
	 * broken (guest error the spec says to answer with NEEDS_RESET). */
	int (*request)(void *opaque, struct vm_virtio_mmio *t, unsigned q, struct vm_virtq_chain *chain);
	/* optional: QueueNotify of queue q instead of vm_virtq_process (a device-filled queue got
	 * buffers; the device calls vm_virtq_process itself for its other queues) */
	void (*notify)(void *opaque, struct vm_virtio_mmio *t, unsigned q);
	/* optional: a driver write of `size` bytes at `off` into the config space */
	void (*config_write)(void *opaque, uint32_t off, unsigned size, uint64_t val);
	/* optional: device reset (driver writes status 0, or system reset) */
	void (*reset)(void *opaque);
	void *opaque;
};

struct vm_virtq {
	uint32_t num;
	bool ready;
	uint64_t desc, avail, used;
	uint16_t last_avail;
	uint32_t pfn; /* legacy */
};

struct vm_virtio_mmio {
	struct vm_bus *bus;
	bool legacy;
	const struct vm_virtio_dev *dev; /* NULL: empty slot */
	/* called for every range of guest RAM the device writes (the CPU drops decoded code) */
	void (*dma_written)(void *opaque, uint64_t pa, uint64_t len);
	void *dma_opaque;

	uint32_t status, isr, dev_feat_sel, drv_feat_sel, queue_sel;
	uint32_t guest_page_size, queue_align; /* legacy */
	uint64_t driver_features;
	bool broken; /* a guest error stopped the device until reset */
	struct vm_virtq vq[VM_VIRTIO_MAX_QUEUES];
	struct vm_virtq_chain chain; /* scratch for the request being served (large) */
};

/* `legacy` is the board's choice; a modern_only device gets version 2 regardless. -EINVAL
 * when the device has more than VM_VIRTIO_MAX_QUEUES queues. */
int vm_virtio_mmio_init(struct vm_virtio_mmio *t, struct vm_bus *bus, uint64_t base, bool legacy,
			const struct vm_virtio_dev *dev);
/* System reset: as a driver reset, GuestPageSize included. */
void vm_virtio_mmio_power_reset(struct vm_virtio_mmio *t);
/* Level of the slot's interrupt line (InterruptStatus != 0). */
bool vm_virtio_mmio_irq(const struct vm_virtio_mmio *t);

/* Whether the driver has set DRIVER_OK and the device is not broken: it may use the queues. */
bool vm_virtio_mmio_live(const struct vm_virtio_mmio *t);

/* ---- virtqueue.c ---- */
/* Driver-initiated: serves every available chain of queue q through dev->request, publishes
 * the used elements, then interrupts once (unless the driver suppressed it). */
void vm_virtq_process(struct vm_virtio_mmio *t, unsigned q);
/* The same without the used buffer notification, which the device gives later with
 * vm_virtq_interrupt (virtio-net's transmit: one interrupt for a run of packets). The number
 * of chains served, or -1 when the device broke. */
int vm_virtq_process_quiet(struct vm_virtio_mmio *t, unsigned q);
/* The used index of queue q as published (-1: the queue is not ready). */
int vm_virtq_used_idx(struct vm_virtio_mmio *t, unsigned q);
/* Used buffer notification for the elements published since the used index was `since`,
 * unless the driver suppressed it (NO_INTERRUPT, or EVENT_IDX's used_event not passed). */
void vm_virtq_interrupt(struct vm_virtio_mmio *t, unsigned q, uint16_t since);
/* Device-initiated: takes the next available chain of queue q, validated as for
 * vm_virtq_process, into the transport's scratch chain. NULL when the queue is not ready or
 * empty, or the device is broken; a malformed ring or chain breaks the device (NULL too).
 * The chain stays the device's until vm_virtq_push; take one at a time. */
struct vm_virtq_chain *vm_virtq_pop(struct vm_virtio_mmio *t, unsigned q);
/* Device-initiated: whether the available chains of queue q, taken in order, offer at least
 * `bytes` device-writable bytes (a receive path asks before it pops: a frame is never cut for
 * want of buffers the driver will post later). Nothing is consumed; a malformed chain counts
 * as no room (vm_virtq_pop breaks the device on it). Uses the scratch chain: not while a
 * popped chain is held. */
bool vm_virtq_has_room(struct vm_virtio_mmio *t, unsigned q, uint64_t bytes);
/* Returns a popped chain to the driver as used (chain->written bytes) and interrupts unless
 * the driver set VRING_AVAIL_F_NO_INTERRUPT. */
void vm_virtq_push(struct vm_virtio_mmio *t, unsigned q, struct vm_virtq_chain *chain);
/* Copies from the readable part of a chain, starting `off` bytes into it. -EINVAL if short. */
int vm_virtq_read(const struct vm_virtq_chain *c, uint64_t off, void *buf, uint64_t len);
/* Copies into the writable part of a chain, `off` bytes into it. -EINVAL if short. */
int vm_virtq_write(struct vm_virtio_mmio *t, struct vm_virtq_chain *c, uint64_t off, const void *buf, uint64_t len);
/* Marks the device broken: legacy stops serving, modern also shows NEEDS_RESET and raises a
 * configuration-change interrupt (virtio 1.1 section 2.1.2). */
void vm_virtio_mmio_fail(struct vm_virtio_mmio *t);

#endif
