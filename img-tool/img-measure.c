/* strata-img measure: how much host space an image would take, for a size or a source image. */
#include "img.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct measure_args {
	struct img_common co;
	const char *out_fmt, *size_str, *snapshot, *filename;
	char *optstr;
};

static int measure_parse(int argc, char **argv, struct measure_args *a)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_OUTPUT,
		{ "size", required_argument, NULL, 's' },
		IMG_LONGOPT_FORCE_SHARE, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hf:O:o:l:U", longopts, NULL)) != -1) {
		switch (c) {
		case 'O': a->out_fmt = optarg; break;
		case 'o':
			if (img_append_opts(&a->optstr, optarg) < 0)
				return 1;
			break;
		case 'l': a->snapshot = optarg; break;
		case 's': a->size_str = optarg; break;
		case 'h':
			printf("usage: %s measure [--output=ofmt] [-O output_fmt] [-o options] "
			       "[--size N | [-f fmt] [-l snapshot_param] filename]\n", tool_name);
			return -1;
		default:
			if (img_common_opt(&a->co, c, argv))
				return 1;
		}
	}
	if (optind < argc)
		a->filename = argv[optind++];
	if (optind < argc)
		return img_usage_error("Expecting one image file name");
	if (a->filename && a->size_str) {
		tool_error("--size N cannot be used together with a filename.");
		return 1;
	}
	if (!a->filename && !a->size_str) {
		tool_error("Either --size N or one filename must be specified.");
		return 1;
	}
	return 0;
}

static void measure_print(const struct bc_measure *m, enum img_output out)
{
	if (out == IMG_OUTPUT_JSON) {
		printf("{\n");
		if (m->has_bitmaps)
			printf("    \"bitmaps\": %" PRIu64 ",\n", m->bitmaps);
		printf("    \"required\": %" PRIu64 ",\n    \"fully-allocated\": %" PRIu64 "\n}\n",
		       m->required, m->fully_allocated);
		return;
	}
	printf("required size: %" PRIu64 "\nfully allocated size: %" PRIu64 "\n", m->required,
	       m->fully_allocated);
	if (m->has_bitmaps)
		printf("bitmaps size: %" PRIu64 "\n", m->bitmaps);
}

int img_measure(int argc, char **argv)
{
	struct measure_args a = { .out_fmt = "raw" };
	struct bc_opts *opts = bc_opts_new();
	struct bc_image *src = NULL;
	struct bc_err err = { 0 };
	struct bc_measure m;
	uint64_t size = 0;
	int ret = measure_parse(argc, argv, &a);

	if (ret || !opts)
		goto out;
	ret = 1;
	if (a.size_str && bc_parse_size(a.size_str, &size) < 0) {
		tool_error("Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
		tool_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
		goto out;
	}
	const struct bc_format *fmt = bc_format_find(a.out_fmt);
	if (!fmt) {
		tool_error("Unknown file format '%s'", a.out_fmt);
		goto out;
	}
	if ((a.optstr && bc_opts_parse(opts, a.optstr, &err) < 0) ||
	    bc_opts_validate(opts, bc_format_create_opts(fmt), &err) < 0) {
		tool_error("%s", err.msg);
		tool_error("Invalid options for file format '%s'", a.out_fmt);
		goto out;
	}
	if (a.filename) {
		struct bc_open_opts o = { .format = a.co.fmt, .snapshot = a.snapshot };
		if (img_common_flags(&a.co, &o.flags))
			goto out;
		if (bc_open(&src, a.filename, &o, &err) < 0) {
			tool_error("Could not open '%s': %s", a.filename, err.msg);
			goto out;
		}
		size = bc_length(src);
	}
	if (bc_measure(a.out_fmt, opts, size, src, &m, &err) < 0) {
		tool_error("%s", err.msg);
		goto out;
	}
	measure_print(&m, a.co.output);
	ret = 0;
out:
	if (ret < 0)
		ret = 0;
	bc_close(src);
	bc_opts_free(opts);
	free(a.optstr);
	return ret;
}
