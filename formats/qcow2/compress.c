/*
 * Compressed clusters, the writing side (zlib raw deflate with a 4 KiB window, or zstd when
 * the header's compression_type says so); reading them is inflate.c's, below the mapping.
 *
 * Raw deflate comes from zlib (qemu's level 6) or from ISA-L's igzip (several times faster),
 * chosen per epoch of EPOCH clusters by sampling: every SAMPLE-th cluster is deflated by both
 * (and stored as zlib made it), and an epoch uses igzip only when, on the samples of the epoch
 * two before it, igzip's output was at most 1% larger than zlib's (docs/qcow2.md, "Deflate
 * codecs"). The choice depends only on the data and the order of the clusters, never on
 * the threads, so the file is the same for any number of workers.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define EPOCH 256u             /* clusters that share one deflate codec choice */
#define SAMPLE 16u             /* every SAMPLE-th cluster is deflated by both codecs */
#define ISAL_LEVEL 3u          /* igzip's best: closest to zlib's level 6 in size */
#define ISAL_LEVEL_BUF ISAL_DEF_LVL3_DEFAULT

/* How a cluster is deflated (compression_type 0): zlib at qemu's parameters, zlib with a
 * shorter match search (DEFL_ZLIB_FAST), igzip, or zlib and igzip (a sample). */
enum { DEFL_ZLIB, DEFL_ZLIB_FAST, DEFL_ISAL, DEFL_BOTH };

/* DEFL_ZLIB_FAST: level 6's lazy matching (good 8, lazy 16) with the hash chains searched 16
 * deep instead of 128 and a match of 64 bytes taken as good enough (128): on binaries and
 * source text, where igzip loses, about 0.7-0.8x zlib's CPU for 0.4-0.9% more bytes
 * (docs/qcow2.md, "Deflate codecs"). */
#define FAST_GOOD 8
#define FAST_LAZY 16
#define FAST_NICE 64
#define FAST_CHAIN 16

/* A compression context: setting up a deflate stream or a zstd context for every cluster
 * would cost more than compressing small clusters, so they are kept for the life of the image
 * (one per thread that compresses at a time, handed out from the compressor's idle list). */
struct codec {
	z_stream z;
	bool z_ready;
	struct isal_zstream iz;
	uint8_t *ilvl;               /* igzip's working memory for ISAL_LEVEL */
	uint8_t *alt;                /* a sample's second result */
	ZSTD_CCtx *zstd;
	uint8_t *pad;                /* a short last cluster padded with zeros */
	struct codec *next_idle, *next_all;
};

/* One cluster compressed on a codec worker: the job, its input and its result. */
struct comp_slot {
	struct bc_job job;
	struct qcow2_compressor *c;
	const uint8_t *in;
	size_t n;                    /* < cs only for the image's last cluster */
	uint8_t *out;                /* cs - 1 bytes */
	uint64_t seq;                /* the cluster's number in the compressor's order */
	uint8_t how;                 /* DEFL_* */
	long clen;                   /* result: compress_cluster's */
	uint64_t zlen, ilen;         /* result of a sample: each codec's size (cs: no fit) */
};

struct qcow2_compressor {
	pthread_mutex_t lock;        /* guards idle: jobs take codecs on any thread */
	struct codec *idle, *all;
	uint8_t type;                /* compression_type */
	size_t cs;
	uint8_t *out;                /* the submitting thread's, for single clusters */
	struct comp_slot *slots;     /* clusters in flight on the workers */
	int nslots;
	uint64_t seq;                /* clusters handed to a codec so far */
	uint8_t how;                 /* the current epoch's deflate codec */
	uint64_t samp_z[4], samp_i[4];  /* sampled sizes by epoch, a ring */
};

static void codec_free(struct codec *c)
{
	if (c->z_ready)
		deflateEnd(&c->z);
	free(c->ilvl);
	free(c->alt);
	ZSTD_freeCCtx(c->zstd);
	free(c->pad);
	free(c);
}

void qcow2_compress_free(struct qcow2 *s)
{
	struct qcow2_compressor *c = s->comp;

	if (!c)
		return;
	while (c->all) {
		struct codec *next = c->all->next_all;
		codec_free(c->all);
		c->all = next;
	}
	for (int i = 0; i < c->nslots; i++)
		free(c->slots[i].out);
	free(c->slots);
	free(c->out);
	pthread_mutex_destroy(&c->lock);
	free(c);
	s->comp = NULL;
}

/*
 * zstd: qemu compresses at the default level (3), which for a cluster-sized input means the
 * "double fast" matcher. The single "fast" matcher with a 2^17 hash table and 5-byte minimum
 * matches gives output within about 1% of that size (text: slightly smaller; binaries: about
 * 1% larger) in about two thirds of the CPU time; the frames are ordinary zstd frames.
 */
static int zstd_setup(ZSTD_CCtx *z)
{
	size_t r = ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, ZSTD_CLEVEL_DEFAULT);

	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(z, ZSTD_c_strategy, ZSTD_fast);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(z, ZSTD_c_hashLog, 17);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(z, ZSTD_c_minMatch, 5);
	return ZSTD_isError(r) ? -EINVAL : 0;
}

static struct codec *codec_new(uint8_t type, size_t cs)
{
	struct codec *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (!(c->pad = malloc(cs)))
		goto fail;
	if (type == 0) {
		/* qemu's parameters: default level, raw deflate, 4 KiB window, memLevel 9 */
		if (deflateInit2(&c->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			goto fail;
		c->z_ready = true;
		if (!(c->ilvl = malloc(ISAL_LEVEL_BUF)) || !(c->alt = malloc(cs)))
			goto fail;
	} else if (!(c->zstd = ZSTD_createCCtx()) || zstd_setup(c->zstd) < 0) {
		goto fail;
	}
	return c;
fail:
	codec_free(c);
	return NULL;
}

/* An idle codec, or a new one: there are never more than the threads compressing at once. */
static struct codec *codec_take(struct qcow2_compressor *c)
{
	struct codec *k;

	pthread_mutex_lock(&c->lock);
	k = c->idle;
	if (k) {
		c->idle = k->next_idle;
	} else if ((k = codec_new(c->type, c->cs))) {
		k->next_all = c->all;
		c->all = k;
	}
	pthread_mutex_unlock(&c->lock);
	return k;
}

static void codec_give(struct qcow2_compressor *c, struct codec *k)
{
	pthread_mutex_lock(&c->lock);
	k->next_idle = c->idle;
	c->idle = k;
	pthread_mutex_unlock(&c->lock);
}

static int compressor_get(struct qcow2 *s, struct qcow2_compressor **out)
{
	struct qcow2_compressor *c = s->comp;

	if (c && c->type != s->h.compression_type) {   /* amend (downgrade) changed it */
		qcow2_compress_free(s);
		c = NULL;
	}
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		pthread_mutex_init(&c->lock, NULL);
		c->type = s->h.compression_type;
		c->cs = s->cluster_size;
		s->comp = c;
	}
	if (!c->out && !(c->out = malloc(c->cs)))
		return -ENOMEM;
	*out = c;
	return 0;
}

/* zlib raw deflate of one cluster into out (cs - 1 bytes): the length, 0 when it does not
 * fit, or -EIO. fast: DEFL_ZLIB_FAST's search (deflateReset restores level 6's). */
static long deflate_zlib(struct codec *k, const uint8_t *in, size_t cs, uint8_t *out, bool fast)
{
	if (deflateReset(&k->z) != Z_OK)
		return -EIO;
	if (fast && deflateTune(&k->z, FAST_GOOD, FAST_LAZY, FAST_NICE, FAST_CHAIN) != Z_OK)
		return -EIO;
	k->z.next_in = (Bytef *)in;
	k->z.avail_in = (uInt)cs;
	k->z.next_out = out;
	k->z.avail_out = (uInt)(cs - 1);
	int ret = deflate(&k->z, Z_FINISH);
	if (ret == Z_STREAM_END)
		return (long)(cs - 1 - k->z.avail_out);
	return ret == Z_OK || ret == Z_BUF_ERROR ? 0 : -EIO;
}

/* The same with igzip. hist_bits 12: qemu inflates with a 4 KiB window, so no match may
 * reach further back than 4096 bytes (igzip's default is 32 KiB). */
static long deflate_isal(struct codec *k, const uint8_t *in, size_t cs, uint8_t *out)
{
	struct isal_zstream *z = &k->iz;

	isal_deflate_stateless_init(z);
	z->level = ISAL_LEVEL;
	z->level_buf = k->ilvl;
	z->level_buf_size = ISAL_LEVEL_BUF;
	z->hist_bits = 12;
	z->end_of_stream = 1;
	z->flush = NO_FLUSH;
	z->gzip_flag = IGZIP_DEFLATE;
	z->next_in = (uint8_t *)in;
	z->avail_in = (uint32_t)cs;
	z->next_out = out;
	z->avail_out = (uint32_t)(cs - 1);
	int ret = isal_deflate_stateless(z);
	qcow2_isal_done();
	if (ret == COMP_OK)
		return (long)z->total_out;
	return ret == STATELESS_OVERFLOW ? 0 : -EIO;
}

/* A sample: both codecs, each one's size in sl (cs: no fit), zlib's stream in out (so that
 * where zlib is chosen the file is byte for byte qemu-img's). */
static long deflate_both(struct codec *k, const uint8_t *in, size_t cs, uint8_t *out,
			 struct comp_slot *sl)
{
	long zl = deflate_zlib(k, in, cs, out, false), il = deflate_isal(k, in, cs, k->alt);

	if (zl < 0 || il < 0)
		return -EIO;
	sl->zlen = zl ? (uint64_t)zl : cs;
	sl->ilen = il ? (uint64_t)il : cs;
	return zl;
}

/* Compresses sl's input (n bytes, padded to cs with zeros) into sl->out, at most cs - 1
 * bytes. Returns the length, 0 when the result would not fit (the cluster is then stored
 * uncompressed), or -errno. Touches nothing but k and sl: it runs on the workers. */
static long compress_cluster(struct codec *k, uint8_t type, struct comp_slot *sl, size_t cs)
{
	const uint8_t *in = sl->in;
	uint8_t *out = sl->out;

	if (sl->n < cs) {
		/* compressed clusters always decompress to a whole cluster: pad with zeros */
		memcpy(k->pad, in, sl->n);
		memset(k->pad + sl->n, 0, cs - sl->n);
		in = k->pad;
	}
	if (type == 1) {
		size_t r = ZSTD_compress2(k->zstd, out, cs - 1, in, cs);
		if (ZSTD_isError(r))
			return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? 0 : -EIO;
		return (long)r;
	}
	if (sl->how == DEFL_BOTH)
		return deflate_both(k, in, cs, out, sl);
	if (sl->how == DEFL_ISAL)
		return deflate_isal(k, in, cs, out);
	return deflate_zlib(k, in, cs, out, sl->how == DEFL_ZLIB_FAST);
}

/* The deflate codec of epoch e: igzip when on the samples of epoch e - 2 (all stored by
 * now: at most EPOCH clusters are in flight) its output was at most 1% larger than zlib's,
 * zlib with the shorter search otherwise; the first two epochs are qemu's zlib, so small
 * images come out as qemu-img makes them. */
static uint8_t epoch_codec(const struct qcow2_compressor *c, uint64_t e)
{
	if (e < 2)
		return DEFL_ZLIB;
	uint64_t z = c->samp_z[(e - 2) % 4], i = c->samp_i[(e - 2) % 4];
	return z && i * 100 <= z * 101 ? DEFL_ISAL : DEFL_ZLIB_FAST;
}

/* Numbers the next cluster handed to a codec and says how it is deflated. */
static void slot_plan(struct qcow2_compressor *c, struct comp_slot *sl)
{
	uint64_t j = c->seq++;

	sl->seq = j;
	if (j % EPOCH == 0)
		c->how = epoch_codec(c, j / EPOCH);
	sl->how = j % SAMPLE == 0 ? DEFL_BOTH : c->how;
}

/* A compressed cluster's sample sizes into its epoch's sums; called in cluster order. */
static void slot_note(struct qcow2_compressor *c, const struct comp_slot *sl)
{
	uint64_t r = sl->seq / EPOCH % 4;

	if (sl->seq % EPOCH == 0)
		c->samp_z[r] = c->samp_i[r] = 0;
	/* clusters that fit neither codec say nothing about which is smaller */
	if (sl->how == DEFL_BOTH && sl->clen >= 0 && c->type == 0 &&
	    sl->zlen + sl->ilen < 2 * c->cs) {
		c->samp_z[r] += sl->zlen;
		c->samp_i[r] += sl->ilen;
	}
}

/* One cluster with a codec from the idle list, on whatever thread calls it. */
static long compress_with(struct qcow2_compressor *c, struct comp_slot *sl)
{
	struct codec *k = codec_take(c);
	long clen;

	if (!k)
		return -ENOMEM;
	clen = compress_cluster(k, c->type, sl, c->cs);
	codec_give(c, k);
	return clen;
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
	struct comp_slot sl = { .c = c, .in = data, .n = n, .out = c->out };
	slot_plan(c, &sl);
	sl.clen = compress_with(c, &sl);
	slot_note(c, &sl);
	return store_one(s, off, data, n, c->out, sl.clen);
}

static void slot_run(struct bc_job *job)
{
	struct comp_slot *sl = (struct comp_slot *)job;

	sl->clen = compress_with(sl->c, sl);
}

/* Clusters in flight: 32 per worker (at most 16 MiB of output buffers, at least two per
 * worker, at most EPOCH: epoch_codec reads sums that must be complete), so that on a loaded host a worker or this thread waiting long for a CPU does not
 * leave the others without work. The slots hold only input pointers and output buffers; the
 * codecs are per running thread. */
static int slots_get(struct qcow2_compressor *c, int workers)
{
	if (c->slots)
		return 0;
	size_t want = 32 * (size_t)workers, cap = (16u << 20) / c->cs;
	if (want > cap)
		want = cap;
	if (want < 2 * (size_t)workers)
		want = 2 * (size_t)workers;
	if (want > EPOCH)
		want = EPOCH;
	c->slots = calloc(want, sizeof(*c->slots));
	if (!c->slots)
		return -ENOMEM;
	c->nslots = (int)want;
	for (int i = 0; i < c->nslots; i++) {
		c->slots[i].job.run = slot_run;
		c->slots[i].c = c;
		if (!(c->slots[i].out = malloc(c->cs))) {
			while (i--)
				free(c->slots[i].out);
			free(c->slots);
			c->slots = NULL;
			c->nslots = 0;
			return -ENOMEM;
		}
	}
	return 0;
}

static void slot_submit(struct bc_workers *w, struct comp_slot *sl, const uint8_t *p, size_t len,
			uint64_t i, uint64_t cs)
{
	sl->in = p + i * cs;
	sl->n = len - i * cs < cs ? (size_t)(len - i * cs) : (size_t)cs;
	slot_plan(sl->c, sl);
	bc_workers_submit(w, &sl->job);
}

/* Several clusters: compressed on the codec workers, stored here in order (the packed byte
 * allocation and the L2 entries come out exactly as one thread would make them, so the file
 * does not depend on which thread compressed what). */
static int write_parallel(struct qcow2 *s, struct bc_workers *w, uint64_t off, const uint8_t *p,
			  size_t len)
{
	uint64_t cs = s->cluster_size, n_cl = (len + cs - 1) / cs;
	struct qcow2_compressor *c;
	int nslots, ret = compressor_get(s, &c);

	if (ret == 0)
		ret = slots_get(c, bc_workers_count(w));
	if (ret < 0)
		return ret;
	nslots = (uint64_t)c->nslots > n_cl ? (int)n_cl : c->nslots;
	uint64_t next = 0;   /* next cluster to submit */
	for (; next < (uint64_t)nslots; next++)
		slot_submit(w, &c->slots[next], p, len, next, cs);
	for (uint64_t i = 0; i < n_cl; i++) {
		struct comp_slot *sl = &c->slots[i % (uint64_t)nslots];
		bc_workers_wait(w, &sl->job);
		slot_note(c, sl);
		if (ret == 0)
			ret = store_one(s, off + i * cs, sl->in, sl->n, sl->out, sl->clen);
		if (ret == 0 && next < n_cl)   /* the slot is free again: the next cluster */
			slot_submit(w, sl, p, len, next++, cs);
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
