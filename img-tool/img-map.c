/* strata-img map: the image's extents through the backing chain, as qemu-img map prints them. */
#include "img.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct map_entry {
	uint64_t start, length, offset;
	unsigned flags;
	int depth;
	const char *file;
	bool valid;
};

/* Adjacent extents merge when nothing but their position differs. */
static bool map_mergeable(const struct map_entry *a, const struct map_entry *b)
{
	if (!a->valid || a->flags != b->flags || a->depth != b->depth || a->start + a->length != b->start)
		return false;
	if (!(a->flags & BC_EXT_OFFSET))
		return true;
	return a->offset + a->length == b->offset && a->file && b->file && !strcmp(a->file, b->file);
}

static void map_print(const struct map_entry *e, enum img_output out, bool first)
{
	if (out == IMG_OUTPUT_JSON) {
		printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d, "
		       "\"present\": %s, \"zero\": %s, \"data\": %s", first ? "" : ",\n", e->start,
		       e->length, e->depth, (e->flags & BC_EXT_ALLOCATED) ? "true" : "false",
		       (e->flags & BC_EXT_ZERO) ? "true" : "false",
		       (e->flags & BC_EXT_DATA) ? "true" : "false");
		if (e->flags & BC_EXT_OFFSET)
			printf(", \"offset\": %" PRIu64, e->offset);
		printf("}");
		return;
	}
	/* qemu-img lists only extents that hold data, not data known to read as zeros */
	if ((e->flags & BC_EXT_DATA) && !(e->flags & BC_EXT_ZERO) && (e->flags & BC_EXT_OFFSET))
		printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", e->start, e->length,
		       e->offset, e->file ? e->file : "");
}

static int map_run(struct bc_image *img, uint64_t start, uint64_t end, enum img_output out)
{
	struct map_entry cur = { 0 };
	bool first = true;

	if (out == IMG_OUTPUT_HUMAN)
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
	else
		printf("[");
	for (uint64_t off = start; off < end;) {
		struct bc_extent ext;
		int ret = bc_block_status(img, off, end - off, &ext);
		if (ret < 0) {
			tool_error("Could not read file metadata: %s", strerror(-ret));
			return 1;
		}
		if (out == IMG_OUTPUT_HUMAN && (ext.flags & BC_EXT_DATA) && !(ext.flags & BC_EXT_ZERO) &&
		    !(ext.flags & BC_EXT_OFFSET)) {
			/* human output can only show data that sits plainly at a host offset */
			tool_error("File contains external, encrypted or compressed clusters.");
			return 1;
		}
		struct map_entry e = { .start = off, .length = ext.len, .offset = ext.host_off,
				       .flags = ext.flags & (BC_EXT_DATA | BC_EXT_ZERO | BC_EXT_ALLOCATED |
							     BC_EXT_OFFSET),
				       .depth = ext.depth, .file = ext.host_file, .valid = true };
		if (map_mergeable(&cur, &e)) {
			cur.length += e.length;
		} else {
			if (cur.valid) {
				map_print(&cur, out, first);
				first = false;
			}
			cur = e;
		}
		off += ext.len;
	}
	if (!cur.valid && out == IMG_OUTPUT_JSON) {
		/* qemu-img reports an empty window as one empty extent at its start */
		cur = (struct map_entry){ .start = start, .valid = true };
	}
	if (cur.valid)
		map_print(&cur, out, first);
	if (out == IMG_OUTPUT_JSON)
		printf("]\n");
	return 0;
}

int img_map(int argc, char **argv)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_OUTPUT,
		{ "start-offset", required_argument, NULL, 's' },
		{ "max-length", required_argument, NULL, 'l' },
		IMG_LONGOPT_FORCE_SHARE, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct img_common co = { 0 };
	uint64_t start = 0, max_len = UINT64_MAX;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:hU", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (bc_parse_size(optarg, &start) < 0)
				return tool_error("Invalid start offset specified! You may use k, M, G, T, P "
						  "or E suffixes for "), 1;
			break;
		case 'l':
			if (bc_parse_size(optarg, &max_len) < 0)
				return tool_error("Invalid length specified! You may use k, M, G, T, P or E "
						  "suffixes for "), 1;
			break;
		case 'h':
			printf("usage: %s map [-f fmt] [--start-offset=offset] [--max-length=len] "
			       "[--output=ofmt] [-U] filename\n", tool_name);
			return 0;
		default:
			if (img_common_opt(&co, c, argv))
				return 1;
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	const char *file = argv[optind];
	struct bc_open_opts o = { .format = co.fmt };
	struct bc_err err = { 0 };
	struct bc_image *img;
	if (img_common_flags(&co, &o.flags))
		return 1;
	if (bc_open(&img, file, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", file, err.msg);
		return 1;
	}
	uint64_t size = bc_length(img);
	uint64_t end = max_len < size - (start < size ? start : size) ? start + max_len : size;
	int ret = map_run(img, start, start < end ? end : start, co.output);
	bc_close(img);
	return ret;
}
