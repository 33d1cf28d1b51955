/* strata-img convert --bitmaps: the source's persistent bitmaps copied to the target after the
 * data (so the copy does not dirty them), with qemu-img's checks and texts. qemu walks the
 * bitmaps newest first, so its errors name the last one in the directory first; the copies
 * are added in directory order so the target lists them as the source does. */
#include "img.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int conv_list(struct bc_image *img, struct bc_bitmap_req *req)
{
	struct bc_err err = { 0 };

	memset(req, 0, sizeof(*req));
	req->op = BC_BITMAP_LIST;
	return bc_bitmap(img, req, &err);
}

int img_conv_check_bitmaps(struct bc_image **src, int nsrc, bool skip_broken)
{
	struct bc_bitmap_req req;

	if (nsrc > 1) {
		tool_error("Copying bitmaps only possible with single source");
		return -1;
	}
	if (conv_list(src[0], &req) < 0) {
		tool_error("Source lacks bitmap support");
		return -1;
	}
	for (int i = req.n - 1; !skip_broken && i >= 0; i--)
		if (req.list[i].in_use) {
			tool_error("Cannot copy inconsistent bitmap '%s'\nTry --skip-broken-bitmaps, or "
				   "use '%s bitmap --remove' to delete it", req.list[i].name, tool_name);
			bc_bitmap_list_free(req.list, req.n);
			return -1;
		}
	bc_bitmap_list_free(req.list, req.n);
	return 0;
}

int img_conv_dst_bitmaps_ok(struct bc_image *dst)
{
	struct bc_bitmap_req req;
	int ret = conv_list(dst, &req);

	bc_bitmap_list_free(req.list, req.n);
	if (ret < 0 || !req.can_store) {
		tool_error("Format driver '%s' does not support bitmaps", bc_format_name(dst));
		return -1;
	}
	return 0;
}

static int copy_one(struct bc_image *src, struct bc_image *dst, const struct bc_bitmap *b)
{
	struct bc_bitmap_req add = { .op = BC_BITMAP_ADD, .name = b->name,
				     .granularity = b->granularity, .disabled = !b->enabled };
	struct bc_bitmap_req rd = { .op = BC_BITMAP_READ, .name = b->name };
	struct bc_err err = { 0 };

	if (bc_bitmap(dst, &add, &err) < 0) {
		tool_error("Failed to create bitmap %s: %s", b->name, err.msg);
		return -1;
	}
	int ret = bc_bitmap(src, &rd, &err);
	if (ret == 0) {
		rd.op = BC_BITMAP_MERGE;
		ret = bc_bitmap(dst, &rd, &err);
	}
	free(rd.bits);
	if (ret < 0) {
		tool_error("Failed to populate bitmap %s: %s", b->name, err.msg);
		return -1;
	}
	return 0;
}

int img_conv_copy_bitmaps(struct bc_image *src, struct bc_image *dst, bool skip_broken)
{
	struct bc_bitmap_req sl, dl;
	int ret = 0;

	if (conv_list(src, &sl) < 0)
		return -1;
	if (conv_list(dst, &dl) < 0) {
		bc_bitmap_list_free(sl.list, sl.n);
		return -1;
	}
	for (int i = sl.n - 1; i >= 0 && ret == 0; i--) {
		if (sl.list[i].in_use) {
			if (skip_broken)
				tool_error("warning: Skipping inconsistent bitmap '%s'", sl.list[i].name);
			continue;
		}
		for (int j = 0; j < dl.n; j++)
			if (!strcmp(dl.list[j].name, sl.list[i].name)) {
				tool_error("Failed to create bitmap %s: Bitmap already exists: %s",
					   sl.list[i].name, sl.list[i].name);
				ret = -1;
				break;
			}
	}
	for (int i = 0; i < sl.n && ret == 0; i++)
		if (!sl.list[i].in_use)
			ret = copy_one(src, dst, &sl.list[i]);
	bc_bitmap_list_free(sl.list, sl.n);
	bc_bitmap_list_free(dl.list, dl.n);
	return ret;
}
