/* Unit test of emulator/net/offload.c's receive coalescing (virtio-net GUEST_TSO4): which TCP
 * segments merge, and that a merged frame carries exactly the segments' bytes with headers a
 * receiver accepts (IPv4 length and checksum, the pseudo-header sum for NEEDS_CSUM). */
#include "emulator/net/offload.h"
#include "tests/unit/tap.h"

#include <stdint.h>
#include <string.h>

#define ETH 14
#define HL (ETH + 20 + 20)
#define MSS 1460

static uint32_t sum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

static uint8_t pat(uint32_t seq)
{
	return (uint8_t)(seq * 7 + (seq >> 8));
}

/* One segment from 10.0.2.2:80 to 10.0.2.15:4000 with `n` payload bytes at sequence `seq`. */
static size_t seg(uint8_t *f, uint32_t seq, uint32_t ack, size_t n, uint8_t flags, uint16_t win)
{
	static const uint8_t eth[ETH] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x55, 10, 0, 2, 2, 8, 0 };
	memset(f, 0, HL);
	memcpy(f, eth, ETH);
	uint8_t *ip = f + ETH, *t = ip + 20;
	size_t tot = 40 + n;
	ip[0] = 0x45, ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot, ip[4] = (uint8_t)seq, ip[6] = 0x40;
	ip[8] = 64, ip[9] = 6;
	ip[12] = 10, ip[13] = 0, ip[14] = 2, ip[15] = 2, ip[16] = 10, ip[17] = 0, ip[18] = 2, ip[19] = 15;
	uint16_t c = (uint16_t)~sum(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	t[0] = 0, t[1] = 80, t[2] = 0x0f, t[3] = 0xa0;
	for (int i = 0; i < 4; i++)
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i)), t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	t[12] = 0x50, t[13] = flags, t[14] = (uint8_t)(win >> 8), t[15] = (uint8_t)win;
	for (size_t i = 0; i < n; i++)
		f[HL + i] = pat(seq + (uint32_t)i);
	return HL + n;
}

static uint8_t a[70000], b[2000];

int main(void)
{
	struct vm_net_gso g;
	uint32_t seq = 1000, ack = 77;
	size_t alen = seg(a, seq, ack, MSS, 0x10, 8000), blen;
	tap_ok(vm_net_tcp4_mergeable(a, alen, &g) && g.size == MSS && g.nseg == 1 && g.open, "a full ACK segment starts a merge");
	/* 43 more full segments, then a short one with PSH: 44 * 1460 + 500 bytes */
	int ok = 1;
	for (int i = 1; i < 44; i++) {
		blen = seg(b, seq + (uint32_t)(i * MSS), ack, MSS, 0x10, (uint16_t)(8000 + i));
		ok &= vm_net_tcp4_continues(a, alen, &g, b, blen, sizeof(a));
		alen = vm_net_tcp4_append(a, alen, &g, b, blen);
	}
	tap_ok(ok && g.nseg == 44 && g.open, "43 following segments merge");
	blen = seg(b, seq + 44 * MSS, ack, 500, 0x18, 9999);
	tap_ok(vm_net_tcp4_continues(a, alen, &g, b, blen, sizeof(a)), "a short PSH segment ends it");
	alen = vm_net_tcp4_append(a, alen, &g, b, blen);
	tap_ok(g.nseg == 45 && !g.open && alen == HL + 44 * MSS + 500, "45 segments, closed, %zu bytes", alen);
	int same = 1;
	for (size_t i = 0; i < alen - HL; i++)
		same &= a[HL + i] == pat(seq + (uint32_t)i);
	tap_ok(same, "the payload is every segment's bytes in order");
	uint8_t *ip = a + ETH, *t = ip + 20;
	tap_ok((size_t)(ip[2] << 8 | ip[3]) == alen - ETH && sum(ip, 20, 0) == 0xffff, "IPv4 length and header checksum");
	tap_ok(t[13] == 0x18 && (t[14] << 8 | t[15]) == 9999, "flags and window of the last segment");
	/* the receiver completes the checksum from the pseudo-header sum in the field (NEEDS_CSUM) */
	size_t tl = alen - ETH - 20;
	uint16_t c = (uint16_t)~sum(t, tl, 0);
	t[16] = (uint8_t)(c >> 8), t[17] = (uint8_t)c;
	uint8_t ph[12] = { ip[12], ip[13], ip[14], ip[15], ip[16], ip[17], ip[18], ip[19], 0, 6, (uint8_t)(tl >> 8), (uint8_t)tl };
	tap_ok(sum(t, tl, sum(ph, 12, 0)) == 0xffff, "completed TCP checksum verifies");
	blen = seg(b, seq + 45 * MSS, ack, 100, 0x10, 1);
	tap_ok(!vm_net_tcp4_continues(a, alen, &g, b, blen, sizeof(a)), "nothing follows a closed frame");

	/* what must not merge */
	alen = seg(a, seq, ack, MSS, 0x10, 100);
	vm_net_tcp4_mergeable(a, alen, &g);
	blen = seg(b, seq + MSS + 1, ack, MSS, 0x10, 100);
	tap_ok(!vm_net_tcp4_continues(a, alen, &g, b, blen, sizeof(a)), "a gap in sequence");
	blen = seg(b, seq + MSS, ack + 1, MSS, 0x10, 100);
	tap_ok(!vm_net_tcp4_continues(a, alen, &g, b, blen, sizeof(a)), "another acknowledgement");
	blen = seg(b, seq + MSS, ack, MSS, 0x11, 100);
	tap_ok(!vm_net_tcp4_continues(a, alen, &g, b, blen, sizeof(a)), "FIN");
	blen = seg(b, seq + MSS, ack, MSS, 0x10, 100);
	b[ETH + 20 + 3] ^= 1;
	tap_ok(!vm_net_tcp4_continues(a, alen, &g, b, blen, sizeof(a)), "another port");
	blen = seg(b, seq + MSS, ack, MSS, 0x10, 100);
	b[ETH + 19] ^= 1;
	tap_ok(!vm_net_tcp4_continues(a, alen, &g, b, blen, sizeof(a)), "another address");
	blen = seg(b, seq + MSS, ack, MSS, 0x10, 100);
	tap_ok(!vm_net_tcp4_continues(a, alen, &g, b, blen, alen + MSS - 1), "no room");
	blen = seg(b, seq + MSS, ack, MSS, 0x10, 100);
	tap_ok(vm_net_tcp4_continues(a, alen, &g, b, blen, sizeof(a)), "(and the same segment merges)");
	alen = seg(a, seq, ack, 1000, 0x10, 100);
	vm_net_tcp4_mergeable(a, alen, &g);
	blen = seg(b, seq + 1000, ack, 1001, 0x10, 100);
	tap_ok(!vm_net_tcp4_continues(a, alen, &g, b, blen, sizeof(a)), "a segment larger than the first");
	alen = seg(a, seq, ack, 0, 0x10, 100);
	tap_ok(!vm_net_tcp4_mergeable(a, alen, &g), "a pure ACK does not start a merge");
	alen = seg(a, seq, ack, 100, 0x02, 100);
	tap_ok(!vm_net_tcp4_mergeable(a, alen, &g), "nor a SYN");
	alen = seg(a, seq, ack, 100, 0x10, 100);
	a[ETH + 6] = 0x20;
	tap_ok(!vm_net_tcp4_mergeable(a, alen, &g), "nor a fragment");
	alen = seg(a, seq, ack, 100, 0x10, 100);
	a[ETH + 9] = 17;
	tap_ok(!vm_net_tcp4_mergeable(a, alen, &g), "nor UDP");
	alen = seg(a, seq, ack, 100, 0x10, 100);
	tap_ok(!vm_net_tcp4_mergeable(a, alen + 6, &g), "nor a padded frame");
	return tap_done();
}
