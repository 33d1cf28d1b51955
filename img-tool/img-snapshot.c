/* strata-img snapshot: list, create, apply and delete internal snapshots as qemu-img does. */
#include "img.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum snap_action { SNAP_NONE, SNAP_LIST, SNAP_APPLY, SNAP_CREATE, SNAP_DELETE };

struct snap_args {
	enum snap_action action;
	struct img_common co;
	const char *name, *filename;
};

static int snap_set_action(struct snap_args *a, enum snap_action act, const char *name)
{
	if (a->action != SNAP_NONE)
		return img_usage_error("Cannot mix '-l', '-a', '-c', '-d'");
	a->action = act;
	a->name = name;
	return 0;
}

static int snap_parse(int argc, char **argv, struct snap_args *a)
{
	static const struct option longopts[] = {
		IMG_LONGOPT_HELP, IMG_LONGOPT_FORCE_SHARE, IMG_LONGOPT_OBJECT, IMG_LONGOPT_IMAGE_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	int c, ret = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":la:c:d:f:hqU", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': ret = snap_set_action(a, SNAP_LIST, NULL); break;
		case 'a': ret = snap_set_action(a, SNAP_APPLY, optarg); break;
		case 'c': ret = snap_set_action(a, SNAP_CREATE, optarg); break;
		case 'd': ret = snap_set_action(a, SNAP_DELETE, optarg); break;
		case 'h':
			printf("usage: %s snapshot [-U] [-q] [-l | -a snapshot | -c snapshot | -d snapshot] "
			       "filename\n", tool_name);
			return -1;
		default:
			ret = img_common_opt(&a->co, c, argv);
		}
		if (ret)
			return ret;
	}
	if (optind != argc - 1)
		return img_usage_error("Expecting one image file name");
	a->filename = argv[optind];
	return 0;
}

static int snap_list(struct bc_image *img)
{
	struct bc_snapshot *list;
	struct bc_err err = { 0 };
	int n;

	if (bc_snapshot_list(img, &list, &n, &err) < 0) {
		tool_error("%s", err.msg);
		return 1;
	}
	if (n) {
		printf("Snapshot list:\n");
		img_print_snapshot_header(stdout);
		for (int i = 0; i < n; i++)
			img_print_snapshot_row(stdout, &list[i]);
	}
	free(list);
	return 0;
}

static int snap_create(struct bc_image *img, const char *name)
{
	struct bc_snapshot sn = { .icount = 0 };
	struct bc_err err = { 0 };
	struct timespec now;

	snprintf(sn.name, sizeof(sn.name), "%s", name);
	clock_gettime(CLOCK_REALTIME, &now);
	sn.date_sec = (uint32_t)now.tv_sec;
	sn.date_nsec = (uint32_t)(now.tv_nsec / 1000 * 1000);   /* qemu keeps microseconds */
	int ret = bc_snapshot_create(img, &sn, &err);
	if (ret < 0) {
		tool_error("Could not create snapshot '%s': %d (%s)", name, ret, strerror(-ret));
		return 1;
	}
	return 0;
}

static int snap_apply(struct bc_image *img, const char *name)
{
	struct bc_err err = { 0 };
	int ret = bc_snapshot_apply(img, name, &err);

	if (ret == -ENOENT)
		tool_error("Could not apply snapshot '%s': Failed to load snapshot: %s", name,
			   strerror(-ret));
	else if (ret < 0)
		tool_error("Could not apply snapshot '%s': %s", name, err.msg);
	return ret < 0;
}

static int snap_delete(struct bc_image *img, const char *name)
{
	struct bc_err err = { 0 };
	int ret = bc_snapshot_delete(img, NULL, name, &err);

	if (ret == -ENOENT)
		tool_error("Could not delete snapshot '%s': snapshot not found", name);
	else if (ret < 0)
		tool_error("Could not delete snapshot '%s': %s", name, err.msg);
	return ret < 0;
}

int img_snapshot(int argc, char **argv)
{
	struct snap_args a = { 0 };
	struct bc_err err = { 0 };
	struct bc_image *img;
	int ret = snap_parse(argc, argv, &a);

	if (ret)
		return ret < 0 ? 0 : ret;
	struct bc_open_opts o = { .format = a.co.fmt, .flags = BC_OPEN_NO_BACKING };
	if (a.action != SNAP_LIST && a.action != SNAP_NONE)
		o.flags |= BC_OPEN_RDWR;
	if (img_common_flags(&a.co, &o.flags))
		return 1;
	if (bc_open(&img, a.filename, &o, &err) < 0) {
		tool_error("Could not open '%s': %s", a.filename, err.msg);
		return 1;
	}
	if (bc_probed_raw(img) && bc_is_writable(img))
		tool_warn_probed_raw(bc_protocol_name(img, a.filename));
	switch (a.action) {
	case SNAP_LIST: ret = snap_list(img); break;
	case SNAP_CREATE: ret = snap_create(img, a.name); break;
	case SNAP_APPLY:
		if (bc_probed_raw(img) && bc_snapshots_by_protocol(img))
			tool_warn_probed_raw(bc_protocol_name(img, a.filename));
		ret = snap_apply(img, a.name);
		break;
	case SNAP_DELETE: ret = snap_delete(img, a.name); break;
	case SNAP_NONE: ret = 0; break;
	}
	if (bc_close(img) < 0 && ret == 0) {
		tool_error("Could not close '%s'", a.filename);
		ret = 1;
	}
	return ret;
}
