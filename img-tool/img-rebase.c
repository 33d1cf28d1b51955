/* strata-img rebase: point an image at a new backing file. The safe mode first copies into the
 * image every range it does not hold itself where the old and the new backing differ, so the
 * guest-visible content stays the same; -u only rewrites the pointer. */
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define REBASE_CHUNK (1u << 20)

/* Reads [off, off+len) of img, or zeros where img is absent or shorter. */
static int read_or_zero(struct bc_image *img, uint64_t off, uint8_t *buf, size_t len)
{
	size_t n = 0;

	if (img && off < bc_length(img)) {
		n = bc_length(img) - off < len ? (size_t)(bc_length(img) - off) : len;
		int ret = bc_read(img, off, buf, n);
		if (ret < 0)
			return ret;
	}
	memset(buf + n, 0, len - n);
	return 0;
}

/* Writes into top the 512-byte sectors where the old and new backing contents differ. */
static int rebase_copy_diff(struct bc_image *top, uint64_t off, const uint8_t *old,
			    const uint8_t *new, size_t len)
{
	for (size_t s = 0; s < len;) {
		size_t e = s;
		while (e < len && !memcmp(old + e, new + e, len - e < 512 ? len - e : 512))
			e += 512;
		s = e;
		while (e < len && memcmp(old + e, new + e, len - e < 512 ? len - e : 512))
			e += 512;
		if (e > len)
			e = len;
		if (e > s) {
			int ret = bc_write(top, off + s, old + s, e - s);
			if (ret < 0)
				return ret;
		}
		s = e;
	}
	return 0;
}

static int rebase_copy(struct bc_image *top, struct bc_image *newb)
{
	uint8_t *old = bc_alloc_aligned(REBASE_CHUNK), *new = bc_alloc_aligned(REBASE_CHUNK);
	uint64_t size = bc_length(top);
	int ret = old && new ? 0 : -ENOMEM;

	for (uint64_t off = 0; ret == 0 && off < size;) {
		struct bc_extent e;
		uint64_t want = size - off < REBASE_CHUNK ? size - off : REBASE_CHUNK;
		ret = bc_block_status_layer(top, off, want, &e);
		if (ret < 0)
			break;
		if (!(e.flags & BC_EXT_ALLOCATED)) {
			ret = read_or_zero(bc_backing(top), off, old, (size_t)e.len);
			if (ret == 0)
				ret = read_or_zero(newb, off, new, (size_t)e.len);
			if (ret == 0)
				ret = rebase_copy_diff(top, off, old, new, (size_t)e.len);
		}
		off += e.len;
	}
	free(old);
	free(new);
	if (ret < 0)
		tool_error("Error while copying to the rebased image: %s", strerror(-ret));
	return ret;
}

struct rebase_args {
	struct img_common co;               /* -t for the image, -T for the backing files */
	const char *backing, *backing_fmt, *filename;
	bool unsafe;
};

static int rebase_parse(int argc, char **argv, struct rebase_args *a)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_FORCE_SHARE, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hf:F:b:upt:T:qU", longopts, NULL)) != -1) {
		switch (c) {
		case 'F': a->backing_fmt = optarg; break;
		case 'b': a->backing = optarg; break;
		case 'u': a->unsafe = true; break;
		case 'p': break;
		case 'h':
			printf("usage: %s rebase [-U] [-q] [-f fmt] [-p] [-u] -b backing_file "
			       "[-F backing_fmt] filename\n", tool_name);
			return -1;
		default:
			if (img_common_opt(&a->co, c, argv))
				return 1;
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	if (!a->unsafe && !a->backing)
		return img_usage_error("Must specify backing file (-b) or use unsafe mode (-u)");
	a->filename = argv[optind];
	unsigned scratch = 0;
	if (tool_cache_flags(a->co.cache, &scratch) < 0 ||
	    tool_src_cache_flags(a->co.src_cache, &scratch) < 0)
		return 1;
	return 0;
}

/* The new backing file, relative to the overlay's host file (not to an --image-opts string). */
static int rebase_open_new(const struct rebase_args *a, const char *overlay, struct bc_image **out)
{
	struct bc_open_opts o = { .format = a->backing_fmt, .flags = a->co.share ? BC_OPEN_SHARE : 0 };
	struct bc_err err = { 0 };
	char *path = bc_resolve_relative(overlay, a->backing);
	int ret;

	tool_src_cache_flags(a->co.src_cache, &o.flags);   /* validated in rebase_parse */
	ret = path ? bc_open(out, path, &o, &err) : -ENOMEM;
	if (ret < 0)
		tool_error("Could not open new backing file '%s': %s", a->backing, err.msg);
	free(path);
	return ret;
}

int img_rebase(int argc, char **argv)
{
	struct rebase_args a = { 0 };
	struct bc_image *top = NULL, *newb = NULL;
	struct bc_err err = { 0 };
	int ret = rebase_parse(argc, argv, &a);

	if (ret)
		return ret < 0 ? 0 : ret;
	const char *backing = a.backing && a.backing[0] ? a.backing : NULL;
	struct bc_open_opts o = { .format = a.co.fmt, .flags = BC_OPEN_RDWR };
	tool_cache_flags(a.co.cache, &o.flags);   /* checked in rebase_parse */
	if (a.unsafe)
		o.flags |= BC_OPEN_NO_BACKING;
	if (img_image_opts_flags(a.co.image_opts, a.co.fmt, &o.flags))
		return 1;
	if (bc_open(&top, a.filename, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", a.filename, err.msg);
		return 1;
	}
	ret = 1;
	if (backing && !a.backing_fmt && !a.unsafe) {
		tool_error("Could not change the backing file to '%s': backing format must be specified",
			   backing);
		goto out;
	}
	if (!a.unsafe) {
		if (backing && rebase_open_new(&a, bc_filename(top), &newb) < 0)
			goto out;
		if (rebase_copy(top, newb) < 0)
			goto out;
	}
	int cret = bc_change_backing(top, backing, backing ? a.backing_fmt : NULL, &err);
	if (cret < 0) {
		tool_error("Could not change the backing file to '%s': %s", backing ? backing : "",
			   cret == -ENOTSUP ? strerror(ENOTSUP) : err.msg);
		goto out;
	}
	ret = 0;
out:
	bc_close(newb);
	if (bc_close(top) < 0 && ret == 0)
		ret = 1;
	return ret;
}
