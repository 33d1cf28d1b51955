/* user.h - the "user" netdev: a guest network emulated in user space by libslirp (NAT to the
 * host's sockets, DHCP, DNS forwarding, host port forwarding), as QEMU's -netdev user.
 * user_opts.c turns the options into a struct vm_net_user_cfg with QEMU's defaults and
 * messages; user.c runs libslirp on the host event loop. */
#ifndef STRATA_EMULATOR_NET_USER_H
#define STRATA_EMULATOR_NET_USER_H

#include "emulator/net/opts.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

struct vm_net;

#define VM_NET_HOSTFWD_MAX 32
#define VM_NET_DNSSEARCH_MAX 8

struct vm_net_hostfwd {
	bool udp;
	struct in_addr host_addr;  /* INADDR_ANY when not given */
	int host_port;             /* 0: any free port */
	struct in_addr guest_addr; /* 0: the first DHCP address */
	int guest_port;
	const char *rule;          /* as written */
};

/* guestfwd=[tcp]:[SERVER]:PORT-cmd:COMMAND: the guest's connections to SERVER:PORT reach a
 * fresh COMMAND (libslirp's exec forward; SERVER 0: slirp's default, 10.0.2.4 on 10.0.2.0/24) */
struct vm_net_guestfwd {
	struct in_addr server;
	int port;
	const char *cmd;
	const char *rule; /* as written */
};

#define VM_NET_GUESTFWD_MAX 16

struct vm_net_user_cfg {
	bool ipv4, ipv6, restrict_out;
	struct in_addr net, mask, host, dhcp, dns;
	struct in6_addr prefix6, host6, dns6;
	unsigned prefix6_len;
	const char *hostname, *domainname, *tftp, *bootfile;
	const char *dnssearch[VM_NET_DNSSEARCH_MAX + 1]; /* NULL-terminated */
	/* in the order QEMU sets them up: the last hostfwd= first */
	struct vm_net_hostfwd fwd[VM_NET_HOSTFWD_MAX];
	int nfwd;
	struct vm_net_guestfwd gfwd[VM_NET_GUESTFWD_MAX]; /* last first, as QEMU sets them up */
	int ngfwd;
};

/* Options of -netdev user (after type and id) into cfg; on error `err` gets QEMU's text.
 * Strings in cfg point into `o`. 0 or -EINVAL. */
int vm_net_user_parse(struct vm_net_opts *o, struct vm_net_user_cfg *cfg, char *err, size_t errlen);
/* One hostfwd rule "[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT"; on error `err` gets
 * QEMU's "Invalid host forwarding rule '...' (reason)". 0 or -EINVAL. */
int vm_net_hostfwd_parse(const char *rule, struct vm_net_hostfwd *fw, char *err, size_t errlen);

/* Parses and starts a user netdev `id` (net.c checked type and id). 0 or -errno. */
int vm_net_user_new(struct vm_net *n, const char *id, struct vm_net_opts *o, char *err, size_t errlen);

#endif
