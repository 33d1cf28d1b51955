/* virtio_net.h - a virtio network card (virtio 1.1 section 5.1), "virtio-net-device" on
 * virtio-mmio, on a netdev back end (emulator/net/net.h). Queue 0 receives (the device fills
 * the guest's buffers as frames arrive: vm_virtq_pop/push), queue 1 transmits. Features: MAC,
 * STATUS (link up/down), MRG_RXBUF (a frame may span several receive buffers), indirect
 * descriptors, CSUM and HOST_TSO4 (emulator/net/offload.h), GUEST_CSUM and GUEST_TSO4 on back
 * ends whose frames need no check (slirp, tap: consecutive TCP segments reach the guest merged
 * into one packet; a tap with a vnet header hands the kernel's GSO frames over with their
 * header, and offers GUEST_TSO6 too), CTRL_VQ basics (queue 2: RX mode and MAC commands; every frame
 * is delivered whatever the filters say, as a promiscuous card would). Transmit happens inside
 * the guest's notify; its interrupt, and slirp's answers to sent TCP data, wait on a loop timer
 * until the guest idles (virtio_net.c: TX_IRQ_DELAY_NS), so one interrupt covers a run. */
#ifndef STRATA_EMULATOR_DEVICES_VIRTIO_NET_H
#define STRATA_EMULATOR_DEVICES_VIRTIO_NET_H

#include "emulator/devices/virtio_mmio.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_netdev;
struct vm_timer;

#define VM_VIRTIO_NET_F_CSUM 0       /* the device completes checksums of transmitted frames */
#define VM_VIRTIO_NET_F_GUEST_CSUM 1 /* received frames' checksums are known good */
#define VM_VIRTIO_NET_F_MAC 5
#define VM_VIRTIO_NET_F_GUEST_TSO4 7 /* the guest takes IPv4 TCP packets of up to 64 KiB */
#define VM_VIRTIO_NET_F_GUEST_TSO6 8 /* the same for IPv6 (tap with vnet_hdr only) */
#define VM_VIRTIO_NET_F_HOST_TSO4 11 /* the guest may transmit IPv4 TCP packets of up to 64 KiB */
#define VM_VIRTIO_NET_F_HOST_TSO6 12 /* the same for IPv6 (tap with vnet_hdr only) */
#define VM_VIRTIO_NET_F_MRG_RXBUF 15
#define VM_VIRTIO_NET_F_STATUS 16
#define VM_VIRTIO_NET_F_CTRL_VQ 17       /* a control queue (queue 2) */
#define VM_VIRTIO_NET_F_CTRL_RX 18       /* promiscuous / all-multicast commands */
#define VM_VIRTIO_NET_F_CTRL_MAC_ADDR 23 /* the driver sets the MAC through the control queue */

struct vm_virtio_net {
	struct vm_virtio_dev dev;
	struct vm_virtio_mmio *t; /* the slot it sits in (vm_virtio_net_plug) */
	struct vm_netdev *nd;     /* NULL: a NIC without a peer (frames go nowhere) */
	char name[64];            /* the monitor's name for it (info network, set_link) */
	uint8_t mac[6];
	uint8_t config[8];        /* mac, status */
	bool link_up;
	uint8_t *txbuf;
	/* the transmit queue's deferred interrupt (virtio_net.c; tx_bh NULL: at once) */
	struct vm_timer *tx_bh;
	bool tx_irq_pending, tx_irq_force;
	bool tx_data;            /* this notify sent TCP data: the back end's answers wait too */
	uint16_t tx_irq_since;   /* the used index when the first unsignalled chain was done */
	unsigned tx_unsignalled; /* chains done since */
	uint64_t rx_frames, tx_frames, rx_dropped, tx_dropped;
	uint64_t tx_gso; /* of tx_frames, TSO packets (not saved: a statistic) */
};

/* name: id= or QEMU's virtio-net-device.N; mrg_rxbuf: offer VIRTIO_NET_F_MRG_RXBUF (QEMU's mrg_rxbuf=on, the default); offloads: offer
 * CSUM and HOST_TSO4 (csum=on, the default; QEMU offers none of them on a user
 * netdev, whose peer lacks a vnet header: here the device does the work, cheaper than the
 * emulated guest doing it per segment). */
int vm_virtio_net_init(struct vm_virtio_net *n, const char *name, const uint8_t mac[6], bool mrg_rxbuf,
		       bool offloads, struct vm_netdev *nd);
/* After vm_virtio_mmio_init of slot t with n->dev: connects the netdev to the slot. */
void vm_virtio_net_plug(struct vm_virtio_net *n, struct vm_virtio_mmio *t);
/* Link status (set_link): the STATUS config field changes and the driver is told. */
void vm_virtio_net_set_link(struct vm_virtio_net *n, bool up);
void vm_virtio_net_destroy(struct vm_virtio_net *n);
/* savevm: what the transport's section does not hold (link, counters) and the netdev's state
 * (frames waiting for the guest, slirp's), as one malloc'd blob. 0 or -ENOMEM. */
int vm_virtio_net_state_save(const struct vm_virtio_net *n, uint8_t **buf, size_t *len);
/* loadvm: that blob back; 0 or -EINVAL (nothing changed when the NIC part is bad). */
int vm_virtio_net_state_load(struct vm_virtio_net *n, const uint8_t *buf, size_t len);

#endif
