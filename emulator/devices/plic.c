/* plic.c - a platform-level interrupt controller laid out like SiFive's (and QEMU virt's):
 * priorities at +4*source, pending bits at +0x1000, per-context enables at +0x2000 +
 * 0x80*context, threshold and claim/complete at +0x200000 + 0x1000*context. The gateway
 * latches a request while the source's line is high and the source has no request in
 * service; the claim clears it, and the completion lets a still-high line request again. */
#include "emulator/devices/devices.h"
#include "emulator/bus/bus.h"

#include <errno.h>
#include <string.h>

static bool bit(const uint32_t *w, unsigned i)
{
	return (w[i / 32] >> (i % 32)) & 1;
}

static void set_bit(uint32_t *w, unsigned i, bool v)
{
	if (v)
		w[i / 32] |= 1u << (i % 32);
	else
		w[i / 32] &= ~(1u << (i % 32));
}

/* Highest-priority claimable source of a context (ties: lowest number); 0 if none. */
static unsigned best(const struct vm_plic *p, unsigned ctx)
{
	unsigned id = 0, prio = 0;
	/* a word of sources at a time: called after every batch, usually with nothing pending */
	for (unsigned w = 0; w * 32 < VM_PLIC_SOURCES; w++) {
		uint32_t m = p->pending[w] & p->enable[ctx][w] & (w ? ~0u : ~1u);
		for (; m; m &= m - 1) {
			unsigned i = w * 32 + (unsigned)__builtin_ctz(m);
			if (i < VM_PLIC_SOURCES && p->priority[i] > p->threshold[ctx] && p->priority[i] > prio) {
				prio = p->priority[i];
				id = i;
			}
		}
	}
	return id;
}

bool vm_plic_line(const struct vm_plic *p, unsigned ctx)
{
	return best(p, ctx) != 0;
}

void vm_plic_set(struct vm_plic *p, unsigned irq, bool level)
{
	if (irq && irq < VM_PLIC_SOURCES && level && !bit(p->claimed, irq))
		set_bit(p->pending, irq, true);
}

static int plic_read(void *opaque, uint64_t off, unsigned size, uint64_t *val)
{
	struct vm_plic *p = opaque;
	if (size != 4)
		return -EFAULT;
	*val = 0;
	if (off < 4 * VM_PLIC_SOURCES) {
		*val = p->priority[off / 4];
	} else if (off >= 0x1000 && off < 0x1000 + sizeof(p->pending)) {
		*val = p->pending[(off - 0x1000) / 4];
	} else if (off >= 0x2000 && off < 0x2000 + 0x80 * p->ncontexts) {
		unsigned ctx = (unsigned)(off - 0x2000) / 0x80, w = (unsigned)((off - 0x2000) % 0x80) / 4;
		if (w < VM_PLIC_SOURCES / 32)
			*val = p->enable[ctx][w];
	} else if (off >= 0x200000 && off < 0x200000 + 0x1000 * p->ncontexts) {
		unsigned ctx = (unsigned)(off - 0x200000) / 0x1000, reg = (unsigned)(off % 0x1000);
		if (reg == 0) {
			*val = p->threshold[ctx];
		} else if (reg == 4) { /* claim */
			unsigned id = best(p, ctx);
			if (id) {
				set_bit(p->claimed, id, true);
				set_bit(p->pending, id, false);
			}
			*val = id;
		}
	}
	return 0;
}

static int plic_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct vm_plic *p = opaque;
	if (size != 4)
		return -EFAULT;
	if (off < 4 * VM_PLIC_SOURCES) {
		if (off >= 4)
			p->priority[off / 4] = (uint32_t)val & 7;
	} else if (off >= 0x2000 && off < 0x2000 + 0x80 * p->ncontexts) {
		unsigned ctx = (unsigned)(off - 0x2000) / 0x80, w = (unsigned)((off - 0x2000) % 0x80) / 4;
		if (w < VM_PLIC_SOURCES / 32)
			p->enable[ctx][w] = (uint32_t)val & (w == 0 ? ~1u : ~0u); /* source 0 does not exist */
	} else if (off >= 0x200000 && off < 0x200000 + 0x1000 * p->ncontexts) {
		unsigned ctx = (unsigned)(off - 0x200000) / 0x1000, reg = (unsigned)(off % 0x1000);
		if (reg == 0)
			p->threshold[ctx] = (uint32_t)val & 7;
		else if (reg == 4 && val && val < VM_PLIC_SOURCES) /* complete */
			set_bit(p->claimed, (unsigned)val, false);
	}
	return 0;
}

static const struct vm_mmio_ops plic_ops = { plic_read, plic_write };

int vm_plic_init(struct vm_plic *p, struct vm_bus *bus, uint64_t base, unsigned harts)
{
	memset(p, 0, sizeof(*p));
	p->ncontexts = 2 * harts;
	return vm_bus_add(bus, base, VM_PLIC_SIZE, &plic_ops, p);
}

void vm_plic_reset(struct vm_plic *p)
{
	unsigned n = p->ncontexts;
	memset(p, 0, sizeof(*p));
	p->ncontexts = n;
}
