/* strata-img amend: qemu-img's option parsing, "-o help", progress (-p) and messages; the
 * format driver does the amendment (bc_amend). */
#include "img.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct amend_args {
	struct img_common co;
	const char *filename;
	char *options;
	bool progress;
};

static int amend_parse(int argc, char **argv, struct amend_args *a)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ "force", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":ho:f:t:pq", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (img_append_opts(&a->options, optarg) < 0)
				return 1;
			break;
		case 'p': a->progress = true; break;
		case 'F': break;   /* --force has no effect on qcow2 */
		case 'h':
			printf("usage: %s amend [-p] [-q] [-f fmt] [-t cache] [--force] -o options "
			       "filename\n", tool_name);
			return -1;
		case ':':
			return img_usage_error("missing argument for option '%s'", argv[optind - 1]);
		default:
			if (img_common_opt(&a->co, c, argv))
				return 1;
		}
	}
	if (!a->options)
		return img_usage_error("Must specify options (-o)");
	if (a->co.quiet)
		a->progress = false;
	a->filename = optind == argc - 1 ? argv[argc - 1] : NULL;
	return 0;
}

/* qemu's progress printer: a new line only when the value moved by more than 1 point, or at
 * 0 and 100. */
struct amend_bar {
	bool on, started;
	float current, last;
};

static void amend_bar_print(struct amend_bar *b, float value)
{
	if (!b->on)
		return;
	b->current = value > 100 ? 100 : value;
	if (b->current > b->last + 1.0f || b->current < b->last - 1.0f || b->current == 0 ||
	    b->current == 100) {
		b->last = b->current;
		printf("    (%3.2f/100%%)\r", b->current);
		fflush(stdout);
	}
}

/* qemu starts the bar once the option list parsed, before the driver runs. */
static void amend_start_cb(void *opaque)
{
	struct amend_bar *b = opaque;

	b->started = true;
	amend_bar_print(b, 0);
}

static void amend_progress_cb(void *opaque, int64_t done, int64_t total)
{
	amend_bar_print(opaque, total ? 100.f * (float)done / (float)total : 0);
}

/* The library speaks qemu's words; a hint naming "qemu-img" names us (qemu prints its own
 * program name there). */
static void amend_print_msg(const char *msg)
{
	const char *q;

	fprintf(stderr, "%s: ", tool_name);
	while ((q = strstr(msg, "qemu-img"))) {
		fprintf(stderr, "%.*s%s", (int)(q - msg), msg, tool_name);
		msg = q + strlen("qemu-img");
	}
	fprintf(stderr, "%s\n", msg);
}

static int amend_print_help(const char *fmt_name)
{
	const struct bc_format *fmt = bc_format_find(fmt_name);

	if (!fmt) {
		tool_error("Unknown file format '%s'", fmt_name);
		return 1;
	}
	if (!bc_format_amend_opts(fmt)) {
		tool_error("Format driver '%s' does not support option amendment", fmt_name);
		return 1;
	}
	printf("Amend options for '%s':\n", fmt_name);
	img_print_opts_list(bc_format_amend_opts(fmt));
	return 0;
}

static bool amend_help_requested(const char *options)
{
	struct bc_opts *o = bc_opts_new();
	bool help = o && bc_opts_parse(o, options, NULL) == 0 && bc_opts_help_requested(o);

	bc_opts_free(o);
	return help;
}

/* Opens the image, then amends it (or prints the help of its probed format). */
static int amend_image(const struct amend_args *a, struct amend_bar *bar)
{
	struct bc_open_opts o = { .format = a->co.fmt, .flags = BC_OPEN_RDWR };
	struct bc_amend_hooks hooks = { amend_start_cb, amend_progress_cb, bar };
	struct bc_err err = { 0 };
	struct bc_opts *opts = NULL;
	struct bc_image *img;
	int ret = 1;

	if (img_common_flags(&a->co, &o.flags))
		return 1;
	if (bc_open(&img, a->filename, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", a->filename, err.msg);
		return 1;
	}
	if (bc_probed_raw(img))
		tool_warn_probed_raw(bc_protocol_name(img, a->filename));
	if (amend_help_requested(a->options)) {
		ret = amend_print_help(bc_format_name(img));
		goto out;
	}
	opts = bc_opts_new();
	if (!opts || bc_opts_parse(opts, a->options, &err) < 0) {
		tool_error("%s", opts ? err.msg : "Out of memory");
		goto out;
	}
	int aret = bc_amend(img, opts, &hooks, &err);
	if (bar->started)
		amend_bar_print(bar, 100);
	if (aret < 0)
		amend_print_msg(err.msg);
	else
		ret = 0;
out:
	bc_opts_free(opts);
	if (bc_close(img) < 0 && ret == 0)
		ret = 1;
	return ret;
}

int img_amend(int argc, char **argv)
{
	struct amend_args a = { 0 };
	struct amend_bar bar = { 0 };
	int ret = amend_parse(argc, argv, &a);

	if (ret) {
		free(a.options);
		return ret < 0 ? 0 : ret;
	}
	bar.on = a.progress;
	if (a.co.fmt && amend_help_requested(a.options))
		ret = amend_print_help(a.co.fmt);
	else if (!a.filename) {
		tool_error("Expecting one image file name");
		ret = 1;
	} else {
		ret = amend_image(&a, &bar);
	}
	if (bar.on)
		printf("\n");   /* qemu_progress_end */
	free(a.options);
	return ret;
}
