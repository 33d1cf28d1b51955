/*
 * qcow2 driver: open/close, the data path entry points, info and the format table.
 *
 * Crash-safety invariants (every metadata update honours them; numbers are cited in code):
 *  1. A cluster's refcount is on disk (written and flushed) before any L2 entry or L1 entry
 *     that uses the cluster is written. Refcount blocks are written back before L2 tables,
 *     with a flush between (qcow2_flush_refcounts is called before any L2 write-back),
 *     except with lazy refcounts, where invariant 6 stands in.
 *  2. An L2 table (new or changed) is on disk and flushed before the L1 entry that points to
 *     it is written: L1 changes are only written by qcow2_flush_metadata after the L2 cache.
 *  3. A new refcount block is written and flushed before the refcount table points to it; it
 *     describes itself, so no other block has to change at the same time.
 *  4. A table that moves (L1 on grow, refcount table on grow) is written completely and
 *     flushed at its new place before one header write switches to it; only then are the
 *     old clusters freed.
 *  5. A cluster's refcount is decreased only after every L2 entry that referenced it has
 *     been rewritten on disk and flushed (discard, zero with unmap): a crash leaks clusters,
 *     never frees a cluster still in use.
 *  6. With lazy refcounts the dirty bit is set in the header (and flushed) before the first
 *     allocation of a session; it is cleared only after all refcounts are written and
 *     flushed at close. Opening a dirty image read-write rebuilds the refcounts first.
 *  7. Data written to a newly allocated cluster is written before the L2 entry pointing to it
 *     is updated, so a reader never sees another cluster's stale contents through it.
 *  8. Metadata is never written over the header cluster, and a data write whose target
 *     overlaps known metadata marks the image corrupt instead (sticky corrupt bit); a
 *     corrupt image refuses writes and cannot be opened read-write.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mark_clean(struct qcow2 *s)
{
	int ret;

	if (!(s->h.incompatible_features & QCOW2_INCOMPAT_DIRTY))
		return 0;
	ret = qcow2_flush_metadata(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		return ret;
	s->h.incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
	ret = qcow2_write_incompat(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	s->dirty_set = false;
	return ret;
}

static void free_state(struct qcow2 *s)
{
	if (!s)
		return;
	qcow2_cache_destroy(&s->l2_cache);
	qcow2_cache_destroy(&s->rb_cache);
	if (s->data_file && s->data_file != s->file)
		bc_file_close(s->data_file);
	qcow2_header_free(&s->h);
	free(s->data_file_path);
	free(s->l1);
	free(s->reftable);
	free(s->buf);
	free(s->cbuf);
	free(s->istate);
	free(s->cow);
	qcow2_compress_free(s);
	qcow2_crypt_close(s);
	qcow2_overlap_free(s);
	qcow2_bitmaps_close(s);
	free(s);
}

static int read_tables(struct qcow2 *s, struct bc_err *err)
{
	uint64_t cs = s->cluster_size;
	size_t bytes;
	uint8_t *raw;
	int ret;

	s->l1_size = s->h.l1_size;
	s->l1_alloc = (uint32_t)(qcow2_align_up((uint64_t)s->l1_size * 8, cs) / 8);
	s->l1 = calloc(s->l1_alloc ? s->l1_alloc : 1, 8);
	s->reftable_size = (uint64_t)s->h.refcount_table_clusters * cs / 8;
	s->reftable = calloc(s->reftable_size, 8);
	bytes = (size_t)(s->reftable_size * 8 > (uint64_t)s->l1_size * 8 ? s->reftable_size * 8
									 : (uint64_t)s->l1_size * 8);
	raw = malloc(bytes ? bytes : 1);
	if (!s->l1 || !s->reftable || !raw) {
		free(raw);
		return bc_err_set(err, -ENOMEM, "Could not allocate the qcow2 tables");
	}
	ret = bc_file_pread(s->file, raw, (size_t)s->l1_size * 8, s->h.l1_table_offset);
	if (ret < 0) {
		free(raw);
		return bc_err_set(err, ret, "Could not read L1 table: %s", strerror(-ret));
	}
	for (uint32_t i = 0; i < s->l1_size; i++)
		s->l1[i] = bc_rd_be64(raw + (size_t)i * 8);
	ret = bc_file_pread(s->file, raw, (size_t)s->reftable_size * 8,
			    s->h.refcount_table_offset);
	if (ret < 0) {
		free(raw);
		return bc_err_set(err, ret, "Could not read refcount table: %s", strerror(-ret));
	}
	for (uint64_t i = 0; i < s->reftable_size; i++)
		s->reftable[i] = bc_rd_be64(raw + i * 8);
	free(raw);
	return 0;
}

static char *resolve_near(const char *base, const char *name)
{
	const char *slash = strrchr(base, '/');
	size_t dl = slash ? (size_t)(slash - base + 1) : 0;
	char *p;

	if (name[0] == '/' || !dl)
		return strdup(name);
	p = malloc(dl + strlen(name) + 1);
	if (!p)
		return NULL;
	memcpy(p, base, dl);
	strcpy(p + dl, name);
	return p;
}

static int open_data_file(struct qcow2 *s, struct bc_image *img, struct bc_err *err)
{
	const char *name = s->h.data_file;
	unsigned fl = 0;
	int ret;

	if (img->open_opts && img->open_opts->driver_opts) {
		const char *o = bc_opts_get(img->open_opts->driver_opts, "data-file");
		if (o)
			name = o;
	}
	if (!name)
		return bc_err_set(err, -EINVAL, "'data-file' is required for this image");
	s->data_file_path = resolve_near(img->filename, name);
	if (!s->data_file_path)
		return -ENOMEM;
	if (img->flags & BC_OPEN_RDWR)
		fl |= BC_FILE_RDWR;
	if (img->flags & BC_OPEN_DIRECT)
		fl |= BC_FILE_DIRECT;
	if (img->flags & BC_OPEN_UNSAFE)
		fl |= BC_FILE_UNSAFE;
	ret = bc_file_open(&s->data_file, s->data_file_path, fl,
			   img->open_opts ? img->open_opts->io : BC_IO_AUTO, err);
	if (ret < 0)
		s->data_file = NULL;
	return ret;
}

/* What lower files call up the layers through (see qcow2.h). */
static const struct qcow2_upcalls upcalls = {
	.flush_refcounts = qcow2_flush_refcounts,
	.read_snapshots = qcow2_read_snapshots,
};

static int qcow2_open(struct bc_image *img, struct bc_err *err)
{
	struct qcow2 *s = calloc(1, sizeof(*s));
	uint8_t *hbuf = NULL;
	int64_t flen;
	uint64_t cs, need_l2;
	int ret, n;

	if (!s)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	s->up = &upcalls;
	s->img = img;
	s->file = img->file;
	s->data_file = img->file;
	flen = bc_file_length(img->file);
	if (flen < 0) {
		ret = bc_err_set(err, (int)flen, "Could not get the size of '%s'", img->filename);
		goto fail;
	}
	{
		/* The header cluster, or the whole file when it is shorter (zero-padded). */
		size_t want = (uint64_t)flen < (1u << QCOW2_MAX_CLUSTER_BITS) ? (size_t)flen
									   : (1u << QCOW2_MAX_CLUSTER_BITS);
		uint8_t first[24];
		uint32_t cb = 0;
		if (want >= 24) {
			ret = bc_file_pread(img->file, first, 24, 0);
			if (ret < 0)
				goto fail_io;
			cb = bc_rd_be32(first + 20);
			if (cb >= QCOW2_MIN_CLUSTER_BITS && cb <= QCOW2_MAX_CLUSTER_BITS &&
			    want > (1u << cb))
				want = 1u << cb;
		}
		/* A file cut inside its header cluster reads as zeros past its end, as qemu's
		 * host layer reads it: the parser sees the whole cluster. */
		size_t have = want;
		if (want >= 24 && cb >= QCOW2_MIN_CLUSTER_BITS && cb <= QCOW2_MAX_CLUSTER_BITS)
			want = 1u << cb;
		hbuf = calloc(1, want > QCOW2_HEADER_LEN_CT ? want : QCOW2_HEADER_LEN_CT);
		if (!hbuf) {
			ret = bc_err_set(err, -ENOMEM, "Out of memory");
			goto fail;
		}
		ret = bc_file_pread(img->file, hbuf, have, 0);
		if (ret < 0)
			goto fail_io;
		ret = qcow2_header_parse(&s->h, hbuf, want, (uint64_t)flen,
					 (img->flags & BC_OPEN_RDWR ? 0 : QCOW2_PARSE_PAST_EOF) |
					 (img->flags & BC_OPEN_CHECK ? QCOW2_PARSE_CHECK : 0), err);
		if (ret < 0)
			goto fail;
	}
	free(hbuf);
	hbuf = NULL;

	s->writable = (img->flags & BC_OPEN_RDWR) != 0;
	if ((s->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT) && s->writable) {
		ret = bc_err_set(err, -EACCES, "qcow2: Image is corrupt; cannot be opened read/write");
		goto fail;
	}
	s->corrupt = (s->h.incompatible_features & QCOW2_INCOMPAT_CORRUPT) != 0;
	cs = 1ull << s->h.cluster_bits;
	s->cluster_bits = s->h.cluster_bits;
	s->cluster_size = (uint32_t)cs;
	s->ext_l2 = (s->h.incompatible_features & QCOW2_INCOMPAT_EXTL2) != 0;
	s->l2_entry_size = s->ext_l2 ? 16 : 8;
	s->l2_bits = s->cluster_bits - (s->ext_l2 ? 4 : 3);
	s->sc_bits = s->ext_l2 ? s->cluster_bits - 5 : s->cluster_bits;
	s->refcount_order = s->h.refcount_order;
	s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
	s->refcount_max = s->refcount_order == 6 ? UINT64_MAX
						 : (1ull << (1u << s->refcount_order)) - 1;
	s->lazy = (s->h.compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
	/* runtime lazy-refcounts=on|off overrides the header's bit for this open (qemu's) */
	if (img->open_opts && img->open_opts->driver_opts &&
	    (ret = bc_opts_get_bool(img->open_opts->driver_opts, "lazy-refcounts", s->lazy,
				    &s->lazy, err)) < 0 && ret != -ENOENT)
		goto fail;
	if (s->lazy && s->h.version < 3) {
		ret = bc_err_set(err, -EINVAL, "Lazy refcounts require a qcow2 image with at least "
				 "qemu 1.1 compatibility level");
		goto fail;
	}
	s->data_raw = (s->h.autoclear_features & QCOW2_AUTOCLEAR_DATA_RAW) != 0;

	if (s->h.incompatible_features & QCOW2_INCOMPAT_DATA_FILE) {
		ret = open_data_file(s, img, err);
		if (ret < 0)
			goto fail;
	} else if (s->h.data_file) {
		ret = bc_err_set(err, -EINVAL, "'data-file' can only be set for images that use an "
					       "external data file");
		goto fail;
	} else if (s->data_raw) {
		ret = bc_err_set(err, -EINVAL, "data-file-raw requires a data file");
		goto fail;
	}

	ret = qcow2_overlap_opts(s, img->open_opts ? img->open_opts->driver_opts : NULL, err);
	if (ret == 0 && img->open_opts && img->open_opts->driver_opts)
		ret = qcow2_cache_opts_check(s, img->open_opts->driver_opts, err);
	if (ret == 0)
		ret = read_tables(s, err);
	/* as qemu: a table that does not read refuses the open, except for check (which
	 * reports and repairs it) */
	if (ret == 0 && !(img->flags & BC_OPEN_CHECK))
		ret = qcow2_snapshot_table_valid(s, err);
	if (ret == 0 && img->open_opts && img->open_opts->snapshot)
		ret = qcow2_snapshot_open_ro(s, img->open_opts->snapshot, err);
	if (ret < 0)
		goto fail;

	/* L2 cache: enough to cover the whole disk, at most 32 MiB (as qemu); refcount cache a
	 * quarter of it. Runtime options l2-cache-size / refcount-cache-size (bytes) override. */
	need_l2 = s->l1_size;
	int nrc;
	n = (int)(need_l2 < 4 ? 4 : need_l2 > (1u << 20) ? (1u << 20) : need_l2);
	if ((uint64_t)n * cs > 32ull << 20)
		n = (int)((32ull << 20) / cs) > 4 ? (int)((32ull << 20) / cs) : 4;
	nrc = n / 4 > 4 ? n / 4 : 4;
	if (img->open_opts && img->open_opts->driver_opts) {
		uint64_t v;
		struct bc_opts *o = img->open_opts->driver_opts;
		if (bc_opts_get_size(o, "l2-cache-size", 0, &v, err) == 0)
			n = (int)(v / cs < 2 ? 2 : v / cs > (1u << 20) ? (1u << 20) : v / cs);
		if (bc_opts_get_size(o, "refcount-cache-size", 0, &v, err) == 0)
			nrc = (int)(v / cs < 2 ? 2 : v / cs > (1u << 20) ? (1u << 20) : v / cs);
		if (err)
			err->code = 0;
	}
	ret = qcow2_cache_init(&s->l2_cache, n, s->cluster_size);
	if (ret == 0)
		ret = qcow2_cache_init(&s->rb_cache, nrc, s->cluster_size);
	s->buf = bc_alloc_aligned(s->cluster_size);
	if (ret < 0 || !s->buf) {
		ret = bc_err_set(err, -ENOMEM, "Could not allocate the qcow2 caches");
		goto fail;
	}

	img->priv = s;
	img->size = s->h.size;
	img->align = 1;
	if (s->h.crypt_method && (ret = qcow2_crypt_open(s, err)) < 0)
		goto fail_priv;
	if (s->h.backing_file) {
		img->backing_name = strdup(s->h.backing_file);
		if (s->h.backing_fmt)
			img->backing_fmt = strdup(s->h.backing_fmt);
	}

	if (s->writable) {
		uint64_t ac = s->h.autoclear_features & QCOW2_AUTOCLEAR_KNOWN;
		if (ac != s->h.autoclear_features) {
			/* We do not keep unknown autoclear features consistent. */
			s->h.autoclear_features = ac;
			ret = qcow2_write_header(s);
			if (ret == 0)
				ret = bc_file_flush(s->file);
			if (ret < 0) {
				bc_err_set(err, ret, "Could not update qcow2 header: %s", strerror(-ret));
				goto fail_priv;
			}
		}
		if ((s->h.incompatible_features & QCOW2_INCOMPAT_DIRTY) &&
		    !(img->flags & BC_OPEN_NO_REPAIR)) {
			struct bc_check res;
			memset(&res, 0, sizeof(res));
			ret = qcow2_check_state(s, &res, BC_FIX_ERRORS | BC_FIX_LEAKS, err);
			bc_check_free(&res);
			if (ret == 0)
				ret = mark_clean(s);
			if (ret < 0) {
				bc_err_set(err, ret, "Could not repair dirty image: %s", strerror(-ret));
				goto fail_priv;
			}
		}
		if (s->h.incompatible_features & QCOW2_INCOMPAT_DIRTY)
			s->dirty_set = true;
		if (!s->corrupt && (ret = qcow2_bitmaps_open(s, err)) < 0)
			goto fail_priv;
	}
	return 0;
fail_io:
	bc_err_set(err, ret, "Could not read qcow2 header: %s", strerror(-ret));
fail_priv:
	img->priv = NULL;
	free(img->backing_name);
	free(img->backing_fmt);
	img->backing_name = img->backing_fmt = NULL;
fail:
	free(hbuf);
	free_state(s);
	return ret;
}

static int qcow2_flush(struct bc_image *img)
{
	struct qcow2 *s = img->priv;
	int ret = 0;

	bc_file_event(s->file, BC_EV_FLUSH_TO_OS);
	if (s->writable && !s->corrupt)
		ret = qcow2_flush_metadata(s);
	bc_file_event(s->file, BC_EV_FLUSH_TO_DISK);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret == 0 && s->data_file != s->file)
		ret = bc_file_flush(s->data_file);
	return ret;
}

static void qcow2_close(struct bc_image *img)
{
	struct qcow2 *s = img->priv;

	if (!s)
		return;
	if (s->writable && !s->corrupt) {
		if (qcow2_flush_metadata(s) == 0 && s->data_file != s->file)
			bc_file_flush(s->data_file);
		if (qcow2_bitmaps_store(s) == 0)
			qcow2_flush_metadata(s);
		mark_clean(s);
	}
	free_state(s);
	img->priv = NULL;
}

static int qcow2_read(struct bc_image *img, uint64_t off, void *buf, size_t len)
{
	return qcow2_read_data(img->priv, off, buf, len);
}

static int qcow2_write(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	struct qcow2 *s = img->priv;

	if (!s->writable)
		return -EROFS;
	qcow2_bitmaps_mark(s, off, len);
	return qcow2_write_data(s, off, buf, len);
}

static int zero_common(struct bc_image *img, uint64_t off, uint64_t len, bool discard,
		       bool unmap)
{
	struct qcow2 *s = img->priv;
	uint64_t g = s->ext_l2 ? 1ull << s->sc_bits : s->cluster_size;
	uint64_t a = qcow2_align_up(off, g), b = (off + len) / g * g, end = off + len;
	int ret;

	if (!s->writable)
		return -EROFS;
	if (s->corrupt)
		return -EIO;
	if (end == img->size)
		b = qcow2_align_up(end, g); /* the tail of the last cluster is ours */
	if (a >= b) {
		if (discard)
			return 0;
		return -ENOTSUP;
	}
	if (!discard && (a != off || b < end))
		return -ENOTSUP; /* the engine writes the unaligned edges as zeros */
	if (s->data_raw) {
		if (discard)
			return 0;
		return -ENOTSUP;
	}
	qcow2_bitmaps_mark(s, a, b - a);
	ret = qcow2_zero_range(s, a, b - a, discard, unmap);
	return ret;
}

static int qcow2_discard(struct bc_image *img, uint64_t off, uint64_t len)
{
	return zero_common(img, off, len, true, true);
}

/*
 * Whether [off, off+len) (clamped to the image) reads as zeros by block status through the
 * backing chain: zero or unallocated clusters, not data that happens to be zeros.
 */
static int reads_as_zeros(struct bc_image *img, uint64_t off, uint64_t len, bool *zero)
{
	*zero = true;
	if (off >= img->size)
		return 0;
	if (len > img->size - off)
		len = img->size - off;
	while (len) {
		struct bc_extent ext;
		int ret = bc_block_status(img, off, len, &ext);
		if (ret < 0)
			return ret;
		if (!(ext.flags & BC_EXT_ZERO) || !ext.len || ext.len > len) {
			*zero = false;
			return 0;
		}
		off += ext.len;
		len -= ext.len;
	}
	return 0;
}

/* [off, end) from a (sub)cluster boundary: zero flags, or zeros written where they cannot be. */
static int zero_aligned(struct bc_image *img, uint64_t off, uint64_t end, bool unmap,
			const uint8_t *z)
{
	struct qcow2 *s = img->priv;
	uint64_t g = s->ext_l2 ? 1ull << s->sc_bits : s->cluster_size;
	int ret = zero_common(img, off, end - off, false, unmap);

	if (ret != -ENOTSUP)
		return ret;
	ret = 0;
	for (uint64_t p = off; ret == 0 && p < end; p += g)
		ret = qcow2_write_data(s, p, z, (size_t)(end - p < g ? end - p : g));
	return ret;
}

/*
 * A piece [off, end) of a write-zeroes request inside one (sub)cluster, as qemu 7.2 handles
 * it: when the rest of the (sub)cluster reads as zeros and this image holds no data there
 * (unallocated or zero), the whole (sub)cluster becomes a zero (sub)cluster; otherwise (or
 * when zero flags cannot be used, v2 over a backing file) zeros are written.
 */
static int zero_piece(struct bc_image *img, uint64_t off, uint64_t end, bool unmap,
		      const uint8_t *z)
{
	struct qcow2 *s = img->priv;
	uint64_t g = s->ext_l2 ? 1ull << s->sc_bits : s->cluster_size;
	uint64_t start = off / g * g, head = off - start, tail = qcow2_align_up(end, g) - end;
	struct bc_extent ext;
	bool zh, zt;
	int ret;

	if (end == img->size)
		tail = 0;
	if (!head && !tail)
		return zero_aligned(img, off, end, unmap, z);
	ret = reads_as_zeros(img, start, head, &zh);
	if (ret == 0)
		ret = reads_as_zeros(img, end, tail, &zt);
	if (ret == 0 && zh && zt)
		ret = qcow2_status(s, start, g, &ext);
	if (ret < 0)
		return ret;
	ret = -ENOTSUP;
	if (zh && zt && !(ext.flags & BC_EXT_DATA))
		ret = zero_common(img, start, g, false, unmap);
	if (ret == -ENOTSUP)
		ret = qcow2_write_data(s, off, z, (size_t)(end - off));
	return ret;
}

/*
 * Split as qemu's block layer splits a write-zeroes request: an unaligned head up to the
 * first (sub)cluster boundary, the aligned middle, an unaligned tail; each piece on its own.
 */
static int qcow2_write_zeroes(struct bc_image *img, uint64_t off, uint64_t len, unsigned flags)
{
	struct qcow2 *s = img->priv;
	uint64_t g = s->ext_l2 ? 1ull << s->sc_bits : s->cluster_size;
	uint64_t end = off + len, tail = end % g;
	bool unmap = flags & BC_ZERO_MAY_UNMAP;
	uint8_t *z;
	int ret = 0;

	if (!s->writable)
		return -EROFS;
	if (s->corrupt)
		return -EIO;
	if (off % g == 0 && (tail == 0 || end == img->size))
		return zero_common(img, off, len, false, unmap);
	z = calloc(1, g);
	if (!z)
		return -ENOMEM;
	if (off % g) {
		uint64_t n = qcow2_align_up(off, g) < end ? qcow2_align_up(off, g) : end;
		ret = zero_piece(img, off, n, unmap, z);
		off = n;
	}
	if (ret == 0 && off < end && tail && end - off > g) {
		ret = zero_aligned(img, off, end - tail, unmap, z);
		off = end - tail;
	}
	if (ret == 0 && off < end)
		ret = zero_piece(img, off, end, unmap, z);
	free(z);
	return ret;
}

/*
 * Like qemu, data clusters are looked up in the host file (holes read as zeros) only when the
 * image looks metadata-preallocated: many more clusters have refcounts than the host file
 * has allocated.
 */
static bool looks_preallocated(struct qcow2 *s)
{
	uint64_t cs = s->cluster_size, used = 0, rc, real, n;
	int64_t flen, alloc;

	if (s->meta_prealloc_checked)
		return s->meta_prealloc;
	s->meta_prealloc_checked = true;
	flen = bc_file_length(s->file);
	alloc = bc_file_allocated(s->file);
	if (flen <= 0 || alloc < 0)
		return false;
	n = qcow2_align_up((uint64_t)flen, cs) / cs;
	for (uint64_t k = 0; k < n; k++)
		if (qcow2_get_refcount(s, k, &rc) == 0 && rc)
			used++;
	real = (uint64_t)alloc / cs;
	s->meta_prealloc = used >= (real * 10 / 9 > real + 2 ? real * 10 / 9 : real + 2);
	return s->meta_prealloc;
}

static int qcow2_block_status(struct bc_image *img, uint64_t off, uint64_t len,
			      struct bc_extent *ext)
{
	struct qcow2 *s = img->priv;
	int ret = qcow2_status(s, off, len, ext);

	if (ret == 0 && (ext->flags & BC_EXT_DATA) && (ext->flags & BC_EXT_OFFSET) &&
	    s->data_file == s->file && looks_preallocated(s)) {
		uint64_t pnum = 0;
		bool data = true;
		if (bc_file_status(s->data_file, ext->host_off, ext->len, &pnum, &data) == 0 &&
		    pnum && !data) {
			ext->flags |= BC_EXT_ZERO;
			if (pnum < ext->len)
				ext->len = pnum;
		} else if (pnum && pnum < ext->len && data) {
			ext->len = pnum;
		}
	}
	return ret;
}

/*
 * A shrink to inside a cluster keeps that cluster, and with it the old bytes past the new end;
 * a later grow would show them again (qemu 7.2 does). They are zeroed now, so the area a grow
 * adds always reads as zeros.
 */
static int shrink_zero_tail(struct bc_image *img, uint64_t size, uint64_t old)
{
	struct qcow2 *s = img->priv;
	uint64_t end = qcow2_align_up(size, s->cluster_size);
	struct bc_extent ext;
	int ret;

	if (end > old)
		end = old;
	if (end <= size)
		return 0;
	ret = qcow2_status(s, size, end - size, &ext);
	if (ret < 0 || !(ext.flags & BC_EXT_DATA))
		return ret;
	for (uint64_t off = size, n; ret == 0 && off < end; off += n) {
		n = end - off < BC_ZERO_CHUNK ? end - off : BC_ZERO_CHUNK;
		ret = qcow2_write_data(s, off, bc_zero_chunk(), (size_t)n);
	}
	return ret;
}

/* A grow over a longer backing file must hide the backing data with zero clusters, which a
 * version 2 image does not have: refused before anything changes, as qemu refuses. */
static bool grow_cannot_hide_backing(struct bc_image *img, uint64_t size, enum bc_prealloc prealloc)
{
	struct qcow2 *s = img->priv;

	return size > img->size && s->h.version < 3 && img->backing &&
	       bc_length(img->backing) > img->size &&
	       (prealloc == BC_PREALLOC_OFF || prealloc == BC_PREALLOC_METADATA);
}

static int qcow2_truncate(struct bc_image *img, uint64_t size, enum bc_prealloc prealloc,
			  bool shrink, struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	uint64_t cs = s->cluster_size, need, old = img->size;
	uint8_t be[8];
	int ret;

	if (!s->writable)
		return bc_err_set(err, -EROFS, "Image is read-only");
	if (size % 512)
		return bc_err_set(err, -EINVAL, "The new size must be a multiple of 512");
	if (size > QCOW2_MAX_VIRTUAL_SIZE)
		return bc_err_set(err, -EFBIG, "Image size too large");
	if ((ret = qcow2_bitmaps_resize(s, size, err)) < 0)
		return ret;
	if (grow_cannot_hide_backing(img, size, prealloc))
		return bc_err_set(err, -ENOTSUP, "Failed to zero out new clusters: %s",
				  strerror(ENOTSUP));
	if (size < old) {
		if (!shrink)
			return bc_err_set(err, -EINVAL, "Use the --shrink option to perform a "
							"shrink operation.");
		if (prealloc != BC_PREALLOC_OFF)
			return bc_err_set(err, -ENOTSUP, "Preallocation can't be used for "
							 "shrinking an image");
		ret = qcow2_zero_range(s, qcow2_align_up(size, cs),
				       qcow2_align_up(old, cs) - qcow2_align_up(size, cs), true, true);
		if (ret == 0)
			ret = shrink_zero_tail(img, size, old);
		if (ret < 0)
			return bc_err_set(err, ret, "Failed to discard cropped clusters: %s",
					  strerror(-ret));
	}
	need = (size + (cs << s->l2_bits) - 1) / (cs << s->l2_bits);
	ret = qcow2_grow_l1(s, need);
	if (ret < 0)
		return bc_err_set(err, ret, "Failed to grow the L1 table: %s", strerror(-ret));
	ret = qcow2_flush_metadata(s);
	if (ret < 0)
		return bc_err_set(err, ret, "Failed to flush metadata: %s", strerror(-ret));
	if (size > old && prealloc != BC_PREALLOC_OFF) {
		ret = qcow2_preallocate(s, old, size, prealloc);
		if (ret == 0)
			ret = qcow2_flush_metadata(s);
		if (ret < 0)
			return bc_err_set(err, ret, "Preallocation failed: %s", strerror(-ret));
	}
	bc_wr_be64(be, size);
	ret = bc_file_pwrite(s->file, be, 8, 24);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		return bc_err_set(err, ret, "Failed to update the image size: %s", strerror(-ret));
	s->h.size = size;
	img->size = size;
	if (s->data_file != s->file && (s->data_raw || size > old)) {
		int64_t dl = bc_file_length(s->data_file);
		if (dl >= 0 && (uint64_t)dl < size)
			bc_file_truncate(s->data_file, size);
	}
	return 0;
}

static int qcow2_get_info(struct bc_image *img, struct bc_info *info, struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	struct bc_node *n;

	(void)err;
	info->cluster_size = s->cluster_size;
	info->has_cluster_size = true;
	info->encrypted = s->h.crypt_method != 0;
	info->no_zero_init = s->h.crypt_method != 0 && s->data_file != s->file;
	info->dirty = (s->h.incompatible_features & QCOW2_INCOMPAT_DIRTY) != 0;
	n = bc_node_new(BC_NODE_OBJECT, "qcow2");
	if (!n)
		return -ENOMEM;
	bc_node_add_str(n, "compat", s->h.version >= 3 ? "1.1" : "0.10");
	bc_node_add_str(n, "compression-type", s->h.compression_type ? "zstd" : "zlib");
	if (s->h.version >= 3)
		bc_node_add_bool(n, "lazy-refcounts", s->lazy);
	qcow2_bitmaps_info(s, n);
	bc_node_add_int(n, "refcount-bits", 1ll << s->refcount_order);
	qcow2_crypt_info(s, n);
	if (s->h.version >= 3) {
		if (s->data_file != s->file) {
			bc_node_add_str(n, "data-file", s->h.data_file ? s->h.data_file
								       : s->data_file_path);
			bc_node_add_bool(n, "data-file-raw", s->data_raw);
		}
		bc_node_add_bool(n, "corrupt", s->corrupt);
		bc_node_add_bool(n, "extended-l2", s->ext_l2);
	}
	info->specific = n;
	return 0;
}

static int qcow2_change_backing(struct bc_image *img, const char *file, const char *fmt,
				struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	int ret;

	if (!s->writable)
		return bc_err_set(err, -EROFS, "Image is read-only");
	if (file && strlen(file) > QCOW2_MAX_BACKING_NAME)
		return bc_err_set(err, -EINVAL, "Backing file name too long");
	if (qcow2_set_str(&s->h.backing_file, file) < 0 ||
	    qcow2_set_str(&s->h.backing_fmt, file ? fmt : NULL) < 0)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	if (!file)
		s->h.backing_file_offset = 0;
	ret = qcow2_flush_metadata(s);
	if (ret == 0)
		ret = qcow2_write_header(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		return bc_err_set(err, ret, "Could not update the backing file: %s", strerror(-ret));
	free(img->backing_name);
	free(img->backing_fmt);
	img->backing_name = file ? strdup(file) : NULL;
	img->backing_fmt = file && fmt ? strdup(fmt) : NULL;
	return 0;
}

static int qcow2_probe(const uint8_t *buf, size_t len, const char *filename)
{
	(void)filename;
	if (len >= 8 && bc_rd_be32(buf) == QCOW2_MAGIC && bc_rd_be32(buf + 4) >= 2)
		return 100;
	return 0;
}

const struct bc_format bc_format_qcow2 = {
	.name = "qcow2",
	.probe = qcow2_probe,
	.create_opts = qcow2_create_opts,
	.create = qcow2_create,
	.open = qcow2_open,
	.close = qcow2_close,
	.read = qcow2_read,
	.write = qcow2_write,
	.write_compressed = qcow2_write_compressed,
	.flush = qcow2_flush,
	.discard = qcow2_discard,
	.write_zeroes = qcow2_write_zeroes,
	.block_status = qcow2_block_status,
	.truncate = qcow2_truncate,
	.get_info = qcow2_get_info,
	.check = qcow2_check,
	.snapshot_list = qcow2_snapshot_list,
	.snapshot_create = qcow2_snapshot_create,
	.snapshot_apply = qcow2_snapshot_apply,
	.snapshot_delete = qcow2_snapshot_delete,
	.vmstate_write = qcow2_vmstate_write,
	.vmstate_read = qcow2_vmstate_read,
	.amend_opts = qcow2_amend_opts,
	.amend = qcow2_amend,
	.change_backing = qcow2_change_backing,
	.make_empty = qcow2_make_empty,
	.bitmap = qcow2_bitmap,
	.measure = qcow2_measure,
};
