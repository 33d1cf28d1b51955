/* killwrite.c - the guest of tests/vm/crash-kill-vm.sh: writes to the first virtio-blk disk
 * (polled, vdisk.h) without end, for the host to SIGKILL strata-vm at any moment and
 * then check the image. It first reads one line from the UART: "RUN HOT FLUSH GROW STRIDE"
 * (decimal numbers).
 *   - Operation SEQ (1, 2, ...) of run RUN is a pure function of (RUN, SEQ), which the host
 *     computes the same way (tests/vm/crash_kill_vm.py, op()): a write of 1-128 sectors, or
 *     now and then a WRITE_ZEROES. Half of them fall inside the first HOT sectors (overwrites
 *     of clusters already allocated), a quarter anywhere, a quarter at sector GROW + SEQ *
 *     STRIDE (modulo the disk): a frontier of fresh clusters, so the image keeps growing and
 *     L2 tables and refcount blocks are being written whenever the kill lands.
 *   - Every sector written holds a 32-byte record repeated 16 times: magic, RUN, SEQ, the
 *     sector number and a check word, so the host knows which write a sector came from.
 *   - FLUSH > 0: a VIRTIO_BLK_T_FLUSH after every FLUSH operations, then "F SEQ" once it has
 *     completed. FLUSH = 0 (for cache=writethrough): "A SEQ" after each operation completes.
 * Prints "R RUN" when the device is ready, "E SEQ STATUS" (and stops) if a request fails. */
#include "vdisk.h"

#define UART ((volatile uint8_t *)0x10000000UL)
#define MAX_SECTORS 128

#define MAGIC 0x4c494b53u /* "SKIL" */

static uint8_t buf[MAX_SECTORS * 512] __attribute__((aligned(4096)));
static struct { uint64_t sector; uint32_t num, flags; } seg;

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

struct op {
	int zero;
	uint64_t sector;
	uint32_t n;
};

/* The operation SEQ of run RUN on a disk of CAP sectors (the host's op() is the same). */
static struct op make_op(uint32_t run, uint32_t seq, uint64_t cap, uint64_t hot, uint64_t grow, uint64_t stride)
{
	uint64_t h = mix((uint64_t)run << 32 | seq), h2 = mix(h);
	struct op o;
	uint32_t sel = (uint32_t)(h >> 8) % 16;
	o.n = sel == 0 ? MAX_SECTORS : sel < 4 ? 8 : 1 + (uint32_t)(h & 31);
	uint32_t where = (uint32_t)(h >> 16) % 4;
	if (where == 3) {
		o.sector = (grow + seq * stride) % cap;
		if (o.sector + o.n > cap)
			o.sector = cap - o.n;
	} else {
		o.sector = h2 % ((where < 2 ? hot : cap) - o.n + 1);
		if (sel != 0 && sel < 4)
			o.sector &= ~7ull;
	}
	o.zero = (h >> 24) % 16 == 0;
	return o;
}

static void fill(uint32_t run, uint32_t seq, uint64_t sector, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		uint32_t *r = (uint32_t *)(buf + 512 * k);
		uint64_t s = sector + k, c = mix((uint64_t)run << 32 ^ (uint64_t)seq << 8 ^ s);
		uint32_t rec[8] = { MAGIC, run, seq, 0, (uint32_t)s, (uint32_t)(s >> 32), (uint32_t)c, (uint32_t)(c >> 32) };
		for (int i = 0; i < 128; i++)
			r[i] = rec[i % 8];
	}
}

static uint64_t read_num(void)
{
	uint64_t v = 0;
	int c;
	do {
		while (!(UART[5] & 1))
			;
		c = UART[0];
	} while (c < '0' || c > '9');
	while (c >= '0' && c <= '9') {
		v = v * 10 + (uint64_t)(c - '0');
		while (!(UART[5] & 1))
			;
		c = UART[0];
	}
	return v;
}

static void report(char tag, uint32_t a, int b)
{
	rv_putc(tag);
	rv_putc(' ');
	rv_putdec(a);
	if (b >= 0) {
		rv_putc(' ');
		rv_putdec(b);
	}
	rv_putc('\n');
}

int main(void)
{
	if (vdisk_setup()) {
		rv_puts("no disk\n");
		return 1;
	}
	uint64_t cap = vdisk_capacity();
	uint32_t run = (uint32_t)read_num();
	uint64_t hot = read_num();
	uint32_t flush = (uint32_t)read_num();
	uint64_t grow = read_num(), stride = read_num();
	if (hot < MAX_SECTORS || hot > cap)
		hot = cap;
	report('R', run, -1);
	for (uint32_t seq = 1;; seq++) {
		struct op o = make_op(run, seq, cap, hot, grow, stride);
		int st;
		if (o.zero) {
			seg.sector = o.sector, seg.num = o.n, seg.flags = 0;
			st = vdisk_req(VDISK_T_WRITE_ZEROES, 0, &seg, sizeof(seg));
		} else {
			fill(run, seq, o.sector, o.n);
			st = vdisk_req(VDISK_T_OUT, o.sector, buf, o.n * 512);
		}
		if (!st && flush && seq % flush == 0)
			st = vdisk_req(VDISK_T_FLUSH, 0, 0, 0);
		if (st) {
			report('E', seq, st);
			for (;;)
				__asm__ volatile("wfi");
		}
		if (!flush)
			report('A', seq, -1);
		else if (seq % flush == 0)
			report('F', seq, -1);
	}
}
