/* qemu-img measure for qcow2: the metadata a fresh image of a given size needs (header, L1, L2
 * tables, and the refcount structures that count every cluster including themselves), plus the
 * clusters a source's data would occupy. */
#include "qcow2.h"

#include <errno.h>
#include <string.h>

static uint64_t div_up(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

/* Refcount blocks and table clusters needed to count `clusters` clusters and themselves:
 * iterate until adding them needs no further ones. */
static uint64_t refcount_meta_clusters(uint64_t clusters, uint64_t cs, uint32_t order)
{
	uint64_t per_block = cs * 8 >> order, per_table = cs / 8, blocks = 0, table = 0, prev;

	do {
		prev = blocks + table;
		blocks = div_up(clusters + blocks + table, per_block);
		table = div_up(blocks, per_table);
	} while (blocks + table != prev);
	return blocks + table;
}

/* Bytes of metadata for a fully allocated image of `size` (rounded to clusters). */
static uint64_t meta_bytes(uint64_t size, uint64_t cs, uint32_t entry, uint32_t order)
{
	uint64_t data = qcow2_align_up(size, cs);
	uint64_t l2_entries = qcow2_align_up(data / cs, cs / entry);
	uint64_t l1_entries = qcow2_align_up(l2_entries * entry / cs, cs / 8);
	uint64_t meta = cs + l2_entries * entry + l1_entries * 8;

	return meta + refcount_meta_clusters((meta + data) / cs, cs, order) * cs;
}

/* Clusters of the target that the source's data (not zeros) would occupy. */
static int data_bytes(struct bc_image *src, uint64_t cs, uint64_t *out)
{
	uint64_t size = bc_length(src), counted_end = 0, total = 0;

	for (uint64_t off = 0; off < size;) {
		struct bc_extent e;
		int ret = bc_block_status(src, off, size - off, &e);
		if (ret < 0)
			return ret;
		if ((e.flags & BC_EXT_DATA) && !(e.flags & BC_EXT_ZERO)) {
			uint64_t a = off / cs * cs, b = qcow2_align_up(off + e.len, cs);
			if (a < counted_end)
				a = counted_end;
			if (b > a)
				total += b - a;
			counted_end = b > counted_end ? b : counted_end;
		}
		off += e.len;
	}
	*out = total;
	return 0;
}

int qcow2_measure(struct bc_opts *opts, uint64_t size, struct bc_image *src,
		  struct bc_measure *out, struct bc_err *err)
{
	struct qcow2_create_params p;
	int ret = qcow2_create_params(opts, true, size, &p, err);

	if (ret < 0)
		return ret;
	size = p.size;
	uint64_t cs = p.cluster_size;
	uint32_t order = (uint32_t)__builtin_ctzll(p.refcount_bits), entry = p.ext_l2 ? 16 : 8;
	uint64_t meta = meta_bytes(size, cs, entry, order), data = 0;
	if (src && (ret = data_bytes(src, cs, &data)) < 0)
		return bc_err_set(err, ret, "Unable to get block status: %s", strerror(-ret));
	if (p.luks) {
		/* the LUKS header's clusters come on top, as qemu counts them */
		struct bc_luks_params lp;
		uint64_t hl;
		if ((ret = bc_luks_params_get(&lp, opts, "encrypt.", err)) < 0 ||
		    (ret = bc_luks_header_len(&lp, &hl, err)) < 0)
			return ret;
		meta += qcow2_align_up(hl, cs);
	}
	out->fully_allocated = meta + qcow2_align_up(size, cs);
	out->required = p.prealloc == BC_PREALLOC_FALLOC || p.prealloc == BC_PREALLOC_FULL
				? out->fully_allocated : meta + data;
	/* qemu reports bitmaps for a v3 target when the source can carry persistent ones */
	return p.version < 3 ? 0 : qcow2_measure_bitmaps(src, cs, out);
}
