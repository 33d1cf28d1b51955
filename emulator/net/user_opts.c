/* user_opts.c - -netdev user options with QEMU 7.2's defaults (10.0.2.0/24, host 10.0.2.2,
 * DNS 10.0.2.3, first lease 10.0.2.15; IPv6 fec0::/64 with ::2 and ::3), its checks in its
 * order, and its messages word for word. */
#include "emulator/net/user.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A port in [lo, 65535] written as strtol(base 0) reads it, nothing after it. */
static bool port_ok(const char *s, int lo, int *port)
{
	char *end;
	long v = strtol(s, &end, 0);
	if (*end || v < lo || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

int vm_net_hostfwd_parse(const char *rule, struct vm_net_hostfwd *fw, char *err, size_t errlen)
{
	char buf[256];
	const char *why = NULL;
	memset(fw, 0, sizeof(*fw));
	fw->rule = rule;
	snprintf(buf, sizeof(buf), "%s", rule);
	char *proto = buf, *haddr, *hport, *gaddr, *gport;
	if (!(haddr = strchr(proto, ':'))) {
		why = "No : separators";
		goto bad;
	}
	*haddr++ = 0;
	if (!strcmp(proto, "udp"))
		fw->udp = true;
	else if (*proto && strcmp(proto, "tcp")) {
		why = "Bad protocol name";
		goto bad;
	}
	if (!(hport = strchr(haddr, ':'))) {
		why = "Bad host address";
		goto bad;
	}
	*hport++ = 0;
	if (*haddr && !inet_aton(haddr, &fw->host_addr)) {
		why = "Bad host address";
		goto bad;
	}
	if (!(gaddr = strchr(hport, '-'))) {
		why = "Bad host port separator";
		goto bad;
	}
	*gaddr++ = 0;
	if (!port_ok(hport, 0, &fw->host_port)) {
		why = "Bad host port";
		goto bad;
	}
	if (!(gport = strchr(gaddr, ':'))) {
		why = "Missing guest address";
		goto bad;
	}
	*gport++ = 0;
	if (*gaddr && !inet_aton(gaddr, &fw->guest_addr)) {
		why = "Bad guest address";
		goto bad;
	}
	if (!port_ok(gport, 1, &fw->guest_port)) {
		why = "Bad guest port";
		goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "Invalid host forwarding rule '%s' (%s)", rule, why);
	return -EINVAL;
}

static uint32_t h32(struct in_addr a) { return ntohl(a.s_addr); }
static struct in_addr mk(uint32_t v) { return (struct in_addr){ htonl(v) }; }

/* Classful mask for net= without one, as QEMU picks it. */
static uint32_t default_mask(uint32_t a)
{
	if (!(a & 0x80000000u))
		return 0xff000000u; /* class A */
	if ((a & 0xfff00000u) == 0xac100000u)
		return 0xfff00000u; /* 172.16/12 */
	if ((a & 0xc0000000u) == 0x80000000u)
		return 0xffff0000u; /* class B */
	if ((a & 0xffff0000u) == 0xc0a80000u)
		return 0xffff0000u; /* 192.168/16 */
	if ((a & 0xe0000000u) == 0xc0000000u)
		return 0xffffff00u; /* class C */
	return 0xfffffff0u;
}

/* net=ADDR[/BITS|/MASK] */
static const char *parse_net(const char *v, struct vm_net_user_cfg *c)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", v);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	if (!inet_aton(buf, &c->net))
		return "Failed to parse netmask";
	uint32_t mask;
	if (!slash) {
		mask = default_mask(h32(c->net));
	} else {
		char *end;
		long bits = strtol(slash, &end, 10);
		if (*slash && !*end) {
			if (bits < 4 || bits > 32)
				return "Invalid netmask provided (must be in range 4-32)";
			mask = bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		} else {
			struct in_addr m;
			if (!inet_aton(slash, &m))
				return "Failed to parse netmask (trailing chars)";
			mask = h32(m);
		}
	}
	c->mask = mk(mask);
	c->net = mk(h32(c->net) & mask);
	return NULL;
}

static bool in_net(const struct vm_net_user_cfg *c, struct in_addr a)
{
	return (h32(a) & h32(c->mask)) == h32(c->net);
}

/* ipv6-net=ADDR/LEN (or ipv6-prefix= and ipv6-prefixlen=) */
static const char *parse_ipv6(struct vm_net_opts *o, struct vm_net_user_cfg *c, bool *given)
{
	const char *net = vm_net_opts_get(o, "ipv6-net"), *pfx = vm_net_opts_get(o, "ipv6-prefix");
	const char *plen = vm_net_opts_get(o, "ipv6-prefixlen"), *host = vm_net_opts_get(o, "ipv6-host");
	const char *dns = vm_net_opts_get(o, "ipv6-dns");
	*given = net || pfx || plen || host || dns;
	char buf[80];
	if (net) {
		snprintf(buf, sizeof(buf), "%s", net);
		char *slash = strchr(buf, '/');
		if (slash)
			*slash++ = 0;
		pfx = buf;
		plen = slash;
	}
	if (pfx && inet_pton(AF_INET6, pfx, &c->prefix6) != 1)
		return "Failed to parse IPv6 prefix";
	if (plen) {
		char *end;
		long v = strtol(plen, &end, 10);
		if (*end || !*plen || v < 0 || v > 126)
			return "Invalid IPv6 prefix provided (IPv6 prefix length must be between 0 and 126)";
		c->prefix6_len = (unsigned)v;
	}
	c->host6 = c->dns6 = c->prefix6;
	c->host6.s6_addr[15] |= 2;
	c->dns6.s6_addr[15] |= 3;
	if (host && inet_pton(AF_INET6, host, &c->host6) != 1)
		return "Failed to parse IPv6 host";
	if (dns && inet_pton(AF_INET6, dns, &c->dns6) != 1)
		return "Failed to parse IPv6 DNS";
	return NULL;
}

/* ipv4=, ipv6=, restrict=: QEMU's boolean message */
static int get_bool(struct vm_net_opts *o, const char *key, bool *v, char *err, size_t errlen)
{
	const char *s = vm_net_opts_get(o, key);
	if (s && vm_net_opts_bool(s, v)) {
		snprintf(err, errlen, "Parameter '%s' expects 'on' or 'off'", key);
		return -EINVAL;
	}
	return 0;
}

/* The IPv4 addresses: the network, then host, DNS and the first lease inside it. */
static const char *parse_ipv4(struct vm_net_opts *o, struct vm_net_user_cfg *c)
{
	const char *why, *v;
	if ((v = vm_net_opts_get(o, "net")) && (why = parse_net(v, c)))
		return why;
	uint32_t net = h32(c->net), hostmask = ~h32(c->mask);
	c->host = mk(net | (2 & hostmask));
	c->dns = mk(net | (3 & hostmask));
	c->dhcp = mk(net | (15 & hostmask));
	if ((v = vm_net_opts_get(o, "host"))) {
		if (!inet_aton(v, &c->host))
			return "Failed to parse host";
		if (!in_net(c, c->host))
			return "Host doesn't belong to network";
	}
	if ((v = vm_net_opts_get(o, "dns")) && !inet_aton(v, &c->dns))
		return "Failed to parse DNS";
	if ((v = vm_net_opts_get(o, "dhcpstart"))) {
		if (!inet_aton(v, &c->dhcp))
			return "Failed to parse DHCP start address";
		if (!in_net(c, c->dhcp))
			return "DHCP doesn't belong to network";
	}
	if (c->dns.s_addr == c->host.s_addr)
		return "DNS must be different from host";
	if (c->dhcp.s_addr == c->host.s_addr || c->dhcp.s_addr == c->dns.s_addr)
		return "DHCP must be different from host and DNS";
	return NULL;
}

static void defaults(struct vm_net_user_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->ipv4 = c->ipv6 = true;
	c->net = mk(0x0a000200u); /* 10.0.2.0/24 */
	c->mask = mk(0xffffff00u);
	inet_pton(AF_INET6, "fec0::", &c->prefix6);
	c->prefix6_len = 64;
}

/* One guestfwd rule as QEMU 7.2 reads it: "tcp" or nothing, the server address (or nothing),
 * the port (1-65535, decimal), then "cmd:COMMAND"; a character device instead of cmd: is not
 * supported. NULL or the message. */
static const char *guestfwd_parse(const char *rule, struct vm_net_guestfwd *g, char *buf, size_t buflen)
{
	snprintf(buf, buflen, "%s", rule);
	char *proto = buf, *server, *port, *rest, *end;
	memset(g, 0, sizeof(*g));
	g->rule = rule;
	if (!(server = strchr(proto, ':')))
		return "";
	*server++ = 0;
	if (*proto && strcmp(proto, "tcp"))
		return "";
	if (!(port = strchr(server, ':')))
		return "";
	*port++ = 0;
	if (*server && !inet_aton(server, &g->server))
		return "";
	if (!(rest = strchr(port, '-')))
		return "";
	*rest++ = 0;
	long v = strtol(port, &end, 10);
	if (*end || end == port || v < 1 || v > 65535)
		return "";
	g->port = (int)v;
	if (strncmp(rest, "cmd:", 4))
		return "guestfwd= to a character device is not supported by strata-vm (cmd: is)";
	g->cmd = rule + (rest + 4 - buf);
	return NULL;
}

static int parse_guestfwd(struct vm_net_opts *o, struct vm_net_user_cfg *c, char *err, size_t errlen)
{
	char buf[1024];
	for (int i = o->n - 1; i >= 0; i--) {
		if (strcmp(o->o[i].key, "guestfwd"))
			continue;
		const char *rule = o->o[i].val ? o->o[i].val : "";
		if (c->ngfwd == VM_NET_GUESTFWD_MAX) {
			snprintf(err, errlen, "too many guestfwd rules (at most %d)", VM_NET_GUESTFWD_MAX);
			return -EINVAL;
		}
		struct vm_net_guestfwd *g = &c->gfwd[c->ngfwd];
		const char *why = guestfwd_parse(rule, g, buf, sizeof(buf));
		/* libslirp's own check (slirp_add_exec refuses the same later), made here so its
		 * message comes before any hostfwd one, as in QEMU */
		uint32_t a = g->server.s_addr ? h32(g->server) : h32(c->net) | (4 & ~h32(c->mask));
		bool clash = (a & h32(c->mask)) != h32(c->net) || a == h32(c->host) || a == h32(c->dns);
		if (why && *why)
			snprintf(err, errlen, "%s", why);
		else if (why)
			snprintf(err, errlen, "Invalid guest forwarding rule '%s'", rule);
		else if (clash)
			snprintf(err, errlen, "Conflicting/invalid host:port in guest forwarding rule '%s'", rule);
		if (why || clash)
			return -EINVAL;
		c->ngfwd++;
	}
	return 0;
}

/* hostfwd= rules, kept (and later set up) last first, as QEMU does */
static int parse_hostfwd(struct vm_net_opts *o, struct vm_net_user_cfg *c, char *err, size_t errlen)
{
	for (int i = o->n - 1; i >= 0; i--) {
		if (strcmp(o->o[i].key, "hostfwd"))
			continue;
		o->o[i].used = true;
		if (c->nfwd == VM_NET_HOSTFWD_MAX) {
			snprintf(err, errlen, "too many hostfwd rules (at most %d)", VM_NET_HOSTFWD_MAX);
			return -EINVAL;
		}
		int rc = vm_net_hostfwd_parse(o->o[i].val ? o->o[i].val : "", &c->fwd[c->nfwd], err, errlen);
		if (rc)
			return rc;
		c->nfwd++;
	}
	return 0;
}

int vm_net_user_parse(struct vm_net_opts *o, struct vm_net_user_cfg *c, char *err, size_t errlen)
{
	defaults(c);
	int nsearch = 0;
	c->hostname = vm_net_opts_get(o, "hostname");
	c->domainname = vm_net_opts_get(o, "domainname");
	c->tftp = vm_net_opts_get(o, "tftp");
	c->bootfile = vm_net_opts_get(o, "bootfile");
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->o[i].key, "dnssearch") && o->o[i].val && nsearch < VM_NET_DNSSEARCH_MAX) {
			o->o[i].used = true;
			c->dnssearch[nsearch++] = o->o[i].val;
		}
	if (get_bool(o, "ipv4", &c->ipv4, err, errlen) || get_bool(o, "ipv6", &c->ipv6, err, errlen) ||
	    get_bool(o, "restrict", &c->restrict_out, err, errlen))
		return -EINVAL;
	const char *why = NULL;
	bool v6_given;
	/* what is left unused here is not a user option: QEMU's message names it */
	const char *v6why = parse_ipv6(o, c, &v6_given);
	static const char *const later[] = { "smb", "guestfwd", "hostfwd", "net", "host", "dns", "dhcpstart" };
	for (size_t i = 0; i < sizeof(later) / sizeof(later[0]); i++)
		vm_net_opts_get(o, later[i]);
	const struct vm_net_opt *bad = vm_net_opts_unused(o);
	if (bad) {
		snprintf(err, errlen, "Invalid parameter '%s'", bad->key);
		return -EINVAL;
	}
	if (vm_net_opts_get(o, "smb"))
		why = "smb= is not supported by strata-vm";
	else if (!c->ipv4 && !c->ipv6)
		why = "IPv4 and IPv6 disabled";
	else if (!c->ipv6 && v6_given)
		why = "IPv6 disabled but prefix/host6/dns6 provided";
	else if (!c->ipv4 && (vm_net_opts_get(o, "net") || vm_net_opts_get(o, "host") ||
			      vm_net_opts_get(o, "dhcpstart") || vm_net_opts_get(o, "dns")))
		why = "IPv4 disabled but netmask/host/dhcp/dns provided";
	else
		why = parse_ipv4(o, c);
	if (!why)
		why = v6why;
	if (why) {
		snprintf(err, errlen, "%s", why);
		return -EINVAL;
	}
	/* QEMU 7.2 takes the guestfwd rules before the hostfwd ones */
	int rc = parse_guestfwd(o, c, err, errlen);
	return rc ? rc : parse_hostfwd(o, c, err, errlen);
}
