/*
 * Metadata overlap checks, as qemu's: before a write, the target range is compared with the
 * metadata structures the `overlap-check` open option selects (none, constant, cached, all;
 * or one on/off per structure). A write that would land on metadata is refused and the
 * image marked corrupt by the caller.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	unsigned bit;
	const char *opt;  /* overlap-check.<opt> */
	const char *name; /* in "overlaps with <name>" */
} kinds[] = {
	{ QCOW2_OL_MAIN_HEADER, "main-header", "qcow2_header" },
	{ QCOW2_OL_ACTIVE_L1, "active-l1", "active L1 table" },
	{ QCOW2_OL_ACTIVE_L2, "active-l2", "active L2 table" },
	{ QCOW2_OL_REFCOUNT_TABLE, "refcount-table", "refcount table" },
	{ QCOW2_OL_REFCOUNT_BLOCK, "refcount-block", "refcount block" },
	{ QCOW2_OL_SNAPSHOT_TABLE, "snapshot-table", "snapshot table" },
	{ QCOW2_OL_INACTIVE_L1, "inactive-l1", "inactive L1 table" },
	{ QCOW2_OL_INACTIVE_L2, "inactive-l2", "inactive L2 table" },
	{ QCOW2_OL_BITMAP_DIR, "bitmap-directory", "bitmap directory" },
};

int qcow2_overlap_opts(struct qcow2 *s, const struct bc_opts *o, struct bc_err *err)
{
	const char *tmpl = o ? bc_opts_get(o, "overlap-check") : NULL;
	char key[64];

	if (!tmpl && o)
		tmpl = bc_opts_get(o, "overlap-check.template");
	s->ol_mask = QCOW2_OL_CACHED;
	if (tmpl && !strcmp(tmpl, "none"))
		s->ol_mask = 0;
	else if (tmpl && !strcmp(tmpl, "constant"))
		s->ol_mask = QCOW2_OL_CONSTANT;
	else if (tmpl && !strcmp(tmpl, "all"))
		s->ol_mask = QCOW2_OL_ALL;
	else if (tmpl && strcmp(tmpl, "cached"))
		return bc_err_set(err, -EINVAL, "Unsupported value '%s' for qcow2 option "
				  "'overlap-check'. Allowed are any of the following: none, constant, "
				  "cached, all", tmpl);
	for (size_t i = 0; o && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		bool on;
		int ret;
		snprintf(key, sizeof(key), "overlap-check.%s", kinds[i].opt);
		ret = bc_opts_get_bool(o, key, (s->ol_mask & kinds[i].bit) != 0, &on, err);
		if (ret == -EINVAL)
			return ret;
		s->ol_mask = on ? s->ol_mask | kinds[i].bit : s->ol_mask & ~kinds[i].bit;
	}
	if (err)
		err->code = 0;
	return 0;
}

const char *qcow2_overlap_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].bit == bit)
			return kinds[i].name;
	return "metadata";
}

static bool hit(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return blen && alen && a < b + blen && b < a + alen;
}

/* The snapshots' L1 tables (offset, bytes), re-read when the table has moved. */
static int snap_l1s(struct qcow2 *s)
{
	struct qcow2_snap *sn;
	int n;

	if (s->ol_snaps_valid && s->ol_snaps_key == s->h.snapshots_offset &&
	    s->ol_snaps_nb == s->h.nb_snapshots)
		return 0;
	free(s->ol_snaps);
	s->ol_snaps = NULL;
	s->ol_nsnaps = 0;
	s->ol_snaps_valid = false;
	if (!s->h.nb_snapshots)
		goto done;
	if (s->up->read_snapshots(s, &sn, &n, NULL) < 0) /* snapshot.c, above */
		return -EIO; /* a damaged table: what it names is unknown, check nothing */
	s->ol_snaps = calloc((size_t)n, sizeof(*s->ol_snaps));
	if (!s->ol_snaps) {
		free(sn);
		return -ENOMEM;
	}
	int k = 0;
	for (int i = 0; i < n; i++) {
		/* an entry no snapshot operation accepts (too large, unaligned) names no table
		 * (qemu 7.2 counts 32 MiB and more and then refuses every metadata write) */
		if (sn[i].l1_size > QCOW2_MAX_L1_BYTES / 8 || sn[i].l1_offset % s->cluster_size)
			continue;
		s->ol_snaps[k].off = sn[i].l1_offset;
		s->ol_snaps[k++].len = (uint64_t)sn[i].l1_size * 8;
	}
	s->ol_nsnaps = k;
	free(sn);
done:
	s->ol_snaps_key = s->h.snapshots_offset;
	s->ol_snaps_nb = s->h.nb_snapshots;
	s->ol_snaps_valid = true;
	return 0;
}

static bool hits_inactive_l2(struct qcow2 *s, uint64_t off, uint64_t len)
{
	uint64_t cs = s->cluster_size;
	bool found = false;

	for (int i = 0; i < s->ol_nsnaps && !found; i++) {
		uint64_t bytes = s->ol_snaps[i].len;
		uint8_t *t = bytes <= QCOW2_MAX_L1_BYTES ? malloc(bytes ? bytes : 1) : NULL;
		if (t && bc_file_pread(s->file, t, bytes, s->ol_snaps[i].off) == 0)
			for (uint64_t j = 0; j < bytes / 8 && !found; j++)
				found = hit(off, len, bc_rd_be64(t + j * 8) & QCOW2_L1_OFFSET_MASK, cs);
		free(t);
	}
	return found;
}

/* The lowest-numbered structure hit (qemu names the first bit of its mask), 0 for none. */
unsigned qcow2_overlap(struct qcow2 *s, unsigned ign, uint64_t off, uint64_t len)
{
	unsigned m = s->ol_mask & ~ign;
	uint64_t cs = s->cluster_size;
	bool snaps;

	if (!m || !len)
		return 0;
	/* as qemu: the range is widened to whole clusters first */
	len = qcow2_align_up(off % cs + len, cs);
	off -= off % cs;
	if ((m & QCOW2_OL_MAIN_HEADER) && off < cs)
		return QCOW2_OL_MAIN_HEADER;
	if ((m & QCOW2_OL_ACTIVE_L1) &&
	    hit(off, len, s->h.l1_table_offset, (uint64_t)s->l1_size * 8))
		return QCOW2_OL_ACTIVE_L1;
	if (m & QCOW2_OL_ACTIVE_L2)
		for (uint32_t i = 0; i < s->l1_size; i++)
			if (hit(off, len, s->l1[i] & QCOW2_L1_OFFSET_MASK, cs))
				return QCOW2_OL_ACTIVE_L2;
	if ((m & QCOW2_OL_REFCOUNT_TABLE) &&
	    hit(off, len, s->h.refcount_table_offset,
		(uint64_t)s->h.refcount_table_clusters * cs))   /* not the table being grown */
		return QCOW2_OL_REFCOUNT_TABLE;
	if (m & QCOW2_OL_REFCOUNT_BLOCK)
		for (uint64_t i = 0; i < s->reftable_size; i++)
			if (hit(off, len, s->reftable[i] & QCOW2_REFT_OFFSET_MASK, cs))
				return QCOW2_OL_REFCOUNT_BLOCK;
	snaps = (m & (QCOW2_OL_SNAPSHOT_TABLE | QCOW2_OL_INACTIVE_L1 | QCOW2_OL_INACTIVE_L2)) &&
		s->h.nb_snapshots && snap_l1s(s) == 0;
	if (snaps && (m & QCOW2_OL_SNAPSHOT_TABLE) && s->snapshots_end > s->h.snapshots_offset &&
	    hit(off, len, s->h.snapshots_offset, s->snapshots_end - s->h.snapshots_offset))
		return QCOW2_OL_SNAPSHOT_TABLE;
	for (int i = 0; snaps && (m & QCOW2_OL_INACTIVE_L1) && i < s->ol_nsnaps; i++)
		if (hit(off, len, s->ol_snaps[i].off, s->ol_snaps[i].len))
			return QCOW2_OL_INACTIVE_L1;
	if (snaps && (m & QCOW2_OL_INACTIVE_L2) && hits_inactive_l2(s, off, len))
		return QCOW2_OL_INACTIVE_L2;
	return 0;
}

int qcow2_overlap_refuse(struct qcow2 *s, unsigned ign, uint64_t off, uint64_t len)
{
	unsigned k = qcow2_overlap(s, ign, off, len);

	if (!k)
		return 0;
	return qcow2_mark_corrupt(s, "Preventing invalid write on metadata (overlaps with %s)",
				  qcow2_overlap_name(k));
}

void qcow2_overlap_free(struct qcow2 *s)
{
	free(s->ol_snaps);
	s->ol_snaps = NULL;
	s->ol_nsnaps = 0;
	s->ol_snaps_valid = false;
}

const char *qcow2_overlaps_metadata(struct qcow2 *s, uint64_t off, uint64_t len)
{
	unsigned k = qcow2_overlap(s, 0, off, len);

	return k ? qcow2_overlap_name(k) : NULL;
}
