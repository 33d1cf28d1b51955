/* nics.h - the machine's network from the command line: -netdev back ends, then the NICs of
 * -device virtio-net-device, -nic and -net in QEMU's processing order, with QEMU's messages
 * and default MAC addresses (52:54:00:12:34:56, +1 for each further NIC). */
#ifndef STRATA_EMULATOR_NICS_H
#define STRATA_EMULATOR_NICS_H

struct vm_options;
struct vm_net;

/* Creates the netdevs in `net` and fills o->cfg.nics. On error prints one message (QEMU's
 * "prog: -opt ARG: text") and returns -1. Call after the disks are attached. */
int vm_nics_setup(struct vm_options *o, struct vm_net *net);

#endif
