/*
 * Compressed clusters, the writing side (zlib raw deflate with a 4 KiB window, or zstd when
 * the header's compression_type says so); reading them is inflate.c's, below the mapping.
 *
 * A compressed write stores one whole guest cluster as the compressed bytes at a byte offset
 * of the host file; consecutive compressed clusters are packed one after the other
 * (qcow2_alloc_bytes), so a host cluster may hold the tails and heads of several and has one
 * reference per compressed cluster that touches it. Data that does not shrink below
 * cluster_size - 1 bytes is written as a normal cluster instead, as qemu does.
 */
#include "qcow2.h"
#include "workers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

/* A compression context and its output buffer: setting up a deflate stream for every cluster
 * would cost more than compressing small clusters, so they are kept for the life of the image. */
struct codec {
	z_stream z;
	bool z_ready;
	ZSTD_CCtx *zstd;
	uint8_t *out;
	uint8_t *pad;                /* a short last cluster padded with zeros */
};

/* One cluster compressed on a codec worker: the job, its context, its input and its result. */
struct comp_slot {
	struct bc_job job;
	struct codec codec;
	uint8_t type;                /* compression_type */
	size_t cs;
	const uint8_t *in;
	size_t n;                    /* < cs only for the image's last cluster */
	long clen;                   /* result: compress_cluster's */
};

struct qcow2_compressor {
	struct codec main;           /* the submitting thread's own, for single clusters */
	struct comp_slot *slots;     /* clusters in flight on the workers */
	int nslots;
};

static void codec_free(struct codec *c)
{
	if (c->z_ready)
		deflateEnd(&c->z);
	ZSTD_freeCCtx(c->zstd);
	free(c->out);
	free(c->pad);
}

void qcow2_compress_free(struct qcow2 *s)
{
	struct qcow2_compressor *c = s->comp;

	if (!c)
		return;
	codec_free(&c->main);
	for (int i = 0; i < c->nslots; i++)
		codec_free(&c->slots[i].codec);
	free(c->slots);
	free(c);
	s->comp = NULL;
}

static int codec_init(struct codec *c, uint8_t type, size_t cs)
{
	if (!c->out && !(c->out = malloc(cs)))
		return -ENOMEM;
	if (!c->pad && !(c->pad = malloc(cs)))
		return -ENOMEM;
	if (type == 0 && !c->z_ready) {
		/* qemu's parameters: default level, raw deflate, 4 KiB window, memLevel 9 */
		if (deflateInit2(&c->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		c->z_ready = true;
	}
	if (type == 1 && !c->zstd && !(c->zstd = ZSTD_createCCtx()))
		return -ENOMEM;
	return 0;
}

static int compressor_get(struct qcow2 *s, struct qcow2_compressor **out)
{
	struct qcow2_compressor *c = s->comp;

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		s->comp = c;
	}
	*out = c;
	return codec_init(&c->main, s->h.compression_type, s->cluster_size);
}

/* Compresses in (len bytes, padded to cs with zeros) into c->out, at most cs - 1 bytes.
 * Returns the length, 0 when the result would not fit (the cluster is then stored
 * uncompressed), or -errno. Touches nothing but c: it runs on the workers. */
static long compress_cluster(struct codec *c, uint8_t type, const uint8_t *in, size_t len,
			     size_t cs)
{
	size_t cap = cs - 1;

	if (len < cs) {
		/* compressed clusters always decompress to a whole cluster: pad with zeros */
		memcpy(c->pad, in, len);
		memset(c->pad + len, 0, cs - len);
		in = c->pad;
	}
	if (type == 1) {
		size_t r = ZSTD_compressCCtx(c->zstd, c->out, cap, in, cs, ZSTD_CLEVEL_DEFAULT);
		if (ZSTD_isError(r))
			return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? 0 : -EIO;
		return (long)r;
	}
	if (deflateReset(&c->z) != Z_OK)
		return -EIO;
	c->z.next_in = (Bytef *)in;
	c->z.avail_in = (uInt)cs;
	c->z.next_out = c->out;
	c->z.avail_out = (uInt)cap;
	int ret = deflate(&c->z, Z_FINISH);
	if (ret == Z_STREAM_END)
		return (long)(cap - c->z.avail_out);
	return ret == Z_OK || ret == Z_BUF_ERROR ? 0 : -EIO;
}

/* The L2 descriptor of clen compressed bytes at host: offset, then the number of 512-byte
 * sectors the bytes touch minus one, in the field width the cluster size gives. */
static uint64_t compressed_entry(const struct qcow2 *s, uint64_t host, uint64_t clen)
{
	uint32_t x = 62 - (s->cluster_bits - 8);
	uint64_t extra = ((host + clen - 1) >> 9) - (host >> 9);

	return QCOW2_OFLAG_COMPRESSED | extra << x | host;
}

/* Stores one cluster at cluster-aligned off whose compression gave clen bytes in out
 * (0: it does not shrink and goes in as a normal cluster). */
static int store_one(struct qcow2 *s, uint64_t off, const uint8_t *data, size_t n,
		     const uint8_t *out, long clen)
{
	uint64_t host;
	int ret;

	if (clen < 0)
		return (int)clen;
	if (clen == 0)
		return qcow2_write_data(s, off, data, n); /* does not shrink: a normal cluster */
	/* L2 table first, then the bytes: qemu's order, so the files look alike. */
	ret = qcow2_prepare_l2(s, off);
	if (ret == 0)
		ret = qcow2_alloc_bytes(s, (uint64_t)clen, &host);
	if (ret < 0)
		return ret;
	const char *what = qcow2_overlaps_metadata(s, host, (uint64_t)clen);
	if (what) /* the refcounts said free, but metadata lives there */
		return qcow2_mark_corrupt(s, "Preventing invalid write on metadata "
					     "(overlaps with %s)", what);
	/* Invariant 7: the bytes are written before the entry that points to them. */
	bc_file_event(s->file, BC_EV_WRITE_COMPRESSED);
	ret = bc_file_pwrite(s->file, out, (size_t)clen, host);
	if (ret < 0) {
		/* give back the references alloc_bytes took (one per cluster the bytes touch),
		 * as qemu does: otherwise a failed write (EIO, ENOSPC) leaks them */
		uint64_t cs = s->cluster_size, first = host / cs, last = (host + clen - 1) / cs;
		qcow2_free_clusters(s, first * cs, last - first + 1);
		return ret;
	}
	bc_file_event(s->file, BC_EV_L2_UPDATE_COMPRESSED);
	return qcow2_set_compressed(s, off, compressed_entry(s, host, (uint64_t)clen));
}

/* One cluster on this thread; n < cluster_size only for the image's last cluster. */
static int write_one(struct qcow2 *s, uint64_t off, const uint8_t *data, size_t n)
{
	struct qcow2_compressor *c;
	int ret = compressor_get(s, &c);

	if (ret < 0)
		return ret;
	long clen = compress_cluster(&c->main, s->h.compression_type, data, n, s->cluster_size);
	return store_one(s, off, data, n, c->main.out, clen);
}

static void slot_run(struct bc_job *job)
{
	struct comp_slot *sl = (struct comp_slot *)job;

	sl->clen = compress_cluster(&sl->codec, sl->type, sl->in, sl->n, sl->cs);
}

/* Eight clusters in flight per worker keep every worker busy while this thread writes (and
 * waits for the CPU on a loaded host). The
 * slots are allocated once: a z_stream must not move once initialised (zlib keeps a pointer
 * back to it). */
static int slots_get(struct qcow2 *s, struct qcow2_compressor *c, int want)
{
	if (!c->slots) {
		c->slots = calloc((size_t)want, sizeof(*c->slots));
		if (!c->slots)
			return -ENOMEM;
		c->nslots = want;
	}
	for (int i = 0; i < c->nslots; i++) {
		int ret = codec_init(&c->slots[i].codec, s->h.compression_type, s->cluster_size);
		if (ret < 0)
			return ret;
		c->slots[i].job.run = slot_run;
		c->slots[i].type = s->h.compression_type;
		c->slots[i].cs = s->cluster_size;
	}
	return 0;
}

/* Several clusters: compressed on the codec workers, stored here in order (the packed byte
 * allocation and the L2 entries come out exactly as one thread would make them). */
static int write_parallel(struct qcow2 *s, struct bc_workers *w, uint64_t off, const uint8_t *p,
			  size_t len)
{
	uint64_t cs = s->cluster_size, n_cl = (len + cs - 1) / cs;
	struct qcow2_compressor *c;
	int nslots, ret = compressor_get(s, &c);

	if (ret == 0)
		ret = slots_get(s, c, 8 * bc_workers_count(w));
	if (ret < 0)
		return ret;
	nslots = (uint64_t)c->nslots > n_cl ? (int)n_cl : c->nslots;
	uint64_t next = 0;   /* next cluster to submit */
	for (; next < (uint64_t)nslots; next++) {
		struct comp_slot *sl = &c->slots[next];
		sl->in = p + next * cs;
		sl->n = len - next * cs < cs ? (size_t)(len - next * cs) : (size_t)cs;
		bc_workers_submit(w, &sl->job);
	}
	for (uint64_t i = 0; i < n_cl; i++) {
		struct comp_slot *sl = &c->slots[i % (uint64_t)nslots];
		bc_workers_wait(w, &sl->job);
		if (ret == 0)
			ret = store_one(s, off + i * cs, sl->in, sl->n, sl->codec.out, sl->clen);
		if (ret == 0 && next < n_cl) {
			/* the slot is free again: the next cluster goes into it */
			sl->in = p + next * cs;
			sl->n = len - next * cs < cs ? (size_t)(len - next * cs) : (size_t)cs;
			bc_workers_submit(w, &sl->job);
			next++;
		}
	}
	return ret;
}

/* End of a run of compressed writes: the packed bytes leave the file at any byte length;
 * like qemu, round it up to a whole sector so that sector-based readers see all of it. */
static int round_file_end(struct qcow2 *s)
{
	int64_t len = bc_file_length(s->file);

	if (len < 0)
		return (int)len;
	if (len % 512 == 0)
		return 0;
	return bc_file_truncate(s->file, qcow2_align_up((uint64_t)len, 512));
}

int qcow2_write_compressed(struct bc_image *img, uint64_t off, const void *buf, size_t len)
{
	struct qcow2 *s = img->priv;
	uint64_t cs = s->cluster_size;
	const uint8_t *p = buf;

	if (!s->writable)
		return -EROFS;
	if (s->h.crypt_method)
		return -ENOTSUP;   /* compressed clusters are not encrypted: refused, as qemu */
	if (s->corrupt)
		return -EIO;
	/* The compressed bytes would have to live in the data file, which has no room for
	 * byte-granular allocations; qemu refuses the same. */
	if (s->data_file != s->file)
		return -ENOTSUP;
	if (len == 0)
		return round_file_end(s);
	if (off & (cs - 1) || ((len & (cs - 1)) && off + len != img->size))
		return -EINVAL;
	qcow2_bitmaps_mark(s, off, len);
	struct bc_workers *w = len > cs ? bc_image_workers(img) : NULL;
	if (w)
		return write_parallel(s, w, off, p, len);
	while (len) {
		size_t n = len < cs ? len : (size_t)cs;
		int ret = write_one(s, off, p, n);
		if (ret < 0)
			return ret;
		off += n;
		p += n;
		len -= n;
	}
	return 0;
}
