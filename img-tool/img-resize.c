/* strata-img resize: absolute or relative (+/-) sizes, --shrink and --preallocation as qemu-img. */
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>

static int resize_bad_size(void)
{
	tool_error("Parameter 'size' expects a non-negative number below 2^64\n"
		   "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
		   "and exabytes, respectively.");
	return 1;
}

int img_resize(int argc, char **argv)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP,
		{ "preallocation", required_argument, NULL, 'P' },
		{ "shrink", no_argument, NULL, 'S' },
		IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	enum bc_prealloc prealloc = BC_PREALLOC_OFF;
	struct img_common co = { 0 };
	bool shrink = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:hq", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': shrink = true; break;
		case 'P':
			if (bc_parse_prealloc(optarg, &prealloc) < 0) {
				tool_error("Invalid preallocation mode '%s'", optarg);
				return 1;
			}
			break;
		case 'h':
			printf("usage: %s resize [-f fmt] [--preallocation=prealloc] [-q] [--shrink] "
			       "filename [+ | -]size\n", tool_name);
			return 0;
		default:
			if (img_common_opt(&co, c, argv))
				return 1;
		}
	}
	if (optind != argc - 2)
		return img_usage_error("Expecting image file name and size");
	const char *file = argv[optind], *sizestr = argv[optind + 1];
	int rel = sizestr[0] == '+' ? 1 : sizestr[0] == '-' ? -1 : 0;
	uint64_t n;
	if (bc_parse_size(sizestr + (rel != 0), &n) < 0)
		return resize_bad_size();

	struct bc_open_opts o = { .format = co.fmt, .flags = BC_OPEN_RDWR };   /* the backing length matters */
	struct bc_err err = { 0 };
	struct bc_image *img;
	if (img_common_flags(&co, &o.flags))
		return 1;
	if (o.flags & BC_OPEN_IMAGE_OPTS || !strncmp(file, "json:", 5))
		o.flags &= ~BC_OPEN_NO_BACKING;   /* qemu-img resize takes backing.* options */
	if (bc_open(&img, file, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", file, err.msg);
		return 1;
	}
	if (bc_probed_raw(img))
		tool_warn_probed_raw(bc_protocol_name(img, file));
	uint64_t cur = bc_length(img), size = n;
	int ret = 1;
	if (rel < 0 && n >= cur) {
		tool_error("New image size must be positive");
		goto out;
	}
	if (rel)
		size = rel > 0 ? cur + n : cur - n;
	if (bc_truncate(img, size, prealloc, shrink, &err) < 0) {
		tool_error("%s", err.msg);
		if (size < cur && !shrink)
			tool_error("warning: Shrinking an image will delete all data beyond the shrunken "
				   "image's end. Before performing such an operation, make sure there is "
				   "no important data there.");
		goto out;
	}
	if (!co.quiet)
		printf("Image resized.\n");
	ret = 0;
out:
	if (bc_close(img) < 0 && ret == 0)
		ret = 1;
	return ret;
}
