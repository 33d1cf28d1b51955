/* virtio_net.c - virtio-net (virtio 1.1 section 5.1.6): every frame is preceded by a
 * virtio_net_hdr, 12 bytes when the transport is modern or MRG_RXBUF was negotiated (its last
 * field, num_buffers, says over how many receive buffers the frame is spread), 10 bytes on a
 * legacy transport without it. Offloads: see virtio_net.h; received headers carry only
 * DATA_VALID (with GUEST_CSUM) and num_buffers. */
#include "emulator/devices/virtio_net.h"
#include "emulator/host/loop.h"
#include "emulator/net/blob.h"
#include "emulator/net/net.h"
#include "emulator/net/offload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define RXQ 0
#define TXQ 1
#define CTRLQ 2
#define CTRL_OK 0
#define CTRL_ERR 1
#define CTRL_RX 0       /* class: rx mode; commands 0 promisc, 1 allmulti, one byte on/off */
#define CTRL_MAC 1      /* class: MAC; commands 0 table set, 1 address set */
#define CTRL_MAC_TABLE_SET 0
#define CTRL_MAC_ADDR_SET 1
#define HDR_MAX 12
#define S_LINK_UP 1
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2
#define GSO_NONE 0
#define GSO_TCPV4 1
#define GSO_TCPV6 4
#define GSO_ECN 0x80
/* Transmitted frames go to the back end inside the guest's notify (no added latency), but
 * the used buffer notification waits, and with it the frames the back end answered TCP data
 * with (slirp ACKs every segment at once): until the guest idles, TX_IRQ_DELAY_NS pass, or
 * TX_IRQ_BURST chains are done. One interrupt then covers a run of packets, and while its
 * data is not acknowledged the guest's TCP merges small writes (Nagle, autocorking) instead
 * of sending a packet per write. */
#define TX_IRQ_DELAY_NS 500000u
#define TX_IRQ_BURST 64u

static bool negotiated(const struct vm_virtio_mmio *t, unsigned bit)
{
	return t->driver_features >> bit & 1;
}

static unsigned hdr_len(const struct vm_virtio_mmio *t)
{
	bool mrg = t->driver_features >> VM_VIRTIO_NET_F_MRG_RXBUF & 1;
	return !t->legacy || mrg ? 12 : 10;
}

static void set_status_field(struct vm_virtio_net *n)
{
	n->config[6] = n->link_up ? S_LINK_UP : 0;
	n->config[7] = 0;
}

/* Room for the whole frame and its header in the posted buffers (counted over all of them,
 * as QEMU counts), else the frame waits in the netdev's queue until the driver posts more. */
static bool can_receive(void *opaque, size_t len)
{
	struct vm_virtio_net *n = opaque;
	/* with the cable out frames are taken and dropped (QEMU drops them too) */
	return !n->link_up || vm_virtq_has_room(n->t, RXQ, hdr_len(n->t) + len);
}

/* Writes num_buffers into the header at the start of the first buffer of a frame, whose
 * segments were saved in `hs` (the scratch chain has moved on since). */
static void put_num_buffers(struct vm_virtio_mmio *t, const struct vm_virtq_seg *hs, unsigned nhs, uint16_t nb)
{
	uint8_t v[2] = { (uint8_t)nb, (uint8_t)(nb >> 8) };
	unsigned off = 10, i = 0;
	for (unsigned s = 0; s < nhs && i < 2; s++) {
		if (off >= hs[s].len) {
			off -= hs[s].len;
			continue;
		}
		for (; off < hs[s].len && i < 2; off++, i++) {
			if (t->dma_written)
				t->dma_written(t->dma_opaque, hs[s].pa + off, 1);
			hs[s].host[off] = v[i];
		}
		off = 0;
	}
}

static unsigned rx_offloads(void *opaque)
{
	struct vm_virtio_net *n = opaque;
	if (!n->t || !negotiated(n->t, VM_VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	return VM_NET_RX_CSUM | (negotiated(n->t, VM_VIRTIO_NET_F_GUEST_TSO4) ? VM_NET_RX_TSO4 : 0) |
	       (negotiated(n->t, VM_VIRTIO_NET_F_GUEST_TSO6) ? VM_NET_RX_TSO6 : 0);
}

/* Whether a back end's header asks only for what the guest takes (a driver that reset since
 * the frame came may take less). */
static bool vnet_fits(struct vm_virtio_net *n, const struct vm_net_gso *g)
{
	unsigned have = rx_offloads(n), gt = g->hdr[1];
	if ((g->hdr[0] & HDR_F_NEEDS_CSUM) && !(have & VM_NET_RX_CSUM))
		return false;
	return gt == GSO_NONE || (gt == GSO_TCPV4 && (have & VM_NET_RX_TSO4)) ||
	       (gt == GSO_TCPV6 && (have & VM_NET_RX_TSO6));
}

static bool takes_gso(void *opaque)
{
	struct vm_virtio_net *n = opaque;
	return negotiated(n->t, VM_VIRTIO_NET_F_GUEST_TSO4) && negotiated(n->t, VM_VIRTIO_NET_F_GUEST_CSUM);
}

/* The header of a received frame: merged TCP segments (GUEST_TSO4) go as one TSO packet whose
 * TCP checksum the guest need not complete (NEEDS_CSUM over a pseudo-header sum is what a
 * host's GRO hands a guest too); single frames are marked valid with GUEST_CSUM. */
static void rx_header(struct vm_virtio_net *n, uint8_t *hdr, const uint8_t *frame, const struct vm_net_gso *gso)
{
	if (gso && gso->vnet) {
		memcpy(hdr, gso->hdr, 10); /* the host kernel's, for what the guest said it takes */
		hdr[0] &= HDR_F_NEEDS_CSUM | HDR_F_DATA_VALID;
	} else if (gso) {
		unsigned l4 = 14 + 20, hl = l4 + (unsigned)(frame[l4 + 12] >> 4) * 4;
		hdr[0] = HDR_F_NEEDS_CSUM;
		hdr[1] = GSO_TCPV4;
		hdr[2] = (uint8_t)hl, hdr[3] = (uint8_t)(hl >> 8);
		hdr[4] = (uint8_t)gso->size, hdr[5] = (uint8_t)(gso->size >> 8);
		hdr[6] = (uint8_t)l4, hdr[7] = 0;
		hdr[8] = 16, hdr[9] = 0; /* the TCP checksum field */
	} else if (negotiated(n->t, VM_VIRTIO_NET_F_GUEST_CSUM)) {
		hdr[0] = HDR_F_DATA_VALID; /* the back end's frames carry correct checksums */
	}
}

/* One frame into as many receive buffers as it needs (one without MRG_RXBUF: the rest of a
 * frame that does not fit is cut off, as the driver promised buffers big enough). */
static void receive(void *opaque, const uint8_t *frame, size_t len, const struct vm_net_gso *gso)
{
	struct vm_virtio_net *n = opaque;
	struct vm_virtio_mmio *t = n->t;
	bool mrg = t->driver_features >> VM_VIRTIO_NET_F_MRG_RXBUF & 1;
	unsigned hl = hdr_len(t);
	struct vm_virtq_seg hs[HDR_MAX];
	unsigned nhs = 0;
	uint16_t nbuf = 0;
	size_t done = 0;
	struct vm_virtq_chain *c;
	if (!n->link_up || (gso && (gso->vnet ? !vnet_fits(n, gso) : !takes_gso(n)))) {
		n->rx_dropped++; /* merged for a driver that has gone since (reset) */
		return;
	}
	while ((nbuf == 0 || (mrg && done < len)) && (c = vm_virtq_pop(t, RXQ))) {
		uint64_t room = c->wr_len, off = 0;
		if (nbuf == 0) {
			uint8_t hdr[HDR_MAX] = { 0 };
			rx_header(n, hdr, frame, gso);
			hdr[10] = 1; /* num_buffers, fixed below when the frame spans more */
			if (room < hl || vm_virtq_write(t, c, 0, hdr, hl)) {
				vm_virtio_mmio_fail(t); /* a receive buffer must hold the header (5.1.6.3.1) */
				return;
			}
			off = hl;
			for (unsigned s = c->nrd; s < c->nrd + c->nwr && nhs < HDR_MAX; s++)
				hs[nhs++] = c->seg[s];
		}
		uint64_t chunk = len - done < room - off ? len - done : room - off;
		vm_virtq_write(t, c, off, frame + done, chunk);
		done += chunk;
		c->written = (uint32_t)(off + chunk);
		nbuf++;
		vm_virtq_push(t, RXQ, c);
	}
	if (nbuf == 0) {
		n->rx_dropped++;
		return;
	}
	if (nbuf > 1 && hl == 12)
		put_num_buffers(t, hs, nhs, nbuf);
	n->rx_frames++;
}

/* A control command (5.1.6.5): class and command, their data, then one writable ack byte.
 * RX modes and the MAC filter table are taken (every frame goes to the guest anyway); a new
 * MAC address goes into the config space, as QEMU's does. */
static int ctrl_request(struct vm_virtio_net *n, struct vm_virtio_mmio *t, struct vm_virtq_chain *c)
{
	uint8_t h[2], mac[6], ack = CTRL_ERR;
	c->written = 0;
	if (c->rd_len < 2 || c->wr_len < 1 || vm_virtq_read(c, 0, h, 2))
		return -EINVAL; /* no header or nowhere to answer: the driver broke the protocol */
	uint64_t len = c->rd_len - 2;
	if (h[0] == CTRL_RX && h[1] <= 1 && len == 1)
		ack = CTRL_OK;
	else if (h[0] == CTRL_MAC && h[1] == CTRL_MAC_TABLE_SET && len >= 8)
		ack = CTRL_OK;
	else if (h[0] == CTRL_MAC && h[1] == CTRL_MAC_ADDR_SET && len == 6 && !vm_virtq_read(c, 2, mac, 6) &&
		 negotiated(t, VM_VIRTIO_NET_F_CTRL_MAC_ADDR)) {
		memcpy(n->mac, mac, 6);
		memcpy(n->config, mac, 6);
		ack = CTRL_OK;
	}
	if (vm_virtq_write(t, c, 0, &ack, 1))
		return -EINVAL;
	c->written = 1;
	return 0;
}

/* Whether a frame is an IPv4 TCP segment carrying data (a receiver's bare ACKs are not:
 * what slirp answers them with, more data, goes to the guest at once). */
static bool tcp4_data(const uint8_t *f, size_t len)
{
	if (len < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4 || f[14 + 9] != 6)
		return false;
	size_t ihl = (size_t)(f[14] & 15) * 4, tot = (size_t)(f[16] << 8 | f[17]);
	if (len < 14 + ihl + 20)
		return false;
	size_t doff = (size_t)(f[14 + ihl + 12] >> 4) * 4;
	return (tot ? tot : len - 14) > ihl + doff;
}

/* The readable part of chain c from byte `off` on as iovecs (the guest's memory, in place):
 * their number, or -1 when there are more than VM_NET_TX_IOV_MAX. */
static int chain_iov(const struct vm_virtq_chain *c, uint64_t off, struct iovec *iov)
{
	int n = 0;
	for (unsigned i = 0; i < c->nrd; i++) {
		const struct vm_virtq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		if (n == VM_NET_TX_IOV_MAX)
			return -1;
		iov[n++] = (struct iovec){ s->host + off, s->len - off };
		off = 0;
	}
	return n;
}

/* To a back end taking the guest's header (tap with vnet_hdr): the host's stack does the
 * work the header asks for. The frame goes from the guest's buffers where the back end can
 * (no copy of a 64 KiB TSO packet), else through txbuf. */
static int tx_vnet(struct vm_virtio_net *n, struct vm_virtio_mmio *t, struct vm_virtq_chain *c, uint8_t *h,
		   uint64_t len)
{
	unsigned gso = h[1] & ~GSO_ECN, hl = hdr_len(t);
	struct iovec iov[VM_NET_TX_IOV_MAX];
	if ((gso == GSO_TCPV4 && !negotiated(t, VM_VIRTIO_NET_F_HOST_TSO4)) ||
	    (gso == GSO_TCPV6 && !negotiated(t, VM_VIRTIO_NET_F_HOST_TSO6)) ||
	    (gso != GSO_NONE && gso != GSO_TCPV4 && gso != GSO_TCPV6) ||
	    (h[0] & HDR_F_NEEDS_CSUM && !negotiated(t, VM_VIRTIO_NET_F_CSUM))) {
		n->tx_dropped++;
		return 0;
	}
	n->tx_frames++;
	n->tx_gso += gso != GSO_NONE;
	h[0] &= HDR_F_NEEDS_CSUM;
	int niov = chain_iov(c, hl, iov);
	if (niov > 0 && vm_netdev_send_vnet_iov(n->nd, h, iov, niov) != -ENOTSUP)
		return 0;
	if (vm_virtq_read(c, hl, n->txbuf, len))
		return -EINVAL;
	vm_netdev_send_vnet(n->nd, h, n->txbuf, len);
	return 0;
}

/* Transmit: header, then the frame, in the readable part of one chain. A checksum the guest
 * left to us (CSUM) is filled in; a TSO4 packet goes on whole (emulator/net/offload.h). */
static int tx_request(void *opaque, struct vm_virtio_mmio *t, unsigned q, struct vm_virtq_chain *c)
{
	struct vm_virtio_net *n = opaque;
	unsigned hl = hdr_len(t);
	uint8_t h[HDR_MAX], peek[128];
	if (q == CTRLQ)
		return ctrl_request(n, t, c);
	c->written = 0;
	if (q != TXQ || c->rd_len < hl || vm_virtq_read(c, 0, h, hl))
		return -EINVAL; /* no header: the driver broke the protocol */
	uint64_t len = c->rd_len - hl;
	if (len == 0 || len > VM_NET_FRAME_MAX || !n->link_up)
		return 0; /* nothing, too big for any wire, or the cable is out: dropped */
	unsigned gso = h[1] & ~GSO_ECN;
	int bad = 0;
	if (n->nd && vm_netdev_ops(n->nd)->send_vnet) {
		/* enough of the frame for tcp4_data: its Ethernet and IP headers, TCP's offset */
		if (vm_virtq_read(c, hl, peek, len < sizeof(peek) ? len : sizeof(peek)))
			return -EINVAL;
		n->tx_data |= gso != GSO_NONE || tcp4_data(peek, len);
		return tx_vnet(n, t, c, h, len);
	}
	if (vm_virtq_read(c, hl, n->txbuf, len))
		return -EINVAL;
	n->tx_data |= gso != GSO_NONE || tcp4_data(n->txbuf, len);
	if (gso == GSO_TCPV4 && negotiated(t, VM_VIRTIO_NET_F_HOST_TSO4))
		bad = vm_net_tso4_fixup(n->txbuf, len);
	else if (gso != GSO_NONE)
		bad = 1; /* an offload we did not offer */
	else if (h[0] & HDR_F_NEEDS_CSUM && negotiated(t, VM_VIRTIO_NET_F_CSUM))
		bad = vm_net_csum_fill(n->txbuf, len, (size_t)(h[6] | h[7] << 8), (size_t)(h[8] | h[9] << 8));
	if (bad) {
		n->tx_dropped++;
		return 0;
	}
	n->tx_frames++;
	n->tx_gso += gso != GSO_NONE;
	if (n->nd)
		vm_netdev_send(n->nd, n->txbuf, len);
	return 0;
}

/* The deferred used buffer notification of the transmit queue (n->tx_bh). */
static void tx_signal(void *opaque)
{
	struct vm_virtio_net *n = opaque;
	if (!n->tx_irq_pending)
		return;
	n->tx_irq_pending = false;
	vm_timer_disarm(n->tx_bh);
	if (n->tx_irq_force) /* after loadvm: the saved guest may wait for one */
		n->t->isr |= vm_virtio_mmio_live(n->t) ? 1 : 0;
	else
		vm_virtq_interrupt(n->t, TXQ, n->tx_irq_since);
	n->tx_irq_force = false;
	/* the back end's answers to what was sent (TCP ACKs from slirp) come with it */
	vm_netdev_rx_ready(n->nd);
}

static void tx_process(struct vm_virtio_net *n, struct vm_virtio_mmio *t)
{
	int since = vm_virtq_used_idx(t, TXQ);
	int done = vm_virtq_process_quiet(t, TXQ);
	if (done <= 0 || since < 0)
		return;
	if (!n->tx_irq_pending) {
		n->tx_irq_pending = true;
		n->tx_irq_since = (uint16_t)since;
		n->tx_unsignalled = 0;
		vm_timer_arm_soon(n->tx_bh, vm_loop_now_ns() + TX_IRQ_DELAY_NS);
	}
	n->tx_unsignalled += (unsigned)done;
	if (n->tx_unsignalled >= TX_IRQ_BURST)
		tx_signal(n);
}

static void notify(void *opaque, struct vm_virtio_mmio *t, unsigned q)
{
	struct vm_virtio_net *n = opaque;
	if (q == TXQ && n->tx_bh) {
		n->tx_data = false;
		tx_process(n, t);
		if (n->tx_irq_pending && n->tx_data)
			return; /* the answers (ACKs) to sent data wait for the interrupt: TX_IRQ_DELAY_NS */
	} else if (q != RXQ) {
		vm_virtq_process(t, q);
	}
	/* new receive buffers, or answers the back end gave while we transmitted */
	if (n->nd)
		vm_netdev_rx_ready(n->nd);
}

static void dev_reset(void *opaque)
{
	struct vm_virtio_net *n = opaque;
	/* frames queued in the netdev wait for the next driver; a pending interrupt is off */
	if (n->tx_bh)
		vm_timer_disarm(n->tx_bh);
	n->tx_irq_pending = n->tx_irq_force = false;
}

int vm_virtio_net_init(struct vm_virtio_net *n, const char *name, const uint8_t mac[6], bool mrg_rxbuf,
		       bool offloads, struct vm_netdev *nd)
{
	memset(n, 0, sizeof(*n));
	snprintf(n->name, sizeof(n->name), "%s", name ? name : "");
	n->txbuf = malloc(VM_NET_FRAME_MAX);
	if (!n->txbuf)
		return -ENOMEM;
	memcpy(n->mac, mac, 6);
	memcpy(n->config, mac, 6);
	n->link_up = true;
	set_status_field(n);
	n->nd = nd;
	if (nd && vm_netdev_loop(nd)) {
		n->tx_bh = vm_timer_new(vm_netdev_loop(nd), tx_signal, n);
		if (!n->tx_bh) {
			free(n->txbuf);
			return -ENOMEM;
		}
	}
	n->dev = (struct vm_virtio_dev){
		.device_id = 1,
		.features = 1ull << VM_VIRTIO_NET_F_MAC | 1ull << VM_VIRTIO_NET_F_STATUS |
			    1ull << VM_VIRTIO_NET_F_CTRL_VQ | 1ull << VM_VIRTIO_NET_F_CTRL_RX |
			    1ull << VM_VIRTIO_NET_F_CTRL_MAC_ADDR | 1ull << VM_VIRTIO_RING_F_EVENT_IDX |
			    (mrg_rxbuf ? 1ull << VM_VIRTIO_NET_F_MRG_RXBUF : 0) | 1ull << VM_VIRTIO_F_INDIRECT_DESC |
			    /* GUEST_CSUM where the back end's frames are known good; GUEST_TSO4 with
			     * it: TCP segments merged in emulator/net/net.c's queue */
			    (offloads && nd && vm_netdev_ops(nd)->guest_csum
				     ? 1ull << VM_VIRTIO_NET_F_GUEST_CSUM | 1ull << VM_VIRTIO_NET_F_GUEST_TSO4
				     : 0) |
			    (offloads ? 1ull << VM_VIRTIO_NET_F_CSUM : 0) |
			    (offloads && (!nd || vm_netdev_ops(nd)->takes_tso4) ? 1ull << VM_VIRTIO_NET_F_HOST_TSO4 : 0) |
			    (offloads && nd && vm_netdev_ops(nd)->send_vnet ? 1ull << VM_VIRTIO_NET_F_HOST_TSO6 : 0) |
			    /* a tap with a vnet header hands the kernel's GSO frames over as they are */
			    (offloads && nd && vm_netdev_ops(nd)->rx_vnet ? 1ull << VM_VIRTIO_NET_F_GUEST_TSO6 : 0),
		.config = n->config,
		.config_len = sizeof(n->config),
		.nqueues = 3,
		.request = tx_request,
		.notify = notify,
		.reset = dev_reset,
		.opaque = n,
	};
	return 0;
}

void vm_virtio_net_plug(struct vm_virtio_net *n, struct vm_virtio_mmio *t)
{
	n->t = t;
	if (n->nd) {
		struct vm_net_nic nic = { can_receive, receive, n, takes_gso, rx_offloads };
		vm_netdev_attach(n->nd, &nic);
	}
}

void vm_virtio_net_set_link(struct vm_virtio_net *n, bool up)
{
	if (n->link_up == up)
		return;
	n->link_up = up;
	set_status_field(n);
	if (n->t && vm_virtio_mmio_live(n->t))
		n->t->isr |= 2; /* configuration change notification */
	if (up && n->nd)
		vm_netdev_rx_ready(n->nd);
}

void vm_virtio_net_destroy(struct vm_virtio_net *n)
{
	free(n->txbuf);
	n->txbuf = NULL;
	vm_timer_free(n->tx_bh);
	n->tx_bh = NULL;
}

#define NET_STATE_MAGIC 0x4e455431u /* "NET1" */

int vm_virtio_net_state_save(const struct vm_virtio_net *n, uint8_t **buf, size_t *len)
{
	struct vm_net_blob b = { 0 };
	vm_net_blob_u32(&b, NET_STATE_MAGIC);
	vm_net_blob_u32(&b, n->link_up);
	vm_net_blob_u64(&b, n->rx_frames);
	vm_net_blob_u64(&b, n->tx_frames);
	vm_net_blob_u64(&b, n->rx_dropped);
	vm_net_blob_u64(&b, n->tx_dropped);
	vm_net_blob_u32(&b, n->nd != NULL);
	if (n->nd)
		vm_netdev_state_save(n->nd, &b);
	if (b.bad) {
		vm_net_blob_free(&b);
		return -ENOMEM;
	}
	*buf = b.p;
	*len = b.len;
	return 0;
}

int vm_virtio_net_state_load(struct vm_virtio_net *n, const uint8_t *buf, size_t len)
{
	struct vm_net_reader r = { buf, len, 0, false };
	uint32_t magic = vm_net_read_u32(&r), link = vm_net_read_u32(&r);
	uint64_t c[4];
	for (int i = 0; i < 4; i++)
		c[i] = vm_net_read_u64(&r);
	uint32_t has_nd = vm_net_read_u32(&r);
	if (r.bad || magic != NET_STATE_MAGIC || link > 1 || has_nd != (n->nd != NULL))
		return -EINVAL;
	if (n->nd && (vm_netdev_state_load(n->nd, &r) || r.pos != r.len))
		return -EINVAL;
	n->link_up = link;
	set_status_field(n);
	n->rx_frames = c[0], n->tx_frames = c[1], n->rx_dropped = c[2], n->tx_dropped = c[3];
	/* the saved guest may have sent packets whose interrupt had not come yet (it is not in
	 * the state): one interrupt, spurious at worst, lets it reclaim them */
	if (n->tx_bh) {
		n->tx_irq_pending = n->tx_irq_force = true;
		vm_timer_arm_soon(n->tx_bh, vm_loop_now_ns() + TX_IRQ_DELAY_NS);
	}
	return 0;
}
