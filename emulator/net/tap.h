/* tap.h - the "tap" netdev: the guest's frames go to and come from a Linux tap interface
 * (/dev/net/tun), as QEMU's -netdev tap,ifname=NAME[,script=][,downscript=] or fd=N. */
#ifndef STRATA_EMULATOR_NET_TAP_H
#define STRATA_EMULATOR_NET_TAP_H

#include "emulator/net/opts.h"

#include <stddef.h>

struct vm_net;

/* Parses the options, opens the interface and runs its script; `id` is the netdev's id (net.c
 * checked type and id). On error `err` gets QEMU's text. 0 or -errno. */
int vm_net_tap_new(struct vm_net *n, const char *id, struct vm_net_opts *o, char *err, size_t errlen);

#endif
