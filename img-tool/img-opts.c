/* The options many strata-img sub-commands share (-f, -t, -T, -q, -U, --object, --image-opts,
 * --output) and qemu-img's usage errors, so each sub-command spells them once. */
#include "img.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int img_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tool_verror(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information\n", tool_name);
	return 1;
}

int img_bad_option(char **argv, int optind_now, int opt)
{
	if (opt == ':')
		return img_usage_error("option '%s' requires an argument", argv[optind_now - 1]);
	return img_usage_error("unrecognized option '%s'", argv[optind_now - 1]);
}

int img_parse_output(const char *arg, enum img_output *out)
{
	if (!strcmp(arg, "json"))
		*out = IMG_OUTPUT_JSON;
	else if (!strcmp(arg, "human"))
		*out = IMG_OUTPUT_HUMAN;
	else {
		tool_error("--output must be used with human or json as argument.");
		return -1;
	}
	return 0;
}

int img_image_opts_flags(bool image_opts, const char *fmt, unsigned *flags)
{
	if (!image_opts)
		return 0;
	if (fmt) {
		tool_error("--image-opts and --format are mutually exclusive");
		return 1;
	}
	*flags |= BC_OPEN_IMAGE_OPTS;
	return 0;
}

int img_append_opts(char **acc, const char *more)
{
	size_t old = *acc ? strlen(*acc) : 0, len = strlen(more), t = len;
	char *n;

	/* qemu's test: not empty, no leading comma, no unescaped (odd) trailing comma */
	while (t && more[t - 1] == ',')
		t--;
	if (!*more || *more == ',' || (len - t) % 2) {
		tool_error("Invalid option list: %s", more);
		return -1;
	}
	n = realloc(*acc, old + len + 2);
	if (!n)
		return -1;
	if (old)
		n[old++] = ',';
	strcpy(n + old, more);
	*acc = n;
	return 0;
}

int img_common_opt(struct img_common *c, int opt, char **argv)
{
	switch (opt) {
	case 'f': c->fmt = optarg; return 0;
	case 't': c->cache = optarg; return 0;
	case 'T': c->src_cache = optarg; return 0;
	case 'q': c->quiet = true; return 0;
	case 'U': c->share = true; return 0;
	case IMG_OPT_IMAGE_OPTS: c->image_opts = true; return 0;
	case IMG_OPT_OBJECT: return tool_object_add(optarg) < 0;
	case IMG_OPT_OUTPUT: return img_parse_output(optarg, &c->output) < 0;
	}
	return img_bad_option(argv, optind, opt);
}

int img_common_flags(const struct img_common *c, unsigned *flags)
{
	if (tool_cache_flags(c->cache, flags) < 0)
		return 1;
	if (c->share)
		*flags |= BC_OPEN_SHARE;
	return img_image_opts_flags(c->image_opts, c->fmt, flags);
}
