/* strata-img commit: writes what the image (and any layer above the base) holds into its base
 * image, then empties the image so it reads through to the base again. */
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define COMMIT_CHUNK (1u << 20)

/* Copies every range decided above depth base_depth into base. */
static int commit_copy(struct bc_image *top, struct bc_image *base, int base_depth)
{
	uint8_t *buf = bc_alloc_aligned(COMMIT_CHUNK);
	uint64_t size = bc_length(top);
	int ret = buf ? 0 : -ENOMEM;

	for (uint64_t off = 0; ret == 0 && off < size;) {
		struct bc_extent e;
		uint64_t want = size - off < COMMIT_CHUNK ? size - off : COMMIT_CHUNK;
		ret = bc_block_status(top, off, want, &e);
		if (ret < 0)
			break;
		if ((e.flags & BC_EXT_ALLOCATED) && e.depth < base_depth) {
			if ((e.flags & BC_EXT_ZERO) && !(e.flags & BC_EXT_DATA))
				ret = bc_write_zeroes(base, off, e.len, BC_ZERO_MAY_UNMAP);
			else if ((ret = bc_read(top, off, buf, (size_t)e.len)) == 0)
				ret = bc_write(base, off, buf, (size_t)e.len);
		}
		off += e.len;
	}
	free(buf);
	return ret;
}

/* The layer called name in top's chain (as given, or resolved like a backing file); depth out. */
/* Whether a and b name the same existing file. */
static bool commit_same_file(const char *a, const char *b)
{
	char *ra = realpath(a, NULL), *rb = realpath(b, NULL);
	bool same = ra && rb && !strcmp(ra, rb);

	free(ra);
	free(rb);
	return same;
}

/* -b NAME as qemu finds a backing image: at each layer NAME is taken relative to the directory
 * of the image above it (as that image's backing file name is), never to the working one. */
static struct bc_image *commit_find_base(struct bc_image *top, const char *name, int *depth)
{
	struct bc_image *up = top, *l = bc_backing(top);

	for (*depth = 1; l; up = l, l = bc_backing(l), (*depth)++) {
		char *resolved = bc_resolve_relative(bc_filename(up), name);
		bool found = resolved && commit_same_file(resolved, bc_filename(l));
		free(resolved);
		if (found)
			break;
	}
	return l;
}

int img_commit(int argc, char **argv)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct img_common co = { 0 };
	const char *base_name = NULL;
	bool drop = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:ht:b:dpqr:", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': base_name = optarg; drop = true; break;   /* -b implies -d, as in qemu-img */
		case 'd': drop = true; break;
		case 'p': case 'r': break;
		case 'h':
			printf("usage: %s commit [-q] [-f fmt] [-b base] [-d] filename\n", tool_name);
			return 0;
		default:
			if (img_common_opt(&co, c, argv))
				return 1;
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	const char *file = argv[optind];
	struct bc_open_opts o = { .format = co.fmt, .flags = BC_OPEN_RDWR | BC_OPEN_BACKING_RDWR };
	struct bc_err err = { 0 };
	struct bc_image *top, *base;
	int depth = 1, ret = 1;
	if (img_common_flags(&co, &o.flags))
		return 1;
	if (bc_open(&top, file, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", file, err.msg);
		return 1;
	}
	base = base_name ? commit_find_base(top, base_name, &depth) : bc_backing(top);
	if (!bc_backing(top)) {
		tool_error("Image does not have a backing file");
		goto out;
	}
	if (!base) {
		tool_error("Did not find '%s' in the backing chain of '%s'", base_name, file);
		goto out;
	}
	if (bc_length(base) < bc_length(top) &&
	    bc_truncate(base, bc_length(top), BC_PREALLOC_OFF, false, &err) < 0) {
		tool_error("%s", err.msg);
		goto out;
	}
	int cret = commit_copy(top, base, depth);
	if (cret == 0)
		cret = bc_flush(base);
	if (cret < 0) {
		tool_error("Block job failed: %s", strerror(-cret));
		goto out;
	}
	/* a format that cannot empty itself (vmdk) keeps its data, as with qemu-img */
	if (!drop && (cret = bc_make_empty(top, &err)) < 0 && cret != -ENOTSUP) {
		tool_error("%s", err.msg);
		goto out;
	}
	if (!co.quiet)
		printf("Image committed.\n");
	ret = 0;
out:
	if (bc_close(top) < 0 && ret == 0)
		ret = 1;
	return ret;
}
