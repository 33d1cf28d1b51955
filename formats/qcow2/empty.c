/*
 * make_empty (qemu-img commit): every L1 entry cleared, so the image reads through to its
 * backing file again, then every cluster the old tables referenced released.
 * Crash safety: the cleared L1 reaches the disk (flushed) before any refcount drops, so a
 * crash in between leaks clusters (check -r leaks recovers them) and never leaves an L2 entry
 * pointing at a freed cluster. Snapshot-shared clusters only lose the active table's reference.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct free_list {
	uint64_t *off, *n;
	size_t len, cap;
};

static int free_list_add(struct free_list *fl, uint64_t off, uint64_t n)
{
	if (fl->len == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 256;
		uint64_t *o = realloc(fl->off, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		fl->off = o;
		uint64_t *c = realloc(fl->n, cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		fl->n = c;
		fl->cap = cap;
	}
	fl->off[fl->len] = off;
	fl->n[fl->len++] = n;
	return 0;
}

/* Collects the clusters one L2 table references (data in the qcow2 file only) and the table. */
static int collect_l2(struct qcow2 *s, uint64_t l2off, struct free_list *fl)
{
	uint64_t cs = s->cluster_size, entries = cs / s->l2_entry_size;
	uint8_t *l2;
	int ret = qcow2_cache_get(s, &s->l2_cache, l2off, true, &l2);

	for (uint64_t j = 0; ret == 0 && j < entries; j++) {
		uint64_t e = bc_rd_be64(l2 + j * s->l2_entry_size), host, len;
		if (e & QCOW2_OFLAG_COMPRESSED) {
			qcow2_compressed_range(s, e, &host, &len);
			ret = free_list_add(fl, host & ~(cs - 1), (host + len - 1) / cs - host / cs + 1);
		} else if ((e & QCOW2_L2_OFFSET_MASK) && s->data_file == s->file) {
			ret = free_list_add(fl, e & QCOW2_L2_OFFSET_MASK, 1);
		}
	}
	if (ret == 0)
		ret = free_list_add(fl, l2off, 1);
	qcow2_cache_discard(&s->l2_cache, l2off);
	return ret;
}

int qcow2_make_empty(struct bc_image *img, struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	struct free_list fl = { 0 };
	uint64_t *old = malloc((size_t)s->l1_size * 8 + 8);
	int ret;

	if (!old)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	memcpy(old, s->l1, (size_t)s->l1_size * 8);
	bc_file_event(s->file, BC_EV_EMPTY_IMAGE_PREPARE);
	ret = s->corrupt ? -EIO : qcow2_flush_metadata(s);

	for (uint32_t i = 0; ret == 0 && i < s->l1_size; i++) {
		uint64_t l2off = s->l1[i] & QCOW2_L1_OFFSET_MASK;
		if (!l2off)
			continue;
		ret = collect_l2(s, l2off, &fl);
		s->l1[i] = 0;
		s->l1_dirty = true;
	}
	if (ret == 0 && s->l1_dirty)
		ret = qcow2_write_l1(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0) {
		/* the table on disk still maps everything: keep it so (else close would write
		 * the emptied table and leak every cluster it mapped) */
		memcpy(s->l1, old, (size_t)s->l1_size * 8);
		s->l1_dirty = false;
	}
	free(old);
	for (size_t k = 0; ret == 0 && k < fl.len; k++)
		ret = qcow2_free_clusters(s, fl.off[k], fl.n[k]);
	if (ret == 0)
		ret = qcow2_flush_metadata(s);
	free(fl.off);
	free(fl.n);
	if (ret < 0)
		return bc_err_set(err, ret, "Failed to empty %s: %s",
				  img->display_name ? img->display_name : img->filename,
				  strerror(-ret));
	return 0;
}
