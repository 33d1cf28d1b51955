/*
 * Persistent dirty bitmaps: read only, for info (the list qemu prints) and check (their
 * clusters are referenced). We do not update bitmaps on writes, so a read-write open clears
 * the autoclear bit and the bitmaps then count as inconsistent, as the spec asks.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BME_IN_USE 1u
#define BME_AUTO 2u

void qcow2_bitmaps_free(struct qcow2_bitmap *b, int n)
{
	for (int i = 0; i < n; i++)
		free(b[i].name);
	free(b);
}

int qcow2_read_bitmaps(struct qcow2 *s, struct qcow2_bitmap **out, int *n,
		       uint64_t *dir_off, uint64_t *dir_size)
{
	const struct qcow2_ext *e;
	uint64_t cs = s->cluster_size, off, size;
	int64_t flen = bc_file_length(s->file);
	struct qcow2_bitmap *b = NULL;
	uint32_t nb;
	uint8_t *dir = NULL;
	size_t pos = 0;
	int ret;

	*out = NULL;
	*n = 0;
	*dir_off = *dir_size = 0;
	if (!(s->h.autoclear_features & QCOW2_AUTOCLEAR_BITMAPS))
		return 0;
	for (e = s->h.unknown; e && e->type != QCOW2_EXT_BITMAPS; e = e->next)
		;
	if (!e || e->len < 24)
		return 0;
	nb = bc_rd_be32(e->data);
	size = bc_rd_be64(e->data + 8);
	off = bc_rd_be64(e->data + 16);
	if (!nb || nb > 65535 || size > (64u << 20) || off % cs || flen < 0 ||
	    off > (uint64_t)flen || size > (uint64_t)flen - off)
		return -EINVAL;
	dir = malloc(size ? size : 1);
	b = calloc(nb, sizeof(*b));
	if (!dir || !b) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = bc_file_pread(s->file, dir, size, off);
	if (ret < 0)
		goto fail;
	for (uint32_t i = 0; i < nb; i++) {
		uint32_t extra, name_size;
		if (pos + 24 > size) {
			ret = -EINVAL;
			goto fail;
		}
		b[i].table_offset = bc_rd_be64(dir + pos);
		b[i].table_size = bc_rd_be32(dir + pos + 8);
		b[i].flags = bc_rd_be32(dir + pos + 12);
		b[i].granularity_bits = dir[pos + 17];
		name_size = bc_rd_be16(dir + pos + 18);
		extra = bc_rd_be32(dir + pos + 20);
		if (extra > size || name_size > size || pos + 24 + extra + name_size > size ||
		    b[i].granularity_bits > 63) {
			ret = -EINVAL;
			goto fail;
		}
		b[i].name = malloc(name_size + 1u);
		if (!b[i].name) {
			ret = -ENOMEM;
			goto fail;
		}
		memcpy(b[i].name, dir + pos + 24 + extra, name_size);
		b[i].name[name_size] = 0;
		pos += qcow2_align_up(24 + (uint64_t)extra + name_size, 8);
	}
	free(dir);
	*out = b;
	*n = (int)nb;
	*dir_off = off;
	*dir_size = size;
	return 0;
fail:
	free(dir);
	qcow2_bitmaps_free(b, b ? (int)nb : 0);
	return ret;
}

void qcow2_bitmaps_info(struct qcow2 *s, struct bc_node *parent)
{
	struct qcow2_bitmap *b;
	uint64_t doff, dsize;
	int n;

	if (qcow2_read_bitmaps(s, &b, &n, &doff, &dsize) < 0 || !n)
		return;
	struct bc_node *list = bc_node_add(parent, BC_NODE_LIST, "bitmaps");
	for (int i = 0; list && i < n; i++) {
		struct bc_node *o = bc_node_add(list, BC_NODE_OBJECT, NULL);
		if (!o)
			break;
		struct bc_node *fl = bc_node_add(o, BC_NODE_LIST, "flags");
		if (fl && (b[i].flags & BME_IN_USE))
			bc_node_add_str(fl, NULL, "in-use");
		if (fl && (b[i].flags & BME_AUTO))
			bc_node_add_str(fl, NULL, "auto");
		bc_node_add_str(o, "name", b[i].name);
		bc_node_add_uint(o, "granularity", 1ull << b[i].granularity_bits);
	}
	qcow2_bitmaps_free(b, n);
}
