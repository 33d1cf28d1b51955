/* virtio_blk.c - virtio-blk requests (virtio 1.1 section 5.2.6) on a libblockcore image.
 * A request is a 16-byte header (type, reserved, sector) in the readable part of the chain,
 * data, and a status byte as the last writable byte. Guest mistakes inside a well-formed
 * chain (bad sector, odd length, unknown type) complete with IOERR/UNSUPP; only a chain too
 * short to hold header and status breaks the device. The used length reported is the whole
 * writable part, as QEMU reports it, so guests see the same numbers on both. */
#include "emulator/devices/virtio_blk.h"
#include "bc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SECTOR 512u
#define BOUNCE (256u * 1024)
#define MAX_DISCARD_SECTORS 0x3fffffu /* QEMU's defaults, so drivers split requests alike */
#define SEG_MAX 254u                  /* QEMU: queue size (256) - 2 */

#define F_SEG_MAX 2
#define F_RO 5
#define F_BLK_SIZE 6
#define F_FLUSH 9
#define F_DISCARD 13
#define F_WRITE_ZEROES 14

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13

#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

#define WZ_F_UNMAP 1

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The data range [sector, +len) must be whole sectors inside the disk. */
static bool range_ok(const struct vm_virtio_blk *b, uint64_t sector, uint64_t len)
{
	return len % SECTOR == 0 && sector <= b->sectors && len / SECTOR <= b->sectors - sector;
}

static uint8_t do_in(struct vm_virtio_blk *b, struct vm_virtio_mmio *t, struct vm_virtq_chain *c, uint64_t sector)
{
	uint64_t len = c->wr_len - 1;
	if (!range_ok(b, sector, len))
		return S_IOERR;
	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < BOUNCE ? len - done : BOUNCE;
		if (bc_read(b->img, sector * SECTOR + done, b->bounce, n) || vm_virtq_write(t, c, done, b->bounce, n))
			return S_IOERR;
		done += n;
	}
	return S_OK;
}

static uint8_t do_out(struct vm_virtio_blk *b, struct vm_virtq_chain *c, uint64_t sector)
{
	uint64_t len = c->rd_len - 16;
	if (b->ro || !range_ok(b, sector, len))
		return S_IOERR;
	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < BOUNCE ? len - done : BOUNCE;
		if (vm_virtq_read(c, 16 + done, b->bounce, n) || bc_write(b->img, sector * SECTOR + done, b->bounce, n))
			return S_IOERR;
		done += n;
	}
	if (b->writethrough && bc_flush(b->img))
		return S_IOERR;
	return S_OK;
}

/* DISCARD / WRITE_ZEROES: one 16-byte segment (max_*_seg is 1): sector, count, flags. */
static uint8_t do_ranges(struct vm_virtio_blk *b, struct vm_virtq_chain *c, uint32_t type)
{
	uint64_t len = c->rd_len - 16;
	if (len == 0 || len % 16)
		return S_UNSUPP;
	if (len > 16)
		return S_UNSUPP; /* more segments than max_discard_seg / max_write_zeroes_seg */
	uint8_t seg[16];
	if (vm_virtq_read(c, 16, seg, 16))
		return S_IOERR;
	uint64_t sector = 0;
	uint32_t num = 0, flags = 0;
	for (int i = 7; i >= 0; i--)
		sector = sector << 8 | seg[i];
	for (int i = 3; i >= 0; i--)
		num = num << 8 | seg[8 + i], flags = flags << 8 | seg[12 + i];
	if (type == T_DISCARD ? flags != 0 : (flags & ~(uint32_t)WZ_F_UNMAP) != 0)
		return S_UNSUPP;
	if (num > MAX_DISCARD_SECTORS || !range_ok(b, sector, (uint64_t)num * SECTOR))
		return S_IOERR;
	if (type == T_DISCARD) {
		/* discard is advisory; with -drive discard=ignore (the default) nothing happens */
		if (!b->discard)
			return S_OK;
		if (b->ro)
			return S_IOERR;
		return bc_discard(b->img, sector * SECTOR, (uint64_t)num * SECTOR) ? S_IOERR : S_OK;
	}
	if (b->ro)
		return S_IOERR;
	unsigned zf = (flags & WZ_F_UNMAP) && b->discard ? BC_ZERO_MAY_UNMAP : 0;
	if (bc_write_zeroes(b->img, sector * SECTOR, (uint64_t)num * SECTOR, zf))
		return S_IOERR;
	return b->writethrough && bc_flush(b->img) ? S_IOERR : S_OK;
}

static int blk_request(void *opaque, struct vm_virtio_mmio *t, unsigned q, struct vm_virtq_chain *c)
{
	struct vm_virtio_blk *b = opaque;
	(void)q;
	uint8_t hdr[16];
	if (c->wr_len < 1 || vm_virtq_read(c, 0, hdr, sizeof(hdr)))
		return -EINVAL; /* no room for header or status: not a request at all */
	uint32_t type = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	uint64_t sector = 0;
	for (int i = 15; i >= 8; i--)
		sector = sector << 8 | hdr[i];
	uint8_t st;
	switch (type) {
	case T_IN:
		st = do_in(b, t, c, sector);
		if (st == S_OK)
			b->rd_ops++, b->rd_bytes += c->wr_len - 1;
		break;
	case T_OUT:
		st = do_out(b, c, sector);
		if (st == S_OK)
			b->wr_ops++, b->wr_bytes += c->rd_len - 16;
		break;
	case T_FLUSH:
		st = bc_flush(b->img) ? S_IOERR : S_OK;
		b->flush_ops += st == S_OK;
		break;
	case T_GET_ID: {
		/* no serial number: the empty string, i.e. its terminating NUL (QEMU writes the
		 * string and its NUL, at most 20 bytes, and leaves the rest of the buffer alone) */
		uint8_t nul = 0;
		st = c->wr_len > 1 && vm_virtq_write(t, c, 0, &nul, 1) ? S_IOERR : S_OK;
		break;
	}
	case T_DISCARD:
	case T_WRITE_ZEROES: st = do_ranges(b, c, type); break;
	default: st = S_UNSUPP; break;
	}
	if (vm_virtq_write(t, c, c->wr_len - 1, &st, 1))
		return -EINVAL;
	c->written = c->wr_len > UINT32_MAX ? UINT32_MAX : (uint32_t)c->wr_len;
	return 0;
}

int vm_virtio_blk_init(struct vm_virtio_blk *b, struct bc_image *img, bool ro, bool discard, bool writethrough)
{
	memset(b, 0, sizeof(*b));
	b->bounce = malloc(BOUNCE);
	if (!b->bounce)
		return -ENOMEM;
	b->img = img;
	b->ro = ro;
	b->discard = discard;
	b->writethrough = writethrough;
	b->sectors = bc_length(img) / SECTOR;
	/* config space (section 5.2.4): capacity, seg_max, blk_size, discard/write-zeroes limits */
	put32(b->config + 0, (uint32_t)b->sectors);
	put32(b->config + 4, (uint32_t)(b->sectors >> 32));
	put32(b->config + 12, SEG_MAX);
	put32(b->config + 20, SECTOR);
	put32(b->config + 36, MAX_DISCARD_SECTORS);
	put32(b->config + 40, 1);
	put32(b->config + 44, 1);
	put32(b->config + 48, MAX_DISCARD_SECTORS);
	put32(b->config + 52, 1);
	b->config[56] = 1; /* write_zeroes_may_unmap */
	b->dev = (struct vm_virtio_dev){
		.device_id = 2,
		.features = 1ull << F_SEG_MAX | 1ull << F_BLK_SIZE | 1ull << F_FLUSH | 1ull << F_DISCARD |
			    1ull << F_WRITE_ZEROES | 1ull << VM_VIRTIO_F_INDIRECT_DESC | (ro ? 1ull << F_RO : 0),
		.config = b->config,
		.config_len = sizeof(b->config),
		.nqueues = 1,
		.request = blk_request,
		.opaque = b,
	};
	return 0;
}

void vm_virtio_blk_destroy(struct vm_virtio_blk *b)
{
	free(b->bounce);
	b->bounce = NULL;
}
