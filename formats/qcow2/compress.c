/*
 * Compressed clusters: reading and writing (zlib raw deflate with a 4 KiB window, or zstd when
 * the header's compression_type says so).
 *
 * A compressed write stores one whole guest cluster as the compressed bytes at a byte offset
 * of the host file; consecutive compressed clusters are packed one after the other
 * (qcow2_alloc_bytes), so a host cluster may hold the tails and heads of several and has one
 * reference per compressed cluster that touches it. Data that does not shrink below
 * cluster_size - 1 bytes is written as a normal cluster instead, as qemu does.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

void qcow2_compressed_range(const struct qcow2 *s, uint64_t e, uint64_t *host, uint64_t *len)
{
	uint32_t x = 62 - (s->cluster_bits - 8);
	uint64_t nsec = ((e >> x) & ((1ull << (s->cluster_bits - 8)) - 1)) + 1;

	*host = e & ((1ull << x) - 1);
	*len = nsec * 512 - (*host & 511);
}

static int inflate_zlib(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	z_stream z;
	int ret;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -12) != Z_OK)
		return -EIO;
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)outlen;
	ret = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	if ((ret != Z_STREAM_END && ret != Z_BUF_ERROR) || z.avail_out)
		return -EIO;
	return 0;
}

static int inflate_zstd(const uint8_t *in, size_t inlen, uint8_t *out, size_t outlen)
{
	ZSTD_DStream *d = ZSTD_createDStream();
	ZSTD_inBuffer ib = { in, inlen, 0 };
	ZSTD_outBuffer ob = { out, outlen, 0 };
	size_t r;

	if (!d)
		return -ENOMEM;
	do {
		r = ZSTD_decompressStream(d, &ob, &ib);
	} while (!ZSTD_isError(r) && ob.pos < outlen && ib.pos < inlen);
	ZSTD_freeDStream(d);
	if (ZSTD_isError(r) || ob.pos != outlen)
		return -EIO;
	return 0;
}

int qcow2_read_compressed(struct qcow2 *s, uint64_t entry, uint64_t in_cluster, uint8_t *buf,
			  size_t len)
{
	uint64_t host, clen;
	uint8_t *in;
	int ret;

	if (!s->cbuf) {
		s->cbuf = malloc(s->cluster_size);
		if (!s->cbuf)
			return -ENOMEM;
		s->cbuf_entry = 0;
	}
	if (s->cbuf_entry != entry) {
		qcow2_compressed_range(s, entry, &host, &clen);
		if (host < s->cluster_size)
			return qcow2_mark_corrupt(s, "Compressed cluster at %#llx overlaps with "
						     "metadata", (unsigned long long)host);
		in = malloc(clen);
		if (!in)
			return -ENOMEM;
		ret = bc_file_pread(s->data_file, in, clen, host);
		if (ret == 0)
			ret = s->h.compression_type ? inflate_zstd(in, clen, s->cbuf, s->cluster_size)
						    : inflate_zlib(in, clen, s->cbuf, s->cluster_size);
		free(in);
		if (ret < 0) {
			s->cbuf_entry = 0;
			return ret;
		}
		s->cbuf_entry = entry;
	}
	memcpy(buf, s->cbuf + in_cluster, len);
	return 0;
}

/* Compression contexts and the output buffer, kept for the life of the image: setting up a
 * deflate stream for every cluster would cost more than compressing small clusters. */
struct qcow2_compressor {
	z_stream z;
	bool z_ready;
	ZSTD_CCtx *zstd;
	uint8_t *out;
};

void qcow2_compress_free(struct qcow2 *s)
{
	struct qcow2_compressor *c = s->comp;

	if (!c)
		return;
	if (c->z_ready)
		deflateEnd(&c->z);
	ZSTD_freeCCtx(c->zstd);
	free(c->out);
	free(c);
	s->comp = NULL;
}

static int compressor_get(struct qcow2 *s, struct qcow2_compressor **out)
{
	struct qcow2_compressor *c = s->comp;

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		s->comp = c;
		c->out = malloc(s->cluster_size);
		if (!c->out)
			return -ENOMEM;
	}
	if (s->h.compression_type == 0 && !c->z_ready) {
		/* qemu's parameters: default level, raw deflate, 4 KiB window, memLevel 9 */
		if (deflateInit2(&c->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		c->z_ready = true;
	}
	if (s->h.compression_type == 1 && !c->zstd) {
		c->zstd = ZSTD_createCCtx();
		if (!c->zstd)
			return -ENOMEM;
	}
	*out = c;
	return 0;
}

/* Compresses in into c->out (at most cap bytes). Returns the length, 0 when the result would
 * not fit (the cluster is then stored uncompressed), or -errno. */
static long compress_cluster(struct qcow2 *s, struct qcow2_compressor *c, const uint8_t *in,
			     size_t len, size_t cap)
{
	if (s->h.compression_type == 1) {
		size_t r = ZSTD_compressCCtx(c->zstd, c->out, cap, in, len, ZSTD_CLEVEL_DEFAULT);
		if (ZSTD_isError(r))
			return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? 0 : -EIO;
		return (long)r;
	}
	if (deflateReset(&c->z) != Z_OK)
		return -EIO;
	c->z.next_in = (Bytef *)in;
	c->z.avail_in = (uInt)len;
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

/* One cluster at cluster-aligned off; n < cluster_size only for the image's last cluster. */
static int write_one(struct qcow2 *s, uint64_t off, const uint8_t *data, size_t n)
{
	uint64_t cs = s->cluster_size, host;
	struct qcow2_compressor *c;
	const uint8_t *in = data;
	long clen;
	int ret = compressor_get(s, &c);

	if (ret < 0)
		return ret;
	if (n < cs) {
		/* compressed clusters always decompress to a whole cluster: pad with zeros */
		memcpy(s->buf, data, n);
		memset(s->buf + n, 0, cs - n);
		in = s->buf;
	}
	clen = compress_cluster(s, c, in, cs, cs - 1);
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
	ret = bc_file_pwrite(s->file, c->out, (size_t)clen, host);
	if (ret < 0)
		return ret;
	return qcow2_set_compressed(s, off, compressed_entry(s, host, (uint64_t)clen));
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
