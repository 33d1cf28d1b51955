/* virtio_blk.h - a virtio block device (virtio 1.1 section 5.2) whose storage is a
 * libblockcore image. Requests are served synchronously when the driver notifies. */
#ifndef STRATA_EMULATOR_DEVICES_VIRTIO_BLK_H
#define STRATA_EMULATOR_DEVICES_VIRTIO_BLK_H

#include "emulator/devices/virtio_mmio.h"

#include <stdbool.h>
#include <stdint.h>

struct bc_image;

struct vm_virtio_blk {
	struct bc_image *img; /* not owned */
	bool ro;
	bool discard;          /* -drive discard=unmap: pass discards to the image (else ignored) */
	bool writethrough;     /* cache=writethrough/directsync: flush after every write */
	uint64_t sectors;
	uint8_t config[60];
	uint8_t *bounce;
	struct vm_virtio_dev dev;
	/* completed requests, for the monitor's info blockstats / query-blockstats */
	uint64_t rd_bytes, wr_bytes, rd_ops, wr_ops, flush_ops;
};

int vm_virtio_blk_init(struct vm_virtio_blk *b, struct bc_image *img, bool ro, bool discard, bool writethrough);
void vm_virtio_blk_destroy(struct vm_virtio_blk *b);

#endif
