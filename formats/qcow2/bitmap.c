/*
 * Persistent dirty bitmaps (qcow2 spec: the bitmaps extension, the bitmap directory, bitmap
 * tables). A read-write open loads every bitmap into memory and marks it in use on disk;
 * writes set bits of the enabled ones; close stores them in new clusters, writes a new
 * directory, then frees the old clusters. A bitmap found in use at open was left by a crash:
 * it is kept as it is on disk (still in use) and can only be removed, as in qemu.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BME_IN_USE 1u
#define BME_AUTO 2u
#define BME_TYPE_DIRTY 1
#define BME_MIN_GRAN_BITS 9
#define BME_MAX_GRAN_BITS 31
#define BME_MAX_NAME 1023
#define BME_MAX_BITMAPS 65535
#define BME_MAX_DIR_SIZE (64u << 20)
#define BME_MAX_BYTES (512ull << 20) /* one bitmap's data, as qemu limits it */
#define BME_ENTRY_OFFSET_MASK 0x00fffffffffffe00ull

struct qcow2_bm {
	char *name;
	uint8_t gbits;
	bool enabled;
	bool inconsistent;
	uint8_t *bits;     /* LSB first, table_size clusters; NULL when inconsistent */
	uint64_t table_offset;
	uint32_t table_size;
};

struct qcow2_bms {
	struct qcow2_bm *b;
	int n;
	uint64_t dir_off, dir_size;
	struct { uint64_t off, n; } *dead; /* clusters to free once the new directory is in */
	size_t ndead;
};

void qcow2_bitmaps_free(struct qcow2_bitmap *b, int n)
{
	for (int i = 0; b && i < n; i++)
		free(b[i].name);
	free(b);
}

int qcow2_bitmap_dir_parse(const uint8_t *dir, uint64_t size, uint32_t nb,
			   struct qcow2_bitmap **out, struct bc_err *err)
{
	struct qcow2_bitmap *b = calloc(nb ? nb : 1, sizeof(*b));
	uint64_t pos = 0;

	*out = NULL;
	if (!b)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	for (uint32_t i = 0; i < nb; i++) {
		if (size < 24 || pos > size - 24)
			goto bad;
		b[i].table_offset = bc_rd_be64(dir + pos);
		b[i].table_size = bc_rd_be32(dir + pos + 8);
		b[i].flags = bc_rd_be32(dir + pos + 12);
		b[i].type = dir[pos + 16];
		b[i].granularity_bits = dir[pos + 17];
		b[i].dir_pos = pos;
		uint32_t name_size = bc_rd_be16(dir + pos + 18);
		b[i].extra_size = bc_rd_be32(dir + pos + 20);
		if ((uint64_t)b[i].extra_size + name_size > size - pos - 24 ||
		    b[i].granularity_bits > 63)
			goto bad;
		b[i].name = malloc(name_size + 1u);
		if (!b[i].name) {
			qcow2_bitmaps_free(b, (int)nb);
			return bc_err_set(err, -ENOMEM, "Out of memory");
		}
		memcpy(b[i].name, dir + pos + 24 + b[i].extra_size, name_size);
		b[i].name[name_size] = 0;
		pos += qcow2_align_up(24 + (uint64_t)b[i].extra_size + name_size, 8);
	}
	*out = b;
	return 0;
bad:
	qcow2_bitmaps_free(b, (int)nb);
	return bc_err_set(err, -EINVAL, "Bitmap directory is corrupted");
}

int qcow2_read_bitmaps(struct qcow2 *s, struct qcow2_bitmap **out, int *n,
		       uint64_t *dir_off, uint64_t *dir_size)
{
	const struct qcow2_ext *e;
	uint64_t cs = s->cluster_size, off, size;
	int64_t flen = bc_file_length(s->file);
	struct bc_err err = { 0 };
	uint32_t nb;
	uint8_t *dir;
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
	if (!nb || nb > BME_MAX_BITMAPS || size > BME_MAX_DIR_SIZE || off % cs || flen < 0 ||
	    off > (uint64_t)flen || size > (uint64_t)flen - off)
		return -EINVAL;
	dir = malloc(size ? size : 1);
	if (!dir)
		return -ENOMEM;
	ret = bc_file_pread(s->file, dir, size, off);
	if (ret == 0)
		ret = qcow2_bitmap_dir_parse(dir, size, nb, out, &err);
	free(dir);
	if (ret < 0)
		return ret;
	*n = (int)nb;
	*dir_off = off;
	*dir_size = size;
	return 0;
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

/* Bitmap table entries (each one cluster of bits) for an image of size bytes. */
static uint64_t table_entries(const struct qcow2 *s, uint64_t size, unsigned gbits)
{
	uint64_t nbits = (size + (1ull << gbits) - 1) >> gbits;
	return qcow2_align_up((nbits + 7) / 8, s->cluster_size) / s->cluster_size;
}

static void bm_free_all(struct qcow2_bms *m)
{
	for (int i = 0; i < m->n; i++) {
		free(m->b[i].name);
		free(m->b[i].bits);
	}
	free(m->b);
	free(m->dead);
	free(m);
}

void qcow2_bitmaps_close(struct qcow2 *s)
{
	if (s->bms)
		bm_free_all(s->bms);
	s->bms = NULL;
}

static int add_dead(struct qcow2_bms *m, uint64_t off, uint64_t n)
{
	void *p = realloc(m->dead, (m->ndead + 1) * sizeof(*m->dead));

	if (!p)
		return -ENOMEM;
	m->dead = p;
	m->dead[m->ndead].off = off;
	m->dead[m->ndead++].n = n;
	return 0;
}

/* Reads one bitmap's table and data into b->bits; queues its clusters for freeing. */
static int load_bits(struct qcow2 *s, struct qcow2_bms *m, struct qcow2_bm *b, bool rw)
{
	uint64_t cs = s->cluster_size, tb = (uint64_t)b->table_size * 8;
	int64_t flen = bc_file_length(s->file);
	uint8_t *t = malloc(tb ? tb : 1);
	int ret = 0;

	b->bits = calloc(b->table_size ? b->table_size : 1, cs);
	if (!t || !b->bits) {
		free(t);
		return -ENOMEM;
	}
	if (b->table_size && (ret = bc_file_pread(s->file, t, tb, b->table_offset)) < 0)
		goto out;
	for (uint32_t j = 0; j < b->table_size; j++) {
		uint64_t e = bc_rd_be64(t + (size_t)j * 8), d = e & BME_ENTRY_OFFSET_MASK;
		if ((e & ~BME_ENTRY_OFFSET_MASK & ~1ull) || (d && (e & 1)) ||
		    (d && (uint64_t)flen < d + cs)) {
			ret = -EINVAL;
			goto out;
		}
		if (d)
			ret = bc_file_pread(s->file, b->bits + (size_t)j * cs, cs, d);
		else if (e & 1)
			memset(b->bits + (size_t)j * cs, 0xff, cs);
		if (ret < 0)
			goto out;
		if (d && rw && (ret = add_dead(m, d, 1)) < 0)
			goto out;
	}
	if (rw && b->table_size)
		ret = add_dead(m, b->table_offset, qcow2_align_up(tb, cs) / cs);
out:
	free(t);
	return ret;
}

/* Marks the stored bitmaps in use in the directory on disk (a crash leaves them so). */
static int mark_in_use(struct qcow2 *s, struct qcow2_bms *m, const struct qcow2_bitmap *d)
{
	for (int i = 0; i < m->n; i++) {
		uint8_t be[4];
		if (m->b[i].inconsistent)
			continue;
		bc_wr_be32(be, d[i].flags | BME_IN_USE);
		int ret = bc_file_pwrite(s->file, be, 4, m->dir_off + d[i].dir_pos + 12);
		if (ret < 0)
			return ret;
	}
	return bc_file_flush(s->file);
}

/* Loads the bitmaps (rw: to keep them up to date and store them at close). */
static int bitmaps_load(struct qcow2 *s, bool rw, struct bc_err *err)
{
	struct qcow2_bitmap *d = NULL;
	struct qcow2_bms *m;
	int n = 0, ret;

	if (s->bms)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	ret = qcow2_read_bitmaps(s, &d, &n, &m->dir_off, &m->dir_size);
	if (ret == 0 && n && !(m->b = calloc((size_t)n, sizeof(*m->b))))
		ret = -ENOMEM;
	for (int i = 0; ret == 0 && i < n; i++) {
		struct qcow2_bm *b = &m->b[i];
		m->n = i + 1;
		b->name = d[i].name;
		d[i].name = NULL;
		b->gbits = d[i].granularity_bits;
		b->enabled = d[i].flags & BME_AUTO;
		b->inconsistent = d[i].flags & BME_IN_USE;
		b->table_offset = d[i].table_offset;
		b->table_size = d[i].table_size;
		if (d[i].type != BME_TYPE_DIRTY || d[i].extra_size ||
		    b->gbits < BME_MIN_GRAN_BITS || b->gbits > BME_MAX_GRAN_BITS ||
		    b->table_offset % s->cluster_size ||
		    b->table_size != table_entries(s, s->h.size, b->gbits) ||
		    (uint64_t)b->table_size * s->cluster_size > BME_MAX_BYTES)
			ret = -EINVAL;
		else if (!b->inconsistent)
			ret = load_bits(s, m, b, rw);
	}
	if (ret == 0 && rw && n) {
		ret = add_dead(m, m->dir_off, qcow2_align_up(m->dir_size, s->cluster_size) /
				       s->cluster_size);
		if (ret == 0)
			ret = mark_in_use(s, m, d);
	}
	qcow2_bitmaps_free(d, n);
	if (ret < 0) {
		bm_free_all(m);
		return bc_err_set(err, ret, "Could not load bitmaps: %s",
				  ret == -EINVAL ? "Bitmap directory is corrupted" : strerror(-ret));
	}
	s->bms = m;
	return 0;
}

int qcow2_bitmaps_open(struct qcow2 *s, struct bc_err *err)
{
	if (!(s->h.autoclear_features & QCOW2_AUTOCLEAR_BITMAPS))
		return 0;
	return bitmaps_load(s, true, err);
}

void qcow2_bitmaps_mark(struct qcow2 *s, uint64_t off, uint64_t len)
{
	struct qcow2_bms *m = s->bms;

	if (!m || !len || !s->writable)
		return;
	for (int i = 0; i < m->n; i++) {
		struct qcow2_bm *b = &m->b[i];
		if (!b->enabled || !b->bits)
			continue;
		uint64_t first = off >> b->gbits, last = (off + len - 1) >> b->gbits;
		uint64_t cap = (uint64_t)b->table_size * s->cluster_size * 8;
		if (last >= cap)
			last = cap ? cap - 1 : 0;
		for (uint64_t k = first; k <= last && k < cap; k++) {
			if (!(k & 7) && k + 7 <= last) {
				uint64_t w = (last + 1 - k) / 8;
				memset(b->bits + k / 8, 0xff, w);
				k += w * 8 - 1;
				continue;
			}
			b->bits[k / 8] |= (uint8_t)(1u << (k & 7));
		}
	}
}

static int inconsistent(const struct qcow2_bm *b, struct bc_err *err)
{
	return bc_err_set(err, -EINVAL, "Bitmap '%s' is inconsistent and cannot be used\n"
			  "Try block-dirty-bitmap-remove to delete this bitmap from disk", b->name);
}

int qcow2_bitmaps_resize(struct qcow2 *s, uint64_t size, struct bc_err *err)
{
	struct qcow2_bms *m = s->bms;
	uint64_t cs = s->cluster_size;

	for (int i = 0; m && i < m->n; i++)
		if (!m->b[i].bits)
			return inconsistent(&m->b[i], err);

	for (int i = 0; m && i < m->n; i++) {
		struct qcow2_bm *b = &m->b[i];
		uint64_t te = table_entries(s, size, b->gbits), nbits = (size + (1ull << b->gbits) - 1)
									>> b->gbits;
		uint8_t *p = realloc(b->bits, te ? te * cs : 1);
		if (!p)
			return bc_err_set(err, -ENOMEM, "Out of memory");
		if (te > b->table_size)
			memset(p + (size_t)b->table_size * cs, 0, (te - b->table_size) * cs);
		for (uint64_t k = nbits; k < te * cs * 8; k++) /* nothing past the end */
			p[k / 8] &= (uint8_t)~(1u << (k & 7));
		b->bits = p;
		b->table_size = (uint32_t)te;
	}
	return 0;
}

/* Allocates and writes one bitmap's data clusters and table. */
static int store_one(struct qcow2 *s, struct qcow2_bm *b)
{
	uint64_t cs = s->cluster_size, tb = (uint64_t)b->table_size * 8, off;
	uint8_t *t = calloc(1, qcow2_align_up(tb ? tb : 1, cs));
	int ret = 0;

	if (!t)
		return -ENOMEM;
	for (uint32_t j = 0; j < b->table_size; j++) {
		const uint8_t *c = b->bits + (size_t)j * cs;
		if (c[0] == 0 && !memcmp(c, c + 1, cs - 1))
			continue;
		if ((ret = qcow2_alloc_clusters(s, 1, &off)) < 0 ||
		    (ret = bc_file_pwrite(s->file, c, cs, off)) < 0)
			goto out;
		bc_wr_be64(t + (size_t)j * 8, off);
	}
	b->table_offset = 0;
	if (tb && ((ret = qcow2_alloc_clusters(s, qcow2_align_up(tb, cs) / cs, &off)) < 0 ||
		   (ret = bc_file_pwrite(s->file, t, qcow2_align_up(tb, cs), off)) < 0))
		goto out;
	if (tb)
		b->table_offset = off;
out:
	free(t);
	return ret;
}

/* Sets the bitmaps extension (nb bitmaps, the directory at off) and the autoclear bit. */
static int set_ext(struct qcow2 *s, uint32_t nb, uint64_t size, uint64_t off)
{
	struct qcow2_ext **pp = &s->h.unknown, *e;

	while (*pp && (*pp)->type != QCOW2_EXT_BITMAPS)
		pp = &(*pp)->next;
	e = *pp;
	if (!nb) {
		if (e) {
			*pp = e->next;
			free(e->data);
			free(e);
		}
		s->h.autoclear_features &= ~QCOW2_AUTOCLEAR_BITMAPS;
		s->h.has_bitmaps_ext = false;
		return 0;
	}
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		*pp = e;
	}
	if (e->len < 24) {
		uint8_t *p = realloc(e->data, 24);
		if (!p)
			return -ENOMEM;
		e->data = p;
		e->len = 24;
	}
	e->type = QCOW2_EXT_BITMAPS;
	memset(e->data, 0, e->len);
	bc_wr_be32(e->data, nb);
	bc_wr_be64(e->data + 8, size);
	bc_wr_be64(e->data + 16, off);
	s->h.autoclear_features |= QCOW2_AUTOCLEAR_BITMAPS;
	s->h.has_bitmaps_ext = true;
	return 0;
}

/* The new directory: every bitmap stored, the inconsistent ones as found. */
static int write_dir(struct qcow2 *s, struct qcow2_bms *m, uint64_t *off, uint64_t *size)
{
	uint64_t len = 0, pos = 0;
	uint8_t *d;
	int ret;

	for (int i = 0; i < m->n; i++)
		len += qcow2_align_up(24 + strlen(m->b[i].name), 8);
	d = calloc(1, qcow2_align_up(len, s->cluster_size));
	if (!d)
		return -ENOMEM;
	for (int i = 0; i < m->n; i++) {
		const struct qcow2_bm *b = &m->b[i];
		size_t nl = strlen(b->name);
		bc_wr_be64(d + pos, b->table_offset);
		bc_wr_be32(d + pos + 8, b->table_size);
		bc_wr_be32(d + pos + 12, (b->inconsistent ? BME_IN_USE : 0) |
						 (b->enabled ? BME_AUTO : 0));
		d[pos + 16] = BME_TYPE_DIRTY;
		d[pos + 17] = b->gbits;
		bc_wr_be16(d + pos + 18, (uint16_t)nl);
		memcpy(d + pos + 24, b->name, nl);
		pos += qcow2_align_up(24 + nl, 8);
	}
	ret = qcow2_alloc_clusters(s, qcow2_align_up(len, s->cluster_size) / s->cluster_size, off);
	if (ret == 0)
		ret = bc_file_pwrite(s->file, d, qcow2_align_up(len, s->cluster_size), *off);
	*size = len;
	free(d);
	return ret;
}

int qcow2_bitmaps_store(struct qcow2 *s)
{
	struct qcow2_bms *m = s->bms;
	uint64_t doff = 0, dsize = 0;
	int ret = 0;

	if (!m || !s->writable || (!m->n && !m->ndead))
		return 0;
	for (int i = 0; ret == 0 && i < m->n; i++)
		if (m->b[i].bits)
			ret = store_one(s, &m->b[i]);
	if (ret == 0 && m->n)
		ret = write_dir(s, m, &doff, &dsize);
	/* the new clusters and their refcounts are on disk before the header points at them */
	if (ret == 0)
		ret = qcow2_flush_metadata(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret == 0)
		ret = set_ext(s, (uint32_t)m->n, dsize, doff);
	if (ret == 0)
		ret = qcow2_write_header(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	for (size_t i = 0; ret == 0 && i < m->ndead; i++)
		ret = qcow2_free_clusters(s, m->dead[i].off, m->dead[i].n);
	m->ndead = 0;
	return ret;
}

static int find(const struct qcow2_bms *m, const char *name)
{
	for (int i = 0; m && i < m->n; i++)
		if (!strcmp(m->b[i].name, name))
			return i;
	return -1;
}

static int bm_list(struct qcow2 *s, struct bc_bitmap_req *req, struct bc_err *err)
{
	struct qcow2_bms *m = s->bms;

	req->can_store = s->h.version >= 3;
	if (!m || !m->n)
		return 0;
	req->list = calloc((size_t)m->n, sizeof(*req->list));
	if (!req->list)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	for (int i = 0; i < m->n; i++) {
		req->list[i].name = strdup(m->b[i].name);
		req->list[i].granularity = 1ull << m->b[i].gbits;
		req->list[i].enabled = m->b[i].enabled;
		req->list[i].in_use = m->b[i].inconsistent;
		req->n = i + 1;
		if (!req->list[i].name)
			return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	return 0;
}

static int bm_add(struct qcow2 *s, struct bc_bitmap_req *req, struct bc_err *err)
{
	struct qcow2_bms *m = s->bms;
	uint64_t g = req->granularity;
	uint64_t dflt = s->cluster_size < 4096 ? 4096 : s->cluster_size > 65536 ? 65536
										     : s->cluster_size;
	const char *name = req->name;

	if (!g)
		g = dflt;
	if (!*name)
		return bc_err_set(err, -EINVAL, "Bitmap name cannot be empty");
	if (find(m, name) >= 0)
		return bc_err_set(err, -EEXIST, "Bitmap already exists: %s", name);
	if (g < 512 || (g & (g - 1)) || g > (1ull << BME_MAX_GRAN_BITS))
		return bc_err_set(err, -EINVAL, "Granularity must be power of 2 and at least 512");
	if (s->h.version < 3)
		return bc_err_set(err, -ENOTSUP, "Can't make bitmap '%s' persistent in '%s': Cannot "
				  "store dirty bitmaps in qcow2 v2 files", name, s->img->filename);
	if (strlen(name) > BME_MAX_NAME) /* the front end words it: the name is long */
		return bc_err_set(err, -ENAMETOOLONG, "Name length exceeds maximum (%u characters)",
				  BME_MAX_NAME);
	if (m->n >= BME_MAX_BITMAPS)
		return bc_err_set(err, -EINVAL, "Can't make bitmap '%s' persistent in '%s': Too many "
				  "persistent bitmaps", name, s->img->filename);
	unsigned gb = (unsigned)__builtin_ctzll(g);
	uint64_t te = table_entries(s, s->h.size, gb);
	if (te * s->cluster_size > BME_MAX_BYTES)
		return bc_err_set(err, -EINVAL, "Can't make bitmap '%s' persistent in '%s': Too "
				  "large bitmap", name, s->img->filename);
	struct qcow2_bm *nb = realloc(m->b, (size_t)(m->n + 1) * sizeof(*nb));
	if (!nb)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	m->b = nb;
	nb = &m->b[m->n];
	memset(nb, 0, sizeof(*nb));
	nb->name = strdup(name);
	nb->bits = calloc(te ? te : 1, s->cluster_size);
	if (!nb->name || !nb->bits) {
		free(nb->name);
		free(nb->bits);
		return bc_err_set(err, -ENOMEM, "Out of memory");
	}
	nb->gbits = (uint8_t)gb;
	nb->table_size = (uint32_t)te;
	nb->enabled = !req->disabled;
	m->n++;
	return 0;
}

static int bm_remove(struct qcow2 *s, int i)
{
	struct qcow2_bms *m = s->bms;
	struct qcow2_bm *b = &m->b[i];
	int ret = 0;

	if (b->inconsistent && b->table_size) {
		/* its clusters are still the ones on disk: read the table to free them */
		uint64_t cs = s->cluster_size, tb = (uint64_t)b->table_size * 8;
		uint8_t *t = malloc(tb);
		if (!t)
			return -ENOMEM;
		ret = bc_file_pread(s->file, t, tb, b->table_offset);
		for (uint32_t j = 0; ret == 0 && j < b->table_size; j++) {
			uint64_t d = bc_rd_be64(t + (size_t)j * 8) & BME_ENTRY_OFFSET_MASK;
			if (d)
				ret = add_dead(m, d, 1);
		}
		if (ret == 0)
			ret = add_dead(m, b->table_offset, qcow2_align_up(tb, cs) / cs);
		free(t);
		if (ret < 0)
			return ret;
	}
	free(b->name);
	free(b->bits);
	memmove(b, b + 1, (size_t)(m->n - i - 1) * sizeof(*b));
	m->n--;
	return 0;
}

static int bm_read(struct qcow2 *s, int i, struct bc_bitmap_req *req, struct bc_err *err)
{
	const struct qcow2_bm *b = &s->bms->b[i];
	size_t len = (size_t)b->table_size * s->cluster_size;

	if (!b->bits)
		return inconsistent(b, err);
	req->bits = malloc(len ? len : 1);
	if (!req->bits)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	memcpy(req->bits, b->bits, len);
	req->nbits = (s->h.size + (1ull << b->gbits) - 1) >> b->gbits;
	req->granularity = 1ull << b->gbits;
	return 0;
}

/* ORs a source bitmap of another granularity into b: every dirty source range dirties the
 * destination bits it covers. */
static void bm_merge(struct qcow2 *s, struct qcow2_bm *b, const struct bc_bitmap_req *req)
{
	uint64_t g = req->granularity, cap = (uint64_t)b->table_size * s->cluster_size * 8;

	for (uint64_t k = 0; k < req->nbits; k++) {
		if (!(req->bits[k / 8] & (1u << (k & 7))))
			continue;
		uint64_t first = (k * g) >> b->gbits, last = ((k + 1) * g - 1) >> b->gbits;
		for (uint64_t j = first; j <= last && j < cap; j++)
			b->bits[j / 8] |= (uint8_t)(1u << (j & 7));
	}
}

int qcow2_bitmap(struct bc_image *img, struct bc_bitmap_req *req, struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	int ret = bitmaps_load(s, false, err), i;

	if (ret < 0)
		return ret;
	if (req->op == BC_BITMAP_LIST)
		return bm_list(s, req, err);
	if (req->op == BC_BITMAP_ADD)
		return bm_add(s, req, err);
	i = find(s->bms, req->name);
	if (i < 0)
		return bc_err_set(err, -ENOENT, "Dirty bitmap '%s' not found", req->name);
	struct qcow2_bm *b = &s->bms->b[i];
	if (req->op == BC_BITMAP_READ)
		return bm_read(s, i, req, err);
	if (req->op == BC_BITMAP_REMOVE)
		return (ret = bm_remove(s, i)) < 0 ? bc_err_set(err, ret, "%s", strerror(-ret)) : 0;
	if (!b->bits)
		return inconsistent(b, err);
	switch (req->op) {
	case BC_BITMAP_CLEAR:
		memset(b->bits, 0, (size_t)b->table_size * s->cluster_size);
		break;
	case BC_BITMAP_ENABLE: b->enabled = true; break;
	case BC_BITMAP_DISABLE: b->enabled = false; break;
	case BC_BITMAP_MERGE: bm_merge(s, b, req); break;
	default: break;
	}
	return 0;
}

int qcow2_measure_bitmaps(struct bc_image *src, uint64_t cs, struct bc_measure *out)
{
	struct bc_bitmap_req req = { .op = BC_BITMAP_LIST };
	struct bc_err err = { 0 };
	uint64_t dir = 0;

	out->has_bitmaps = false;
	out->bitmaps = 0;
	if (!src || bc_bitmap(src, &req, &err) < 0 || !req.can_store)
		return 0;
	/* every bitmap counted fully allocated, with its table and directory entry */
	for (int i = 0; i < req.n; i++) {
		uint64_t g = req.list[i].granularity, bits = (bc_length(src) + g - 1) / g;
		uint64_t clusters = ((bits + 7) / 8 + cs - 1) / cs;
		out->bitmaps += clusters * cs + qcow2_align_up(clusters * 8, cs);
		dir += qcow2_align_up(24 + strlen(req.list[i].name), 8);
	}
	out->bitmaps += qcow2_align_up(dir, cs);
	out->has_bitmaps = true;
	bc_bitmap_list_free(req.list, req.n);
	return 0;
}
