/*
 * The active tables reaching the disk, and copy-on-write of clusters shared with snapshots:
 * writing and growing the L1 table, qcow2_flush_metadata (refcounts, L2 tables, L1 in the
 * order of driver.c's invariants 1-2, then the references COW queued are dropped: S5 of
 * snapshot.c), and the COW helpers the mapping layer (cluster.c, above) calls for an L2
 * table or data cluster whose refcount is above 1.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- L1 ---- */

int qcow2_write_l1(struct qcow2 *s)
{
	size_t bytes = (size_t)s->l1_size * 8;
	uint8_t *buf;
	int ret;

	if (!s->l1_size)
		return 0;
	ret = qcow2_overlap_refuse(s, QCOW2_OL_ACTIVE_L1, s->h.l1_table_offset, bytes);
	if (ret < 0)
		return ret;
	buf = malloc(bytes);
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->l1_size; i++)
		bc_wr_be64(buf + (size_t)i * 8, s->l1[i]);
	bc_file_event(s->file, BC_EV_L1_UPDATE);
	ret = bc_file_pwrite(s->file, buf, bytes, s->h.l1_table_offset);
	free(buf);
	if (ret == 0)
		s->l1_dirty = false;
	return ret;
}

int qcow2_grow_l1(struct qcow2 *s, uint64_t min_entries)
{
	uint64_t cs = s->cluster_size, old_off = s->h.l1_table_offset;
	uint64_t old_clusters = qcow2_align_up((uint64_t)s->l1_size * 8, cs) / cs, off, n;
	uint32_t old_size = s->l1_size;
	uint64_t *nl;
	uint8_t hdr[12];
	int ret;

	if (min_entries <= s->l1_size)
		return 0;
	if (min_entries > QCOW2_MAX_L1_BYTES / 8)
		return -EFBIG;
	n = qcow2_align_up(min_entries * 8, cs) / cs;
	nl = calloc(n * cs / 8, 8);
	if (!nl)
		return -ENOMEM;
	memcpy(nl, s->l1, (size_t)s->l1_size * 8);
	ret = qcow2_flush_metadata(s);
	if (ret < 0)
		goto fail;
	bc_file_event(s->file, BC_EV_L1_GROW_ALLOC_TABLE);
	ret = qcow2_alloc_clusters(s, n, &off);
	if (ret < 0)
		goto fail;
	ret = qcow2_flush_refcounts(s);
	if (ret < 0)
		goto fail;
	bc_file_event(s->file, BC_EV_L1_GROW_WRITE_TABLE);
	uint64_t *old_l1 = s->l1;
	uint32_t old_alloc = s->l1_alloc;
	bool old_dirty = s->l1_dirty;
	s->l1 = nl;
	s->l1_alloc = (uint32_t)(n * cs / 8);
	s->l1_size = (uint32_t)min_entries;
	s->h.l1_table_offset = off;
	s->h.l1_size = s->l1_size;
	ret = qcow2_write_l1(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret == 0) {
		/* Invariant 4: size and offset of the new table change in one header write. */
		bc_wr_be32(hdr, s->l1_size);
		bc_wr_be64(hdr + 4, off);
		bc_file_event(s->file, BC_EV_L1_GROW_ACTIVATE_TABLE);
		ret = bc_file_pwrite(s->file, hdr, 12, 36);
		if (ret == 0)
			ret = bc_file_flush(s->file);
	}
	if (ret < 0) {
		/* the header still names the old table: keep using it, give the new one back
		 * (a failed write, EIO or ENOSPC, must neither leak nor lose the old table) */
		s->l1 = old_l1;
		s->l1_alloc = old_alloc;
		s->l1_size = old_size;
		s->l1_dirty = old_dirty;
		s->h.l1_table_offset = old_off;
		s->h.l1_size = old_size;
		qcow2_free_clusters(s, off, n);
		qcow2_flush_refcounts(s);
		free(nl);
		return ret;
	}
	free(old_l1);
	if (old_size && old_clusters)
		return qcow2_free_clusters(s, old_off, old_clusters);
	return 0;
fail:
	free(nl);
	return ret;
}

int qcow2_flush_metadata(struct qcow2 *s)
{
	int ret;

	ret = qcow2_flush_refcounts(s);
	if (ret < 0)
		return ret;
	if (qcow2_cache_has_dirty(&s->l2_cache)) {
		ret = qcow2_cache_flush(s, &s->l2_cache);
		if (ret == 0)
			ret = bc_file_flush(s->file);
		if (ret < 0)
			return ret;
	}
	if (s->l1_dirty) {
		ret = qcow2_write_l1(s);
		if (ret == 0)
			ret = bc_file_flush(s->file);
	}
	if (ret == 0 && s->cow)
		ret = qcow2_cow_release(s); /* snapshot.c: copy-on-write's old references */
	return ret;
}

/* ---- copy-on-write for the write path (S5) ---- */

#define COW_MAX_PENDING 8192

/* Queues the reference to host cluster off for qcow2_cow_release. */
static int cow_queue(struct qcow2 *s, uint64_t off)
{
	struct qcow2_cow_pending *p = s->cow;

	if (!p || p->n == p->cap) {
		size_t cap = p ? p->cap * 2 : 64;
		p = realloc(p, sizeof(*p) + cap * sizeof(p->off[0]));
		if (!p)
			return -ENOMEM;
		if (!s->cow)
			p->n = 0;
		p->cap = cap;
		s->cow = p;
	}
	p->off[p->n++] = off;
	return 0;
}

/* Bounds the queue: a full one is released by a metadata flush first. */
static int cow_room(struct qcow2 *s)
{
	return s->cow && s->cow->n >= COW_MAX_PENDING ? qcow2_flush_metadata(s) : 0;
}

int qcow2_cow_release(struct qcow2 *s)
{
	struct qcow2_cow_pending *p = s->cow;
	uint64_t rc;
	int ret = 0;

	s->cow = NULL;
	for (size_t i = 0; p && ret == 0 && i < p->n; i++) {
		ret = qcow2_update_refcount(s, p->off[i] >> s->cluster_bits, -1);
		if (ret == 0 && qcow2_get_refcount(s, p->off[i] >> s->cluster_bits, &rc) == 0 &&
		    rc == 0)
			qcow2_cache_discard(&s->l2_cache, p->off[i]);
	}
	free(p);
	if (ret == 0)
		ret = qcow2_flush_refcounts(s);
	return ret;
}

int qcow2_cow_l2(struct qcow2 *s, uint64_t l1i, uint8_t **l2)
{
	uint64_t cs = s->cluster_size, old = s->l1[l1i] & QCOW2_L1_OFFSET_MASK, nw;
	uint8_t *copy = malloc(cs), *t;
	int ret;

	if (!copy)
		return -ENOMEM;
	ret = cow_room(s);
	if (ret == 0)
		ret = qcow2_cache_get(s, &s->l2_cache, old, true, &t);
	if (ret < 0)
		goto out;
	memcpy(copy, t, cs);
	ret = qcow2_alloc_clusters(s, 1, &nw);
	if (ret < 0)
		goto out;
	ret = qcow2_overlap_refuse(s, 0, nw, cs);
	if (ret < 0)
		goto out;
	ret = qcow2_cache_get(s, &s->l2_cache, nw, false, &t);
	if (ret < 0)
		goto out;
	memcpy(t, copy, cs);
	qcow2_cache_mark_dirty(&s->l2_cache, t);
	/* Driver invariant 2 writes the copy before this L1 entry; S5: the old table loses
	 * our reference only after that L1 entry is on disk. */
	s->l1[l1i] = nw | QCOW2_OFLAG_COPIED;
	s->l1_dirty = true;
	ret = cow_queue(s, old);
	if (ret == 0)
		ret = qcow2_cache_get(s, &s->l2_cache, nw, true, l2);
out:
	free(copy);
	return ret;
}

int qcow2_cow_data(struct qcow2 *s, uint64_t off, uint64_t *entry)
{
	uint64_t cs = s->cluster_size, span = cs << s->l2_bits, l1i = off / span;
	uint64_t old = *entry & QCOW2_L2_OFFSET_MASK, nw, ne;
	uint32_t idx = (uint32_t)((off / cs) & ((1u << s->l2_bits) - 1));
	uint8_t *copy = malloc(cs), *l2;
	int ret;

	if (!copy)
		return -ENOMEM;
	ret = cow_room(s);
	bc_file_event(s->file, BC_EV_COW_READ);
	if (ret == 0)
		ret = qcow2_data_pread(s, copy, cs, old, off & ~(cs - 1));   /* decrypted */
	if (ret == 0)
		ret = qcow2_alloc_clusters(s, 1, &nw);
	if (ret < 0)
		goto out;
	ret = qcow2_overlap_refuse(s, 0, nw, cs);
	if (ret < 0)
		goto out;
	/* Driver invariant 7: the copy is written before an entry points to it. */
	/* re-encrypted for its new host offset when the image is encrypted (LUKS) */
	bc_file_event(s->file, BC_EV_COW_WRITE);
	ret = qcow2_data_pwrite(s, copy, cs, nw, off & ~(cs - 1));
	if (ret < 0)
		goto out;
	ret = qcow2_cache_get(s, &s->l2_cache, s->l1[l1i] & QCOW2_L1_OFFSET_MASK, true, &l2);
	if (ret < 0)
		goto out;
	ne = (*entry & ~(QCOW2_L2_OFFSET_MASK | QCOW2_OFLAG_COPIED)) | nw | QCOW2_OFLAG_COPIED;
	bc_wr_be64(l2 + (size_t)idx * s->l2_entry_size, ne);
	qcow2_cache_mark_dirty(&s->l2_cache, l2);
	ret = cow_queue(s, old); /* S5: released after the next metadata flush */
	if (ret == 0)
		*entry = ne;
out:
	free(copy);
	return ret;
}

bool qcow2_cluster_unused(struct qcow2 *s, uint64_t off)
{
	uint64_t rc;

	return qcow2_get_refcount(s, off >> s->cluster_bits, &rc) == 0 && rc == 0;
}
