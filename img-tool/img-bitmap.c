/* strata-img bitmap: add, remove, clear, enable, disable and merge persistent dirty bitmaps,
 * the actions applied in command-line order as qemu-img does. */
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define BM_MAX_ACTIONS 64

struct bm_action {
	enum bc_bitmap_op op;
	const char *src; /* --merge SOURCE */
};

struct bm_args {
	struct bm_action act[BM_MAX_ACTIONS];
	int nact;
	struct img_common co;
	const char *src_file, *src_fmt, *filename, *name;
	uint64_t granularity;
	bool has_gran, add;
};

static const char *op_name(enum bc_bitmap_op op)
{
	switch (op) {
	case BC_BITMAP_ADD: return "add";
	case BC_BITMAP_REMOVE: return "remove";
	case BC_BITMAP_CLEAR: return "clear";
	case BC_BITMAP_ENABLE: return "enable";
	case BC_BITMAP_DISABLE: return "disable";
	case BC_BITMAP_MERGE: return "merge";
	default: return "?";
	}
}

static int bm_push(struct bm_args *a, enum bc_bitmap_op op, const char *src)
{
	if (a->nact == BM_MAX_ACTIONS) {
		tool_error("Too many bitmap actions");
		return 1;
	}
	a->act[a->nact].op = op;
	a->act[a->nact++].src = src;
	if (op == BC_BITMAP_ADD)
		a->add = true;
	return 0;
}

static int bm_parse(int argc, char **argv, struct bm_args *a)
{
	enum { O_ADD = IMG_OPT_OWN, O_REMOVE, O_CLEAR, O_ENABLE, O_DISABLE, O_MERGE };
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ "add", no_argument, NULL, O_ADD },
		{ "remove", no_argument, NULL, O_REMOVE },
		{ "clear", no_argument, NULL, O_CLEAR },
		{ "enable", no_argument, NULL, O_ENABLE },
		{ "disable", no_argument, NULL, O_DISABLE },
		{ "merge", required_argument, NULL, O_MERGE },
		{ NULL, 0, NULL, 0 },
	};
	bool merge = false;
	int c, ret = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":b:f:F:g:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b': a->src_file = optarg; break;
		case 'F': a->src_fmt = optarg; break;
		case 'g':
			if (bc_parse_size(optarg, &a->granularity) < 0) {
				tool_error("Invalid granularity specified. You may use k, M, G, T, P or "
					   "E suffixes for");
				tool_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and "
					   "exabytes.");
				return 1;
			}
			a->has_gran = true;
			break;
		case 'h':
			printf("usage: %s bitmap (--merge SOURCE | --add | --remove | --clear | --enable "
			       "| --disable)... [-b source_file [-F source_fmt]] [-g granularity] "
			       "[--object objectdef] [--image-opts | -f fmt] filename bitmap\n",
			       tool_name);
			return -1;
		case O_ADD: ret = bm_push(a, BC_BITMAP_ADD, NULL); break;
		case O_REMOVE: ret = bm_push(a, BC_BITMAP_REMOVE, NULL); break;
		case O_CLEAR: ret = bm_push(a, BC_BITMAP_CLEAR, NULL); break;
		case O_ENABLE: ret = bm_push(a, BC_BITMAP_ENABLE, NULL); break;
		case O_DISABLE: ret = bm_push(a, BC_BITMAP_DISABLE, NULL); break;
		case O_MERGE:
			merge = true;
			ret = bm_push(a, BC_BITMAP_MERGE, optarg);
			break;
		default:
			ret = img_common_opt(&a->co, c, argv);
		}
		if (ret)
			return ret;
	}
	if (!a->nact) {
		tool_error("Need at least one of --add, --remove, --clear, --enable, --disable, or "
			   "--merge");
		return 1;
	}
	if (a->has_gran && !a->add) {
		tool_error("granularity only supported with --add");
		return 1;
	}
	if (a->src_fmt && !a->src_file) {
		tool_error("-F only supported with -b");
		return 1;
	}
	if (a->src_file && !merge) {
		tool_error("Merge bitmap source file only supported with --merge");
		return 1;
	}
	if (optind != argc - 2) {
		tool_error("Expecting filename and bitmap name");
		return 1;
	}
	a->filename = argv[optind];
	a->name = argv[optind + 1];
	return 0;
}

/* Reads bitmap src of the -b file (or of img itself) into req for a merge. */
static int bm_read_source(const struct bm_args *a, struct bc_image *img, const char *src,
			  struct bc_bitmap_req *req, struct bc_err *err)
{
	struct bc_image *from = img;
	int ret;

	if (a->src_file) {
		struct bc_open_opts o = { .format = a->src_fmt, .flags = BC_OPEN_NO_BACKING };
		if (bc_open(&from, a->src_file, &o, err) < 0) {
			tool_error("Could not open '%s': %s", a->src_file, err->msg);
			return 1;
		}
	}
	req->op = BC_BITMAP_READ;
	req->name = src;
	ret = bc_bitmap(from, req, err);
	if (ret == 0 && bc_length(from) != bc_length(img))
		ret = bc_err_set(err, -EINVAL, "Bitmaps are of different sizes (destination size is "
				 "%llu, source size is %llu) and can't be merged",
				 (unsigned long long)bc_length(img),
				 (unsigned long long)bc_length(from));
	if (from != img)
		bc_close(from);
	return ret < 0 ? -1 : 0;
}

static int bm_run(const struct bm_args *a, struct bc_image *img)
{
	for (int i = 0; i < a->nact; i++) {
		struct bc_bitmap_req req = { .op = a->act[i].op, .name = a->name };
		struct bc_err err = { 0 };
		int ret = 0;

		if (req.op == BC_BITMAP_ADD) {
			req.granularity = a->has_gran ? a->granularity : 0;
			if (a->has_gran && !req.granularity)
				req.granularity = 1; /* refused below as qemu refuses 0 */
		}
		if (req.op == BC_BITMAP_MERGE) {
			/* the destination first (missing, inconsistent), as qemu checks it */
			ret = bc_bitmap(img, &req, &err);
			if (ret == 0)
				ret = bm_read_source(a, img, a->act[i].src, &req, &err);
			if (ret > 0)
				return 1;
			req.op = BC_BITMAP_MERGE;
			req.name = a->name;
		}
		if (ret == 0)
			ret = bc_bitmap(img, &req, &err);
		free(req.bits);
		if (ret == -ENAMETOOLONG) {
			tool_error("Operation add on bitmap %s failed: Can't make bitmap '%s' persistent "
				   "in '%s': %s", a->name, a->name, a->filename, err.msg);
			return 1;
		}
		if (ret < 0) {
			tool_error("Operation %s on bitmap %s failed: %s", op_name(a->act[i].op),
				   a->name, err.msg);
			return 1;
		}
	}
	return 0;
}

int img_bitmap(int argc, char **argv)
{
	struct bm_args a = { .nact = 0 };
	struct bc_err err = { 0 };
	struct bc_image *img;
	int ret = bm_parse(argc, argv, &a);

	if (ret)
		return ret < 0 ? 0 : ret;
	struct bc_open_opts o = { .format = a.co.fmt, .flags = BC_OPEN_NO_BACKING | BC_OPEN_RDWR };
	if (img_common_flags(&a.co, &o.flags))
		return 1;
	if (bc_open(&img, a.filename, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", a.filename, err.msg);
		return 1;
	}
	if (bc_probed_raw(img))
		tool_warn_probed_raw(bc_protocol_name(img, a.filename));
	ret = bm_run(&a, img);
	if (bc_close(img) < 0 && ret == 0) {
		tool_error("Could not close '%s'", a.filename);
		ret = 1;
	}
	return ret;
}
