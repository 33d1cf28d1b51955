/*
 * VDI (VirtualBox Disk Image, header v1.1) driver: dynamic and static images, 1 MiB blocks.
 *
 * Crash-safety invariants (what a crash at any point leaves on disk):
 *
 *  1. A block map entry only ever names a host block whose whole contents (the guest data and
 *     zeros for the rest of the block) were written and flushed before the entry was written.
 *     A crash can therefore leave an allocated-but-unreferenced block (a leak), never an entry
 *     that points at stale or unwritten bytes.
 *  2. The header's allocated-block count is raised in the same step: new blocks' data and the
 *     count are written, one flush, then the entries. On disk the count is never below the
 *     number of host blocks in use. A crash before the entries land leaves unreferenced blocks
 *     past the highest entry; new blocks go at index highest entry + 1, so those leftovers
 *     (referenced by nothing) are overwritten whole and reused, and no block in use is ever
 *     handed out twice. The count then becomes max(count, highest index in use + 1).
 *  3. Entries are never turned back into "unallocated" and blocks are never moved: discard is
 *     advisory and a no-op (as in qemu), so host block indices only grow and qemu, which
 *     allocates at the header's count, stays safe on images we wrote.
 *  4. Writes into an already allocated block go straight to its host bytes; they need no
 *     metadata and no ordering.
 *  5. A failed metadata write sets a sticky broken flag: the in-memory state may no longer
 *     match the disk, so every later write fails with -EIO instead of guessing.
 *
 * Bad input: open() validates every header field and the block map's place in the file before
 * reading the map (whose size is then bounded by the file's). Entries outside the image's block
 * count or whose block starts beyond the end of the file are kept (check reports them) but reads
 * and writes touching them fail with -EIO.
 */
#include "formats/vdi/vdi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int vdi_probe(const uint8_t *buf, size_t len, const char *filename)
{
	(void)filename;
	if (len < VDI_OFF_VERSION + 4)
		return 0;
	if (bc_rd_le32(buf + VDI_OFF_SIGNATURE) != VDI_SIGNATURE)
		return 0;
	return 100;
}

bool vdi_block_usable(const struct vdi_state *s, uint32_t e)
{
	if (e >= s->h.blocks_in_image)
		return false;
	/* A block cut short by a truncated file reads its missing tail as zeros (as in qemu);
	 * a block wholly past the end of the file is an error. */
	return s->h.offset_data + (uint64_t)e * VDI_BLOCK_SIZE < s->file_len;
}

static void vdi_free_state(struct vdi_state *s)
{
	if (!s)
		return;
	free(s->bmap);
	free(s->zbuf);
	free(s);
}

static int vdi_read_bmap(struct bc_image *img, struct vdi_state *s)
{
	uint32_t n = s->h.blocks_in_image;
	size_t bytes = (size_t)n * 4;
	uint8_t *raw;
	int ret;

	s->bmap = malloc(bytes ? bytes : 4);
	if (!s->bmap)
		return -ENOMEM;
	if (!n)
		return 0;
	/* Read into the same buffer and convert in place: entries are 4 bytes either way. */
	raw = (uint8_t *)s->bmap;
	ret = vdi_host_pread(img->file, raw, bytes, s->h.offset_bmap);
	if (ret < 0)
		return ret;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t e = bc_rd_le32(raw + (size_t)i * 4);

		s->bmap[i] = e;
	}
	return 0;
}

/* Invariant 2: the next host block is the one after the highest entry in use. */
static void vdi_compute_next(struct vdi_state *s)
{
	uint32_t next = 0;

	for (uint32_t i = 0; i < s->h.blocks_in_image; i++) {
		uint32_t e = s->bmap[i];

		if (vdi_entry_allocated(e) && e < s->h.blocks_in_image && e + 1 > next)
			next = e + 1;
	}
	s->next_block = next;
}

static int vdi_open(struct bc_image *img, struct bc_err *err)
{
	struct vdi_state *s;
	char msg[BC_ERR_MAX - 64];
	int64_t len;
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return bc_err_set(err, -ENOMEM, "Could not allocate VDI state");
	len = bc_file_length(img->file);
	if (len < 0) {
		ret = bc_err_set(err, (int)len, "Could not get the size of the image file");
		goto out_free;
	}
	s->file_len = (uint64_t)len;
	ret = vdi_host_pread(img->file, s->raw, sizeof(s->raw), 0);
	if (ret < 0) {
		bc_err_set(err, ret, "Could not read the VDI header");
		goto out_free;
	}
	vdi_header_decode(s->raw, &s->h);
	ret = vdi_header_validate(&s->h, s->file_len, msg, sizeof(msg));
	if (ret < 0) {
		bc_err_set(err, ret, "%s", msg);
		goto out_free;
	}
	ret = vdi_read_bmap(img, s);
	if (ret < 0) {
		bc_err_set(err, ret, "Could not read the VDI block map");
		goto out_free;
	}
	vdi_compute_next(s);

	img->priv = s;
	/* Odd sizes come from "VBoxManage convertfromraw": round up to a sector, as qemu does. */
	img->size = (s->h.disk_size + VDI_SECTOR - 1) / VDI_SECTOR * VDI_SECTOR;
	img->align = 1;
	return 0;

out_free:
	vdi_free_state(s);
	return ret;
}

static void vdi_close(struct bc_image *img)
{
	vdi_free_state(img->priv);
	img->priv = NULL;
}

static int vdi_read(struct bc_image *img, uint64_t off, void *buf, size_t len)
{
	struct vdi_state *s = img->priv;
	uint8_t *p = buf;

	while (len) {
		uint64_t blk = off / VDI_BLOCK_SIZE;
		uint32_t in = (uint32_t)(off % VDI_BLOCK_SIZE);
		size_t n = VDI_BLOCK_SIZE - in;
		uint32_t e;
		int ret;

		if (n > len)
			n = len;
		if (blk >= s->h.blocks_in_image)
			return -EIO;
		e = s->bmap[blk];
		if (!vdi_entry_allocated(e)) {
			memset(p, 0, n);
		} else if (!vdi_block_usable(s, e)) {
			return -EIO;
		} else {
			ret = vdi_host_pread(img->file, p, n,
					    s->h.offset_data + (uint64_t)e * VDI_BLOCK_SIZE + in);
			if (ret < 0)
				return ret;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Rewrites the header sector with the current allocated-block count. */
static int vdi_write_header(struct bc_image *img, struct vdi_state *s)
{
	bc_wr_le32(s->raw + VDI_OFF_ALLOCATED, s->h.blocks_allocated);
	return vdi_host_pwrite(img->file, s->raw, sizeof(s->raw), 0);
}

/* Writes entries [first, first + n) of the in-memory block map to disk. */
static int vdi_write_bmap(struct bc_image *img, struct vdi_state *s, uint64_t first, uint64_t n)
{
	uint8_t buf[4096];

	while (n) {
		size_t k = n > sizeof(buf) / 4 ? sizeof(buf) / 4 : (size_t)n;
		int ret;

		for (size_t i = 0; i < k; i++)
			bc_wr_le32(buf + i * 4, s->bmap[first + i]);
		ret = vdi_host_pwrite(img->file, buf, k * 4, s->h.offset_bmap + first * 4);
		if (ret < 0)
			return ret;
		first += k;
		n -= k;
	}
	return 0;
}

/* Writes a new host block (index e) holding len bytes of data at in, zeros elsewhere. */
static int vdi_write_new_block(struct bc_image *img, struct vdi_state *s, uint32_t e, uint32_t in,
			       const uint8_t *data, size_t len)
{
	uint64_t host = s->h.offset_data + (uint64_t)e * VDI_BLOCK_SIZE;
	const uint8_t *src = data;

	if (len != VDI_BLOCK_SIZE) {
		if (!s->zbuf) {
			s->zbuf = bc_alloc_aligned(VDI_BLOCK_SIZE);     /* no bounce under O_DIRECT */
			if (!s->zbuf)
				return -ENOMEM;
		}
		memset(s->zbuf, 0, VDI_BLOCK_SIZE);
		memcpy(s->zbuf + in, data, len);
		src = s->zbuf;
	}
	return vdi_host_pwrite(img->file, src, VDI_BLOCK_SIZE, host);
}

/*
 * Commits allocations made by one write request, whose new blocks are written: the count, a
 * flush, then the entries (invariants 1 and 2). The new entries for virtual blocks
 * [first, first + n) are in want[]; next is one past the highest host block now in use.
 */
static int vdi_commit_alloc(struct bc_image *img, struct vdi_state *s, uint64_t first,
			    uint64_t n, const uint32_t *want, uint32_t next)
{
	int ret;

	if (next > s->h.blocks_allocated)
		s->h.blocks_allocated = next;
	s->next_block = next;
	ret = vdi_write_header(img, s);
	if (ret == 0)
		ret = bc_file_flush(img->file);     /* invariants 1 and 2: data, count, entries */
	if (ret < 0)
		goto out_broken;
	for (uint64_t i = 0; i < n; i++)
		if (want[i] != VDI_UNALLOCATED)
			s->bmap[first + i] = want[i];
	ret = vdi_write_bmap(img, s, first, n);
	if (ret < 0)
		goto out_broken;
	return 0;

out_broken:
	s->broken = true;                           /* invariant 5 */
	return ret;
}

static int vdi_write(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	struct vdi_state *s = img->priv;
	const uint8_t *p = buf;
	uint64_t first = off / VDI_BLOCK_SIZE;
	uint64_t last = len ? (off + len - 1) / VDI_BLOCK_SIZE : first;
	uint64_t n = last - first + 1;
	uint32_t *want = NULL, next = s->next_block, nalloc = 0;
	int ret = 0;

	if (s->broken)
		return -EIO;
	if (!len)
		return 0;
	if (last >= s->h.blocks_in_image)
		return -EIO;
	while (len) {
		uint64_t blk = off / VDI_BLOCK_SIZE;
		uint32_t in = (uint32_t)(off % VDI_BLOCK_SIZE);
		size_t k = VDI_BLOCK_SIZE - in;
		uint32_t e = s->bmap[blk];

		if (k > len)
			k = len;
		if (vdi_entry_allocated(e)) {
			if (!vdi_block_usable(s, e)) {
				ret = -EIO;
				goto out;
			}
			ret = vdi_host_pwrite(img->file, p, k,
					     s->h.offset_data + (uint64_t)e * VDI_BLOCK_SIZE + in);
		} else {
			if (!want) {
				want = malloc(n * sizeof(*want));
				if (!want) {
					ret = -ENOMEM;
					goto out;
				}
				for (uint64_t i = 0; i < n; i++)
					want[i] = VDI_UNALLOCATED;
			}
			if (next >= s->h.blocks_in_image) {
				ret = -EIO;             /* no free host block: damaged count */
				goto out;
			}
			ret = vdi_write_new_block(img, s, next, in, p, k);
			if (ret == 0) {
				uint64_t end = s->h.offset_data + ((uint64_t)next + 1) * VDI_BLOCK_SIZE;

				if (end > s->file_len)
					s->file_len = end;
				want[blk - first] = next++;
				nalloc++;
			}
		}
		if (ret < 0)
			goto out;
		p += k;
		off += k;
		len -= k;
	}
	if (nalloc)
		ret = vdi_commit_alloc(img, s, first, n, want, next);
out:
	/* On failure before the commit, written new blocks are unreferenced: invariant 1. */
	free(want);
	return ret;
}

/* Unallocated blocks already read as zeros; only allocated ones need their bytes zeroed. */
static int vdi_write_zeroes(struct bc_image *img, uint64_t off, uint64_t len, unsigned flags)
{
	struct vdi_state *s = img->priv;

	if (s->broken)
		return -EIO;
	while (len) {
		uint64_t blk = off / VDI_BLOCK_SIZE;
		uint32_t in = (uint32_t)(off % VDI_BLOCK_SIZE);
		uint64_t k = VDI_BLOCK_SIZE - in;
		uint32_t e;
		int ret;

		if (k > len)
			k = len;
		if (blk >= s->h.blocks_in_image)
			return -EIO;
		e = s->bmap[blk];
		if (vdi_entry_allocated(e)) {
			if (!vdi_block_usable(s, e))
				return -EIO;
			/* The block stays allocated (invariant 3): zero its bytes in place, punching
			 * the host range when allowed (it then still reads as zeros). */
			ret = bc_file_zero(img->file,
					   s->h.offset_data + (uint64_t)e * VDI_BLOCK_SIZE + in, k,
					   flags & BC_ZERO_MAY_UNMAP);
			if (ret < 0)
				return ret;
		}
		off += k;
		len -= k;
	}
	return 0;
}

/* Discard is advisory and qemu's vdi driver keeps blocks allocated: so do we (invariant 3). */
static int vdi_discard(struct bc_image *img, uint64_t off, uint64_t len)
{
	(void)img;
	(void)off;
	(void)len;
	return 0;
}

/* As qemu does for map: a host hole under allocated data reads as zeros (a static image's
 * sparse data area), and the extent stops where the host's data/hole status changes. */
static void vdi_refine_host_status(struct bc_image *img, struct bc_extent *ext)
{
	uint64_t pnum = 0;
	bool data = true;

	if (bc_file_status(img->file, ext->host_off, ext->len, &pnum, &data) < 0 || !pnum)
		return;
	if (!data)
		ext->flags |= BC_EXT_ZERO;
	if (pnum < ext->len)
		ext->len = pnum;
}

static int vdi_block_status(struct bc_image *img, uint64_t off, uint64_t len,
			    struct bc_extent *ext)
{
	struct vdi_state *s = img->priv;
	uint64_t blk = off / VDI_BLOCK_SIZE, done;
	uint32_t e;

	memset(ext, 0, sizeof(*ext));
	ext->off = off;
	if (blk >= s->h.blocks_in_image)
		return -EIO;
	e = s->bmap[blk];
	done = VDI_BLOCK_SIZE - off % VDI_BLOCK_SIZE;
	if (!vdi_entry_allocated(e)) {
		ext->flags = BC_EXT_ZERO | BC_EXT_ALLOCATED;
		while (done < len && blk + 1 < s->h.blocks_in_image &&
		       !vdi_entry_allocated(s->bmap[blk + 1])) {
			blk++;
			done += VDI_BLOCK_SIZE;
		}
	} else {
		if (!vdi_block_usable(s, e))
			return -EIO;
		ext->flags = BC_EXT_DATA | BC_EXT_OFFSET | BC_EXT_ALLOCATED;
		ext->host_off = s->h.offset_data + (uint64_t)e * VDI_BLOCK_SIZE + off % VDI_BLOCK_SIZE;
		ext->host_file = img->filename;
		/* Extend over following blocks that continue the same host run. */
		while (done < len && blk + 1 < s->h.blocks_in_image && e + 1 < s->h.blocks_in_image &&
		       s->bmap[blk + 1] == e + 1 && vdi_block_usable(s, e + 1)) {
			blk++;
			e++;
			done += VDI_BLOCK_SIZE;
		}
	}
	ext->len = done < len ? done : len;
	if (ext->flags & BC_EXT_OFFSET)
		vdi_refine_host_status(img, ext);
	return 0;
}

static int vdi_get_info(struct bc_image *img, struct bc_info *info, struct bc_err *err)
{
	(void)img;
	(void)err;
	/* qemu shows the block size as cluster_size and no format specific information. */
	info->cluster_size = VDI_BLOCK_SIZE;
	info->has_cluster_size = true;
	info->dirty = false;
	info->encrypted = false;
	info->specific = NULL;
	return 0;
}

const struct bc_format bc_format_vdi = {
	.name = "vdi",
	.probe = vdi_probe,
	.create_opts = vdi_create_opts,
	.create = vdi_create,
	.open = vdi_open,
	.close = vdi_close,
	.read = vdi_read,
	.write = vdi_write,
	.discard = vdi_discard,
	.write_zeroes = vdi_write_zeroes,
	.block_status = vdi_block_status,
	.get_info = vdi_get_info,
	.check = vdi_check,
};
