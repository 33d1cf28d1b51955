/* user.c - the user netdev on libslirp. Slirp's sockets join the host event loop through a
 * poll hook (slirp_pollfds_fill/poll around every poll of the loop) and its timers are loop
 * timers, so slirp runs exactly when something is due and an idle network costs nothing. */
#include "emulator/host/loop.h"
#include "emulator/net/blob.h"
#include "emulator/net/net.h"
#include "emulator/net/user.h"

#include <slirp/libslirp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct user {
	struct vm_netdev *nd;
	struct vm_loop *loop;
	Slirp *slirp;
	struct in_addr net; /* for `info network` */
	bool restrict_out;
	bool throttled; /* the NIC is behind: slirp's sockets are not read this poll */
};

struct utimer {
	struct user *u;
	struct vm_timer *t;
	SlirpTimerId id;
	void *cb_opaque;
	SlirpTimerCb cb; /* the pre-version-4 style, when slirp asks through timer_new */
};

/* ---- slirp's callbacks ---- */
static ssize_t send_packet(const void *buf, size_t len, void *opaque)
{
	struct user *u = opaque;
	vm_netdev_deliver(u->nd, buf, len);
	return (ssize_t)len;
}

static void guest_error(const char *msg, void *opaque)
{
	(void)msg, (void)opaque; /* QEMU shows these only under -d guest_errors */
}

static int64_t clock_get_ns(void *opaque)
{
	(void)opaque;
	return (int64_t)vm_loop_now_ns();
}

static void timer_fire(void *opaque)
{
	struct utimer *t = opaque;
	if (t->cb)
		t->cb(t->cb_opaque);
	else
		slirp_handle_timer(t->u->slirp, t->id, t->cb_opaque);
}

static struct utimer *utimer_new(struct user *u, SlirpTimerId id, SlirpTimerCb cb, void *cb_opaque)
{
	struct utimer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	*t = (struct utimer){ .u = u, .id = id, .cb = cb, .cb_opaque = cb_opaque };
	t->t = vm_timer_new(u->loop, timer_fire, t);
	if (!t->t) {
		free(t);
		return NULL;
	}
	return t;
}

static void *timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	return utimer_new(opaque, id, NULL, cb_opaque);
}

static void *timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	return utimer_new(opaque, SLIRP_TIMER_NUM, cb, cb_opaque);
}

static void timer_free(void *timer, void *opaque)
{
	struct utimer *t = timer;
	(void)opaque;
	if (t) {
		vm_timer_free(t->t);
		free(t);
	}
}

static void timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct utimer *t = timer;
	(void)opaque;
	vm_timer_arm(t->t, expire_ms < 0 ? 0 : (uint64_t)expire_ms * 1000000u);
}

static void register_poll_fd(int fd, void *opaque)
{
	(void)fd, (void)opaque; /* fds are handed over at every poll (fill) */
}

static void notify(void *opaque)
{
	struct user *u = opaque;
	vm_loop_kick(u->loop); /* poll again soon: slirp can take more data now */
}

static const SlirpCb callbacks = {
	.send_packet = send_packet,
	.guest_error = guest_error,
	.clock_get_ns = clock_get_ns,
	.timer_new = timer_new,
	.timer_free = timer_free,
	.timer_mod = timer_mod,
	.register_poll_fd = register_poll_fd,
	.unregister_poll_fd = register_poll_fd,
	.notify = notify,
	.timer_new_opaque = timer_new_opaque,
};

/* ---- the poll hook ---- */
static int add_poll(int fd, int events, void *opaque)
{
	struct user *u = opaque;
	if (u->throttled)
		events &= ~SLIRP_POLL_IN; /* host data waits in the host's socket buffers */
	short ev = (short)((events & SLIRP_POLL_IN ? POLLIN : 0) | (events & SLIRP_POLL_OUT ? POLLOUT : 0) |
			   (events & SLIRP_POLL_PRI ? POLLPRI : 0));
	return vm_loop_hook_add_pollfd(u->loop, fd, ev);
}

static int get_revents(int idx, void *opaque)
{
	struct user *u = opaque;
	short re = vm_loop_hook_revents(u->loop, idx);
	return (re & POLLIN ? SLIRP_POLL_IN : 0) | (re & POLLOUT ? SLIRP_POLL_OUT : 0) |
	       (re & POLLPRI ? SLIRP_POLL_PRI : 0) | (re & POLLERR ? SLIRP_POLL_ERR : 0) |
	       (re & POLLHUP ? SLIRP_POLL_HUP : 0);
}

static void hook_fill(void *opaque, uint64_t *timeout_ns)
{
	struct user *u = opaque;
	uint64_t ms64 = *timeout_ns == UINT64_MAX ? UINT32_MAX : (*timeout_ns + 999999) / 1000000;
	uint32_t ms = ms64 >= UINT32_MAX ? UINT32_MAX : (uint32_t)ms64, before = ms;
	u->throttled = u->nd && vm_netdev_queued(u->nd) >= VM_NET_QUEUE_HIGH;
	slirp_pollfds_fill(u->slirp, &ms, add_poll, u);
	if (ms < before && (uint64_t)ms * 1000000u < *timeout_ns)
		*timeout_ns = (uint64_t)ms * 1000000u;
}

static void hook_dispatch(void *opaque, bool error)
{
	struct user *u = opaque;
	/* the segments slirp's TCP sends in this pass may reach the guest merged */
	if (u->nd)
		vm_netdev_batch_begin(u->nd);
	slirp_pollfds_poll(u->slirp, error, get_revents, u);
	if (u->nd)
		vm_netdev_batch_end(u->nd);
}

/* ---- the netdev ---- */
static int user_send(void *be, const uint8_t *frame, size_t len)
{
	struct user *u = be;
	if (len > VM_NET_FRAME_MAX)
		return -EMSGSIZE;
	slirp_input(u->slirp, frame, (int)len);
	return 0;
}

static void user_free(void *be)
{
	struct user *u = be;
	if (u->slirp)
		slirp_cleanup(u->slirp); /* frees its timers through timer_free */
	free(u);
}

/* ---- the monitor's views and verbs ---- */
static void user_describe(void *be, char *buf, size_t len)
{
	struct user *u = be;
	char a[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &u->net, a, sizeof(a));
	snprintf(buf, len, "net=%s,restrict=%s", a, u->restrict_out ? "on" : "off");
}

static char *user_connections(void *be)
{
	struct user *u = be;
	return slirp_connection_info(u->slirp); /* QEMU's `info usernet` table is libslirp's */
}

static int user_hostfwd_add(void *be, const char *rule, char *err, size_t errlen)
{
	struct user *u = be;
	struct vm_net_hostfwd f;
	int rc = vm_net_hostfwd_parse(rule, &f, err, errlen);
	if (rc)
		return rc;
	if (slirp_add_hostfwd(u->slirp, f.udp, f.host_addr, f.host_port, f.guest_addr, f.guest_port) < 0) {
		snprintf(err, errlen, "Could not set up host forwarding rule '%s'", rule);
		return -EADDRINUSE;
	}
	return 0;
}

static int user_hostfwd_remove(void *be, bool udp, uint32_t host_addr_be, int host_port)
{
	struct user *u = be;
	struct in_addr a = { .s_addr = host_addr_be };
	return slirp_remove_hostfwd(u->slirp, udp, a, host_port) ? -ENOENT : 0;
}

/* ---- savevm: libslirp's own stream (its DHCP leases, IP id, guestfwd sockets) after the
 * version it was written with, as QEMU's "slirp" section carries it ---- */
static ssize_t state_write(const void *buf, size_t len, void *opaque)
{
	vm_net_blob_put(opaque, buf, len);
	return (ssize_t)len;
}

static ssize_t state_read(void *buf, size_t len, void *opaque)
{
	const uint8_t *p = vm_net_read(opaque, len);
	if (!p)
		return -1;
	memcpy(buf, p, len);
	return (ssize_t)len;
}

static void user_state_save(void *be, struct vm_net_blob *b)
{
	struct user *u = be;
	vm_net_blob_u32(b, (uint32_t)slirp_state_version());
	slirp_state_save(u->slirp, state_write, b);
}

static int user_state_load(void *be, const uint8_t *p, size_t len)
{
	struct user *u = be;
	struct vm_net_reader r = { p, len, 0, false };
	uint32_t version = vm_net_read_u32(&r);
	if (r.bad || version > (uint32_t)slirp_state_version())
		return -EINVAL;
	return slirp_state_load(u->slirp, (int)version, state_read, &r) < 0 || r.bad ? -EINVAL : 0;
}

static const struct vm_netdev_ops user_ops = {
	.type = "user",
	.takes_tso4 = true,
	.guest_csum = true,
	.send = user_send,
	.free = user_free,
	.describe = user_describe,
	.connections = user_connections,
	.hostfwd_add = user_hostfwd_add,
	.hostfwd_remove = user_hostfwd_remove,
	.state_save = user_state_save,
	.state_load = user_state_load,
};

static Slirp *start(struct user *u, const struct vm_net_user_cfg *c)
{
	SlirpConfig sc = {
		.version = 4,
		.restricted = c->restrict_out,
		.in_enabled = c->ipv4,
		.vnetwork = c->net,
		.vnetmask = c->mask,
		.vhost = c->host,
		.in6_enabled = c->ipv6,
		.vprefix_addr6 = c->prefix6,
		.vprefix_len = (uint8_t)c->prefix6_len,
		.vhost6 = c->host6,
		.vhostname = c->hostname,
		.tftp_server_name = NULL,
		.tftp_path = c->tftp,
		.bootfile = c->bootfile,
		.vdhcp_start = c->dhcp,
		.vnameserver = c->dns,
		.vnameserver6 = c->dns6,
		.vdnssearch = c->dnssearch[0] ? (const char **)c->dnssearch : NULL,
		.vdomainname = c->domainname,
	};
	return slirp_new(&sc, &callbacks, u);
}

int vm_net_user_new(struct vm_net *n, const char *id, struct vm_net_opts *o, char *err, size_t errlen)
{
	static struct vm_net_user_cfg cfg; /* large; set-up runs on one thread */
	int rc = vm_net_user_parse(o, &cfg, err, errlen);
	if (rc)
		return rc;
	struct user *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	u->loop = vm_net_loop(n);
	u->net = cfg.net;
	u->restrict_out = cfg.restrict_out;
	u->slirp = start(u, &cfg);
	if (!u->slirp) {
		free(u);
		snprintf(err, errlen, "libslirp could not start the user network");
		return -EINVAL;
	}
	for (int i = 0; i < cfg.ngfwd; i++) {
		struct vm_net_guestfwd *g = &cfg.gfwd[i];
		/* libslirp checks the address (inside the network, not the host's or DNS's) and the
		 * port, and runs the command for every connection */
		if (slirp_add_exec(u->slirp, g->cmd, &g->server, g->port) < 0) {
			snprintf(err, errlen, "Conflicting/invalid host:port in guest forwarding rule '%s'", g->rule);
			user_free(u);
			return -EINVAL;
		}
	}
	for (int i = 0; i < cfg.nfwd; i++) {
		const struct vm_net_hostfwd *f = &cfg.fwd[i];
		if (slirp_add_hostfwd(u->slirp, f->udp, f->host_addr, f->host_port, f->guest_addr, f->guest_port) < 0) {
			snprintf(err, errlen, "Could not set up host forwarding rule '%s'", f->rule);
			user_free(u);
			return -EADDRINUSE;
		}
	}
	struct vm_loop_hook h = { hook_fill, hook_dispatch, u };
	if ((rc = vm_loop_add_hook(u->loop, &h))) {
		snprintf(err, errlen, "too many network back ends");
		user_free(u);
		return rc;
	}
	u->nd = vm_netdev_new(n, id, &user_ops, u);
	if (!u->nd) {
		/* the hook stays registered with nothing to do: the process is about to exit */
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
