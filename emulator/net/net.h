/* net.h - network back ends ("netdevs", as QEMU's -netdev) and how a NIC front end plugs into one.
 *
 * A back end moves Ethernet frames (no FCS) between the host and one NIC. Towards the NIC the
 * back end pushes: vm_netdev_deliver() hands the frame to the NIC at once when it can take it
 * (nic.can_receive) and otherwise keeps it in a bounded queue; the NIC calls vm_netdev_rx_ready()
 * when the guest gave it receive buffers, and the queue drains into them. Towards the host the
 * NIC calls vm_netdev_send(); what the back end answers from inside that call (slirp replies
 * to ARP and DHCP at once) is queued, never handed to the NIC re-entrantly, so the NIC calls
 * vm_netdev_rx_ready() after its transmit pass. Everything runs on the host event loop's thread.
 *
 * A struct vm_net is the set of netdevs of one machine, by id; main.c creates them from
 * -netdev/-nic/-net and the NICs find theirs by id. */
#ifndef STRATA_EMULATOR_NET_NET_H
#define STRATA_EMULATOR_NET_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm_loop;
struct vm_net;
struct vm_netdev;
struct vm_net_blob;
struct vm_net_reader;
struct vm_net_gso;
struct iovec;

/* largest frame either side moves: an Ethernet header and a 64 KiB IP packet (a TSO send,
 * or a GSO frame a tap hands over; IPv6's payload length leaves out its 40-byte header; a
 * plain Ethernet frame is <= 1514) */
#define VM_NET_FRAME_MAX (14 + 40 + 65535)
/* pieces of a frame vm_netdev_send_vnet_iov takes (a Linux skb has at most 17 fragments) */
#define VM_NET_TX_IOV_MAX 64

/* Offloads a NIC's guest takes on received frames (vm_net_nic.rx_offloads): a tap with a
 * vnet header asks the kernel for exactly these (TUNSETOFFLOAD) */
#define VM_NET_RX_CSUM 1u /* frames may come with NEEDS_CSUM (a partial checksum) */
#define VM_NET_RX_TSO4 2u /* IPv4 TCP packets of up to 64 KiB (GSO) */
#define VM_NET_RX_TSO6 4u /* the same for IPv6 */

/* The NIC side of a netdev. */
struct vm_net_nic {
	/* whether a frame of `len` bytes fits into the receive buffers the guest gave */
	bool (*can_receive)(void *opaque, size_t len);
	/* takes one frame; called only right after can_receive said yes. gso: NULL, or several
	 * TCP segments merged into one frame (only when takes_gso said yes) */
	void (*receive)(void *opaque, const uint8_t *frame, size_t len, const struct vm_net_gso *gso);
	void *opaque;
	/* optional: whether the guest takes merged TCP segments now (virtio-net: GUEST_TSO4) */
	bool (*takes_gso)(void *opaque);
	/* optional: VM_NET_RX_* the guest takes now (frames with a back end's vnet header,
	 * vm_netdev_deliver_vnet) */
	unsigned (*rx_offloads)(void *opaque);
};

/* A back end's operations (emulator/net/user.c: libslirp). The monitor's ones may be NULL. */
struct vm_netdev_ops {
	const char *type;                                    /* "user", "tap" */
	/* takes a TSO4 packet of up to 64 KiB as one frame (slirp does; a tap without a vnet
	 * header does not, so its NIC does not offer HOST_TSO4) */
	bool takes_tso4;
	/* its frames reach the NIC with complete checksums, so the guest may skip its check
	 * (VIRTIO_NET_F_GUEST_CSUM, and with it GUEST_TSO4: merged TCP segments): slirp, tap
	 * without a vnet header (the kernel finished every checksum) */
	bool guest_csum;
	/* its frames may carry the host's virtio_net_hdr (vm_netdev_deliver_vnet: NEEDS_CSUM,
	 * TCPv4/v6 GSO) when the NIC's rx_offloads take them (tap with a vnet header) */
	bool rx_vnet;
	int (*send)(void *be, const uint8_t *frame, size_t len); /* from the NIC; 0 or -errno */
	/* optional: a frame with the guest's 10-byte virtio_net_hdr (GSO, NEEDS_CSUM) left for
	 * the host to act on (tap with IFF_VNET_HDR); with it the NIC does no offload work */
	int (*send_vnet)(void *be, const uint8_t *hdr, const uint8_t *frame, size_t len);
	/* optional: the same with the frame in pieces (the guest's buffers, not copied first) */
	int (*send_vnet_iov)(void *be, const uint8_t *hdr, const struct iovec *iov, int iovcnt);
	void (*free)(void *be);
	/* `info network`'s description ("net=10.0.2.0,restrict=off") */
	void (*describe)(void *be, char *buf, size_t len);
	/* `info usernet`'s connection table (malloc'd), NULL when none */
	char *(*connections)(void *be);
	/* hostfwd_add RULE: 0 or -errno with QEMU's message in err */
	int (*hostfwd_add)(void *be, const char *rule, char *err, size_t errlen);
	/* hostfwd_remove: 0, or -ENOENT when no such rule */
	int (*hostfwd_remove)(void *be, bool udp, uint32_t host_addr_be, int host_port);
	/* savevm: the back end's own state (slirp's); NULL when it has none */
	void (*state_save)(void *be, struct vm_net_blob *b);
	/* loadvm: what state_save wrote, `len` bytes; 0 or -errno */
	int (*state_load)(void *be, const uint8_t *p, size_t len);
};

/* ---- the set of netdevs ---- */
struct vm_net *vm_net_new(struct vm_loop *loop);
void vm_net_free(struct vm_net *n);
/* Creates a netdev from a -netdev argument ("user,id=n0,hostfwd=..."). On error fills `err`
 * with QEMU's words for it (without the "-netdev ARG: " prefix the caller adds). 0 or -errno. */
int vm_net_add(struct vm_net *n, const char *spec, char *err, size_t errlen);
/* The same from parsed options (emulator/net/opts.h) that may hold more (-nic's model=, mac=:
 * the caller marks them used first); `anon_id` names it when there is no id=. */
struct vm_net_opts;
int vm_net_add_opts(struct vm_net *n, struct vm_net_opts *o, const char *anon_id, char *err, size_t errlen);
struct vm_netdev *vm_net_find(struct vm_net *n, const char *id);
/* The netdevs in creation order: vm_net_first, then vm_netdev_next until NULL. */
struct vm_netdev *vm_net_first(struct vm_net *n);
struct vm_netdev *vm_netdev_next(const struct vm_netdev *d);
/* The machine's set (the last vm_net_new of the process, NULL after its vm_net_free): the
 * monitor's way in, as QEMU's net clients are global. */
struct vm_net *vm_net_current(void);
/* Calls warn() with QEMU's "netdev ID has no peer" text for each netdev no NIC took. */
void vm_net_check_peers(struct vm_net *n, void (*warn)(void *opaque, const char *msg), void *opaque);

/* ---- one netdev ---- */
const char *vm_netdev_id(const struct vm_netdev *d);
const char *vm_netdev_type(const struct vm_netdev *d);
const struct vm_netdev_ops *vm_netdev_ops(const struct vm_netdev *d);
void *vm_netdev_backend(const struct vm_netdev *d);
bool vm_netdev_attached(const struct vm_netdev *d);
/* The host event loop the netdev's back end runs on (a NIC defers work to it). */
struct vm_loop *vm_netdev_loop(const struct vm_netdev *d);
/* A NIC takes the netdev (a NIC with null callbacks only claims it: frames wait in the queue). */
void vm_netdev_attach(struct vm_netdev *d, const struct vm_net_nic *nic);
/* Writes every frame sent or received from now on into a pcap file (filter-dump). 0 or
 * -errno with QEMU's message in err. */
int vm_netdev_dump(struct vm_netdev *d, const char *file, uint32_t maxlen, char *err, size_t errlen);
/* NIC to host. 0 or -errno (the frame is dropped, as a wire would). */
int vm_netdev_send(struct vm_netdev *d, const uint8_t *frame, size_t len);
/* The same with the guest's virtio_net_hdr (ops->send_vnet must exist). */
int vm_netdev_send_vnet(struct vm_netdev *d, const uint8_t *hdr, const uint8_t *frame, size_t len);
/* The same with the frame in `iovcnt` pieces of `len` bytes in all: -ENOTSUP when the back
 * end has no send_vnet_iov or the frame is being dumped (the caller sends it whole instead). */
int vm_netdev_send_vnet_iov(struct vm_netdev *d, const uint8_t *hdr, const struct iovec *iov, int iovcnt);
/* Back end to NIC: delivered now, queued while the NIC has no room, dropped when the queue is full. */
void vm_netdev_deliver(struct vm_netdev *d, const uint8_t *frame, size_t len);
/* The same with a 10-byte virtio_net_hdr the back end got from the host (tap with a vnet
 * header and offloads on): NEEDS_CSUM and GSO frames reach the NIC with it as it is, the
 * others go as vm_netdev_deliver's. */
void vm_netdev_deliver_vnet(struct vm_netdev *d, const uint8_t *hdr, const uint8_t *frame, size_t len);
/* The NIC's VM_NET_RX_* now (0 without a NIC or the callback). */
unsigned vm_netdev_rx_offloads(const struct vm_netdev *d);
/* A back end's burst of frames (one poll's worth from slirp or tap): between begin and end,
 * frames for a NIC that takes merged TCP segments wait in the queue, where consecutive
 * segments of one connection merge (emulator/net/offload.h); end hands them over. */
void vm_netdev_batch_begin(struct vm_netdev *d);
void vm_netdev_batch_end(struct vm_netdev *d);
/* The NIC got receive buffers: queued frames go in while they fit. */
void vm_netdev_rx_ready(struct vm_netdev *d);
/* savevm: the back end's type, the frames waiting for the NIC and the back end's state. */
void vm_netdev_state_save(const struct vm_netdev *d, struct vm_net_blob *b);
/* loadvm: checks what vm_netdev_state_save wrote (type must match), then sets the queue and
 * the back end's state. 0 or -EINVAL. */
int vm_netdev_state_load(struct vm_netdev *d, struct vm_net_reader *r);
/* Frames waiting in the queue (tests, monitor). */
unsigned vm_netdev_queued(const struct vm_netdev *d);
/* A back end stops taking host input while this many frames wait for the NIC. */
#define VM_NET_QUEUE_HIGH 256

/* ---- for back ends (net-internal) ---- */
/* Makes a netdev around back end `be` (owned: ops->free at vm_net_free). */
struct vm_netdev *vm_netdev_new(struct vm_net *n, const char *id, const struct vm_netdev_ops *ops, void *be);
struct vm_loop *vm_net_loop(const struct vm_net *n);

#endif
