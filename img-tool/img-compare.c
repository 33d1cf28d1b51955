/* strata-img compare: content equality of two images through their backing chains, with
 * qemu-img's messages and exit codes (0 identical, 1 different, 2 error). */
#include "img.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CMP_CHUNK (1u << 20)
#define CMP_STATUS (BC_EXT_ALLOCATED | BC_EXT_DATA | BC_EXT_ZERO)

struct cmp_ctx {
	struct bc_image *img[2];
	const char *name[2];
	uint8_t *buf[2];
	bool quiet, strict;
};

/* Offset of the first differing 512-byte sector, or -1 when equal (qemu reports sectors). */
static int64_t first_diff_sector(const uint8_t *a, const uint8_t *b, size_t len)
{
	for (size_t s = 0; s < len; s += 512) {
		size_t n = len - s < 512 ? len - s : 512;
		if (memcmp(a + s, b + s, n))
			return (int64_t)s;
	}
	return -1;
}

static int64_t first_nonzero_sector(const uint8_t *a, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (a[i])
			return (int64_t)(i / 512 * 512);
	return -1;
}

static int cmp_read(struct cmp_ctx *c, int which, uint64_t off, size_t len)
{
	int ret = bc_read(c->img[which], off, c->buf[which], len);

	if (ret < 0)
		tool_error("Error while reading offset %" PRIu64 " of %s: %s", off, c->name[which],
			   strerror(-ret));
	return ret;
}

static int cmp_mismatch(struct cmp_ctx *c, uint64_t off)
{
	if (!c->quiet)
		printf("Content mismatch at offset %" PRIu64 "!\n", off);
	return 1;
}

/* Both images over [0, end): 0 equal so far, 1 different, 2 error. */
static int cmp_common(struct cmp_ctx *c, uint64_t end)
{
	for (uint64_t off = 0; off < end;) {
		struct bc_extent e0, e1;
		uint64_t want = end - off < CMP_CHUNK ? end - off : CMP_CHUNK;
		if (bc_block_status(c->img[0], off, want, &e0) < 0 ||
		    bc_block_status(c->img[1], off, e0.len, &e1) < 0) {
			tool_error("Could not read file metadata");
			return 2;
		}
		size_t n = (size_t)(e0.len < e1.len ? e0.len : e1.len);
		if (c->strict && (e0.flags & CMP_STATUS) != (e1.flags & CMP_STATUS)) {
			if (!c->quiet)
				printf("Strict mode: Offset %" PRIu64 " block status mismatch!\n", off);
			return 1;
		}
		bool z0 = (e0.flags & BC_EXT_ZERO), z1 = (e1.flags & BC_EXT_ZERO);
		if (!(z0 && z1)) {
			if ((!z0 && cmp_read(c, 0, off, n) < 0) || (!z1 && cmp_read(c, 1, off, n) < 0))
				return 2;
			int64_t d = z0 ? first_nonzero_sector(c->buf[1], n)
			          : z1 ? first_nonzero_sector(c->buf[0], n)
			               : first_diff_sector(c->buf[0], c->buf[1], n);
			if (d >= 0)
				return cmp_mismatch(c, off + (uint64_t)d);
		}
		off += n;
	}
	return 0;
}

/* The longer image's tail must read as zeros. */
static int cmp_tail(struct cmp_ctx *c, int which, uint64_t start, uint64_t end)
{
	for (uint64_t off = start; off < end;) {
		struct bc_extent e;
		uint64_t want = end - off < CMP_CHUNK ? end - off : CMP_CHUNK;
		if (bc_block_status(c->img[which], off, want, &e) < 0) {
			tool_error("Could not read file metadata");
			return 2;
		}
		if (!(e.flags & BC_EXT_ZERO)) {
			if (cmp_read(c, which, off, (size_t)e.len) < 0)
				return 2;
			int64_t d = first_nonzero_sector(c->buf[which], (size_t)e.len);
			if (d >= 0)
				return cmp_mismatch(c, off + (uint64_t)d);
		}
		off += e.len;
	}
	return 0;
}

static int cmp_run(struct cmp_ctx *c)
{
	uint64_t s0 = bc_length(c->img[0]), s1 = bc_length(c->img[1]);
	int ret;

	if (s0 != s1) {
		if (c->strict) {
			if (!c->quiet)
				printf("Strict mode: Image size mismatch!\n");
			return 1;
		}
		if (!c->quiet)
			printf("Warning: Image size mismatch!\n");
	}
	ret = cmp_common(c, s0 < s1 ? s0 : s1);
	if (ret == 0 && s0 != s1)
		ret = s0 > s1 ? cmp_tail(c, 0, s1, s0) : cmp_tail(c, 1, s0, s1);
	if (ret == 0 && !c->quiet)
		printf("Images are identical.\n");
	return ret;
}

int img_compare(int argc, char **argv)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_FORCE_SHARE, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct cmp_ctx c = { 0 };
	struct img_common co = { 0 };
	const char *fmt[2] = { NULL, NULL };
	unsigned flags = 0;
	int opt, ret = 2;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hf:F:T:pqsU", longopts, NULL)) != -1) {
		switch (opt) {
		case 'F': fmt[1] = optarg; break;
		case 's': c.strict = true; break;
		case 'T':   /* compare's status 2 for a bad value, checked at once */
			if (tool_src_cache_flags(optarg, &flags) < 0)
				return 2;
			break;
		case 'p': break;
		case IMG_OPT_OBJECT:
			if (tool_object_add(optarg) < 0)
				return 2;
			break;
		case 'h':
			printf("usage: %s compare [-f fmt] [-F fmt] [-q] [-s] [-U] filename1 filename2\n",
			       tool_name);
			return 0;
		default:
			if (img_common_opt(&co, opt, argv))
				return 1;
		}
	}
	fmt[0] = co.fmt;
	c.quiet = co.quiet;
	if (co.share)
		flags |= BC_OPEN_SHARE;
	if (optind != argc - 2) {
		img_usage_error("Expecting two image file names");
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		struct bc_open_opts o = { .format = fmt[i], .flags = flags };
		struct bc_err err = { 0 };
		c.name[i] = argv[optind + i];
		if (img_image_opts_flags(co.image_opts, fmt[i], &o.flags))
			goto out;
		if (bc_open(&c.img[i], c.name[i], &o, &err) < 0) {
			tool_error("Could not open '%s': %s", c.name[i], err.msg);
			goto out;
		}
		c.buf[i] = bc_alloc_aligned(CMP_CHUNK);
		if (!c.buf[i]) {
			tool_error("Out of memory");
			goto out;
		}
	}
	ret = cmp_run(&c);
out:
	for (int i = 0; i < 2; i++) {
		bc_close(c.img[i]);
		free(c.buf[i]);
	}
	return ret;
}
