/* offload.h - the work a NIC does for its guest when it offers checksum and TCP segmentation
 * offloads (virtio-net's CSUM and HOST_TSO4): the guest leaves a transmitted frame's L4
 * checksum to the device and may hand over one IPv4 TCP packet of up to 64 KiB instead of
 * MSS-sized frames. libslirp takes such a packet whole (its TCP checks the checksum and appends
 * the data like any segment), so a large send costs the guest one frame instead of ~45. */
#ifndef STRATA_EMULATOR_NET_OFFLOAD_H
#define STRATA_EMULATOR_NET_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The guest filled the checksum field at `start + offset` with its pseudo-header sum: adds the
 * bytes from `start` to the end into it (RFC 1071). 0 or -EINVAL when the field lies outside. */
int vm_net_csum_fill(uint8_t *frame, size_t len, size_t start, size_t offset);
/* A TSO4 packet (Ethernet + IPv4 + TCP): total length, header checksum and TCP checksum made
 * to describe the frame as it is, so a receiver takes it as one packet. 0 or -EINVAL (not
 * IPv4 TCP, too long). */
int vm_net_tso4_fixup(uint8_t *frame, size_t len);

#endif
