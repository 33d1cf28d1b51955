/*
 * qcow2 unit tests: refcount entry packing, header parsing/validation over buffers (qemu's
 * messages), header serialization round trip with unknown extensions preserved, and the
 * driver end to end on an in-memory file against a shadow buffer (writes at odd offsets,
 * zeroes, discards, flush, check clean, reopen) for several geometries.
 */
#include "formats/qcow2/qcow2.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_rc_entries(void)
{
	uint8_t rb[512];

	for (uint32_t order = 0; order <= 6; order++) {
		uint64_t max = order == 6 ? UINT64_MAX : (1ull << (1u << order)) - 1;
		uint64_t n = 512 * 8 >> order;
		bool ok = true;
		memset(rb, 0, sizeof(rb));
		for (uint64_t i = 0; i < n; i++)
			qcow2_rc_set_entry(rb, order, i, (i * 7 + 3) & max);
		for (uint64_t i = 0; i < n; i++)
			ok &= qcow2_rc_get_entry(rb, order, i) == ((i * 7 + 3) & max);
		qcow2_rc_set_entry(rb, order, 1, 0);
		ok &= qcow2_rc_get_entry(rb, order, 0) == (3 & max);
		ok &= qcow2_rc_get_entry(rb, order, 2) == (17 & max);
		tap_ok(ok, "refcount entries of %u bits", 1u << order);
	}
	memset(rb, 0, sizeof(rb));
	qcow2_rc_set_entry(rb, 0, 3, 1);
	tap_ok(rb[0] == 0x08, "1-bit refcounts are packed from the low bit");
}

/* A minimal valid v3 header for 64 KiB clusters in a 4-cluster file. */
static void base_header(uint8_t *b)
{
	memset(b, 0, 65536);
	bc_wr_be32(b, QCOW2_MAGIC);
	bc_wr_be32(b + 4, 3);
	bc_wr_be32(b + 20, 16);
	bc_wr_be64(b + 24, 1 << 30);
	bc_wr_be32(b + 36, 2);
	bc_wr_be64(b + 40, 3 * 65536);
	bc_wr_be64(b + 48, 65536);
	bc_wr_be32(b + 56, 1);
	bc_wr_be32(b + 96, 4);
	bc_wr_be32(b + 100, 112);
}

static const char *parse_msg(const uint8_t *b, uint64_t fsize)
{
	static struct bc_err err;
	struct qcow2_header h;

	memset(&err, 0, sizeof(err));
	if (qcow2_header_parse(&h, b, 65536, fsize, false, &err) == 0) {
		qcow2_header_free(&h);
		return "";
	}
	return err.msg;
}

static void expect_msg(uint8_t *b, uint64_t fsize, const char *want, const char *what)
{
	const char *got = parse_msg(b, fsize);

	if (!tap_ok(strcmp(got, want) == 0, "%s", what))
		tap_diag("got '%s', want '%s'", got, want);
}

static void test_header_validation(void)
{
	uint8_t *b = malloc(65536);
	uint64_t fs = 4 * 65536;

	base_header(b);
	expect_msg(b, fs, "", "valid header parses");
	b[0] = 0;
	expect_msg(b, fs, "Image is not in qcow2 format", "bad magic");
	base_header(b);
	bc_wr_be32(b + 4, 4);
	expect_msg(b, fs, "Unsupported qcow2 version 4", "version 4");
	base_header(b);
	bc_wr_be32(b + 20, 8);
	expect_msg(b, fs, "Unsupported cluster size: 2^8", "cluster_bits 8");
	bc_wr_be32(b + 20, 22);
	expect_msg(b, fs, "Unsupported cluster size: 2^22", "cluster_bits 22");
	base_header(b);
	bc_wr_be32(b + 100, 100);
	expect_msg(b, fs, "qcow2 header too short", "header_length too short");
	bc_wr_be32(b + 20, 9);
	bc_wr_be32(b + 100, 1024);
	expect_msg(b, fs, "qcow2 header exceeds cluster size", "header_length > cluster");
	base_header(b);
	bc_wr_be64(b + 72, 1ull << 5);
	expect_msg(b, fs, "Unsupported qcow2 feature(s): Unknown incompatible feature: 20",
		   "unknown incompatible bit without a name");
	/* a feature-name table naming bit 5 */
	bc_wr_be32(b + 112, QCOW2_EXT_FEATURES);
	bc_wr_be32(b + 116, 48);
	b[120] = 0;
	b[121] = 5;
	strcpy((char *)b + 122, "teleportation");
	expect_msg(b, fs, "Unsupported qcow2 feature(s): teleportation",
		   "unknown incompatible bit named by the table");
	base_header(b);
	bc_wr_be32(b + 96, 7);
	expect_msg(b, fs, "Reference count entry width too large; may not exceed 64 bits",
		   "refcount_order 7");
	base_header(b);
	bc_wr_be64(b + 40, 9 * 65536);
	expect_msg(b, fs, "Active L1 table offset invalid", "L1 past the end of the file");
	base_header(b);
	bc_wr_be32(b + 36, 1);
	expect_msg(b, fs, "L1 table is too small", "L1 too small for the size");
	base_header(b);
	bc_wr_be32(b + 36, 0x10000000);
	expect_msg(b, fs, "Active L1 table too large", "huge l1_size");
	base_header(b);
	bc_wr_be64(b + 48, 65536 + 512);
	expect_msg(b, fs, "Reference count table offset invalid", "unaligned refcount table");
	bc_wr_be64(b + 48, 65536);
	bc_wr_be32(b + 56, 0x7fffffff);
	expect_msg(b, fs, "Reference count table too large", "huge refcount table");
	base_header(b);
	bc_wr_be64(b + 8, 70000);
	expect_msg(b, fs, "Invalid backing file offset", "backing offset past the cluster");
	base_header(b);
	bc_wr_be64(b + 8, 65000);
	bc_wr_be32(b + 16, 1000);
	expect_msg(b, fs, "Backing file name too long", "backing name past the cluster");
	base_header(b);
	bc_wr_be32(b + 60, 100000);
	expect_msg(b, fs, "Snapshot table too large", "too many snapshots");
	base_header(b);
	bc_wr_be32(b + 112, QCOW2_EXT_BACKING_FMT);
	bc_wr_be32(b + 116, 70000);
	expect_msg(b, fs, "Header extension too large", "extension longer than the cluster");
	base_header(b);
	expect_msg(b, 3 * 65536, "Active L1 table offset invalid", "truncated file");
	{
		struct qcow2_header h;
		struct bc_err e = { 0 };
		int r = qcow2_header_parse(&h, b, 60, 60, false, &e);
		tap_ok(r < 0 && !strcmp(e.msg, "qcow2 header too short"),
		       "file shorter than a v3 header (as qemu: %s)", e.msg);
	}
	free(b);
}

static void test_header_roundtrip(void)
{
	uint8_t *b = malloc(65536), *b2 = malloc(65536);
	struct qcow2_header h, h2;
	struct bc_err err = { 0 };
	int n;

	base_header(b);
	/* backing format, an unknown extension, then the backing name */
	bc_wr_be32(b + 112, QCOW2_EXT_BACKING_FMT);
	bc_wr_be32(b + 116, 5);
	memcpy(b + 120, "qcow2", 5);
	bc_wr_be32(b + 128, 0x12345678);
	bc_wr_be32(b + 132, 3);
	memcpy(b + 136, "abc", 3);
	bc_wr_be64(b + 8, 200);
	bc_wr_be32(b + 16, 8);
	memcpy(b + 200, "base.img", 8);
	tap_ok(qcow2_header_parse(&h, b, 65536, 4 * 65536, false, &err) == 0, "header with extensions parses");
	tap_ok(h.backing_file && !strcmp(h.backing_file, "base.img"), "backing file name");
	tap_ok(h.backing_fmt && !strcmp(h.backing_fmt, "qcow2"), "backing format extension");
	tap_ok(h.unknown && h.unknown->type == 0x12345678 && h.unknown->len == 3,
	       "unknown extension kept");
	n = qcow2_header_serialize(&h, b2, 65536);
	tap_ok(n > 0, "serializes");
	tap_ok(qcow2_header_parse(&h2, b2, 65536, 4 * 65536, false, &err) == 0, "serialized header parses");
	tap_ok(h2.unknown && h2.unknown->type == 0x12345678 && !memcmp(h2.unknown->data, "abc", 3),
	       "unknown extension preserved by a rewrite");
	tap_ok(h2.backing_file && !strcmp(h2.backing_file, "base.img") && h2.l1_size == 2 &&
		       h2.refcount_table_offset == 65536 && h2.size == (1u << 30),
	       "fields preserved by a rewrite");
	qcow2_header_free(&h);
	qcow2_header_free(&h2);
	free(b);
	free(b2);
}

/* ---- end to end on a memory file ---- */

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static struct bc_open_opts small_cache_opts;

static int open_mem(struct bc_image *img, struct bc_file *f)
{
	struct bc_err err = { 0 };
	int ret;

	memset(img, 0, sizeof(*img));
	img->open_opts = small_cache_opts.driver_opts ? &small_cache_opts : NULL;
	img->fmt = &bc_format_qcow2;
	img->file = f;
	img->filename = (char *)"mem.qcow2";
	img->flags = BC_OPEN_RDWR;
	ret = bc_format_qcow2.open(img, &err);
	if (ret < 0)
		tap_diag("open: %s", err.msg);
	return ret;
}

static void e2e(const char *opts_text, uint64_t size)
{
	char path[512];
	const char *tmp = getenv("TEST_TMPDIR");
	struct bc_opts *o = bc_opts_new();
	struct bc_err err = { 0 };
	struct bc_image img;
	struct bc_file *f = NULL, *mf;
	struct bc_check res;
	uint8_t *shadow = calloc(1, size), *buf = malloc(size), *data;
	size_t len;
	bool ok = true;
	int ret;

	snprintf(path, sizeof(path), "%s/e2e.qcow2", tmp ? tmp : "/tmp");
	char sz[32];
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	bc_opts_parse(o, opts_text, &err);
	bc_opts_set(o, "size", sz);
	ret = qcow2_create(path, o, &err);
	bc_opts_free(o);
	if (!tap_ok(ret == 0, "create %s", opts_text)) {
		tap_diag("%s", err.msg);
		goto out;
	}
	/* load the created file into memory */
	ret = bc_file_open(&f, path, 0, BC_IO_POSIX, &err);
	int64_t flen = ret == 0 ? bc_file_length(f) : -1;
	data = flen > 0 ? malloc((size_t)flen) : NULL;
	if (!data || bc_file_pread(f, data, (size_t)flen, 0) < 0) {
		tap_ok(false, "read created file");
		goto out;
	}
	bc_file_close(f);
	remove(path);
	ret = bc_file_open_mem(&mf, "mem.qcow2", data, (size_t)flen, 64u << 20);
	free(data);
	if (!tap_ok(ret == 0 && open_mem(&img, mf) == 0, "open %s in memory", opts_text))
		goto out;
	for (int i = 0; i < 200 && ok; i++) {
		uint64_t off = rnd() % size, n = rnd() % 20000 + 1;
		int op = (int)(rnd() % 8);
		if (off + n > size)
			n = size - off;
		if (op < 6) {
			for (uint64_t j = 0; j < n; j++)
				buf[j] = (uint8_t)(i + 1);
			ret = bc_format_qcow2.write(&img, off, buf, (size_t)n);
			memcpy(shadow + off, buf, (size_t)n);
		} else if (op == 6) {
			ret = bc_format_qcow2.write_zeroes(&img, off, n, (rnd() & 1) ? BC_ZERO_MAY_UNMAP : 0);
			if (ret == -ENOTSUP) {
				memset(buf, 0, (size_t)n);
				ret = bc_format_qcow2.write(&img, off, buf, (size_t)n);
			}
			memset(shadow + off, 0, (size_t)n);
		} else {
			struct qcow2 *s = img.priv;
			uint64_t cs = s->cluster_size, a = (off + cs - 1) / cs * cs;
			uint64_t b = off + n == size ? size : (off + n) / cs * cs;
			ret = bc_format_qcow2.discard(&img, off, n);
			/* as qemu: whole discarded clusters read 0 (also with extended L2, and the
			 * image's partial last one), partial ones are left */
			if (a < b)
				memset(shadow + a, 0, (size_t)(b - a));
		}
		ok &= ret == 0;
		if (!ok)
			tap_diag("op %d at %llu+%llu failed: %d", op, (unsigned long long)off,
				 (unsigned long long)n, ret);
	}
	tap_ok(ok, "random writes, zeroes and discards (%s)", opts_text);
	ret = bc_format_qcow2.read(&img, 0, buf, (size_t)size);
	tap_ok(ret == 0 && !memcmp(buf, shadow, (size_t)size), "read back matches (%s)", opts_text);
	tap_ok(bc_format_qcow2.flush(&img) == 0, "flush (%s)", opts_text);
	memset(&res, 0, sizeof(res));
	ret = bc_format_qcow2.check(&img, &res, 0, &err);
	if (!tap_ok(ret == 0 && !res.corruptions && !res.leaks && !res.check_errors,
		    "check clean (%s)", opts_text))
		for (int i = 0; i < res.nmessages && i < 10; i++)
			tap_diag("%s", res.messages[i]);
	bc_check_free(&res);
	bc_format_qcow2.close(&img);
	free(img.backing_name);
	free(img.backing_fmt);
	data = (uint8_t *)bc_file_mem_data(mf, &len);
	struct bc_file *mf2;
	ret = bc_file_open_mem(&mf2, "mem.qcow2", data, len, 64u << 20);
	bc_file_close(mf);
	if (ret == 0 && open_mem(&img, mf2) == 0) {
		ret = bc_format_qcow2.read(&img, 0, buf, (size_t)size);
		tap_ok(ret == 0 && !memcmp(buf, shadow, (size_t)size), "reopened reads back (%s)",
		       opts_text);
		ret = bc_format_qcow2.change_backing(&img, "base.img", "raw", &err);
		tap_ok(ret == 0, "change backing file (%s)", opts_text);
		bc_format_qcow2.close(&img);
		free(img.backing_name);
		free(img.backing_fmt);
		data = (uint8_t *)bc_file_mem_data(mf2, &len);
		struct bc_file *mf3;
		if (bc_file_open_mem(&mf3, "mem.qcow2", data, len, 64u << 20) == 0) {
			if (open_mem(&img, mf3) == 0) {
				struct qcow2 *s = img.priv;
				bool v3 = s->h.version >= 3;
				(void)v3;
				tap_ok(img.backing_name && !strcmp(img.backing_name, "base.img") &&
					       img.backing_fmt && !strcmp(img.backing_fmt, "raw"),
				       "new backing file in the header (%s)", opts_text);
				ret = bc_format_qcow2.read(&img, 0, buf, (size_t)size);
				tap_ok(ret == 0 && !memcmp(buf, shadow, (size_t)size),
				       "data unchanged by the header rewrite (%s)", opts_text);
				bc_format_qcow2.close(&img);
				free(img.backing_name);
				free(img.backing_fmt);
			}
			bc_file_close(mf3);
		}
		img.backing_name = img.backing_fmt = NULL;
	} else {
		tap_ok(false, "reopen (%s)", opts_text);
	}
	bc_file_close(mf2);
out:
	free(shadow);
	free(buf);
}

int main(void)
{
	test_rc_entries();
	test_header_validation();
	test_header_roundtrip();
	e2e("cluster_size=65536", 4u << 20);
	e2e("cluster_size=512,refcount_bits=1", 1u << 20);
	e2e("cluster_size=512,refcount_bits=64", 6u << 20);
	e2e("cluster_size=4096,compat=0.10", 2u << 20);
	e2e("cluster_size=65536,extended_l2=on", 4u << 20);
	e2e("cluster_size=16384,extended_l2=on,refcount_bits=8,lazy_refcounts=on", 2u << 20);
	e2e("cluster_size=2M", 8u << 20);
	/* tiny caches: eviction and write-back ordering on every few operations */
	small_cache_opts.driver_opts = bc_opts_new();
	bc_opts_set(small_cache_opts.driver_opts, "l2-cache-size", "1");
	bc_opts_set(small_cache_opts.driver_opts, "refcount-cache-size", "1");
	e2e("cluster_size=512", 2u << 20);
	e2e("cluster_size=512,refcount_bits=64,lazy_refcounts=on", 6u << 20);
	e2e("cluster_size=16384,extended_l2=on,refcount_bits=1", 4u << 20);
	bc_opts_free(small_cache_opts.driver_opts);
	return tap_done();
}
