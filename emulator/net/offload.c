/* offload.c - checksum completion and TSO4 header fix-up for frames a guest transmits. */
#include "emulator/net/offload.h"

#include <errno.h>

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
