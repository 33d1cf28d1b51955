/* strata-img info: qemu-img's human text and JSON, optionally for the whole backing chain. */
#include "img.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void img_print_snapshot_header(FILE *out)
{
	fprintf(out, "%-9s %-16s %8s %19s %12s %10s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
		"ICOUNT");
}

void img_print_snapshot_row(FILE *out, const struct bc_snapshot *sn)
{
	char size[32], date[32], clock[32], icount[32] = "";
	time_t t = (time_t)sn->date_sec;
	struct tm tm;
	uint64_t ms = sn->vm_clock_nsec / 1000000;

	bc_size_to_str(sn->vm_state_size, size, sizeof(size));
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(clock, sizeof(clock), "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64,
		 ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
	if (sn->icount != UINT64_MAX)
		snprintf(icount, sizeof(icount), "%" PRIu64, sn->icount);
	fprintf(out, "%-9s %-16s %8s %19s %12s %10s\n", sn->id, sn->name, size, date, clock, icount);
}

static void info_human(FILE *out, const struct bc_info *in)
{
	char buf[64];

	fprintf(out, "image: %s\nfile format: %s\n", in->filename, in->format);
	fprintf(out, "virtual size: %s (%" PRIu64 " bytes)\n",
		bc_size_to_str(in->virtual_size, buf, sizeof(buf)), in->virtual_size);
	if (in->actual_size >= 0)
		fprintf(out, "disk size: %s\n", bc_size_to_str((uint64_t)in->actual_size, buf, sizeof(buf)));
	else
		fprintf(out, "disk size: unavailable\n");
	if (in->encrypted)
		fprintf(out, "encrypted: yes\n");
	if (in->has_cluster_size)
		fprintf(out, "cluster_size: %u\n", in->cluster_size);
	if (in->backing_file) {
		fprintf(out, "backing file: %s", in->backing_file);
		if (in->full_backing_file && strcmp(in->backing_file, in->full_backing_file))
			fprintf(out, " (actual path: %s)", in->full_backing_file);
		fputc('\n', out);
		if (in->backing_format)
			fprintf(out, "backing file format: %s\n", in->backing_format);
	}
	if (in->dirty)
		fprintf(out, "cleanly shut down: no\n");
	if (in->nsnapshots) {
		fprintf(out, "Snapshot list:\n");
		img_print_snapshot_header(out);
		for (int i = 0; i < in->nsnapshots; i++)
			img_print_snapshot_row(out, &in->snapshots[i]);
	}
	if (in->specific) {
		fprintf(out, "Format specific information:\n");
		img_print_node_human(out, in->specific, 1);
	}
}

static void add_snapshots_json(struct bc_node *root, const struct bc_info *in)
{
	struct bc_node *list = bc_node_add(root, BC_NODE_LIST, "snapshots");

	for (int i = 0; i < in->nsnapshots; i++) {
		const struct bc_snapshot *sn = &in->snapshots[i];
		struct bc_node *o = bc_node_add(list, BC_NODE_OBJECT, NULL);
		if (sn->icount != UINT64_MAX)
			bc_node_add_uint(o, "icount", sn->icount);
		bc_node_add_uint(o, "vm-clock-nsec", sn->vm_clock_nsec % 1000000000);
		bc_node_add_str(o, "name", sn->name);
		bc_node_add_uint(o, "date-sec", sn->date_sec);
		bc_node_add_uint(o, "date-nsec", sn->date_nsec);
		bc_node_add_uint(o, "vm-clock-sec", sn->vm_clock_nsec / 1000000000);
		bc_node_add_str(o, "id", sn->id);
		bc_node_add_uint(o, "vm-state-size", sn->vm_state_size);
	}
}

/* The JSON object in the key order qemu-img 7.2 happens to print. */
static struct bc_node *info_json_tree(const struct bc_info *in)
{
	struct bc_node *root = bc_node_new(BC_NODE_OBJECT, NULL);

	if (in->backing_file && in->backing_format)
		bc_node_add_str(root, "backing-filename-format", in->backing_format);
	if (in->nsnapshots)
		add_snapshots_json(root, in);
	bc_node_add_uint(root, "virtual-size", in->virtual_size);
	bc_node_add_str(root, "filename", in->filename);
	if (in->has_cluster_size)
		bc_node_add_uint(root, "cluster-size", in->cluster_size);
	bc_node_add_str(root, "format", in->format);
	if (in->actual_size >= 0)
		bc_node_add_int(root, "actual-size", in->actual_size);
	if (in->specific) {
		struct bc_node *fs = bc_node_add(root, BC_NODE_OBJECT, "format-specific");
		bc_node_add_str(fs, "type", in->specific->key);
		struct bc_node *data = bc_node_add(fs, BC_NODE_OBJECT, "data");
		/* borrow the driver's children for printing; detached again before freeing */
		data->child = in->specific->child;
		data->last = in->specific->last;
	}
	if (in->backing_file) {
		bc_node_add_str(root, "full-backing-filename",
				in->full_backing_file ? in->full_backing_file : in->backing_file);
		bc_node_add_str(root, "backing-filename", in->backing_file);
	}
	if (in->encrypted)
		bc_node_add_bool(root, "encrypted", true);
	if (!in->no_driver_info)
		bc_node_add_bool(root, "dirty-flag", in->dirty);
	return root;
}

static void info_json_free(struct bc_node *root)
{
	for (struct bc_node *c = root->child; c; c = c->next) {
		if (c->key && !strcmp(c->key, "format-specific")) {
			struct bc_node *data = c->last;
			data->child = data->last = NULL;
		}
	}
	bc_node_free(root);
}

struct info_args {
	struct img_common co;
	const char *filename;
	bool chain;
};

static int info_parse(int argc, char **argv, struct info_args *a)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_OUTPUT,
		{ "backing-chain", no_argument, NULL, 'c' },
		IMG_LONGOPT_FORCE_SHARE, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:hU", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': a->chain = true; break;
		case 'h':
			printf("usage: %s info [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename\n",
			       tool_name);
			return -1;
		default:
			if (img_common_opt(&a->co, c, argv))
				return 1;
		}
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	a->filename = argv[optind];
	return 0;
}

/* Opens one layer without its backing chain, as qemu-img info does. */
static int info_open(struct bc_image **img, const char *file, const char *fmt, bool share,
		     bool image_opts)
{
	struct bc_open_opts o = { .format = fmt,
				  .flags = BC_OPEN_NO_BACKING | BC_OPEN_NO_REPAIR | BC_OPEN_NO_IO };
	struct bc_err err = { 0 };

	if (share)
		o.flags |= BC_OPEN_SHARE;
	if (img_image_opts_flags(image_opts, fmt, &o.flags))
		return -1;
	if (bc_open(img, file, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", file, err.msg);
		return -1;
	}
	return 0;
}

static bool chain_seen(char **seen, int n, const char *file)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(seen[i], file))
			return true;
	return false;
}

/* Collects the info of the image and, with --backing-chain, of every image below it. */
static int info_collect(const struct info_args *a, struct bc_info *infos, int max, int *n)
{
	char *seen[256];
	char *file = strdup(a->filename), *fmt = a->co.fmt ? strdup(a->co.fmt) : NULL;
	int ret = 0;

	*n = 0;
	while (file && *n < max) {
		struct bc_image *img;
		struct bc_err err = { 0 };
		if (chain_seen(seen, *n, file)) {
			tool_error("Backing file '%s' creates an infinite loop.", file);
			ret = -1;
			break;
		}
		if (info_open(&img, file, fmt, a->co.share, a->co.image_opts && *n == 0) < 0) {
			ret = -1;
			break;
		}
		if (bc_get_info(img, &infos[*n], &err) < 0) {
			tool_error("%s", err.msg);
			bc_close(img);
			ret = -1;
			break;
		}
		/* keep strings valid after close; the name is the engine's (json: for options) */
		seen[*n] = file;
		infos[*n].filename = strdup(infos[*n].filename);
		bc_close(img);
		(*n)++;
		free(fmt);
		fmt = NULL;
		file = NULL;
		if (a->chain && infos[*n - 1].backing_file) {
			const struct bc_info *in = &infos[*n - 1];
			file = strdup(in->full_backing_file ? in->full_backing_file : in->backing_file);
			fmt = in->backing_format ? strdup(in->backing_format) : NULL;
		}
	}
	for (int i = 0; i < *n; i++)
		free(seen[i]);
	free(file);
	free(fmt);
	return ret;
}

int img_info(int argc, char **argv)
{
	struct info_args a = { 0 };
	struct bc_info infos[256];
	int n = 0, ret = info_parse(argc, argv, &a);

	if (ret)
		return ret < 0 ? 0 : ret;
	ret = info_collect(&a, infos, 256, &n) < 0 ? 1 : 0;
	if (ret == 0 && a.co.output == IMG_OUTPUT_HUMAN) {
		for (int i = 0; i < n; i++) {
			if (i)
				putchar('\n');
			info_human(stdout, &infos[i]);
		}
	} else if (ret == 0) {
		if (a.chain)
			fputs("[\n    ", stdout);
		for (int i = 0; i < n; i++) {
			struct bc_node *root = info_json_tree(&infos[i]);
			img_print_node_json(stdout, root, a.chain ? 1 : 0);
			fputs(i + 1 < n ? ",\n    " : "", stdout);
			info_json_free(root);
		}
		fputs(a.chain ? "\n]\n" : "\n", stdout);
	}
	for (int i = 0; i < n; i++) {
		free((char *)infos[i].filename);
		bc_info_free(&infos[i]);
	}
	return ret;
}
