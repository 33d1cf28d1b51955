/* vdisk.h - a polled driver of the first virtio-blk disk (virtio-mmio, legacy transport) for the
 * bare-metal test guests (tests/vm/guest/diskwrite.c, killwrite.c, tests/riscv/savevm/counter.c):
 * one request at a time, waiting on the used ring. Defines its ring and state, so one file of
 * a program includes it. (tests/riscv/virtio/vblk.c is the other guest virtio-blk driver: it
 * tests the device itself, with interrupts and both transports.) */
#ifndef VDISK_H
#define VDISK_H

#include "rvtest.h"

#define VDISK_MMIO_BASE 0x10001000UL /* QEMU virt's first virtio-mmio slot; 8 of 0x1000 */
#define VDISK_QSIZE 8
enum { VDISK_T_IN = 0, VDISK_T_OUT = 1, VDISK_T_FLUSH = 4, VDISK_T_WRITE_ZEROES = 13 };
enum {
	VDISK_R_MAGIC = 0x000, VDISK_R_DEVICE = 0x008, VDISK_R_PAGESIZE = 0x028, VDISK_R_QSEL = 0x030,
	VDISK_R_QNUM = 0x038, VDISK_R_QALIGN = 0x03c, VDISK_R_QPFN = 0x040, VDISK_R_QNOTIFY = 0x050,
	VDISK_R_ISR = 0x060, VDISK_R_IACK = 0x064, VDISK_R_STATUS = 0x070, VDISK_R_CONFIG = 0x100,
};

struct vdisk_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
static uint8_t vdisk_ring[8192] __attribute__((aligned(4096)));
static struct { uint32_t type, reserved; uint64_t sector; } vdisk_hdr;
static volatile uint8_t vdisk_status;
static uintptr_t vdisk_base;
static uint16_t vdisk_avail_idx;

static inline uint32_t vdisk_rd(unsigned off) { return *(volatile uint32_t *)(vdisk_base + off); }
static inline void vdisk_wr(unsigned off, uint32_t v) { *(volatile uint32_t *)(vdisk_base + off) = v; }

/* Finds the highest-numbered virtio-blk slot (QEMU fills the last slot first, so that is the
 * first -device) and sets up queue 0. Returns -1 when there is none. */
static inline int vdisk_setup(void)
{
	for (int i = 7; i >= 0 && !vdisk_base; i--) {
		uintptr_t b = VDISK_MMIO_BASE + 0x1000UL * (unsigned)i;
		if (*(volatile uint32_t *)(b + VDISK_R_MAGIC) == 0x74726976 && *(volatile uint32_t *)(b + VDISK_R_DEVICE) == 2)
			vdisk_base = b;
	}
	if (!vdisk_base)
		return -1;
	vdisk_wr(VDISK_R_STATUS, 0);
	vdisk_wr(VDISK_R_STATUS, 1 | 2);
	vdisk_wr(VDISK_R_PAGESIZE, 4096);
	vdisk_wr(VDISK_R_QSEL, 0);
	vdisk_wr(VDISK_R_QNUM, VDISK_QSIZE);
	vdisk_wr(VDISK_R_QALIGN, 4096);
	vdisk_wr(VDISK_R_QPFN, (uint32_t)((uintptr_t)vdisk_ring >> 12));
	vdisk_wr(VDISK_R_STATUS, 1 | 2 | 4);
	return 0;
}

/* The disk's capacity in sectors (config space). */
static inline uint64_t vdisk_capacity(void)
{
	return vdisk_rd(VDISK_R_CONFIG) | (uint64_t)vdisk_rd(VDISK_R_CONFIG + 4) << 32;
}

/* One request: the header, len bytes at data when len > 0 (device-writable for VDISK_T_IN),
 * the status byte. Waits until the device has used it; returns the status byte. */
static inline int vdisk_req(uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	struct vdisk_desc *d = (struct vdisk_desc *)vdisk_ring;
	volatile uint16_t *avail = (volatile uint16_t *)(vdisk_ring + VDISK_QSIZE * 16);
	volatile uint16_t *used = (volatile uint16_t *)(vdisk_ring + 4096);
	vdisk_hdr.type = type, vdisk_hdr.reserved = 0, vdisk_hdr.sector = sector;
	vdisk_status = 0xff;
	if (len) {
		d[0] = (struct vdisk_desc){ (uintptr_t)&vdisk_hdr, 16, 1, 1 };
		d[1] = (struct vdisk_desc){ (uintptr_t)data, len, (uint16_t)(type == VDISK_T_IN ? 1 | 2 : 1), 2 };
	} else {
		d[0] = (struct vdisk_desc){ (uintptr_t)&vdisk_hdr, 16, 1, 2 };
	}
	d[2] = (struct vdisk_desc){ (uintptr_t)&vdisk_status, 1, 2, 0 };
	avail[2 + vdisk_avail_idx % VDISK_QSIZE] = 0;
	__sync_synchronize();
	avail[1] = ++vdisk_avail_idx;
	__sync_synchronize();
	vdisk_wr(VDISK_R_QNOTIFY, 0);
	while (used[1] != vdisk_avail_idx)
		;
	__sync_synchronize();
	vdisk_wr(VDISK_R_IACK, vdisk_rd(VDISK_R_ISR));
	return vdisk_status;
}

#endif
