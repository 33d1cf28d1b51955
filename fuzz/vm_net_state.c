/* Fuzz harness: the network part of a savevm stream (emulator/devices/virtio_net.c's blob: the
 * card's link and counters, its netdev's queued frames and libslirp's own state stream through
 * slirp_state_load), loaded into a virtio-net card on a user netdev. Whatever the bytes, the
 * load returns 0 or -EINVAL and the card and queue stay within their bounds.
 * STRATA_FUZZ_SEED=FILE writes a valid blob there (the corpus seed). */
#include "emulator/devices/virtio_net.h"
#include "emulator/host/loop.h"
#include "emulator/net/net.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
		if (state == 1 && seed && !vm_virtio_net_state_save(&nic, &buf, &len)) {
			FILE *f = fopen(seed, "wb");
			if (f) {
				fwrite(buf, 1, len, f);
				fclose(f);
			}
			free(buf);
		}
	}
	return state == 1 ? &nic : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_virtio_net *n = card();
	if (n && !vm_virtio_net_state_load(n, data, size)) {
		/* what was loaded saves again */
		uint8_t *buf;
		size_t len;
		if (!vm_virtio_net_state_save(n, &buf, &len))
			free(buf);
	}
	return 0;
}
