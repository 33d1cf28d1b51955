/* htif.c - Host-Target InterFace over the ELF's `tohost`/`fromhost` words. Supported:
 * exit (device 0, payload bit 0 set: code = payload >> 1), the console putchar (device 1,
 * command 1) and the write(2) system call of the proxy-syscall protocol (device 0, payload
 * = address of an 8-word request: {64, fd, buf, len, ...}). */
#include "emulator/devices/devices.h"
#include "emulator/bus/bus.h"
#include "emulator/chardev/chardev.h"

#include <string.h>

static void htif_store(void *opaque, uint64_t pa)
{
	struct vm_htif *h = opaque;
	uint64_t v;
	(void)pa;
	if (vm_bus_read(h->bus, h->tohost, 8, &v) || v == 0)
		return;
	unsigned dev = (unsigned)(v >> 56), cmd = (unsigned)(v >> 48) & 0xff;
	uint64_t payload = v & ((1ULL << 48) - 1);
	uint64_t reply = 0;
	bool respond = true;
	if (dev == 0 && cmd == 0) {
		if (payload & 1) {
			h->exit->requested = true;
			h->exit->code = (int)(payload >> 1);
			respond = false;
		} else {
			uint64_t req[4] = { 0 };
			for (int i = 0; i < 4; i++)
				vm_bus_read(h->bus, payload + 8 * i, 8, &req[i]);
			uint64_t ret = (uint64_t)-38; /* -ENOSYS */
			if (req[0] == 64 && (req[1] == 1 || req[1] == 2)) {
				uint8_t *p = vm_bus_ram(h->bus, req[2], req[3]);
				if (p) {
					vm_chr_write(h->out, p, req[3]);
					ret = req[3];
				}
			}
			vm_bus_write(h->bus, payload, 8, ret);
			reply = 1;
		}
	} else if (dev == 1 && cmd == 1) {
		uint8_t c = (uint8_t)payload;
		vm_chr_write(h->out, &c, 1);
		reply = (1ULL << 56) | (1ULL << 48);
	} else {
		reply = v; /* unknown request: echo it so the guest does not spin forever */
	}
	/* clear tohost without re-triggering ourselves, then answer on fromhost */
	uint8_t *t = vm_bus_ram(h->bus, h->tohost, 8);
	if (t)
		memset(t, 0, 8);
	if (respond && h->fromhost)
		vm_bus_write(h->bus, h->fromhost, 8, reply);
}

int vm_htif_init(struct vm_htif *h, struct vm_bus *bus, uint64_t tohost, uint64_t fromhost, struct vm_chardev *out,
		 struct vm_exit_state *exit)
{
	*h = (struct vm_htif){ .bus = bus, .tohost = tohost, .fromhost = fromhost, .out = out, .exit = exit };
	bus->watch_pa = tohost;
	bus->watch = htif_store;
	bus->watch_opaque = h;
	return 0;
}
