/* nics.c - see nics.h. QEMU 7.2 creates -netdev back ends first, then those of -nic, then
 * -net, then the -device NICs; errors come in that order here too. Two differences, both
 * because QEMU's riscv virt board has no NIC of its own: QEMU accepts -nic and -net nic but
 * creates no card ("requested NIC ... was not created"), strata-vm makes them virtio-net cards
 * in the slots after the -device ones; and the -net hub is one nic with one user back end. */
#include "emulator/nics.h"
#include "emulator/devices/virtio_net.h"
#include "emulator/net/net.h"
#include "emulator/net/opts.h"
#include "emulator/options.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct setup {
	struct vm_options *o;
	struct vm_net *net;
	const struct vm_nic_spec *cur;  /* the option being handled, for messages */
	struct vm_virt_nic board[VM_VIRT_VIRTIO_SLOTS]; /* -nic and -net NICs, placed last */
	const char *board_mac[VM_VIRT_VIRTIO_SLOTS];
	int nboard;
	const char *dev_mac[VM_VIRT_VIRTIO_SLOTS];
	int anon;                        /* QEMU names anonymous netdevs #netN */
	struct vm_netdev *hub_user;      /* -net user */
	int hub_nics, hub_users;
	int ndev;                        /* -device virtio-net-device cards so far */
	char unpeered[VM_VIRT_VIRTIO_SLOTS][64]; /* their names, for QEMU's "has no peer" warning */
	int nunpeered;
};

static int say(struct setup *s, const char *msg)
{
	fprintf(stderr, "%s: %s %s: %s\n", s->o->prog, s->cur->opt, s->cur->spec, msg);
	return -1;
}

/* the messages QEMU prints without the option in front */
static int say_plain(struct setup *s, const char *msg)
{
	fprintf(stderr, "%s: %s\n", s->o->prog, msg);
	return -1;
}

/* xx:xx:xx:xx:xx:xx (or with '-'), as QEMU's mac property reads it */
static bool parse_mac(const char *str, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 6; i++) {
		const char *p = str + 3 * i;
		const char *hi = p[0] ? strchr(hex, p[0] | 0x20) : NULL, *lo = hi && p[1] ? strchr(hex, p[1] | 0x20) : NULL;
		if (!hi || !lo || (i < 5 ? p[2] != ':' && p[2] != '-' : p[2] != 0))
			return false;
		mac[i] = (uint8_t)((hi - hex) << 4 | (lo - hex));
	}
	return true;
}

/* Default addresses 52:54:00:12:34:56 + n: the first n no earlier NIC took. */
static void assign_macs(struct vm_virt_config *cfg, const char *const *given)
{
	static const uint8_t base[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	bool used[256] = { false };
	for (int i = 0; i < cfg->nnics; i++) {
		uint8_t *mac = cfg->nics[i].mac;
		if (!given[i]) {
			int k = 0;
			while (k < 255 && used[k])
				k++;
			memcpy(mac, base, 6);
			mac[5] = (uint8_t)(0x56 + k);
		}
		if (!memcmp(mac, base, 5))
			used[(uint8_t)(mac[5] - 0x56)] = true;
	}
}

static int add_board_nic(struct setup *s, struct vm_netdev *nd, const char *mac)
{
	struct vm_virt_config *cfg = &s->o->cfg;
	uint8_t m[6];
	if (mac && !parse_mac(mac, m)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "invalid syntax for ethernet address '%s'", mac);
		return say(s, msg);
	}
	if (s->nboard == VM_VIRT_VIRTIO_SLOTS)
		return say(s, "too many NICs");
	struct vm_virt_nic *n = &s->board[s->nboard];
	*n = (struct vm_virt_nic){ .netdev = nd, .mrg_rxbuf = true, .after_disks = cfg->ndisks };
	if (mac)
		memcpy(n->mac, m, 6);
	s->board_mac[s->nboard++] = mac;
	if (nd)
		vm_netdev_attach(nd, &(struct vm_net_nic){ 0 }); /* taken; the card plugs in later */
	return 0;
}

/* -nic TYPE[,id=][,model=][,mac=][,back end options] */
static int do_nic(struct setup *s, struct vm_net_opts *o)
{
	char err[512], anon[32];
	const char *type = vm_net_opts_get(o, "type"), *model = vm_net_opts_get(o, "model");
	const char *mac = vm_net_opts_get(o, "mac");
	if (type && !strcmp(type, "none"))
		return 0;
	if (model && strcmp(model, "virtio-net-device")) {
		snprintf(err, sizeof(err), "Unsupported NIC model: %s (strata-vm has virtio-net-device)", model);
		return say(s, err);
	}
	snprintf(anon, sizeof(anon), "#net%03d", s->anon++);
	if (vm_net_add_opts(s->net, o, anon, err, sizeof(err)))
		return say(s, err);
	const char *id = vm_net_opts_first(o, "id");
	return add_board_nic(s, vm_net_find(s->net, id ? id : anon), mac);
}

/* -net nic[,model=][,macaddr=][,name=][,netdev=] | -net user[,...]: one hub */
static int do_net(struct setup *s, struct vm_net_opts *o)
{
	char err[512], anon[32];
	const char *type = vm_net_opts_get(o, "type");
	vm_net_opts_get(o, "name");
	if (!type || strcmp(type, "nic")) {
		snprintf(anon, sizeof(anon), "hub0port%d", s->hub_users);
		if (vm_net_add_opts(s->net, o, anon, err, sizeof(err)))
			return say(s, err);
		if (s->hub_users++)
			return say(s, "strata-vm's -net hub takes one -net user (use -netdev and -device for more)");
		s->hub_user = vm_net_find(s->net, vm_net_opts_first(o, "id") ? vm_net_opts_first(o, "id") : anon);
		return 0;
	}
	const char *model = vm_net_opts_get(o, "model"), *mac = vm_net_opts_get(o, "macaddr");
	const char *nd_id = vm_net_opts_get(o, "netdev");
	vm_net_opts_get(o, "id");
	const struct vm_net_opt *bad = vm_net_opts_unused(o);
	if (bad) {
		snprintf(err, sizeof(err), "Invalid parameter '%s'", bad->key);
		return say(s, err);
	}
	if (model && strcmp(model, "virtio-net-device")) {
		snprintf(err, sizeof(err), "Unsupported NIC model: %s (strata-vm has virtio-net-device)", model);
		return say(s, err);
	}
	struct vm_netdev *nd = NULL;
	if (nd_id && !(nd = vm_net_find(s->net, nd_id))) {
		snprintf(err, sizeof(err), "Property 'virtio-net-device.netdev' can't find value '%s'", nd_id);
		return say(s, err);
	}
	if (!nd && s->hub_nics++)
		return say(s, "strata-vm's -net hub takes one -net nic (use -netdev and -device for more)");
	return add_board_nic(s, nd, mac);
}

/* -device virtio-net-device[,netdev=ID][,mac=][,mrg_rxbuf=on|off][,csum=on|off]
 * [,guest_csum=on|off][,guest_tso4=on|off][,host_tso4=on|off][,host_tso6=on|off][,event_idx=on|off][,id=] */
static int do_device(struct setup *s, struct vm_net_opts *o)
{
	char err[512];
	struct vm_virt_config *cfg = &s->o->cfg;
	vm_net_opts_get(o, "driver");
	const char *id = vm_net_opts_get(o, "id");
	vm_net_opts_get(o, "status"); /* feature bits QEMU lets you turn off; on here */
	const char *nd_id = vm_net_opts_get(o, "netdev"), *mac = vm_net_opts_get(o, "mac");
	const char *mrg = vm_net_opts_get(o, "mrg_rxbuf"), *csum = vm_net_opts_get(o, "csum");
	const char *gcsum = vm_net_opts_get(o, "guest_csum"), *gtso = vm_net_opts_get(o, "guest_tso4");
	const char *htso = vm_net_opts_get(o, "host_tso4"), *evidx = vm_net_opts_get(o, "event_idx");
	const char *htso6 = vm_net_opts_get(o, "host_tso6");
	const struct vm_net_opt *bad = vm_net_opts_unused(o);
	uint8_t m[6];
	bool mrg_on = true, csum_on = true, gcsum_on = true, gtso_on = true, htso_on = true, evidx_on = true, htso6_on = true;
	struct vm_netdev *nd = NULL;
	if (bad)
		snprintf(err, sizeof(err), "Property 'virtio-net-device.%s' not found", bad->key);
	else if (nd_id && !(nd = vm_net_find(s->net, nd_id)))
		snprintf(err, sizeof(err), "Property 'virtio-net-device.netdev' can't find value '%s'", nd_id);
	else if (nd && vm_netdev_attached(nd))
		snprintf(err, sizeof(err), "Property 'virtio-net-device.netdev' can't take value '%s', it's in use", nd_id);
	else if (mac && !parse_mac(mac, m))
		snprintf(err, sizeof(err), "Property 'virtio-net-device.mac' doesn't take value '%s'", mac);
	else if (mrg && vm_net_opts_bool(mrg, &mrg_on))
		snprintf(err, sizeof(err), "Parameter 'mrg_rxbuf' expects 'on' or 'off'");
	else if (csum && vm_net_opts_bool(csum, &csum_on))
		snprintf(err, sizeof(err), "Parameter 'csum' expects 'on' or 'off'");
	else if (gcsum && vm_net_opts_bool(gcsum, &gcsum_on))
		snprintf(err, sizeof(err), "Parameter 'guest_csum' expects 'on' or 'off'");
	else if (gtso && vm_net_opts_bool(gtso, &gtso_on))
		snprintf(err, sizeof(err), "Parameter 'guest_tso4' expects 'on' or 'off'");
	else if (htso && vm_net_opts_bool(htso, &htso_on))
		snprintf(err, sizeof(err), "Parameter 'host_tso4' expects 'on' or 'off'");
	else if (htso6 && vm_net_opts_bool(htso6, &htso6_on))
		snprintf(err, sizeof(err), "Parameter 'host_tso6' expects 'on' or 'off'");
	else if (evidx && vm_net_opts_bool(evidx, &evidx_on))
		snprintf(err, sizeof(err), "Parameter 'event_idx' expects 'on' or 'off'");
	else if (cfg->ndisks + cfg->nnics >= VM_VIRT_VIRTIO_SLOTS)
		snprintf(err, sizeof(err), "No 'virtio-bus' bus found for device 'virtio-net-device'");
	else
		err[0] = 0;
	if (err[0])
		return say(s, err);
	struct vm_virt_nic *n = &cfg->nics[cfg->nnics];
	*n = (struct vm_virt_nic){ .netdev = nd, .mrg_rxbuf = mrg_on, .no_offloads = !csum_on, .after_disks = s->cur->after_disks };
	/* QEMU's properties: without GUEST_CSUM no GUEST_TSO4/6 either (virtio 1.1 5.1.3.1) */
	n->drop_features = (gcsum_on ? 0 : 1ull << VM_VIRTIO_NET_F_GUEST_CSUM | 1ull << VM_VIRTIO_NET_F_GUEST_TSO4 |
					   1ull << VM_VIRTIO_NET_F_GUEST_TSO6) |
			   (gtso_on ? 0 : 1ull << VM_VIRTIO_NET_F_GUEST_TSO4) |
			   (htso_on ? 0 : 1ull << VM_VIRTIO_NET_F_HOST_TSO4) |
			   (htso6_on ? 0 : 1ull << VM_VIRTIO_NET_F_HOST_TSO6) |
			   (evidx_on ? 0 : 1ull << VM_VIRTIO_RING_F_EVENT_IDX);
	if (mac)
		memcpy(n->mac, m, 6);
	if (id)
		snprintf(n->name, sizeof(n->name), "%s", id);
	else
		snprintf(n->name, sizeof(n->name), "virtio-net-device.%d", s->ndev);
	s->dev_mac[cfg->nnics++] = mac;
	if (nd)
		vm_netdev_attach(nd, &(struct vm_net_nic){ 0 });
	else if (id)
		snprintf(s->unpeered[s->nunpeered++], sizeof(s->unpeered[0]), "%s", id);
	else
		snprintf(s->unpeered[s->nunpeered++], sizeof(s->unpeered[0]), "virtio-net-device.%d", s->ndev);
	s->ndev++;
	return 0;
}

/* -object filter-dump,id=ID,netdev=ID,file=FILE[,maxlen=N]: the one object type strata-vm has */
static int do_object(struct setup *s, struct vm_net_opts *o)
{
	char err[512];
	const char *type = vm_net_opts_get(o, "qom-type"), *id = vm_net_opts_get(o, "id");
	const char *nd_id = vm_net_opts_get(o, "netdev"), *file = vm_net_opts_get(o, "file");
	const char *maxlen = vm_net_opts_get(o, "maxlen");
	const struct vm_net_opt *bad = vm_net_opts_unused(o);
	if (!type || strcmp(type, "filter-dump")) {
		snprintf(err, sizeof(err), type ? "Parameter 'qom-type' does not accept value '%s'" : "Parameter 'qom-type' is missing",
			 type);
		return say(s, err);
	}
	if (bad) {
		snprintf(err, sizeof(err), "Invalid parameter '%s'", bad->key);
		return say(s, err);
	}
	if (!id || !nd_id || !file)
		return say(s, !id ? "Parameter 'id' is missing" : !nd_id ? "Parameter 'netdev' is missing"
									 : "Parameter 'file' is missing");
	struct vm_netdev *nd = vm_net_find(s->net, nd_id);
	if (!nd)
		return say_plain(s, "Parameter 'netdev' expects a network backend id");
	unsigned long len = 65536;
	if (maxlen) {
		char *end;
		len = strtoul(maxlen, &end, 0);
		if (!*maxlen || *end || len == 0 || len > UINT32_MAX || *maxlen == '-') {
			snprintf(err, sizeof(err), "Property 'filter-dump.maxlen' doesn't take value '%s'", maxlen);
			return say_plain(s, err);
		}
	}
	if (vm_netdev_dump(nd, file, (uint32_t)len, err, sizeof(err)))
		return say_plain(s, err);
	return 0;
}

/* Runs `fn` on every NIC option spelled `opt`, in command-line order. */
static int each(struct setup *s, const char *opt, int (*fn)(struct setup *, struct vm_net_opts *))
{
	for (int i = 0; i < s->o->nnic_specs; i++) {
		const struct vm_nic_spec *sp = &s->o->nic_specs[i];
		if (strcmp(sp->opt, opt))
			continue;
		struct vm_net_opts o;
		s->cur = sp;
		const char *implied = !strcmp(opt, "-device") ? "driver" : !strcmp(opt, "-object") ? "qom-type" : "type";
		int rc = vm_net_opts_parse(&o, sp->spec, implied);
		rc = rc ? say(s, "too many options") : fn(s, &o);
		vm_net_opts_free(&o);
		if (rc)
			return rc;
	}
	return 0;
}

static void warn(void *opaque, const char *msg)
{
	fprintf(stderr, "%s: warning: %s\n", ((struct vm_options *)opaque)->prog, msg);
}

int vm_nics_setup(struct vm_options *o, struct vm_net *net)
{
	static struct setup s;
	char err[512];
	memset(&s, 0, sizeof(s));
	s.o = o;
	s.net = net;
	for (int i = 0; i < o->nnetdevs; i++)
		if (vm_net_add(net, o->netdevs[i], err, sizeof(err))) {
			fprintf(stderr, "%s: -netdev %s: %s\n", o->prog, o->netdevs[i], err);
			return -1;
		}
	if (each(&s, "-nic", do_nic) || each(&s, "-net", do_net) || each(&s, "-device", do_device) ||
	    each(&s, "-object", do_object))
		return -1;
	/* the -net hub: its nic and its user back end are one link */
	for (int i = 0; i < s.nboard && s.hub_user; i++)
		if (!s.board[i].netdev && s.hub_nics) {
			s.board[i].netdev = s.hub_user;
			vm_netdev_attach(s.hub_user, &(struct vm_net_nic){ 0 });
			break;
		}
	struct vm_virt_config *cfg = &o->cfg;
	for (int i = 0; i < s.nboard; i++) {
		if (cfg->ndisks + cfg->nnics >= VM_VIRT_VIRTIO_SLOTS) {
			fprintf(stderr, "%s: no free virtio-mmio slot for a NIC (eight virtio devices at most)\n", o->prog);
			return -1;
		}
		s.board[i].after_disks = cfg->ndisks;
		snprintf(s.board[i].name, sizeof(s.board[i].name), "virtio-net-device.%d", s.ndev++);
		s.dev_mac[cfg->nnics] = s.board_mac[i];
		cfg->nics[cfg->nnics++] = s.board[i];
	}
	assign_macs(cfg, s.dev_mac);
	vm_net_check_peers(net, warn, o);
	/* QEMU names a card without a back end only when there are back ends at all */
	for (int i = 0; i < s.nunpeered && (o->nnetdevs || s.anon || s.hub_users); i++) {
		char msg[96];
		snprintf(msg, sizeof(msg), "nic %s has no peer", s.unpeered[i]);
		warn(o, msg);
	}
	return 0;
}
