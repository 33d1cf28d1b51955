/* devstate.c - the board devices' savevm sections (devstate.h). Every load reads and checks
 * its whole section into locals before it writes the device. */
#include "emulator/machine/devstate.h"
#include "emulator/devices/devices.h"
#include "emulator/devices/virtio_input.h"
#include "emulator/devices/virtio_mmio.h"
#include "emulator/devices/virtio_net.h"
#include "emulator/machine/vmstate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- CLINT ---- */

/* version 2: the hart count, then msip and mtimecmp of each hart; version 1 (one hart) loads
 * into a one-hart board */
int vm_clint_state_save(void *opaque, struct vm_state *s)
{
	const struct vm_clint *c = opaque;
	vm_state_put_u32(s, c->nharts);
	for (unsigned i = 0; i < c->nharts; i++) {
		vm_state_put_u32(s, c->msip[i]);
		vm_state_put_u64(s, c->mtimecmp[i]);
	}
	return 0;
}

int vm_clint_state_load(void *opaque, struct vm_state *s, unsigned version)
{
	struct vm_clint *c = opaque;
	uint32_t n = version == 1 ? 1 : vm_state_get_u32(s), msip[VM_MAX_HARTS];
	uint64_t mtimecmp[VM_MAX_HARTS];
	if ((version != 1 && version != 2) || n != c->nharts)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		msip[i] = vm_state_get_u32(s);
		mtimecmp[i] = vm_state_get_u64(s);
		if (msip[i] > 1)
			return -EINVAL;
	}
	if (!vm_state_done(s))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		c->msip[i] = msip[i];
		c->mtimecmp[i] = mtimecmp[i];
	}
	return 0;
}

/* ---- PLIC ---- */

static void put_words(struct vm_state *s, const uint32_t *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vm_state_put_u32(s, w[i]);
}

static void get_words(struct vm_state *s, uint32_t *w, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		w[i] = vm_state_get_u32(s);
}

/* version 2: the context count first (version 1: two contexts, one hart) */
int vm_plic_state_save(void *opaque, struct vm_state *s)
{
	const struct vm_plic *p = opaque;
	vm_state_put_u32(s, p->ncontexts);
	put_words(s, p->priority, VM_PLIC_SOURCES);
	put_words(s, p->pending, VM_PLIC_SOURCES / 32);
	put_words(s, p->claimed, VM_PLIC_SOURCES / 32);
	for (unsigned c = 0; c < p->ncontexts; c++)
		put_words(s, p->enable[c], VM_PLIC_SOURCES / 32);
	put_words(s, p->threshold, p->ncontexts);
	return 0;
}

int vm_plic_state_load(void *opaque, struct vm_state *s, unsigned version)
{
	struct vm_plic n;
	memset(&n, 0, sizeof(n));
	n.ncontexts = version == 1 ? 2 : vm_state_get_u32(s);
	if ((version != 1 && version != 2) || n.ncontexts != ((struct vm_plic *)opaque)->ncontexts)
		return -EINVAL;
	get_words(s, n.priority, VM_PLIC_SOURCES);
	get_words(s, n.pending, VM_PLIC_SOURCES / 32);
	get_words(s, n.claimed, VM_PLIC_SOURCES / 32);
	for (unsigned c = 0; c < n.ncontexts; c++)
		get_words(s, n.enable[c], VM_PLIC_SOURCES / 32);
	get_words(s, n.threshold, n.ncontexts);
	if (!vm_state_done(s) || n.priority[0])
		return -EINVAL;
	for (unsigned i = 0; i < VM_PLIC_SOURCES; i++)
		if (n.priority[i] > 7)
			return -EINVAL;
	for (unsigned c = 0; c < n.ncontexts; c++)
		if (n.threshold[c] > 7 || (n.enable[c][0] & 1))
			return -EINVAL;
	*(struct vm_plic *)opaque = n;
	return 0;
}

/* ---- sifive_test: a power-off or reset the guest asked for and the machine has not taken ---- */

int vm_test_state_save(void *opaque, struct vm_state *s)
{
	const struct vm_exit_state *e = opaque;
	vm_state_put_bool(s, e->requested);
	vm_state_put_bool(s, e->reset);
	vm_state_put_u32(s, (uint32_t)e->code);
	return 0;
}

int vm_test_state_load(void *opaque, struct vm_state *s, unsigned version)
{
	struct vm_exit_state n;
	n.requested = vm_state_get_bool(s);
	n.reset = vm_state_get_bool(s);
	n.code = (int)vm_state_get_u32(s);
	if (version != 1 || !vm_state_done(s) || n.code < 0 || n.code > 0xffff)
		return -EINVAL;
	*(struct vm_exit_state *)opaque = n;
	return 0;
}

/* ---- virtio-mmio slot ---- */

static void put_vq(struct vm_state *s, const struct vm_virtq *q)
{
	vm_state_put_u32(s, q->num);
	vm_state_put_bool(s, q->ready);
	vm_state_put_u64(s, q->desc);
	vm_state_put_u64(s, q->avail);
	vm_state_put_u64(s, q->used);
	vm_state_put_u16(s, q->last_avail);
	vm_state_put_u32(s, q->pfn);
}

static bool get_vq(struct vm_state *s, struct vm_virtq *q)
{
	q->num = vm_state_get_u32(s);
	q->ready = vm_state_get_bool(s);
	q->desc = vm_state_get_u64(s);
	q->avail = vm_state_get_u64(s);
	q->used = vm_state_get_u64(s);
	q->last_avail = vm_state_get_u16(s);
	q->pfn = vm_state_get_u32(s);
	return q->num <= VM_VIRTIO_QUEUE_MAX && !(q->num & (q->num - 1));
}

/* Version 2: the events a virtio-input device holds for a driver without buffers (a power
 * button press in flight), in order, and its drop count; nothing for other devices. */
static void put_input(struct vm_state *s, const struct vm_virtio_mmio *t)
{
	const struct vm_virtio_input *in = t->dev && t->dev->device_id == 18 ? t->dev->opaque : NULL;
	vm_state_put_u32(s, in ? in->count : 0);
	vm_state_put_u64(s, in ? in->dropped : 0);
	for (unsigned i = 0; in && i < in->count; i++) {
		const struct vm_input_event *e = &in->queued[(in->first + i) % VM_VIRTIO_INPUT_QUEUED];
		vm_state_put_u16(s, e->type);
		vm_state_put_u16(s, e->code);
		vm_state_put_u32(s, e->value);
	}
}

static bool get_input(struct vm_state *s, struct vm_virtio_mmio *t, unsigned version)
{
	struct vm_virtio_input *in = t->dev && t->dev->device_id == 18 ? t->dev->opaque : NULL;
	struct vm_virtio_input tmp = { 0 };
	if (version >= 2) {
		tmp.count = vm_state_get_u32(s);
		tmp.dropped = vm_state_get_u64(s);
		if (tmp.count > VM_VIRTIO_INPUT_QUEUED || (tmp.count && !in))
			return false;
		for (unsigned i = 0; i < tmp.count; i++) {
			tmp.queued[i].type = vm_state_get_u16(s);
			tmp.queued[i].code = vm_state_get_u16(s);
			tmp.queued[i].value = vm_state_get_u32(s);
		}
	}
	if (!in)
		return true;
	memcpy(in->queued, tmp.queued, sizeof(in->queued));
	in->first = 0;
	in->count = tmp.count;
	in->dropped = tmp.dropped;
	return true;
}

/* Version 3: a virtio-net card's link, counters and its netdev's state (frames waiting for
 * the guest, slirp's) as the net module's blob; an empty one for other devices. */
static int put_net(struct vm_state *s, const struct vm_virtio_mmio *t)
{
	uint8_t *b = NULL;
	size_t n = 0;
	if (t->dev && t->dev->device_id == 1 && vm_virtio_net_state_save(t->dev->opaque, &b, &n))
		return -ENOMEM;
	vm_state_put_u32(s, (uint32_t)n);
	vm_state_put_bytes(s, b, n);
	free(b);
	return 0;
}

/* Set at once (the netdev's queue and slirp are outside the board the caller backs up; both
 * loads are idempotent, so the caller's check pass and its real pass agree). */
static bool get_net(struct vm_state *s, struct vm_virtio_mmio *t, unsigned version)
{
	bool net = t->dev && t->dev->device_id == 1;
	if (version < 3)
		return true; /* an older stream: the card keeps what it has */
	uint32_t n = vm_state_get_u32(s);
	if (s->bad || n > s->rd_len - s->pos || (n != 0) != net)
		return false;
	const uint8_t *p = s->rd + s->pos;
	s->pos += n;
	return !net || !vm_virtio_net_state_load(t->dev->opaque, p, n);
}

int vm_virtio_state_save(void *opaque, struct vm_state *s)
{
	const struct vm_virtio_mmio *t = opaque;
	vm_state_put_bool(s, t->legacy);
	vm_state_put_u32(s, t->dev ? t->dev->device_id : 0);
	vm_state_put_u32(s, t->status);
	vm_state_put_u32(s, t->isr);
	vm_state_put_u32(s, t->dev_feat_sel);
	vm_state_put_u32(s, t->drv_feat_sel);
	vm_state_put_u32(s, t->queue_sel);
	vm_state_put_u32(s, t->guest_page_size);
	vm_state_put_u32(s, t->queue_align);
	vm_state_put_u64(s, t->driver_features);
	vm_state_put_bool(s, t->broken);
	vm_state_put_u32(s, VM_VIRTIO_MAX_QUEUES);
	for (unsigned q = 0; q < VM_VIRTIO_MAX_QUEUES; q++)
		put_vq(s, &t->vq[q]);
	/* the device's config space: virtio-blk's (capacity, limits) is checked on load, a
	 * guest-written one (virtio-input's select/subsel) is restored */
	uint32_t n = t->dev ? t->dev->config_len : 0;
	vm_state_put_u32(s, n);
	if (n)
		vm_state_put_bytes(s, t->dev->config, n);
	put_input(s, t);
	return put_net(s, t);
}

int vm_virtio_state_load(void *opaque, struct vm_state *s, unsigned version)
{
	struct vm_virtio_mmio *t = opaque;
	uint8_t config[256];
	struct vm_virtq vq[VM_VIRTIO_MAX_QUEUES];
	bool legacy = vm_state_get_bool(s), ok = true;
	uint32_t id = vm_state_get_u32(s), r[7];
	for (int i = 0; i < 7; i++)
		r[i] = vm_state_get_u32(s);
	uint64_t drv_features = vm_state_get_u64(s);
	bool broken = vm_state_get_bool(s);
	if (vm_state_get_u32(s) != VM_VIRTIO_MAX_QUEUES)
		return -EINVAL;
	for (unsigned q = 0; q < VM_VIRTIO_MAX_QUEUES; q++)
		ok &= get_vq(s, &vq[q]);
	uint32_t n = vm_state_get_u32(s);
	uint32_t want = t->dev ? t->dev->config_len : 0;
	if (n != want || n > sizeof(config))
		return -EINVAL;
	vm_state_get_bytes(s, config, n);
	if (version < 1 || version > 3 || !ok || legacy != t->legacy || id != (t->dev ? t->dev->device_id : 0) ||
	    (id == 2 && memcmp(config, t->dev->config, n)))
		return -EINVAL; /* virtio-blk's config is the disk's geometry: it must match */
	/* the input queue is read before anything changes, but set at once: on a refusal the
	 * caller puts the whole board back */
	if (!get_input(s, t, version) || !get_net(s, t, version) || !vm_state_done(s))
		return -EINVAL;
	if (n && id != 2) /* virtio-input: the guest's select/subsel and what they show */
		memcpy((uint8_t *)(uintptr_t)t->dev->config, config, n);
	t->status = r[0], t->isr = r[1], t->dev_feat_sel = r[2], t->drv_feat_sel = r[3];
	t->queue_sel = r[4], t->guest_page_size = r[5], t->queue_align = r[6];
	t->driver_features = drv_features;
	t->broken = broken;
	memcpy(t->vq, vq, sizeof(vq));
	return 0;
}

/* ---- 16550 UART: registers and the receive FIFO. Kept apart from the UART's I/O (the
 * chardev back end): only the register fields of struct vm_uart are touched. ---- */

int vm_uart_state_save(void *opaque, struct vm_state *s)
{
	const struct vm_uart *u = opaque;
	const uint8_t regs[9] = { u->ier, u->lcr, u->mcr, u->scr, u->dll, u->dlm, u->fcr, u->msr, u->lsr_err };
	vm_state_put_bytes(s, regs, sizeof(regs));
	vm_state_put_bool(s, u->thr_ipending);
	vm_state_put_bool(s, u->timeout_ipending);
	vm_state_put_u32(s, u->rx_count);
	for (unsigned i = 0; i < u->rx_count; i++)
		vm_state_put_u8(s, u->rx[(u->rx_head + i) % sizeof(u->rx)]);
	return 0;
}

int vm_uart_state_load(void *opaque, struct vm_state *s, unsigned version)
{
	struct vm_uart *u = opaque;
	uint8_t regs[9], rx[sizeof(u->rx)];
	vm_state_get_bytes(s, regs, sizeof(regs));
	bool thr = vm_state_get_bool(s), timeout = vm_state_get_bool(s);
	uint32_t count = vm_state_get_u32(s);
	if (count > sizeof(rx))
		return -EINVAL;
	vm_state_get_bytes(s, rx, count);
	if (version != 1 || !vm_state_done(s) || regs[0] > 0x0f)
		return -EINVAL;
	u->ier = regs[0], u->lcr = regs[1], u->mcr = regs[2], u->scr = regs[3];
	u->dll = regs[4], u->dlm = regs[5], u->fcr = regs[6], u->msr = regs[7], u->lsr_err = regs[8];
	u->thr_ipending = thr;
	u->timeout_ipending = timeout;
	memcpy(u->rx, rx, count);
	u->rx_head = 0;
	u->rx_count = count;
	return 0;
}
