/*
 * qcow2 amend (qemu-img amend): compat up/downgrade, lazy refcounts, refcount width, size,
 * the data-file options, and qemu 7.2's refusals (backing file changes, encryption).
 *
 * The steps run in qemu's order, and like qemu an amendment is not atomic: a step that fails
 * leaves the earlier ones done. Each step is crash-safe on its own:
 *  - upgrade: the snapshot table is rewritten (v3 needs 16 bytes of extra data per entry)
 *    through the snapshot code's table switch, then one header write makes the image v3;
 *  - downgrade: zero clusters are expanded first (zeroes written and flushed before the L2
 *    entries that point to them, invariant 7), all metadata flushed, then one header write
 *    makes the image v2; every state in between is a valid v3 image;
 *  - lazy_refcounts=off writes back every refcount and flushes before the header clears the
 *    dirty bit and the feature (invariant 6);
 *  - refcount_bits: new refcount blocks and table are written and flushed before one header
 *    write switches to them (invariant 4), see amend_change_refcount_order.
 */
#include "qcow2.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* qemu's amend list: the common options, then the LUKS keyslot options (in this order qemu
 * applies them; -o help sorts them by name). */
const struct bc_opt_desc qcow2_amend_opts[] = {
	{ "size", BC_OPT_SIZE, "Virtual disk size", NULL },
	{ "compat", BC_OPT_STRING, "Compatibility level (v2 [0.10] or v3 [1.1])", NULL },
	{ "backing_file", BC_OPT_STRING, "File name of a base image", NULL },
	{ "backing_fmt", BC_OPT_STRING, "Image format of the base image", NULL },
	{ "data_file", BC_OPT_STRING, "File name of an external data file", NULL },
	{ "data_file_raw", BC_OPT_BOOL, "The external data file must stay valid as a raw image",
	  NULL },
	{ "lazy_refcounts", BC_OPT_BOOL, "Postpone refcount updates", NULL },
	{ "refcount_bits", BC_OPT_NUMBER, "Width of a reference count entry in bits", NULL },
	{ "encrypt.state", BC_OPT_STRING,
	  "Select new state of affected keyslots (active/inactive)", NULL },
	{ "encrypt.keyslot", BC_OPT_NUMBER, "Select a single keyslot to modify explicitly", NULL },
	{ "encrypt.old-secret", BC_OPT_STRING, "Select all keyslots that match this password",
	  NULL },
	{ "encrypt.new-secret", BC_OPT_STRING,
	  "New secret to set in the matching keyslots. Empty string to erase", NULL },
	{ "encrypt.iter-time", BC_OPT_NUMBER, "Time to spend in PBKDF in milliseconds", NULL },
	{ NULL, 0, NULL, NULL },
};

/* What the options ask for; fields keep the image's current values when not given. */
struct amend_req {
	uint32_t version;
	uint64_t size;           /* 0: unchanged (qemu treats size=0 so) */
	const char *backing_file, *backing_fmt, *data_file;
	bool backing_given;
	bool lazy, data_raw;
	uint64_t refcount_bits;
	bool encrypt;            /* encrypt.* keyslot options given */
};

/* qemu's Qcow2AmendHelperCBInfo: folds the progress of several operations into one bar. */
enum amend_op { OP_NONE, OP_UPGRADE, OP_REFCOUNT, OP_DOWNGRADE };

struct amend_progress {
	const struct bc_amend_hooks *hooks;
	enum amend_op cur, last;
	int total_ops, ops_done;
	int64_t offset_done, last_work;
};

static void amend_status(struct amend_progress *p, int64_t off, int64_t work)
{
	if (p->cur != p->last) {
		if (p->last != OP_NONE) {
			p->offset_done += p->last_work;
			p->ops_done++;
		}
		p->last = p->cur;
	}
	p->last_work = work;
	int64_t cur_work = p->offset_done + work;
	int64_t projected = cur_work * (p->total_ops - p->ops_done - 1) / (p->ops_done + 1);
	if (p->hooks && p->hooks->progress)
		p->hooks->progress(p->hooks->opaque, p->offset_done + off, cur_work + projected);
}

static bool str_differs(const char *a, const char *b)
{
	if (!a || !b)
		return a != b;
	return strcmp(a, b) != 0;
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

/* One option's value, checked as qemu checks it while reading the list. */
static int amend_parse_one(struct qcow2 *s, struct bc_opts *opts, const char *key,
			   struct amend_req *r, struct bc_err *err)
{
	const char *v = bc_opts_get(opts, key);

	if (!strcmp(key, "compat")) {
		if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
			r->version = 2;
		else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
			r->version = 3;
		else
			return bc_err_set(err, -EINVAL, "Unknown compatibility level %s", v);
	} else if (!strcmp(key, "size")) {
		return bc_opts_get_size(opts, key, 0, &r->size, err);
	} else if (!strcmp(key, "backing_file")) {
		r->backing_file = v;
		r->backing_given = true;
	} else if (!strcmp(key, "backing_fmt")) {
		r->backing_fmt = v;
		r->backing_given = true;
	} else if (!strcmp(key, "data_file")) {
		if (s->data_file == s->file)
			return bc_err_set(err, -EINVAL, "data-file can only be set for images that use "
							"an external data file");
		r->data_file = v;
	} else if (!strcmp(key, "data_file_raw")) {
		bc_opts_get_bool(opts, key, r->data_raw, &r->data_raw, err);
		if (r->data_raw && !s->data_raw)
			return bc_err_set(err, -EINVAL, "data-file-raw cannot be set on existing images");
	} else if (!strcmp(key, "lazy_refcounts")) {
		bc_opts_get_bool(opts, key, r->lazy, &r->lazy, err);
	} else if (!strcmp(key, "refcount_bits")) {
		bc_opts_get_u64(opts, key, r->refcount_bits, &r->refcount_bits, err);
		if (!is_pow2(r->refcount_bits) || r->refcount_bits > 64)
			return bc_err_set(err, -EINVAL, "Refcount width must be a power of two and may "
							"not exceed 64 bits");
	} else if (!strncmp(key, "encrypt.", 8)) {
		if (s->h.crypt_method != 2)
			return bc_err_set(err, -EINVAL, "Can't amend encryption options - "
							"encryption not present");
		r->encrypt = true;   /* LUKS keyslots: crypt.c */
	}
	return 0;
}

static int amend_parse(struct qcow2 *s, struct bc_opts *opts, struct amend_req *r,
		       struct bc_err *err)
{
	memset(r, 0, sizeof(*r));
	r->version = s->h.version;
	r->lazy = s->lazy;
	r->data_raw = s->data_raw;
	r->refcount_bits = 1ull << s->refcount_order;
	/* In the table's order, as qemu walks its option list. */
	for (const struct bc_opt_desc *d = qcow2_amend_opts; d->name; d++) {
		if (!bc_opts_get(opts, d->name))
			continue;
		int ret = amend_parse_one(s, opts, d->name, r, err);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int header_update(struct qcow2 *s, struct bc_err *err)
{
	int ret = qcow2_write_header(s);

	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		return bc_err_set(err, ret, "Failed to update the image header: %s", strerror(-ret));
	return 0;
}

/* ---- compat=1.1 ---- */

static int amend_upgrade(struct qcow2 *s, struct amend_progress *p, struct bc_err *err)
{
	int ret;

	amend_status(p, 0, 2);
	ret = qcow2_snapshot_upgrade_table(s);
	if (ret < 0)
		return bc_err_set(err, ret, "Failed to update the snapshot table: %s",
				  strerror(-ret));
	amend_status(p, 1, 2);
	s->h.version = 3;
	s->h.header_length = QCOW2_HEADER_LEN_CT;
	ret = header_update(s, err);
	if (ret < 0) {
		s->h.version = 2;
		return ret;
	}
	amend_status(p, 2, 2);
	return 0;
}

/* ---- lazy refcounts ---- */

/* Every refcount on disk before the header drops the dirty bit (invariant 6). */
static int amend_mark_clean(struct qcow2 *s, struct bc_err *err)
{
	int ret = qcow2_flush_metadata(s);

	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret < 0)
		return bc_err_set(err, ret, "Failed to make the image clean: %s", strerror(-ret));
	if (!(s->h.incompatible_features & QCOW2_INCOMPAT_DIRTY))
		return 0;
	s->h.incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
	s->dirty_set = false;
	ret = header_update(s, err);
	if (ret < 0)
		bc_err_set(err, ret, "Failed to make the image clean: %s", strerror(-ret));
	return ret;
}

static int amend_lazy(struct qcow2 *s, const struct amend_req *r, struct bc_err *err)
{
	int ret;

	if (r->lazy == s->lazy)
		return 0;
	if (r->lazy) {
		if (r->version < 3)
			return bc_err_set(err, -EINVAL, "Lazy refcounts only supported with "
					  "compatibility level 1.1 and above (use compat=1.1 or greater)");
		s->h.compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
		ret = header_update(s, err);
		if (ret < 0) {
			s->h.compatible_features &= ~QCOW2_COMPAT_LAZY_REFCOUNTS;
			return ret;
		}
		s->lazy = true;
		return 0;
	}
	ret = amend_mark_clean(s, err);
	if (ret < 0)
		return ret;
	s->lazy = false;
	s->h.compatible_features &= ~QCOW2_COMPAT_LAZY_REFCOUNTS;
	ret = header_update(s, err);
	if (ret < 0)
		s->h.compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
	return ret;
}

/* ---- compat=0.10: zero clusters become data or holes ---- */

/* Pass 1 over one L2 table: the host cluster each zero entry will point to, its zeroes
 * written (0 in hosts[j]: the entry becomes unallocated, no backing file to show through). */
static int expand_prepare(struct qcow2 *s, uint64_t l2off, uint64_t l2rc, bool backed,
			  uint64_t guest0, uint64_t *hosts, bool *any)
{
	uint32_t n = 1u << s->l2_bits;
	uint8_t *l2;
	int ret;

	for (uint32_t j = 0; j < n; j++) {
		ret = qcow2_cache_get(s, &s->l2_cache, l2off, true, &l2);
		if (ret < 0)
			return ret;
		uint64_t e = bc_rd_be64(l2 + (size_t)j * 8), host = e & QCOW2_L2_OFFSET_MASK;
		hosts[j] = UINT64_MAX;
		if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFLAG_ZERO))
			continue;
		*any = true;
		if (!host && !backed) {
			hosts[j] = 0;
			continue;
		}
		if (!host) {
			ret = qcow2_alloc_clusters(s, 1, &host);
			/* a shared L2 table: every sharer references the new cluster */
			if (ret == 0 && l2rc > 1)
				ret = qcow2_set_refcount(s, host >> s->cluster_bits, l2rc);
			if (ret < 0)
				return ret;
		}
		if (host & (s->cluster_size - 1) || qcow2_overlaps_metadata(s, host, s->cluster_size))
			return qcow2_mark_corrupt(s, "Cannot expand zero cluster at %#" PRIx64,
						  host);
		/* real zeroes, as qemu's write of zeroes without unmap leaves data there;
		 * encrypted like any data cluster (qemu 7.2 writes them plain: they read as noise) */
		memset(s->buf, 0, s->cluster_size);
		ret = qcow2_data_pwrite(s, s->buf, s->cluster_size, host,
					guest0 + ((uint64_t)j << s->cluster_bits));
		if (ret < 0)
			return ret;
		hosts[j] = host;
	}
	return 0;
}

/* Pass 2: the entries, once the zeroes are on disk (invariant 7). */
static int expand_commit(struct qcow2 *s, uint64_t l2off, uint64_t l2rc, const uint64_t *hosts)
{
	uint32_t n = 1u << s->l2_bits;
	uint8_t *l2;
	int ret = bc_file_flush(s->data_file);

	if (ret == 0)
		ret = qcow2_cache_get(s, &s->l2_cache, l2off, true, &l2);
	if (ret < 0)
		return ret;
	for (uint32_t j = 0; j < n; j++) {
		if (hosts[j] == UINT64_MAX)
			continue;
		uint64_t e = hosts[j];
		if (e && l2rc == 1)
			e |= QCOW2_OFLAG_COPIED;
		bc_wr_be64(l2 + (size_t)j * 8, e);
	}
	qcow2_cache_mark_dirty(&s->l2_cache, l2);
	return 0;
}

static int expand_l1(struct qcow2 *s, const uint64_t *l1, uint32_t l1_size, bool backed,
		     struct amend_progress *p, int64_t *visited, int64_t total)
{
	uint64_t *hosts = malloc(((size_t)1 << s->l2_bits) * sizeof(*hosts));
	int ret = hosts ? 0 : -ENOMEM;

	for (uint32_t i = 0; ret == 0 && i < l1_size; i++) {
		uint64_t l2off = l1[i] & QCOW2_L1_OFFSET_MASK, l2rc;
		bool any = false;
		if (l2off) {
			ret = qcow2_get_refcount(s, l2off >> s->cluster_bits, &l2rc);
			if (ret == 0)
				ret = expand_prepare(s, l2off, l2rc, backed,
						     (uint64_t)i << (s->l2_bits + s->cluster_bits),
						     hosts, &any);
			if (ret == 0 && any)
				ret = expand_commit(s, l2off, l2rc, hosts);
		}
		(*visited)++;
		amend_status(p, *visited, total);
	}
	free(hosts);
	return ret;
}

static int read_l1_table(struct qcow2 *s, uint64_t off, uint32_t n, uint64_t **out)
{
	uint8_t *raw = malloc((size_t)n * 8 + 1);
	uint64_t *l1 = malloc((size_t)n * 8 + 1);
	int ret = raw && l1 ? bc_file_pread(s->file, raw, (size_t)n * 8, off) : -ENOMEM;

	for (uint32_t i = 0; ret == 0 && i < n; i++)
		l1[i] = bc_rd_be64(raw + (size_t)i * 8);
	free(raw);
	if (ret < 0) {
		free(l1);
		return ret;
	}
	*out = l1;
	return 0;
}

/* qemu's qcow2_expand_zero_clusters: the active L1 first, then every snapshot's. Tables the
 * snapshots share with the active L1 were expanded in the first pass (the cache is keyed by
 * offset, so the second pass sees them expanded). */
static int expand_zero_clusters(struct qcow2 *s, struct amend_progress *p)
{
	struct qcow2_snap *sn = NULL;
	int nsn = 0, ret = qcow2_read_snapshots(s, &sn, &nsn, NULL);
	bool backed = s->img->backing != NULL;
	int64_t total = s->l1_size, visited = 0;

	if (ret < 0)
		return ret;
	for (int i = 0; i < nsn; i++)
		total += sn[i].l1_size;
	ret = expand_l1(s, s->l1, s->l1_size, backed, p, &visited, total);
	for (int i = 0; ret == 0 && i < nsn; i++) {
		uint64_t *l1;
		ret = read_l1_table(s, sn[i].l1_offset, sn[i].l1_size, &l1);
		if (ret == 0) {
			ret = expand_l1(s, l1, sn[i].l1_size, backed, p, &visited, total);
			free(l1);
		}
	}
	free(sn);
	if (ret == 0)
		ret = qcow2_flush_metadata(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	return ret;
}

/* qemu looks at the active layer only (block status), not at snapshots. */
static int has_compressed_clusters(struct qcow2 *s, bool *found)
{
	uint32_t n = 1u << s->l2_bits;
	uint8_t *l2;

	*found = false;
	for (uint32_t i = 0; i < s->l1_size && !*found; i++) {
		uint64_t l2off = s->l1[i] & QCOW2_L1_OFFSET_MASK;
		if (!l2off)
			continue;
		int ret = qcow2_cache_get(s, &s->l2_cache, l2off, true, &l2);
		if (ret < 0)
			return ret;
		for (uint32_t j = 0; j < n && !*found; j++)
			*found = (bc_rd_be64(l2 + (size_t)j * 8) & QCOW2_OFLAG_COMPRESSED) != 0;
	}
	return 0;
}

static int downgrade_check_snapshots(struct qcow2 *s, struct bc_err *err)
{
	struct qcow2_snap *sn = NULL;
	int n = 0, ret = qcow2_read_snapshots(s, &sn, &n, err);

	for (int i = 0; ret == 0 && i < n; i++)
		if (sn[i].info.vm_state_size > UINT32_MAX || sn[i].info.disk_size != s->img->size)
			ret = bc_err_set(err, -ENOTSUP, "Internal snapshots prevent downgrade of image");
	free(sn);
	return ret;
}

static int amend_downgrade(struct qcow2 *s, struct amend_progress *p, struct bc_err *err)
{
	uint64_t incompat;
	bool compressed;
	int ret;

	if (s->refcount_order != 4)
		return bc_err_set(err, -ENOTSUP, "compat=0.10 requires refcount_bits=16");
	if (s->data_file != s->file)
		return bc_err_set(err, -ENOTSUP, "Cannot downgrade an image with a data file");
	ret = downgrade_check_snapshots(s, err);
	if (ret == 0 && (s->h.incompatible_features & QCOW2_INCOMPAT_DIRTY))
		ret = amend_mark_clean(s, err);
	if (ret < 0)
		return ret;
	incompat = s->h.incompatible_features & ~QCOW2_INCOMPAT_COMPRESSION;
	if (incompat)
		return bc_err_set(err, -ENOTSUP, "Cannot downgrade an image with incompatible "
				  "features 0x%" PRIx64 " set", incompat);
	/* v2 has no dirty bit: refcounts must be exact from here on */
	s->lazy = false;
	s->h.compatible_features = 0;
	s->h.autoclear_features = 0;
	ret = expand_zero_clusters(s, p);
	if (ret < 0)
		return bc_err_set(err, ret, "Failed to turn zero into data clusters: %s",
				  strerror(-ret));
	if (s->h.incompatible_features & QCOW2_INCOMPAT_COMPRESSION) {
		if (has_compressed_clusters(s, &compressed) < 0)
			return bc_err_set(err, -EINVAL, "Failed to check block status");
		if (compressed)
			return bc_err_set(err, -ENOTSUP, "Cannot downgrade an image with zstd "
					  "compression type and existing compressed clusters");
		s->h.incompatible_features &= ~QCOW2_INCOMPAT_COMPRESSION;
		s->h.compression_type = 0;
	}
	s->h.version = 2;
	ret = header_update(s, err);
	if (ret < 0)
		s->h.version = 3;
	return ret;
}

/* ---- refcount_bits: qemu's qcow2_change_refcount_order ----
 *
 * New refcount blocks and a new refcount table are allocated in the current structure
 * (first fit, as qemu, so the layout matches), walking the current refcounts until every
 * in-use cluster, the new structures included, is covered. The new blocks and table are
 * written and flushed, then one header write switches to them (invariant 4). The old blocks
 * and table are already 0 in the new blocks (qemu frees them after the switch; the result is
 * the same, without a window where a crash leaks them). */
struct rc_change {
	struct qcow2 *s;
	struct amend_progress *p;
	uint32_t order;          /* new refcount order */
	uint64_t entries;        /* refcounts per new block */
	uint64_t *rt;            /* new refcount table, host order */
	uint64_t rt_size;        /* its entries (a multiple of cluster_size / 8) */
	uint8_t *block;          /* the new block being filled; NULL while allocating */
	bool allocated;
	uint64_t *old, nold;     /* clusters of the current structure (the last walk) */
};

/* The clusters of the current refcount blocks and table. */
static int rc_list_old(struct rc_change *c)
{
	struct qcow2 *s = c->s;
	uint64_t t0 = s->h.refcount_table_offset >> s->cluster_bits;

	c->old = malloc((s->reftable_size + s->h.refcount_table_clusters + 1) * sizeof(*c->old));
	if (!c->old)
		return -ENOMEM;
	c->nold = 0;
	for (uint64_t i = 0; i < s->h.refcount_table_clusters; i++)
		c->old[c->nold++] = t0 + i;
	for (uint64_t i = 0; i < s->reftable_size; i++)
		if (s->reftable[i] & QCOW2_REFT_OFFSET_MASK)
			c->old[c->nold++] = (s->reftable[i] & QCOW2_REFT_OFFSET_MASK) >> s->cluster_bits;
	return 0;
}

static int rc_grow_table(struct rc_change *c, uint64_t idx)
{
	uint64_t per = c->s->cluster_size / 8, n = (idx + 1 + per - 1) / per * per;
	uint64_t *rt = realloc(c->rt, n * sizeof(*rt));

	if (!rt)
		return -ENOMEM;
	memset(rt + c->rt_size, 0, (n - c->rt_size) * sizeof(*rt));
	c->rt = rt;
	c->rt_size = n;
	return 0;
}

/* A new block is complete: allocate it (allocation walks) or write it (the last walk). */
static int rc_block_done(struct rc_change *c, uint64_t idx, bool empty)
{
	struct qcow2 *s = c->s;
	int ret = 0;

	if (!c->block) {
		if (!empty && idx >= c->rt_size)
			ret = rc_grow_table(c, idx);
		if (ret == 0 && !empty && !c->rt[idx]) {
			ret = qcow2_alloc_clusters(s, 1, &c->rt[idx]);
			c->allocated = true;
		}
		return ret;
	}
	if (idx >= c->rt_size || !c->rt[idx])
		return 0;
	/* the current structures are free once the header points to the new ones */
	for (uint64_t i = 0; i < c->nold; i++)
		if (c->old[i] / c->entries == idx)
			qcow2_rc_set_entry(c->block, c->order, c->old[i] % c->entries, 0);
	return bc_file_pwrite(s->file, c->block, s->cluster_size, c->rt[idx]);
}

static int rc_refcount(struct qcow2 *s, uint64_t rboff, uint64_t j, uint64_t *rc)
{
	uint8_t *rb;
	int ret = qcow2_cache_get(s, &s->rb_cache, rboff, true, &rb);

	if (ret == 0)
		*rc = qcow2_rc_get_entry(rb, s->refcount_order, j);
	return ret;
}

/* qemu's walk_over_reftable: every refcount of the current structure in order, grouped into
 * the new blocks; progress reported per table entry as qemu reports it. */
static int rc_walk(struct rc_change *c, int index, int total, struct bc_err *err)
{
	struct qcow2 *s = c->s;
	uint64_t old_entries = 1ull << s->rb_bits, nri = 0, nbi = 0;
	bool empty = true;
	int ret = 0;

	if (c->block)
		memset(c->block, 0, s->cluster_size);
	for (uint64_t ri = 0; ri < s->reftable_size; ri++) {
		uint64_t rboff = s->reftable[ri] & QCOW2_REFT_OFFSET_MASK;
		amend_status(c->p, (int64_t)(index * s->reftable_size + ri),
			     (int64_t)(total * s->reftable_size));
		for (uint64_t j = 0; j < old_entries; ) {
			uint64_t rc = 0, take = 1;
			if (nbi >= c->entries) {
				ret = rc_block_done(c, nri++, empty);
				if (ret < 0)
					return ret;
				nbi = 0;
				empty = true;
				if (c->block)
					memset(c->block, 0, s->cluster_size);
			}
			if (!rboff) {
				/* no block: all zero, skip to the end of it or of the new block */
				take = old_entries - j < c->entries - nbi ? old_entries - j
									 : c->entries - nbi;
			} else if ((ret = rc_refcount(s, rboff, j, &rc)) < 0) {
				return ret;
			}
			if (c->order < 6 && rc >> (1u << c->order))
				return bc_err_set(err, -EINVAL, "Cannot decrease refcount entry width to "
						  "%u bits: Cluster at offset %#" PRIx64 " has a "
						  "refcount of %" PRIu64, 1u << c->order,
						  ((ri << s->rb_bits) + j) << s->cluster_bits, rc);
			if (c->block && rc)
				qcow2_rc_set_entry(c->block, c->order, nbi, rc);
			empty = empty && rc == 0;
			nbi += take;
			j += take;
		}
	}
	if (nbi > 0 && (ret = rc_block_done(c, nri, empty)) < 0)
		return ret;
	amend_status(c->p, (int64_t)((index + 1) * s->reftable_size),
		     (int64_t)(total * s->reftable_size));
	return 0;
}

/* The new table is allocated anew whenever a walk allocated blocks (it may have grown). */
static int rc_allocate(struct rc_change *c, uint64_t *rt_off, uint64_t *rt_clusters,
		       int *walk, struct bc_err *err)
{
	int ret;

	do {
		int total = *walk + 2 > 3 ? *walk + 2 : 3;
		c->allocated = false;
		ret = rc_walk(c, (*walk)++, total, err);
		if (ret < 0 || !c->allocated)
			return ret;
		if (*rt_off && (ret = qcow2_free_clusters(c->s, *rt_off, *rt_clusters)) < 0)
			return ret;
		*rt_clusters = c->rt_size * 8 / c->s->cluster_size;
		ret = qcow2_alloc_clusters(c->s, *rt_clusters, rt_off);
		if (ret < 0) {
			*rt_off = 0;
			return ret;
		}
	} while (true);
}

static int rc_write_table(struct rc_change *c, uint64_t off, uint64_t clusters)
{
	size_t len = (size_t)(clusters * c->s->cluster_size);
	uint8_t *buf = calloc(1, len);
	int ret;

	if (!buf)
		return -ENOMEM;
	for (uint64_t i = 0; i < c->rt_size; i++)
		bc_wr_be64(buf + i * 8, c->rt[i]);
	ret = bc_file_pwrite(c->s->file, buf, len, off);
	free(buf);
	return ret;
}

/* One header write switches to the new structure; then the driver state follows it. */
static int rc_switch(struct rc_change *c, uint64_t rt_off, uint64_t rt_clusters,
		     struct bc_err *err)
{
	struct qcow2 *s = c->s;
	uint32_t old_order = s->h.refcount_order, old_clusters = s->h.refcount_table_clusters;
	uint64_t old_off = s->h.refcount_table_offset;
	int n = s->rb_cache.n;
	int ret;

	s->h.refcount_order = c->order;
	s->h.refcount_table_offset = rt_off;
	s->h.refcount_table_clusters = (uint32_t)rt_clusters;
	ret = header_update(s, err);
	if (ret < 0) {
		s->h.refcount_order = old_order;
		s->h.refcount_table_offset = old_off;
		s->h.refcount_table_clusters = old_clusters;
		return ret;
	}
	free(s->reftable);
	s->reftable = c->rt;
	s->reftable_size = c->rt_size;
	c->rt = NULL;
	s->refcount_order = c->order;
	s->rb_bits = s->cluster_bits + 3 - c->order;
	s->refcount_max = c->order == 6 ? UINT64_MAX : (1ull << (1u << c->order)) - 1;
	s->free_hint = 0;
	/* the cached blocks belong to the old structure: dropped, not written */
	qcow2_cache_destroy(&s->rb_cache);
	ret = qcow2_cache_init(&s->rb_cache, n, s->cluster_size);
	if (ret < 0)
		return bc_err_set(err, ret, "Could not allocate the refcount cache");
	return 0;
}

/* On failure the new structures are freed in the current one (as qemu). */
static void rc_undo(struct rc_change *c, uint64_t rt_off, uint64_t rt_clusters)
{
	for (uint64_t i = 0; i < c->rt_size; i++)
		if (c->rt[i])
			qcow2_free_clusters(c->s, c->rt[i], 1);
	if (rt_off)
		qcow2_free_clusters(c->s, rt_off, rt_clusters);
}

static int amend_change_refcount_order(struct qcow2 *s, uint32_t order,
				       struct amend_progress *p, struct bc_err *err)
{
	struct rc_change c = { .s = s, .p = p, .order = order,
			       .entries = ((uint64_t)s->cluster_size * 8) >> order };
	uint64_t rt_off = 0, rt_clusters = 0;
	int walk = 0;
	int ret = qcow2_flush_metadata(s);

	if (ret == 0)
		ret = rc_allocate(&c, &rt_off, &rt_clusters, &walk, err);
	if (ret == 0 && !(c.block = bc_alloc_aligned(s->cluster_size)))
		ret = -ENOMEM;
	if (ret == 0)
		ret = rc_list_old(&c);
	if (ret == 0)
		ret = rc_walk(&c, walk, walk + 1, err);
	if (ret == 0)
		ret = rc_write_table(&c, rt_off, rt_clusters);
	/* the new structures and the current refcounts on disk before the switch */
	if (ret == 0)
		ret = qcow2_flush_refcounts(s);
	if (ret == 0)
		ret = bc_file_flush(s->file);
	if (ret == 0)
		ret = rc_switch(&c, rt_off, rt_clusters, err);
	else if (c.rt)
		rc_undo(&c, rt_off, rt_clusters);
	if (ret < 0 && !err->code)
		bc_err_set(err, ret, "Failed to change the refcount order: %s", strerror(-ret));
	free(c.rt);
	free(c.block);
	free(c.old);
	return ret;
}

/* ---- the whole amendment, in qemu's order ---- */

static int amend_backing(struct qcow2 *s, const struct amend_req *r, struct bc_err *err)
{
	/* qemu 7.2 accepts only the values the image already has (rebase changes them) */
	if (r->backing_given && (str_differs(r->backing_file, s->h.backing_file) ||
				 str_differs(r->backing_fmt, s->h.backing_fmt)))
		return bc_err_set(err, -EINVAL, "Cannot amend the backing file\n"
				  "You can use 'qemu-img rebase' instead.");
	return 0;
}

static int amend_data_file(struct qcow2 *s, const struct amend_req *r, struct bc_err *err)
{
	if (r->data_raw)
		s->h.autoclear_features |= QCOW2_AUTOCLEAR_DATA_RAW;
	else
		s->h.autoclear_features &= ~QCOW2_AUTOCLEAR_DATA_RAW;
	s->data_raw = r->data_raw;
	if (r->data_file && qcow2_set_str(&s->h.data_file, *r->data_file ? r->data_file : NULL))
		return bc_err_set(err, -ENOMEM, "Out of memory");
	return header_update(s, err);
}

static int amend_refcount_bits(struct qcow2 *s, const struct amend_req *r,
			       struct amend_progress *p, struct bc_err *err)
{
	uint32_t order = 0;

	if (r->refcount_bits == 1ull << s->refcount_order)
		return 0;
	if (r->version < 3 && r->refcount_bits != 16)
		return bc_err_set(err, -EINVAL, "Refcount widths other than 16 bits require "
				  "compatibility level 1.1 or above (use compat=1.1 or greater)");
	while ((1ull << order) < r->refcount_bits)
		order++;
	p->cur = OP_REFCOUNT;
	return amend_change_refcount_order(s, order, p, err);
}

static int amend_size(struct bc_image *img, const struct amend_req *r, struct bc_err *err)
{
	if (!r->size)
		return 0;
	return img->fmt->truncate(img, r->size, BC_PREALLOC_OFF, true, err);
}

int qcow2_amend(struct bc_image *img, struct bc_opts *opts, const struct bc_amend_hooks *hooks,
		struct bc_err *err)
{
	struct qcow2 *s = img->priv;
	struct amend_progress p = { .hooks = hooks };
	struct amend_req r;
	int ret = amend_parse(s, opts, &r, err);

	if (ret < 0)
		return ret;
	p.total_ops = (r.version != s->h.version) +
		      (r.refcount_bits != 1ull << s->refcount_order);
	if (r.encrypt)
		ret = qcow2_crypt_amend(s, opts, err);
	if (ret == 0 && r.version > s->h.version) {
		p.cur = OP_UPGRADE;
		ret = amend_upgrade(s, &p, err);
	}
	if (ret == 0)
		ret = amend_refcount_bits(s, &r, &p, err);
	if (ret == 0)
		ret = amend_data_file(s, &r, err);
	if (ret == 0)
		ret = amend_backing(s, &r, err);
	if (ret == 0)
		ret = amend_lazy(s, &r, err);
	if (ret == 0)
		ret = amend_size(img, &r, err);
	if (ret == 0 && r.version < s->h.version) {
		p.cur = OP_DOWNGRADE;
		ret = amend_downgrade(s, &p, err);
	}
	return ret;
}
