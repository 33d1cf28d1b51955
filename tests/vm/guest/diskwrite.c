/* diskwrite.c - the guest of tests/vm/commit.sh (waits for input: not a run-guests.sh
 * program). Drives the first virtio-blk disk by polling (vdisk.h):
 *   1. writes pattern A to sectors 0..63 and 4096, prints "A written";
 *   2. after one byte on the UART (the host committed meanwhile, or not) reads them back and
 *      prints "A ok" (or "A BAD"), then writes pattern B to sector 100 (the same 64 KiB
 *      cluster as A: a fresh overlay copies the rest of the cluster from the image) and reads
 *      sector 0 again: "B written, A ok";
 *   3. waits (wfi) until the host ends it. */
#include "vdisk.h"

#define UART ((volatile uint8_t *)0x10000000UL)
static uint8_t sector[512] __attribute__((aligned(512)));

static void fill(char tag, uint64_t n)
{
	for (int i = 0; i < 512; i++)
		sector[i] = (uint8_t)(i % 16 == 0 ? tag : 'a' + (n + (uint64_t)i) % 26);
}

static int check(char tag, uint64_t n)
{
	uint8_t want[512];
	if (vdisk_req(VDISK_T_IN, n, sector, 512))
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
	if (vdisk_setup()) {
		rv_puts("no disk\n");
		return 1;
	}
	for (uint64_t n = 0; n < 64; n++) {
		fill('A', n);
		bad |= vdisk_req(VDISK_T_OUT, n, sector, 512);
	}
	fill('A', 4096);
	bad |= vdisk_req(VDISK_T_OUT, 4096, sector, 512);
	rv_puts(bad ? "A write failed\n" : "A written\n");
	wait_byte();
	for (uint64_t n = 0; n < 64; n++)
		bad |= check('A', n);
	bad |= check('A', 4096);
	rv_puts(bad ? "A BAD\n" : "A ok\n");
	fill('B', 100);
	bad |= vdisk_req(VDISK_T_OUT, 100, sector, 512);
	bad |= check('A', 0) | check('A', 63) | check('B', 100);
	rv_puts(bad ? "B BAD\n" : "B written, A ok\n");
	for (;;)
		__asm__ volatile("wfi");
}
