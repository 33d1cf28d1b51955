/* diskwrite.c - the guest of tests/vm/commit.sh (waits for input: not a run-guests.sh
 * program). Drives the first virtio-blk disk (legacy transport) by polling:
 *   1. writes pattern A to sectors 0..63 and 4096, prints "A written";
 *   2. after one byte on the UART (the host committed meanwhile, or not) reads them back and
 *      prints "A ok" (or "A BAD"), then writes pattern B to sector 100 (the same 64 KiB
 *      cluster as A: a fresh overlay copies the rest of the cluster from the image) and reads
 *      sector 0 again: "B written, A ok";
 *   3. waits (wfi) until the host ends it. */
#include "rvtest.h"

#define UART ((volatile uint8_t *)0x10000000UL)
#define MMIO_BASE 0x10001000UL
#define R_MAGIC 0x000
#define R_DEVICE 0x008
#define R_PAGESIZE 0x028
#define R_QSEL 0x030
#define R_QNUM 0x038
#define R_QALIGN 0x03c
#define R_QPFN 0x040
#define R_QNOTIFY 0x050
#define R_IACK 0x064
#define R_STATUS 0x070
#define QSIZE 8

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
static uint8_t ring[8192] __attribute__((aligned(4096)));
static uint8_t sector[512] __attribute__((aligned(512)));
static struct { uint32_t type, reserved; uint64_t sector; } hdr;
static volatile uint8_t status;
static uintptr_t base;
static uint16_t avail_idx;

static void wr(unsigned off, uint32_t v) { *(volatile uint32_t *)(base + off) = v; }

static int blk_setup(void)
{
	for (int i = 7; i >= 0 && !base; i--) {
		uintptr_t b = MMIO_BASE + 0x1000UL * (unsigned)i;
		if (*(volatile uint32_t *)(b + R_MAGIC) == 0x74726976 && *(volatile uint32_t *)(b + R_DEVICE) == 2)
			base = b;
	}
	if (!base)
		return -1;
	wr(R_STATUS, 0);
	wr(R_STATUS, 1 | 2);
	wr(R_PAGESIZE, 4096);
	wr(R_QSEL, 0);
	wr(R_QNUM, QSIZE);
	wr(R_QALIGN, 4096);
	wr(R_QPFN, (uint32_t)((uintptr_t)ring >> 12));
	wr(R_STATUS, 1 | 2 | 4);
	return 0;
}

/* One request on `sector` (type 0 read, 1 write); returns the device's status. */
static int blk_rw(uint32_t type, uint64_t n)
{
	struct desc *d = (struct desc *)ring;
	volatile uint16_t *avail = (volatile uint16_t *)(ring + QSIZE * 16);
	volatile uint16_t *used = (volatile uint16_t *)(ring + 4096);
	hdr.type = type, hdr.reserved = 0, hdr.sector = n;
	status = 0xff;
	d[0] = (struct desc){ (uintptr_t)&hdr, 16, 1, 1 };
	d[1] = (struct desc){ (uintptr_t)sector, 512, (uint16_t)(type ? 1 : 3), 2 };
	d[2] = (struct desc){ (uintptr_t)&status, 1, 2, 0 };
	avail[2 + avail_idx % QSIZE] = 0;
	__sync_synchronize();
	avail[1] = ++avail_idx;
	__sync_synchronize();
	wr(R_QNOTIFY, 0);
	for (long spin = 0; used[1] != avail_idx; spin++)
		if (spin > 100000000)
			return -1;
	wr(R_IACK, 1);
	return status;
}

static void fill(char tag, uint64_t n)
{
	for (int i = 0; i < 512; i++)
		sector[i] = (uint8_t)(i % 16 == 0 ? tag : 'a' + (n + (uint64_t)i) % 26);
}

static int check(char tag, uint64_t n)
{
	uint8_t want[512];
	if (blk_rw(0, n))
		return -1;
	for (int i = 0; i < 512; i++)
		want[i] = (uint8_t)(i % 16 == 0 ? tag : 'a' + (n + (uint64_t)i) % 26);
	for (int i = 0; i < 512; i++)
		if (sector[i] != want[i])
			return -1;
	return 0;
}

static void wait_byte(void)
{
	while (!(UART[5] & 1))
		;
	(void)UART[0];
}

int main(void)
{
	int bad = 0;
	if (blk_setup()) {
		rv_puts("no disk\n");
		return 1;
	}
	for (uint64_t n = 0; n < 64; n++) {
		fill('A', n);
		bad |= blk_rw(1, n);
	}
	fill('A', 4096);
	bad |= blk_rw(1, 4096);
	rv_puts(bad ? "A write failed\n" : "A written\n");
	wait_byte();
	for (uint64_t n = 0; n < 64; n++)
		bad |= check('A', n);
	bad |= check('A', 4096);
	rv_puts(bad ? "A BAD\n" : "A ok\n");
	fill('B', 100);
	bad |= blk_rw(1, 100);
	bad |= check('A', 0) | check('A', 63) | check('B', 100);
	rv_puts(bad ? "B BAD\n" : "B written, A ok\n");
	for (;;)
		__asm__ volatile("wfi");
}
