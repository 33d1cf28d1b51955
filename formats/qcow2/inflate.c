/*
 * Compressed clusters, the reading side: where a compressed cluster's bytes are (its L2
 * descriptor) and inflating them (zlib raw deflate with a 4 KiB window, or zstd when the
 * header's compression_type says so) into the one-cluster cache s->cbuf. The writing side,
 * above the mapping layer, is compress.c.
 *
 * zlib clusters are inflated by ISA-L's igzip first (1.6-2.2x faster than zlib, measured on
 * 64 KiB clusters of text and of a kernel image); anything it does not decode into exactly a
 * whole cluster goes to zlib, whose verdict then stands, as in qemu.
 */
#include "qcow2.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <isa-l/igzip_lib.h>
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

/*
 * igzip's AVX-512 routines return with the upper halves of the vector registers in use (no
 * vzeroupper), and every SSE instruction after that pays a transition penalty: zlib's deflate
 * on the same thread ran at half speed (1.64 s instead of 0.80 s of CPU for 31 MB when one
 * cluster in 16 went through igzip). Called after each igzip call, here and in compress.c.
 */
void qcow2_isal_done(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (__builtin_cpu_supports("avx"))
		__asm__ volatile("vzeroupper");
#endif
}

/* 0 when igzip inflated in into exactly outlen bytes; otherwise zlib decides. */
static int inflate_deflate(struct qcow2 *s, const uint8_t *in, size_t inlen, uint8_t *out,
			   size_t outlen)
{
	struct inflate_state *st = s->istate;

	if (!st && !(st = s->istate = malloc(sizeof(*st))))
		return -ENOMEM;
	isal_inflate_init(st);
	st->next_in = (uint8_t *)in;
	st->avail_in = (uint32_t)inlen;
	st->next_out = out;
	st->avail_out = (uint32_t)outlen;
	st->crc_flag = ISAL_DEFLATE;
	int ret = isal_inflate_stateless(st);
	qcow2_isal_done();
	if (ret == ISAL_DECOMP_OK && st->avail_out == 0)
		return 0;
	return inflate_zlib(in, inlen, out, outlen);
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
			ret = s->h.compression_type
				? inflate_zstd(in, clen, s->cbuf, s->cluster_size)
				: inflate_deflate(s, in, clen, s->cbuf, s->cluster_size);
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
