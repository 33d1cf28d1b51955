/*
 * Guest-to-host mapping: L1 -> L2 (standard 8-byte or extended 16-byte entries with 32
 * subclusters), the read path, the allocating write path with copy-on-write from the backing
 * chain, zero/discard through L2 flags. The L1 table, the metadata flush and copy-on-write
 * of clusters shared with snapshots are cow.c's, below.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- L2 ---- */

/* A new L2 table's cluster, written (zeros) at once: the table itself stays in the cache, but
 * its host space is taken now, so a full disk later cannot keep it, and the clusters it maps,
 * from reaching the disk (which would leak every one of them). */
static int l2_alloc_reserved(struct qcow2 *s, uint64_t *l2off)
{
	int ret = qcow2_alloc_clusters(s, 1, l2off);

	if (ret < 0)
		return ret;
	/* qemu writes the new table here (its L2 cache flush raises l2_update too) */
	bc_file_event(s->file, BC_EV_L2_ALLOC_WRITE);
	bc_file_event(s->file, BC_EV_L2_UPDATE);
	for (uint64_t done = 0, n; ret == 0 && done < s->cluster_size; done += n) {
		n = s->cluster_size - done < BC_ZERO_CHUNK ? s->cluster_size - done : BC_ZERO_CHUNK;
		ret = bc_file_pwrite(s->file, bc_zero_chunk(), (size_t)n, *l2off + done);
	}
	if (ret < 0)
		qcow2_free_clusters(s, *l2off, 1);
	return ret;
}

static int l2_lookup(struct qcow2 *s, uint64_t off, bool alloc, uint8_t **l2, uint32_t *idx)
{
	uint64_t l1i = off >> (s->cluster_bits + s->l2_bits), l2off;
	int ret;

	*l2 = NULL;
	*idx = (uint32_t)((off >> s->cluster_bits) & ((1u << s->l2_bits) - 1));
	if (l1i >= s->l1_size) {
		if (!alloc)
			return 0;
		return -EIO;
	}
	l2off = s->l1[l1i] & QCOW2_L1_OFFSET_MASK;
	/* COPIED with no offset names a table in the header cluster, which a write would
	 * overwrite (qemu would load and write it there; its overlap check refuses that) */
	if (!l2off && alloc && (s->l1[l1i] & QCOW2_OFLAG_COPIED))
		return qcow2_mark_corrupt(s, "Preventing invalid write on metadata (overlaps "
					     "with qcow2_header)");
	if (!l2off) {
		if (!alloc)
			return 0;
		ret = l2_alloc_reserved(s, &l2off);
		if (ret < 0)
			return ret;
		ret = qcow2_cache_get(s, &s->l2_cache, l2off, false, l2);
		if (ret < 0)
			return ret;
		qcow2_cache_mark_dirty(&s->l2_cache, *l2);
		/* Invariant 2: the L1 entry reaches the disk after the L2 table (flush). */
		s->l1[l1i] = l2off | QCOW2_OFLAG_COPIED;
		s->l1_dirty = true;
		return 0;
	}
	if (l2off & (s->cluster_size - 1))
		return qcow2_mark_corrupt(s, "L2 table offset %#llx unaligned (L1 index: %#llx)",
					  (unsigned long long)l2off, (unsigned long long)l1i);
	ret = qcow2_cache_get(s, &s->l2_cache, l2off, true, l2);
	if (ret < 0)
		return ret;
	if (alloc && !(s->l1[l1i] & QCOW2_OFLAG_COPIED)) {
		uint64_t rc;
		ret = qcow2_get_refcount(s, l2off >> s->cluster_bits, &rc);
		if (ret < 0)
			return ret;
		if (rc != 1)
			return qcow2_cow_l2(s, l1i, l2); /* shared with a snapshot (snapshot.c) */
		s->l1[l1i] |= QCOW2_OFLAG_COPIED;
		s->l1_dirty = true;
	}
	/* a table written in place must not lie on other metadata (reads go ahead) */
	if (alloc)
		return qcow2_overlap_refuse(s, QCOW2_OL_ACTIVE_L2, l2off, s->cluster_size);
	return 0;
}

static void get_entry(const struct qcow2 *s, const uint8_t *l2, uint32_t idx, uint64_t *e,
		      uint64_t *bm)
{
	*e = bc_rd_be64(l2 + (size_t)idx * s->l2_entry_size);
	*bm = s->ext_l2 ? bc_rd_be64(l2 + (size_t)idx * 16 + 8) : 0;
}

static void set_entry(struct qcow2 *s, uint8_t *l2, uint32_t idx, uint64_t e, uint64_t bm)
{
	bc_wr_be64(l2 + (size_t)idx * s->l2_entry_size, e);
	if (s->ext_l2)
		bc_wr_be64(l2 + (size_t)idx * 16 + 8, bm);
	qcow2_cache_mark_dirty(&s->l2_cache, l2);
}

static bool has_host(const struct qcow2 *s, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return false;
	return (e & QCOW2_L2_OFFSET_MASK) || (s->data_file != s->file && (e & QCOW2_OFLAG_COPIED));
}

/* Type of subcluster sc (standard entries: the whole cluster, sc ignored). */
static int sc_type(struct qcow2 *s, uint64_t e, uint64_t bm, uint32_t sc, enum qcow2_ctype *t)
{
	if (e & QCOW2_OFLAG_COMPRESSED) {
		*t = QCOW2_COMPRESSED;
		return 0;
	}
	if (s->ext_l2) {
		bool a = (bm >> sc) & 1, z = (bm >> (32 + sc)) & 1;
		if (a && z)
			return qcow2_mark_corrupt(s, "Invalid cluster entry found "
						     "(L2 entry: %#llx, bitmap: %#llx)",
						  (unsigned long long)e, (unsigned long long)bm);
		if (a && !has_host(s, e))
			return qcow2_mark_corrupt(s, "Subcluster allocated without host offset "
						     "(L2 entry: %#llx)", (unsigned long long)e);
		*t = z ? QCOW2_ZERO : a ? QCOW2_NORMAL : QCOW2_UNALLOC;
		return 0;
	}
	if (s->h.version >= 3 && (e & QCOW2_OFLAG_ZERO))
		*t = QCOW2_ZERO;
	else
		*t = has_host(s, e) ? QCOW2_NORMAL : QCOW2_UNALLOC;
	return 0;
}

static int check_host(struct qcow2 *s, uint64_t e, uint64_t guest)
{
	uint64_t host = e & QCOW2_L2_OFFSET_MASK;

	if (s->data_file != s->file)
		return 0;
	if (host & (s->cluster_size - 1))
		return qcow2_mark_corrupt(s, "Cluster allocation offset %#llx unaligned "
					     "(guest offset: %#llx)", (unsigned long long)host,
					  (unsigned long long)guest);
	if (host < s->cluster_size)
		return qcow2_mark_corrupt(s, "Data cluster offset %#llx overlaps with metadata "
					     "(guest offset: %#llx)", (unsigned long long)host,
					  (unsigned long long)guest);
	return 0;
}

struct qcow2_map {
	enum qcow2_ctype type;
	uint64_t len;       /* bytes from off with this type (and contiguous host data) */
	uint64_t host;      /* host offset of off when has_host */
	bool host_valid;
	uint64_t entry;     /* the L2 entry (compressed clusters) */
};

/* Describes the longest run at off (<= len) of one type inside one L2 table. */
static int map_run(struct qcow2 *s, uint64_t off, uint64_t len, struct qcow2_map *m)
{
	uint64_t cs = s->cluster_size, l2_span = cs << s->l2_bits;
	uint64_t end = (off / l2_span + 1) * l2_span, pos = off, next_host = 0;
	uint32_t scb = s->ext_l2 ? s->sc_bits : s->cluster_bits, idx;
	uint8_t *l2;
	int ret;

	if (end > off + len)
		end = off + len;
	memset(m, 0, sizeof(*m));
	ret = l2_lookup(s, off, false, &l2, &idx);
	if (ret < 0)
		return ret;
	if (!l2) {
		/* Unallocated up to the next L1 entry that has a table (long empty stretches of
		 * big images in one answer). */
		uint64_t span = cs << s->l2_bits, l1i = off / span + 1;
		while (end < off + len && l1i < s->l1_size && !(s->l1[l1i] & QCOW2_L1_OFFSET_MASK)) {
			end = (l1i + 1) * span < off + len ? (l1i + 1) * span : off + len;
			l1i++;
		}
		if (l1i >= s->l1_size)
			end = off + len;
		m->type = QCOW2_UNALLOC;
		m->len = end - off;
		return 0;
	}
	while (pos < end) {
		uint64_t e, bm, cstart = pos & ~(cs - 1);
		get_entry(s, l2, idx, &e, &bm);
		while (pos < end && pos < cstart + cs) {
			uint32_t sc = (uint32_t)((pos - cstart) >> scb);
			uint64_t scend = cstart + ((uint64_t)(sc + 1) << scb);
			enum qcow2_ctype t;
			bool hv = has_host(s, e);
			uint64_t h = (e & QCOW2_L2_OFFSET_MASK) + (pos - cstart);

			ret = sc_type(s, e, bm, sc, &t);
			if (ret < 0)
				return ret;
			if (pos == off) {
				if (t == QCOW2_NORMAL) {
					ret = check_host(s, e, pos);
					if (ret < 0)
						return ret;
				}
				m->type = t;
				m->host_valid = hv;
				m->host = h;
			} else if (t != m->type || hv != m->host_valid ||
				   (hv && h != next_host)) {
				goto done;
			} else if (t == QCOW2_NORMAL) {
				ret = check_host(s, e, pos);
				if (ret < 0)
					return ret;
			}
			if (t == QCOW2_COMPRESSED) {
				/* one cluster at a time */
				m->entry = e;
				m->len = (cstart + cs < end ? cstart + cs : end) - off;
				return 0;
			}
			if (scend > end)
				scend = end;
			next_host = h + (scend - pos);
			pos = scend;
		}
		idx++;
	}
done:
	m->len = pos - off;
	return 0;
}

int qcow2_read_data(struct qcow2 *s, uint64_t off, uint8_t *buf, size_t len)
{
	while (len) {
		struct qcow2_map m;
		int ret = map_run(s, off, len, &m);
		size_t n;

		if (ret < 0)
			return ret;
		n = (size_t)m.len;
		switch (m.type) {
		case QCOW2_UNALLOC:
			ret = bc_backing_read(s->img, off, buf, n);
			break;
		case QCOW2_ZERO:
			memset(buf, 0, n);
			break;
		case QCOW2_NORMAL:
			ret = qcow2_data_pread(s, buf, n, m.host, off);
			break;
		case QCOW2_COMPRESSED:
			ret = qcow2_read_compressed(s, m.entry, off & (s->cluster_size - 1), buf, n);
			break;
		}
		if (ret < 0)
			return ret;
		off += n;
		buf += n;
		len -= n;
	}
	return 0;
}

int qcow2_status(struct qcow2 *s, uint64_t off, uint64_t len, struct bc_extent *ext)
{
	struct qcow2_map m;
	int ret = map_run(s, off, len, &m);

	if (ret < 0)
		return ret;
	memset(ext, 0, sizeof(*ext));
	ext->off = off;
	ext->len = m.len;
	switch (m.type) {
	case QCOW2_UNALLOC:
		/* unallocated subclusters of an allocated cluster: qemu reports the offset */
		if (m.host_valid) {
			ext->flags = BC_EXT_OFFSET;
			ext->host_off = m.host;
			ext->host_file = s->data_file->path;
		}
		break;
	case QCOW2_ZERO:
		ext->flags = BC_EXT_ZERO | BC_EXT_ALLOCATED;
		if (m.host_valid) {
			ext->flags |= BC_EXT_OFFSET;
			ext->host_off = m.host;
			ext->host_file = s->data_file->path;
		}
		break;
	case QCOW2_NORMAL:
		ext->flags = BC_EXT_DATA | BC_EXT_ALLOCATED | BC_EXT_OFFSET;
		ext->host_off = m.host;
		ext->host_file = s->data_file->path;
		break;
	case QCOW2_COMPRESSED:
		ext->flags = BC_EXT_DATA | BC_EXT_ALLOCATED | BC_EXT_COMPRESSED;
		break;
	}
	return 0;
}

/* Fills buf with what [off, off+len) of the guest reads as, given the subcluster type. */
static int fill_old(struct qcow2 *s, enum qcow2_ctype t, uint64_t host, uint64_t off,
		    uint8_t *buf, size_t len)
{
	if (!len)
		return 0;
	switch (t) {
	case QCOW2_ZERO:
		memset(buf, 0, len);
		return 0;
	case QCOW2_NORMAL:
		return qcow2_data_pread(s, buf, len, host, off);
	case QCOW2_COMPRESSED:
		return -ENOTSUP;
	default:
		break;
	}
	if (off >= s->img->size) {
		memset(buf, 0, len);
		return 0;
	}
	if (off + len > s->img->size) {
		size_t in = (size_t)(s->img->size - off);
		memset(buf + in, 0, len - in);
		len = in;
	}
	return bc_backing_read(s->img, off, buf, len);
}

static int alloc_data_cluster(struct qcow2 *s, uint64_t guest, uint64_t *host)
{
	if (s->data_file != s->file) {
		*host = guest;
		return 0;
	}
	return qcow2_alloc_clusters(s, 1, host);
}

/* Drops one reference to each host cluster a compressed entry's data touches, once the
 * entry is no longer on disk (invariant 5). */
static int free_compressed(struct qcow2 *s, uint64_t e)
{
	uint64_t host, len, cs = s->cluster_size;
	int ret;

	qcow2_compressed_range(s, e, &host, &len);
	ret = qcow2_flush_metadata(s);
	if (ret < 0)
		return ret;
	return qcow2_free_clusters(s, host & ~(cs - 1),
				   (host + len - 1) / cs - host / cs + 1);
}

/* A write into a compressed cluster: decompress, merge, store as a normal cluster. */
static int rewrite_compressed(struct qcow2 *s, uint64_t off, const uint8_t *data, size_t n,
			      uint64_t e)
{
	uint64_t cs = s->cluster_size, cstart = off & ~(cs - 1), host;
	uint8_t *l2;
	uint32_t idx;
	int ret;

	ret = qcow2_read_compressed(s, e, 0, s->buf, cs);
	if (ret < 0)
		return ret;
	memcpy(s->buf + (off - cstart), data, n);
	ret = alloc_data_cluster(s, cstart, &host);
	if (ret < 0)
		return ret;
	ret = qcow2_data_pwrite(s, s->buf, cs, host, cstart);
	if (ret == 0)
		ret = l2_lookup(s, off, true, &l2, &idx);
	if (ret < 0)
		return ret;
	set_entry(s, l2, idx, host | QCOW2_OFLAG_COPIED, s->ext_l2 ? 0xffffffffull : 0);
	s->cbuf_entry = 0;
	return free_compressed(s, e);
}

int qcow2_prepare_l2(struct qcow2 *s, uint64_t off)
{
	uint8_t *l2;
	uint32_t idx;

	return l2_lookup(s, off, true, &l2, &idx);
}

/* Drops the references of what entry e (no longer on disk) pointed to. */
static int release_old(struct qcow2 *s, uint64_t e)
{
	uint64_t host = e & QCOW2_L2_OFFSET_MASK;
	int ret;

	if (e & QCOW2_OFLAG_COMPRESSED)
		return free_compressed(s, e);
	if (!has_host(s, e) || s->data_file != s->file)
		return 0;
	ret = qcow2_flush_metadata(s); /* invariant 5 */
	if (ret == 0)
		ret = qcow2_free_clusters(s, host, 1);
	if (ret == 0 && qcow2_cluster_unused(s, host))
		bc_file_punch(s->file, host, s->cluster_size);
	return ret;
}

int qcow2_set_compressed(struct qcow2 *s, uint64_t off, uint64_t e)
{
	uint64_t old, bm;
	uint8_t *l2;
	uint32_t idx;
	int ret;

	ret = l2_lookup(s, off, true, &l2, &idx);
	if (ret < 0)
		return ret;
	get_entry(s, l2, idx, &old, &bm);
	if (has_host(s, old) && !(old & QCOW2_OFLAG_COMPRESSED)) {
		ret = check_host(s, old, off);
		if (ret < 0)
			return ret;
	}
	/* Compressed entries never carry COPIED; with extended L2 their bitmap is 0. */
	set_entry(s, l2, idx, e, 0);
	s->cbuf_entry = 0;
	return release_old(s, old);
}

/* Writes [off, off+n) inside one cluster. */
static int write_cluster(struct qcow2 *s, uint64_t off, const uint8_t *data, size_t n)
{
	uint64_t cs = s->cluster_size, cstart = off & ~(cs - 1), a = off - cstart, b = a + n;
	uint64_t e, bm, host, old_host;
	bool hv, newc = false;
	uint8_t *l2;
	uint32_t idx;
	int ret;

	ret = l2_lookup(s, off, true, &l2, &idx);
	if (ret < 0)
		return ret;
	get_entry(s, l2, idx, &e, &bm);
	if (e & QCOW2_OFLAG_COMPRESSED)
		return rewrite_compressed(s, off, data, n, e);
	hv = has_host(s, e);
	old_host = e & QCOW2_L2_OFFSET_MASK;
	if (hv) {
		ret = check_host(s, e, off);
		if (ret < 0)
			return ret;
		const char *what = s->data_file == s->file ? qcow2_overlaps_metadata(s, old_host, cs)
							     : NULL;
		if (what)
			return qcow2_mark_corrupt(s, "Preventing invalid write on metadata "
						     "(overlaps with %s)", what);
		if (!(e & QCOW2_OFLAG_COPIED)) {
			uint64_t rc;
			ret = qcow2_get_refcount(s, old_host >> s->cluster_bits, &rc);
			if (ret < 0)
				return ret;
			if (rc != 1) {
				/* shared with a snapshot: write to a copy (snapshot.c) */
				ret = qcow2_cow_data(s, off, &e);
				if (ret == 0)
					ret = l2_lookup(s, off, true, &l2, &idx);
				if (ret < 0)
					return ret;
				old_host = e & QCOW2_L2_OFFSET_MASK;
			} else {
				e |= QCOW2_OFLAG_COPIED;
				set_entry(s, l2, idx, e, bm);
			}
		}
		host = old_host;
	} else {
		ret = alloc_data_cluster(s, cstart, &host);
		if (ret < 0)
			return ret;
		newc = true;
		const char *what = s->data_file == s->file ? qcow2_overlaps_metadata(s, host, cs)
							   : NULL;
		if (what) /* the refcounts said free, but metadata lives there */
			return qcow2_mark_corrupt(s, "Preventing invalid write on metadata "
						     "(overlaps with %s)", what);
		/* allocation may have evicted the table */
		ret = l2_lookup(s, off, true, &l2, &idx);
		if (ret < 0)
			goto undo;
	}

	if (!s->ext_l2) {
		enum qcow2_ctype t;
		ret = sc_type(s, e, bm, 0, &t);
		if (ret < 0)
			goto undo;
		if (t == QCOW2_NORMAL) {
			ret = qcow2_data_pwrite(s, data, n, host + a, off);
			if (ret < 0)
				goto undo;
		} else if (n == cs) {
			ret = qcow2_data_pwrite(s, data, n, host, off);
			if (ret < 0)
				goto undo;
		} else {
			/* Copy-on-write: the rest of the cluster from what it read as before. */
			bc_file_event(s->file, BC_EV_COW_READ);
			ret = fill_old(s, t, 0, cstart, s->buf, (size_t)a);
			if (ret == 0)
				ret = fill_old(s, t, 0, cstart + b, s->buf + b, (size_t)(cs - b));
			if (ret < 0)
				goto undo;
			memcpy(s->buf + a, data, n);
			bc_file_event(s->file, BC_EV_COW_WRITE);
			ret = qcow2_data_pwrite(s, s->buf, cs, host, cstart);
			if (ret < 0)
				goto undo;
		}
		if (newc || t != QCOW2_NORMAL) {
			set_entry(s, l2, idx, host | QCOW2_OFLAG_COPIED, 0);
		}
		return 0;
	}

	/* Extended L2: write whole subclusters, filling partial ones from their old content. */
	uint32_t scb = s->sc_bits, sa = (uint32_t)(a >> scb), sb = (uint32_t)((b - 1) >> scb);
	uint64_t ra = (uint64_t)sa << scb, rb = (uint64_t)(sb + 1) << scb;
	enum qcow2_ctype ta, tb;
	ret = sc_type(s, e, bm, sa, &ta);
	if (ret == 0)
		ret = sc_type(s, e, bm, sb, &tb);
	if (ret < 0)
		goto undo;
	if (ra == a && rb == b) {
		ret = qcow2_data_pwrite(s, data, n, host + a, off);
	} else {
		bc_file_event(s->file, BC_EV_COW_READ);
		ret = fill_old(s, ta, host + ra, cstart + ra, s->buf, (size_t)(a - ra));
		if (ret == 0)
			ret = fill_old(s, tb, host + b, cstart + b, s->buf + (b - ra),
				       (size_t)(rb - b));
		if (ret < 0)
			goto undo;
		memcpy(s->buf + (a - ra), data, n);
		bc_file_event(s->file, BC_EV_COW_WRITE);
		ret = qcow2_data_pwrite(s, s->buf, (size_t)(rb - ra), host + ra, cstart + ra);
	}
	if (ret < 0)
		goto undo;
	uint64_t mask = (sb - sa + 1 == 32 ? 0xffffffffull : ((1ull << (sb - sa + 1)) - 1)) << sa;
	uint64_t nbm = (bm | mask) & ~(mask << 32);
	uint64_t ne = host | QCOW2_OFLAG_COPIED;
	if (nbm != bm || ne != e)
		set_entry(s, l2, idx, ne, nbm);
	return 0;
undo:
	/* a write that failed (ENOSPC, EIO) gives back the cluster it allocated, as qemu does:
	 * otherwise it stays referenced by nothing, a leak */
	if (newc && s->data_file == s->file)
		qcow2_free_clusters(s, host, 1);
	return ret;
}

int qcow2_write_data(struct qcow2 *s, uint64_t off, const uint8_t *buf, size_t len)
{
	uint64_t cs = s->cluster_size;

	if (s->corrupt)
		return -EIO;
	while (len) {
		size_t n = (size_t)(cs - (off & (cs - 1)));
		int ret;
		if (n > len)
			n = len;
		ret = write_cluster(s, off, buf, n);
		if (ret < 0)
			return ret;
		off += n;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * The entry a discard leaves, as qemu 7.2. A discard request (img->discard_request: bc_discard,
 * a snapshot's VM state) must read as zeros afterwards, so a cluster that is allocated, or has
 * a backing file below it, becomes a zero cluster (extended L2: no host cluster, every
 * subcluster zero; v2 cannot say zero and is only discarded without a backing file); a
 * cluster that already reads as zeros and holds no host cluster is left alone. Any other
 * discard (a shrink's, past the new end) leaves the cluster unallocated, as qemu; with a
 * backing file zero (v3), which is what qemu writes there when the image grows again.
 * Returns false when nothing changes.
 */
static bool discard_entry(const struct qcow2 *s, uint64_t e, uint64_t bm, bool backing,
			  uint64_t *ne, uint64_t *nbm)
{
	if (!s->img->discard_request) {
		*ne = backing && s->h.version >= 3 && !s->ext_l2 ? QCOW2_OFLAG_ZERO : 0;
		*nbm = backing && s->ext_l2 ? QCOW2_BITMAP_ALL_ZEROES : 0;
		return *ne != e || *nbm != bm;
	}
	if (!backing && !has_host(s, e) && !(e & QCOW2_OFLAG_COMPRESSED))
		return false;
	if (s->ext_l2) {
		*ne = 0;
		*nbm = QCOW2_BITMAP_ALL_ZEROES;
	} else {
		*ne = s->h.version >= 3 ? QCOW2_OFLAG_ZERO : 0;
		*nbm = 0;
	}
	return *ne != e || *nbm != bm;
}

/*
 * Whether a discard handles [off, cend) of the cluster at cstart: qemu discards whole clusters
 * only (also with extended L2), the partial last cluster of the image counting as whole.
 */
static bool discard_covers(const struct qcow2 *s, uint64_t off, uint64_t cstart, uint64_t cend)
{
	return off == cstart && (cend == cstart + s->cluster_size || cend >= s->img->size);
}

/*
 * Zeroes or discards whole clusters (whole subclusters with extended L2) of [off, off+len).
 * discard: as qemu's discards (discard_entry, discard_covers). unmap: host clusters may
 * be freed when zeroing. Like qemu, the L2 tables walked are allocated (zero flags need them).
 * Frees happen after the L2 tables are on disk (5).
 */
int qcow2_zero_range(struct qcow2 *s, uint64_t off, uint64_t len, bool discard, bool unmap)
{
	uint64_t cs = s->cluster_size, end = off + len, *freed = NULL;
	size_t nfreed = 0, cap = 0;
	bool backing = s->img->backing_name != NULL || s->img->backing != NULL;
	uint32_t scb = s->ext_l2 ? s->sc_bits : s->cluster_bits;
	int ret = 0;

	if (s->corrupt)
		return -EIO;
	if (discard && s->img->discard_request && backing && s->h.version < 3)
		return 0; /* qemu refuses (the backing file would show through): a no-op */
	while (off < end) {
		uint64_t cstart = off & ~(cs - 1), cend = cstart + cs, e, bm, ne, nbm;
		uint8_t *l2;
		uint32_t idx;
		if (cend > end)
			cend = end;
		if (discard && !discard_covers(s, off, cstart, cend)) {
			off = cend;
			continue;
		}
		/* as qemu: missing tables are allocated, a snapshot's shared table copied */
		ret = l2_lookup(s, off, true, &l2, &idx);
		if (ret < 0)
			goto out;
		get_entry(s, l2, idx, &e, &bm);
		/* the whole cluster (the partial last one counting as whole, as for discards) */
		bool whole = discard || discard_covers(s, off, cstart, cend);
		bool hv = has_host(s, e);
		if ((e & QCOW2_OFLAG_COMPRESSED) && !whole) {
			/* part of a compressed cluster: zeroing rewrites it */
			uint8_t *z = calloc(1, cs);
			ret = z ? qcow2_write_data(s, off, z, (size_t)(cend - off)) : -ENOMEM;
			free(z);
			if (ret < 0)
				goto out;
			off = cend;
			continue;
		}
		if (discard) {
			if (!discard_entry(s, e, bm, backing, &ne, &nbm)) {
				off = cend;
				continue;
			}
			bm = nbm;
		} else if (!s->ext_l2) {
			bool v3 = s->h.version >= 3;
			if (v3)
				ne = (!unmap && hv) ? (e | QCOW2_OFLAG_ZERO) : QCOW2_OFLAG_ZERO;
			else if (!backing)
				ne = 0; /* v2 reads unallocated as zeros; qemu frees even without unmap */
			else {
				ret = -ENOTSUP;
				goto out;
			}
		} else {
			uint32_t sa = (uint32_t)((off - cstart) >> scb);
			uint32_t sb = (uint32_t)(((cend - cstart) >> scb)) - 1;
			uint64_t mask = (sb - sa + 1 == 32 ? 0xffffffffull
							   : ((1ull << (sb - sa + 1)) - 1)) << sa;
			nbm = whole ? QCOW2_BITMAP_ALL_ZEROES : (bm & ~mask) | mask << 32;
			ne = e;
			/* qemu unmaps whole clusters only: some subclusters keep the host cluster */
			if (whole && unmap && hv && !(e & QCOW2_OFLAG_COMPRESSED))
				ne = 0;
			if (e & QCOW2_OFLAG_COMPRESSED)
				ne = 0;
			bm = nbm;
		}
		if (e & QCOW2_OFLAG_COMPRESSED) {
			uint64_t ch, cl;
			qcow2_compressed_range(s, e, &ch, &cl);
			for (uint64_t k = ch / cs; k <= (ch + cl - 1) / cs; k++) {
				if (nfreed == cap) {
					cap = cap ? cap * 2 : 64;
					uint64_t *nf = realloc(freed, cap * 8);
					if (!nf) {
						ret = -ENOMEM;
						goto out;
					}
					freed = nf;
				}
				freed[nfreed++] = k * cs | 1; /* shared: no punch */
			}
			s->cbuf_entry = 0;
		} else if ((ne & QCOW2_L2_OFFSET_MASK) != (e & QCOW2_L2_OFFSET_MASK)) {
			if (hv && s->data_file == s->file) {
				if (nfreed == cap) {
					cap = cap ? cap * 2 : 64;
					uint64_t *nf = realloc(freed, cap * 8);
					if (!nf) {
						ret = -ENOMEM;
						goto out;
					}
					freed = nf;
				}
				freed[nfreed++] = e & QCOW2_L2_OFFSET_MASK;
			} else if (hv) {
				bc_file_punch(s->data_file, e & QCOW2_L2_OFFSET_MASK, cs);
			}
		}
		set_entry(s, l2, idx, ne, bm);
		off = cend;
	}
out:
	if (nfreed) {
		/* Invariant 5: no reference to a cluster is on disk when its refcount drops. */
		int r = qcow2_flush_metadata(s);
		for (size_t i = 0; r == 0 && i < nfreed; i++) {
			r = qcow2_free_clusters(s, freed[i] & ~1ull, 1);
			if (r == 0 && !(freed[i] & 1) && qcow2_cluster_unused(s, freed[i]))
				bc_file_punch(s->file, freed[i], cs);
		}
		if (ret == 0)
			ret = r;
	}
	free(freed);
	return ret;
}

/* Allocates L2 tables and data clusters for [from, to) (and the host space for falloc/full). */
/* Subcluster bits of a preallocated cluster. A new image over a backing file reserves the
 * host space but leaves the subclusters unallocated, so reads still go to the backing file;
 * the area a resize adds reads as the zeros preallocated (both as qemu 7.2). */
static uint64_t prealloc_bitmap(const struct qcow2 *s, enum bc_prealloc mode, uint64_t from)
{
	bool backing = s->img && s->img->backing_name && s->img->backing_name[0];

	if (!s->ext_l2 || mode == BC_PREALLOC_METADATA || (backing && from == 0))
		return 0;
	return 0xffffffffull;
}

int qcow2_preallocate(struct qcow2 *s, uint64_t from, uint64_t to, enum bc_prealloc mode)
{
	uint64_t cs = s->cluster_size, host_end = 0, run_start = 0, run_end = 0;
	int ret;

	for (uint64_t c = from & ~(cs - 1); c < to;) {
		uint64_t e, bm, host, n = 0, l2_end = ((c >> (s->cluster_bits + s->l2_bits)) + 1)
						    << (s->cluster_bits + s->l2_bits);
		uint8_t *l2;
		uint32_t idx;

		if (l2_end > qcow2_align_up(to, cs))
			l2_end = qcow2_align_up(to, cs);
		ret = l2_lookup(s, c, true, &l2, &idx);
		if (ret < 0)
			return ret;
		/* A run of unallocated entries, allocated in one piece as qemu does. */
		for (uint64_t g = c; g < l2_end; g += cs, n++) {
			get_entry(s, l2, idx + (uint32_t)n, &e, &bm);
			if (has_host(s, e) || (e & QCOW2_OFLAG_COMPRESSED))
				break;
		}
		if (!n) {
			c += cs;
			continue;
		}
		if (s->data_file != s->file)
			host = c;
		else {
			ret = qcow2_alloc_clusters(s, n, &host);
			if (ret < 0)
				return ret;
		}
		/* clusters given back by moved metadata (an old refcount table) hold its bytes */
		int64_t flen = s->data_file == s->file ? bc_file_length(s->file) : 0;
		if (flen > 0 && host < (uint64_t)flen &&
		    (ret = bc_file_zero(s->file, host, (uint64_t)flen - host < n * cs
							    ? (uint64_t)flen - host : n * cs, false)) < 0)
			return ret;
		ret = l2_lookup(s, c, true, &l2, &idx);
		if (ret < 0)
			return ret;
		for (uint64_t i = 0; i < n; i++)
			set_entry(s, l2, idx + (uint32_t)i, (host + i * cs) | QCOW2_OFLAG_COPIED,
				  prealloc_bitmap(s, mode, from));
		if (host + n * cs > host_end)
			host_end = host + n * cs;
		if (mode == BC_PREALLOC_FALLOC || mode == BC_PREALLOC_FULL) {
			if (run_end != host) {
				if (run_end > run_start) {
					ret = mode == BC_PREALLOC_FULL
						      ? bc_file_zero(s->data_file, run_start,
								     run_end - run_start, false)
						      : bc_file_allocate(s->data_file, run_start,
									 run_end - run_start);
					if (ret < 0 && ret != -ENOTSUP)
						return ret;
				}
				run_start = host;
			}
			run_end = host + n * cs;
		}
		c += n * cs;
	}
	if (run_end > run_start) {
		ret = mode == BC_PREALLOC_FULL
			      ? bc_file_zero(s->data_file, run_start, run_end - run_start, false)
			      : bc_file_allocate(s->data_file, run_start, run_end - run_start);
		if (ret < 0 && ret != -ENOTSUP)
			return ret;
	}
	if (host_end) {
		int64_t len = bc_file_length(s->data_file);
		if (len >= 0 && (uint64_t)len < host_end) {
			ret = bc_file_truncate(s->data_file, host_end);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}
