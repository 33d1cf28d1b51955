/* net_cmds.c - the monitor's network commands, QEMU 7.2's texts: info network, info usernet,
 * hostfwd_add, hostfwd_remove, set_link. NICs are the board's virtio-net slots in command-line
 * order (the highest slot first), netdevs come from emulator/net/net.h. */
#include "emulator/machine/virt.h"
#include "emulator/monitor/mon_int.h"
#include "emulator/net/net.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The i-th NIC in command-line order, or NULL. */
static struct vm_virtio_net *nic_at(int i)
{
	struct vm_virt *vm = vm_mon_ctx.vm;
	for (int s = VM_VIRT_VIRTIO_SLOTS - 1; vm && s >= 0; s--)
		if (vm->virtio[s].dev == &vm->net[s].dev && i-- == 0)
			return &vm->net[s];
	return NULL;
}

static void netdev_line(struct vm_mon_text *out, struct vm_netdev *d)
{
	char desc[128] = "";
	const struct vm_netdev_ops *ops = vm_netdev_ops(d);
	if (ops->describe)
		ops->describe(vm_netdev_backend(d), desc, sizeof(desc));
	vm_mon_printf(out, "%s: index=0,type=%s,%s\n", vm_netdev_id(d), vm_netdev_type(d), desc);
}

/* QEMU lists the net clients in creation order: netdevs first (printed alone only when no
 * NIC took them), then the NICs, each with its peer under it. */
void vm_hmp_info_network(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	for (struct vm_netdev *d = vm_net_first(vm_net_current()); d; d = vm_netdev_next(d))
		if (!vm_netdev_attached(d))
			netdev_line(out, d);
	struct vm_virtio_net *n;
	for (int i = 0; (n = nic_at(i)); i++) {
		vm_mon_printf(out, "%s: index=0,type=nic,model=virtio-net-device,macaddr=%02x:%02x:%02x:%02x:%02x:%02x\n",
			      n->name, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		if (n->nd) {
			vm_mon_printf(out, " \\ ");
			netdev_line(out, n->nd);
		}
	}
}

void vm_hmp_info_usernet(const char *arg, struct vm_mon_text *out)
{
	(void)arg;
	for (struct vm_netdev *d = vm_net_first(vm_net_current()); d; d = vm_netdev_next(d)) {
		const struct vm_netdev_ops *ops = vm_netdev_ops(d);
		if (!ops->connections)
			continue;
		char *t = ops->connections(vm_netdev_backend(d));
		vm_mon_printf(out, "Hub -1 (%s):\n%s", vm_netdev_id(d), t ? t : "");
		free(t);
	}
}

/* Splits "a [b]" into words; -1 with QEMU's message when there are none or too many. */
static int two_words(const char *cmd, const char *args, char w[2][256], bool need_second, struct vm_mon_text *out)
{
	int n = 0;
	const char *p = args;
	w[0][0] = w[1][0] = 0;
	for (;;) {
		p += strspn(p, " \t");
		if (!*p)
			break;
		size_t k = strcspn(p, " \t");
		if (n == 2) {
			vm_mon_printf(out, "%s: extraneous characters at the end of line\n"
					   "Try \"help %s\" for more information\n", cmd, cmd);
			return -1;
		}
		snprintf(w[n++], 256, "%.*s", (int)k, p);
		p += k;
	}
	if (n == 0) {
		vm_mon_printf(out, "%s: string expected\nTry \"help %s\" for more information\n", cmd, cmd);
		return -1;
	}
	if (n == 1 && need_second) {
		vm_mon_printf(out, "Expected 'on' or 'off'\nTry \"help %s\" for more information\n", cmd);
		return -1;
	}
	return n;
}

/* QEMU's slirp_lookup: a named user netdev, or the first one. */
static struct vm_netdev *user_netdev(const char *id, struct vm_mon_text *out)
{
	struct vm_netdev *d = vm_net_first(vm_net_current());
	if (id) {
		d = vm_net_current() ? vm_net_find(vm_net_current(), id) : NULL;
		if (!d)
			vm_mon_printf(out, "unrecognized netdev id '%s'\n", id);
		else if (strcmp(vm_netdev_type(d), "user"))
			vm_mon_printf(out, "invalid netdev id '%s'\n", id);
		return d && !strcmp(vm_netdev_type(d), "user") ? d : NULL;
	}
	for (; d && strcmp(vm_netdev_type(d), "user"); d = vm_netdev_next(d))
		;
	if (!d)
		vm_mon_printf(out, "user mode network stack not in use\n");
	return d;
}

void vm_hmp_hostfwd_add(const char *args, struct vm_mon_text *out, const char *typed)
{
	char w[2][256], err[512];
	(void)typed;
	int n = two_words("hostfwd_add", args, w, false, out);
	if (n < 0)
		return;
	struct vm_netdev *d = user_netdev(n == 2 ? w[0] : NULL, out);
	if (d && vm_netdev_ops(d)->hostfwd_add(vm_netdev_backend(d), w[n - 1], err, sizeof(err)))
		vm_mon_printf(out, "%s\n", err);
}

/* [tcp|udp]:[hostaddr]:hostport */
static bool parse_src(const char *src, bool *udp, uint32_t *addr, int *port)
{
	const char *c1 = strchr(src, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2)
		return false;
	size_t pl = (size_t)(c1 - src);
	if (pl == 0 || (pl == 3 && !strncmp(src, "tcp", 3)))
		*udp = false;
	else if (pl == 3 && !strncmp(src, "udp", 3))
		*udp = true;
	else
		return false;
	char a[64];
	struct in_addr ia = { .s_addr = INADDR_ANY };
	if ((size_t)(c2 - c1 - 1) >= sizeof(a))
		return false;
	snprintf(a, sizeof(a), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
	if (a[0] && !inet_aton(a, &ia))
		return false;
	char *end;
	long v = strtol(c2 + 1, &end, 10);
	if (!c2[1] || *end || v < -2147483647L - 1 || v > 2147483647L)
		return false;
	*addr = ia.s_addr;
	*port = (int)v;
	return true;
}

void vm_hmp_hostfwd_remove(const char *args, struct vm_mon_text *out, const char *typed)
{
	char w[2][256];
	(void)typed;
	int n = two_words("hostfwd_remove", args, w, false, out);
	if (n < 0)
		return;
	struct vm_netdev *d = user_netdev(n == 2 ? w[0] : NULL, out);
	if (!d)
		return;
	const char *src = w[n - 1];
	bool udp;
	uint32_t addr;
	int port;
	if (!parse_src(src, &udp, &addr, &port)) {
		vm_mon_printf(out, "invalid format\n");
		return;
	}
	int rc = vm_netdev_ops(d)->hostfwd_remove(vm_netdev_backend(d), udp, addr, port);
	vm_mon_printf(out, "host forwarding rule for %s %s\n", src, rc ? "not found" : "removed");
}

/* set_link NAME on|off: NAME is a NIC (its link) or a netdev (the link of the NIC on it). */
void vm_hmp_set_link(const char *args, struct vm_mon_text *out, const char *typed)
{
	char w[2][256];
	(void)typed;
	if (two_words("set_link", args, w, true, out) < 0)
		return;
	bool up = !strcmp(w[1], "on");
	if (!up && strcmp(w[1], "off")) {
		vm_mon_printf(out, "Expected 'on' or 'off'\nTry \"help set_link\" for more information\n");
		return;
	}
	struct vm_netdev *d = vm_net_current() ? vm_net_find(vm_net_current(), w[0]) : NULL;
	struct vm_virtio_net *n;
	bool found = d != NULL;
	for (int i = 0; (n = nic_at(i)); i++)
		if (!strcmp(n->name, w[0]) || (d && n->nd == d)) {
			vm_virtio_net_set_link(n, up);
			found = true;
		}
	if (!found)
		vm_mon_printf(out, "Error: Device '%s' not found\n", w[0]);
}
