/* strata-img dd: dd-style operands (if= of= bs= count= skip=), copying into a new image as
 * qemu-img dd does — including its rule that skipped blocks count against count. */
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct dd_args {
	struct img_common co;
	const char *in, *out, *out_fmt;
	uint64_t bs, count, skip;
	bool has_count;
};

static int dd_number(const char *what, const char *val, uint64_t *out)
{
	if (bc_parse_size(val, out) == 0)
		return 0;
	tool_error("Invalid %s specified. You may use k, M, G, T, P or E suffixes for", what);
	tool_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
	return -1;
}

static int dd_operand(struct dd_args *a, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t klen = eq ? (size_t)(eq - arg) : strlen(arg);
	const char *val = eq ? eq + 1 : "";

	if (klen == 2 && !strncmp(arg, "if", 2))
		a->in = val;
	else if (klen == 2 && !strncmp(arg, "of", 2))
		a->out = val;
	else if (klen == 2 && !strncmp(arg, "bs", 2)) {
		if (bc_parse_size(val, &a->bs) < 0 || a->bs < 1 || a->bs > INT32_MAX) {
			tool_error("Invalid bs specified. Must be between 1 and 2147483647.");
			return -1;
		}
	} else if (klen == 5 && !strncmp(arg, "count", 5)) {
		a->has_count = true;
		return dd_number("count", val, &a->count);
	} else if (klen == 4 && !strncmp(arg, "skip", 4)) {
		return dd_number("skip", val, &a->skip);
	} else {
		tool_error("unrecognized operand %.*s", (int)klen, arg);
		return -1;
	}
	return 0;
}

static int dd_parse(int argc, char **argv, struct dd_args *a)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_FORCE_SHARE, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hf:O:U", longopts, NULL)) != -1) {
		switch (c) {
		case 'O': a->out_fmt = optarg; break;
		case 'h':
			printf("usage: %s dd [-U] [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] "
			       "[skip=blocks] if=input of=output\n", tool_name);
			return -1;
		default:
			if (img_common_opt(&a->co, c, argv))
				return 1;
		}
	}
	for (int i = optind; i < argc; i++)
		if (dd_operand(a, argv[i]) < 0)
			return 1;
	if (!a->in || !a->out) {
		tool_error("Must specify both input and output files");
		return 1;
	}
	return 0;
}

static int dd_create(const struct dd_args *a, uint64_t size)
{
	const char *fmt = a->out_fmt ? a->out_fmt : "raw";
	struct bc_opts *opts = bc_opts_new();
	struct bc_err err = { 0 };
	char num[32];
	int ret;

	snprintf(num, sizeof(num), "%" PRIu64, size);
	ret = opts ? bc_opts_set(opts, "size", num) : -ENOMEM;
	if (ret == 0)
		ret = bc_create(fmt, a->out, opts, &err);
	if (ret < 0)
		tool_error("%s: error while creating output image: %s", a->out, err.msg);
	bc_opts_free(opts);
	return ret;
}

static int dd_copy(struct bc_image *in, struct bc_image *out, uint64_t from, uint64_t size,
		   uint64_t bs)
{
	size_t chunk = bs > (1u << 20) ? (size_t)bs : (size_t)((1u << 20) / bs * bs);
	uint8_t *buf = bc_alloc_aligned(chunk);
	int ret = buf ? 0 : -ENOMEM;

	for (uint64_t done = 0; ret == 0 && done < size;) {
		size_t n = size - done < chunk ? (size_t)(size - done) : chunk;
		ret = bc_read(in, from + done, buf, n);
		if (ret < 0) {
			tool_error("error while reading from input image file: %s", strerror(-ret));
			break;
		}
		ret = bc_write(out, done, buf, n);
		if (ret < 0) {
			tool_error("error while writing to output image file: %s", strerror(-ret));
			break;
		}
		done += n;
	}
	free(buf);
	return ret;
}

int img_dd(int argc, char **argv)
{
	struct dd_args a = { .bs = 512 };
	struct bc_image *in = NULL, *out = NULL;
	struct bc_err err = { 0 };
	int ret = dd_parse(argc, argv, &a);

	if (ret)
		return ret < 0 ? 0 : ret;
	ret = 1;
	struct bc_open_opts io = { .format = a.co.fmt };
	if (img_common_flags(&a.co, &io.flags))
		return 1;
	if (bc_open(&in, a.in, &io, &err) < 0) {
		tool_error("Could not open '%s': %s", a.in, err.msg);
		return 1;
	}
	uint64_t size = bc_length(in);
	if (a.has_count && a.count <= size / a.bs)
		size = a.count * a.bs;
	uint64_t from = a.skip <= UINT64_MAX / a.bs ? a.skip * a.bs : UINT64_MAX;
	/* qemu-img dd: skipped blocks come off the (count-limited) size; skipping past the end
	 * still creates an empty output before failing */
	bool past_end = from > size;
	size = past_end ? 0 : size - from;
	if (dd_create(&a, size) < 0)
		goto out;
	if (past_end) {
		/* qemu-img reports this but still exits 0 */
		tool_error("%s: cannot skip to specified offset", a.in);
		ret = 0;
		goto out;
	}
	struct bc_open_opts oo = { .format = a.out_fmt ? a.out_fmt : "raw", .flags = BC_OPEN_RDWR };
	if (bc_open(&out, a.out, &oo, &err) < 0) {
		tool_error("Could not open '%s': %s", a.out, err.msg);
		goto out;
	}
	if (dd_copy(in, out, from, size, a.bs) == 0)
		ret = 0;
out:
	if (out && bc_close(out) < 0)
		ret = 1;
	bc_close(in);
	return ret;
}
