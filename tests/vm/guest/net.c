/* net.c - a bare-metal virtio-net driver and a tiny IPv4 stack (ARP, UDP, TCP with one
 * connection at a time), driven by tests/vm/net.py on strata-vm and qemu-system-riscv64 with
 * -netdev user. It reads one line from the UART first:
 *     cfg MRG BUFSIZE UDPPORT TCPPORT BULK
 * (negotiate MRG_RXBUF 0/1, receive buffer size, the host's UDP echo and TCP server ports on
 * 127.0.0.1, bytes to send in the bulk upload), then prints results (never timings, ports or
 * sequence numbers, which differ by design):
 *   - slot probe, offered features (masked to the ones strata-vm has), MAC, link status;
 *   - DHCP DISCOVER/OFFER/REQUEST/ACK: address, mask, router, DNS, server, lease;
 *   - ARP for the gateway, a UDP echo through 10.0.2.2, a TCP exchange with the host server
 *     (request, reply, bulk upload and download with an FNV checksum), then it serves
 *     hostfwd: UDP echo on port 7 and TCP on port 23 (replies upper-cased), until "bye".
 * Every wait is bounded by the time CSR (10 MHz on both emulators). */
#include "rvtest.h"

#define MMIO_BASE 0x10001000UL
#define UART ((volatile uint8_t *)0x10000000UL)
#define QSIZE 64
#define TICKS_PER_S 10000000ull

enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE = 0x008, R_DEVFEAT = 0x010, R_DEVFEATSEL = 0x014,
	R_DRVFEAT = 0x020, R_DRVFEATSEL = 0x024, R_PAGESIZE = 0x028, R_QSEL = 0x030, R_QNUM = 0x038,
	R_QALIGN = 0x03c, R_QPFN = 0x040, R_QREADY = 0x044, R_QNOTIFY = 0x050, R_ISR = 0x060,
	R_IACK = 0x064, R_STATUS = 0x070, R_QDESC = 0x080, R_QDRIVER = 0x090, R_QDEVICE = 0x0a0,
	R_CONFIG = 0x100,
};

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct queue {
	uint8_t *ring; /* desc table, avail ring, used ring at +4096 */
	uint16_t avail_idx, used_seen;
};

static uint8_t rx_ring[8192] __attribute__((aligned(4096)));
static uint8_t tx_ring[8192] __attribute__((aligned(4096)));
static uint8_t rx_bufs[QSIZE][2048] __attribute__((aligned(16)));
static uint8_t tx_buf[2048] __attribute__((aligned(16)));
static uint8_t frame[65536];
static struct queue rxq = { rx_ring, 0, 0 }, txq = { tx_ring, 0, 0 };
static uintptr_t base;
static unsigned hdr_len, bufsize;
static int mrg;
static uint8_t mac[6], gw_mac[6];
static uint32_t my_ip, gw_ip = 0x0a000202, dns_ip; /* the gateway: DHCP's router */

static uint32_t rd(unsigned off) { return *(volatile uint32_t *)(base + off); }
static void wr(unsigned off, uint32_t v) { *(volatile uint32_t *)(base + off) = v; }
static void fence(void) { __asm__ volatile("fence rw, rw" ::: "memory"); }
static uint64_t now(void) { return RV_CSR_READ(time); }

static struct desc *descs(struct queue *q) { return (struct desc *)q->ring; }
static volatile uint16_t *avail(struct queue *q) { return (volatile uint16_t *)(q->ring + QSIZE * 16); }
static volatile uint16_t *used(struct queue *q) { return (volatile uint16_t *)(q->ring + 4096); }
static volatile uint32_t *used_elem(struct queue *q, uint16_t i)
{
	return (volatile uint32_t *)(q->ring + 4096 + 4 + 8 * (i % QSIZE));
}

/* ---- output helpers ---- */
static void put_ip(uint32_t ip)
{
	for (int i = 3; i >= 0; i--) {
		rv_putdec((ip >> (8 * i)) & 255);
		if (i)
			rv_putc('.');
	}
}

static void put_mac(const uint8_t *m)
{
	for (int i = 0; i < 6; i++) {
		rv_putc("0123456789abcdef"[m[i] >> 4]);
		rv_putc("0123456789abcdef"[m[i] & 15]);
		if (i < 5)
			rv_putc(':');
	}
}

static void line(const char *k, const char *v)
{
	rv_puts(k);
	rv_puts(v);
	rv_puts("\n");
}

static uint32_t fnv(uint32_t h, const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* ---- UART input: the configuration line ---- */
static int getc_timeout(uint64_t ticks)
{
	uint64_t t0 = now();
	while (!(UART[5] & 1))
		if (now() - t0 > ticks)
			return -1;
	return UART[0];
}

static unsigned read_line(char *buf, unsigned max)
{
	unsigned n = 0;
	for (;;) {
		int c = getc_timeout(30 * TICKS_PER_S);
		if (c < 0 || c == '\n' || c == '\r')
			break;
		if (n + 1 < max)
			buf[n++] = (char)c;
	}
	buf[n] = 0;
	return n;
}

static const char *parse_num(const char *p, uint32_t *v)
{
	while (*p == ' ')
		p++;
	*v = 0;
	while (*p >= '0' && *p <= '9')
		*v = *v * 10 + (uint32_t)(*p++ - '0');
	return p;
}

/* ---- virtio-net ---- */
static void post_rx(uint16_t d)
{
	descs(&rxq)[d] = (struct desc){ (uintptr_t)rx_bufs[d], bufsize, 2, 0 };
	avail(&rxq)[2 + rxq.avail_idx % QSIZE] = d;
	fence();
	avail(&rxq)[1] = ++rxq.avail_idx;
}

static void setup_queue(unsigned qi, struct queue *q, uint32_t version)
{
	wr(R_QSEL, qi);
	wr(R_QNUM, QSIZE);
	if (version == 2) {
		uint64_t a = (uintptr_t)q->ring;
		wr(R_QDESC, (uint32_t)a), wr(R_QDESC + 4, (uint32_t)(a >> 32));
		a += QSIZE * 16;
		wr(R_QDRIVER, (uint32_t)a), wr(R_QDRIVER + 4, (uint32_t)(a >> 32));
		a = (uintptr_t)q->ring + 4096;
		wr(R_QDEVICE, (uint32_t)a), wr(R_QDEVICE + 4, (uint32_t)(a >> 32));
		wr(R_QREADY, 1);
	} else {
		wr(R_QALIGN, 4096);
		wr(R_QPFN, (uint32_t)((uintptr_t)q->ring >> 12));
	}
}

static int net_init(void)
{
	int slot = -1;
	for (int i = 0; i < 8; i++) {
		base = MMIO_BASE + 0x1000UL * (uintptr_t)i;
		rv_puts("slot ");
		rv_putdec(i);
		rv_puts(": device=");
		rv_putdec(rd(R_DEVICE));
		if (rd(R_DEVICE) == 1) {
			uint8_t m[6];
			for (int k = 0; k < 6; k++)
				m[k] = *(volatile uint8_t *)(base + R_CONFIG + k);
			rv_puts(" mac=");
			put_mac(m);
		}
		rv_puts("\n");
		if (rd(R_DEVICE) == 1)
			slot = i; /* the highest: the first card created */
	}
	if (slot < 0)
		return -1;
	base = MMIO_BASE + 0x1000UL * (uintptr_t)slot;
	uint32_t version = rd(R_VERSION);
	wr(R_STATUS, 0);
	wr(R_STATUS, 1);
	wr(R_STATUS, 1 | 2);
	wr(R_DEVFEATSEL, 0);
	uint32_t f0 = rd(R_DEVFEAT);
	wr(R_DEVFEATSEL, 1);
	uint32_t f1 = rd(R_DEVFEAT);
	uint32_t known = 1u << 5 | 1u << 15 | 1u << 16; /* MAC, MRG_RXBUF, STATUS */
	rv_puts("features: ");
	rv_puthex32(f0 & known);
	rv_puts(" version_1=");
	rv_putdec(f1 & 1);
	rv_puts("\n");
	uint32_t want = (f0 & (1u << 5 | 1u << 16)) | (mrg ? f0 & 1u << 15 : 0);
	mrg = (want >> 15) & 1;
	wr(R_DRVFEATSEL, 0);
	wr(R_DRVFEAT, want);
	wr(R_DRVFEATSEL, 1);
	wr(R_DRVFEAT, version == 2 ? 1 : 0);
	if (version == 2)
		wr(R_STATUS, 1 | 2 | 8);
	else
		wr(R_PAGESIZE, 4096);
	hdr_len = version == 2 || mrg ? 12 : 10;
	for (int i = 0; i < 6; i++)
		mac[i] = *(volatile uint8_t *)(base + R_CONFIG + i);
	rv_puts("mac: ");
	put_mac(mac);
	rv_puts(" status=");
	rv_putdec(*(volatile uint16_t *)(base + R_CONFIG + 6));
	rv_puts(" mrg_rxbuf=");
	rv_putdec(mrg);
	rv_puts("\n");
	memset(rx_ring, 0, sizeof(rx_ring));
	memset(tx_ring, 0, sizeof(tx_ring));
	setup_queue(0, &rxq, version);
	setup_queue(1, &txq, version);
	for (uint16_t d = 0; d < QSIZE; d++)
		post_rx(d);
	wr(R_STATUS, rd(R_STATUS) | 4);
	wr(R_QNOTIFY, 0);
	return 0;
}

/* Sends one frame (header + `len` bytes already in tx_buf + hdr_len) and waits for it. */
static void tx(unsigned len)
{
	memset(tx_buf, 0, hdr_len);
	descs(&txq)[0] = (struct desc){ (uintptr_t)tx_buf, hdr_len + len, 0, 0 };
	avail(&txq)[2 + txq.avail_idx % QSIZE] = 0;
	fence();
	avail(&txq)[1] = ++txq.avail_idx;
	fence();
	wr(R_QNOTIFY, 1);
	uint64_t t0 = now();
	while (used(&txq)[1] == txq.used_seen && now() - t0 < 5 * TICKS_PER_S)
		;
	txq.used_seen = used(&txq)[1];
	wr(R_IACK, rd(R_ISR));
}

/* Next received frame into `frame` (header stripped), merging buffers; 0 when none came. */
static unsigned rx(uint64_t ticks)
{
	uint64_t t0 = now();
	while (used(&rxq)[1] == rxq.used_seen)
		if (now() - t0 > ticks)
			return 0;
	fence();
	unsigned n = 0, nbuf = 1;
	for (unsigned b = 0; b < nbuf; b++) {
		while (used(&rxq)[1] == rxq.used_seen) /* the rest of a merged frame is there already */
			if (now() - t0 > ticks)
				return 0;
		volatile uint32_t *e = used_elem(&rxq, rxq.used_seen++);
		uint16_t d = (uint16_t)e[0];
		uint32_t len = e[1];
		const uint8_t *p = rx_bufs[d];
		if (b == 0) {
			if (mrg) /* without MRG_RXBUF num_buffers is not looked at (as Linux) */
				nbuf = p[10] | p[11] << 8;
			if (len < hdr_len || nbuf == 0 || nbuf > QSIZE)
				nbuf = 1, len = hdr_len;
			p += hdr_len, len -= hdr_len;
		}
		if (n + len <= sizeof(frame))
			memcpy(frame + n, p, len);
		n += len;
		post_rx(d);
	}
	fence();
	wr(R_QNOTIFY, 0);
	wr(R_IACK, rd(R_ISR));
	return n;
}

/* ---- IPv4, ARP, UDP, TCP ---- */
static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)be16(p) << 16 | be16(p + 2); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v); }

static uint32_t csum_add(uint32_t s, const uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i + 1 < n; i += 2)
		s += be16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint8_t *eth(const uint8_t *dst, uint16_t type)
{
	uint8_t *f = tx_buf + hdr_len;
	memcpy(f, dst, 6);
	memcpy(f + 6, mac, 6);
	put16(f + 12, type);
	return f + 14;
}

/* IPv4 header for `plen` payload bytes; returns the payload */
static uint8_t *ip(const uint8_t *dmac, uint32_t src, uint32_t dst, uint8_t proto, unsigned plen)
{
	static uint16_t id;
	uint8_t *h = eth(dmac, 0x0800);
	memset(h, 0, 20);
	h[0] = 0x45;
	put16(h + 2, (uint16_t)(20 + plen));
	put16(h + 4, id++);
	h[8] = 64;
	h[9] = proto;
	put32(h + 12, src);
	put32(h + 16, dst);
	put16(h + 10, csum_fold(csum_add(0, h, 20)));
	return h + 20;
}

static void send_udp(const uint8_t *dmac, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		     const uint8_t *data, unsigned len)
{
	uint8_t *u = ip(dmac, src, dst, 17, 8 + len);
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)(8 + len));
	put16(u + 6, 0); /* no checksum (allowed over IPv4) */
	memcpy(u + 8, data, len);
	tx(14 + 20 + 8 + len);
}

/* Answers ARP requests for our address; returns true when the frame was ARP. */
static int handle_arp(unsigned n)
{
	if (n < 42 || be16(frame + 12) != 0x0806)
		return 0;
	const uint8_t *a = frame + 14;
	if (be16(a + 6) == 1 && my_ip && be32(a + 24) == my_ip) {
		uint8_t *r = eth(a + 8, 0x0806);
		put16(r, 1), put16(r + 2, 0x0800), r[4] = 6, r[5] = 4, put16(r + 6, 2);
		memcpy(r + 8, mac, 6);
		put32(r + 14, my_ip);
		memcpy(r + 18, a + 8, 10);
		tx(14 + 28);
	} else if (be16(a + 6) == 2 && be32(a + 14) == gw_ip) {
		memcpy(gw_mac, a + 8, 6);
	}
	return 1;
}

/* Waits for an IPv4 packet of `proto` to local port `port`; returns a pointer to its
 * transport header (length in *len) or NULL. ARP is answered on the way. */
static const uint8_t *wait_ip(uint8_t proto, uint16_t port, unsigned *len, uint64_t ticks)
{
	uint64_t t0 = now();
	for (uint64_t t; (t = now() - t0) < ticks;) {
		unsigned n = rx(ticks - t);
		if (!n || handle_arp(n) || n < 34 || be16(frame + 12) != 0x0800)
			continue;
		const uint8_t *h = frame + 14;
		unsigned ihl = (h[0] & 15) * 4, tot = be16(h + 2);
		if (h[9] != proto || tot < ihl + 8 || 14 + tot > n)
			continue;
		const uint8_t *t = h + ihl;
		if (be16(t + 2) != port)
			continue;
		*len = tot - ihl;
		return t;
	}
	return NULL;
}

/* ---- DHCP ---- */
static const uint8_t bcast[6] = { 255, 255, 255, 255, 255, 255 };

static void dhcp_send(uint8_t type, uint32_t req_ip, uint32_t server)
{
	static uint8_t m[300];
	memset(m, 0, sizeof(m));
	m[0] = 1, m[1] = 1, m[2] = 6;
	put32(m + 4, 0x5354524b); /* xid */
	put16(m + 10, 0x8000);    /* broadcast replies */
	memcpy(m + 28, mac, 6);
	put32(m + 236, 0x63825363);
	uint8_t *o = m + 240;
	*o++ = 53, *o++ = 1, *o++ = type;
	if (req_ip)
		*o++ = 50, *o++ = 4, put32(o, req_ip), o += 4;
	if (server)
		*o++ = 54, *o++ = 4, put32(o, server), o += 4;
	*o++ = 55, *o++ = 5, *o++ = 1, *o++ = 3, *o++ = 6, *o++ = 51, *o++ = 54;
	*o++ = 255;
	send_udp(bcast, 0, 0xffffffff, 68, 67, m, sizeof(m));
}

/* Waits for a DHCP reply of `type`; prints it; returns yiaddr (0: none). */
static uint32_t dhcp_wait(uint8_t type, const char *name, uint32_t *server)
{
	unsigned len;
	const uint8_t *u = wait_ip(17, 68, &len, 5 * TICKS_PER_S);
	if (!u || len < 8 + 240) {
		line(name, ": none");
		return 0;
	}
	const uint8_t *m = u + 8, *o = m + 240, *end = u + len;
	uint32_t yi = be32(m + 16), mask = 0, router = 0, dns = 0, srv = 0, lease = 0;
	uint8_t got = 0;
	while (o + 2 <= end && *o != 255) {
		if (*o == 0) {
			o++;
			continue;
		}
		uint8_t c = o[0], l = o[1];
		const uint8_t *v = o + 2;
		if (c == 53 && l >= 1) got = v[0];
		if (c == 1 && l >= 4) mask = be32(v);
		if (c == 3 && l >= 4) router = be32(v);
		if (c == 6 && l >= 4) dns = be32(v);
		if (c == 54 && l >= 4) srv = be32(v);
		if (c == 51 && l >= 4) lease = be32(v);
		o += 2 + l;
	}
	rv_puts(name);
	rv_puts(": type=");
	rv_putdec(got == type ? type : -got);
	rv_puts(" yiaddr=");
	put_ip(yi);
	rv_puts(" mask=");
	put_ip(mask);
	rv_puts(" router=");
	put_ip(router);
	rv_puts(" dns=");
	put_ip(dns);
	rv_puts(" server=");
	put_ip(srv);
	rv_puts(" lease=");
	rv_putdec(lease);
	rv_puts("\n");
	*server = srv;
	dns_ip = dns;
	if (router)
		gw_ip = router;
	return got == type ? yi : 0;
}

/* ---- TCP: one connection, in-order data, stop-and-wait sending ---- */
struct tcp {
	uint32_t rip;
	uint16_t lport, rport;
	uint32_t snd_nxt, rcv_nxt;
	int fin_in;
};

static void tcp_send(struct tcp *c, uint8_t flags, const uint8_t *data, unsigned len)
{
	uint8_t *t = ip(gw_mac, my_ip, c->rip, 6, 20 + len);
	put16(t, c->lport);
	put16(t + 2, c->rport);
	put32(t + 4, c->snd_nxt);
	put32(t + 8, c->rcv_nxt);
	t[12] = 5 << 4;
	t[13] = flags;
	put16(t + 14, 32768); /* window */
	put16(t + 16, 0);
	put16(t + 18, 0);
	memcpy(t + 20, data, len);
	uint8_t ph[12];
	put32(ph, my_ip), put32(ph + 4, c->rip), ph[8] = 0, ph[9] = 6, put16(ph + 10, (uint16_t)(20 + len));
	put16(t + 16, csum_fold(csum_add(csum_add(0, ph, 12), t, 20 + len)));
	tx(14 + 20 + 20 + len);
	c->snd_nxt += len + ((flags & 0x03) ? 1 : 0); /* SYN and FIN take a number */
}

#define F_FIN 1
#define F_SYN 2
#define F_RST 4
#define F_PSH 8
#define F_ACK 16

/* Next segment of the connection: in-order data goes to `out` (appended at *got); acks it.
 * Returns the flags, or -1 on timeout. */
static int tcp_recv(struct tcp *c, uint8_t *out, unsigned *got, unsigned max, uint32_t *ack, uint64_t ticks)
{
	unsigned len;
	const uint8_t *t = wait_ip(6, c->lport, &len, ticks);
	if (!t)
		return -1;
	unsigned off = (t[12] >> 4) * 4;
	uint8_t fl = t[13];
	uint32_t seq = be32(t + 4);
	*ack = be32(t + 8);
	if (fl & F_SYN) {
		c->rcv_nxt = seq + 1;
		return fl;
	}
	unsigned dlen = len - off;
	if (dlen && seq == c->rcv_nxt) {
		unsigned take = *got >= max ? 0 : *got + dlen <= max ? dlen : max - *got;
		if (out)
			memcpy(out + *got, t + off, take);
		*got += take;
		c->rcv_nxt += dlen;
	}
	if ((fl & F_FIN) && seq + dlen == c->rcv_nxt) {
		c->rcv_nxt++;
		c->fin_in = 1;
	}
	if (dlen || (fl & F_FIN))
		tcp_send(c, F_ACK, NULL, 0);
	return fl;
}

/* Sends len bytes in segments of at most 1400, each waited for. */
static int tcp_write(struct tcp *c, const uint8_t *p, unsigned len, uint8_t *in, unsigned *got, unsigned max)
{
	while (len) {
		unsigned n = len < 1400 ? len : 1400;
		uint32_t want = c->snd_nxt + n, ack = 0;
		tcp_send(c, F_ACK | F_PSH, p, n);
		int tries = 0;
		while (ack != want && tries < 50) {
			int fl = tcp_recv(c, in, got, max, &ack, 2 * TICKS_PER_S);
			if (fl < 0 || (fl & F_RST))
				return -1;
			tries++;
		}
		if (ack != want)
			return -1;
		p += n, len -= n;
	}
	return 0;
}

static uint8_t tcpbuf[1 << 20];

/* Guest to host: request line, reply, upload `bulk` bytes, download the host's answer. */
static void tcp_client(uint16_t port, uint32_t bulk)
{
	struct tcp c = { .rip = gw_ip, .lport = 40000, .rport = port, .snd_nxt = 0x1000 };
	uint32_t ack;
	unsigned got = 0;
	tcp_send(&c, F_SYN, NULL, 0);
	int fl = tcp_recv(&c, NULL, &got, 0, &ack, 5 * TICKS_PER_S);
	rv_puts("tcp connect: ");
	rv_puts(fl >= 0 && (fl & (F_SYN | F_ACK)) == (F_SYN | F_ACK) && ack == c.snd_nxt ? "established\n" : "failed\n");
	if (fl < 0 || !(fl & F_SYN))
		return;
	tcp_send(&c, F_ACK, NULL, 0);
	/* the request names the upload size; the host answers with a line, then
	 * reads the upload and answers with its length and FNV, then sends 200000 bytes and closes */
	static uint8_t req[64];
	unsigned n = 0;
	const char *s = "hello from the guest ";
	while (*s)
		req[n++] = (uint8_t)*s++;
	char num[12];
	int k = 0;
	uint32_t v = bulk;
	do
		num[k++] = (char)('0' + v % 10), v /= 10;
	while (v);
	while (k)
		req[n++] = (uint8_t)num[--k];
	req[n++] = '\n';
	got = 0;
	if (tcp_write(&c, req, n, tcpbuf, &got, sizeof(tcpbuf) / 2)) {
		rv_puts("tcp request: failed\n");
		return;
	}
	for (uint32_t i = 0; i < bulk; i++)
		tcpbuf[sizeof(tcpbuf) / 2 + i % (sizeof(tcpbuf) / 2)] = (uint8_t)(i * 7 + (i >> 8));
	uint32_t up = fnv(2166136261u, tcpbuf + sizeof(tcpbuf) / 2, bulk);
	if (tcp_write(&c, tcpbuf + sizeof(tcpbuf) / 2, bulk, tcpbuf, &got, sizeof(tcpbuf) / 2)) {
		rv_puts("tcp upload: failed\n");
		return;
	}
	rv_puts("tcp upload: fnv=");
	rv_puthex32(up);
	rv_puts("\n");
	for (int i = 0; i < 100000 && !c.fin_in; i++)
		if (tcp_recv(&c, tcpbuf, &got, sizeof(tcpbuf) / 2, &ack, 5 * TICKS_PER_S) < 0)
			break;
	/* the host's reply lines, then the download */
	unsigned nl = 0, p = 0;
	for (; p < got && nl < 2; p++) {
		if (tcpbuf[p] == '\n')
			nl++;
		if (tcpbuf[p] != '\r')
			rv_putc((char)tcpbuf[p]);
	}
	rv_puts("tcp download: bytes=");
	rv_putdec(got - p);
	rv_puts(" fnv=");
	rv_puthex32(fnv(2166136261u, tcpbuf + p, got - p));
	rv_puts(" fin=");
	rv_putdec(c.fin_in);
	rv_puts("\n");
	tcp_send(&c, F_FIN | F_ACK, NULL, 0);
	tcp_recv(&c, NULL, &got, 0, &ack, TICKS_PER_S); /* its last ack */
}

/* ---- hostfwd: serve UDP echo on 7 and TCP on 23 until "bye" ---- */
static void upper(uint8_t *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (p[i] >= 'a' && p[i] <= 'z')
			p[i] = (uint8_t)(p[i] - 32);
}

static int serve_tcp(const uint8_t *t, unsigned len)
{
	/* a SYN to port 23 opens the one connection; it is served to its end here */
	struct tcp c = { .rip = be32(frame + 14 + 12), .lport = 23, .rport = be16(t), .snd_nxt = 0x2000 };
	c.rcv_nxt = be32(t + 4) + 1;
	(void)len;
	tcp_send(&c, F_SYN | F_ACK, NULL, 0);
	static uint8_t in[4096];
	unsigned got = 0;
	uint32_t ack;
	int bye = 0;
	for (int i = 0; i < 1000 && !c.fin_in; i++) {
		if (tcp_recv(&c, in, &got, sizeof(in), &ack, 5 * TICKS_PER_S) < 0)
			break;
		if (got && in[got - 1] == '\n')
			break;
	}
	rv_puts("hostfwd tcp: got ");
	rv_putdec(got);
	rv_puts(" bytes\n");
	bye = got >= 3 && in[0] == 'b' && in[1] == 'y' && in[2] == 'e';
	upper(in, got);
	unsigned none = 0;
	tcp_write(&c, in, got, NULL, &none, 0);
	tcp_send(&c, F_FIN | F_ACK, NULL, 0);
	for (int i = 0; i < 20 && !c.fin_in; i++)
		if (tcp_recv(&c, NULL, &none, 0, &ack, 2 * TICKS_PER_S) < 0)
			break;
	rv_puts("hostfwd tcp: closed\n");
	return bye;
}

static void serve(void)
{
	rv_puts("hostfwd: ready\n");
	uint64_t t0 = now();
	while (now() - t0 < 60 * TICKS_PER_S) {
		unsigned n = rx(TICKS_PER_S);
		if (!n || handle_arp(n) || n < 34 || be16(frame + 12) != 0x0800)
			continue;
		const uint8_t *h = frame + 14;
		unsigned ihl = (h[0] & 15) * 4, tot = be16(h + 2);
		const uint8_t *t = h + ihl;
		if (h[9] == 17 && be16(t + 2) == 7) {
			static uint8_t d[1500];
			unsigned dl = tot - ihl - 8;
			memcpy(d, t + 8, dl);
			rv_puts("hostfwd udp: ");
			rv_putdec(dl);
			rv_puts(" bytes\n");
			upper(d, dl);
			send_udp(frame + 6, my_ip, be32(h + 12), 7, be16(t), d, dl);
		} else if (h[9] == 6 && be16(t + 2) == 23 && (t[13] & F_SYN) && !(t[13] & F_ACK)) {
			if (serve_tcp(t, tot - ihl))
				return;
		}
	}
	rv_puts("hostfwd: timeout\n");
}

int main(void)
{
	char cfg[128];
	uint32_t m, bs, uport, tport, bulk;
	read_line(cfg, sizeof(cfg));
	if (cfg[0] != 'c' || cfg[1] != 'f' || cfg[2] != 'g') {
		rv_puts("no cfg line\n");
		return 2;
	}
	const char *p = parse_num(parse_num(parse_num(parse_num(parse_num(cfg + 3, &m), &bs), &uport), &tport), &bulk);
	(void)p;
	mrg = (int)m;
	bufsize = bs >= 64 && bs <= 2048 ? bs : 2048;
	if (net_init()) {
		rv_puts("no virtio-net device\n");
		return 1;
	}
	uint32_t server = 0;
	dhcp_send(1, 0, 0);
	uint32_t offer = dhcp_wait(2, "dhcp offer", &server);
	dhcp_send(3, offer, server);
	my_ip = dhcp_wait(5, "dhcp ack", &server);
	if (!my_ip)
		return 1;
	/* ARP for the gateway */
	uint8_t *a = eth(bcast, 0x0806);
	put16(a, 1), put16(a + 2, 0x0800), a[4] = 6, a[5] = 4, put16(a + 6, 1);
	memcpy(a + 8, mac, 6);
	put32(a + 14, my_ip);
	memset(a + 18, 0, 6);
	put32(a + 24, gw_ip);
	tx(14 + 28);
	uint64_t t0 = now();
	while (!gw_mac[0] && now() - t0 < 5 * TICKS_PER_S) {
		unsigned n = rx(TICKS_PER_S);
		if (n)
			handle_arp(n);
	}
	rv_puts("gateway mac: ");
	put_mac(gw_mac);
	rv_puts("\n");
	/* UDP echo through the gateway to the host's 127.0.0.1 */
	static const uint8_t msg[] = "udp hello from the guest";
	send_udp(gw_mac, my_ip, gw_ip, 5555, (uint16_t)uport, msg, sizeof(msg) - 1);
	unsigned len;
	const uint8_t *u = wait_ip(17, 5555, &len, 5 * TICKS_PER_S);
	rv_puts("udp echo: ");
	if (u) {
		for (unsigned i = 8; i < len; i++)
			rv_putc((char)u[i]);
		rv_puts(" from port-matches=");
		rv_putdec(be16(u) == uport);
	} else {
		rv_puts("none");
	}
	rv_puts("\n");
	tcp_client((uint16_t)tport, bulk);
	serve();
	rv_puts("done\n");
	return 0;
}
