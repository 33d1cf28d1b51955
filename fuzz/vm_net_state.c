/* Fuzz harness: the network part of a savevm stream (emulator/devices/virtio_net.c's blob: the
 * card's link and counters, its netdev's type and queued frames), loaded into a virtio-net card
 * on a user netdev. Whatever the bytes, the load returns 0 or -EINVAL and the card and queue stay
 * within their bounds. The back end's part is libslirp's own stream (slirp_state_load, libslirp's
 * parser, whose sbuf sizes it allocates as given): when the input's frames parse, the harness
 * puts the seed's slirp stream after them, so our parser is fuzzed and libslirp's is fed only
 * what it wrote. STRATA_FUZZ_SEED=FILE writes a valid blob there (the corpus seed). */
#include "emulator/devices/virtio_net.h"
#include "emulator/host/loop.h"
#include "emulator/net/net.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *slirp_part; /* u32 length + libslirp's stream, from a save */
static size_t slirp_len;

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Where the back end's part starts in blob b (the loader's walk up to it), or 0. */
static size_t backend_at(const uint8_t *b, size_t n)
{
	size_t off = 44; /* magic, link, four counters, has_nd */
	if (n < off + 4)
		return 0;
	off += 4 + (size_t)le32(b + off); /* type */
	if (off + 4 > n || off < 48)
		return 0;
	uint32_t nf = le32(b + off);
	off += 4;
	for (uint32_t i = 0; i < nf && i < 10000; i++) {
		if (off + 4 > n)
			return 0;
		size_t len = le32(b + off);
		if (len & 0x80000000u) { /* a merged frame: its segment size and count follow */
			len &= ~(size_t)0x80000000u;
			off += 4;
			if (off + 4 > n)
				return 0;
		}
		if (len & 0x40000000u) { /* a frame with a back end's 10-byte virtio_net_hdr */
			len &= ~(size_t)0x40000000u;
			off += 10;
			if (off + 4 > n)
				return 0;
		}
		if (len > n - off - 4)
			return 0;
		off += 4 + len;
	}
	return off <= n ? off : 0;
}

static struct vm_virtio_net *card(void)
{
	static struct vm_virtio_net nic;
	static int state; /* 0 not built, 1 ready, -1 failed */
	char err[256];
	if (state == 0) {
		static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
		struct vm_loop *loop = vm_loop_new();
		struct vm_net *net = loop ? vm_net_new(loop) : NULL;
		state = net && !vm_net_add(net, "user,id=n0", err, sizeof(err)) &&
				!vm_virtio_net_init(&nic, "nic", mac, true, true, vm_net_find(net, "n0"))
			? 1
			: -1;
		/* the netdev is claimed without a transport: frames wait in its queue */
		if (state == 1)
			vm_netdev_attach(vm_net_find(net, "n0"), &(struct vm_net_nic){ 0 });
		const char *seed = getenv("STRATA_FUZZ_SEED");
		uint8_t *buf;
		size_t len;
		if (state == 1 && !vm_virtio_net_state_save(&nic, &buf, &len)) {
			FILE *f = seed ? fopen(seed, "wb") : NULL;
			if (f) {
				fwrite(buf, 1, len, f);
				fclose(f);
			}
			size_t at = backend_at(buf, len);
			slirp_len = at ? len - at : 0;
			slirp_part = slirp_len ? malloc(slirp_len) : NULL;
			if (slirp_part)
				memcpy(slirp_part, buf + at, slirp_len);
			free(buf);
		}
	}
	return state == 1 ? &nic : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_virtio_net *n = card();
	size_t at = backend_at(data, size);
	if (!n || !slirp_part)
		return 0;
	if (!at) { /* the frames do not parse: the loader refuses before it reaches libslirp */
		vm_virtio_net_state_load(n, data, size);
		return 0;
	}
	uint8_t *b = malloc(at + slirp_len);
	if (!b)
		return 0;
	memcpy(b, data, at);
	memcpy(b + at, slirp_part, slirp_len);
	if (!vm_virtio_net_state_load(n, b, at + slirp_len)) {
		/* what was loaded saves again */
		uint8_t *buf;
		size_t len;
		if (!vm_virtio_net_state_save(n, &buf, &len))
			free(buf);
	}
	free(b);
	return 0;
}
