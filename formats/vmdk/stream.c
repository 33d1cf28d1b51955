/*
 * stream.c — compressed grains (createType streamOptimized).
 *
 * A grain with markers is stored as: u64 LBA (sector of the grain in the extent), u32 size of
 * the zlib data, the data, zero padding to a sector. Reading goes through the grain tables.
 * Writing appends: like qemu, a grain can be written once, whole (or up to the end of the
 * disk), into a grain that holds nothing yet; anything else fails (-EIO for an allocated grain,
 * -EINVAL for a partial one), which is what qemu-io reports for such images.
 */
#include "vmdk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int vmdk_inflate(const uint8_t *src, size_t srclen, uint8_t *dst, size_t dstlen)
{
	z_stream zs;
	int zr;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)(uintptr_t)src;
	zs.avail_in = (uInt)(srclen > UINT32_MAX ? UINT32_MAX : srclen);
	zs.next_out = dst;
	zs.avail_out = (uInt)dstlen;
	zr = inflate(&zs, Z_FINISH);
	size_t got = dstlen - zs.avail_out;
	inflateEnd(&zs);
	if (zr != Z_STREAM_END && !(zr == Z_BUF_ERROR && zs.avail_out == 0))
		return -EIO;
	memset(dst + got, 0, dstlen - got);
	return 0;
}

int vmdk_stream_read_grain(struct vmdk_extent *e, uint64_t grain, uint32_t gte, void *grainbuf)
{
	uint64_t off = (uint64_t)gte * VMDK_SECTOR;
	int64_t flen = bc_file_length(e->file);
	uint64_t maxz = 2 * e->grain_bytes + 4096;   /* deflate never grows data that much */
	size_t hdr = e->markers ? 12 : 0;
	uint64_t want;
	uint8_t *buf;
	int ret;

	(void)grain;
	if (flen < 0)
		return (int)flen;
	if (off >= (uint64_t)flen)
		return -EIO;
	if (e->markers) {
		uint8_t *sec = bc_alloc_aligned(VMDK_SECTOR);
		if (!sec)
			return -ENOMEM;
		ret = vmdk_pread(e->file, sec, VMDK_SECTOR, off);
		uint32_t zsize = bc_rd_le32(sec + 8);
		free(sec);
		if (ret < 0)
			return ret;
		if (zsize == 0 || zsize > maxz)
			return -EIO;
		want = hdr + zsize;
	} else {
		want = maxz;
		if (want > (uint64_t)flen - off)
			want = (uint64_t)flen - off;
	}
	uint64_t rlen = (want + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
	if (e->cbuf_len < rlen) {
		free(e->cbuf);
		e->cbuf = bc_alloc_aligned((size_t)rlen);
		e->cbuf_len = e->cbuf ? (size_t)rlen : 0;
		if (!e->cbuf)
			return -ENOMEM;
	}
	buf = e->cbuf;
	ret = vmdk_pread(e->file, buf, (size_t)rlen, off);
	if (ret == 0)
		ret = vmdk_inflate(buf + hdr, (size_t)(want - hdr), grainbuf, (size_t)e->grain_bytes);
	return ret;
}

/* Appends one compressed grain with its marker; *sector <- where it went. */
static int append_grain(struct vmdk_extent *e, uint64_t grain, const uint8_t *data, size_t len,
			uint32_t *sector)
{
	uLongf zlen = compressBound((uLong)len);
	size_t cap = (12 + (size_t)zlen + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
	uint8_t *buf;
	int ret;

	/* one buffer per extent, reused: allocating 64 KiB per grain makes malloc trim the heap
	 * on every grain */
	if (e->cbuf_len < cap) {
		free(e->cbuf);
		e->cbuf = bc_alloc_aligned(cap);
		e->cbuf_len = e->cbuf ? cap : 0;
		if (!e->cbuf)
			return -ENOMEM;
	}
	buf = e->cbuf;
	if (compress2(buf + 12, &zlen, data, (uLong)len, Z_DEFAULT_COMPRESSION) != Z_OK)
		return -EIO;
	bc_wr_le64(buf, grain * e->hdr.grain_sectors);
	bc_wr_le32(buf + 8, (uint32_t)zlen);
	size_t total = (12 + (size_t)zlen + VMDK_SECTOR - 1) / VMDK_SECTOR * VMDK_SECTOR;
	memset(buf + 12 + zlen, 0, total - 12 - zlen);
	if (e->next_alloc / VMDK_SECTOR + total / VMDK_SECTOR > UINT32_MAX)
		return -ENOSPC;
	ret = vmdk_pwrite(e->file, buf, total, e->next_alloc);
	if (ret < 0)
		return ret;
	*sector = (uint32_t)(e->next_alloc / VMDK_SECTOR);
	e->next_alloc += total;
	e->eos_pending = true;
	return 0;
}

/* The end-of-stream marker qemu-img convert leaves after the last grain. It sits at the
 * append position without moving it, so the next grain overwrites it and the next flush
 * writes it again after that grain. */
int vmdk_stream_write_eos(struct vmdk_extent *e)
{
	uint8_t *sec;
	int ret;

	if (!e->eos_pending)
		return 0;
	sec = bc_alloc_aligned(VMDK_SECTOR);
	if (!sec)
		return -ENOMEM;
	memset(sec, 0, VMDK_SECTOR);
	ret = vmdk_pwrite(e->file, sec, VMDK_SECTOR, e->next_alloc);
	free(sec);
	if (ret == 0)
		e->eos_pending = false;
	return ret;
}

int vmdk_stream_write(struct bc_image *img, struct vmdk_extent *e, uint64_t off,
		      const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t ngrains = (off % e->grain_bytes + len + e->grain_bytes - 1) / e->grain_bytes;
	uint64_t *grains = calloc((size_t)ngrains, sizeof(*grains));
	uint32_t *sectors = calloc((size_t)ngrains, sizeof(*sectors));
	size_t npend = 0;
	int ret = 0;

	(void)img;
	if (!grains || !sectors) {
		ret = -ENOMEM;
		goto out;
	}
	if (e->read_only) {
		ret = -EACCES;
		goto out;
	}
	while (len) {
		uint64_t in = off % e->grain_bytes, grain = off / e->grain_bytes;
		uint64_t gstart = grain * e->grain_bytes;
		uint64_t glen = e->grain_bytes;
		size_t n = (size_t)(e->grain_bytes - in < len ? e->grain_bytes - in : len);
		uint32_t gte;

		if (gstart + glen > e->length)
			glen = e->length - gstart;
		ret = vmdk_sparse_lookup(e, off, &gte);
		if (ret < 0)
			goto out;
		if (gte != VMDK_GTE_UNALLOC && !(gte == VMDK_GTE_ZERO && e->zero_grain)) {
			ret = -EIO;     /* qemu: "Could not write to allocated cluster" */
			goto out;
		}
		if (in != 0 || n != glen || grain / e->hdr.gtes_per_gt >= e->gd_entries) {
			ret = -EINVAL;
			goto out;
		}
		ret = append_grain(e, grain, p, n, &sectors[npend]);
		if (ret < 0)
			goto out;
		grains[npend++] = grain;
		p += n;
		off += n;
		len -= n;
	}
out:
	if (npend) {
		/* invariant 1 holds for appended grains too; grains appended before a failure
		 * are still linked, as qemu keeps the grains it wrote */
		int r = bc_file_flush(e->file);
		for (size_t i = 0; r == 0 && i < npend; i++)
			r = vmdk_sparse_set_gte(e, grains[i], sectors[i]);
		if (ret == 0)
			ret = r;
	}
	free(grains);
	free(sectors);
	return ret;
}
