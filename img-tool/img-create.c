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

static int desc_by_name(const void *a, const void *b)
{
	return strcmp((*(const struct bc_opt_desc *const *)a)->name,
		      (*(const struct bc_opt_desc *const *)b)->name);
}

/* qemu-img lists a format's options sorted by name, host-file options left out. */
void img_print_opts_list(const struct bc_opt_desc *d)
{
	const struct bc_opt_desc *list[128];
	char left[96];
	size_t n = 0;

	for (; d && d->name && n < sizeof(list) / sizeof(list[0]); d++)
		if (d->help)
			list[n++] = d;
	qsort(list, n, sizeof(list[0]), desc_by_name);
	for (size_t i = 0; i < n; i++) {
		snprintf(left, sizeof(left), "%s=<%s>", list[i]->name, opt_type_name(list[i]->type));
		printf("  %-22s - %s\n", left, list[i]->help);
	}
}

/* With a target file name qemu-img merges the host file's own options into the list (the
 * format's take precedence) under one heading. */
static const struct bc_opt_desc file_create_opts[] = {
	{ "extent_size_hint", BC_OPT_SIZE, "Extent size hint for the image file, 0 to disable",
	  NULL },
	{ "nocow", BC_OPT_BOOL, "Turn off copy-on-write (valid only on btrfs)", NULL },
	{ "preallocation", BC_OPT_STRING, "Preallocation mode (allowed values: off, falloc, full)",
	  NULL },
	{ "size", BC_OPT_SIZE, "Virtual disk size", NULL },
	{ NULL, BC_OPT_STRING, NULL, NULL },
};

void img_print_opts_help_file(const struct bc_opt_desc *d)
{
	struct bc_opt_desc merged[128];
	size_t n = 0;

	for (; d && d->name && n < 120; d++)
		if (d->help)
			merged[n++] = *d;
	for (const struct bc_opt_desc *f = file_create_opts; f->name; f++) {
		bool dup = false;
		for (size_t i = 0; i < n && !dup; i++)
			dup = !strcmp(merged[i].name, f->name);
		if (!dup)
			merged[n++] = *f;
	}
	merged[n].name = NULL;
	printf("Supported options:\n");
	img_print_opts_list(merged);
}

void img_print_opts_help(const char *fmt_name, const struct bc_opt_desc *d)
{
	printf("Supported %s options:\n", fmt_name);
	img_print_opts_list(d);
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
	struct img_common co;     /* -f, -q, --object */
	const char *base, *base_fmt, *filename, *size;
	char *optstr;
	bool unsafe;
};

static int create_parse(int argc, char **argv, struct create_args *a)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_OBJECT,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":F:b:f:ho:qu", longopts, NULL)) != -1) {
		switch (c) {
		case 'F': a->base_fmt = optarg; break;
		case 'b': a->base = optarg; break;
		case 'o':
			if (img_append_opts(&a->optstr, optarg) < 0)
				return 1;
			break;
		case 'u': a->unsafe = true; break;
		case 'h':
			printf("usage: %s create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]\n",
			       tool_name);
			return -1;
		default:
			if (img_common_opt(&a->co, c, argv))
				return 1;
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

/* A backing file without -F is refused; qemu-img names the format it would have probed, in a
 * hint it prints without a final newline (kept, so scripts see the same bytes). */
static int create_no_backing_fmt(const struct create_args *a, const char *backing,
				 struct bc_err *err)
{
	struct bc_open_opts o = { .flags = BC_OPEN_NO_BACKING | BC_OPEN_SHARE };
	struct bc_image *b;
	char *path;

	if (a->unsafe)
		return bc_err_set(err, -EINVAL, "Backing file specified without backing format");
	path = bc_resolve_relative(a->filename, backing);
	if (!path)
		return bc_err_set(err, -ENOMEM, "Out of memory");
	int ret = bc_open(&b, path, &o, err);
	free(path);
	if (ret < 0) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, "\nCould not open backing image.");
		return ret;
	}
	bc_err_set(err, -EINVAL, "Backing file specified without backing format\n"
		   "Detected format of %s.", bc_format_name(b));
	bc_close(b);
	return -EAGAIN;    /* the caller prints this one without the final newline */
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
				  a->co.fmt);
	if (bc_opts_validate(opts, desc, err) < 0)
		return -1;
	if (bc_opts_get(opts, "backing_file") && !*bc_opts_get(opts, "backing_file"))
		return bc_err_set(err, -EINVAL, "Expected backing file name, got empty string");
	if (bc_opts_get(opts, "backing_file") && !bc_opts_get(opts, "backing_fmt"))
		return create_no_backing_fmt(a, bc_opts_get(opts, "backing_file"), err);
	if (!bc_opts_get(opts, "size") && !bc_opts_get(opts, "backing_file"))
		return bc_err_set(err, -EINVAL, "Image creation needs a size parameter");
	return 0;
}

int img_create(int argc, char **argv)
{
	struct create_args a = { .co.fmt = "raw" };
	struct bc_err err = { 0 };
	struct bc_opts *opts = bc_opts_new();
	const struct bc_format *fmt;
	int ret = create_parse(argc, argv, &a);

	if (ret || !opts)
		goto out;
	ret = 1;
	if (a.optstr && (strstr(a.optstr, "help") || strchr(a.optstr, '?')) &&
	    bc_format_find(a.co.fmt)) {
		struct bc_opts *probe = bc_opts_new();
		bool help = probe && bc_opts_parse(probe, a.optstr, NULL) == 0 &&
			    bc_opts_help_requested(probe);
		bc_opts_free(probe);
		if (help) {
			const struct bc_opt_desc *d = bc_format_create_opts(bc_format_find(a.co.fmt));
			if (a.filename)
				img_print_opts_help_file(d);
			else
				img_print_opts_help(a.co.fmt, d);
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
	fmt = bc_format_find(a.co.fmt);
	if (!fmt) {
		tool_error("%s: Unknown file format '%s'", a.filename, a.co.fmt);
		goto out;
	}
	int pret = create_prepare(&a, opts, fmt, &err);
	if (pret == -EAGAIN) {
		fprintf(stderr, "%s: %s: %s", tool_name, a.filename, err.msg);
		goto out;
	}
	if (pret < 0) {
		tool_error("%s: %s", a.filename, err.msg);
		goto out;
	}
	/* the size a backing file lends is part of the "Formatting" line */
	if (!bc_opts_get(opts, "size") && bc_create_size_from_backing(a.filename, opts, &err) < 0) {
		tool_error("%s: %s", a.filename, err.msg);
		goto out;
	}
	if (!a.co.quiet) {
		char *line = bc_opts_render(opts, bc_format_create_opts(fmt));
		printf("Formatting '%s', fmt=%s%s%s\n", a.filename, a.co.fmt, line && *line ? " " : "",
		       line ? line : "");
		fflush(stdout);
		free(line);
	}
	if (bc_create(a.co.fmt, a.filename, opts, &err) < 0) {
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
