/* tap.c - the "tap" netdev: frames to and from a Linux tap interface (/dev/net/tun in
 * IFF_TAP|IFF_NO_PI mode), as QEMU 7.2's -netdev tap: ifname= opens or creates that
 * interface, fd= takes one the caller opened; script= and downscript= (QEMU's defaults
 * /etc/qemu-ifup and /etc/qemu-ifdown, "no" for none) run with the interface's name. Options,
 * checks and messages follow QEMU's; the tap fd joins the host event loop as a poll hook so
 * reading stops while the NIC is behind (the kernel's queue holds the frames, or drops).
 * vnet_hdr (QEMU's default where the kernel has it; vnet_hdr=off, or an fd= without
 * IFF_VNET_HDR, goes without): every frame carries a 10-byte virtio_net_hdr, so the guest's
 * checksum and TSO requests reach the kernel as they are (one write per 64 KiB TCP packet);
 * towards the guest the kernel's offloads follow what its driver took (TUNSETOFFLOAD with
 * GUEST_CSUM/TSO4/TSO6, as QEMU's tap): a host's 64 KiB TCP send reaches the guest as one
 * frame with its header (one read, no merging), else the kernel sends finished frames. */
#include "emulator/host/loop.h"
#include "emulator/net/net.h"
#include "emulator/net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_SCRIPT "/etc/qemu-ifup"
#define DEFAULT_DOWNSCRIPT "/etc/qemu-ifdown"
#define READ_BURST 64 /* frames per poll: other sources get their turn */
#define VNET_HLEN 10  /* struct virtio_net_hdr, the kernel's default size */

struct tap {
	struct vm_netdev *nd;
	struct vm_loop *loop;
	int fd;
	int pollidx;
	bool from_fd; /* fd=: the caller's descriptor, no scripts */
	bool vnet;    /* IFF_VNET_HDR: frames carry a virtio_net_hdr both ways */
	unsigned offloads; /* VM_NET_RX_* last set with TUNSETOFFLOAD */
	char ifname[IFNAMSIZ];
	char script[256], downscript[256];
	uint8_t buf[VNET_HLEN + VM_NET_FRAME_MAX];
};

/* QEMU's launch_script: SCRIPT IFNAME with only stdio open; 0 or the wait status. */
static int run_script(const char *script, const char *ifname)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		long max = sysconf(_SC_OPEN_MAX);
		for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 1024); fd++)
			close(fd);
		execl(script, script, ifname, (char *)NULL);
		_exit(1);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

/* The kernel hands over partial checksums and GSO frames only as the guest takes them. */
static void set_offloads(struct tap *t, unsigned want)
{
	if (want == t->offloads)
		return;
	unsigned long f = (want & VM_NET_RX_CSUM ? TUN_F_CSUM : 0) |
			  (want & VM_NET_RX_CSUM && want & VM_NET_RX_TSO4 ? TUN_F_TSO4 : 0) |
			  (want & VM_NET_RX_CSUM && want & VM_NET_RX_TSO6 ? TUN_F_TSO6 : 0);
	if (ioctl(t->fd, TUNSETOFFLOAD, f) < 0)
		ioctl(t->fd, TUNSETOFFLOAD, 0ul); /* refused (an old kernel): finished frames */
	t->offloads = want; /* not asked again until the guest's features change */
}

/* ---- the poll hook ---- */
static void hook_fill(void *opaque, uint64_t *timeout_ns)
{
	struct tap *t = opaque;
	(void)timeout_ns;
	t->pollidx = -1;
	if (t->vnet && t->nd)
		set_offloads(t, vm_netdev_rx_offloads(t->nd));
	if (t->nd && vm_netdev_queued(t->nd) >= VM_NET_QUEUE_HIGH)
		return; /* frames wait in the kernel's queue */
	t->pollidx = vm_loop_hook_add_pollfd(t->loop, t->fd, POLLIN);
}

static void hook_dispatch(void *opaque, bool error)
{
	struct tap *t = opaque;
	if (error || t->pollidx < 0 || !(vm_loop_hook_revents(t->loop, t->pollidx) & POLLIN))
		return;
	vm_netdev_batch_begin(t->nd); /* a burst's TCP segments may reach the guest merged */
	for (int i = 0; i < READ_BURST && vm_netdev_queued(t->nd) < VM_NET_QUEUE_HIGH; i++) {
		ssize_t r = read(t->fd, t->buf, sizeof(t->buf));
		if (r <= 0)
			break; /* EAGAIN: drained */
		size_t h = t->vnet ? VNET_HLEN : 0;
		if ((size_t)r <= h)
			continue;
		if (t->offloads) /* else nothing in the header to act on */
			vm_netdev_deliver_vnet(t->nd, t->buf, t->buf + h, (size_t)r - h);
		else
			vm_netdev_deliver(t->nd, t->buf + h, (size_t)r - h);
	}
	vm_netdev_batch_end(t->nd);
}

/* ---- the netdev ---- */
static int tap_send(void *be, const uint8_t *frame, size_t len)
{
	struct tap *t = be;
	ssize_t w;
	do
		w = write(t->fd, frame, len);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0; /* EAGAIN: the kernel's queue is full, the frame is lost */
}

static int tap_send_vnet(void *be, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	struct tap *t = be;
	uint8_t none[VNET_HLEN] = { 0 };
	struct iovec iov[2] = { { (void *)(hdr ? hdr : none), VNET_HLEN }, { (void *)frame, len } };
	ssize_t w;
	do
		w = writev(t->fd, iov, 2);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}

/* From the guest's buffers as they are: no copy of a 64 KiB TSO packet before the kernel's. */
static int tap_send_vnet_iov(void *be, const uint8_t *hdr, const struct iovec *iov, int iovcnt)
{
	struct tap *t = be;
	struct iovec v[1 + VM_NET_TX_IOV_MAX];
	if (iovcnt > VM_NET_TX_IOV_MAX)
		return -E2BIG;
	v[0] = (struct iovec){ (void *)hdr, VNET_HLEN };
	memcpy(v + 1, iov, sizeof(*iov) * (size_t)iovcnt);
	ssize_t w;
	do
		w = writev(t->fd, v, 1 + iovcnt);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}

static int tap_send_plain(void *be, const uint8_t *frame, size_t len)
{
	struct tap *t = be;
	return t->vnet ? tap_send_vnet(be, NULL, frame, len) : tap_send(be, frame, len);
}

static void tap_free(void *be)
{
	struct tap *t = be;
	if (t->fd >= 0)
		close(t->fd);
	/* QEMU runs the downscript after closing the interface */
	if (!t->from_fd && strcmp(t->downscript, "no") && t->downscript[0])
		run_script(t->downscript, t->ifname);
	free(t);
}

static void tap_describe(void *be, char *buf, size_t len)
{
	struct tap *t = be;
	if (t->from_fd)
		snprintf(buf, len, "fd=%d", t->fd);
	else
		snprintf(buf, len, "ifname=%s,script=%s,downscript=%s", t->ifname, t->script, t->downscript);
}

static const struct vm_netdev_ops tap_ops = {
	.type = "tap",
	.guest_csum = true,
	.send = tap_send,
	.free = tap_free,
	.describe = tap_describe,
};

/* with a vnet header: the NIC hands the guest's header over (TSO, checksum requests) */
static const struct vm_netdev_ops tap_vnet_ops = {
	.type = "tap",
	.takes_tso4 = true,
	.guest_csum = true,
	.rx_vnet = true,
	.send = tap_send_plain,
	.send_vnet = tap_send_vnet,
	.send_vnet_iov = tap_send_vnet_iov,
	.free = tap_free,
	.describe = tap_describe,
};

/* ---- opening ---- */
static int open_ifname(struct tap *t, const char *ifname, bool vnet, char *err, size_t errlen)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "could not open /dev/net/tun: %s", strerror(e));
		return -e;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname && *ifname ? ifname : "tap%d");
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		snprintf(err, errlen, "could not configure /dev/net/tun (%s): %s", ifname ? ifname : "", strerror(e));
		close(fd);
		return -e;
	}
	/* the header size belongs to the interface, not to our descriptor: a persistent tap
	 * another program used (QEMU sets 12) keeps its size until set again */
	int hl = VNET_HLEN;
	if (vnet && ioctl(fd, TUNSETVNETHDRSZ, &hl) < 0) {
		close(fd);
		return open_ifname(t, ifname, false, err, errlen);
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	t->fd = fd;
	t->vnet = vnet;
	return 0;
}

static int take_fd(struct tap *t, const char *id, const char *s, char *err, size_t errlen)
{
	char *end;
	long fd = strtol(s, &end, 10);
	struct ifreq ifr = { 0 };
	if (*end || end == s || fd < 0 || fd > 1 << 20) {
		snprintf(err, errlen, "%s: Can't use file descriptor %s: Bad file descriptor", id, s);
		return -EBADF;
	}
	if (fcntl((int)fd, F_GETFD) < 0) {
		snprintf(err, errlen, "%s: Can't use file descriptor %ld: %s", id, fd, strerror(errno));
		return -EBADF;
	}
	if (ioctl((int)fd, TUNGETIFF, &ifr) < 0) {
		int e = errno;
		snprintf(err, errlen, "Unable to query TUNGETIFF on FD %ld: %s", fd, strerror(e));
		return -e;
	}
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	t->fd = (int)fd;
	t->from_fd = true;
	t->vnet = ifr.ifr_flags & IFF_VNET_HDR; /* QEMU probes the fd the same way */
	int hl = VNET_HLEN;
	if (t->vnet && ioctl(t->fd, TUNSETVNETHDRSZ, &hl) < 0)
		t->vnet = false; /* cannot use it: frames would be misparsed, so none of it */
	return 0;
}

/* -netdev tap options after type and id; on error `err` gets QEMU's text. */
static int tap_open(struct tap *t, const char *id, struct vm_net_opts *o, char *err, size_t errlen)
{
	const char *ifname = vm_net_opts_get(o, "ifname"), *fd = vm_net_opts_get(o, "fd");
	const char *script = vm_net_opts_get(o, "script"), *down = vm_net_opts_get(o, "downscript");
	const char *vnet = vm_net_opts_get(o, "vnet_hdr");
	const struct vm_net_opt *bad = vm_net_opts_unused(o);
	bool vnet_on = true; /* QEMU's default: on where the kernel has it */
	if (bad) {
		snprintf(err, errlen, "Invalid parameter '%s'", bad->key);
		return -EINVAL;
	}
	if (vnet && vm_net_opts_bool(vnet, &vnet_on)) {
		snprintf(err, errlen, "Parameter 'vnet_hdr' expects 'on' or 'off'");
		return -EINVAL;
	}
	if (fd) {
		if (ifname || script || down || vnet) {
			snprintf(err, errlen, "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and "
					      "vhostfds= are invalid with fd=");
			return -EINVAL;
		}
		return take_fd(t, id, fd, err, errlen);
	}
	snprintf(t->script, sizeof(t->script), "%s", script ? script : DEFAULT_SCRIPT);
	snprintf(t->downscript, sizeof(t->downscript), "%s", down ? down : DEFAULT_DOWNSCRIPT);
	int rc = open_ifname(t, ifname, vnet_on, err, errlen);
	if (rc == -EINVAL && vnet_on && !vnet) /* a kernel without IFF_VNET_HDR: QEMU goes on without */
		rc = open_ifname(t, ifname, false, err, errlen);
	if (rc)
		return rc;
	if (strcmp(t->script, "no") && t->script[0]) {
		int st = run_script(t->script, t->ifname);
		if (st) {
			snprintf(err, errlen, "network script %s failed with status %d", t->script, st);
			close(t->fd);
			t->fd = -1;
			return -EIO;
		}
	}
	return 0;
}

int vm_net_tap_new(struct vm_net *n, const char *id, struct vm_net_opts *o, char *err, size_t errlen)
{
	struct tap *t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->fd = -1;
	t->loop = vm_net_loop(n);
	int rc = tap_open(t, id, o, err, errlen);
	if (rc) {
		free(t);
		return rc;
	}
	fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
	if (t->vnet)
		ioctl(t->fd, TUNSETOFFLOAD, 0ul); /* finished frames towards the guest */
	struct vm_loop_hook h = { hook_fill, hook_dispatch, t };
	if ((rc = vm_loop_add_hook(t->loop, &h))) {
		snprintf(err, errlen, "too many network back ends");
		tap_free(t);
		return rc;
	}
	t->nd = vm_netdev_new(n, id, t->vnet ? &tap_vnet_ops : &tap_ops, t);
	if (!t->nd) {
		snprintf(err, errlen, "out of memory"); /* the hook stays: the process is about to exit */
		return -ENOMEM;
	}
	return 0;
}
