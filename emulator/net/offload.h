/* offload.h - the work a NIC does for its guest when it offers checksum and TCP segmentation
 * offloads (virtio-net's CSUM and HOST_TSO4): the guest leaves a transmitted frame's L4
 * checksum to the device and may hand over one IPv4 TCP packet of up to 64 KiB instead of
 * MSS-sized frames. libslirp takes such a packet whole (its TCP checks the checksum and appends
 * the data like any segment), so a large send costs the guest one frame instead of ~45. */
#ifndef STRATA_EMULATOR_NET_OFFLOAD_H
#define STRATA_EMULATOR_NET_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The guest filled the checksum field at `start + offset` with its pseudo-header sum: adds the
 * bytes from `start` to the end into it (RFC 1071). 0 or -EINVAL when the field lies outside. */
int vm_net_csum_fill(uint8_t *frame, size_t len, size_t start, size_t offset);
/* A TSO4 packet (Ethernet + IPv4 + TCP): total length, header checksum and TCP checksum made
 * to describe the frame as it is, so a receiver takes it as one packet. 0 or -EINVAL (not
 * IPv4 TCP, too long). */
int vm_net_tso4_fixup(uint8_t *frame, size_t len);

/* Receive coalescing (the guest's side of TSO: virtio-net's GUEST_TSO4): consecutive in-order
 * IPv4 TCP segments of one connection become one large frame the guest takes as a single
 * packet, instead of one trip through its stack per 1460 bytes. */
struct vm_net_gso {
	uint16_t size;  /* payload bytes of each merged segment (the MSS); 0: one segment */
	uint16_t nseg;  /* segments merged */
	bool open;      /* the last segment was full-sized, ACK only: more may follow */
	bool vnet;      /* hdr: a back end's virtio_net_hdr for the frame, passed on as it is */
	uint8_t hdr[10];
};
/* Whether `frame` can start a merge (an IPv4 TCP data segment with no IP options, ACK only or
 * ACK|PSH); fills g for a one-segment frame. */
bool vm_net_tcp4_mergeable(const uint8_t *frame, size_t len, struct vm_net_gso *g);
/* Whether `b` continues `a` (same headers but sequence, window, PSH; next in sequence; not
 * larger than a's segments, and the sum fits in `cap` bytes and a 64 KiB IPv4 packet). */
bool vm_net_tcp4_continues(const uint8_t *a, size_t alen, const struct vm_net_gso *g, const uint8_t *b,
			   size_t blen, size_t cap);
/* Appends b's payload to a (vm_net_tcp4_continues said yes; a has room): IPv4 length and
 * header checksum, window and PSH from b; the TCP checksum field then holds the pseudo-header
 * sum (for the receiver's NEEDS_CSUM). Returns a's new length. */
size_t vm_net_tcp4_append(uint8_t *a, size_t alen, struct vm_net_gso *g, const uint8_t *b, size_t blen);

#endif
