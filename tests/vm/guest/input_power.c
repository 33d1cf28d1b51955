/* input_power.c - a bare-metal driver for strata-vm's virtio-input power button (QEMU's virt
 * has none, so tests/vm/powerbutton.sh runs this on strata-vm alone and presses the button
 * from the host side when the program prints "waiting N").
 *   1. probe: the slot, its version (2 on a force-legacy board too), features, the config
 *      space (name, serial, ids, property/event bitmaps); a status-queue event is consumed;
 *      three event buffers (one through an indirect table) take the first three events of a
 *      press, the fourth waits in the device until a fourth buffer is posted
 *   2. a descriptor that loops: taking it breaks the device (NEEDS_RESET), nothing is written
 *   3. after a reset the device works again, and VRING_AVAIL_F_NO_INTERRUPT is honoured */
#include "rvtest.h"

#define MMIO_BASE 0x10001000UL
#define MMIO_STRIDE 0x1000UL
#define PLIC_BASE 0x0c000000UL
#define QSIZE 8
#define TICKS_10S 100000000ull /* mtime runs at 10 MHz */

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE 0x008
#define R_DEVFEAT 0x010
#define R_DEVFEATSEL 0x014
#define R_DRVFEAT 0x020
#define R_DRVFEATSEL 0x024
#define R_QSEL 0x030
#define R_QNUMMAX 0x034
#define R_QNUM 0x038
#define R_QREADY 0x044
#define R_QNOTIFY 0x050
#define R_ISR 0x060
#define R_IACK 0x064
#define R_STATUS 0x070
#define R_QDESC 0x080
#define R_QDRIVER 0x090
#define R_QDEVICE 0x0a0
#define R_CONFIG 0x100

#define F_NEXT 1
#define F_WRITE 2
#define F_INDIRECT 4

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
struct avail {
	uint16_t flags, idx, ring[QSIZE], used_event;
};
struct used {
	uint16_t flags, idx;
	struct {
		uint32_t id, len;
	} ring[QSIZE];
	uint16_t avail_event;
};
struct queue {
	struct desc d[QSIZE];
	volatile struct avail a;
	volatile struct used u __attribute__((aligned(4)));
	uint16_t seen; /* used elements looked at */
};

static struct queue evq __attribute__((aligned(16))), stq __attribute__((aligned(16)));
static struct desc indirect[1] __attribute__((aligned(16)));
static uint8_t evbuf[QSIZE][8];
static uint8_t led[8] = { 0x11, 0, 0, 0, 1, 0, 0, 0 }; /* EV_LED, LED_NUML, on */
static uintptr_t base;
static unsigned irq;

static uint32_t rd(unsigned off) { return *(volatile uint32_t *)(base + off); }
static void wr(unsigned off, uint32_t v) { *(volatile uint32_t *)(base + off) = v; }
static uint8_t cfg8(unsigned off) { return *(volatile uint8_t *)(base + R_CONFIG + off); }
static void fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }

static void put_kv(const char *k, uint64_t v)
{
	rv_puts(k);
	rv_puts("=");
	rv_puthex64(v);
	rv_puts("\n");
}

static uint32_t plic_claim(void)
{
	volatile uint32_t *claim = (volatile uint32_t *)(PLIC_BASE + 0x200004);
	uint32_t id = *claim;
	if (id)
		*claim = id;
	return id;
}

/* Selects select/subsel (byte writes, as Linux does) and returns the size the device reports. */
static unsigned cfg_select(uint8_t sel, uint8_t sub)
{
	*(volatile uint8_t *)(base + R_CONFIG + 0) = sel;
	*(volatile uint8_t *)(base + R_CONFIG + 1) = sub;
	return cfg8(2);
}

static void print_string(const char *what, uint8_t sel)
{
	unsigned n = cfg_select(sel, 0);
	rv_puts(what);
	rv_puts(" (");
	rv_putdec(n);
	rv_puts("): '");
	for (unsigned i = 0; i < n; i++)
		rv_putc((char)cfg8(8 + i));
	rv_puts("'\n");
}

/* The bitmap of select/subsel as the indexes of its set bits. */
static void print_bits(const char *what, uint8_t sel, uint8_t sub)
{
	unsigned n = cfg_select(sel, sub);
	rv_puts(what);
	rv_puts(" (");
	rv_putdec(n);
	rv_puts("):");
	for (unsigned i = 0; i < 8 * n; i++)
		if (cfg8(8 + i / 8) >> (i % 8) & 1) {
			rv_puts(" ");
			rv_putdec(i);
		}
	rv_puts("\n");
}

static void print_config(void)
{
	print_string("name", 1);
	print_string("serial", 2);
	unsigned n = cfg_select(3, 0);
	rv_puts("devids (");
	rv_putdec(n);
	rv_puts("):");
	for (unsigned i = 0; i < n; i += 2) {
		rv_puts(" ");
		rv_puthex32((uint32_t)(cfg8(8 + i) | cfg8(9 + i) << 8));
	}
	rv_puts("\n");
	print_bits("prop bits", 0x10, 0);
	print_bits("EV_SYN bits", 0x11, 0);
	print_bits("EV_KEY bits", 0x11, 1);
	print_bits("EV_REL bits", 0x11, 2);
	print_bits("EV_ABS bits", 0x11, 3);
	print_bits("abs info 0", 0x12, 0);
	print_bits("unset", 0, 0);
}

static void setup_queue(unsigned q, struct queue *v)
{
	memset(v, 0, sizeof(*v));
	wr(R_QSEL, q);
	if (rd(R_QNUMMAX) < QSIZE || rd(R_QREADY))
		put_kv("bad queue", q);
	wr(R_QNUM, QSIZE);
	wr(R_QDESC, (uint32_t)(uintptr_t)v->d), wr(R_QDESC + 4, 0);
	wr(R_QDRIVER, (uint32_t)(uintptr_t)&v->a), wr(R_QDRIVER + 4, 0);
	wr(R_QDEVICE, (uint32_t)(uintptr_t)&v->u), wr(R_QDEVICE + 4, 0);
	wr(R_QREADY, 1);
}

/* Reset, features (VERSION_1 only), config space (printed when `show`), both queues, DRIVER_OK. */
static void init(int show)
{
	wr(R_STATUS, 0);
	wr(R_STATUS, 1);
	wr(R_STATUS, 1 | 2);
	wr(R_DEVFEATSEL, 0);
	uint32_t f0 = rd(R_DEVFEAT);
	wr(R_DEVFEATSEL, 1);
	uint32_t f1 = rd(R_DEVFEAT);
	wr(R_DRVFEATSEL, 0), wr(R_DRVFEAT, 0);
	wr(R_DRVFEATSEL, 1), wr(R_DRVFEAT, 1);
	wr(R_STATUS, 1 | 2 | 8);
	if (show) {
		put_kv("features[0]", f0);
		put_kv("features[1]", f1);
		put_kv("status after FEATURES_OK", rd(R_STATUS));
		print_config();
	}
	setup_queue(0, &evq);
	setup_queue(1, &stq);
	wr(R_STATUS, 1 | 2 | 8 | 4);
}

/* Puts descriptor `i` (already filled) in the available ring; the caller notifies. */
static void make_avail(struct queue *v, uint16_t i)
{
	fence();
	v->a.ring[v->a.idx % QSIZE] = i;
	fence();
	v->a.idx++;
	fence();
}

static void post_event_buffer(uint16_t i, int via_indirect)
{
	if (via_indirect) {
		indirect[0] = (struct desc){ (uintptr_t)evbuf[i], 8, F_WRITE, 0 };
		evq.d[i] = (struct desc){ (uintptr_t)indirect, sizeof(indirect), F_INDIRECT, 0 };
	} else {
		evq.d[i] = (struct desc){ (uintptr_t)evbuf[i], 8, F_WRITE, 0 };
	}
	memset(evbuf[i], 0xee, 8);
	make_avail(&evq, i);
}

/* Polls until the used index reaches `target` (bounded); returns whether it did. */
static int wait_used(struct queue *v, uint16_t target)
{
	uint64_t t0 = RV_CSR_READ(time);
	while (v->u.idx != target && RV_CSR_READ(time) - t0 < TICKS_10S)
		;
	fence();
	return v->u.idx == target;
}

/* Prints the used elements not seen yet, with the event each buffer holds. */
static void print_events(void)
{
	for (; evq.seen != evq.u.idx; evq.seen++) {
		uint32_t id = evq.u.ring[evq.seen % QSIZE].id, len = evq.u.ring[evq.seen % QSIZE].len;
		const uint8_t *b = evbuf[id % QSIZE];
		rv_puts("event: id ");
		rv_putdec(id);
		rv_puts(" len ");
		rv_putdec(len);
		rv_puts(" type ");
		rv_putdec(b[0] | b[1] << 8);
		rv_puts(" code ");
		rv_putdec(b[2] | b[3] << 8);
		rv_puts(" value ");
		rv_putdec((int64_t)(b[4] | b[5] << 8 | b[6] << 16 | (uint32_t)b[7] << 24));
		rv_puts("\n");
	}
}

static void busy_wait(uint64_t ticks)
{
	uint64_t t0 = RV_CSR_READ(time);
	while (RV_CSR_READ(time) - t0 < ticks)
		;
}

static int find_slot(void)
{
	int slot = -1;
	for (int i = 0; i < 8; i++) {
		base = MMIO_BASE + MMIO_STRIDE * (uintptr_t)i;
		if (rd(R_MAGIC) == 0x74726976 && rd(R_DEVICE) == 18 && slot < 0)
			slot = i;
	}
	return slot;
}

static void phase1(void)
{
	init(1);
	/* status queue: an LED event, consumed with nothing written */
	stq.d[0] = (struct desc){ (uintptr_t)led, sizeof(led), 0, 0 };
	make_avail(&stq, 0);
	wr(R_QNOTIFY, 1);
	rv_check("status event consumed", wait_used(&stq, 1));
	put_kv("status used id", stq.u.ring[0].id);
	put_kv("status used len", stq.u.ring[0].len);
	put_kv("isr after status", rd(R_ISR));
	wr(R_IACK, rd(R_ISR));
	plic_claim();

	post_event_buffer(0, 0);
	post_event_buffer(1, 1);
	post_event_buffer(2, 0);
	wr(R_QNOTIFY, 0);
	put_kv("used before the press", evq.u.idx);
	rv_puts("waiting 1\n");
	rv_check("three events delivered", wait_used(&evq, 3));
	print_events();
	put_kv("isr", rd(R_ISR));
	put_kv("plic claim", plic_claim());
	wr(R_IACK, rd(R_ISR));
	busy_wait(100000); /* 10 ms: the fourth event has no buffer and must wait */
	put_kv("used without a fourth buffer", evq.u.idx);
	post_event_buffer(3, 0);
	wr(R_QNOTIFY, 0);
	rv_check("fourth event delivered on notify", wait_used(&evq, 4));
	print_events();
	put_kv("isr", rd(R_ISR));
	wr(R_IACK, rd(R_ISR));
	plic_claim();
}

static void phase2(void)
{
	/* a descriptor chaining to itself: the device must refuse it when it takes the buffer */
	evq.d[4] = (struct desc){ (uintptr_t)evbuf[4], 8, F_WRITE | F_NEXT, 4 };
	memset(evbuf[4], 0xee, 8);
	make_avail(&evq, 4);
	wr(R_QNOTIFY, 0);
	put_kv("status before the press", rd(R_STATUS));
	rv_puts("waiting 2\n");
	uint64_t t0 = RV_CSR_READ(time);
	while (!(rd(R_STATUS) & 0x40) && RV_CSR_READ(time) - t0 < TICKS_10S)
		;
	put_kv("status", rd(R_STATUS));
	put_kv("isr", rd(R_ISR));
	put_kv("used", evq.u.idx);
	put_kv("buffer untouched", evbuf[4][0] == 0xee);
	wr(R_IACK, rd(R_ISR));
	plic_claim();
}

static void phase3(void)
{
	wr(R_STATUS, 0);
	put_kv("status after reset", rd(R_STATUS));
	wr(R_QSEL, 0);
	put_kv("queue 0 ready after reset", rd(R_QREADY));
	init(0);
	evq.a.flags = 1; /* VRING_AVAIL_F_NO_INTERRUPT */
	for (uint16_t i = 0; i < 4; i++)
		post_event_buffer(i, i == 2);
	wr(R_QNOTIFY, 0);
	rv_puts("waiting 3\n");
	rv_check("four events delivered", wait_used(&evq, 4));
	print_events();
	put_kv("isr (interrupt suppressed)", rd(R_ISR));
	put_kv("plic claim", plic_claim());
}

int main(void)
{
	int slot = find_slot();
	if (slot < 0) {
		rv_puts("no virtio-input device\n");
		return 1;
	}
	base = MMIO_BASE + MMIO_STRIDE * (uintptr_t)slot;
	irq = (unsigned)slot + 1;
	*(volatile uint32_t *)(PLIC_BASE + 4 * irq) = 1;
	*(volatile uint32_t *)(PLIC_BASE + 0x2000) = 1u << irq;
	*(volatile uint32_t *)(PLIC_BASE + 0x200000) = 0;
	put_kv("slot", (uint64_t)slot);
	put_kv("version", rd(R_VERSION));
	phase1();
	phase2();
	phase3();
	rv_puts("done\n");
	return rv_failures();
}
