/*
 * qcow2 internal snapshots: the snapshot table (read, rewrite), create / apply / delete,
 * opening a snapshot read-only (convert -l) and the VM-state area (the copy-on-write helpers
 * the write path calls for clusters shared with a snapshot are cow.c's). See
 * docs/qcow2-snapshots.md.
 *
 * Crash-safety invariants (in addition to driver.c's 1-8; numbers are cited in code):
 *  S1. The snapshot table is never rewritten in place. A new table goes to newly allocated
 *      clusters, whose refcounts and contents are written and flushed; then one 12-byte write
 *      inside one sector switches the header's (nb_snapshots, snapshots_offset) and is
 *      flushed; only then are the old table's clusters freed. A crash leaves the old table or
 *      the new one, never a mix (at worst leaked clusters).
 *  S2. Creating: the L1 copy is written and every cluster it references has its refcount
 *      raised and flushed before the snapshot table that names the copy is switched in (S1).
 *      A crash before the switch leaks clusters; it never leaves a snapshot whose clusters
 *      are not counted.
 *  S3. Applying: the snapshot's clusters gain a reference (flushed) before any table points
 *      to them from the active state; the new active L1 is written to new clusters and
 *      switched in by one header write of (l1_size, l1_table_offset) (driver invariant 4);
 *      only after that switch is on disk do the old active state's clusters lose their
 *      reference.
 *  S4. Deleting: the table without the entry is switched in (S1) before any refcount of
 *      the snapshot's clusters is decreased (driver invariant 5).
 *  S5. A cluster shared with a snapshot (refcount > 1, COPIED clear) is never written in
 *      place: the write path copies it to a new cluster and points the active table at the
 *      copy; the shared cluster is queued (s->cow) and loses the active state's reference
 *      only at the end of the next qcow2_flush_metadata, when no active table on disk
 *      names it any more (driver invariant 5). A crash before that leaks, never frees.
 *  S6. Refcounts are raised only after checking they cannot overflow refcount_bits, so a
 *      refused create or apply changes nothing on disk.
 *  S7. A COPIED flag in the active tables is set only when the refcount is 1, also across
 *      a crash: create clears the flags (on disk) before raising refcounts, apply clears
 *      them in the tables it makes active, and flags are set again only from the final
 *      refcounts (written first: a crash leaves at worst "COPIED clear, refcount 1", which
 *      the write path handles and qemu-img check -r all repairs).
 */
#include "qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_HDR_LEN 40
#define SNAP_EXTRA_LEN 24        /* vm_state_size_large, disk_size, icount */
#define SNAP_MAX_EXTRA 1024
#define SNAP_MAX_TABLE (64u << 20)

/* One table entry as stored, with unknown extra data kept for rewriting. */
struct snap_ent {
	uint64_t l1_offset;
	uint32_t l1_size;
	uint32_t extra_size;
	uint8_t extra[SNAP_MAX_EXTRA];
	uint16_t id_len, name_len;
	struct bc_snapshot info;
};

static uint64_t ent_len(const struct snap_ent *e, uint32_t extra)
{
	return qcow2_align_up(SNAP_HDR_LEN + (uint64_t)extra + e->id_len + e->name_len, 8);
}

/* A read window over the table, so 65,536 small entries are not 262,144 preads. */
struct tbl_rd {
	struct qcow2 *s;
	uint64_t flen, start, len;
	uint8_t *buf;
};

#define TBL_WINDOW (256u * 1024)

/* n bytes at off; a table running past the end of the file is invalid (as at open). */
static int tbl_read(struct tbl_rd *r, uint64_t off, void *dst, size_t n)
{
	int ret;

	if (off > r->flen || n > r->flen - off)
		return -EINVAL;
	if (off >= r->start && off + n <= r->start + r->len) {
		memcpy(dst, r->buf + (off - r->start), n);
		return 0;
	}
	if (n > TBL_WINDOW)
		return bc_file_pread(r->s->file, dst, n, off);
	if (!r->buf && !(r->buf = malloc(TBL_WINDOW)))
		return -ENOMEM;
	r->start = off;
	r->len = r->flen - off < TBL_WINDOW ? r->flen - off : TBL_WINDOW;
	ret = bc_file_pread(r->s->file, r->buf, r->len, off);
	if (ret < 0) {
		r->len = 0;
		return ret;
	}
	memcpy(dst, r->buf, n);
	return 0;
}

/*
 * Reads the entry at *pos and moves *pos past it (8-aligned). Extra data beyond
 * SNAP_MAX_EXTRA is returned as -EFBIG, or cut to SNAP_MAX_EXTRA bytes when truncate is set
 * (check -r all); *raw_extra is the size stored on disk, *names the bytes of ID and name.
 */
static int read_entry(struct tbl_rd *r, uint64_t *pos, uint64_t disk_size, bool truncate,
		      struct snap_ent *e, uint32_t *raw_extra, uint32_t *names)
{
	uint8_t h[SNAP_HDR_LEN];
	uint32_t extra, keep;
	uint16_t idl, nl;
	uint64_t p = *pos;
	int ret = tbl_read(r, p, h, SNAP_HDR_LEN);

	if (ret < 0)
		return ret;
	e->l1_offset = bc_rd_be64(h);
	e->l1_size = bc_rd_be32(h + 8);
	idl = bc_rd_be16(h + 12);
	nl = bc_rd_be16(h + 14);
	*names = (uint32_t)idl + nl;
	memset(&e->info, 0, sizeof(e->info));
	e->info.date_sec = bc_rd_be32(h + 16);
	e->info.date_nsec = bc_rd_be32(h + 20);
	e->info.vm_clock_nsec = bc_rd_be64(h + 24);
	e->info.vm_state_size = bc_rd_be32(h + 32);
	extra = *raw_extra = bc_rd_be32(h + 36);
	if (extra > SNAP_MAX_EXTRA && !truncate)
		return -EFBIG;
	keep = extra > SNAP_MAX_EXTRA ? SNAP_MAX_EXTRA : extra;
	p += SNAP_HDR_LEN;
	ret = tbl_read(r, p, e->extra, keep);
	if (ret < 0)
		return ret;
	p += extra;
	e->extra_size = keep;
	e->info.icount = UINT64_MAX;
	e->info.disk_size = disk_size;
	if (keep >= 8)
		e->info.vm_state_size = bc_rd_be64(e->extra);
	if (keep >= 16)
		e->info.disk_size = bc_rd_be64(e->extra + 8);
	if (keep >= 24)
		e->info.icount = bc_rd_be64(e->extra + 16);
	e->id_len = idl < sizeof(e->info.id) ? idl : sizeof(e->info.id) - 1;
	e->name_len = nl < sizeof(e->info.name) ? nl : sizeof(e->info.name) - 1;
	ret = tbl_read(r, p, e->info.id, e->id_len);
	if (ret == 0)
		ret = tbl_read(r, p + idl, e->info.name, e->name_len);
	if (ret == 0 && (uint64_t)idl + nl > (uint64_t)e->id_len + e->name_len)
		ret = tbl_read(r, p + idl + nl - 1, h, 1);   /* the whole entry is in the file */
	if (ret < 0)
		return ret;
	*pos = qcow2_align_up(p + idl + nl, 8);
	return 0;
}

/* Serializes e at buf (ent_len(e, max(extra, 24)) bytes, zeroed by the caller). */
static uint64_t serialize_entry(const struct snap_ent *e, uint8_t *buf)
{
	uint32_t extra = e->extra_size > SNAP_EXTRA_LEN ? e->extra_size : SNAP_EXTRA_LEN;
	uint64_t vs = e->info.vm_state_size;

	bc_wr_be64(buf, e->l1_offset);
	bc_wr_be32(buf + 8, e->l1_size);
	bc_wr_be16(buf + 12, e->id_len);
	bc_wr_be16(buf + 14, e->name_len);
	bc_wr_be32(buf + 16, e->info.date_sec);
	bc_wr_be32(buf + 20, e->info.date_nsec);
	bc_wr_be64(buf + 24, e->info.vm_clock_nsec);
	bc_wr_be32(buf + 32, vs > UINT32_MAX ? 0 : (uint32_t)vs);
	bc_wr_be32(buf + 36, extra);
	if (e->extra_size > SNAP_EXTRA_LEN)
		memcpy(buf + SNAP_HDR_LEN, e->extra, e->extra_size);
	bc_wr_be64(buf + SNAP_HDR_LEN, vs);
	bc_wr_be64(buf + SNAP_HDR_LEN + 8, e->info.disk_size);
	bc_wr_be64(buf + SNAP_HDR_LEN + 16, e->info.icount);
	memcpy(buf + SNAP_HDR_LEN + extra, e->info.id, e->id_len);
	memcpy(buf + SNAP_HDR_LEN + extra + e->id_len, e->info.name, e->name_len);
	return ent_len(e, extra);
}

/* check -r all: what reading a damaged table discarded, reported in res as qemu-img does. */
struct snap_fix {
	struct bc_check *res;
	int dropped;        /* entries whose extra data was cut to SNAP_MAX_EXTRA */
	uint32_t reduced;   /* entries discarded from the end */
};

/* Reads the whole table (nb_snapshots entries at snapshots_offset). Entries' L1 offsets and
 * sizes are not validated (check reports them as qemu-img's does; snap_l1_valid checks the
 * one an operation uses). fix: damage qemu-img check -r all discards is discarded (fewer
 * entries in *n), else it is an error. */
static int read_table_as(struct qcow2 *s, struct snap_ent **out, int *n, struct snap_fix *fix,
			 struct bc_err *err)
{
	uint64_t pos = s->h.snapshots_offset, table_len = 0;
	int64_t flen = bc_file_length(s->file);
	uint32_t nb = s->h.nb_snapshots, raw_extra, names;
	struct tbl_rd r = { .s = s };
	struct snap_ent *t;
	int ret = 0;

	*out = NULL;
	*n = 0;
	if (!nb)
		return 0;
	if (flen < 0)
		return bc_err_set(err, (int)flen, "Failed to read snapshot table");
	r.flen = (uint64_t)flen;
	t = calloc(nb, sizeof(*t));
	if (!t)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	for (uint32_t i = 0; i < nb; i++) {
		ret = read_entry(&r, &pos, s->h.size, fix != NULL, &t[i], &raw_extra, &names);
		if (ret == -EFBIG) {
			ret = bc_err_set(err, -EFBIG, "Too much extra metadata in snapshot table "
					 "entry %u\nYou can force-remove this extra metadata with "
					 "%s check -r all", i, bc_program_name());
			goto fail;
		}
		if (ret == -EINVAL) {
			ret = bc_err_set(err, -EINVAL, "Snapshot table offset invalid");
			goto fail;
		}
		if (ret < 0) {
			bc_err_set(err, ret, "Failed to read snapshot table");
			goto fail;
		}
		if (fix && raw_extra > SNAP_MAX_EXTRA) {
			bc_check_msg(fix->res, "Discarding too much extra metadata in snapshot table "
				     "entry %u (%u > %u)", i, raw_extra, SNAP_MAX_EXTRA);
			fix->dropped++;
		}
		/* as qemu: the entries' unpadded sizes, extra data as kept */
		table_len += SNAP_HDR_LEN + (uint64_t)t[i].extra_size + names;
		if (table_len > SNAP_MAX_TABLE) {
			if (!fix) {
				ret = bc_err_set(err, -EFBIG, "Snapshot table is too big\nYou can "
						 "force-remove all %u overhanging snapshots with "
						 "%s check -r all", nb - i, bc_program_name());
				goto fail;
			}
			bc_check_msg(fix->res, "Discarding %u overhanging snapshots (snapshot table "
				     "is too big)", nb - i);
			fix->reduced += nb - i;
			nb = i;
			break;
		}
		s->snapshots_end = pos;
	}
	if (!nb)
		s->snapshots_end = s->h.snapshots_offset;
	free(r.buf);
	*out = t;
	*n = (int)nb;
	return 0;
fail:
	free(r.buf);
	free(t);
	return ret;
}

/* Snapshot operations read the table leniently too (qemu lists, creates and deletes other
 * snapshots of a table with one bad entry); the entry used is checked by snap_l1_valid. */
static int read_table(struct qcow2 *s, struct snap_ent **out, int *n, struct bc_err *err)
{
	return read_table_as(s, out, n, NULL, err);
}

/* Whether e's L1 table lies wholly past the end of the file (reads as an empty table). */
static bool snap_l1_past_eof(struct qcow2 *s, const struct snap_ent *e)
{
	int64_t flen = bc_file_length(s->file);

	return e->l1_size && flen >= 0 && e->l1_offset >= (uint64_t)flen;
}

/* As qemu-img, before a snapshot's L1 table is used: its size and alignment. for_load: an L1
 * table past the end of the file is refused too (qemu 7.2 loads it as an empty table, so
 * applying it silently empties the disk). */
static int snap_l1_valid(struct qcow2 *s, const struct snap_ent *e, bool for_load,
			 struct bc_err *err)
{
	int64_t flen = bc_file_length(s->file);

	if (e->l1_size > QCOW2_MAX_L1_BYTES / 8)
		return bc_err_set(err, -EFBIG, "Snapshot L1 table too large");
	if (e->l1_offset % s->cluster_size ||
	    (for_load && flen >= 0 && e->l1_offset + (uint64_t)e->l1_size * 8 > (uint64_t)flen))
		return bc_err_set(err, -EINVAL, "Snapshot L1 table offset invalid");
	return 0;
}

int qcow2_read_snapshots(struct qcow2 *s, struct qcow2_snap **out, int *n, struct bc_err *err)
{
	struct snap_ent *t;
	int ret = read_table_as(s, &t, n, NULL, err);

	*out = NULL;
	if (ret < 0 || !*n)
		return ret;
	*out = calloc((size_t)*n, sizeof(**out));
	if (!*out) {
		free(t);
		*n = 0;
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	for (int i = 0; i < *n; i++) {
		(*out)[i].l1_offset = t[i].l1_offset;
		(*out)[i].l1_size = t[i].l1_size;
		(*out)[i].extra_size = t[i].extra_size;
		(*out)[i].info = t[i].info;
	}
	free(t);
	return 0;
}

int qcow2_snapshot_list(struct bc_image *img, struct bc_snapshot **list, int *n,
			struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	struct snap_ent *t;
	int ret = read_table(s, &t, n, err);

	*list = NULL;
	if (ret < 0 || !*n)
		return ret;
	*list = calloc((size_t)*n, sizeof(**list));
	if (!*list) {
		free(t);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	for (int i = 0; i < *n; i++)
		(*list)[i] = t[i].info;
	free(t);
	return 0;
}

/* S1: writes t[0..n) as the new table and switches the header to it. */
static int write_table(struct qcow2 *s, const struct snap_ent *t, int n)
{
	uint64_t cs = s->cluster_size, size = 0, off = 0, old_off = s->h.snapshots_offset;
	uint64_t old_len = s->h.nb_snapshots ? s->snapshots_end - old_off : 0;
	uint8_t *buf = NULL, hdr[12];
	int ret;

	for (int i = 0; i < n; i++)
		size += ent_len(&t[i], t[i].extra_size > SNAP_EXTRA_LEN ? t[i].extra_size
									: SNAP_EXTRA_LEN);
	if (size > SNAP_MAX_TABLE)
		return -EFBIG;
	if (n) {
		buf = calloc(1, qcow2_align_up(size, cs));
		if (!buf)
			return -ENOMEM;
		for (int i = 0, p = 0; i < n; i++)
			p += (int)serialize_entry(&t[i], buf + p);
		ret = qcow2_alloc_clusters(s, qcow2_align_up(size, cs) / cs, &off);
		if (ret == 0)
			ret = qcow2_flush_refcounts(s);
		if (ret == 0)
			ret = bc_file_pwrite(s->file, buf, size, off);
		free(buf);
		if (ret == 0)
			ret = bc_file_flush(s->file);
		if (ret < 0)
			return ret;
	}
	bc_wr_be32(hdr, (uint32_t)n);
	bc_wr_be64(hdr + 4, off);
	ret = bc_file_pwrite(s->file, hdr, 12, 60);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		return ret;
	s->h.nb_snapshots = (uint32_t)n;
	s->h.snapshots_offset = off;
	s->snapshots_end = off + size;
	if (old_len)
		return qcow2_free_clusters(s, old_off, qcow2_align_up(old_len, cs) / cs);
	return 0;
}

int qcow2_snapshot_rewrite_table(struct qcow2 *s)
{
	struct bc_err err = { 0 };
	struct snap_ent *t;
	int n, ret = read_table_as(s, &t, &n, NULL, &err);

	if (ret < 0)
		return ret;
	ret = write_table(s, t, n);   /* serialize_entry writes at least the 24 known bytes */
	free(t);
	return ret;
}

int qcow2_snapshot_table_valid(struct qcow2 *s, struct bc_err *err)
{
	struct snap_ent *t;
	int n, ret;

	if (s->h.nb_snapshots > QCOW2_MAX_SNAPSHOTS)
		return bc_err_set(err, -EFBIG, "Snapshot table too large");
	ret = read_table_as(s, &t, &n, NULL, err);
	free(t);
	return ret;
}

/* The new entry count in the header (12-byte pointer write as S1, one sector). */
static int write_count(struct qcow2 *s, uint32_t n)
{
	uint8_t be[4];
	int ret;

	bc_wr_be32(be, n);
	ret = bc_file_pwrite(s->file, be, 4, 60);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret == 0)
		s->h.nb_snapshots = n;
	return ret;
}

int qcow2_snapshot_check_table(struct qcow2 *s, struct bc_check *res, bool repair,
			       struct bc_err *err)
{
	struct snap_fix fix = { .res = res };
	uint32_t nb = s->h.nb_snapshots;
	struct bc_err rerr = { 0 };
	struct snap_ent *t;
	int n, ret;

	if (nb > QCOW2_MAX_SNAPSHOTS && repair) {
		bc_check_msg(res, "Discarding %u overhanging snapshots", nb - QCOW2_MAX_SNAPSHOTS);
		fix.reduced = nb - QCOW2_MAX_SNAPSHOTS;
		s->h.nb_snapshots = QCOW2_MAX_SNAPSHOTS;
	} else if (nb > QCOW2_MAX_SNAPSHOTS) {
		/* qemu-img prints these through its error reporting: with the program name */
		bc_check_msg(res, "%s: ERROR snapshot table too large\nYou can force-remove "
			     "all %u overhanging snapshots with %s check -r all", bc_program_name(),
			     nb - QCOW2_MAX_SNAPSHOTS, bc_program_name());
		res->check_errors++;
		return bc_err_set(err, -EFBIG, "%s", strerror(EFBIG));
	}
	ret = read_table_as(s, &t, &n, repair ? &fix : NULL, &rerr);
	if (ret < 0) {
		bc_check_msg(res, "%s: ERROR failed to read the snapshot table: %s", bc_program_name(),
			     rerr.msg);
		res->check_errors++;
		return bc_err_set(err, ret, "%s", strerror(-ret));
	}
	ret = 0;
	/* as qemu-img: fewer entries is a header update (the rest of the table leaks, and the
	 * repair pass frees it); entries cut short make a new table */
	if (fix.reduced) {
		ret = write_count(s, (uint32_t)n);
		if (ret < 0) {
			bc_check_msg(res, "ERROR failed to update the snapshot count in the image "
				     "header: %s", strerror(-ret));
			res->check_errors++;
		} else {
			res->corruptions_fixed += (int)fix.reduced;
		}
	}
	if (ret == 0 && fix.dropped) {
		ret = write_table(s, t, n);
		if (ret == 0)
			ret = qcow2_flush_metadata(s);
		if (ret < 0) {
			bc_check_msg(res, "ERROR failed to update snapshot table: %s", strerror(-ret));
			res->check_errors++;
		} else {
			res->corruptions_fixed += fix.dropped;
		}
	}
	free(t);
	return ret < 0 ? bc_err_set(err, ret, "%s", strerror(-ret)) : 0;
}

int qcow2_snapshot_upgrade_table(struct qcow2 *s)
{
	struct snap_ent *t;
	int n, ret = read_table(s, &t, &n, NULL);
	bool short_extra = false;

	for (int i = 0; ret == 0 && i < n; i++)
		short_extra |= t[i].extra_size < 16;
	/* write_table writes every entry with the full v3 extra data */
	if (ret == 0 && short_extra)
		ret = write_table(s, t, n);
	free(t);
	return ret;
}

/* ---- walking an L1 table: refcounts and COPIED flags ---- */

enum walk_mode {
	WALK_CHECK,  /* only verify that +addend cannot overflow (S6) */
	WALK_UPDATE, /* add addend to every referenced cluster */
};

/* What a WALK_UPDATE does to the COPIED flags of the L1 and L2 entries it visits. */
enum copied_mode {
	COPIED_KEEP,
	COPIED_FROM_RC, /* set when the refcount (after the update) is 1, else clear (S7) */
	COPIED_CLEAR,   /* clear: always safe, the write path then checks the refcount */
};

static int add_ref(struct qcow2 *s, uint64_t cluster, int64_t addend, enum walk_mode mode)
{
	uint64_t rc;
	int ret;

	if (mode == WALK_UPDATE)
		return addend ? qcow2_update_refcount(s, cluster, addend) : 0;
	ret = qcow2_get_refcount(s, cluster, &rc);
	if (ret < 0)
		return ret;
	if (addend > 0 && (rc + (uint64_t)addend < rc || rc + (uint64_t)addend > s->refcount_max))
		return -ERANGE;
	return 0;
}

/*
 * For each L2 table of l1[0..l1_size) and each cluster it references: adds addend to the
 * refcount (mode UPDATE) and sets the COPIED flags of the entries (and of l1) as cm says.
 * L2 tables whose refcount drops to zero leave the cache.
 */
static int walk_l1(struct qcow2 *s, uint64_t *l1, uint32_t l1_size, int64_t addend,
		   enum walk_mode mode, enum copied_mode cm)
{
	uint64_t cs = s->cluster_size, nent = 1ull << s->l2_bits, rc;
	int64_t flen = bc_file_length(s->file);
	uint8_t *l2, *copy = malloc(cs);
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (uint32_t i = 0; i < l1_size; i++) {
		uint64_t l2off = l1[i] & QCOW2_L1_OFFSET_MASK;

		if (!l2off)
			continue;
		if (l2off % cs || l2off < cs || (flen >= 0 && l2off >= (uint64_t)flen)) {
			ret = qcow2_mark_corrupt(s, "L2 table offset %#llx invalid (L1 index: %#x)",
						 (unsigned long long)l2off, i);
			goto out;
		}
		/* a private copy: refcount updates may evict the cached table */
		ret = qcow2_cache_get(s, &s->l2_cache, l2off, true, &l2);
		if (ret < 0)
			goto out;
		memcpy(copy, l2, cs);
		for (uint64_t j = 0; j < nent; j++) {
			uint64_t e = bc_rd_be64(copy + j * s->l2_entry_size), h, ne;

			if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t ch, cl;
				if (addend == 0)
					continue;
				qcow2_compressed_range(s, e, &ch, &cl);
				for (uint64_t k = ch / cs; k <= (ch + cl - 1) / cs; k++) {
					ret = add_ref(s, k, addend, mode);
					if (ret < 0)
						goto out;
				}
				continue;
			}
			h = e & QCOW2_L2_OFFSET_MASK;
			if (!h || s->data_file != s->file)
				continue;
			ret = add_ref(s, h / cs, addend, mode);
			if (ret < 0)
				goto out;
			if (cm == COPIED_KEEP || mode != WALK_UPDATE)
				continue;
			rc = 0;
			if (cm == COPIED_FROM_RC) {
				ret = qcow2_get_refcount(s, h / cs, &rc);
				if (ret < 0)
					goto out;
			}
			ne = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
			if (ne != e) {
				/* the refcount calls may have evicted the table: look it up again */
				ret = qcow2_cache_get(s, &s->l2_cache, l2off, true, &l2);
				if (ret < 0)
					goto out;
				bc_wr_be64(l2 + j * s->l2_entry_size, ne);
				qcow2_cache_mark_dirty(&s->l2_cache, l2);
			}
		}
		ret = add_ref(s, l2off / cs, addend, mode);
		if (ret < 0)
			goto out;
		if (mode != WALK_UPDATE)
			continue;
		ret = qcow2_get_refcount(s, l2off / cs, &rc);
		if (ret < 0)
			goto out;
		if (rc == 0)
			qcow2_cache_discard(&s->l2_cache, l2off);
		if (cm != COPIED_KEEP) {
			uint64_t ne = rc == 1 && cm == COPIED_FROM_RC ? l1[i] | QCOW2_OFLAG_COPIED
								      : l1[i] & ~QCOW2_OFLAG_COPIED;
			if (ne != l1[i]) {
				l1[i] = ne;
				s->l1_dirty = true;
			}
		}
	}
out:
	free(copy);
	return ret;
}

/* Raises (S6: after an overflow check) or lowers the refcounts of what l1 references. */
static int change_refs(struct qcow2 *s, uint64_t *l1, uint32_t l1_size, int64_t addend,
		       enum copied_mode cm)
{
	int ret = 0;

	if (addend > 0)
		ret = walk_l1(s, l1, l1_size, addend, WALK_CHECK, COPIED_KEEP);
	if (ret == 0)
		ret = walk_l1(s, l1, l1_size, addend, WALK_UPDATE, cm);
	return ret;
}

/* Reads an L1 table of n entries (host order; at least min_alloc entries, zero-padded). */
static int read_l1(struct qcow2 *s, uint64_t off, uint32_t n, uint32_t min_alloc,
		   uint64_t **out)
{
	uint32_t cnt = n > min_alloc ? n : min_alloc;
	uint64_t *l1 = calloc(cnt ? cnt : 1, 8);
	uint8_t *raw = malloc((size_t)n * 8 + 1);
	int ret = 0;

	if (!l1 || !raw) {
		ret = -ENOMEM;
		goto out;
	}
	if (n)
		ret = bc_file_pread(s->file, raw, (size_t)n * 8, off);
	for (uint32_t i = 0; ret == 0 && i < n; i++)
		l1[i] = bc_rd_be64(raw + (size_t)i * 8);
out:
	free(raw);
	if (ret < 0) {
		free(l1);
		l1 = NULL;
	}
	*out = l1;
	return ret;
}

/* Writes l1[0..n) big-endian to clusters newly allocated for it. */
static int write_new_l1(struct qcow2 *s, const uint64_t *l1, uint32_t n, uint64_t *off)
{
	uint64_t cs = s->cluster_size, bytes = (uint64_t)n * 8;
	uint8_t *raw;
	int ret;

	*off = 0;
	if (!n)
		return 0;
	raw = malloc(bytes);
	if (!raw)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		bc_wr_be64(raw + (size_t)i * 8, l1[i]);
	ret = qcow2_alloc_clusters(s, qcow2_align_up(bytes, cs) / cs, off);
	if (ret == 0 && qcow2_overlaps_metadata(s, *off, qcow2_align_up(bytes, cs)))
		ret = qcow2_mark_corrupt(s, "Preventing invalid write on metadata (overlaps with "
					    "%s)", qcow2_overlaps_metadata(s, *off, bytes));
	if (ret == 0)
		ret = bc_file_pwrite(s->file, raw, bytes, *off);
	free(raw);
	return ret;
}

/* ---- finding entries ---- */

/* Index of the entry matching id (when given) and name (when given), or -1. */
static int find_entry(const struct snap_ent *t, int n, const char *id, const char *name)
{
	for (int i = 0; i < n; i++) {
		if (id && strcmp(t[i].info.id, id))
			continue;
		if (name && strcmp(t[i].info.name, name))
			continue;
		return i;
	}
	return -1;
}

/* qemu's rule: an exact ID first, then a name. */
static int find_id_or_name(const struct snap_ent *t, int n, const char *s)
{
	int i = find_entry(t, n, s, NULL);

	return i >= 0 ? i : find_entry(t, n, NULL, s);
}

static uint64_t vm_state_offset(const struct qcow2 *s)
{
	uint64_t span = (uint64_t)s->cluster_size << s->l2_bits;

	return qcow2_align_up(s->h.size, span);
}

/* The VM state held by the active table: bytes up to the end of its last allocated cluster
 * (an unallocated area reads as zeros, so this covers every byte written). */
static int active_vm_state_size(struct qcow2 *s, uint64_t *size)
{
	uint64_t span = (uint64_t)s->cluster_size << s->l2_bits, base = vm_state_offset(s);
	uint64_t end = base;

	*size = 0;
	for (uint64_t i = base / span; i < s->l1_size; i++) {
		if (!(s->l1[i] & QCOW2_L1_OFFSET_MASK))
			continue;
		for (uint64_t g = i * span; g < (i + 1) * span;) {
			struct bc_extent ext;
			int ret = qcow2_status(s, g, (i + 1) * span - g, &ext);
			if (ret < 0)
				return ret;
			if (!ext.len)
				break;
			if (ext.flags & BC_EXT_ALLOCATED)
				end = g + ext.len;
			g += ext.len;
		}
	}
	*size = end - base;
	return 0;
}

/* ---- create / apply / delete ---- */

/*
 * A snapshot_create that failed before its table was written (EIO, ENOSPC) gives back what it
 * did, so the image is left as it was: the COPIED flags (cleared at stage >= 1) set again
 * where the refcount is 1, the raised refcounts (stage 3) lowered, the L1 copy freed.
 * Best effort: the I/O error may persist, then what is left are leaks or flags check repairs.
 */
static void create_undo(struct qcow2 *s, int stage, uint64_t l1_off)
{
	uint64_t cs = s->cluster_size;

	if (stage >= 1)
		walk_l1(s, s->l1, s->l1_size, stage >= 3 ? -1 : 0, WALK_UPDATE, COPIED_FROM_RC);
	if (l1_off)
		qcow2_free_clusters(s, l1_off, qcow2_align_up((uint64_t)s->l1_size * 8, cs) / cs);
	qcow2_flush_metadata(s);
}

static int snapshot_create(struct bc_image *img, const struct bc_snapshot *sn,
			   struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	struct snap_ent *t = NULL, *nt, *e;
	uint64_t l1_off = 0, vs = sn->vm_state_size;
	unsigned long max_id = 0;
	int n, ret, stage = 0;

	if (!s->writable)
		return bc_err_set(err, -EROFS, "Image is read-only");
	if (s->corrupt)
		return bc_err_set(err, -EIO, "Image is corrupt");
	if (s->data_file != s->file)
		return bc_err_set(err, -ENOTSUP, "Can't create snapshots with an external data file");
	ret = read_table(s, &t, &n, err);
	if (ret < 0)
		return ret;
	if (n >= QCOW2_MAX_SNAPSHOTS) {
		ret = bc_err_set(err, -EFBIG, "Too many snapshots");
		goto out;
	}
	nt = realloc(t, (size_t)(n + 1) * sizeof(*t));
	if (!nt) {
		ret = bc_err_set(err, -ENOMEM, "Out of memory");
		goto out;
	}
	t = nt;
	for (int i = 0; i < n; i++) {
		unsigned long v = strtoul(t[i].info.id, NULL, 10);
		if (v > max_id)
			max_id = v;
	}
	ret = qcow2_flush_metadata(s);
	if (ret == 0 && !vs)
		ret = active_vm_state_size(s, &vs);
	/* S6: nothing is changed when a refcount would overflow. */
	if (ret == 0)
		ret = walk_l1(s, s->l1, s->l1_size, 1, WALK_CHECK, COPIED_KEEP);
	if (ret == -ERANGE) {
		/* qemu-img reports this case as EINVAL */
		ret = bc_err_set(err, -EINVAL, "Refcount overflow: a refcount would exceed "
					       "refcount_bits");
		goto out;
	}
	if (ret < 0)
		goto out_io;
	/* S7 then S2: COPIED flags cleared on disk while the refcounts are still 1 (a crash
	 * leaves "COPIED clear, refcount 1": safe), then the L1 copy and the raised refcounts,
	 * then the table. */
	stage = 1;
	ret = walk_l1(s, s->l1, s->l1_size, 0, WALK_UPDATE, COPIED_CLEAR);
	if (ret == 0)
		ret = qcow2_flush_metadata(s);
	if (ret == 0)
		ret = write_new_l1(s, s->l1, s->l1_size, &l1_off);
	if (ret == 0)
		ret = walk_l1(s, s->l1, s->l1_size, 1, WALK_UPDATE, COPIED_KEEP);
	if (ret == 0) {
		stage = 3;
		ret = qcow2_flush_metadata(s);
	}
	if (ret < 0)
		goto out_undo;
	e = &t[n];
	memset(e, 0, sizeof(*e));
	e->info = *sn;
	snprintf(e->info.id, sizeof(e->info.id), "%lu", max_id + 1);
	e->info.vm_state_size = vs;
	e->info.disk_size = s->h.size;
	e->id_len = (uint16_t)strlen(e->info.id);
	e->name_len = (uint16_t)strnlen(e->info.name, sizeof(e->info.name) - 1);
	e->info.name[e->name_len] = 0;
	e->l1_offset = l1_off;
	e->l1_size = s->l1_size;
	e->extra_size = SNAP_EXTRA_LEN;
	ret = write_table(s, t, n + 1);
	if (ret < 0)
		goto out_undo;
	/* The VM state now lives in the snapshot; the active table need not keep it. */
	if (vs) {
		s->img->discard_request = true; /* as qemu: a discard request, not a full one */
		ret = qcow2_zero_range(s, vm_state_offset(s), qcow2_align_up(vs, s->cluster_size),
				       true, true);
		s->img->discard_request = false;
		if (ret < 0)
			goto out_io;
	}
	ret = qcow2_flush_metadata(s);
	if (ret < 0)
		goto out_io;
	goto out;
out_undo:
	if (!s->corrupt)
		create_undo(s, stage, l1_off);
out_io:
	bc_err_set(err, ret, "Could not create snapshot: %s", strerror(-ret));
out:
	free(t);
	return ret;
}

/* Sets the virtual size to the snapshot's (images qemu resized after the snapshot). */
static int restore_size(struct qcow2 *s, uint64_t size)
{
	uint64_t span = (uint64_t)s->cluster_size << s->l2_bits;
	uint8_t be[8];
	int ret;

	if (size == s->h.size)
		return 0;
	if (size > QCOW2_MAX_VIRTUAL_SIZE || size % 512)
		return qcow2_mark_corrupt(s, "Snapshot disk size %#llx invalid",
					  (unsigned long long)size);
	ret = qcow2_grow_l1(s, (size + span - 1) / span);
	if (ret < 0)
		return ret;
	bc_wr_be64(be, size);
	ret = bc_file_pwrite(s->file, be, 8, 24);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		return ret;
	s->h.size = size;
	s->img->size = size;
	return 0;
}

/* S3: the active state becomes a copy of snapshot e. */
static int apply_entry(struct qcow2 *s, const struct snap_ent *e)
{
	uint64_t cs = s->cluster_size, new_off, old_off, *sl1 = NULL, *old;
	uint32_t old_size, size;
	uint8_t hdr[12];
	int ret;

	ret = qcow2_flush_metadata(s);
	if (ret == 0)
		ret = restore_size(s, e->info.disk_size);
	if (ret == 0 && e->l1_size > s->l1_size)
		ret = qcow2_grow_l1(s, e->l1_size);
	if (ret < 0)
		return ret;
	size = s->l1_size;
	ret = read_l1(s, e->l1_offset, e->l1_size, s->l1_alloc, &sl1);
	if (ret < 0)
		return ret;
	/* S7: the new active tables claim no cluster as their own until the flags are
	 * recomputed from the final refcounts below. */
	ret = change_refs(s, sl1, e->l1_size, 1, COPIED_CLEAR);
	if (ret == 0)
		ret = qcow2_flush_metadata(s);
	if (ret == 0)
		ret = write_new_l1(s, sl1, size, &new_off);
	if (ret == 0)
		ret = qcow2_flush_refcounts(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		goto out;
	bc_wr_be32(hdr, size);
	bc_wr_be64(hdr + 4, new_off);
	ret = bc_file_pwrite(s->file, hdr, 12, 36);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		goto out;
	old = s->l1;
	old_off = s->h.l1_table_offset;
	old_size = s->l1_size;
	s->l1 = sl1;
	sl1 = NULL;
	s->h.l1_table_offset = new_off;
	s->h.l1_size = size;
	s->l1_dirty = false;
	s->cbuf_entry = 0;
	ret = change_refs(s, old, old_size, -1, COPIED_KEEP);
	if (ret == 0 && old_size)
		ret = qcow2_free_clusters(s, old_off, qcow2_align_up((uint64_t)old_size * 8, cs) / cs);
	free(old);
	if (ret == 0)
		ret = walk_l1(s, s->l1, s->l1_size, 0, WALK_UPDATE, COPIED_FROM_RC);
	if (ret == 0)
		ret = qcow2_flush_metadata(s);
out:
	free(sl1);
	return ret;
}

static int snapshot_apply(struct bc_image *img, const char *id_or_name, struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	struct snap_ent *t;
	int n, i, ret;

	if (!s->writable)
		return bc_err_set(err, -EROFS, "Image is read-only");
	if (s->corrupt)
		return bc_err_set(err, -EIO, "Image is corrupt");
	ret = read_table(s, &t, &n, err);
	if (ret < 0)
		return ret;
	i = find_id_or_name(t, n, id_or_name);
	if (i < 0) {
		free(t);
		return bc_err_set(err, -ENOENT, "Can't find snapshot");
	}
	ret = snap_l1_valid(s, &t[i], true, err);
	if (ret < 0) {
		/* as qemu: the reason reported at once, then the load fails with its errno */
		bc_warn("error: %s", err->msg);
		free(t);
		return bc_err_set(err, ret, "Failed to load snapshot: %s", strerror(-ret));
	}
	ret = apply_entry(s, &t[i]);
	free(t);
	if (ret == -ERANGE)
		return bc_err_set(err, -EINVAL, "Refcount overflow: a refcount would exceed "
						"refcount_bits");
	if (ret < 0)
		return bc_err_set(err, ret, "Could not apply snapshot: %s", strerror(-ret));
	return 0;
}

static int snapshot_delete(struct bc_image *img, const char *id, const char *name,
			   struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	struct snap_ent *t, victim;
	uint64_t *sl1 = NULL, cs = s->cluster_size;
	int n, i, ret;

	if (!s->writable)
		return bc_err_set(err, -EROFS, "Image is read-only");
	if (s->corrupt)
		return bc_err_set(err, -EIO, "Image is corrupt");
	if (!id && !name)
		return bc_err_set(err, -EINVAL, "No snapshot ID or name given");
	ret = read_table(s, &t, &n, err);
	if (ret < 0)
		return ret;
	i = find_entry(t, n, id, name);
	if (i < 0) {
		free(t);
		return bc_err_set(err, -ENOENT, "Can't find the snapshot with ID '%s' and name '%s'",
				  id ? id : "", name ? name : "");
	}
	victim = t[i];
	ret = snap_l1_valid(s, &victim, false, err);
	if (ret < 0) {
		free(t);
		return ret;
	}
	/* an L1 table past the end of the file holds no references: the entry just goes
	 * (qemu 7.2 tries to free clusters there and warns) */
	if (snap_l1_past_eof(s, &victim))
		victim.l1_size = 0;
	memmove(&t[i], &t[i + 1], (size_t)(n - i - 1) * sizeof(*t));
	ret = qcow2_flush_metadata(s);
	if (ret == 0)
		ret = read_l1(s, victim.l1_offset, victim.l1_size, 0, &sl1);
	/* S4: the table without the entry, then the references. */
	if (ret == 0)
		ret = write_table(s, t, n - 1);
	free(t);
	if (ret == 0)
		ret = change_refs(s, sl1, victim.l1_size, -1, COPIED_KEEP);
	if (ret == 0 && victim.l1_size)
		ret = qcow2_free_clusters(s, victim.l1_offset,
					  qcow2_align_up((uint64_t)victim.l1_size * 8, cs) / cs);
	if (ret == 0)
		ret = walk_l1(s, s->l1, s->l1_size, 0, WALK_UPDATE, COPIED_FROM_RC);
	if (ret == 0)
		ret = qcow2_flush_metadata(s);
	free(sl1);
	if (ret < 0)
		return bc_err_set(err, ret, "Could not delete snapshot: %s", strerror(-ret));
	return 0;
}

int qcow2_snapshot_create(struct bc_image *img, const struct bc_snapshot *sn,
			  struct bc_err *err)
{
	return snapshot_create(img, sn, err);
}

int qcow2_snapshot_apply(struct bc_image *img, const char *id_or_name, struct bc_err *err)
{
	return snapshot_apply(img, id_or_name, err);
}

int qcow2_snapshot_delete(struct bc_image *img, const char *id, const char *name,
			  struct bc_err *err)
{
	return snapshot_delete(img, id, name, err);
}

/* ---- opening a snapshot read-only (convert -l) ---- */

/* spec: "ID or name", or "snapshot.id=ID[,snapshot.name=NAME]" in any order. */
static int parse_spec(const char *spec, char *id, size_t idlen, char *name, size_t namelen,
		      bool *opts)
{
	const char *p = spec;

	*id = *name = 0;
	*opts = strncmp(spec, "snapshot.", 9) == 0;
	if (!*opts)
		return 0;
	while (*p) {
		const char *end = strchr(p, ','), *val;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *dst;
		size_t cap;
		if (!strncmp(p, "snapshot.id=", 12)) {
			val = p + 12;
			dst = id;
			cap = idlen;
		} else if (!strncmp(p, "snapshot.name=", 14)) {
			val = p + 14;
			dst = name;
			cap = namelen;
		} else {
			return -EINVAL;
		}
		len -= (size_t)(val - p);
		if (len >= cap)
			return -EINVAL;
		memcpy(dst, val, len);
		dst[len] = 0;
		p += (size_t)(val - p) + len;
		if (*p == ',')
			p++;
	}
	return 0;
}

int qcow2_snapshot_open_ro(struct qcow2 *s, const char *spec, struct bc_err *err)
{
	char id[128], name[256];
	struct snap_ent *t;
	uint64_t *l1;
	bool opts;
	int n, i, ret;

	if (s->writable)
		return bc_err_set(err, -EINVAL, "Can't load a snapshot into a writable image");
	if (parse_spec(spec, id, sizeof(id), name, sizeof(name), &opts) < 0)
		return bc_err_set(err, -EINVAL, "Invalid snapshot option '%s'", spec);
	ret = read_table(s, &t, &n, err);
	if (ret < 0)
		return ret;
	if (!opts)
		i = find_id_or_name(t, n, spec);
	else
		i = find_entry(t, n, *id ? id : NULL, *name ? name : NULL);
	if (i < 0 || (opts && !*id && !*name)) {
		free(t);
		return bc_err_set(err, -ENOENT, "Can't find snapshot");
	}
	ret = snap_l1_valid(s, &t[i], true, err);
	if (ret < 0) {
		free(t);
		return ret;
	}
	ret = read_l1(s, t[i].l1_offset, t[i].l1_size, 0, &l1);
	if (ret < 0) {
		free(t);
		return bc_err_set(err, ret, "Could not read snapshot L1 table: %s", strerror(-ret));
	}
	free(s->l1);
	s->l1 = l1;
	s->l1_size = t[i].l1_size;
	s->l1_alloc = t[i].l1_size;
	s->h.l1_table_offset = t[i].l1_offset;
	/* The virtual size stays the image's (as qemu's load_tmp), even when the snapshot
	 * was taken at another size. */
	free(t);
	return 0;
}

/* ---- VM state: stored after the disk, from the first L2 span past its end (as qemu) ---- */

int qcow2_vmstate_write(struct bc_image *img, uint64_t pos, const void *buf, size_t len)
{
	struct qcow2 *s = img->priv;
	uint64_t span = (uint64_t)s->cluster_size << s->l2_bits, off = vm_state_offset(s) + pos;
	int ret;

	if (!s->writable)
		return -EROFS;
	if (s->data_file != s->file)
		return -ENOTSUP;
	if (!len)
		return 0;
	if (off + len < off || off + len > QCOW2_MAX_VIRTUAL_SIZE)
		return -EFBIG;
	ret = qcow2_grow_l1(s, (off + len + span - 1) / span);
	if (ret < 0)
		return ret;
	return qcow2_write_data(s, off, buf, len);
}

int qcow2_vmstate_read(struct bc_image *img, uint64_t pos, void *buf, size_t len)
{
	struct qcow2 *s = img->priv;
	uint64_t off = vm_state_offset(s) + pos;

	if (off + len < off || off + len > QCOW2_MAX_VIRTUAL_SIZE)
		return -EINVAL;
	if (s->data_file != s->file) {
		memset(buf, 0, len);
		return 0;
	}
	return qcow2_read_data(s, off, buf, len);
}
