/*
 * qcow2 check: recounts every reference (header, L1/L2 tables and data of the active state
 * and of snapshots, refcount table and blocks, snapshot table) and compares with the stored
 * refcounts, in qemu-img check's words. Repair sets stored refcounts to the computed ones;
 * it also rebuilds refcounts of a dirty image (lazy refcounts) at open.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct counter {
	uint32_t *ref;
	uint64_t n;        /* clusters tracked */
	int64_t flen;      /* file length */
	struct bc_check *res;
};

#define msg bc_check_msg

/* One reference more for each cluster of [off, off+len); a range ending a cluster or more
 * past the end of the file is an error, as qemu counts it. */
static void inc_range(struct qcow2 *s, struct counter *c, uint64_t off, uint64_t len)
{
	uint64_t cs = s->cluster_size;

	if (!len)
		return;
	if ((int64_t)(off + len) - c->flen >= (int64_t)cs) {
		msg(c->res, "ERROR: counting reference for region exceeding the end of the file "
		    "by one cluster or more: offset 0x%llx size 0x%llx",
		    (unsigned long long)off, (unsigned long long)len);
		c->res->corruptions++;
		return;
	}
	for (uint64_t k = off / cs; k <= (off + len - 1) / cs && k < c->n; k++)
		if (c->ref[k] != UINT32_MAX)
			c->ref[k]++;
}

/*
 * check -r all on a preallocated (zero-flagged) entry that is not cluster aligned: the
 * entry becomes a plain zero entry, written in place unless that lands on other metadata
 * (then the image is marked corrupt and the check gives up, as qemu's). 1: fixed.
 */
static int zero_entry(struct qcow2 *s, struct counter *c, uint64_t l2off, uint8_t *l2,
		      uint64_t j, bool active)
{
	uint64_t at = l2off + j * s->l2_entry_size;
	uint8_t *p = l2 + j * s->l2_entry_size;
	int ret;

	if (s->ext_l2) {
		uint64_t bm = bc_rd_be64(p + 8);
		bm = (bm | bm << 32) & QCOW2_BITMAP_ALL_ZEROES;
		bc_wr_be64(p, 0);
		bc_wr_be64(p + 8, bm);
	} else {
		bc_wr_be64(p, QCOW2_OFLAG_ZERO);
	}
	if (qcow2_overlap(s, active ? QCOW2_OL_ACTIVE_L2 : QCOW2_OL_INACTIVE_L2, at,
			  s->l2_entry_size)) {
		qcow2_overlap_refuse(s, active ? QCOW2_OL_ACTIVE_L2 : QCOW2_OL_INACTIVE_L2, at,
				     s->l2_entry_size);
		msg(c->res, "ERROR: Overlap check failed");
		c->res->check_errors++;
		return -EIO;
	}
	qcow2_cache_discard(&s->l2_cache, l2off);
	ret = bc_file_pwrite(s->file, p, s->l2_entry_size, at);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0) {
		msg(c->res, "ERROR: Failed to overwrite L2 table entry: %s", strerror(-ret));
		c->res->check_errors++;
		return 0;
	}
	c->res->corruptions--;
	c->res->corruptions_fixed++;
	return 1;
}

/* One L2 table's entries, as qemu-img check judges them. */
static int count_l2(struct qcow2 *s, struct counter *c, uint64_t l2off, uint8_t *l2,
		    bool active, unsigned fix)
{
	uint64_t cs = s->cluster_size, nent = 1ull << s->l2_bits, prev = 0;
	bool ext_data = s->data_file != s->file;
	struct bc_check *res = c->res;
	int ret;

	ret = bc_file_pread(s->file, l2, cs, l2off);
	if (ret < 0) {
		msg(res, "ERROR: I/O error in check_refcounts_l2");
		res->check_errors++;
		return ret;
	}
	for (uint64_t j = 0; j < nent; j++) {
		uint64_t e = bc_rd_be64(l2 + j * s->l2_entry_size);
		uint64_t bm = s->ext_l2 ? bc_rd_be64(l2 + j * 16 + 8) : 0;
		uint64_t h = e & QCOW2_L2_OFFSET_MASK;

		if (!(e & QCOW2_OFLAG_COMPRESSED) && (e & QCOW2_L2_RESERVED)) {
			msg(res, "ERROR found l2 entry with reserved bits set: %llx",
			    (unsigned long long)e);
			res->corruptions++;
		}
		if (e & QCOW2_OFLAG_COMPRESSED) {
			uint64_t ch, cl;
			if (e & QCOW2_OFLAG_COPIED) {
				e &= ~QCOW2_OFLAG_COPIED;
				qcow2_compressed_range(s, e, &ch, &cl);
				msg(res, "ERROR: coffset=0x%llx: copied flag must never be set for "
				    "compressed clusters", (unsigned long long)ch);
				res->corruptions++;
			}
			if (ext_data) {
				msg(res, "ERROR compressed cluster %llu with data file, entry=0x%llx",
				    (unsigned long long)j, (unsigned long long)e);
				res->corruptions++;
				continue;
			}
			if (bm) {
				msg(res, "ERROR compressed cluster %llu with non-zero subcluster "
				    "allocation bitmap, entry=0x%llx", (unsigned long long)j,
				    (unsigned long long)e);
				res->corruptions++;
				continue;
			}
			qcow2_compressed_range(s, e, &ch, &cl);
			inc_range(s, c, ch, cl);
			if (active) {   /* VM-state clusters past the disk count too, as in qemu */
				res->allocated_clusters++;
				res->compressed_clusters++;
				res->fragmented_clusters++; /* by nature, as qemu counts */
			}
			continue;
		}
		bool zero = !s->ext_l2 && (e & QCOW2_OFLAG_ZERO);
		if (!h && !(ext_data && !zero && (e & QCOW2_OFLAG_COPIED)))
			continue; /* unallocated, or zero without a cluster */
		if ((bm >> 32) & bm) {
			res->corruptions++;
			msg(res, "ERROR offset=%llx: Allocated cluster has corrupted subcluster "
			    "allocation bitmap", (unsigned long long)h);
		}
		if (h % cs) {
			bool data = s->ext_l2 ? (bm & 0xffffffffull) != 0 : !zero;
			res->corruptions++;
			if (data) {
				msg(res, "ERROR offset=%llx: Data cluster is not properly aligned; L2 "
				    "entry corrupted.", (unsigned long long)h);
			} else {
				msg(res, "%s offset=%llx: Preallocated cluster is not properly aligned; "
				    "L2 entry corrupted.", fix & BC_FIX_ERRORS ? "Repairing" : "ERROR",
				    (unsigned long long)h);
				if (fix & BC_FIX_ERRORS) {
					ret = zero_entry(s, c, l2off, l2, j, active);
					if (ret < 0)
						return ret;
					if (ret > 0)
						continue;
				}
			}
		}
		if (active) {
			res->allocated_clusters++;
			if (prev && h != prev)
				res->fragmented_clusters++;
			prev = h + cs;
		}
		if (!ext_data)
			inc_range(s, c, h, cs);
	}
	return 0;
}

static int count_l1(struct qcow2 *s, struct counter *c, const uint64_t *l1, uint32_t l1_size,
		    bool active, uint8_t *l2, unsigned fix)
{
	uint64_t cs = s->cluster_size;
	int ret;

	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t l2off = l1[i] & QCOW2_L1_OFFSET_MASK;
		/* as qemu: any bit set makes the entry a table, at offset 0 if need be */
		if (l1[i] & QCOW2_L1_RESERVED) {
			msg(c->res, "ERROR found L1 entry with reserved bits set: %llx",
			    (unsigned long long)l1[i]);
			c->res->corruptions++;
		}
		if (!l1[i])
			continue;
		inc_range(s, c, l2off, cs);
		if (l2off % cs) {
			msg(c->res, "ERROR l2_offset=%llx: Table is not cluster aligned; L1 entry "
				    "corrupted", (unsigned long long)l2off);
			c->res->corruptions++;
		}
		/* a table past the end of the file reads as zeros: nothing in it to count */
		if ((int64_t)l2off >= c->flen)
			continue;
		ret = count_l2(s, c, l2off, l2, active, fix);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The COPIED flag of active L1 and L2 entries must say "refcount is 1". */
static int check_copied(struct qcow2 *s, struct bc_check *res, unsigned fix, uint8_t *l2)
{
	uint64_t cs = s->cluster_size, nent = 1ull << s->l2_bits, rc;
	int ret;

	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t l2off = s->l1[i] & QCOW2_L1_OFFSET_MASK;
		bool l2_dirty = false;
		if (!l2off || l2off % cs)
			continue;
		ret = qcow2_get_refcount(s, l2off / cs, &rc);
		if (ret < 0)
			return ret;
		if ((rc == 1) != !!(s->l1[i] & QCOW2_OFLAG_COPIED)) {
			msg(res, "%s OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%llx refcount=%llu",
			    fix & BC_FIX_ERRORS ? "Repairing" : "ERROR", i,
			    (unsigned long long)s->l1[i], (unsigned long long)rc);
			if (fix & BC_FIX_ERRORS) {
				s->l1[i] = rc == 1 ? s->l1[i] | QCOW2_OFLAG_COPIED
						   : s->l1[i] & ~QCOW2_OFLAG_COPIED;
				s->l1_dirty = true;
				res->corruptions_fixed++;
			} else {
				res->corruptions++;
			}
		}
		ret = bc_file_pread(s->file, l2, cs, l2off);
		if (ret < 0)
			return ret;
		for (uint64_t j = 0; j < nent && s->data_file == s->file; j++) {
			uint8_t *p = l2 + j * s->l2_entry_size;
			uint64_t e = bc_rd_be64(p), h = e & QCOW2_L2_OFFSET_MASK;
			if ((e & QCOW2_OFLAG_COMPRESSED) || !h || h % cs)
				continue;
			ret = qcow2_get_refcount(s, h / cs, &rc);
			if (ret < 0)
				return ret;
			if ((rc == 1) == !!(e & QCOW2_OFLAG_COPIED))
				continue;
			msg(res, "%s OFLAG_COPIED data cluster: l2_entry=%llx refcount=%llu",
			    fix & BC_FIX_ERRORS ? "Repairing" : "ERROR", (unsigned long long)e,
			    (unsigned long long)rc);
			if (fix & BC_FIX_ERRORS) {
				bc_wr_be64(p, rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED);
				l2_dirty = true;
				res->corruptions_fixed++;
			} else {
				res->corruptions++;
			}
		}
		if (l2_dirty) {
			qcow2_cache_discard(&s->l2_cache, l2off);
			ret = bc_file_pwrite(s->file, l2, cs, l2off);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* Version 3 snapshot entries must carry 16 bytes of extra data (vm_state_size_large,
 * disk_size): as qemu-img, report each short one, and with -r rewrite the table whole. */
static bool check_incomplete(struct qcow2 *s, struct bc_check *res, const struct qcow2_snap *sn,
			     int nsn)
{
	bool any = false;

	for (int i = 0; s->h.version >= 3 && i < nsn; i++) {
		if (sn[i].extra_size >= 16)
			continue;
		msg(res, "%s snapshot table entry %d is incomplete",
		    res == s->checking_repair ? "Repairing" : "ERROR", i);
		if (res == s->checking_repair)
			res->corruptions_fixed++;
		else
			res->corruptions++;
		any = true;
	}
	return any;
}

/* check -r all, before the repairing pass counts references: the table rewritten whole
 * (a new cluster, the old one freed) when entries are incomplete. */
static int repair_incomplete(struct qcow2 *s, struct bc_check *res, struct bc_err *err)
{
	struct qcow2_snap *sn = NULL;
	int nsn = 0, ret = qcow2_read_snapshots(s, &sn, &nsn, err);

	if (ret < 0)
		return 0;     /* the pass reports it */
	s->checking_repair = res;
	bool any = check_incomplete(s, res, sn, nsn);
	s->checking_repair = NULL;
	free(sn);
	if (!any)
		return 0;
	ret = qcow2_snapshot_rewrite_table(s);
	if (ret == 0)
		ret = qcow2_flush_metadata(s);
	return ret < 0 ? bc_err_set(err, ret, "Could not rewrite the snapshot table: %s",
				    strerror(-ret)) : 0;
}

/* One pass: counts references and compares; fixes when asked. */
static int check_pass(struct qcow2 *s, struct bc_check *res, unsigned fix, struct bc_err *err)
{
	uint64_t cs = s->cluster_size, flen_cl, end = 0;
	int64_t flen = bc_file_length(s->file);
	struct qcow2_snap *sn = NULL;
	struct counter c = { .res = res };
	struct bc_check repairs = { 0 };
	uint8_t *l2 = NULL;
	int nsn = 0, ret;

	if (flen < 0)
		return bc_err_set(err, (int)flen, "Could not get the file size");
	flen_cl = qcow2_align_up((uint64_t)flen, cs) / cs;
	c.n = flen_cl + 1;
	c.flen = flen;
	c.ref = calloc(c.n, sizeof(*c.ref));
	l2 = malloc(cs);
	if (!c.ref || !l2) {
		ret = bc_err_set(err, -ENOMEM, "Could not allocate memory for the check");
		goto out;
	}
	ret = qcow2_flush_metadata(s);
	if (ret < 0 && s->writable)
		goto out_io;
	s->checking = res;
	inc_range(s, &c, 0, cs);
	uint64_t coff, clen;
	qcow2_crypt_range(s, &coff, &clen);
	if (clen)
		inc_range(s, &c, coff, clen);
	inc_range(s, &c, s->h.l1_table_offset, (uint64_t)s->l1_size * 8);
	ret = count_l1(s, &c, s->l1, s->l1_size, true, l2, fix);
	if (ret < 0)
		goto out_io;
	ret = qcow2_read_snapshots(s, &sn, &nsn, err);
	if (ret < 0) {
		res->check_errors++;
		goto out;
	}
	if (!(fix & BC_FIX_ERRORS))
		check_incomplete(s, res, sn, nsn);   /* -r all repairs them before this pass */
	if (nsn)
		inc_range(s, &c, s->h.snapshots_offset, s->snapshots_end - s->h.snapshots_offset);
	for (int i = 0; i < nsn; i++) {
		if (sn[i].l1_offset % cs) {
			msg(res, "ERROR snapshot %s (%s) l1_offset=%#llx: L1 table is not cluster "
			    "aligned; snapshot table entry corrupted", sn[i].info.id, sn[i].info.name,
			    (unsigned long long)sn[i].l1_offset);
			res->corruptions++;
			continue;
		}
		if (sn[i].l1_size > QCOW2_MAX_L1_BYTES / 8) {
			msg(res, "ERROR snapshot %s (%s) l1_size=%#x: L1 table is too large; snapshot "
			    "table entry corrupted", sn[i].info.id, sn[i].info.name, sn[i].l1_size);
			res->corruptions++;
			continue;
		}
		uint64_t *sl1 = calloc(sn[i].l1_size ? sn[i].l1_size : 1, 8);
		uint8_t *raw = malloc((size_t)sn[i].l1_size * 8 + 1);
		if (!sl1 || !raw) {
			free(sl1);
			free(raw);
			ret = -ENOMEM;
			goto out_io;
		}
		ret = bc_file_pread(s->file, raw, (size_t)sn[i].l1_size * 8, sn[i].l1_offset);
		for (uint32_t j = 0; ret == 0 && j < sn[i].l1_size; j++)
			sl1[j] = bc_rd_be64(raw + (size_t)j * 8);
		inc_range(s, &c, sn[i].l1_offset, (uint64_t)sn[i].l1_size * 8);
		if (ret == 0)
			ret = count_l1(s, &c, sl1, sn[i].l1_size, false, l2, fix);
		free(sl1);
		free(raw);
		if (ret < 0)
			goto out_io;
	}
	{
		struct qcow2_bitmap *bm;
		uint64_t doff, dsize;
		int nbm;
		if (qcow2_read_bitmaps(s, &bm, &nbm, &doff, &dsize) == 0 && nbm) {
			inc_range(s, &c, doff, dsize);
			for (int i = 0; i < nbm; i++) {
				uint64_t tb = (uint64_t)bm[i].table_size * 8;
				uint8_t *t = tb <= (64u << 20) ? malloc(tb ? tb : 1) : NULL;
				inc_range(s, &c, bm[i].table_offset, tb);
				if (t && bm[i].table_offset % cs == 0 &&
				    bc_file_pread(s->file, t, tb, bm[i].table_offset) == 0)
					for (uint64_t j = 0; j < bm[i].table_size; j++) {
						uint64_t d = bc_rd_be64(t + j * 8) & QCOW2_L2_OFFSET_MASK;
						if (d)
							inc_range(s, &c, d, cs);
					}
				free(t);
			}
			qcow2_bitmaps_free(bm, nbm);
		}
	}
	inc_range(s, &c, s->h.refcount_table_offset, (uint64_t)s->h.refcount_table_clusters * cs);
	for (uint64_t i = 0; i < s->reftable_size; i++) {
		uint64_t rb = s->reftable[i] & QCOW2_REFT_OFFSET_MASK;
		if (!rb)
			continue;
		if (rb % cs) {
			msg(res, "ERROR refcount block %llu is not cluster aligned; refcount table "
				 "entry corrupted", (unsigned long long)i);
			res->corruptions++;
			continue;
		}
		if (rb / cs >= flen_cl) {
			msg(res, "ERROR refcount block %llu is outside image", (unsigned long long)i);
			res->corruptions++;
			continue;
		}
		inc_range(s, &c, rb, cs);
		if (c.ref[rb / cs] != 1) {   /* a refcount block shared with anything else */
			msg(res, "ERROR refcount block %llu refcount=%u", (unsigned long long)i,
			    c.ref[rb / cs]);
			res->corruptions++;
		}
	}

	/* Compare. */
	for (uint64_t k = 0; k < c.n; k++) {
		uint64_t rc;
		ret = qcow2_get_refcount(s, k, &rc);
		if (ret < 0) {
			msg(res, "ERROR cluster %llu: cannot read refcount", (unsigned long long)k);
			res->check_errors++;
			continue;
		}
		if (c.ref[k] || rc)   /* as qemu: referenced or counted */
			end = k + 1;
		if (rc == c.ref[k])
			continue;
		bool leak = rc > c.ref[k];
		msg(res, "%s cluster %llu refcount=%llu reference=%u", leak ? "Leaked" : "ERROR",
		    (unsigned long long)k, (unsigned long long)rc, c.ref[k]);
		if ((leak && (fix & BC_FIX_LEAKS)) || (!leak && (fix & BC_FIX_ERRORS)))
			msg(&repairs, "Repairing cluster %llu refcount=%llu reference=%u",
			    (unsigned long long)k, (unsigned long long)rc, c.ref[k]);
		if (leak)
			res->leaks++;
		else
			res->corruptions++;
		if ((leak && (fix & BC_FIX_LEAKS)) || (!leak && (fix & BC_FIX_ERRORS))) {
			ret = qcow2_set_refcount(s, k, c.ref[k]);
			if (ret < 0) {
				res->check_errors++;
				continue;
			}
			if (leak) {
				if (!c.ref[k])
					bc_file_punch(s->file, k * cs, cs);
				res->leaks_fixed++;
				res->leaks--;
			} else {
				res->corruptions_fixed++;
				res->corruptions--;
			}
		}
	}
	/* as qemu-img: the findings first, then what was repaired */
	for (int i = 0; i < repairs.nmessages; i++)
		msg(res, "%s", repairs.messages[i]);
	bc_check_free(&repairs);
	ret = check_copied(s, res, fix, l2);
	if (ret < 0)
		goto out_io;
	res->image_end_offset = end * cs;
	res->total_clusters = (s->h.size + cs - 1) / cs;
	res->has_stats = true;
	if (fix && s->writable) {
		ret = qcow2_flush_metadata(s);
		if (ret < 0)
			goto out_io;
	}
	ret = 0;
	goto out;
out_io:
	res->check_errors++;
	ret = bc_err_set(err, ret, "%s", strerror(-ret));
out:
	s->checking = NULL;
	bc_check_free(&repairs);
	free(sn);
	free(c.ref);
	free(l2);
	return ret;
}

/* The snapshot table's own findings (pre) come first in the report, their repairs count. */
static int with_table_report(struct bc_check *pre, struct bc_check *res, int ret)
{
	size_t total = (size_t)(pre->nmessages + res->nmessages);
	char **all = total ? realloc(pre->messages, total * sizeof(*all)) : pre->messages;

	if (total && !all) {
		bc_check_free(pre);
		return -ENOMEM;
	}
	if (res->nmessages)
		memcpy(all + pre->nmessages, res->messages, (size_t)res->nmessages * sizeof(*all));
	free(res->messages);
	res->messages = all;
	res->nmessages += pre->nmessages;
	res->corruptions_fixed += pre->corruptions_fixed;
	res->check_errors += pre->check_errors;
	return ret;
}

static int check_state(struct qcow2 *s, struct bc_check *res, unsigned fix, struct bc_err *err);

int qcow2_check_state(struct qcow2 *s, struct bc_check *res, unsigned fix, struct bc_err *err)
{
	struct bc_check pre = { 0 };
	int ret;

	if (!s->writable)
		fix = 0;
	/* as qemu-img: the table is read (and with -r all repaired) before anything else */
	ret = qcow2_snapshot_check_table(s, &pre, (fix & BC_FIX_ERRORS) != 0, err);
	if (ret < 0) {
		bc_check_free(res);
		*res = pre;
		return ret;
	}
	ret = check_state(s, res, fix, err);
	return with_table_report(&pre, res, ret);
}

static int check_state(struct qcow2 *s, struct bc_check *res, unsigned fix, struct bc_err *err)
{
	int ret;

	if (fix) {
		/* New refcount blocks must not land on clusters in use: count once, then fix
		 * with the in-use map set, then count again for the report. */
		struct bc_check first;
		memset(&first, 0, sizeof(first));
		ret = check_pass(s, &first, 0, err);
		if (ret < 0) {
			bc_check_free(&first);
			return ret;
		}
		/* a repair pass only when it has something to repair (-r leaks and corruptions
		 * alone: one report, as qemu-img) */
		if ((first.corruptions && (fix & BC_FIX_ERRORS)) || (first.leaks && (fix & BC_FIX_LEAKS))) {
			bc_check_free(&first);
			memset(&first, 0, sizeof(first));
			ret = (fix & BC_FIX_ERRORS) ? repair_incomplete(s, &first, err) : 0;
			if (ret == 0)
				ret = check_pass(s, &first, fix, err);
			int fixed_l = first.leaks_fixed, fixed_c = first.corruptions_fixed;
			char **m = first.messages;
			int nm = first.nmessages;
			if (ret < 0) {
				/* what the repair found before it had to stop is the report */
				bc_check_free(res);
				*res = first;
				return ret;
			}
			ret = check_pass(s, res, 0, err);
			/* report what was found and repaired first, then what the double check
			 * still finds, as qemu-img prints both */
			size_t total = (size_t)(nm + res->nmessages);
			char **all = total ? realloc(m, total * sizeof(*all)) : m;
			if (total && !all) {
				for (int i = 0; i < nm; i++)
					free(m[i]);
				free(m);
				return bc_err_set(err, -ENOMEM, "Out of memory");
			}
			if (res->nmessages)
				memcpy(all + nm, res->messages, (size_t)res->nmessages * sizeof(*all));
			free(res->messages);
			res->messages = all;
			res->nmessages += nm;
			res->leaks_fixed = fixed_l;
			res->corruptions_fixed = fixed_c;
			return ret;
		}
		bc_check_free(&first);
	}
	return check_pass(s, res, 0, err);
}

int qcow2_check(struct bc_image *img, struct bc_check *res, unsigned fix, struct bc_err *err)
{
	return qcow2_check_state(img->priv, res, fix, err);
}
