/* virtio_mmio.c - the virtio-mmio register file (virtio 1.1 section 4.2.2 for version 2,
 * 4.2.4 for the legacy version 1). Queue memory is only looked at when the driver notifies
 * or a device fills a receive queue; virtqueue.c does that part. */
#include "emulator/devices/virtio_mmio.h"
#include "emulator/bus/bus.h"

#include <errno.h>
#include <string.h>

#define MAGIC 0x74726976u  /* "virt" */
#define VENDOR 0x554d4551u /* "QEMU": what guests see on QEMU's virt, so probes match */

enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE = 0x008, R_VENDOR = 0x00c,
	R_DEVFEAT = 0x010, R_DEVFEATSEL = 0x014, R_DRVFEAT = 0x020, R_DRVFEATSEL = 0x024,
	R_PAGESIZE = 0x028, R_QSEL = 0x030, R_QNUMMAX = 0x034, R_QNUM = 0x038, R_QALIGN = 0x03c,
	R_QPFN = 0x040, R_QREADY = 0x044, R_QNOTIFY = 0x050, R_ISR = 0x060, R_IACK = 0x064,
	R_STATUS = 0x070, R_QDESC = 0x080, R_QDRIVER = 0x090, R_QDEVICE = 0x0a0,
	R_CONFIGGEN = 0x0fc, R_CONFIG = 0x100,
};

static void reset(struct vm_virtio_mmio *t)
{
	t->status = t->isr = 0;
	t->dev_feat_sel = t->drv_feat_sel = t->queue_sel = 0;
	/* GuestPageSize survives a device reset (as in QEMU): Linux writes it once at probe,
	 * before the virtio core resets the device, and never again. */
	t->queue_align = 4096;
	t->driver_features = 0;
	t->broken = false;
	memset(t->vq, 0, sizeof(t->vq));
	if (t->dev && t->dev->reset)
		t->dev->reset(t->dev->opaque);
}

bool vm_virtio_mmio_irq(const struct vm_virtio_mmio *t)
{
	return t->isr != 0;
}

bool vm_virtio_mmio_live(const struct vm_virtio_mmio *t)
{
	return t->dev && !t->broken && (t->status & VM_VIRTIO_STATUS_DRIVER_OK);
}

void vm_virtio_mmio_fail(struct vm_virtio_mmio *t)
{
	t->broken = true;
	if (!t->legacy) {
		t->status |= VM_VIRTIO_STATUS_NEEDS_RESET;
		t->isr |= 2;
	}
}

static struct vm_virtq *cur_vq(struct vm_virtio_mmio *t)
{
	return t->dev && t->queue_sel < t->dev->nqueues ? &t->vq[t->queue_sel] : NULL;
}

/* Legacy layout (virtio 0.9.5 / 1.1 section 2.4.2): descriptors at PFN * page size, the
 * available ring right after them, the used ring at the next QueueAlign boundary. */
static void legacy_layout(struct vm_virtio_mmio *t, struct vm_virtq *q)
{
	uint64_t align = t->queue_align ? t->queue_align : 4096;
	q->desc = (uint64_t)q->pfn * t->guest_page_size;
	q->avail = q->desc + 16ull * q->num;
	q->used = (q->avail + 6 + 2ull * q->num + align - 1) / align * align;
	q->ready = q->pfn != 0;
}

static int mmio_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct vm_virtio_mmio *t = opaque;
	const struct vm_virtio_dev *d = t->dev;
	*val = 0;
	if (off >= R_CONFIG) {
		/* config space: any width, little-endian bytes */
		if (d && off - R_CONFIG + size <= d->config_len)
			for (unsigned i = 0; i < size; i++)
				*val |= (uint64_t)d->config[off - R_CONFIG + i] << (8 * i);
		return 0;
	}
	if (size != 4)
		return 0; /* registers are 32-bit only; other widths read as zero */
	struct vm_virtq *q = cur_vq(t);
	switch (off) {
	case R_MAGIC: *val = MAGIC; break;
	case R_VERSION: *val = t->legacy ? 1 : 2; break;
	case R_VENDOR: *val = VENDOR; break;
	case R_DEVICE: *val = d ? d->device_id : 0; break;
	}
	if (!d)
		return 0;
	switch (off) {
	case R_DEVFEAT: {
		uint64_t f = d->features | (t->legacy ? 0 : 1ull << VM_VIRTIO_F_VERSION_1);
		*val = t->dev_feat_sel == 0 ? (uint32_t)f : t->dev_feat_sel == 1 && !t->legacy ? (uint32_t)(f >> 32) : 0;
		break;
	}
	case R_QNUMMAX: *val = q ? VM_VIRTIO_QUEUE_MAX : 0; break;
	case R_QPFN: *val = q && t->legacy ? q->pfn : 0; break;
	case R_QREADY: *val = q && !t->legacy ? q->ready : 0; break;
	case R_ISR: *val = t->isr; break;
	case R_STATUS: *val = t->status; break;
	case R_CONFIGGEN: *val = 0; break;
	}
	return 0;
}

static void set_status(struct vm_virtio_mmio *t, uint32_t v)
{
	if (v == 0) {
		reset(t);
		return;
	}
	/* FEATURES_OK only sticks when the driver took a subset of what is offered and, for a
	 * modern device, VERSION_1 (virtio 1.1 section 3.1.1 and 6.1) */
	if ((v & VM_VIRTIO_STATUS_FEATURES_OK) && !(t->status & VM_VIRTIO_STATUS_FEATURES_OK) && !t->legacy) {
		uint64_t offered = t->dev->features | 1ull << VM_VIRTIO_F_VERSION_1;
		if ((t->driver_features & ~offered) || !(t->driver_features >> VM_VIRTIO_F_VERSION_1 & 1))
			v &= ~(uint32_t)VM_VIRTIO_STATUS_FEATURES_OK;
	}
	t->status = (v & 0xff & ~(uint32_t)VM_VIRTIO_STATUS_NEEDS_RESET) | (t->status & VM_VIRTIO_STATUS_NEEDS_RESET);
}

static void set_addr(struct vm_virtio_mmio *t, uint64_t *a, bool high, uint32_t v)
{
	if (t->legacy)
		return;
	*a = high ? (*a & 0xffffffffull) | (uint64_t)v << 32 : (*a & ~0xffffffffull) | v;
}

static int mmio_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vm_virtio_mmio *t = opaque;
	const struct vm_virtio_dev *d = t->dev;
	if (d && off >= R_CONFIG) {
		if (d->config_write && off - R_CONFIG + size <= d->config_len)
			d->config_write(d->opaque, (uint32_t)(off - R_CONFIG), size, val);
		return 0;
	}
	if (!d || size != 4)
		return 0;
	uint32_t v = (uint32_t)val;
	struct vm_virtq *q = cur_vq(t);
	switch (off) {
	case R_DEVFEATSEL: t->dev_feat_sel = v; break;
	case R_DRVFEATSEL: t->drv_feat_sel = v; break;
	case R_DRVFEAT:
		if (t->drv_feat_sel < 2) {
			unsigned sh = 32 * t->drv_feat_sel;
			t->driver_features = (t->driver_features & ~(0xffffffffull << sh)) | (uint64_t)v << sh;
		}
		break;
	case R_PAGESIZE: if (t->legacy) t->guest_page_size = v; break;
	case R_QSEL: t->queue_sel = v; break;
	case R_QNUM:
		if (q && v <= VM_VIRTIO_QUEUE_MAX && v && !(v & (v - 1))) {
			q->num = v;
			if (t->legacy && q->pfn)
				legacy_layout(t, q);
		}
		break;
	case R_QALIGN: if (t->legacy && v && !(v & (v - 1))) t->queue_align = v; break;
	case R_QPFN:
		if (q && t->legacy) {
			q->pfn = v;
			q->last_avail = 0;
			legacy_layout(t, q);
		}
		break;
	case R_QREADY:
		if (q && !t->legacy) {
			q->ready = v & 1;
			if (!q->ready)
				q->last_avail = 0;
		}
		break;
	case R_QNOTIFY:
		if (v < d->nqueues && !t->broken) {
			if (d->notify)
				d->notify(d->opaque, t, v);
			else
				vm_virtq_process(t, v);
		}
		break;
	case R_IACK: t->isr &= ~v; break;
	case R_STATUS: set_status(t, v); break;
	case R_QDESC: case R_QDESC + 4: if (q) set_addr(t, &q->desc, off & 4, v); break;
	case R_QDRIVER: case R_QDRIVER + 4: if (q) set_addr(t, &q->avail, off & 4, v); break;
	case R_QDEVICE: case R_QDEVICE + 4: if (q) set_addr(t, &q->used, off & 4, v); break;
	}
	return 0;
}

static const struct vm_mmio_ops virtio_mmio_ops = { mmio_read, mmio_write };

int vm_virtio_mmio_init(struct vm_virtio_mmio *t, struct vm_bus *bus, uint64_t base, bool legacy,
			const struct vm_virtio_dev *dev)
{
	if (dev && dev->nqueues > VM_VIRTIO_MAX_QUEUES)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->bus = bus;
	t->legacy = legacy && !(dev && dev->modern_only);
	t->dev = dev;
	reset(t);
	return vm_bus_add(bus, base, 0x1000, &virtio_mmio_ops, t);
}

void vm_virtio_mmio_power_reset(struct vm_virtio_mmio *t)
{
	reset(t);
	t->guest_page_size = 0;
}
