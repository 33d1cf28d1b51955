/* virtqueue.c - split virtqueues (virtio 1.1 section 2.6): walking descriptor chains (with
 * indirect tables), handing them to the device and publishing used elements. Everything the
 * guest wrote is distrusted: a chain that loops, is too long, leaves RAM, nests indirect
 * tables or puts a readable buffer after a writable one marks the device broken instead of
 * being served (section 2.6.4.2 and 2.1.2), and the emulator carries on. */
#include "emulator/devices/virtio_mmio.h"
#include "emulator/bus/bus.h"

#include <errno.h>
#include <string.h>

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

static bool event_idx(const struct vm_virtio_mmio *t)
{
	return t->driver_features >> VM_VIRTIO_RING_F_EVENT_IDX & 1;
}

static uint16_t ld16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t ld32(const uint8_t *p) { return (uint32_t)ld16(p) | (uint32_t)ld16(p + 2) << 16; }
static uint64_t ld64(const uint8_t *p) { return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32; }
static void st16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void st32(uint8_t *p, uint32_t v) { st16(p, (uint16_t)v), st16(p + 2, (uint16_t)(v >> 16)); }

/* Before the device stores into guest RAM (the CPU drops decoded code there). */
static void dma_written(struct vm_virtio_mmio *t, uint64_t pa, uint64_t len)
{
	if (t->dma_written && len)
		t->dma_written(t->dma_opaque, pa, len);
}

static int add_seg(struct vm_virtio_mmio *t, struct vm_virtq_chain *c, uint64_t pa, uint32_t len, bool writable)
{
	if (c->nrd + c->nwr >= VM_VIRTIO_CHAIN_MAX)
		return -E2BIG;
	if (!writable && c->nwr)
		return -EINVAL; /* readable after writable: out of order */
	if (len == 0)
		return 0; /* nothing to move; its address is never used */
	uint8_t *host = vm_bus_ram(t->bus, pa, len);
	if (!host)
		return -EFAULT;
	c->seg[c->nrd + c->nwr] = (struct vm_virtq_seg){ host, pa, len };
	if (writable)
		c->nwr++, c->wr_len += len;
	else
		c->nrd++, c->rd_len += len;
	return 0;
}

/* Walks a table of `n` descriptors at `table` starting at index `i`. `indirect`: this is an
 * indirect table (no further indirection allowed). At most n descriptors are followed, so a
 * loop ends as an error. */
static int walk(struct vm_virtio_mmio *t, struct vm_virtq_chain *c, uint64_t table, uint32_t n, uint32_t i,
		bool indirect)
{
	for (uint32_t steps = 0;; steps++) {
		if (i >= n || steps >= n)
			return -ELOOP;
		const uint8_t *d = vm_bus_ram(t->bus, table + 16ull * i, 16);
		if (!d)
			return -EFAULT;
		uint64_t addr = ld64(d);
		uint32_t len = ld32(d + 8);
		uint16_t flags = ld16(d + 12), next = ld16(d + 14);
		int rc;
		if (flags & VRING_DESC_F_INDIRECT) {
			/* the spec forbids NEXT together with INDIRECT, and tables inside tables */
			if (indirect || (flags & VRING_DESC_F_NEXT) || len % 16 || len == 0 ||
			    len / 16 > VM_VIRTIO_CHAIN_MAX)
				return -EINVAL;
			return walk(t, c, addr, len / 16, 0, true);
		}
		if ((rc = add_seg(t, c, addr, len, flags & VRING_DESC_F_WRITE)))
			return rc;
		if (!(flags & VRING_DESC_F_NEXT))
			return 0;
		i = next;
	}
}

int vm_virtq_read(const struct vm_virtq_chain *c, uint64_t off, void *buf, uint64_t len)
{
	uint8_t *out = buf;
	for (unsigned i = 0; i < c->nrd && len; i++) {
		const struct vm_virtq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t n = s->len - off < len ? s->len - off : len;
		memcpy(out, s->host + off, n);
		out += n, len -= n, off = 0;
	}
	return len ? -EINVAL : 0;
}

int vm_virtq_write(struct vm_virtio_mmio *t, struct vm_virtq_chain *c, uint64_t off, const void *buf, uint64_t len)
{
	const uint8_t *in = buf;
	for (unsigned i = c->nrd; i < c->nrd + c->nwr && len; i++) {
		struct vm_virtq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t n = s->len - off < len ? s->len - off : len;
		dma_written(t, s->pa + off, n);
		memcpy(s->host + off, in, n);
		in += n, len -= n, off = 0;
	}
	return len ? -EINVAL : 0;
}

/* Queue qi's rings as mapped in guest RAM. */
struct ring {
	struct vm_virtq *q;
	uint8_t *avail, *used;
};

/* 1: the queue is ready and its rings lie in RAM; 0: not ready; -EFAULT: a ring leaves RAM
 * (the caller breaks the device). */
static int ring_map(struct vm_virtio_mmio *t, unsigned qi, struct ring *r)
{
	struct vm_virtq *q = &t->vq[qi];
	if (!q->ready || !q->num)
		return 0;
	r->q = q;
	r->avail = vm_bus_ram(t->bus, q->avail, 6 + 2ull * q->num);
	r->used = vm_bus_ram(t->bus, q->used, 6 + 8ull * q->num);
	if (!r->avail || !r->used || !vm_bus_ram(t->bus, q->desc, 16ull * q->num))
		return -EFAULT;
	return 1;
}

/* Takes the next available chain into c. 1: taken; 0: none available; -errno: the ring or
 * the chain is malformed (the caller breaks the device). */
static int take(struct vm_virtio_mmio *t, struct ring *r, struct vm_virtq_chain *c)
{
	struct vm_virtq *q = r->q;
	uint16_t avail_idx = ld16(r->avail + 2);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->num)
		return -EINVAL; /* the driver claims more buffers than the ring holds */
	c->head = ld16(r->avail + 4 + 2 * (q->last_avail % q->num));
	c->nrd = c->nwr = 0;
	c->rd_len = c->wr_len = 0;
	c->written = 0;
	int rc = walk(t, c, q->desc, q->num, c->head, false);
	if (rc)
		return rc;
	q->last_avail++;
	return 1;
}

/* Appends the used element for c (no interrupt). */
static void publish(struct vm_virtio_mmio *t, struct ring *r, const struct vm_virtq_chain *c)
{
	uint32_t num = r->q->num;
	uint16_t used_idx = ld16(r->used + 2);
	uint8_t *e = r->used + 4 + 8 * (used_idx % num);
	dma_written(t, r->q->used + 4 + 8 * (used_idx % num), 8);
	st32(e, c->head);
	st32(e + 4, c->written);
	dma_written(t, r->q->used + 2, 2);
	st16(r->used + 2, (uint16_t)(used_idx + 1));
}

/* Used buffer notification for the used elements [old, new), unless the driver asked for
 * none: with EVENT_IDX only when they pass its used_event (virtio 1.1 section 2.6.7.2),
 * which stands after the avail ring; otherwise unless it set NO_INTERRUPT. */
static void interrupt(struct vm_virtio_mmio *t, const struct ring *r, uint16_t old)
{
	uint16_t now = ld16(r->used + 2);
	if (event_idx(t)) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* used idx out before used_event is read */
		uint16_t ue = ld16(r->avail + 4 + 2 * r->q->num);
		if ((uint16_t)(now - ue - 1) >= (uint16_t)(now - old))
			return;
	} else if (ld16(r->avail) & VRING_AVAIL_F_NO_INTERRUPT) {
		return;
	}
	t->isr |= 1;
}

/* EVENT_IDX: asks for a notification when the driver makes chain `idx` available, by
 * writing avail_event after the used ring (section 2.6.7.1). Then true when chains arrived
 * meanwhile (the driver may have read the old avail_event and not notified). */
static bool want_kick(struct vm_virtio_mmio *t, const struct ring *r, uint16_t idx)
{
	uint32_t off = 4 + 8 * r->q->num;
	if (ld16(r->used + off) != idx) {
		dma_written(t, r->q->used + off, 2);
		st16(r->used + off, idx);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return ld16(r->avail + 2) != idx;
}

/* Serves the available chains through dev->request and publishes them. The number served,
 * or -1 when the ring or a request broke the device. */
static int serve(struct vm_virtio_mmio *t, struct ring *r, unsigned qi)
{
	struct vm_virtq_chain *c = &t->chain;
	int rc, n = 0;
	while ((rc = take(t, r, c)) > 0) {
		if (t->dev->request(t->dev->opaque, t, qi, c)) {
			rc = -EINVAL;
			break;
		}
		publish(t, r, c);
		n++;
	}
	if (rc < 0) {
		vm_virtio_mmio_fail(t);
		return -1;
	}
	return n;
}

int vm_virtq_process_quiet(struct vm_virtio_mmio *t, unsigned qi)
{
	struct ring r;
	int rc = ring_map(t, qi, &r), n = 0, m;
	if (rc <= 0) {
		if (rc)
			vm_virtio_mmio_fail(t);
		return rc ? -1 : 0;
	}
	do {
		if ((m = serve(t, &r, qi)) < 0)
			return -1;
		n += m;
	} while (event_idx(t) && want_kick(t, &r, r.q->last_avail));
	return n;
}

void vm_virtq_process(struct vm_virtio_mmio *t, unsigned qi)
{
	int old = vm_virtq_used_idx(t, qi);
	if (vm_virtq_process_quiet(t, qi) > 0)
		vm_virtq_interrupt(t, qi, (uint16_t)old);
}

int vm_virtq_used_idx(struct vm_virtio_mmio *t, unsigned qi)
{
	struct ring r;
	return ring_map(t, qi, &r) > 0 ? ld16(r.used + 2) : -1;
}

void vm_virtq_interrupt(struct vm_virtio_mmio *t, unsigned qi, uint16_t since)
{
	struct ring r;
	if (!t->broken && ring_map(t, qi, &r) > 0 && ld16(r.used + 2) != since)
		interrupt(t, &r, since);
}

struct vm_virtq_chain *vm_virtq_pop(struct vm_virtio_mmio *t, unsigned qi)
{
	struct ring r;
	if (t->broken || !t->dev || qi >= t->dev->nqueues || !(t->status & VM_VIRTIO_STATUS_DRIVER_OK))
		return NULL; /* no buffers are used before DRIVER_OK (virtio 1.1 section 3.1.2) */
	int rc = ring_map(t, qi, &r);
	if (rc > 0 && (rc = take(t, &r, &t->chain)) == 0 && event_idx(t) && want_kick(t, &r, r.q->last_avail))
		rc = take(t, &r, &t->chain); /* buffers came as we asked to hear of them */
	if (rc > 0)
		return &t->chain;
	if (rc < 0)
		vm_virtio_mmio_fail(t);
	return NULL;
}

void vm_virtq_push(struct vm_virtio_mmio *t, unsigned qi, struct vm_virtq_chain *c)
{
	struct ring r;
	int rc = ring_map(t, qi, &r);
	if (rc <= 0) {
		/* the driver cannot move the rings while the device holds the chain; be safe */
		vm_virtio_mmio_fail(t);
		return;
	}
	uint16_t old = ld16(r.used + 2);
	publish(t, &r, c);
	interrupt(t, &r, old);
}

bool vm_virtq_has_room(struct vm_virtio_mmio *t, unsigned qi, uint64_t bytes)
{
	struct ring r;
	if (t->broken || !t->dev || qi >= t->dev->nqueues || !(t->status & VM_VIRTIO_STATUS_DRIVER_OK))
		return false;
	if (ring_map(t, qi, &r) <= 0)
		return false;
	/* takes chains as vm_virtq_pop would, then gives them all back */
	uint16_t saved = r.q->last_avail;
	uint64_t room = 0;
	for (int pass = 0; pass < 2; pass++) {
		while (room < bytes && take(t, &r, &t->chain) > 0)
			room += t->chain.wr_len;
		/* short with EVENT_IDX: the next buffer the driver posts must notify us */
		if (room >= bytes || !event_idx(t) || !want_kick(t, &r, ld16(r.avail + 2)))
			break;
	}
	r.q->last_avail = saved;
	return room >= bytes;
}
