/*
 * sparse.c — hosted sparse extents: the 512-byte header, the grain directory (GD) and its
 * redundant copy (RGD), grain tables (GT) and grain allocation. See driver.c for the
 * crash-safety invariants these functions follow.
 *
 * The GD, the RGD and every loaded GT are cached in their on-disk (little-endian) form in
 * sector-aligned buffers, so that an update writes the one sector holding the entry.
 */
#include "vmdk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* Error messages name an extent file ("x-s001.vmdk: ...") but not the image itself, which
 * the engine's "Could not open 'x.vmdk': " already names. */
#define PFX(name) (name) ? (name) : "", (name) ? ": " : ""

/* ---- I/O helpers that bounce unaligned requests on O_DIRECT files -------------------- */

static int bounce(struct bc_file *f, void *buf, size_t len, uint64_t off, const void *wbuf)
{
	uint64_t a = f->align > 1 ? f->align : VMDK_SECTOR;
	uint64_t start = off / a * a, end = round_up(off + len, a);
	uint8_t *tmp = bc_alloc_aligned((size_t)(end - start));
	int ret;

	if (!tmp)
		return -ENOMEM;
	ret = f->ops->pread(f, tmp, (size_t)(end - start), start);
	if (ret == 0) {
		if (wbuf) {
			memcpy(tmp + (off - start), wbuf, len);
			ret = f->ops->pwrite(f, tmp, (size_t)(end - start), start);
		} else {
			memcpy(buf, tmp + (off - start), len);
		}
	}
	free(tmp);
	return ret;
}

static bool needs_bounce(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	uint64_t a = f->align > 1 ? f->align : VMDK_SECTOR;

	return f->direct && ((uintptr_t)buf % a || len % a || off % a);
}

int vmdk_pread(struct bc_file *f, void *buf, size_t len, uint64_t off)
{
	if (!len)
		return 0;
	if (needs_bounce(f, buf, len, off))
		return bounce(f, buf, len, off, NULL);
	return bc_file_pread(f, buf, len, off);
}

int vmdk_pwrite(struct bc_file *f, const void *buf, size_t len, uint64_t off)
{
	if (!len)
		return 0;
	if (needs_bounce(f, buf, len, off))
		return bounce(f, NULL, len, off, buf);
	return bc_file_pwrite(f, buf, len, off);
}

/* ---- header ---------------------------------------------------------------------------- */

void vmdk_header_encode(const struct vmdk_header *h, uint8_t buf[VMDK_SECTOR])
{
	memset(buf, 0, VMDK_SECTOR);
	bc_wr_le32(buf + 0, VMDK4_MAGIC);
	bc_wr_le32(buf + 4, h->version);
	bc_wr_le32(buf + 8, h->flags);
	bc_wr_le64(buf + 12, h->capacity);
	bc_wr_le64(buf + 20, h->grain_sectors);
	bc_wr_le64(buf + 28, h->desc_offset);
	bc_wr_le64(buf + 36, h->desc_size);
	bc_wr_le32(buf + 44, h->gtes_per_gt);
	bc_wr_le64(buf + 48, h->rgd_offset);
	bc_wr_le64(buf + 56, h->gd_offset);
	bc_wr_le64(buf + 64, h->overhead);
	buf[72] = h->unclean;
	buf[73] = '\n';
	buf[74] = ' ';
	buf[75] = '\r';
	buf[76] = '\n';
	bc_wr_le16(buf + 77, h->compress_algorithm);
}

int vmdk_header_decode(const uint8_t *buf, size_t len, struct vmdk_header *h, const char *name,
		       struct bc_err *err)
{
	if (len < 79 || bc_rd_le32(buf) != VMDK4_MAGIC)
		return bc_err_set(err, -EINVAL, "%s%snot a VMDK sparse extent (bad magic)", PFX(name));
	h->version = bc_rd_le32(buf + 4);
	h->flags = bc_rd_le32(buf + 8);
	h->capacity = bc_rd_le64(buf + 12);
	h->grain_sectors = bc_rd_le64(buf + 20);
	h->desc_offset = bc_rd_le64(buf + 28);
	h->desc_size = bc_rd_le64(buf + 36);
	h->gtes_per_gt = bc_rd_le32(buf + 44);
	h->rgd_offset = bc_rd_le64(buf + 48);
	h->gd_offset = bc_rd_le64(buf + 56);
	h->overhead = bc_rd_le64(buf + 64);
	h->unclean = buf[72];
	h->compress_algorithm = bc_rd_le16(buf + 77);
	if (h->version > 3)
		return bc_err_set(err, -ENOTSUP, "%s%sUnsupported VMDK version %u", PFX(name), h->version);
	if (h->grain_sectors == 0 || h->grain_sectors > VMDK_MAX_GRAIN_SECT ||
	    (h->grain_sectors & (h->grain_sectors - 1)))
		return bc_err_set(err, -EINVAL, "%s%sInvalid granularity, image may be corrupt", PFX(name));
	if (h->gtes_per_gt == 0 || h->gtes_per_gt > VMDK_MAX_GTES)
		return bc_err_set(err, -EINVAL, "%s%sL2 table size too big", PFX(name));
	if (h->capacity > VMDK_MAX_SECTORS)
		return bc_err_set(err, -EFBIG, "%s%simage size too large (capacity %llu sectors)", PFX(name),
				  (unsigned long long)h->capacity);
	if ((h->flags & VMDK_FLAG_COMPRESSED) && h->compress_algorithm != 1)
		return bc_err_set(err, -ENOTSUP, "%s%sunsupported compression algorithm %u", PFX(name),
				  h->compress_algorithm);
	return 0;
}

/* ---- layout of new extents ----------------------------------------------------------- */

void vmdk_sparse_layout(struct vmdk_header *h, uint64_t sectors, bool zeroed_grain,
			bool compressed)
{
	uint64_t grain = 128, gtes = 512;
	uint64_t gt_count = (sectors + gtes * grain - 1) / (gtes * grain);
	uint64_t gd_sectors = (gt_count * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
	uint64_t gt_sectors = gtes * 4 / VMDK_SECTOR;

	memset(h, 0, sizeof(*h));
	h->version = compressed ? 3 : zeroed_grain ? 2 : 1;
	h->flags = VMDK_FLAG_NL_DETECT | VMDK_FLAG_RGD;
	if (zeroed_grain)
		h->flags |= VMDK_FLAG_ZERO_GRAIN;
	if (compressed)
		h->flags |= VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS;
	h->capacity = sectors;
	h->grain_sectors = grain;
	h->desc_offset = 1;
	h->desc_size = 20;
	h->gtes_per_gt = (uint32_t)gtes;
	h->rgd_offset = h->desc_offset + h->desc_size;
	h->gd_offset = h->rgd_offset + gd_sectors + gt_count * gt_sectors;
	h->overhead = round_up(h->gd_offset + gd_sectors + gt_count * gt_sectors, grain);
	h->compress_algorithm = compressed ? 1 : 0;
}

static int write_dir(struct bc_file *f, uint64_t dir_sector, uint64_t first_gt, uint64_t gt_count,
		     uint64_t gt_sectors)
{
	size_t bytes = (size_t)round_up(gt_count * 4, VMDK_SECTOR);
	uint8_t *buf = bc_alloc_aligned(bytes);
	int ret;

	if (!buf)
		return -ENOMEM;
	memset(buf, 0, bytes);
	for (uint64_t i = 0; i < gt_count; i++)
		bc_wr_le32(buf + 4 * i, (uint32_t)(first_gt + i * gt_sectors));
	ret = vmdk_pwrite(f, buf, bytes, dir_sector * VMDK_SECTOR);
	free(buf);
	return ret;
}

int vmdk_sparse_init_file(struct bc_file *f, const struct vmdk_header *h, const char *desc,
			  struct bc_err *err, const char *name)
{
	uint64_t epg = (uint64_t)h->gtes_per_gt * h->grain_sectors;
	uint64_t gt_count = (h->capacity + epg - 1) / epg;
	uint64_t gd_sectors = (gt_count * 4 + VMDK_SECTOR - 1) / VMDK_SECTOR;
	uint64_t gt_sectors = (uint64_t)h->gtes_per_gt * 4 / VMDK_SECTOR;
	uint8_t *sec = bc_alloc_aligned(VMDK_SECTOR);
	int ret;

	if (!sec)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	ret = bc_file_truncate(f, h->overhead * VMDK_SECTOR);
	if (ret < 0)
		goto out;
	vmdk_header_encode(h, sec);
	ret = vmdk_pwrite(f, sec, VMDK_SECTOR, 0);
	if (ret < 0)
		goto out;
	if (desc && desc[0]) {
		size_t dl = strlen(desc);
		if (dl > h->desc_size * VMDK_SECTOR) {
			ret = -EINVAL;
			goto out;
		}
		ret = vmdk_pwrite(f, desc, dl, h->desc_offset * VMDK_SECTOR);
		if (ret < 0)
			goto out;
	}
	ret = write_dir(f, h->rgd_offset, h->rgd_offset + gd_sectors, gt_count, gt_sectors);
	if (ret == 0)
		ret = write_dir(f, h->gd_offset, h->gd_offset + gd_sectors, gt_count, gt_sectors);
	if (ret == 0)
		ret = bc_file_flush(f);
out:
	free(sec);
	if (ret < 0)
		return bc_err_set(err, ret, "Could not write VMDK extent '%s': %s", name,
				  strerror(-ret));
	return 0;
}

/* ---- opening --------------------------------------------------------------------------- */

static int load_dir(struct vmdk_extent *e, uint64_t sector, uint8_t **out, int64_t flen)
{
	size_t bytes = (size_t)round_up((uint64_t)e->gd_entries * 4, VMDK_SECTOR);
	uint8_t *buf;
	int ret;

	if (sector > (uint64_t)flen / VMDK_SECTOR ||
	    sector * VMDK_SECTOR + (uint64_t)e->gd_entries * 4 > (uint64_t)flen)
		return -ERANGE;
	buf = bc_alloc_aligned(bytes);
	if (!buf)
		return -ENOMEM;
	ret = vmdk_pread(e->file, buf, bytes, sector * VMDK_SECTOR);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*out = buf;
	return 0;
}

int vmdk_sparse_open(struct vmdk_extent *e, const char *name, struct bc_err *err)
{
	uint8_t *sec = bc_alloc_aligned(VMDK_SECTOR);
	struct vmdk_header *h = &e->hdr;
	int64_t flen = bc_file_length(e->file);
	int ret;

	if (!sec)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	if (flen < 0) {
		ret = bc_err_set(err, (int)flen, "%s%scould not get file length", PFX(name));
		goto out;
	}
	ret = vmdk_pread(e->file, sec, VMDK_SECTOR, 0);
	if (ret < 0) {
		ret = bc_err_set(err, ret, "%s%scould not read header: %s", PFX(name), strerror(-ret));
		goto out;
	}
	ret = vmdk_header_decode(sec, VMDK_SECTOR, h, name, err);
	if (ret < 0)
		goto out;
	if (h->gd_offset == VMDK_GD_AT_END) {
		/* streamOptimized written by VMware: the real header is the footer */
		struct vmdk_header foot;

		if (flen < 3 * (int64_t)VMDK_SECTOR) {
			ret = bc_err_set(err, -EINVAL, "%s%sInvalid footer", PFX(name));
			goto out;
		}
		ret = vmdk_pread(e->file, sec, VMDK_SECTOR, (uint64_t)flen - 2 * VMDK_SECTOR);
		if (ret < 0)
			goto out;
		ret = vmdk_header_decode(sec, VMDK_SECTOR, &foot, name, err);
		if (ret < 0 || foot.gd_offset == VMDK_GD_AT_END) {
			ret = bc_err_set(err, -EINVAL, "%s%sInvalid footer", PFX(name));
			goto out;
		}
		*h = foot;
		e->read_only = true;
	}
	/* as qemu: the file must reach the first grain (header, descriptor and tables before it) */
	if (h->overhead > (uint64_t)flen / VMDK_SECTOR) {
		ret = bc_err_set(err, -EINVAL, "File truncated, expecting at least %llu bytes",
				 (unsigned long long)h->overhead * VMDK_SECTOR);
		goto out;
	}
	e->grain_bytes = h->grain_sectors * VMDK_SECTOR;
	uint64_t per_gt = (uint64_t)h->gtes_per_gt * h->grain_sectors;
	uint64_t gde = (h->capacity + per_gt - 1) / per_gt;
	if (gde > (uint64_t)flen / 4 + 1 || gde > UINT32_MAX / 4) {
		ret = bc_err_set(err, -EINVAL, "%s%sgrain directory is past the end of the file",
				 PFX(name));
		goto out;
	}
	e->gd_entries = (uint32_t)gde;
	e->gt_bytes = (uint32_t)round_up((uint64_t)h->gtes_per_gt * 4, VMDK_SECTOR);
	e->zero_grain = h->flags & VMDK_FLAG_ZERO_GRAIN;
	e->compressed = h->flags & VMDK_FLAG_COMPRESSED;
	e->markers = h->flags & VMDK_FLAG_MARKERS;
	ret = load_dir(e, h->gd_offset, (uint8_t **)&e->gd, flen);
	if (ret < 0) {
		if (ret == -ERANGE)
			ret = bc_err_set(err, -EINVAL,
					 "%s%sgrain directory is past the end of the file", PFX(name));
		else
			ret = bc_err_set(err, ret, "%s%scould not read grain directory", PFX(name));
		goto out;
	}
	e->has_rgd = (h->flags & VMDK_FLAG_RGD) && h->rgd_offset &&
		     load_dir(e, h->rgd_offset, (uint8_t **)&e->rgd, flen) == 0;
	e->gt = calloc(e->gd_entries ? e->gd_entries : 1, sizeof(*e->gt));
	if (!e->gt) {
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
		goto out;
	}
	e->next_alloc = round_up((uint64_t)flen, VMDK_SECTOR);
	ret = 0;
out:
	free(sec);
	if (ret < 0)
		vmdk_sparse_close(e);
	return ret;
}

void vmdk_sparse_close(struct vmdk_extent *e)
{
	if (e->gt)
		for (uint32_t i = 0; i < e->gd_entries; i++)
			free(e->gt[i]);
	free(e->gt);
	free(e->gd);
	free(e->rgd);
	free(e->zbuf);
	free(e->cbuf);
	free(e->wbuf);
	e->cbuf = e->wbuf = NULL;
	e->cbuf_len = 0;
	e->gt = NULL;
	e->gd = e->rgd = NULL;
	e->zbuf = NULL;
}

/* ---- grain tables --------------------------------------------------------------------- */

static uint32_t gd_get(const uint32_t *dir, uint32_t i) { return bc_rd_le32((const uint8_t *)(dir + i)); }

static void drop_gts(struct vmdk_extent *e)
{
	for (uint32_t i = 0; i < e->gd_entries; i++) {
		free(e->gt[i]);
		e->gt[i] = NULL;
	}
	e->gt_cached = 0;
}

bool vmdk_sparse_no_gt(struct vmdk_extent *e, uint64_t off, uint64_t *end)
{
	uint64_t span = e->grain_bytes * e->hdr.gtes_per_gt;
	uint64_t gdi = off / span;

	*end = (gdi + 1) * span;
	return gdi >= e->gd_entries || gd_get(e->gd, (uint32_t)gdi) == 0;
}

static int load_gt(struct vmdk_extent *e, uint32_t gdi, uint32_t **out)
{
	uint32_t *gt;
	int ret;

	if (e->gt[gdi]) {
		*out = e->gt[gdi];
		return 0;
	}
	if (e->gt_cached + e->gt_bytes > VMDK_GT_CACHE_MAX)
		drop_gts(e);   /* tables are write-through: dropping them loses nothing */
	gt = bc_alloc_aligned(e->gt_bytes);
	if (!gt)
		return -ENOMEM;
	ret = vmdk_pread(e->file, gt, e->gt_bytes, (uint64_t)gd_get(e->gd, gdi) * VMDK_SECTOR);
	if (ret < 0) {
		free(gt);
		return ret;
	}
	e->gt[gdi] = gt;
	e->gt_cached += e->gt_bytes;
	*out = gt;
	return 0;
}

int vmdk_sparse_lookup(struct vmdk_extent *e, uint64_t off, uint32_t *gte)
{
	uint64_t grain = off / e->grain_bytes;
	uint64_t gdi = grain / e->hdr.gtes_per_gt;
	uint32_t *gt;
	int ret;

	*gte = VMDK_GTE_UNALLOC;
	if (gdi >= e->gd_entries || gd_get(e->gd, (uint32_t)gdi) == 0)
		return 0;
	ret = load_gt(e, (uint32_t)gdi, &gt);
	if (ret < 0)
		return ret;
	*gte = bc_rd_le32((const uint8_t *)(gt + grain % e->hdr.gtes_per_gt));
	return 0;
}

/* Allocates a grain table (and its redundant twin) for GD entry gdi: tables first, flushed,
 * then the directory entries (invariant 2). */
static int alloc_gt(struct vmdk_extent *e, uint32_t gdi)
{
	uint32_t *gt = bc_alloc_aligned(e->gt_bytes);
	uint64_t gt_off = e->next_alloc, rgt_off = 0;
	int ret;

	if (!gt)
		return -ENOMEM;
	memset(gt, 0, e->gt_bytes);
	if (gt_off / VMDK_SECTOR > UINT32_MAX - 2 * (e->gt_bytes / VMDK_SECTOR)) {
		ret = -ENOSPC;
		goto fail;
	}
	ret = vmdk_pwrite(e->file, gt, e->gt_bytes, gt_off);
	if (ret < 0)
		goto fail;
	e->next_alloc += e->gt_bytes;
	if (e->has_rgd) {
		rgt_off = e->next_alloc;
		ret = vmdk_pwrite(e->file, gt, e->gt_bytes, rgt_off);
		if (ret < 0)
			goto fail;
		e->next_alloc += e->gt_bytes;
	}
	ret = bc_file_flush(e->file);
	if (ret < 0)
		goto fail;
	size_t sec_off = (gdi * 4u) & ~(size_t)(VMDK_SECTOR - 1);
	bc_wr_le32((uint8_t *)(e->gd + gdi), (uint32_t)(gt_off / VMDK_SECTOR));
	ret = vmdk_pwrite(e->file, (uint8_t *)e->gd + sec_off, VMDK_SECTOR,
			  e->hdr.gd_offset * VMDK_SECTOR + sec_off);
	if (ret == 0 && e->has_rgd) {
		bc_wr_le32((uint8_t *)(e->rgd + gdi), (uint32_t)(rgt_off / VMDK_SECTOR));
		ret = vmdk_pwrite(e->file, (uint8_t *)e->rgd + sec_off, VMDK_SECTOR,
				  e->hdr.rgd_offset * VMDK_SECTOR + sec_off);
	}
	if (ret < 0)
		goto fail;
	if (e->gt[gdi])
		e->gt_cached -= e->gt_bytes;
	free(e->gt[gdi]);
	if (e->gt_cached + e->gt_bytes > VMDK_GT_CACHE_MAX)
		drop_gts(e);
	e->gt[gdi] = gt;
	e->gt_cached += e->gt_bytes;
	return 0;
fail:
	free(gt);
	return ret;
}

int vmdk_sparse_set_gte(struct vmdk_extent *e, uint64_t grain, uint32_t val)
{
	uint64_t gdi = grain / e->hdr.gtes_per_gt;
	uint32_t gti = (uint32_t)(grain % e->hdr.gtes_per_gt);
	uint32_t *gt;
	int ret;

	if (gdi >= e->gd_entries)
		return -EIO;
	if (gd_get(e->gd, (uint32_t)gdi) == 0) {
		ret = alloc_gt(e, (uint32_t)gdi);
		if (ret < 0)
			return ret;
	}
	ret = load_gt(e, (uint32_t)gdi, &gt);
	if (ret < 0)
		return ret;
	bc_wr_le32((uint8_t *)(gt + gti), val);
	size_t sec_off = ((size_t)gti * 4) & ~(size_t)(VMDK_SECTOR - 1);
	ret = vmdk_pwrite(e->file, (uint8_t *)gt + sec_off, VMDK_SECTOR,
			  (uint64_t)gd_get(e->gd, (uint32_t)gdi) * VMDK_SECTOR + sec_off);
	if (ret == 0 && e->has_rgd && gd_get(e->rgd, (uint32_t)gdi))
		ret = vmdk_pwrite(e->file, (uint8_t *)gt + sec_off, VMDK_SECTOR,
				  (uint64_t)gd_get(e->rgd, (uint32_t)gdi) * VMDK_SECTOR + sec_off);
	return ret;
}

/* ---- data ------------------------------------------------------------------------------- */

int vmdk_sparse_read(struct bc_image *img, struct vmdk_extent *e, uint64_t off, void *buf,
		     size_t len)
{
	uint8_t *p = buf;

	while (len) {
		uint64_t in = off % e->grain_bytes;
		size_t n = (size_t)(e->grain_bytes - in < len ? e->grain_bytes - in : len);
		uint32_t gte;
		int ret = vmdk_sparse_lookup(e, off, &gte);

		if (ret < 0)
			return ret;
		if (gte == VMDK_GTE_UNALLOC) {
			ret = bc_backing_read(img, e->start + off, p, n);
		} else if (gte == VMDK_GTE_ZERO && e->zero_grain) {
			memset(p, 0, n);
		} else if (e->compressed) {
			uint64_t grain = off / e->grain_bytes;
			if (!e->zbuf) {
				e->zbuf = malloc(e->grain_bytes);
				if (!e->zbuf)
					return -ENOMEM;
			}
			if (e->zbuf_grain != grain + 1) {
				e->zbuf_grain = 0;
				ret = vmdk_stream_read_grain(e, grain, gte, e->zbuf);
				if (ret == 0)
					e->zbuf_grain = grain + 1;
			}
			if (ret == 0)
				memcpy(p, e->zbuf + in, n);
		} else {
			ret = vmdk_pread(e->file, p, n, (uint64_t)gte * VMDK_SECTOR + in);
		}
		if (ret < 0)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

struct pending { uint64_t grain; uint32_t sector; };

int vmdk_sparse_write(struct bc_image *img, struct vmdk_extent *e, uint64_t off,
		      const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t ngrains = (off % e->grain_bytes + len + e->grain_bytes - 1) / e->grain_bytes;
	struct pending *pend = calloc((size_t)ngrains, sizeof(*pend));
	uint8_t *tmp = NULL;
	size_t npend = 0;
	int ret = 0;

	if (!pend)
		return -ENOMEM;
	while (len) {
		uint64_t in = off % e->grain_bytes;
		size_t n = (size_t)(e->grain_bytes - in < len ? e->grain_bytes - in : len);
		uint64_t grain = off / e->grain_bytes;
		uint32_t gte;

		ret = vmdk_sparse_lookup(e, off, &gte);
		if (ret < 0)
			goto out;
		if (gte > VMDK_GTE_ZERO) {
			ret = vmdk_pwrite(e->file, p, n, (uint64_t)gte * VMDK_SECTOR + in);
			if (ret < 0)
				goto out;
		} else {
			const void *src = p;
			uint64_t gstart = grain * e->grain_bytes;

			if (grain / e->hdr.gtes_per_gt >= e->gd_entries ||
			    e->next_alloc / VMDK_SECTOR + e->hdr.grain_sectors > UINT32_MAX) {
				ret = -EIO;
				goto out;
			}
			if (n != e->grain_bytes) {
				/* partial grain: the rest comes from below (or zeros) */
				if (!e->wbuf && !(e->wbuf = bc_alloc_aligned((size_t)e->grain_bytes))) {
					ret = -ENOMEM;
					goto out;
				}
				tmp = e->wbuf;
				memset(tmp, 0, (size_t)e->grain_bytes);
				if (gte == VMDK_GTE_UNALLOC) {
					uint64_t glen = e->grain_bytes;
					if (gstart + glen > e->length)
						glen = e->length - gstart;
					ret = bc_backing_read(img, e->start + gstart, tmp, (size_t)glen);
					if (ret < 0)
						goto out;
				}
				memcpy(tmp + in, p, n);
				src = tmp;
			}
			ret = vmdk_pwrite(e->file, src, (size_t)e->grain_bytes, e->next_alloc);
			if (ret < 0)
				goto out;
			pend[npend].grain = grain;
			pend[npend].sector = (uint32_t)(e->next_alloc / VMDK_SECTOR);
			npend++;
			e->next_alloc += e->grain_bytes;
		}
		p += n;
		off += n;
		len -= n;
	}
	if (npend) {
		/* invariant 1: grain data is durable before a GT entry points at it */
		ret = bc_file_flush(e->file);
		for (size_t i = 0; ret == 0 && i < npend; i++)
			ret = vmdk_sparse_set_gte(e, pend[i].grain, pend[i].sector);
	}
out:
	free(pend);
	return ret;
}

/* ---- check ------------------------------------------------------------------------------ */

/* Walks every grain as qemu-img check does; stops at the first grain whose data starts past
 * the end of the file and reports its extent byte offset in *bad. Returns 1 when one was
 * found, 0 when none, or -errno. */
int vmdk_sparse_check(struct vmdk_extent *e, struct bc_check *res, uint64_t *bad)
{
	int64_t flen = bc_file_length(e->file);
	uint64_t grains = (e->length + e->grain_bytes - 1) / e->grain_bytes;

	if (flen < 0)
		return (int)flen;
	for (uint64_t g = 0; g < grains; g++) {
		uint64_t end;
		uint32_t gte;
		int ret;

		if (vmdk_sparse_no_gt(e, g * e->grain_bytes, &end)) {
			uint64_t ng = end / e->grain_bytes;
			res->total_clusters += (ng < grains ? ng : grains) - g;
			g = ng - 1;
			continue;
		}
		ret = vmdk_sparse_lookup(e, g * e->grain_bytes, &gte);
		if (ret < 0)
			return ret;
		res->total_clusters++;
		if (gte == VMDK_GTE_UNALLOC || (gte == VMDK_GTE_ZERO && e->zero_grain))
			continue;
		res->allocated_clusters++;
		if (e->compressed)
			res->compressed_clusters++;
		if ((uint64_t)gte * VMDK_SECTOR >= (uint64_t)flen) {
			*bad = g * e->grain_bytes;
			return 1;
		}
	}
	return 0;
}
