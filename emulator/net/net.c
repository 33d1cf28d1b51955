/* net.c - the netdev set of a machine and the frame path between a back end and its NIC:
 * frames the NIC cannot take yet wait in a bounded FIFO (QEMU's net queues drop beyond a limit
 * too; TCP inside the guest then retransmits). */
#include "emulator/net/net.h"
#include "emulator/net/blob.h"
#include "emulator/net/dump.h"
#include "emulator/net/offload.h"
#include "emulator/net/opts.h"
#include "emulator/net/tap.h"
#include "emulator/net/user.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* QEMU's net queue holds 10000 packets: a Linux guest's receive window (megabytes) must fit,
 * or slirp's TCP loses segments and backs off for seconds (back ends also stop reading the
 * host while many frames wait: VM_NET_QUEUE_HIGH) */
#define QUEUE_MAX_FRAMES 10000
#define QUEUE_MAX_BYTES (32u << 20)
#define GSO_MARK 0x80000000u  /* savevm: a frame of merged TCP segments */
#define VNET_MARK 0x40000000u /* savevm: a frame with a back end's virtio_net_hdr */
#define VNET_HLEN 10
#define VNET_F_NEEDS_CSUM 1

struct frame {
	struct frame *next;
	size_t len, cap;
	struct vm_net_gso gso; /* nseg > 1: merged TCP segments */
	uint8_t data[];
};

struct vm_netdev {
	struct vm_netdev *next;
	struct vm_net *net;
	char id[64];
	const struct vm_netdev_ops *ops;
	void *be;
	struct vm_net_nic nic;
	bool attached;
	struct frame *head, *tail;
	unsigned nframes;
	size_t nbytes;
	bool draining;
	bool sending; /* inside the back end's send: deliveries wait in the queue */
	bool batch;   /* inside a back end's burst (vm_netdev_batch_begin) */
	struct vm_net_dump dump; /* -object filter-dump */
};

struct vm_net {
	struct vm_loop *loop;
	struct vm_netdev *list, *last;
};

static struct vm_net *current;

struct vm_net *vm_net_new(struct vm_loop *loop)
{
	struct vm_net *n = calloc(1, sizeof(*n));
	if (n) {
		n->loop = loop;
		current = n;
	}
	return n;
}

struct vm_net *vm_net_current(void)
{
	return current;
}

struct vm_netdev *vm_net_first(struct vm_net *n)
{
	return n ? n->list : NULL;
}

struct vm_netdev *vm_netdev_next(const struct vm_netdev *d)
{
	return d->next;
}

struct vm_loop *vm_net_loop(const struct vm_net *n)
{
	return n->loop;
}

static void queue_clear(struct vm_netdev *d)
{
	while (d->head) {
		struct frame *f = d->head;
		d->head = f->next;
		free(f);
	}
	d->tail = NULL;
	d->nframes = 0;
	d->nbytes = 0;
}

void vm_net_free(struct vm_net *n)
{
	if (!n)
		return;
	if (current == n)
		current = NULL;
	while (n->list) {
		struct vm_netdev *d = n->list;
		n->list = d->next;
		queue_clear(d);
		vm_net_dump_close(&d->dump);
		d->ops->free(d->be);
		free(d);
	}
	free(n);
}

struct vm_netdev *vm_net_find(struct vm_net *n, const char *id)
{
	for (struct vm_netdev *d = n->list; d; d = d->next)
		if (!strcmp(d->id, id))
			return d;
	return NULL;
}

struct vm_netdev *vm_netdev_new(struct vm_net *n, const char *id, const struct vm_netdev_ops *ops, void *be)
{
	struct vm_netdev *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->dump.fd = -1;
	d->net = n;
	d->ops = ops;
	d->be = be;
	if (n->last)
		n->last->next = d;
	else
		n->list = d;
	n->last = d;
	return d;
}

/* QEMU's identifiers: letters, digits, '-', '.', '_', starting with a letter. */
static bool id_ok(const char *id)
{
	if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z')))
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") == strlen(id) &&
	       strlen(id) < 64;
}

int vm_net_add_opts(struct vm_net *n, struct vm_net_opts *o, const char *anon_id, char *err, size_t errlen)
{
	const char *type = vm_net_opts_get(o, "type"), *id = vm_net_opts_first(o, "id");
	int rc = -EINVAL;
	bool anon = !id && anon_id;
	if (anon)
		id = anon_id;
	if (!type)
		snprintf(err, errlen, "Parameter 'type' is missing");
	else if (strcmp(type, "user") && strcmp(type, "tap"))
		snprintf(err, errlen, "Parameter 'type' does not accept value '%s'", type);
	else if (!id)
		snprintf(err, errlen, "Parameter 'id' is missing");
	else if (!anon && !id_ok(id))
		snprintf(err, errlen, "Parameter 'id' expects an identifier\n"
				      "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.");
	else if (vm_net_find(n, id))
		snprintf(err, errlen, "Duplicate ID '%s' for netdev", id);
	else if (!strcmp(type, "tap"))
		rc = vm_net_tap_new(n, id, o, err, errlen);
	else
		rc = vm_net_user_new(n, id, o, err, errlen);
	return rc;
}

int vm_net_add(struct vm_net *n, const char *spec, char *err, size_t errlen)
{
	struct vm_net_opts o;
	int rc = vm_net_opts_parse(&o, spec, "type");
	if (!rc)
		rc = vm_net_add_opts(n, &o, NULL, err, errlen);
	else
		snprintf(err, errlen, "too many options");
	vm_net_opts_free(&o);
	return rc;
}

void vm_net_check_peers(struct vm_net *n, void (*warn)(void *opaque, const char *msg), void *opaque)
{
	char msg[128];
	for (struct vm_netdev *d = n->list; d; d = d->next)
		if (!d->attached) {
			snprintf(msg, sizeof(msg), "netdev %s has no peer", d->id);
			warn(opaque, msg);
		}
}

const char *vm_netdev_id(const struct vm_netdev *d)
{
	return d->id;
}

const char *vm_netdev_type(const struct vm_netdev *d)
{
	return d->ops->type;
}

const struct vm_netdev_ops *vm_netdev_ops(const struct vm_netdev *d)
{
	return d->ops;
}

void *vm_netdev_backend(const struct vm_netdev *d)
{
	return d->be;
}

bool vm_netdev_attached(const struct vm_netdev *d)
{
	return d->attached;
}

struct vm_loop *vm_netdev_loop(const struct vm_netdev *d)
{
	return d->net->loop;
}

void vm_netdev_attach(struct vm_netdev *d, const struct vm_net_nic *nic)
{
	d->nic = *nic;
	d->attached = true;
}

int vm_netdev_dump(struct vm_netdev *d, const char *file, uint32_t maxlen, char *err, size_t errlen)
{
	vm_net_dump_close(&d->dump);
	return vm_net_dump_open(&d->dump, file, maxlen, err, errlen);
}

int vm_netdev_send(struct vm_netdev *d, const uint8_t *frame, size_t len)
{
	vm_net_dump_frame(&d->dump, frame, len);
	d->sending = true;
	int rc = d->ops->send(d->be, frame, len);
	d->sending = false;
	return rc;
}

int vm_netdev_send_vnet(struct vm_netdev *d, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	vm_net_dump_frame(&d->dump, frame, len);
	d->sending = true;
	int rc = d->ops->send_vnet(d->be, hdr, frame, len);
	d->sending = false;
	return rc;
}

int vm_netdev_send_vnet_iov(struct vm_netdev *d, const uint8_t *hdr, const struct iovec *iov, int iovcnt)
{
	if (!d->ops->send_vnet_iov || d->dump.fd >= 0)
		return -ENOTSUP; /* the pcap record wants the frame in one piece */
	d->sending = true;
	int rc = d->ops->send_vnet_iov(d->be, hdr, iov, iovcnt);
	d->sending = false;
	return rc;
}

static bool takes_gso(const struct vm_netdev *d)
{
	return d->nic.takes_gso && d->nic.takes_gso(d->nic.opaque);
}

/* Consecutive segments of one TCP connection merge into the tail frame (up to 64 KiB) when
 * the NIC takes merged frames; the tail grows by doubling. */
static bool merge_tail(struct vm_netdev *d, const uint8_t *frame, size_t len)
{
	struct frame *t = d->tail;
	if (!t || !t->gso.open || !vm_net_tcp4_continues(t->data, t->len, &t->gso, frame, len, VM_NET_FRAME_MAX))
		return false;
	size_t need = t->len + len;
	if (need > t->cap) {
		size_t cap = t->cap * 2 > need ? t->cap * 2 : need;
		if (cap > VM_NET_FRAME_MAX)
			cap = VM_NET_FRAME_MAX;
		struct frame *n = realloc(t, sizeof(*n) + cap);
		if (!n)
			return false;
		n->cap = cap;
		/* the tail is the last element: find its predecessor's link */
		if (d->head == t)
			d->head = n;
		else
			for (struct frame *p = d->head; p; p = p->next)
				if (p->next == t) {
					p->next = n;
					break;
				}
		d->tail = t = n;
	}
	size_t old = t->len;
	t->len = vm_net_tcp4_append(t->data, t->len, &t->gso, frame, len);
	d->nbytes += t->len - old;
	return true;
}

static void enqueue_gso(struct vm_netdev *d, const uint8_t *frame, size_t len, const struct vm_net_gso *g)
{
	if (d->nframes >= QUEUE_MAX_FRAMES || d->nbytes + len > QUEUE_MAX_BYTES)
		return; /* dropped, as a full receive queue on a wire */
	struct frame *f = malloc(sizeof(*f) + len);
	if (!f)
		return;
	f->next = NULL;
	f->len = f->cap = len;
	f->gso = g ? *g : (struct vm_net_gso){ 0 };
	memcpy(f->data, frame, len);
	if (d->tail)
		d->tail->next = f;
	else
		d->head = f;
	d->tail = f;
	d->nframes++;
	d->nbytes += len;
}

static void enqueue(struct vm_netdev *d, const uint8_t *frame, size_t len)
{
	struct vm_net_gso g;
	if (takes_gso(d)) {
		if (d->nbytes + len <= QUEUE_MAX_BYTES && merge_tail(d, frame, len))
			return;
		if (vm_net_tcp4_mergeable(frame, len, &g)) {
			enqueue_gso(d, frame, len, &g);
			return;
		}
	}
	enqueue_gso(d, frame, len, NULL);
}

void vm_netdev_deliver(struct vm_netdev *d, const uint8_t *frame, size_t len)
{
	vm_net_dump_frame(&d->dump, frame, len);
	if (!d->attached)
		return; /* no NIC: the frame goes nowhere */
	/* order is kept: a new frame waits behind queued ones */
	if (!d->head && !d->sending && !(d->batch && takes_gso(d)) && d->nic.can_receive &&
	    d->nic.can_receive(d->nic.opaque, len)) {
		d->nic.receive(d->nic.opaque, frame, len, NULL);
		return;
	}
	enqueue(d, frame, len);
}

void vm_netdev_deliver_vnet(struct vm_netdev *d, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	if (!(hdr[0] & VNET_F_NEEDS_CSUM) && hdr[1] == 0) {
		vm_netdev_deliver(d, frame, len); /* finished (or DATA_VALID): as any frame */
		return;
	}
	vm_net_dump_frame(&d->dump, frame, len);
	if (!d->attached)
		return;
	struct vm_net_gso g = { .vnet = true };
	memcpy(g.hdr, hdr, VNET_HLEN);
	/* nothing merges into it, so a batch need not hold it back */
	if (!d->head && !d->sending && d->nic.can_receive && d->nic.can_receive(d->nic.opaque, len)) {
		d->nic.receive(d->nic.opaque, frame, len, &g);
		return;
	}
	enqueue_gso(d, frame, len, &g);
}

unsigned vm_netdev_rx_offloads(const struct vm_netdev *d)
{
	return d->attached && d->nic.rx_offloads ? d->nic.rx_offloads(d->nic.opaque) : 0;
}

void vm_netdev_batch_begin(struct vm_netdev *d)
{
	d->batch = true;
}

void vm_netdev_batch_end(struct vm_netdev *d)
{
	d->batch = false;
	if (d->head)
		vm_netdev_rx_ready(d);
}

void vm_netdev_rx_ready(struct vm_netdev *d)
{
	if (!d->attached || !d->nic.can_receive || d->draining || d->sending)
		return; /* receive() may hand back buffers and call us again: the outer loop goes on */
	d->draining = true;
	while (d->head && d->nic.can_receive(d->nic.opaque, d->head->len)) {
		struct frame *f = d->head;
		d->head = f->next;
		if (!d->head)
			d->tail = NULL;
		d->nframes--;
		d->nbytes -= f->len;
		d->nic.receive(d->nic.opaque, f->data, f->len, f->gso.nseg > 1 || f->gso.vnet ? &f->gso : NULL);
		free(f);
	}
	d->draining = false;
}

unsigned vm_netdev_queued(const struct vm_netdev *d)
{
	return d->nframes;
}

void vm_netdev_state_save(const struct vm_netdev *d, struct vm_net_blob *b)
{
	size_t tl = strlen(d->ops->type);
	vm_net_blob_u32(b, (uint32_t)tl);
	vm_net_blob_put(b, d->ops->type, tl);
	vm_net_blob_u32(b, d->nframes);
	for (const struct frame *f = d->head; f; f = f->next) {
		/* a merged frame: its length with the top bit set, then the segment size and count;
		 * one with a back end's header: the next bit, then the header */
		bool m = f->gso.nseg > 1;
		vm_net_blob_u32(b, (uint32_t)f->len | (m ? GSO_MARK : 0) | (f->gso.vnet ? VNET_MARK : 0));
		if (m)
			vm_net_blob_u32(b, (uint32_t)f->gso.size | (uint32_t)f->gso.nseg << 16);
		if (f->gso.vnet)
			vm_net_blob_put(b, f->gso.hdr, VNET_HLEN);
		vm_net_blob_put(b, f->data, f->len);
	}
	struct vm_net_blob be = { 0 };
	if (d->ops->state_save)
		d->ops->state_save(d->be, &be);
	b->bad |= be.bad;
	vm_net_blob_u32(b, (uint32_t)be.len);
	vm_net_blob_put(b, be.p, be.len);
	vm_net_blob_free(&be);
}

int vm_netdev_state_load(struct vm_netdev *d, struct vm_net_reader *r)
{
	uint32_t tl = vm_net_read_u32(r);
	const uint8_t *type = vm_net_read(r, tl);
	if (!type || tl != strlen(d->ops->type) || memcmp(type, d->ops->type, tl))
		return -EINVAL; /* saved with another kind of back end */
	uint32_t nf = vm_net_read_u32(r);
	if (nf > QUEUE_MAX_FRAMES)
		return -EINVAL;
	size_t first = r->pos;
	for (uint32_t i = 0; i < nf; i++) {
		uint32_t len = vm_net_read_u32(r), g = 0;
		if ((len & GSO_MARK) && (len & VNET_MARK))
			return -EINVAL;
		if (len & GSO_MARK)
			g = vm_net_read_u32(r);
		if ((len & VNET_MARK) && !vm_net_read(r, VNET_HLEN))
			return -EINVAL;
		len &= ~(GSO_MARK | VNET_MARK);
		if (len > VM_NET_FRAME_MAX || !vm_net_read(r, len) || (g && ((g & 0xffff) == 0 || g >> 16 < 2)))
			return -EINVAL;
	}
	uint32_t bl = vm_net_read_u32(r);
	const uint8_t *bp = vm_net_read(r, bl);
	if (r->bad || (bl && !d->ops->state_load))
		return -EINVAL;
	if (bl && d->ops->state_load(d->be, bp, bl))
		return -EINVAL;
	/* the queue as the guest's state expects it: what waited at savevm, nothing newer */
	queue_clear(d);
	struct vm_net_reader fr = { r->p, r->len, first, false };
	for (uint32_t i = 0; i < nf; i++) {
		uint32_t len = vm_net_read_u32(&fr);
		struct vm_net_gso g = { 0 };
		if (len & GSO_MARK) {
			uint32_t v = vm_net_read_u32(&fr);
			g = (struct vm_net_gso){ .size = (uint16_t)v, .nseg = (uint16_t)(v >> 16) };
		}
		if (len & VNET_MARK) {
			g.vnet = true;
			memcpy(g.hdr, vm_net_read(&fr, VNET_HLEN), VNET_HLEN);
		}
		len &= ~(GSO_MARK | VNET_MARK);
		enqueue_gso(d, vm_net_read(&fr, len), len, &g);
	}
	return 0;
}
