/* strata-img check: runs the format's consistency check (and repair) and reports as qemu-img. */
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <string.h>

static void check_human(const struct bc_check *r)
{
	if (!r->corruptions && !r->leaks && !r->check_errors)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%d errors were found on the image.\n"
		       "Data may be corrupted, or further writes to the image may corrupt it.\n",
		       r->corruptions);
	if (r->leaks)
		printf("\n%d leaked clusters were found on the image.\n"
		       "This means waste of disk space, but no harm to data.\n", r->leaks);
	if (r->check_errors)
		printf("\n%d internal errors have occurred during the check.\n", r->check_errors);
	if (r->has_stats && r->total_clusters && r->allocated_clusters) {
		double a = r->allocated_clusters;
		printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% fragmented, "
		       "%0.2f%% compressed clusters\n", r->allocated_clusters, r->total_clusters,
		       a * 100.0 / (double)r->total_clusters,
		       (double)r->fragmented_clusters * 100.0 / a,
		       (double)r->compressed_clusters * 100.0 / a);
	}
	if (r->image_end_offset)
		printf("Image end offset: %" PRIu64 "\n", r->image_end_offset);
}

/* Keys in the order qemu-img 7.2 prints them; counts that are zero are left out as qemu does. */
static void check_json(const struct bc_check *r, const char *file, const char *fmt)
{
	struct bc_node *root = bc_node_new(BC_NODE_OBJECT, NULL);

	if (r->image_end_offset)
		bc_node_add_uint(root, "image-end-offset", r->image_end_offset);
	if (r->has_stats && r->compressed_clusters)
		bc_node_add_uint(root, "compressed-clusters", r->compressed_clusters);
	if (r->has_stats && r->total_clusters)
		bc_node_add_uint(root, "total-clusters", r->total_clusters);
	if (r->corruptions)
		bc_node_add_int(root, "corruptions", r->corruptions);
	if (r->corruptions_fixed)
		bc_node_add_int(root, "corruptions-fixed", r->corruptions_fixed);
	bc_node_add_int(root, "check-errors", r->check_errors);
	if (r->leaks)
		bc_node_add_int(root, "leaks", r->leaks);
	if (r->leaks_fixed)
		bc_node_add_int(root, "leaks-fixed", r->leaks_fixed);
	if (r->has_stats && r->allocated_clusters)
		bc_node_add_uint(root, "allocated-clusters", r->allocated_clusters);
	bc_node_add_str(root, "filename", file);
	bc_node_add_str(root, "format", fmt);
	if (r->has_stats && r->fragmented_clusters)
		bc_node_add_uint(root, "fragmented-clusters", r->fragmented_clusters);
	img_print_node_json(stdout, root, 0);
	putchar('\n');
	bc_node_free(root);
}

struct check_args {
	struct img_common co; /* -f -T -q -U --object --image-opts --output */
	const char *filename;
	unsigned fix;
};

static int check_parse(int argc, char **argv, struct check_args *a)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP,
		IMG_LONGOPT_OUTPUT,
		{ "repair", required_argument, NULL, 'r' },
		IMG_LONGOPT_FORCE_SHARE,
		IMG_LONGOPT_OBJECT,
		IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hf:r:T:qU", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (!strcmp(optarg, "leaks"))
				a->fix = BC_FIX_LEAKS;
			else if (!strcmp(optarg, "all"))
				a->fix = BC_FIX_LEAKS | BC_FIX_ERRORS;
			else
				return img_usage_error("Unknown option value for -r "
						       "(expecting 'leaks' or 'all'): %s", optarg);
			break;
		case 'h':
			printf("usage: %s check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-U] filename\n",
			       tool_name);
			return -1;
		default:
			if (img_common_opt(&a->co, c, argv))
				return 1;
			break;
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	a->filename = argv[optind];
	return 0;
}

/* qemu-img's exit codes: 1 check failed, 2 corruptions, 3 leaks only, 63 unsupported. */
static int check_exit_code(const struct bc_check *r)
{
	if (r->check_errors)
		return 1;
	if (r->corruptions)
		return 2;
	if (r->leaks)
		return 3;
	return 0;
}

int img_check(int argc, char **argv)
{
	struct check_args a = { 0 };
	struct bc_err err = { 0 };
	struct bc_check r;
	struct bc_image *img;
	int ret = check_parse(argc, argv, &a);

	if (ret)
		return ret < 0 ? 0 : ret;
	struct bc_open_opts o = { .format = a.co.fmt, .flags = BC_OPEN_NO_BACKING | BC_OPEN_NO_REPAIR |
							       BC_OPEN_CHECK };
	if (a.fix)
		o.flags |= BC_OPEN_RDWR;
	if (a.co.share)
		o.flags |= BC_OPEN_SHARE;
	if (tool_src_cache_flags(a.co.src_cache, &o.flags) < 0)
		return 1;
	if (img_image_opts_flags(a.co.image_opts, a.co.fmt, &o.flags))
		return 1;
	if (o.flags & BC_OPEN_IMAGE_OPTS || !strncmp(a.filename, "json:", 5))
		o.flags &= ~BC_OPEN_NO_BACKING;   /* qemu-img check takes backing.* options */
	if (bc_open(&img, a.filename, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", a.filename, err.msg);
		return 1;
	}
	ret = bc_check(img, &r, a.fix, &err);
	if (ret == -ENOTSUP) {
		tool_error("This image format does not support checks");
		bc_close(img);
		return 63;
	}
	/* the problems found come first, also when the check could not finish */
	for (int i = 0; i < r.nmessages; i++)
		fprintf(stderr, "%s\n", r.messages[i]);
	if (ret < 0) {
		tool_error("Check failed: %s", err.msg);
		bc_check_free(&r);
		bc_close(img);
		return 1;
	}
	if (a.fix && (r.corruptions_fixed || r.leaks_fixed) && !a.co.quiet && a.co.output == IMG_OUTPUT_HUMAN)
		printf("The following inconsistencies were found and repaired:\n\n"
		       "    %d leaked clusters\n    %d corruptions\n\n"
		       "Double checking the fixed image now...\n", r.leaks_fixed, r.corruptions_fixed);
	if (!a.co.quiet) {
		if (a.co.output == IMG_OUTPUT_JSON)
			check_json(&r, a.filename, bc_format_name(img));
		else
			check_human(&r);
	}
	ret = check_exit_code(&r);
	bc_check_free(&r);
	if (bc_close(img) < 0 && ret == 0)
		ret = 1;
	return ret;
}
