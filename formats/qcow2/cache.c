/*
 * A write-back cache of cluster-sized metadata tables (L2 tables, refcount blocks), looked up
 * by host offset through a small hash. Writing back follows the driver's ordering rules: the
 * L2 cache never writes a table before the refcount blocks are on disk (see driver.c, 1-2).
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int qcow2_cache_init(struct qcow2_cache *c, int n, uint32_t size)
{
	memset(c, 0, sizeof(*c));
	c->n = n;
	c->size = size;
	c->nbuckets = 1;
	while (c->nbuckets < 2 * n)
		c->nbuckets <<= 1;
	c->e = calloc((size_t)n, sizeof(*c->e));
	c->buckets = malloc((size_t)c->nbuckets * sizeof(int));
	if (!c->e || !c->buckets) {
		qcow2_cache_destroy(c);
		return -ENOMEM;
	}
	for (int i = 0; i < c->nbuckets; i++)
		c->buckets[i] = -1;
	for (int i = 0; i < n; i++)
		c->e[i].next = -1;
	return 0;
}

void qcow2_cache_destroy(struct qcow2_cache *c)
{
	if (c->e)
		for (int i = 0; i < c->n; i++)
			free(c->e[i].data);
	free(c->e);
	free(c->buckets);
	memset(c, 0, sizeof(*c));
}

static int bucket_of(const struct qcow2_cache *c, uint64_t off)
{
	uint64_t h = (off >> 9) * 0x9e3779b97f4a7c15ull;
	return (int)(h >> 40) & (c->nbuckets - 1);
}

static void unlink_entry(struct qcow2_cache *c, int i)
{
	int *pp = &c->buckets[bucket_of(c, c->e[i].offset)];

	while (*pp != -1) {
		if (*pp == i) {
			*pp = c->e[i].next;
			break;
		}
		pp = &c->e[*pp].next;
	}
	c->e[i].next = -1;
	c->e[i].offset = 0;
	c->e[i].dirty = false;
}

static int find(const struct qcow2_cache *c, uint64_t off)
{
	if (c->last >= 0 && c->last < c->n && c->e[c->last].offset == off)
		return c->last;
	for (int i = c->buckets[bucket_of(c, off)]; i != -1; i = c->e[i].next)
		if (c->e[i].offset == off)
			return i;
	return -1;
}

static int write_entry(struct qcow2 *s, struct qcow2_cache *c, int i)
{
	int ret;

	if (!c->e[i].dirty)
		return 0;
	if (c == &s->l2_cache && !s->lazy) {
		/* Invariant 1: refcounts reach the disk before the L2 entries that use them. */
		ret = s->up->flush_refcounts(s); /* refcount.c, above */
		if (ret < 0)
			return ret;
	}
	if (c->e[i].offset < s->cluster_size)
		return qcow2_mark_corrupt(s, "Preventing invalid write on metadata (overlaps with "
					     "qcow2_header)");
	ret = qcow2_overlap_refuse(s, c == &s->l2_cache ? QCOW2_OL_ACTIVE_L2 : QCOW2_OL_REFCOUNT_BLOCK,
				   c->e[i].offset, c->size);
	if (ret < 0)
		return ret;
	bc_file_event(s->file, c == &s->l2_cache ? BC_EV_L2_UPDATE : BC_EV_REFBLOCK_UPDATE_PART);
	ret = bc_file_pwrite(s->file, c->e[i].data, c->size, c->e[i].offset);
	if (ret < 0)
		return ret;
	c->e[i].dirty = false;
	return 0;
}

int qcow2_cache_get(struct qcow2 *s, struct qcow2_cache *c, uint64_t offset, bool read,
		    uint8_t **data)
{
	int i, victim = -1, ret;

	if (offset < s->cluster_size || offset & (s->cluster_size - 1))
		return qcow2_mark_corrupt(s, "Metadata table offset %#llx invalid",
					  (unsigned long long)offset);
	i = find(c, offset);
	if (i >= 0) {
		c->e[i].lru = ++c->tick;
		c->last = i;
		if (!read)
			memset(c->e[i].data, 0, c->size);
		*data = c->e[i].data;
		return 0;
	}
	for (i = 0; i < c->n; i++) {
		if (!c->e[i].offset) {
			victim = i;
			break;
		}
		if (victim < 0 || c->e[i].lru < c->e[victim].lru)
			victim = i;
	}
	i = victim;
	if (c->e[i].offset) {
		ret = write_entry(s, c, i);
		if (ret < 0)
			return ret;
		unlink_entry(c, i);
	}
	if (!c->e[i].data) {
		c->e[i].data = bc_alloc_aligned(c->size);
		if (!c->e[i].data)
			return -ENOMEM;
	}
	if (read) {
		bc_file_event(s->file, c == &s->l2_cache ? BC_EV_L2_LOAD : BC_EV_REFBLOCK_LOAD);
		ret = bc_file_pread(s->file, c->e[i].data, c->size, offset);
		if (ret < 0)
			return ret;
	} else {
		memset(c->e[i].data, 0, c->size);
	}
	c->e[i].offset = offset;
	c->e[i].dirty = false;
	c->e[i].lru = ++c->tick;
	int b = bucket_of(c, offset);
	c->e[i].next = c->buckets[b];
	c->buckets[b] = i;
	c->last = i;
	*data = c->e[i].data;
	return 0;
}

void qcow2_cache_mark_dirty(struct qcow2_cache *c, const uint8_t *data)
{
	if (c->last >= 0 && c->last < c->n && c->e[c->last].data == data) {
		c->e[c->last].dirty = true;
		return;
	}
	for (int i = 0; i < c->n; i++)
		if (c->e[i].data == data) {
			c->e[i].dirty = true;
			return;
		}
}

int qcow2_cache_flush(struct qcow2 *s, struct qcow2_cache *c)
{
	for (int i = 0; i < c->n; i++) {
		if (c->e[i].offset && c->e[i].dirty) {
			int ret = write_entry(s, c, i);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

bool qcow2_cache_has_dirty(const struct qcow2_cache *c)
{
	for (int i = 0; i < c->n; i++)
		if (c->e[i].offset && c->e[i].dirty)
			return true;
	return false;
}

void qcow2_cache_discard(struct qcow2_cache *c, uint64_t offset)
{
	int i = find(c, offset);

	if (i >= 0)
		unlink_entry(c, i);
}
