/* vblk.c - a minimal bare-metal virtio-blk driver over virtio-mmio, shared by the programs of
 * this directory. It probes the eight virt slots, negotiates features (legacy version 1 or
 * modern version 2, whichever the transport reports), sets up queue 0 and runs a fixed list
 * of requests, printing raw results so strata-vm's output can be compared with QEMU's.
 * Completion is polled on the used ring; the PLIC claim then shows the interrupt was raised. */
#include "vblk.h"
#include "rvtest.h"

#define MMIO_BASE 0x10001000UL
#define MMIO_STRIDE 0x1000UL
#define PLIC_BASE 0x0c000000UL
#define QSIZE 8

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE 0x008
#define R_VENDOR 0x00c
#define R_DEVFEAT 0x010
#define R_DEVFEATSEL 0x014
#define R_DRVFEAT 0x020
#define R_DRVFEATSEL 0x024
#define R_PAGESIZE 0x028 /* legacy */
#define R_QSEL 0x030
#define R_QNUMMAX 0x034
#define R_QNUM 0x038
#define R_QALIGN 0x03c /* legacy */
#define R_QPFN 0x040   /* legacy */
#define R_QREADY 0x044
#define R_QNOTIFY 0x050
#define R_ISR 0x060
#define R_IACK 0x064
#define R_STATUS 0x070
#define R_QDESC 0x080
#define R_QDRIVER 0x090
#define R_QDEVICE 0x0a0
#define R_CONFIG 0x100

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WZ 13

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
struct req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};
struct seg {
	uint64_t sector;
	uint32_t num, flags;
};

/* ring memory laid out as a legacy queue with 4096-byte alignment (also valid for modern) */
static uint8_t ring[8192] __attribute__((aligned(4096)));
static struct desc indirect[4] __attribute__((aligned(16)));
static struct req_hdr hdr;
static struct seg segs[1];
static uint8_t status_byte;
static uint8_t data[4096] __attribute__((aligned(512)));
static uint16_t avail_idx, used_seen;
static uintptr_t base;
static unsigned irq;

static uint32_t rd(unsigned off) { return *(volatile uint32_t *)(base + off); }
static void wr(unsigned off, uint32_t v) { *(volatile uint32_t *)(base + off) = v; }
static uint8_t cfg8(unsigned off) { return *(volatile uint8_t *)(base + R_CONFIG + off); }
static uint32_t cfg32(unsigned off) { return *(volatile uint32_t *)(base + R_CONFIG + off); }

static struct desc *descs(void) { return (struct desc *)ring; }
static volatile uint16_t *avail(void) { return (volatile uint16_t *)(ring + QSIZE * 16); }
static volatile uint16_t *used(void) { return (volatile uint16_t *)(ring + 4096); }

static void plic_setup(void)
{
	*(volatile uint32_t *)(PLIC_BASE + 4 * irq) = 1;
	*(volatile uint32_t *)(PLIC_BASE + 0x2000) = 1u << irq;
	*(volatile uint32_t *)(PLIC_BASE + 0x200000) = 0;
}

/* Claims and completes the PLIC interrupt; returns the claimed source (0 if none). */
static uint32_t plic_claim(void)
{
	volatile uint32_t *claim = (volatile uint32_t *)(PLIC_BASE + 0x200004);
	uint32_t id = *claim;
	if (id)
		*claim = id;
	return id;
}

static void put_kv(const char *k, uint64_t v)
{
	rv_puts(k);
	rv_puts("=");
	rv_puthex64(v);
	rv_puts("\n");
}

/* Publishes descriptor chain `head`, notifies, polls for completion (bounded) and prints
 * the used element and the interrupt state. Returns the status byte (0xee: no completion). */
static int submit_wait(uint16_t head, const char *what, uint64_t ticks)
{
	__asm__ volatile("fence rw, rw" ::: "memory");
	avail()[2 + (avail_idx % QSIZE)] = head;
	__asm__ volatile("fence rw, rw" ::: "memory");
	avail()[1] = ++avail_idx;
	__asm__ volatile("fence rw, rw" ::: "memory");
	wr(R_QNOTIFY, 0);
	uint64_t t0 = RV_CSR_READ(time);
	while (used()[1] == used_seen && RV_CSR_READ(time) - t0 < ticks)
		;
	__asm__ volatile("fence rw, rw" ::: "memory");
	if (!what)
		return 0; /* outcome not printed (differs by design) */
	rv_puts(what);
	if (used()[1] == used_seen) {
		rv_puts(": no completion status=");
		rv_puthex32(rd(R_STATUS));
		rv_puts("\n");
		return 0xee;
	}
	volatile uint32_t *elem = (volatile uint32_t *)(ring + 4096 + 4 + 8 * (used_seen % QSIZE));
	used_seen++;
	uint32_t isr = rd(R_ISR);
	wr(R_IACK, isr);
	rv_puts(": id=");
	rv_putdec(elem[0]);
	rv_puts(" len=");
	rv_putdec(elem[1]);
	rv_puts(" status=");
	rv_putdec(status_byte);
	rv_puts(" isr=");
	rv_putdec(isr);
	rv_puts(" plic=");
	rv_putdec(plic_claim() == irq);
	rv_puts("\n");
	return status_byte;
}

/* QEMU completes on its I/O thread: allow a flush up to 5 s of mtime (10 MHz) */
static int submit(uint16_t head, const char *what)
{
	return submit_wait(head, what, 50000000);
}

static void set_desc(unsigned i, void *addr, uint32_t len, uint16_t flags, uint16_t next)
{
	descs()[i] = (struct desc){ (uint64_t)(uintptr_t)addr, len, flags, next };
}

/* header, optional data, status: three descriptors (0, 1, 2) or two without data */
static int request(uint32_t type, uint64_t sector, void *buf, uint32_t len, int dev_writes, const char *what)
{
	hdr = (struct req_hdr){ type, 0, sector };
	status_byte = 0xff;
	if (len) {
		set_desc(0, &hdr, sizeof(hdr), 1, 1);
		set_desc(1, buf, len, 1 | (dev_writes ? 2 : 0), 2);
	} else {
		set_desc(0, &hdr, sizeof(hdr), 1, 2);
	}
	set_desc(2, &status_byte, 1, 2, 0);
	return submit(0, what);
}

static uint32_t sum(const uint8_t *p, unsigned n)
{
	uint32_t h = 2166136261u;
	for (unsigned i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void fill(uint8_t seed)
{
	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(seed + i * 7 + (i >> 9));
}

/* Resets the device and brings it up with queue 0 on `ring`: the driver side of
 * virtio 1.1 section 3.1 (legacy: 4.2.4). Returns the RO feature bit. */
static int setup(uint32_t version, int verbose)
{
	memset(ring, 0, sizeof(ring));
	avail_idx = used_seen = 0;
	wr(R_STATUS, 0);
	wr(R_STATUS, 1);
	wr(R_STATUS, 1 | 2);
	wr(R_DEVFEATSEL, 0);
	uint32_t f0 = rd(R_DEVFEAT);
	wr(R_DEVFEATSEL, 1);
	uint32_t f1 = rd(R_DEVFEAT);
	/* only the bits this driver knows: SEG_MAX 2, RO 5, BLK_SIZE 6, FLUSH 9, DISCARD 13,
	 * WRITE_ZEROES 14, INDIRECT_DESC 28; VERSION_1 (32) */
	uint32_t known0 = (1u << 2) | (1u << 5) | (1u << 6) | (1u << 9) | (1u << 13) | (1u << 14) | (1u << 28);
	if (verbose)
		put_kv("features0", f0 & known0);
	if (verbose)
		put_kv("features1", f1 & 1);
	wr(R_DRVFEATSEL, 0);
	wr(R_DRVFEAT, f0 & known0);
	wr(R_DRVFEATSEL, 1);
	wr(R_DRVFEAT, version == 2 ? 1 : 0);
	if (version == 2) {
		wr(R_STATUS, 1 | 2 | 8);
		if (verbose)
			put_kv("features_ok", (rd(R_STATUS) >> 3) & 1);
	} else {
		wr(R_PAGESIZE, 4096);
	}
	wr(R_QSEL, 0);
	if (verbose)
		put_kv("queue_num_max", rd(R_QNUMMAX));
	wr(R_QSEL, 1);
	if (verbose)
		put_kv("queue1_num_max", rd(R_QNUMMAX));
	wr(R_QSEL, 0);
	wr(R_QNUM, QSIZE);
	if (version == 2) {
		uint64_t a = (uintptr_t)ring;
		wr(R_QDESC, (uint32_t)a), wr(R_QDESC + 4, (uint32_t)(a >> 32));
		a += QSIZE * 16;
		wr(R_QDRIVER, (uint32_t)a), wr(R_QDRIVER + 4, (uint32_t)(a >> 32));
		a = (uintptr_t)ring + 4096;
		wr(R_QDEVICE, (uint32_t)a), wr(R_QDEVICE + 4, (uint32_t)(a >> 32));
		wr(R_QREADY, 1);
		if (verbose)
			put_kv("queue_ready", rd(R_QREADY));
	} else {
		wr(R_QALIGN, 4096);
		wr(R_QPFN, (uint32_t)((uintptr_t)ring >> 12));
		if (verbose)
			put_kv("queue_pfn_set", rd(R_QPFN) == (uint32_t)((uintptr_t)ring >> 12));
	}
	wr(R_STATUS, rd(R_STATUS) | 4);
	if (verbose)
		put_kv("status", rd(R_STATUS));

	return (f0 >> 5) & 1;
}

/* Prints every slot (when verbose) and returns the first virtio-blk one, or -1. */
static int probe(int verbose)
{
	int slot = -1;
	for (int i = 0; i < 8; i++) {
		base = MMIO_BASE + MMIO_STRIDE * (uintptr_t)i;
		if (verbose) {
			rv_puts("slot ");
			rv_putdec(i);
			rv_puts(": magic=");
			rv_puthex32(rd(R_MAGIC));
			rv_puts(" version=");
			rv_putdec(rd(R_VERSION));
			rv_puts(" device=");
			rv_putdec(rd(R_DEVICE));
			rv_puts(" vendor=");
			rv_puthex32(rd(R_VENDOR));
			rv_puts("\n");
		}
		if (rd(R_DEVICE) == 2 && slot < 0)
			slot = i;
	}
	return slot;
}

int vblk_run(void)
{
	int slot = probe(1);
	if (slot < 0) {
		rv_puts("no virtio-blk device\n");
		return 1;
	}
	base = MMIO_BASE + MMIO_STRIDE * (uintptr_t)slot;
	irq = (unsigned)slot + 1;
	uint32_t version = rd(R_VERSION);
	plic_setup();

	int ro = setup(version, 1);

	uint64_t cap = cfg32(0) | (uint64_t)cfg32(4) << 32;
	put_kv("capacity", cap);
	put_kv("seg_max", cfg32(12));
	put_kv("blk_size", cfg32(20));
	put_kv("max_discard_sectors", cfg32(36));
	put_kv("max_discard_seg", cfg32(40));
	put_kv("discard_sector_alignment", cfg32(44));
	put_kv("max_write_zeroes_sectors", cfg32(48));
	put_kv("max_write_zeroes_seg", cfg32(52));
	put_kv("write_zeroes_may_unmap", cfg8(56));

	/* reads of what the host put on the disk (sector s holds bytes derived from s) */
	static const uint64_t sectors[] = { 0, 1, 7, 100, 2047 };
	for (unsigned i = 0; i < sizeof(sectors) / sizeof(sectors[0]); i++) {
		memset(data, 0xaa, 512);
		request(T_IN, sectors[i], data, 512, 1, "read");
		put_kv("  sum", sum(data, 512));
	}
	/* a pattern written, flushed and read back, 4 KiB at sector 64 */
	fill(0x31);
	uint32_t want = sum(data, sizeof(data));
	int wst = request(T_OUT, 64, data, sizeof(data), 0, "write");
	request(T_FLUSH, 0, 0, 0, 0, "flush");
	memset(data, 0, sizeof(data));
	request(T_IN, 64, data, sizeof(data), 1, "readback");
	put_kv("  matches", sum(data, sizeof(data)) == want);
	rv_check("write result follows read-only", ro ? wst == 1 : wst == 0);

	/* the same read through an indirect table: header, data, status */
	memset(data, 0, sizeof(data));
	hdr = (struct req_hdr){ T_IN, 0, 64 };
	status_byte = 0xff;
	indirect[0] = (struct desc){ (uintptr_t)&hdr, sizeof(hdr), 1, 1 };
	indirect[1] = (struct desc){ (uintptr_t)data, 2048, 1 | 2, 2 };
	indirect[2] = (struct desc){ (uintptr_t)(data + 2048), 2048, 1 | 2, 3 };
	indirect[3] = (struct desc){ (uintptr_t)&status_byte, 1, 2, 0 };
	set_desc(5, indirect, sizeof(indirect), 4, 0);
	submit(5, "indirect read");
	put_kv("  matches", sum(data, sizeof(data)) == want);

	/* write zeroes over half of it, discard (the drive ignores it, as -drive's default) */
	segs[0] = (struct seg){ 64, 4, 0 };
	request(T_WZ, 0, segs, sizeof(segs), 0, "write zeroes");
	segs[0] = (struct seg){ 72, 2, 0 };
	request(T_DISCARD, 0, segs, sizeof(segs), 0, "discard");
	request(T_IN, 64, data, sizeof(data), 1, "read");
	put_kv("  sum", sum(data, sizeof(data)));

	/* identification string, an unknown type, the edge of the disk */
	memset(data, 0x55, 32);
	request(T_GET_ID, 0, data, 20, 1, "get id");
	put_kv("  sum", sum(data, 32));
	request(0x77, 0, data, 512, 1, "unknown type");
	request(T_IN, cap - 1, data, 512, 1, "read last");
	request(T_IN, cap, data, 512, 1, "read past end");
	request(T_IN, cap - 1, data, 1024, 1, "read across end");
	request(T_OUT, cap, data, 512, 0, "write past end");

	/* a descriptor loop: the device must neither hang nor crash */
	hdr = (struct req_hdr){ T_IN, 0, 0 };
	set_desc(0, &hdr, sizeof(hdr), 1, 1);
	set_desc(1, data, 512, 1 | 2, 0);
	submit_wait(0, "loop", 1000000); /* rejected at once on both: 0.1 s is plenty */
	put_kv("needs_reset", (rd(R_STATUS) >> 6) & 1);
	wr(R_STATUS, 0);
	put_kv("status after reset", rd(R_STATUS));

	/* A buffer outside RAM, then a fresh start. The outcome is not printed: QEMU completes
	 * the request (DMA to non-RAM is dropped), strata-vm refuses the chain (NEEDS_RESET). */
	setup(version, 0);
	hdr = (struct req_hdr){ T_IN, 0, 0 };
	status_byte = 0xff;
	set_desc(0, &hdr, sizeof(hdr), 1, 1);
	set_desc(1, (void *)0x40000000UL, 512, 1 | 2, 2);
	set_desc(2, &status_byte, 1, 2, 0);
	submit_wait(0, NULL, 1000000);
	rv_puts("outside RAM: survived\n");
	setup(version, 0);
	memset(data, 0, 512);
	request(T_IN, 0, data, 512, 1, "read after reset");
	put_kv("  sum", sum(data, 512));
	return rv_failures();
}

/* ---- random chains ---- */

static uint8_t scratch[16384] __attribute__((aligned(4096)));
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return (uint32_t)(rng >> 11) % n;
}

/* A guest address for a buffer: mostly inside scratch (so nothing else of this program can
 * be overwritten, whatever the device does), sometimes outside RAM or across its end. */
static uint64_t rnd_addr(uint32_t len)
{
	switch (rnd(10)) {
	case 0: return 0;
	case 1: return 0x100000000ull + rnd(4096);
	case 2: return 0x88000000ull - 256; /* crosses the end of 128 MiB of RAM */
	default: return (uintptr_t)scratch + rnd((uint32_t)sizeof(scratch) - len + 1);
	}
}

static void rnd_desc(struct desc *d, unsigned n)
{
	static const uint32_t lens[] = { 0, 1, 15, 16, 17, 512, 513, 1024, 4096 };
	uint32_t len = lens[rnd(9)];
	uint16_t flags = (uint16_t)((rnd(2) ? 1 : 0) | (rnd(2) ? 2 : 0) | (rnd(10) == 0 ? 4 : 0));
	*d = (struct desc){ rnd_addr(len), len, flags, (uint16_t)rnd(n + 2) };
}

int vblk_fuzz(unsigned rounds)
{
	int slot = probe(0);
	if (slot < 0) {
		rv_puts("no virtio-blk device\n");
		return 1;
	}
	base = MMIO_BASE + MMIO_STRIDE * (uintptr_t)slot;
	irq = (unsigned)slot + 1;
	uint32_t version = rd(R_VERSION);
	plic_setup();
	for (unsigned r = 0; r < rounds; r++) {
		if (r % 2 == 0)
			setup(version, 0); /* the device may have given up on the last chain */
		/* headers of every type at the start of scratch, random descriptors around them */
		static const uint32_t types[] = { T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WZ, 0x77 };
		for (unsigned k = 0; k < 8; k++) {
			struct req_hdr *h = (struct req_hdr *)(scratch + 16 * k);
			*h = (struct req_hdr){ types[rnd(7)], 0, rnd(4) ? rnd(4096) : ~0ull - rnd(4) };
		}
		for (unsigned k = 0; k < QSIZE; k++)
			rnd_desc(&descs()[k], QSIZE);
		if (rnd(2)) /* a plausible start: a header */
			descs()[0] = (struct desc){ (uintptr_t)scratch + 16 * rnd(8), 16, 1, (uint16_t)rnd(QSIZE) };
		if (rnd(4) == 0) { /* an indirect table in scratch */
			struct desc *t = (struct desc *)(scratch + 8192);
			unsigned n = 1 + rnd(8);
			for (unsigned k = 0; k < n; k++)
				rnd_desc(&t[k], n);
			descs()[rnd(QSIZE)] = (struct desc){ (uintptr_t)t, 16 * n, 4, 0 };
		}
		__asm__ volatile("fence rw, rw" ::: "memory");
		avail()[2 + (avail_idx % QSIZE)] = (uint16_t)rnd(QSIZE + 2);
		__asm__ volatile("fence rw, rw" ::: "memory");
		avail_idx = (uint16_t)(avail_idx + (rnd(8) ? 1 : rnd(20)));
		avail()[1] = avail_idx;
		__asm__ volatile("fence rw, rw" ::: "memory");
		wr(R_QNOTIFY, 0);
		uint64_t t0 = RV_CSR_READ(time);
		while (RV_CSR_READ(time) - t0 < 20000)
			;
	}
	rv_puts("random rounds: ");
	rv_putdec(rounds);
	rv_puts("\n");
	setup(version, 0);
	memset(data, 0, 512);
	request(T_IN, 7, data, 512, 1, "read after them");
	put_kv("  sum", sum(data, 512));
	return rv_failures();
}

/* ---- sequential read (also the bench/virtio.sh workload) ---- */

static uint8_t big[65536] __attribute__((aligned(4096)));

int vblk_seqread(void)
{
	int slot = probe(0);
	if (slot < 0) {
		rv_puts("no virtio-blk device\n");
		return 1;
	}
	base = MMIO_BASE + MMIO_STRIDE * (uintptr_t)slot;
	irq = (unsigned)slot + 1;
	plic_setup();
	setup(rd(R_VERSION), 0);
	uint64_t cap = cfg32(0) | (uint64_t)cfg32(4) << 32, fold = 0, reqs = 0;
	for (uint64_t s = 0; s < cap; s += sizeof(big) / 512) {
		uint64_t n = cap - s < sizeof(big) / 512 ? cap - s : sizeof(big) / 512;
		hdr = (struct req_hdr){ T_IN, 0, s };
		status_byte = 0xff;
		set_desc(0, &hdr, sizeof(hdr), 1, 1);
		set_desc(1, big, (uint32_t)(n * 512), 1 | 2, 2);
		set_desc(2, &status_byte, 1, 2, 0);
		avail()[2 + (avail_idx % QSIZE)] = 0;
		__asm__ volatile("fence rw, rw" ::: "memory");
		avail()[1] = ++avail_idx;
		__asm__ volatile("fence rw, rw" ::: "memory");
		wr(R_QNOTIFY, 0);
		while (used()[1] == used_seen)
			;
		used_seen++;
		wr(R_IACK, rd(R_ISR));
		plic_claim();
		if (status_byte != 0)
			break;
		/* one word per sector: the I/O path is what is measured */
		for (uint64_t k = 0; k < n; k++)
			fold = (fold << 1 | fold >> 63) ^ *(volatile uint64_t *)(big + 512 * k + 8 * (k % 64));
		reqs++;
	}
	put_kv("requests", reqs);
	put_kv("status", status_byte);
	put_kv("fold", fold);
	return status_byte != 0;
}
