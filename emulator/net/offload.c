/* offload.c - checksum completion and TSO4 header fix-up for frames a guest transmits. */
#include "emulator/net/offload.h"

#include <errno.h>
#include <string.h>

#define ETH_HLEN 14

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	uint64_t s = sum;
	size_t i = 0;
	for (; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < n)
		s += (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

int vm_net_csum_fill(uint8_t *frame, size_t len, size_t start, size_t offset)
{
	if (start >= len || offset > len - start || len - start - offset < 2)
		return -EINVAL;
	uint8_t *field = frame + start + offset;
	uint16_t c = (uint16_t)~sum16(frame + start, len - start, 0);
	/* UDP's zero means "no checksum" (RFC 768): a computed zero is sent as all ones */
	int udp = len >= ETH_HLEN + 20 && frame[12] == 0x08 && frame[13] == 0 && frame[ETH_HLEN + 9] == 17;
	if (c == 0 && udp)
		c = 0xffff;
	field[0] = (uint8_t)(c >> 8);
	field[1] = (uint8_t)c;
	return 0;
}

int vm_net_tso4_fixup(uint8_t *frame, size_t len)
{
	if (len < ETH_HLEN + 20 || len - ETH_HLEN > 65535 || frame[12] != 0x08 || frame[13] != 0 ||
	    frame[ETH_HLEN] >> 4 != 4)
		return -EINVAL;
	uint8_t *ip = frame + ETH_HLEN;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	if (ihl < 20 || ETH_HLEN + ihl > len)
		return -EINVAL;
	ip[2] = (uint8_t)((len - ETH_HLEN) >> 8);
	ip[3] = (uint8_t)(len - ETH_HLEN);
	ip[10] = ip[11] = 0;
	uint16_t c = (uint16_t)~sum16(ip, ihl, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	/* the TCP checksum over the whole packet, pseudo header included (the guest's seed is
	 * not relied on: drivers differ on whether it counts the length) */
	if (ip[9] != 6 || ETH_HLEN + ihl + 20 > len)
		return -EINVAL;
	uint8_t *tcp = ip + ihl;
	size_t tlen = len - ETH_HLEN - ihl;
	uint8_t pseudo[12] = { ip[12], ip[13], ip[14], ip[15], ip[16], ip[17], ip[18], ip[19], 0, 6,
			       (uint8_t)(tlen >> 8), (uint8_t)tlen };
	tcp[16] = tcp[17] = 0;
	c = (uint16_t)~sum16(tcp, tlen, sum16(pseudo, sizeof(pseudo), 0));
	tcp[16] = (uint8_t)(c >> 8);
	tcp[17] = (uint8_t)c;
	return 0;
}

#define TCP_ACK 0x10
#define TCP_PSH 0x08

#define TCP_OFF (ETH_HLEN + 20) /* merged frames have IPv4 headers without options */

static size_t thl(const uint8_t *f)
{
	return (size_t)(f[TCP_OFF + 12] >> 4) * 4;
}

static uint32_t ld32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool vm_net_tcp4_mergeable(const uint8_t *f, size_t len, struct vm_net_gso *g)
{
	*g = (struct vm_net_gso){ 0 };
	if (len < ETH_HLEN + 40 || f[12] != 0x08 || f[13] != 0 || f[ETH_HLEN] != 0x45 || f[ETH_HLEN + 9] != 6)
		return false;
	const uint8_t *ip = f + ETH_HLEN, *tcp = f + TCP_OFF;
	size_t tl = thl(f);
	/* no fragments, no Ethernet padding, a whole TCP header, data */
	if ((ip[6] & 0x3f) || ip[7] || (size_t)(ip[2] << 8 | ip[3]) != len - ETH_HLEN || tl < 20 ||
	    TCP_OFF + tl >= len)
		return false;
	uint8_t fl = tcp[13];
	if (fl != TCP_ACK && fl != (TCP_ACK | TCP_PSH))
		return false;
	size_t pay = len - TCP_OFF - tl;
	g->size = (uint16_t)pay;
	g->nseg = 1;
	g->open = fl == TCP_ACK;
	return true;
}

bool vm_net_tcp4_continues(const uint8_t *a, size_t alen, const struct vm_net_gso *g, const uint8_t *b,
			   size_t blen, size_t cap)
{
	struct vm_net_gso gb;
	if (!g->open || !vm_net_tcp4_mergeable(b, blen, &gb))
		return false;
	size_t to = TCP_OFF, tl = thl(a), hl = to + tl;
	if (thl(b) != tl || gb.size > g->size || alen + gb.size > cap || alen - ETH_HLEN + gb.size > 65535)
		return false;
	/* Ethernet and IPv4 headers alike but for length, id and checksum */
	if (memcmp(a, b, ETH_HLEN + 2) || memcmp(a + ETH_HLEN + 6, b + ETH_HLEN + 6, 4) ||
	    memcmp(a + ETH_HLEN + 12, b + ETH_HLEN + 12, 8))
		return false;
	const uint8_t *ta = a + to, *tb = b + to;
	/* ports and acknowledgement equal, the next sequence number, the same options */
	if (memcmp(ta, tb, 4) || memcmp(ta + 8, tb + 8, 4) || ta[12] != tb[12] || ta[18] || ta[19] || tb[18] ||
	    tb[19] || memcmp(ta + 20, tb + 20, tl - 20))
		return false;
	return ld32be(tb + 4) == ld32be(ta + 4) + (uint32_t)(alen - hl);
}

size_t vm_net_tcp4_append(uint8_t *a, size_t alen, struct vm_net_gso *g, const uint8_t *b, size_t blen)
{
	size_t to = TCP_OFF, hl = to + thl(a), pay = blen - hl;
	memcpy(a + alen, b + hl, pay);
	alen += pay;
	uint8_t *ip = a + ETH_HLEN, *tcp = a + to;
	size_t tot = alen - ETH_HLEN;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[10] = ip[11] = 0;
	uint16_t c = (uint16_t)~sum16(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	tcp[14] = b[to + 14];
	tcp[15] = b[to + 15];
	tcp[13] = b[to + 13];
	size_t tlen = alen - to;
	uint8_t pseudo[12] = { ip[12], ip[13], ip[14], ip[15], ip[16], ip[17], ip[18], ip[19], 0, 6,
			       (uint8_t)(tlen >> 8), (uint8_t)tlen };
	uint16_t ps = (uint16_t)sum16(pseudo, sizeof(pseudo), 0);
	tcp[16] = (uint8_t)(ps >> 8);
	tcp[17] = (uint8_t)ps;
	g->nseg++;
	g->open = pay == g->size && b[to + 13] == TCP_ACK;
	return alen;
}
