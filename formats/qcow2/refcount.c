/*
 * Refcounts: entries of 1..64 bits in refcount blocks found through the refcount table;
 * cluster allocation (first fit from a hint), new refcount blocks (self-describing, placed
 * in the range they cover) and growth of the refcount table.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t qcow2_rc_get_entry(const uint8_t *rb, uint32_t order, uint64_t idx)
{
	switch (order) {
	case 0: case 1: case 2: {
		uint32_t bits = 1u << order;
		uint64_t bit = idx * bits;
		return (rb[bit / 8] >> (bit % 8)) & ((1u << bits) - 1);
	}
	case 3: return rb[idx];
	case 4: return bc_rd_be16(rb + idx * 2);
	case 5: return bc_rd_be32(rb + idx * 4);
	default: return bc_rd_be64(rb + idx * 8);
	}
}

void qcow2_rc_set_entry(uint8_t *rb, uint32_t order, uint64_t idx, uint64_t v)
{
	switch (order) {
	case 0: case 1: case 2: {
		uint32_t bits = 1u << order;
		uint64_t bit = idx * bits;
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << (bit % 8));
		rb[bit / 8] = (uint8_t)((rb[bit / 8] & ~mask) | ((v << (bit % 8)) & mask));
		break;
	}
	case 3: rb[idx] = (uint8_t)v; break;
	case 4: bc_wr_be16(rb + idx * 2, (uint16_t)v); break;
	case 5: bc_wr_be32(rb + idx * 4, (uint32_t)v); break;
	default: bc_wr_be64(rb + idx * 8, v); break;
	}
}

/* The refcount block for range ri, or 0 when there is none. */
static int refblock_offset(struct qcow2 *s, uint64_t ri, uint64_t *off)
{
	uint64_t e;

	*off = 0;
	if (ri >= s->reftable_size)
		return 0;
	e = s->reftable[ri] & QCOW2_REFT_OFFSET_MASK;
	if (!e)
		return 0;
	if (e & (s->cluster_size - 1) || e < s->cluster_size)
		return qcow2_mark_corrupt(s, "Refblock offset %#llx unaligned (reftable index: %#llx)",
					  (unsigned long long)e, (unsigned long long)ri);
	*off = e;
	return 0;
}

int qcow2_get_refcount(struct qcow2 *s, uint64_t cluster, uint64_t *rc)
{
	uint64_t rbo;
	uint8_t *rb;
	int ret = refblock_offset(s, cluster >> s->rb_bits, &rbo);

	*rc = 0;
	if (ret < 0 || !rbo)
		return ret;
	ret = qcow2_cache_get(s, &s->rb_cache, rbo, true, &rb);
	if (ret < 0)
		return ret;
	*rc = qcow2_rc_get_entry(rb, s->refcount_order, cluster & ((1ull << s->rb_bits) - 1));
	return 0;
}

int qcow2_flush_refcounts(struct qcow2 *s)
{
	int ret;

	if (!qcow2_cache_has_dirty(&s->rb_cache))
		return 0;
	ret = qcow2_cache_flush(s, &s->rb_cache);
	if (ret < 0)
		return ret;
	return bc_file_flush(s->file);
}

static bool in_repair_use(const struct qcow2 *s, uint64_t k)
{
	return s->repair_inuse && k < s->repair_nclusters && (s->repair_inuse[k / 8] >> (k % 8)) & 1;
}

static int grow_reftable(struct qcow2 *s, uint64_t min_entries);

/* Makes sure range ri has a refcount block; *created tells whether one was made. `after`
 * (when not 0) is where the block should go if the cluster there is free: qemu puts a new
 * block right after the run being allocated. */
static int ensure_refblock(struct qcow2 *s, uint64_t ri, bool *created, uint64_t after)
{
	uint64_t rbo, first = ri << s->rb_bits, p, nper = 1ull << s->rb_bits;
	uint8_t *rb, be[8];
	int ret;

	if (ri >= s->reftable_size) {
		if (s->reftable_growing)
			return -EFBIG;
		ret = grow_reftable(s, ri + 1);
		if (ret < 0)
			return ret;
		/* the new table (and its blocks) may sit where the caller meant to allocate */
		*created = true;
	}
	ret = refblock_offset(s, ri, &rbo);
	if (ret < 0 || rbo)
		return ret;
	p = first + nper;
	if (after && !s->repair_inuse) {
		uint64_t ai = after >> s->rb_bits, abo, rc = 1;
		ret = refblock_offset(s, ai, &abo);
		if (ret < 0)
			return ret;
		if (ai == ri) {
			p = after;
		} else if (abo && ai < s->reftable_size) {
			ret = qcow2_get_refcount(s, after, &rc);
			if (ret < 0)
				return ret;
			if (rc == 0) {
				/* Described by an existing block: take it there. */
				ret = qcow2_update_refcount(s, after, 1);
				if (ret < 0)
					return ret;
				ret = qcow2_cache_get(s, &s->rb_cache, after << s->cluster_bits, false,
						      &rb);
				if (ret < 0)
					return ret;
				qcow2_cache_mark_dirty(&s->rb_cache, rb);
				goto link;
			}
		}
	}
	/* Nothing in this range has a refcount: the block describes itself at its first
	 * cluster not used by metadata we know of. */
	if (p == first + nper)
		for (p = first; p < first + nper; p++)
			if (!in_repair_use(s, p) &&
			    !qcow2_overlaps_metadata(s, p << s->cluster_bits, s->cluster_size))
				break;
	if (p == first + nper)
		return qcow2_mark_corrupt(s, "No room for a refcount block");
	ret = qcow2_cache_get(s, &s->rb_cache, p << s->cluster_bits, false, &rb);
	if (ret < 0)
		return ret;
	qcow2_rc_set_entry(rb, s->refcount_order, p - first, 1);
	qcow2_cache_mark_dirty(&s->rb_cache, rb);
	after = p;
link:
	p = after;
	/* Invariant 3: the block is on disk before the table points to it. */
	ret = qcow2_flush_refcounts(s);
	if (ret < 0)
		return ret;
	s->reftable[ri] = p << s->cluster_bits;
	*created = true;
	if (s->reftable_growing)
		return 0;
	bc_wr_be64(be, s->reftable[ri]);
	bc_file_event(s->file, BC_EV_REFBLOCK_ALLOC_HOOKUP);
	return bc_file_pwrite(s->file, be, 8, s->h.refcount_table_offset + ri * 8);
}

/* A cluster whose refcount dropped to 0 may be handed out again as a whole: compressed
 * bytes must not be packed into it any more. */
static void cluster_freed(struct qcow2 *s, uint64_t cluster)
{
	if (cluster < s->free_hint)
		s->free_hint = cluster;
	if (s->free_byte_offset && s->free_byte_offset >> s->cluster_bits == cluster)
		s->free_byte_offset = 0;
}

int qcow2_update_refcount(struct qcow2 *s, uint64_t cluster, int64_t delta)
{
	uint64_t ri = cluster >> s->rb_bits, rbo, old, nv;
	bool created = false;
	uint8_t *rb;
	int ret;

	if (delta > 0) {
		/* qemu raises it for each refcount block an increase looks up */
		bc_file_event(s->file, BC_EV_REFBLOCK_ALLOC);
		ret = ensure_refblock(s, ri, &created, 0);
		if (ret < 0)
			return ret;
	}
	ret = refblock_offset(s, ri, &rbo);
	if (ret < 0)
		return ret;
	if (!rbo)
		return qcow2_mark_corrupt(s, "Refcount underflow for cluster %#llx",
					  (unsigned long long)cluster);
	ret = qcow2_cache_get(s, &s->rb_cache, rbo, true, &rb);
	if (ret < 0)
		return ret;
	old = qcow2_rc_get_entry(rb, s->refcount_order, cluster & ((1ull << s->rb_bits) - 1));
	if (delta < 0 && old < (uint64_t)-delta)
		return qcow2_mark_corrupt(s, "Refcount underflow for cluster %#llx",
					  (unsigned long long)cluster);
	nv = old + (uint64_t)delta;
	if (delta > 0 && (nv < old || nv > s->refcount_max))
		return -ERANGE;
	qcow2_rc_set_entry(rb, s->refcount_order, cluster & ((1ull << s->rb_bits) - 1), nv);
	qcow2_cache_mark_dirty(&s->rb_cache, rb);
	if (nv == 0)
		cluster_freed(s, cluster);
	return 0;
}

int qcow2_set_refcount(struct qcow2 *s, uint64_t cluster, uint64_t value)
{
	uint64_t ri = cluster >> s->rb_bits, rbo;
	bool created = false;
	uint8_t *rb;
	int ret;

	if (value > s->refcount_max)
		return -ERANGE;
	if (value) {
		ret = ensure_refblock(s, ri, &created, 0);
		if (ret < 0)
			return ret;
	}
	ret = refblock_offset(s, ri, &rbo);
	if (ret < 0 || !rbo)
		return ret;
	ret = qcow2_cache_get(s, &s->rb_cache, rbo, true, &rb);
	if (ret < 0)
		return ret;
	qcow2_rc_set_entry(rb, s->refcount_order, cluster & ((1ull << s->rb_bits) - 1), value);
	qcow2_cache_mark_dirty(&s->rb_cache, rb);
	if (value == 0)
		cluster_freed(s, cluster);
	return 0;
}

/* First run of n clusters whose refcounts are all zero, from the hint on. */
static int find_free_run(struct qcow2 *s, uint64_t n, uint64_t *start)
{
	uint64_t k = s->free_hint, run = k, count = 0, rc, nper = 1ull << s->rb_bits;
	bool hint_moved = false;
	int ret;

	for (;;) {
		if (k >> (56 - s->cluster_bits))
			return -EFBIG;
		uint64_t ri = k >> s->rb_bits, rbo;
		ret = refblock_offset(s, ri, &rbo);
		if (ret < 0)
			return ret;
		if (!rbo && !s->repair_inuse) {
			/* The whole rest of the range is free. */
			uint64_t end = (ri + 1) * nper;
			if (!hint_moved) {
				s->free_hint = k;
				hint_moved = true;
			}
			if (count + (end - k) >= n) {
				*start = run;
				return 0;
			}
			count += end - k;
			k = end;
			continue;
		}
		ret = qcow2_get_refcount(s, k, &rc);
		if (ret < 0)
			return ret;
		if (rc == 0 && !in_repair_use(s, k)) {
			if (!hint_moved) {
				s->free_hint = k;
				hint_moved = true;
			}
			if (++count == n) {
				*start = run;
				return 0;
			}
		} else {
			count = 0;
			run = k + 1;
		}
		k++;
	}
}

/* A run over several blocks' ranges: new blocks go after the run (the range after it first,
 * then the run's own ranges last to first), each where the previous one left off. Placed at
 * each range's own start they would land inside the run, and a run longer than one range
 * would never find room (refcount_bits=64 with 512-byte clusters). */
static int refblocks_after(struct qcow2 *s, uint64_t start, uint64_t n, bool *created)
{
	uint64_t place = start + n, first = start >> s->rb_bits, last = (start + n - 1) >> s->rb_bits;
	uint64_t rbo;
	int ret = ensure_refblock(s, place >> s->rb_bits, created, place);

	if (ret == 0 && (ret = refblock_offset(s, place >> s->rb_bits, &rbo)) == 0 &&
	    rbo == place << s->cluster_bits)
		place++;
	for (uint64_t ri = last + 1; ret == 0 && ri-- > first;) {
		ret = ensure_refblock(s, ri, created, place);
		if (ret == 0 && (ret = refblock_offset(s, ri, &rbo)) == 0 &&
		    rbo == place << s->cluster_bits)
			place++;
	}
	return ret;
}

int qcow2_alloc_clusters(struct qcow2 *s, uint64_t n, uint64_t *off)
{
	uint64_t start, k, rc;
	int ret;

	if (!n)
		return -EINVAL;
	bc_file_event(s->file, BC_EV_CLUSTER_ALLOC);
	if (s->lazy) {
		ret = qcow2_set_dirty(s);
		if (ret < 0)
			return ret;
	}
	for (int tries = 0;; tries++) {
		bool created = false, busy = false;

		if (tries > 64)
			return qcow2_mark_corrupt(s, "Cluster allocation does not converge");
		ret = find_free_run(s, n, &start);
		if (ret < 0)
			return ret;
		if ((start >> s->rb_bits) == ((start + n - 1) >> s->rb_bits)) {
			ret = ensure_refblock(s, start >> s->rb_bits, &created, start + n);
			if (ret < 0)
				return ret;
		} else if ((ret = refblocks_after(s, start, n, &created)) < 0) {
			return ret;
		}
		if (created) {
			for (k = start; k < start + n && !busy; k++) {
				ret = qcow2_get_refcount(s, k, &rc);
				if (ret < 0)
					return ret;
				busy = rc != 0;
			}
		}
		if (!busy)
			break;
	}
	for (k = start; k < start + n; k++) {
		ret = qcow2_update_refcount(s, k, 1);
		if (ret < 0)
			return ret;
	}
	if (s->free_hint == start)
		s->free_hint = start + n;
	*off = start << s->cluster_bits;
	return 0;
}

int qcow2_alloc_bytes(struct qcow2 *s, uint64_t size, uint64_t *off)
{
	uint64_t cs = s->cluster_size, o = s->free_byte_offset, rc = 0, nc;
	int ret;

	if (!size || size >= cs)
		return -EINVAL;
	bc_file_event(s->file, BC_EV_CLUSTER_ALLOC_BYTES);
	if (s->lazy) {
		ret = qcow2_set_dirty(s); /* invariant 6, also when no cluster is allocated */
		if (ret < 0)
			return ret;
	}
	if (o) {
		ret = qcow2_get_refcount(s, o >> s->cluster_bits, &rc);
		if (ret < 0)
			return ret;
		/* a full refcount cannot take one more sharer: start a new cluster */
		if (rc == 0 || rc >= s->refcount_max)
			o = 0;
	}
	if (!o || cs - (o & (cs - 1)) < size) {
		/* The new cluster comes with the reference of the bytes that land in it. */
		ret = qcow2_alloc_clusters(s, 1, &nc);
		if (ret < 0)
			return ret;
		if (o && nc == qcow2_align_up(o, cs)) {
			/* adjacent: the bytes straddle both clusters, the old one gets a reference */
			ret = qcow2_update_refcount(s, o >> s->cluster_bits, 1);
		} else {
			o = nc; /* the tail of the old cluster stays unused, as in qemu */
		}
	} else {
		ret = qcow2_update_refcount(s, o >> s->cluster_bits, 1);
	}
	if (ret < 0)
		return ret;
	*off = o;
	s->free_byte_offset = (o + size) & (cs - 1) ? o + size : 0;
	return 0;
}

int qcow2_free_clusters(struct qcow2 *s, uint64_t off, uint64_t n)
{
	if (n)
		bc_file_event(s->file, BC_EV_CLUSTER_FREE);
	for (uint64_t k = 0; k < n; k++) {
		int ret = qcow2_update_refcount(s, (off >> s->cluster_bits) + k, -1);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int grow_reftable(struct qcow2 *s, uint64_t min_entries)
{
	uint64_t per_cluster = s->cluster_size / 8, old_size = s->reftable_size;
	uint64_t old_off = s->h.refcount_table_offset, old_clusters = s->h.refcount_table_clusters;
	uint64_t want = min_entries > old_size + old_size / 2 + 1 ? min_entries
								  : old_size + old_size / 2 + 1;
	uint64_t entries = qcow2_align_up(want, per_cluster), nclusters, off;
	uint64_t *old = s->reftable, *nt;
	uint8_t *buf, hdr[12];
	int ret;

	if (entries * 8 > QCOW2_MAX_REFTABLE_BYTES)
		return -EFBIG;
	nclusters = entries / per_cluster;
	nt = calloc(entries, 8);
	buf = bc_alloc_aligned(entries * 8);
	if (!nt || !buf) {
		free(nt);
		free(buf);
		return -ENOMEM;
	}
	memcpy(nt, old, old_size * 8);
	s->reftable = nt;
	s->reftable_size = entries;
	s->reftable_growing = true;
	bc_file_event(s->file, BC_EV_REFTABLE_GROW);
	ret = qcow2_alloc_clusters(s, nclusters, &off);
	if (ret < 0)
		goto fail;
	ret = qcow2_flush_refcounts(s);
	if (ret < 0)
		goto fail;
	for (uint64_t i = 0; i < entries; i++)
		bc_wr_be64(buf + i * 8, s->reftable[i]);
	bc_file_event(s->file, BC_EV_REFBLOCK_ALLOC_WRITE_TABLE);
	ret = bc_file_pwrite(s->file, buf, entries * 8, off);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		goto fail;
	/* Invariant 4: the header switches to the complete new table in one write. */
	bc_wr_be64(hdr, off);
	bc_wr_be32(hdr + 8, (uint32_t)nclusters);
	bc_file_event(s->file, BC_EV_REFBLOCK_ALLOC_SWITCH_TABLE);
	ret = bc_file_pwrite(s->file, hdr, 12, 48);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		goto fail;
	s->h.refcount_table_offset = off;
	s->h.refcount_table_clusters = (uint32_t)nclusters;
	s->reftable_growing = false;
	free(old);
	free(buf);
	return qcow2_free_clusters(s, old_off, old_clusters);
fail:
	s->reftable_growing = false;
	free(buf);
	if (s->reftable == nt && s->h.refcount_table_offset == old_off) {
		/* Nothing points at the new table yet; go on with the old one. */
		s->reftable = old;
		s->reftable_size = old_size;
		free(nt);
	}
	return ret;
}
