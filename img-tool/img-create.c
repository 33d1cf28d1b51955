/* strata-img create: validates like qemu-img, prints its "Formatting" line, then creates. */
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char *opt_type_name(enum bc_opt_type t)
{
	switch (t) {
	case BC_OPT_SIZE:
		return "size";
	case BC_OPT_BOOL:
		return "bool (on/off)";
	case BC_OPT_NUMBER:
		return "num";
	case BC_OPT_STRING:
		break;
	}
	return "str";
}

void img_print_opts_help(const char *fmt_name, const struct bc_opt_desc *d)
{
	char left[96];

	printf("Supported %s options:\n", fmt_name);
	for (; d && d->name; d++) {
		if (!d->help)
			continue;
		snprintf(left, sizeof(left), "%s=<%s>", d->name, opt_type_name(d->type));
		printf("  %-22s - %s\n", left, d->help);
	}
	printf("\nThe protocol level may support further options.\n"
	       "Specify the target filename to include those options.\n");
}

static int size_error(int ret)
{
	if (ret == -ERANGE) {
		tool_error("Invalid image size specified. Must be between 0 and 9223372036854775807.");
	} else {
		tool_error("Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
		tool_error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
	}
	return 1;
}

struct create_args {
	const char *fmt, *base, *base_fmt, *filename, *size;
	char *optstr;
	bool quiet, unsafe;
};

static int create_parse(int argc, char **argv, struct create_args *a)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "object", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":F:b:f:ho:qu", longopts, NULL)) != -1) {
		switch (c) {
		case 'F': a->base_fmt = optarg; break;
		case 'b': a->base = optarg; break;
		case 'f': a->fmt = optarg; break;
		case 'o':
			if (img_append_opts(&a->optstr, optarg) < 0)
				return 1;
			break;
		case 'q': a->quiet = true; break;
		case 'u': a->unsafe = true; break;
		case 'O': break;   /* secrets and objects are not needed by create yet */
		case 'h':
			printf("usage: %s create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]\n",
			       tool_name);
			return -1;
		default:
			return img_bad_option(argv, optind, c);
		}
	}
	if (optind < argc)
		a->filename = argv[optind++];
	if (optind < argc)
		a->size = argv[optind++];
	if (optind < argc)
		return img_usage_error("Unexpected argument: %s", argv[optind]);
	return 0;
}

/* Everything qemu-img checks before it prints "Formatting ...". */
static int create_prepare(struct create_args *a, struct bc_opts *opts, const struct bc_format *fmt,
			  struct bc_err *err)
{
	const struct bc_opt_desc *desc = bc_format_create_opts(fmt);
	bool has_backing = false;

	for (const struct bc_opt_desc *d = desc; d && d->name; d++)
		has_backing |= !strcmp(d->name, "backing_file");
	if (a->optstr && bc_opts_parse(opts, a->optstr, err) < 0)
		return -1;
	if (a->size) {
		uint64_t sz;
		char num[32];
		if (bc_opts_get(opts, "size"))
			return bc_err_set(err, -EINVAL, "The image size must be specified only once");
		bc_parse_size(a->size, &sz);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)sz);
		bc_opts_set(opts, "size", num);
	}
	if (a->base)
		bc_opts_set(opts, "backing_file", a->base);
	if (a->base_fmt)
		bc_opts_set(opts, "backing_fmt", a->base_fmt);
	if (bc_opts_get(opts, "backing_file") && !has_backing)
		return bc_err_set(err, -ENOTSUP, "Backing file not supported for file format '%s'",
				  a->fmt);
	if (bc_opts_validate(opts, desc, err) < 0)
		return -1;
	if (bc_opts_get(opts, "backing_file") && !bc_opts_get(opts, "backing_fmt") && !a->unsafe)
		return bc_err_set(err, -EINVAL, "Backing file specified without backing format");
	if (!bc_opts_get(opts, "size") && !bc_opts_get(opts, "backing_file"))
		return bc_err_set(err, -EINVAL, "Image creation needs a size parameter");
	return 0;
}

int img_create(int argc, char **argv)
{
	struct create_args a = { .fmt = "raw" };
	struct bc_err err = { 0 };
	struct bc_opts *opts = bc_opts_new();
	const struct bc_format *fmt;
	int ret = create_parse(argc, argv, &a);

	if (ret || !opts)
		goto out;
	ret = 1;
	if (a.optstr && strstr(a.optstr, "help") && bc_format_find(a.fmt)) {
		struct bc_opts *probe = bc_opts_new();
		bool help = probe && bc_opts_parse(probe, a.optstr, NULL) == 0 &&
			    bc_opts_help_requested(probe);
		bc_opts_free(probe);
		if (help) {
			img_print_opts_help(a.fmt, bc_format_create_opts(bc_format_find(a.fmt)));
			ret = 0;
			goto out;
		}
	}
	if (!a.filename) {
		ret = img_usage_error("Expecting image file name");
		goto out;
	}
	uint64_t sz;
	int sret = a.size ? bc_parse_size(a.size, &sz) : 0;
	if (sret < 0) {
		ret = size_error(sret);
		goto out;
	}
	fmt = bc_format_find(a.fmt);
	if (!fmt) {
		tool_error("%s: Unknown file format '%s'", a.filename, a.fmt);
		goto out;
	}
	if (create_prepare(&a, opts, fmt, &err) < 0) {
		tool_error("%s: %s", a.filename, err.msg);
		goto out;
	}
	if (!a.quiet) {
		char *line = bc_opts_render(opts, bc_format_create_opts(fmt));
		printf("Formatting '%s', fmt=%s%s%s\n", a.filename, a.fmt, line && *line ? " " : "",
		       line ? line : "");
		fflush(stdout);
		free(line);
	}
	if (bc_create(a.fmt, a.filename, opts, &err) < 0) {
		tool_error("%s: %s", a.filename, err.msg);
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		ret = 0;    /* -h */
	bc_opts_free(opts);
	free(a.optstr);
	return ret;
}
